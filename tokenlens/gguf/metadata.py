"""A GGUF file's metadata and tensor table, read without touching the tensor data.

``gguf.GGUFReader`` builds numpy views for every element of every array, which takes seconds for a
32,000-token vocabulary and most of a minute for Llama 3's 128,000 tokens and 280,000 merges.
This reader walks the same layout (the gguf package's constants name the types) with ``struct``
over a memory map, turns string arrays into Python lists in one pass and numeric arrays into
lists through numpy. It also checks that every tensor's bytes lie inside the file, so a file cut
short while downloading is reported before anything uses it.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenlens.errors import TokenizerFileError

# GGUFValueType: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array,
# 10 u64, 11 i64, 12 f64
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_NUMPY = {0: "u1", 1: "i1", 2: "u2", 3: "i2", 4: "u4", 5: "i4", 6: "f4", 7: "?", 10: "u8", 11: "i8", 12: "f8"}
_STRING, _ARRAY = 8, 9
_DEFAULT_ALIGNMENT = 32


class _Truncated(Exception):
    pass


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # ggml order: fastest-varying dimension first
    ggml_type: int
    offset: int  # from the start of the data section
    n_bytes: int


@dataclass
class GGUFMetadata:
    path: str
    version: int
    fields: dict[str, Any]
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0
    file_size: int = 0

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    @property
    def architecture(self) -> str | None:
        return self.fields.get("general.architecture")


class _Cursor:
    def __init__(self, buf, order: str):
        self.buf, self.pos, self.order, self.size = buf, 0, order, len(buf)

    def take(self, fmt: str):
        fmt = self.order + fmt
        n = struct.calcsize(fmt)
        if self.pos + n > self.size:
            raise _Truncated
        value = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return value[0] if len(value) == 1 else value

    def string(self) -> str:
        n = self.take("Q")
        end = self.pos + n
        if end > self.size:
            raise _Truncated
        raw = self.buf[self.pos : end]
        self.pos = end
        return raw.decode("utf-8", errors="surrogateescape")

    def value(self, kind: int):
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item, count = self.take("I"), self.take("Q")
            if item == _STRING:
                return [self.string() for _ in range(count)]
            if item in _NUMPY:
                import numpy as np

                dtype = np.dtype(_NUMPY[item]).newbyteorder(self.order)
                end = self.pos + count * dtype.itemsize
                if end > self.size:
                    raise _Truncated
                out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos).tolist()
                self.pos = end
                return out
            return [self.value(item) for _ in range(count)]  # arrays of arrays
        fmt = _SCALARS.get(kind)
        if fmt is None:
            raise ValueError(f"unknown metadata value type {kind}")
        return self.take(fmt)


def _tensor_bytes(ggml_type: int, shape: tuple[int, ...]) -> int:
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    block, size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    n = 1
    for d in shape:
        n *= d
    return n // block * size


def read_metadata(path: Path | str, tensors: bool = True) -> GGUFMetadata:
    """Metadata (and the tensor table) of the GGUF file at ``path``; clear errors for anything
    that is not a whole GGUF file."""
    path = Path(path)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise TokenizerFileError(f"{path} cannot be read ({exc.strerror}).") from None
    with fh:
        size = path.stat().st_size
        if fh.read(4) != b"GGUF":
            raise TokenizerFileError(
                f"{path} is not a GGUF file (it does not start with the bytes 'GGUF'). Give a .gguf"
                " model file, e.g. one exported by llama.cpp or found in the Ollama store."
            )
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            try:
                return _parse(path, buf, size, tensors)
            except _Truncated:
                raise TokenizerFileError(_cut_short(path, size)) from None
            except TokenizerFileError:
                raise
            except (ValueError, UnicodeDecodeError, OverflowError, MemoryError) as exc:
                raise TokenizerFileError(
                    f"{path} is a damaged GGUF file ({exc}). Download or export it again."
                ) from None


def _cut_short(path: Path, size: int, needed: int | None = None) -> str:
    need = f"; its tensors need {needed:,}" if needed else ""
    return (
        f"{path} is cut short ({size:,} bytes{need}): it is an incomplete GGUF file, probably from an"
        " interrupted download or copy. Download or export it again."
    )


def _parse(path: Path, buf, size: int, with_tensors: bool) -> GGUFMetadata:
    cur = _Cursor(buf, "<")
    cur.pos = 4
    version = cur.take("I")
    if version & 0xFFFF == 0:  # written on a big-endian machine
        cur.order = ">"
        cur.pos = 4
        version = cur.take("I")
    if version not in (2, 3):
        raise TokenizerFileError(
            f"{path} is GGUF version {version}; tokenlens reads versions 2 and 3 (convert old files"
            " with a current llama.cpp)."
        )
    n_tensors, n_kv = cur.take("Q"), cur.take("Q")
    if n_kv > size or n_tensors > size:
        raise ValueError("impossible counts in the header")
    fields: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string()
        fields[key] = cur.value(cur.take("I"))
    meta = GGUFMetadata(str(path), version, fields, file_size=size)
    if not with_tensors:
        return meta
    for _ in range(n_tensors):
        name = cur.string()
        n_dims = cur.take("I")
        shape = tuple(cur.take("Q") for _ in range(n_dims))
        ggml_type, offset = cur.take("I"), cur.take("Q")
        try:
            n_bytes = _tensor_bytes(ggml_type, shape)
        except (KeyError, ValueError):
            raise ValueError(f"tensor {name!r} has an unknown type {ggml_type}") from None
        meta.tensors.append(TensorInfo(name, shape, ggml_type, offset, n_bytes))
    align = fields.get("general.alignment", _DEFAULT_ALIGNMENT)
    meta.data_offset = cur.pos + (-cur.pos) % align
    end = max((meta.data_offset + t.offset + t.n_bytes for t in meta.tensors), default=cur.pos)
    if end > size:
        raise TokenizerFileError(_cut_short(path, size, end))
    return meta


__all__ = ["GGUFMetadata", "TensorInfo", "read_metadata"]
