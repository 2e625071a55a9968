"""Read a PyTorch checkpoint (a saved state_dict) into numpy arrays, without PyTorch.

A checkpoint is pickled Python; every pickle here goes through
`inference.tensor_pickles.TensorUnpickler`, which admits tensor rebuilding only and refuses
anything else (`UnsafeCheckpointError`) before it can run. This module reads the layouts and
copies each tensor out of its storage (offset and strides honoured, bounds checked).

Two layouts exist:
  zip (torch >= 1.6): `<root>/data.pkl` (the object; storages as persistent ids
      ('storage', type, key, location, numel)), `<root>/data/<key>` (raw bytes),
      `<root>/byteorder` ("little" or "big"; little when absent).
  legacy: five things in one stream: pickled magic number, protocol version, sys info, the
      object (persistent ids ('storage', type, root_key, location, numel, view)), the sorted
      storage keys; then per key an int64 little-endian element count and the raw
      little-endian bytes.
The even older tar layout (torch < 0.4) is not read here: `CheckpointNeedsTorchError` says
so, and `load_state_dict` falls back to PyTorch's own safe loader when PyTorch is installed.
"""

from __future__ import annotations

import importlib
import io
import tarfile
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from inference.tensor_pickles import (
    BFLOAT16,
    CheckpointError,
    StorageRef,
    TensorRecipe,
    UnsafeCheckpointError,
    legacy_persistent,
    recipes_in,
    unpickle,
    zip_persistent,
)

__all__ = [
    "CheckpointError",
    "CheckpointNeedsTorchError",
    "StateDict",
    "UnsafeCheckpointError",
    "load_state_dict",
    "read_checkpoint",
]

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001
MAX_PICKLE_BYTES = 64 * 1024 * 1024
MAX_TENSOR_ELEMENTS = 1 << 28
TORCH_EXTRA_HINT = "pip install 'colorbot[convert]'"

StateDict = dict[str, np.ndarray]


class CheckpointNeedsTorchError(CheckpointError):
    """A valid but old layout that only PyTorch itself reads."""


def _tensor(recipe: TensorRecipe, storage: np.ndarray) -> np.ndarray:
    """Copy one tensor out of its storage, honouring offset and strides (bounds-checked)."""
    offset = recipe.offset + recipe.storage.view_offset
    size, stride = recipe.size, recipe.stride
    if len(size) != len(stride) or offset < 0 or any(v < 0 for v in (*size, *stride)):
        raise CheckpointError("a tensor has a malformed size, stride or offset")
    if np.prod(size, dtype=np.float64) > MAX_TENSOR_ELEMENTS:
        raise CheckpointError("a tensor is implausibly large")
    if 0 in size:
        array = np.zeros(size, dtype=storage.dtype)
    else:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
        if last >= storage.size:
            raise CheckpointError("a tensor reaches outside its storage")
        itemsize = storage.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            storage[offset:], shape=size, strides=[s * itemsize for s in stride], writeable=False
        )
        array = np.array(view, dtype=storage.dtype.newbyteorder("="), order="C", copy=True)
    if recipe.storage.dtype == BFLOAT16:
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array


def _storage_array(data: bytes, ref: StorageRef, byteorder: str) -> np.ndarray:
    dtype = ref.dtype.newbyteorder(">" if byteorder == "big" else "<")
    if len(data) != ref.numel * dtype.itemsize:
        raise CheckpointError(
            f"storage {ref.key} has {len(data)} bytes, expected {ref.numel * dtype.itemsize}"
        )
    return np.frombuffer(data, dtype=dtype)


def _read_zip(path: Path) -> StateDict:
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise CheckpointError("a zip file, but not a PyTorch checkpoint (no data.pkl)")
        root = pickles[0][: -len("data.pkl")]
        if archive.getinfo(pickles[0]).file_size > MAX_PICKLE_BYTES:
            raise CheckpointError("data.pkl is implausibly large")
        names = set(archive.namelist())
        byteorder = "little"
        if f"{root}byteorder" in names:
            byteorder = archive.read(f"{root}byteorder").decode("ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise CheckpointError(f"unknown byte order {byteorder!r:.20}")
        obj = unpickle(io.BytesIO(archive.read(pickles[0])), zip_persistent)
        recipes = recipes_in(obj)
        storages: dict[str, np.ndarray] = {}
        state: StateDict = {}
        for name, recipe in recipes.items():
            ref = recipe.storage
            if ref.key not in storages:
                member = f"{root}data/{ref.key}"
                if member not in names:
                    raise CheckpointError(f"storage {ref.key} is missing from the checkpoint")
                storages[ref.key] = _storage_array(archive.read(member), ref, byteorder)
            state[name] = _tensor(recipe, storages[ref.key])
        return state


def _read_legacy(stream: IO[bytes]) -> StateDict:
    def no_storage(_pid: tuple[Any, ...]) -> StorageRef:
        raise CheckpointError("unexpected storage in the checkpoint header")

    if unpickle(stream, no_storage) != LEGACY_MAGIC_NUMBER:
        raise CheckpointError("not a PyTorch checkpoint (wrong magic number)")
    if unpickle(stream, no_storage) != LEGACY_PROTOCOL_VERSION:
        raise CheckpointNeedsTorchError("unknown legacy checkpoint protocol version")
    sys_info = unpickle(stream, no_storage)
    if not isinstance(sys_info, dict):
        raise CheckpointError("malformed legacy checkpoint header")
    refs: dict[str, StorageRef] = {}

    def remember(data: tuple[Any, ...]) -> StorageRef:
        ref = legacy_persistent(data)
        known = refs.setdefault(ref.key, StorageRef(ref.key, ref.dtype, ref.numel))
        if (known.dtype, known.numel) != (ref.dtype, ref.numel):
            raise CheckpointError(f"storage {ref.key} is declared twice, differently")
        return ref

    recipes = recipes_in(unpickle(stream, remember))
    keys = unpickle(stream, no_storage)
    if not isinstance(keys, list) or sorted(map(str, keys)) != sorted(refs):
        raise CheckpointError("the legacy checkpoint's storage list does not match its tensors")
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        ref = refs[str(key)]
        header = stream.read(8)
        if len(header) != 8 or int.from_bytes(header, "little", signed=True) != ref.numel:
            raise CheckpointError(f"storage {ref.key} is truncated or has the wrong size")
        storages[ref.key] = _storage_array(
            stream.read(ref.numel * ref.dtype.itemsize), ref, "little"
        )
    return {name: _tensor(r, storages[r.storage.key]) for name, r in recipes.items()}


def read_checkpoint(path: Path) -> StateDict:
    """The checkpoint's state_dict as {key: numpy array}, read without PyTorch.

    float16 and int64 stay as they are, bfloat16 becomes float32; every array is a
    C-contiguous copy in native byte order."""
    if zipfile.is_zipfile(path):
        return _read_zip(path)
    if tarfile.is_tarfile(path):
        raise CheckpointNeedsTorchError("a tar-format (torch < 0.4) checkpoint")
    with path.open("rb") as stream:
        return _read_legacy(stream)


def load_state_dict(path: Path) -> StateDict:
    """`read_checkpoint`, falling back to PyTorch's `weights_only` loader (itself restricted
    to tensors) for the layouts only PyTorch reads. An unsafe pickle never falls back."""
    try:
        return read_checkpoint(path)
    except CheckpointNeedsTorchError as exc:
        reason = str(exc)
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        raise CheckpointNeedsTorchError(
            f"{path.name} is {reason}, which only PyTorch reads: {TORCH_EXTRA_HINT} "
            "(needed once, for the conversion) and run the command again"
        ) from None
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict):
        raise CheckpointError("the checkpoint does not hold a state_dict (a dict of tensors)")
    return {str(k): _numpy_from_torch(v) for k, v in loaded.items()}


def _numpy_from_torch(tensor: Any) -> np.ndarray:
    if str(tensor.dtype) == "torch.bfloat16":
        tensor = tensor.float()
    array: np.ndarray = tensor.detach().cpu().contiguous().numpy().copy()
    return array
