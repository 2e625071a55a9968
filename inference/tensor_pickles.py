"""What a checkpoint's pickle may name: tensor rebuilding, and nothing else.

Unpickling runs whatever callables a pickle names. `TensorUnpickler.find_class` admits only
what rebuilding a state_dict needs (`torch._utils._rebuild_tensor_v2` and friends,
`collections.OrderedDict`, the storage types and dtypes) and maps each to a harmless stand-in
defined here: nothing from `torch` (or anywhere else) is imported or called. Anything else is
refused with `UnsafeCheckpointError` before it can run. Tensors come out as `TensorRecipe`s
(storage, offset, size, stride); `inference.checkpoints` turns them into numpy arrays.
The stand-ins are frozen, slotted dataclasses, so a pickle's BUILD opcode cannot alter them.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import numpy as np


class CheckpointError(ValueError):
    """The file is not a checkpoint colorbot can read; the message says why."""


class UnsafeCheckpointError(CheckpointError):
    """The pickle names something other than tensor rebuilding: refused, never run."""


@dataclass(frozen=True, slots=True)
class StorageType:
    name: str
    dtype: np.dtype[Any]


@dataclass(frozen=True, slots=True)
class DType:
    name: str
    dtype: np.dtype[Any]


@dataclass(frozen=True, slots=True)
class StorageRef:
    key: str
    dtype: np.dtype[Any]
    numel: int
    view_offset: int = 0


@dataclass(frozen=True, slots=True)
class TensorRecipe:
    storage: StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


BFLOAT16 = np.dtype("<u2")  # widened to float32 on load
_DTYPES: dict[str, np.dtype[Any]] = {
    "Float": np.dtype("<f4"),
    "Double": np.dtype("<f8"),
    "Half": np.dtype("<f2"),
    "BFloat16": BFLOAT16,
    "Long": np.dtype("<i8"),
    "Int": np.dtype("<i4"),
    "Short": np.dtype("<i2"),
    "Char": np.dtype("i1"),
    "Byte": np.dtype("u1"),
    "Bool": np.dtype("?"),
}
_DTYPE_NAMES = {
    "float32": "Float",
    "float": "Float",
    "float64": "Double",
    "double": "Double",
    "float16": "Half",
    "half": "Half",
    "bfloat16": "BFloat16",
    "int64": "Long",
    "long": "Long",
    "int32": "Int",
    "int": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}


def _rebuild_tensor(
    storage: StorageRef, offset: int, size: tuple[int, ...], stride: tuple[int, ...]
) -> TensorRecipe:
    if not isinstance(storage, StorageRef):
        raise CheckpointError("a tensor refers to something that is not a storage")
    if not all(isinstance(v, int) for v in (offset, *size, *stride)):
        raise CheckpointError("a tensor's offset, size or stride is not an integer")
    return TensorRecipe(storage, offset, tuple(size), tuple(stride))


def _rebuild_tensor_v2(
    storage: StorageRef,
    offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    backward_hooks: object = None,
    metadata: object = None,
) -> TensorRecipe:
    return _rebuild_tensor(storage, offset, size, stride)


def _rebuild_parameter(
    data: TensorRecipe, requires_grad: bool = False, backward_hooks: object = None
) -> TensorRecipe:
    if not isinstance(data, TensorRecipe):
        raise CheckpointError("a parameter wraps something that is not a tensor")
    return data


ADMITTED: dict[tuple[str, str], object] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", f"{n}Storage"): StorageType(f"{n}Storage", d) for n, d in _DTYPES.items()},
    **{("torch", name): DType(name, _DTYPES[kind]) for name, kind in _DTYPE_NAMES.items()},
}


class TensorUnpickler(pickle.Unpickler):
    """Unpickles tensors as `TensorRecipe`s; every global outside `ADMITTED` is refused."""

    def __init__(self, file: IO[bytes], persistent: Callable[[tuple[Any, ...]], StorageRef]):
        super().__init__(file)
        self._persistent = persistent

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ADMITTED[(module, name)]
        except KeyError:
            raise UnsafeCheckpointError(
                f"refused to load {module}.{name}: a checkpoint may only contain tensors"
            ) from None

    def persistent_load(self, pid: Any) -> StorageRef:
        if not isinstance(pid, tuple) or not pid or pid[0] not in ("storage", b"storage"):
            raise CheckpointError(f"unknown persistent id in checkpoint: {pid!r:.60}")
        return self._persistent(pid[1:])


def storage_ref(storage_type: object, key: object, numel: object) -> StorageRef:
    if not isinstance(storage_type, StorageType):
        raise CheckpointError(f"not a storage type: {storage_type!r:.60}")
    if not isinstance(key, str | bytes) or not isinstance(numel, int) or numel < 0:
        raise CheckpointError("malformed storage reference")
    key = key.decode("ascii") if isinstance(key, bytes) else key
    return StorageRef(key, storage_type.dtype, numel)


def zip_persistent(data: tuple[Any, ...]) -> StorageRef:
    if len(data) != 4:
        raise CheckpointError("malformed storage reference in data.pkl")
    storage_type, key, _location, numel = data
    return storage_ref(storage_type, key, numel)


def legacy_persistent(data: tuple[Any, ...]) -> StorageRef:
    if len(data) != 5:
        raise CheckpointError("malformed storage reference in legacy checkpoint")
    storage_type, key, _location, numel, view = data
    ref = storage_ref(storage_type, key, numel)
    if view is None:
        return ref
    _view_key, offset, view_numel = view
    if not isinstance(offset, int) or not isinstance(view_numel, int):
        raise CheckpointError("malformed storage view in legacy checkpoint")
    if offset < 0 or offset + view_numel > ref.numel:
        raise CheckpointError("a storage view lies outside its storage")
    return StorageRef(ref.key, ref.dtype, ref.numel, offset)


def unpickle(stream: IO[bytes], persistent: Callable[[tuple[Any, ...]], StorageRef]) -> Any:
    try:
        return TensorUnpickler(stream, persistent).load()
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"not a readable checkpoint ({exc})") from None


def recipes_in(obj: Any) -> dict[str, TensorRecipe]:
    """The state dict inside the unpickled object: {key: tensor}, or {"state_dict": {...}}."""
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError("the checkpoint does not hold a state_dict (a dict of tensors)")
    bad = [k for k, v in obj.items() if not (isinstance(k, str) and isinstance(v, TensorRecipe))]
    if bad:
        raise CheckpointError(f"the checkpoint's entry {bad[0]!r:.60} is not a tensor")
    return dict(obj)
