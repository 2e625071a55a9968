"""CLI commands for colourisation models: `models list|pull|verify`.

    colorbot models list
    colorbot models pull eccv16|siggraph17 [--from URL ...] [--sha256 HEX] [--bytes N]
    colorbot models verify

`pull` downloads the published checkpoint into `<COLORBOT_MODEL_DIR>/downloads/` (resumable,
sha256-checked before anything reads it), converts it to ONNX here without PyTorch, checks the
result against the model contract and installs `<COLORBOT_MODEL_DIR>/<name>.onnx` with its
install record. `--from` (repeatable; tried in order) and `--sha256` are for private mirrors.
A failed pull changes nothing that serves: the service keeps the model it has.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings
from core.errors import UserError
from inference.checkpoints import CheckpointError, CheckpointNeedsTorchError
from inference.conversions import BUILDERS, convert_checkpoint
from inference.downloads import Artifact, DownloadError, ProgressBar, fetch_artifact
from inference.installs import InstallError, hash_state, install_model, read_record, verify_model
from inference.onnx_graph import ConversionError
from inference.registry import COLORIZE_MODELS, ColorizeModelSpec, colorize_model_spec

DOWNLOAD_SUBDIR = "downloads"


def add_commands(commands: Any) -> None:
    models = commands.add_parser("models", help="list, pull and verify colourisation models")
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="which models exist, which one serves")
    listing.set_defaults(run=list_models)

    pull = actions.add_parser("pull", help="download a published model and convert it to ONNX")
    pull.add_argument("name", choices=sorted(BUILDERS), help="the model to pull")
    pull.add_argument(
        "--from",
        dest="urls",
        action="append",
        metavar="URL",
        help="download from this mirror instead (repeat to try several, in order)",
    )
    pull.add_argument("--sha256", metavar="HEX", help="expected sha256 of the checkpoint")
    pull.add_argument("--bytes", type=int, metavar="N", help="expected size of the checkpoint")
    pull.set_defaults(run=pull_model)

    verify = actions.add_parser("verify", help="check installed models' hashes and contract")
    verify.set_defaults(run=verify_models)


def list_models(args: argparse.Namespace, settings: Settings) -> int:
    serving = settings.colorize_model
    print(f"serving: {serving} (COLORIZE_MODEL); models in {settings.model_dir}")
    for spec in COLORIZE_MODELS.values():
        path = spec.path(settings.model_dir)
        mark = "*" if spec.name == serving else " "
        if path.is_file():
            try:
                state, _problem = hash_state(path, read_record(path))
            except ValueError as exc:
                state = str(exc)
            size = f"{path.stat().st_size / 1e6:.1f} MB"
            print(f"{mark} {spec.name:<11} installed, {size}, {state}, {path}")
        else:
            how = "reinstall colorbot" if spec.packaged else f"colorbot models pull {spec.name}"
            print(f"{mark} {spec.name:<11} not installed ({how})")
        print(f"    {spec.title}; licence: {spec.licence}")
    return 0


def _artifact(spec: ColorizeModelSpec, args: argparse.Namespace) -> Artifact:
    urls = tuple(args.urls or spec.source_urls)
    sha256 = args.sha256 or spec.source_sha256
    if not sha256:
        raise UserError(f"no published sha256 for {spec.name}: give --sha256")
    # The published size belongs to the published hash; another hash brings its own size.
    size = args.bytes if args.bytes is not None else None
    if size is None and args.sha256 is None:
        size = spec.source_bytes
    return Artifact(urls, sha256.lower(), size)


def pull_model(args: argparse.Namespace, settings: Settings) -> int:
    spec = colorize_model_spec(args.name)
    artifact = _artifact(spec, args)
    cache = settings.model_dir / DOWNLOAD_SUBDIR
    try:
        fetched = fetch_artifact(artifact, cache, ProgressBar(spec.name))
    except DownloadError as exc:
        raise UserError(f"cannot download {spec.name}: {exc}") from None
    checkpoint = fetched.path
    model = _convert(spec, checkpoint, artifact.sha256)
    try:
        record = install_model(
            model,
            spec,
            settings.model_dir,
            source_url=fetched.url,
            source_sha256=artifact.sha256,
        )
    except InstallError as exc:
        _discard(checkpoint)
        raise UserError(str(exc)) from None
    _discard(checkpoint)
    path = spec.path(settings.model_dir)
    print(
        f"installed {spec.name}: {path} ({record.bytes / 1e6:.1f} MB, "
        f"sha256 {record.sha256[:12]}…); serve it with COLORIZE_MODEL={spec.name}"
    )
    return 0


def _convert(spec: ColorizeModelSpec, checkpoint: Path, sha256: str) -> bytes:
    try:
        return convert_checkpoint(spec.name, checkpoint, sha256)
    except CheckpointNeedsTorchError as exc:
        raise UserError(f"cannot convert {spec.name}: {exc}") from None
    except (CheckpointError, ConversionError) as exc:
        _discard(checkpoint)
        raise UserError(f"cannot convert {spec.name}: {exc} (download deleted)") from None


def _discard(checkpoint: Path) -> None:
    """Delete a downloaded checkpoint, and the downloads folder when that leaves it empty."""
    checkpoint.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: another download is resumable there
        checkpoint.parent.rmdir()


def verify_models(args: argparse.Namespace, settings: Settings) -> int:
    problems: list[str] = []
    checked = 0
    if settings.colorize_model not in COLORIZE_MODELS:
        problems.append(f"COLORIZE_MODEL={settings.colorize_model} is not a known model")
    for spec in COLORIZE_MODELS.values():
        if not spec.path(settings.model_dir).is_file():
            if spec.name == settings.colorize_model:
                problems.append(f"{spec.name}: the serving model is not installed")
            continue
        check = verify_model(spec, settings.model_dir, settings.inference_threads)
        checked += 1
        problems.extend(f"{spec.name}: {problem}" for problem in check.problems)
        if not check.problems:
            print(f"ok {spec.name}: {check.hash_state}; {check.contract}")
    for problem in problems:
        print(f"colorbot: error: {problem}", file=sys.stderr)
    if checked == 0 and not problems:
        print("no models installed")
    return 1 if problems else 0
