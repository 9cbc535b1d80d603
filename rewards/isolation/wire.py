"""How the worker pool and its workers talk over a pipe: one message per frame, in one of two codecs.

- JSON_LINES: one JSON object per line, for workers whose jobs are plain text (math-verify's);
- PICKLE_FRAMES: an 8-byte length, then a pickle, for plug-in rewards, whose batches carry any picklable column.

Replies read back by the parent are unpickled without access to any global name (`_PlainUnpickler`), so a reply can
only ever be plain data (lists, dicts, strings, numbers), whatever a worker writes: the worker normalises what a
reward returns before sending it.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
from typing import Any, BinaryIO, Protocol

_LENGTH = struct.Struct(">Q")
MAX_FRAME = 1 << 31  # 2 GiB: a length beyond it is a corrupt stream, not a batch


class WireError(ValueError):
    """The bytes on a pipe are not a message of the codec (a worker wrote garbage, or died mid-write)."""


class Codec(Protocol):
    def encode(self, obj: Any) -> bytes: ...

    def decode(self, buf: bytes) -> tuple[list[Any], bytes]:
        """The complete messages at the start of `buf`, and the incomplete rest."""
        ...


class _JsonLines:
    def encode(self, obj: Any) -> bytes:
        return json.dumps(obj).encode() + b"\n"

    def decode(self, buf: bytes) -> tuple[list[Any], bytes]:
        *lines, rest = buf.split(b"\n")
        try:
            return [json.loads(line) for line in lines if line.strip()], rest
        except ValueError as e:
            raise WireError(f"not a JSON line: {e}") from None


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"a reply may hold plain data only, not {module}.{name}")


class _PickleFrames:
    def encode(self, obj: Any) -> bytes:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        return _LENGTH.pack(len(data)) + data

    def decode(self, buf: bytes) -> tuple[list[Any], bytes]:
        out, pos = [], 0
        while len(buf) - pos >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buf, pos)
            if size > MAX_FRAME:
                raise WireError(f"a frame of {size} bytes")
            end = pos + _LENGTH.size + size
            if end > len(buf):
                break
            try:
                out.append(_PlainUnpickler(io.BytesIO(buf[pos + _LENGTH.size : end])).load())
            except Exception as e:  # any garbage: the stream can no longer be trusted
                raise WireError(f"not a plain-data pickle: {e}") from None
            pos = end
        return out, buf[pos:]


JSON_LINES: Codec = _JsonLines()
PICKLE_FRAMES: Codec = _PickleFrames()


# -- the worker's side: blocking reads and writes on its own stdin and stdout -----------------------------------


def read_frame(stream: BinaryIO) -> Any | None:
    """The next pickled message from the parent (trusted: it may hold the reward itself), or None at end-of-file."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


def write_frame(stream: BinaryIO, obj: Any) -> None:
    stream.write(PICKLE_FRAMES.encode(obj))
    stream.flush()
