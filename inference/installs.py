"""Installed colourisation models: atomic installation and the install record beside each one.

`<model_dir>/<name>.onnx` is written through a temporary file in the same folder and
`os.replace`, so readers see the old model or the new one, never half of one; the record
`<name>.onnx.json` (sha256 and size of the .onnx, where it came from, its licence) is written
the same way, after the model. `verify_model` re-hashes the file against its record and checks
the model contract in onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from inference.contracts import check_colorize_contract
from inference.downloads import sha256_file
from inference.registry import ColorizeModelSpec

RECORD_SUFFIX = ".json"


class InstallError(RuntimeError):
    """The converted model failed its check; nothing was installed."""


@dataclass(frozen=True)
class InstallRecord:
    name: str
    sha256: str
    bytes: int
    licence: str
    source_url: str | None = None
    source_sha256: str | None = None
    installed_at: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> InstallRecord:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("sha256"), str):
            raise ValueError("no sha256 in the record")
        if not isinstance(data.get("bytes"), int):
            raise ValueError("no size in the record")

        def text_or_none(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        return cls(
            name=str(data.get("name", "")),
            sha256=data["sha256"],
            bytes=data["bytes"],
            licence=str(data.get("licence", "")),
            source_url=text_or_none("source_url"),
            source_sha256=text_or_none("source_sha256"),
            installed_at=str(data.get("installed_at", "")),
        )


def record_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + RECORD_SUFFIX)


def read_record(model_path: Path) -> InstallRecord | None:
    """The install record beside `model_path`; None when there is none. Raises ValueError
    when it exists but cannot be read."""
    path = record_path(model_path)
    if not path.is_file():
        return None
    try:
        return InstallRecord.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"unreadable install record {path.name} ({exc})") from None


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def install_model(
    model: bytes,
    spec: ColorizeModelSpec,
    model_dir: Path,
    *,
    source_url: str | None = None,
    source_sha256: str | None = None,
) -> InstallRecord:
    """Check the serialized ONNX `model` against the contract, then install it and its record.
    Raises `InstallError` (nothing written) when the check fails."""
    report = check_colorize_contract(model)
    if not report.ok:
        raise InstallError(f"the converted {spec.name} model fails its check: {report.problems[0]}")
    record = InstallRecord(
        name=spec.name,
        sha256=hashlib.sha256(model).hexdigest(),
        bytes=len(model),
        licence=spec.licence,
        source_url=source_url,
        source_sha256=source_sha256,
        installed_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    model_dir.mkdir(parents=True, exist_ok=True)
    path = spec.path(model_dir)
    _write_atomically(path, model)
    _write_atomically(record_path(path), record.to_json().encode("utf-8"))
    return record


def record_model(model_path: Path, spec: ColorizeModelSpec) -> InstallRecord:
    """Write the record of an ONNX file already in place (e.g. the embedded model when it is
    exported), so `colorbot models verify` checks its hash too."""
    record = InstallRecord(
        name=spec.name,
        sha256=sha256_file(model_path),
        bytes=model_path.stat().st_size,
        licence=spec.licence,
        installed_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    _write_atomically(record_path(model_path), record.to_json().encode("utf-8"))
    return record


@dataclass(frozen=True)
class ModelCheck:
    """The outcome of `verify_model`: `problems` empty means the model is sound."""

    name: str
    path: Path
    hash_state: str
    contract: str
    problems: tuple[str, ...]


def hash_state(path: Path, record: InstallRecord | None) -> tuple[str, str | None]:
    """(a short description, a problem or None) for the file's sha256 against its record."""
    if record is None:
        return "no recorded sha256", None
    actual = sha256_file(path)
    if actual != record.sha256:
        problem = f"sha256 {actual[:12]}… does not match the recorded {record.sha256[:12]}…"
        return "sha256 MISMATCH", problem
    return f"sha256 ok ({actual[:12]}…)", None


def verify_model(spec: ColorizeModelSpec, model_dir: Path, threads: int = 0) -> ModelCheck:
    """Hash (against the install record) and contract of one installed model. A pulled model
    must have a record; a packaged one may not (the package itself vouches for it)."""
    path = spec.path(model_dir)
    problems: list[str] = []
    try:
        record = read_record(path)
    except ValueError as exc:
        record = None
        problems.append(str(exc))
    state, problem = hash_state(path, record)
    if problem:
        problems.append(problem)
    elif record is None and not spec.packaged and not problems:
        problems.append(f"no install record ({record_path(path).name}): pull it again")
    report = check_colorize_contract(path, threads)
    problems.extend(report.problems)
    contract = f"contract ok: {report.summary}" if report.ok else "contract FAILED"
    return ModelCheck(spec.name, path, state, contract, tuple(problems))
