"""Reading PyTorch checkpoints without PyTorch: both layouts, every tensor layout we meet, and
pickles that try to run code (refused before they can)."""

from __future__ import annotations

import os
import pickle
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from inference import checkpoints
from inference.checkpoints import (
    LEGACY_MAGIC_NUMBER,
    LEGACY_PROTOCOL_VERSION,
    CheckpointError,
    CheckpointNeedsTorchError,
    UnsafeCheckpointError,
    load_state_dict,
    read_checkpoint,
)
from inference.onnx_graph import ConversionError, expected_shapes


class RunsCommand:
    """Unpickling this runs a shell command: what a malicious checkpoint would do."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


def zip_checkpoint(
    path: Path,
    data_pkl: bytes,
    storages: dict[str, bytes] | None = None,
    byteorder: str = "little",
) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", byteorder)
        for key, data in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", data)
    return path


def legacy_checkpoint(path: Path, obj_pickle: bytes, sys_info: bytes | None = None) -> Path:
    header = pickle.dumps(LEGACY_MAGIC_NUMBER, 2) + pickle.dumps(LEGACY_PROTOCOL_VERSION, 2)
    header += sys_info if sys_info is not None else pickle.dumps({"little_endian": True}, 2)
    path.write_bytes(header + obj_pickle + pickle.dumps([], 2))
    return path


# -- hand-assembled pickles (protocol 2), so the tests need no PyTorch -----------------------


def _global(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def _str(text: str) -> bytes:
    data = text.encode()
    return b"X" + len(data).to_bytes(4, "little") + data


def _int(value: int) -> bytes:
    return b"J" + value.to_bytes(4, "little", signed=True)


def _tuple(items: list[bytes]) -> bytes:
    return b"(" + b"".join(items) + b"t"


def tensor_pickle(numel: int, offset: int, size: list[int], stride: list[int]) -> bytes:
    """data.pkl of {"w": tensor over FloatStorage "0" of `numel` elements}."""
    ordered_dict = _global("collections", "OrderedDict") + b")R"
    storage = _tuple(
        [_str("storage"), _global("torch", "FloatStorage"), _str("0"), _str("cpu"), _int(numel)]
    )
    args = _tuple(
        [
            storage + b"Q",
            _int(offset),
            _tuple([_int(n) for n in size]),
            _tuple([_int(n) for n in stride]),
            b"\x89",
            ordered_dict,
        ]
    )
    rebuild = _global("torch._utils", "_rebuild_tensor_v2")
    return b"\x80\x02" + ordered_dict + b"(" + _str("w") + rebuild + args + b"Ru."


def test_hand_made_tensor_honours_offset_and_strides(tmp_path: Path) -> None:
    storage = np.arange(20, dtype="<f4")
    path = zip_checkpoint(
        tmp_path / "c.pt", tensor_pickle(20, 3, [2, 3], [1, 5]), {"0": storage.tobytes()}
    )
    state = read_checkpoint(path)
    expected = np.array([[3, 8, 13], [4, 9, 14]], dtype=np.float32)
    np.testing.assert_array_equal(state["w"], expected)
    assert state["w"].flags.c_contiguous


def test_big_endian_storages_are_swapped(tmp_path: Path) -> None:
    storage = np.arange(6, dtype=">f4")
    pkl = tensor_pickle(6, 0, [2, 3], [3, 1])
    path = zip_checkpoint(tmp_path / "c.pt", pkl, {"0": storage.tobytes()}, byteorder="big")
    state = read_checkpoint(path)
    np.testing.assert_array_equal(state["w"], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert state["w"].dtype == np.float32 and state["w"].dtype.isnative


@pytest.mark.parametrize(
    ("offset", "size", "stride"),
    [(0, [5, 5], [5, 1]), (18, [3], [1]), (0, [2, 2], [-1, 1]), (-1, [2], [1])],
)
def test_tensor_outside_its_storage_is_refused(tmp_path: Path, offset, size, stride) -> None:
    data = np.zeros(20, dtype="<f4").tobytes()
    path = zip_checkpoint(tmp_path / "c.pt", tensor_pickle(20, offset, size, stride), {"0": data})
    with pytest.raises(CheckpointError, match=r"outside its storage|malformed"):
        read_checkpoint(path)


def test_storage_of_the_wrong_length_is_refused(tmp_path: Path) -> None:
    data = np.zeros(19, dtype="<f4").tobytes()
    path = zip_checkpoint(tmp_path / "c.pt", tensor_pickle(20, 0, [20], [1]), {"0": data})
    with pytest.raises(CheckpointError, match="has 76 bytes, expected 80"):
        read_checkpoint(path)


@pytest.mark.parametrize("layout", ["zip", "legacy", "legacy header"])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path, layout: str) -> None:
    marker = tmp_path / "pwned"
    evil = pickle.dumps({"w": RunsCommand(f"touch {marker}")}, protocol=2)
    assert b"system" in evil  # the pickle really names os.system
    if layout == "zip":
        path = zip_checkpoint(tmp_path / "c.pt", evil)
    elif layout == "legacy":
        path = legacy_checkpoint(tmp_path / "c.pt", evil)
    else:
        path = legacy_checkpoint(tmp_path / "c.pt", b"", sys_info=evil)
    with pytest.raises(UnsafeCheckpointError, match=r"refused to load (posix|nt|os)\.system"):
        read_checkpoint(path)
    with pytest.raises(UnsafeCheckpointError):  # and no fallback to anything else
        load_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("module", "name"),
    [("builtins", "eval"), ("torch._utils", "_rebuild_qtensor"), ("torch", "load")],
)
def test_only_tensor_rebuilding_is_admitted(tmp_path: Path, module: str, name: str) -> None:
    data = b"\x80\x02" + _global(module, name) + b"."
    path = zip_checkpoint(tmp_path / "c.pt", data)
    with pytest.raises(UnsafeCheckpointError, match=f"{module}.{name}"):
        read_checkpoint(path)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    path.write_bytes(b"\x00" + bytes(100))
    with pytest.raises(CheckpointError):
        read_checkpoint(path)
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match=r"no data\.pkl"):
        read_checkpoint(tmp_path / "z.zip")


# -- real torch.save files ----------------------------------------------------------------


def sample_state(torch) -> OrderedDict:
    generator = torch.Generator().manual_seed(3)
    big = torch.randn(6, 7, generator=generator)
    state = OrderedDict()
    state["conv.weight"] = torch.randn(4, 3, 3, 3, generator=generator)
    state["transposed"] = big.t()  # non-contiguous
    state["window"] = big[2:5, 1:4]  # offset into a shared storage, non-contiguous
    state["row"] = big[3]  # offset, contiguous, shares the storage
    state["expanded"] = torch.randn(4, 1, generator=generator).expand(4, 3)  # stride 0
    state["half"] = torch.randn(5, generator=generator).half()
    state["bf16"] = torch.randn(5, generator=generator).bfloat16()
    state["bn.num_batches_tracked"] = torch.tensor(1234)
    state["indices"] = torch.arange(6).reshape(2, 3)
    state["scalar"] = torch.tensor(2.5)
    state["empty"] = torch.zeros(0, 3)
    state["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=generator))
    return state


def as_numpy(torch, tensor) -> np.ndarray:
    tensor = tensor.detach()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return tensor.contiguous().numpy()


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_reads_torch_save_files_exactly(tmp_path: Path, legacy: bool) -> None:
    torch = pytest.importorskip("torch")
    state = sample_state(torch)
    path = tmp_path / "c.pt"
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    assert zipfile.is_zipfile(path) is not legacy
    loaded = read_checkpoint(path)
    assert list(loaded) == list(state)
    for key, tensor in state.items():
        expected = as_numpy(torch, tensor)
        assert loaded[key].dtype == expected.dtype, key
        assert loaded[key].shape == expected.shape, key
        np.testing.assert_array_equal(loaded[key], expected, err_msg=key)
        assert loaded[key].flags.c_contiguous, key
    assert loaded["half"].dtype == np.float16
    assert loaded["bn.num_batches_tracked"].dtype == np.int64
    assert loaded["bf16"].dtype == np.float32


def test_reads_a_wrapped_state_dict(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "c.pt"
    torch.save({"state_dict": {"w": torch.ones(2)}}, path)
    np.testing.assert_array_equal(read_checkpoint(path)["w"], np.ones(2, np.float32))


def test_falls_back_to_torch_only_for_layouts_that_need_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "c.pt"
    torch.save(sample_state(torch), path)

    def needs_torch(_path: Path) -> dict[str, np.ndarray]:
        raise CheckpointNeedsTorchError("a tar-format (torch < 0.4) checkpoint")

    monkeypatch.setattr(checkpoints, "read_checkpoint", needs_torch)
    loaded = load_state_dict(path)
    np.testing.assert_array_equal(loaded["window"], as_numpy(torch, sample_state(torch)["window"]))

    monkeypatch.setitem(sys.modules, "torch", None)  # as if the optional extra is missing
    with pytest.raises(CheckpointNeedsTorchError, match=r"pip install 'colorbot\[convert\]'"):
        load_state_dict(path)


def test_state_dict_of_another_network_is_refused() -> None:
    from inference.conversions import convert_state_dict
    from inference.zhang_eccv16 import LAYERS

    shapes = expected_shapes(LAYERS)
    state = {key: np.zeros(shape, np.float32) for key, shape in shapes.items()}
    del state["model5.2.bias"]
    with pytest.raises(ConversionError, match=r"model5\.2\.bias is missing"):
        convert_state_dict("eccv16", state)
    state["model5.2.bias"] = np.zeros(7, np.float32)
    with pytest.raises(ConversionError, match=r"model5.2.bias has shape \(7,\)"):
        convert_state_dict("eccv16", state)
    state["model5.2.bias"] = np.zeros(512, np.float32)
    state["extra.weight"] = np.zeros(1, np.float32)
    with pytest.raises(ConversionError, match=r"unexpected key extra\.weight"):
        convert_state_dict("eccv16", state)


@pytest.mark.slow
def test_siggraph17_checkpoint_converts_and_matches_pytorch(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    import onnxruntime as ort

    from inference.conversions import convert_state_dict
    from tests.test_models_pull import MAX_AB_DIFF, lightness_batch
    from tests.zhang_reference import SIGGRAPH17, random_state

    network = SIGGRAPH17().eval()
    state = random_state(network, seed=17)
    # Random weights drive tanh into saturation; scaled down, ab spreads like real colour
    # (std ~9 on the test photo) and every pixel's value depends on the whole network.
    state["model_out.0.weight"] *= 0.1
    state["model_out.0.bias"] *= 0.1
    network.load_state_dict(state)
    path = tmp_path / "siggraph17.pth"
    torch.save(network.state_dict(), path)
    try:
        model = convert_state_dict("siggraph17", read_checkpoint(path))
    finally:
        path.unlink()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    lightness = lightness_batch()
    ab = session.run(["ab"], {"L": lightness})[0]
    with torch.no_grad():
        expected = network(torch.from_numpy(lightness)).numpy()
        hinted = network(
            torch.from_numpy(lightness),
            torch.full((2, 2, 256, 256), 30.0),
            torch.ones((2, 1, 256, 256)),
        ).numpy()
    assert ab.shape == expected.shape == (2, 2, 256, 256)
    assert expected.std() > 1.0
    assert np.abs(hinted - expected).max() > 1.0  # hints matter: zero hints were really used
    difference = float(np.abs(ab - expected).max())
    print(f"SIGGRAPH17 ONNX vs PyTorch: max |ab| difference {difference:.2e}")
    assert difference <= MAX_AB_DIFF
