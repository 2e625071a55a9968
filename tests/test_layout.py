"""The import rules of the layout (see the README's "Layout"), read from every module's source.

Layers, bottom up: `core` (imports nothing of the project) < `inference`, `db` < `handlers` <
`bot`. A module imports only its own layer or lower ones; a channel package never imports
another channel; the app reaches channels only through `handlers.registry` and
`handlers.platform`; channels may use the app's core (services, settings, media store) but
never its pages or CLI. Imports under `if TYPE_CHECKING:` count too: they are still a
dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "inference", "db", "handlers", "bot")
PROJECT = (*PACKAGES, "migrations", "training", "benchmarks", "tests")
CHANNELS = ("handlers.telegram", "handlers.web", "handlers.x")
# What a channel may use of the app: the shared objects it is handed and their types.
APP_CORE_FOR_CHANNELS = ("bot.services", "bot.settings", "bot.media")
CHANNEL_DOORS = ("handlers.registry", "handlers.platform", "handlers.commands")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_imports(source: str, module: str, *, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import of a project module, however it is spelt."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source_module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source_module = node.module or ""
            # `from bot import pages` imports bot.pages: count the submodule when it is one.
            folder = ROOT / source_module.replace(".", "/")
            names = [
                f"{source_module}.{alias.name}"
                if (folder / alias.name).is_dir() or (folder / f"{alias.name}.py").exists()
                else source_module
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name.split(".")[0] in PROJECT:
                yield node.lineno, name


def within(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def layer_of(name: str) -> str:
    return name.split(".")[0]


def violation(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported`, or None when it may."""
    if within(imported, "migrations") and within(importer, "db"):
        return None  # db.migrate runs the Alembic revisions
    if layer_of(imported) in ("migrations", "training", "benchmarks", "tests"):
        return "the served code never imports migrations (but db), training, benchmarks or tests"
    if within(importer, "core"):
        return None if within(imported, "core") else "core imports nothing of the project"
    if within(importer, "inference", "db"):
        allowed = ("core", layer_of(importer))
        return None if within(imported, *allowed) else "inference and db stand on core alone"
    if within(importer, "handlers"):
        if within(imported, "core", "inference", "db", "handlers", *APP_CORE_FOR_CHANNELS):
            if within(imported, *CHANNELS):
                mine = next((c for c in CHANNELS if within(importer, c)), None)
                if mine is None:
                    if importer == "handlers.registry":
                        return None  # it names them by string; no import reaches here
                    return "shared handler modules do not know any one channel"
                if not within(imported, mine):
                    return "a channel never imports another channel"
            return None
        return "channels may use the app's services, settings and media store, nothing more"
    if within(importer, "bot"):
        if within(imported, *CHANNELS):
            return "the app reaches channels only through the registry and the protocol"
        if within(imported, "handlers") and not within(imported, *CHANNEL_DOORS):
            return "the app reaches channels only through the registry and the protocol"
        if within(imported, "bot.cli") and not within(importer, "bot.cli"):
            return "nothing imports the command line"
        return None
    return None


def all_modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_every_package_is_checked() -> None:
    found = {p.relative_to(ROOT).parts[0] for p in ROOT.glob("*/__init__.py")}
    assert found - {"migrations", "training", "benchmarks", "tests"} == set(PACKAGES)


@pytest.mark.parametrize("path", all_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    importer = module_name(path)
    imports = project_imports(path.read_text(), importer, is_package=path.name == "__init__.py")
    broken = [
        f"{path.relative_to(ROOT)}:{line}: imports {imported}: {reason}"
        for line, imported in imports
        if (reason := violation(importer, imported)) is not None
    ]
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("db.intake", "bot.errors"),
        ("inference.images", "handlers.platform"),
        ("core.errors", "db.models"),
        ("handlers.telegram.intake", "handlers.x.api"),
        ("handlers.web.channel", "bot.pages.rendering"),
        ("handlers.x.channel", "bot.app"),
        ("handlers.commands", "handlers.telegram.texts"),
        ("bot.pages.home", "handlers.web.openapi"),
        ("bot.app", "handlers.web"),
        ("bot.worker", "bot.cli.main"),
        ("bot.runner", "tests.fake_x"),
        ("inference.colorize", "training.colorize.network"),
        ("bot.app", "migrations"),
    ],
)
def test_the_rules_catch_an_upward_import(importer: str, imported: str) -> None:
    """The checker itself: each of these is an import the layout forbids."""
    assert violation(importer, imported) is not None


def test_the_rules_allow_the_layout_as_drawn() -> None:
    for importer, imported in [
        ("inference.pipeline", "core.errors"),
        ("db.intake", "core.errors"),
        ("handlers.telegram.channel", "bot.services"),
        ("handlers.telegram.buttons", "handlers.telegram.texts"),
        ("handlers.x.channel", "inference.images"),
        ("bot.app", "handlers.registry"),
        ("bot.runner", "handlers.platform"),
        ("bot.app", "bot.pages"),
        ("bot.cli.service", "bot.app"),
        ("db.migrate", "migrations"),
    ]:
        assert violation(importer, imported) is None, (importer, imported)


def test_every_spelling_of_an_import_is_seen() -> None:
    source = (
        "import db.models\n"
        "from bot import pages\n"
        "from core.errors import UserError\n"
        "from . import texts\n"
        "from ..x import api\n"
        "if TYPE_CHECKING:\n"
        "    from bot.app import create_app\n"
        "import numpy\n"
    )
    found = [
        name for _, name in project_imports(source, "handlers.telegram.intake", is_package=False)
    ]
    assert found == [
        "db.models",
        "bot.pages",
        "core.errors",
        "handlers.telegram.texts",
        "handlers.x.api",
        "bot.app",
    ]
