"""`colorbot models pull|verify|list`, end to end over real HTTP on 127.0.0.1.

The published checkpoints cannot be fetched here, so the tests build one with the published
structure (keys and shapes in ../shared/models/NOTES.md) and random weights, serve it from a
local server, pull and convert it, and compare the ONNX output with a PyTorch implementation of
the published network on the same weights.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from inference.colorize import Colorizer
from inference.downloads import ProgressBar, render_progress
from inference.registry import ModelNotInstalledError, find_colorize_model
from inference.sessions import ModelSession
from tests.file_server import Route, serve_files
from tests.onnx_builders import scale_model

SHARED = Path(__file__).resolve().parents[2] / "shared"
PTS_IN_HULL = SHARED / "models" / "pts_in_hull.npy"
MAX_AB_DIFF = 1e-3


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from bot.cli import main

    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    directory = tmp_path / "models"
    monkeypatch.setenv("COLORBOT_MODEL_DIR", str(directory))
    monkeypatch.delenv("COLORIZE_MODEL", raising=False)
    return directory


def leftovers(model_dir: Path) -> list[str]:
    """Everything in the model dir except resumable downloads: must be empty after a failure."""
    if not model_dir.exists():
        return []
    found = [p for p in model_dir.rglob("*") if p.is_file()]
    return sorted(
        str(p.relative_to(model_dir))
        for p in found
        if not (p.parent.name == "downloads" and p.name.endswith(".part"))
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- failures with small payloads: refused before anything parses them --------------------

PAYLOAD = b"\x00" + np.random.default_rng(7).bytes(3 * (1 << 20))  # not a checkpoint


def test_wrong_hash_is_refused_and_nothing_is_left(model_dir: Path, capsys) -> None:
    with serve_files({"/c.pth": Route(PAYLOAD)}) as server:
        argv = ["models", "pull", "eccv16", "--from", server.url("/c.pth")]
        code, _out, err = run_cli([*argv, "--sha256", sha256(b"something else")], capsys)
    assert code == 1
    assert err.count("\n") == 1 and "sha256 mismatch" in err
    assert leftovers(model_dir) == []
    assert not list((model_dir / "downloads").glob("*.part"))  # a wrong file is not resumable


def test_truncated_download_is_refused_then_resumed(model_dir: Path, capsys) -> None:
    digest = sha256(PAYLOAD)
    stuck_at = len(PAYLOAD) // 3
    with serve_files({"/c.pth": Route(PAYLOAD, "stuck", stuck_at=stuck_at)}) as server:
        argv = ["models", "pull", "eccv16", "--from", server.url("/c.pth"), "--sha256", digest]
        code, out, err = run_cli(argv, capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and f"got {stuck_at} of {len(PAYLOAD)} bytes" in err
    assert leftovers(model_dir) == []
    part = model_dir / "downloads" / f"{digest}.part"
    assert part.stat().st_size == stuck_at
    with pytest.raises(ModelNotInstalledError):
        find_colorize_model("eccv16", model_dir)

    with serve_files({"/c.pth": Route(PAYLOAD)}) as server:
        argv = ["models", "pull", "eccv16", "--from", server.url("/c.pth"), "--sha256", digest]
        code, _out, err = run_cli(argv, capsys)
    assert server.requests == [("/c.pth", f"bytes={stuck_at}-")]  # resumed, not restarted
    # The complete, verified file is not a checkpoint: conversion refuses it, cleanly.
    assert code == 1 and "cannot convert eccv16" in err and err.count("\n") == 1
    assert leftovers(model_dir) == []
    assert not part.exists()


def test_oversized_download_is_refused(model_dir: Path, capsys) -> None:
    with serve_files({"/c.pth": Route(PAYLOAD)}) as server:
        argv = ["models", "pull", "eccv16", "--from", server.url("/c.pth")]
        argv += ["--sha256", sha256(PAYLOAD), "--bytes", str(len(PAYLOAD) - 1)]
        code, _out, err = run_cli(argv, capsys)
    assert code == 1 and "expected" in err and err.count("\n") == 1
    assert leftovers(model_dir) == []


def test_server_without_range_support_restarts_cleanly(model_dir: Path, capsys) -> None:
    digest = sha256(PAYLOAD)
    downloads = model_dir / "downloads"
    downloads.mkdir(parents=True)
    (downloads / f"{digest}.part").write_bytes(PAYLOAD[:1000])
    with serve_files({"/c.pth": Route(PAYLOAD, "no_range")}) as server:
        argv = ["models", "pull", "eccv16", "--from", server.url("/c.pth"), "--sha256", digest]
        code, _out, err = run_cli(argv, capsys)
    assert server.requests == [("/c.pth", "bytes=1000-")]
    assert code == 1
    assert "sha256 mismatch" not in err and "cannot convert eccv16" in err  # bytes were right


def test_offline_fails_in_one_line_and_the_service_keeps_its_model(model_dir: Path, capsys) -> None:
    with serve_files({}) as server:
        closed = server.url("/c.pth")  # the server is gone after this block
    argv = ["models", "pull", "eccv16", "--from", closed, "--from", closed.replace("/c", "/d")]
    code, out, err = run_cli(argv, capsys)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and "unreachable" in err and err.startswith("colorbot: error:")
    assert leftovers(model_dir) == []
    with pytest.raises(ModelNotInstalledError):
        find_colorize_model("eccv16", model_dir)
    code, out, err = run_cli(["models", "list"], capsys)
    assert code == 0 and "serving: embedded" in out and "not installed" in out


def test_serving_and_converting_do_not_import_torch() -> None:
    code = (
        "import sys; import bot.cli.models, inference.conversions, inference.sessions, "
        "inference.colorize; print('torch' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_progress_bar_draws_on_a_terminal_only() -> None:
    line = render_progress(50_000_000, 100_000_000, 10e6, width=10)
    assert line == " 50% [#####.....] 50.0/100.0 MB 10.0 MB/s"
    assert render_progress(3_000_000, None, 1e6) == "3.0 MB 1.0 MB/s"

    quiet = io.StringIO()
    ProgressBar("eccv16", quiet).update(1, 2, final=True)
    assert quiet.getvalue() == ""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    bar = ProgressBar("eccv16", terminal, interval_s=0)
    bar.start(0)
    bar.update(50, 100)
    bar.end()
    assert terminal.getvalue().startswith("\reccv16  50% [")
    assert terminal.getvalue().endswith("\n")


# --- verify on small models ------------------------------------------------------------------


def test_verify_reports_a_broken_contract_and_a_missing_record(model_dir: Path, capsys) -> None:
    model_dir.mkdir(parents=True)
    (model_dir / "siggraph17.onnx").write_bytes(scale_model(256))
    code, _out, err = run_cli(["models", "verify"], capsys)
    assert code == 1
    lines = err.splitlines()
    assert any("siggraph17: no install record" in line for line in lines)
    assert any("siggraph17: inputs are ['x'], expected ['L']" in line for line in lines)
    assert all(line.startswith("colorbot: error: ") for line in lines)


def grey_colorizer(size: int) -> bytes:
    """A valid colouriser that predicts ab = 0 (grey) at the working size `size`."""
    from onnx import TensorProto, helper, numpy_helper

    zero = numpy_helper.from_array(np.zeros((), np.float32), "zero")
    nodes = [
        helper.make_node("Mul", ["L", "zero"], ["a"]),
        helper.make_node("Concat", ["a", "a"], ["ab"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "grey",
        [helper.make_tensor_value_info("L", TensorProto.FLOAT, ["N", 1, size, size])],
        [helper.make_tensor_value_info("ab", TensorProto.FLOAT, ["N", 2, size, size])],
        [zero],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"colorbot.input_size": str(size)})
    return model.SerializeToString()


def test_verify_checks_the_hash_recorded_beside_a_model(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from inference.installs import record_model
    from inference.registry import colorize_model_spec

    monkeypatch.setenv("COLORIZE_MODEL", "siggraph17")
    model_dir.mkdir(parents=True)
    path = model_dir / "siggraph17.onnx"
    path.write_bytes(grey_colorizer(64))
    record_model(path, colorize_model_spec("siggraph17"))
    code, out, err = run_cli(["models", "verify"], capsys)
    assert (code, err) == (0, "")
    assert "ok siggraph17: sha256 ok" in out and "L [N,1,64,64] -> ab [N,2,64,64]" in out
    path.write_bytes(path.read_bytes().replace(b"grey", b"gray"))
    code, out, err = run_cli(["models", "verify"], capsys)
    assert code == 1 and "siggraph17: sha256" in err and "does not match the recorded" in err


def test_verify_reports_a_serving_model_that_is_not_installed(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("COLORIZE_MODEL", "eccv16")
    code, _out, err = run_cli(["models", "verify"], capsys)
    assert code == 1 and "eccv16: the serving model is not installed" in err


# --- the full-size end-to-end pull -----------------------------------------------------------


@pytest.fixture(scope="session")
def eccv16_checkpoint() -> tuple[bytes, object]:
    """(torch.save bytes, the nn.Module) of an ECCV16 with seeded random weights (~129 MB)."""
    torch = pytest.importorskip("torch")
    from tests.zhang_reference import ECCV16, eccv16_model_out, random_state

    network = ECCV16().eval()
    state = random_state(network, seed=16)
    if PTS_IN_HULL.is_file():
        eccv16_model_out(state, np.load(PTS_IN_HULL))
    network.load_state_dict(state)
    buffer = io.BytesIO()
    torch.save(network.state_dict(), buffer)
    return buffer.getvalue(), network


def lightness_batch(size: int = 256) -> np.ndarray:
    """Two realistic L* inputs: a grey photo (when the shared test data is here) and a ramp."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    ramp = 50 + 45 * np.sin(x / 19.0) * np.cos(y / 31.0)
    photo = SHARED / "testdata" / "astronaut_grey.png"
    first = ramp
    if photo.is_file():
        grey = cv2.imread(str(photo), cv2.IMREAD_GRAYSCALE)
        small = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)
        first = small.astype(np.float32) * (100.0 / 255.0)
    return np.stack([first, ramp])[:, np.newaxis].astype(np.float32)


@pytest.mark.slow
def test_pull_converts_eccv16_and_matches_pytorch(
    model_dir: Path, eccv16_checkpoint: tuple[bytes, object], monkeypatch, capsys
) -> None:
    torch = pytest.importorskip("torch")
    body, network = eccv16_checkpoint
    digest = sha256(body)
    routes = {"/flaky.pth": Route(body, "cut_once")}
    with serve_files(routes) as server, monkeypatch.context() as without_torch:
        without_torch.setitem(sys.modules, "torch", None)  # the conversion must not need it
        argv = ["models", "pull", "eccv16", "--sha256", digest]
        argv += ["--from", server.url("/missing.pth"), "--from", server.url("/flaky.pth")]
        code, out, err = run_cli(argv, capsys)
    assert (code, err) == (0, "")
    assert "installed eccv16" in out and "COLORIZE_MODEL=eccv16" in out
    # Mirrors in order; the cut-off transfer was resumed where it stopped.
    assert server.requests == [
        ("/missing.pth", None),
        ("/flaky.pth", None),
        ("/flaky.pth", f"bytes={len(body) // 2}-"),
    ]
    onnx_path = find_colorize_model("eccv16", model_dir)
    assert onnx_path == model_dir / "eccv16.onnx"
    # The checkpoint is not kept once converted.
    assert sorted(p.name for p in model_dir.iterdir()) == ["eccv16.onnx", "eccv16.onnx.json"]
    record = json.loads((model_dir / "eccv16.onnx.json").read_text())
    assert record["sha256"] == sha256(onnx_path.read_bytes())
    assert record["source_sha256"] == digest
    assert record["source_url"] == server.url("/flaky.pth")

    # Same weights, same answer as the published network in PyTorch.
    lightness = lightness_batch()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    ab = session.run(["ab"], {"L": lightness})[0]
    with torch.no_grad():
        expected = network(torch.from_numpy(lightness)).numpy()
    assert ab.shape == expected.shape == (2, 2, 256, 256)
    assert expected.std() > 1.0  # the check is not vacuous: colours vary
    difference = float(np.abs(ab - expected).max())
    print(f"ECCV16 ONNX vs PyTorch: max |ab| difference {difference:.2e}")
    assert difference <= MAX_AB_DIFF

    # COLORIZE_MODEL=eccv16 serves it through the usual pipeline.
    model_session = ModelSession("eccv16", onnx_path, warmup_shape=Colorizer.warmup_shape)
    try:
        photo = cv2.cvtColor(cv2.resize(lightness[0, 0], (300, 200)), cv2.COLOR_GRAY2BGR)
        result = Colorizer(model_session).colorize_sync((photo * 2.55).astype(np.uint8))
    finally:
        model_session.close()
    assert result.bgr.shape == (200, 300, 3)

    monkeypatch.setenv("COLORIZE_MODEL", "eccv16")
    code, out, err = run_cli(["models", "verify"], capsys)
    assert code == 0 and "ok eccv16: sha256 ok" in out and "L [N,1,256,256]" in out, err
    code, out, err = run_cli(["models", "list"], capsys)
    assert code == 0
    assert "* eccv16      installed, 129.0 MB, sha256 ok" in out
    assert "licence: BSD-2-Clause" in out

    with onnx_path.open("ab") as tampered:
        tampered.write(b"\0")
    code, out, err = run_cli(["models", "verify"], capsys)
    assert code == 1 and "eccv16: sha256" in err and "does not match" in err
    code, out, err = run_cli(["models", "list"], capsys)
    assert "sha256 MISMATCH" in out
