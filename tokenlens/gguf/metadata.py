"""A GGUF file's metadata and tensor table, read without touching the tensor data.

``gguf.GGUFReader`` builds numpy views for every element of every array, which takes seconds for a
32,000-token vocabulary and most of a minute for Llama 3's 128,000 tokens and 280,000 merges.
This reader walks the same layout (the gguf package's constants name the types) with ``struct``
over a memory map, turns string arrays into Python lists in one pass and numeric arrays into
lists through numpy. It also checks that every tensor's bytes lie inside the file, so a file cut
short while downloading is reported before anything uses it. Counts are checked against the bytes
left before anything is allocated for them, arrays against the limits in
:mod:`tokenlens.core.limits`, so a damaged or hostile file costs no more than its own size.
"""

from __future__ import annotations

import mmap
import os
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


class _Damaged(Exception):
    """Bytes that no GGUF writer produces; the message says which."""


class _TooMany(Exception):
    """An array longer than the limits allow (the count is the argument)."""


#: arrays nest one level in what the gguf package writes; deeper nesting is a damaged file
_MAX_NESTING = 4
#: ggml tensors have at most four dimensions (GGML_MAX_DIMS)
_MAX_DIMS = 4


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
    def __init__(self, buf, order: str, max_items: int):
        self.buf, self.pos, self.order, self.size = buf, 0, order, len(buf)
        self.max_items = max_items

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

    def value(self, kind: int, depth: int = 0):
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            if depth >= _MAX_NESTING:
                raise _Damaged(f"arrays nested more than {_MAX_NESTING} deep")
            item, count = self.take("I"), self.take("Q")
            if item not in _SCALARS and item not in (_STRING, _ARRAY):
                raise _Damaged(f"an array of the unknown value type {item}")
            # Each item takes at least this many bytes, so a count the file cannot hold is found
            # before anything is allocated for it.
            least = {_STRING: 8, _ARRAY: 12}.get(item) or struct.calcsize(_SCALARS[item])
            if count * least > self.size - self.pos:
                raise _Truncated
            if count > self.max_items:
                raise _TooMany(count)
            if item == _STRING:
                return [self.string() for _ in range(count)]
            if item == _ARRAY:
                return [self.value(item, depth + 1) for _ in range(count)]
            import numpy as np

            dtype = np.dtype(_NUMPY[item]).newbyteorder(self.order)
            out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos).tolist()
            self.pos += count * dtype.itemsize
            return out
        fmt = _SCALARS.get(kind)
        if fmt is None:
            raise _Damaged(f"a value of the unknown type {kind}")
        return self.take(fmt)


def _tensor_bytes(ggml_type: int, shape: tuple[int, ...]) -> int:
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    block, size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    n = 1
    for d in shape:
        n *= d
    return n // block * size


def read_metadata(path: Path | str, tensors: bool = True) -> GGUFMetadata:
    """Metadata (and the tensor table) of the GGUF file at ``path``; anything that is not a whole
    GGUF file, or holds more than the limits allow, is a :class:`TokenizerFileError` naming the
    file and what to do."""
    path = Path(path)
    if not path.is_file():  # a folder, or a pipe that would block the read
        raise TokenizerFileError(f"{path} is not a file; give the path of a .gguf model file.")
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise TokenizerFileError(f"{path} cannot be read ({exc.strerror}).") from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
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
            except (_Damaged, ValueError, OverflowError, MemoryError) as exc:
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
    from tokenlens.core.limits import LIMITS, raise_hint

    cur = _Cursor(buf, "<", max(LIMITS.gguf_vocab_tokens, LIMITS.gguf_merges))
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
        raise _Damaged("impossible counts in the header")
    fields: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string()
        try:
            fields[key] = cur.value(cur.take("I"))
        except _TooMany as exc:
            raise TokenizerFileError(
                f"{path}: its metadata field {key!r} is an array of {exc.args[0]:,} items, more than"
                f" tokenlens reads ({cur.max_items:,}, the larger of gguf_vocab_tokens and gguf_merges)."
                f" {raise_hint('gguf_vocab_tokens')}"
            ) from None
    meta = GGUFMetadata(str(path), version, fields, file_size=size)
    if not with_tensors:
        return meta
    for _ in range(n_tensors):
        name = cur.string()
        n_dims = cur.take("I")
        if n_dims > _MAX_DIMS:
            raise _Damaged(f"tensor {name!r} has {n_dims} dimensions; ggml tensors have at most {_MAX_DIMS}")
        shape = tuple(cur.take("Q") for _ in range(n_dims))
        ggml_type, offset = cur.take("I"), cur.take("Q")
        try:
            n_bytes = _tensor_bytes(ggml_type, shape)
        except (KeyError, ValueError):
            raise _Damaged(f"tensor {name!r} has an unknown type {ggml_type}") from None
        meta.tensors.append(TensorInfo(name, shape, ggml_type, offset, n_bytes))
    align = fields.get("general.alignment", _DEFAULT_ALIGNMENT)
    # ggml requires a power of two; 0 or another type would make every offset meaningless.
    if type(align) is not int or align <= 0 or align & (align - 1):
        raise _Damaged(f"general.alignment is {align!r}, not a power of two")
    meta.data_offset = cur.pos + (-cur.pos) % align
    end = max((meta.data_offset + t.offset + t.n_bytes for t in meta.tensors), default=cur.pos)
    if end > size:
        raise TokenizerFileError(_cut_short(path, size, end))
    return meta


__all__ = ["GGUFMetadata", "TensorInfo", "read_metadata"]
