"""Reading and re-sizing ONNX graphs from the protobuf itself, without the `onnx` package (whose import alone
costs a cold start most of a second).

`read_graph_summary` says what a file's graph takes and gives and how it begins, without loading the weights:
enough to tell a face recognition model from the other files of an InsightFace pack (detector, landmarks,
gender and age) and how InsightFace normalises its input. `with_free_input_size` makes a graph saved for one
input size take any size (YuNet's file is saved for 640x640 and ONNX Runtime holds it to that).

The reader walks the protobuf wire format over a memory map, skipping the weights by their lengths; the
field numbers are those of onnx.proto (ModelProto.graph 7; GraphProto node 1, initializer 5, input 11,
output 12, value_info 13; NodeProto name 3; ValueInfoProto name 1, type 2; TypeProto tensor_type 1; its shape 2;
TensorShapeProto dim 1; a dimension's dim_value 1 or dim_param 2; TensorProto name 8).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional, Union

#: A dimension: its size, or its symbolic name ("" when the file gives neither).
Dim = Union[int, str]
#: How many of the first nodes are kept: those InsightFace's ArcFaceONNX looks at.
NODES_READ = 8

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
#: A field's value as `_fields` yields it.
_Value = Union[int, tuple[int, int], None]


@dataclass(frozen=True)
class Tensor:
    """A graph input or output: its name and shape (empty when the file gives none)."""

    name: str
    shape: tuple[Dim, ...]


@dataclass(frozen=True)
class GraphSummary:
    """The graph's inputs (its weights left out) and outputs, and the names of its first nodes."""

    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    node_names: tuple[str, ...]


def read_graph_summary(path: Union[str, os.PathLike]) -> GraphSummary:
    """The summary of the ONNX file at `path`. Raises ValueError when it is not an ONNX model (OSError when
    it cannot be read)."""
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        graph = next((span for number, _, span in _fields(data, 0, len(data))
                      if number == 7 and isinstance(span, tuple)), None)
        if graph is None:
            raise ValueError("no graph")
        nodes: list[str] = []
        weights: set[str] = set()
        inputs: list[Tensor] = []
        outputs: list[Tensor] = []
        for number, _, span in _fields(data, *graph):
            if not isinstance(span, tuple):
                continue
            if number == 1 and len(nodes) < NODES_READ:
                nodes.append(_string_field(data, span, 3))
            elif number == 5:
                weights.add(_string_field(data, span, 8))
            elif number == 11:
                inputs.append(_value_info(data, span))
            elif number == 12:
                outputs.append(_value_info(data, span))
    return GraphSummary(tuple(i for i in inputs if i.name not in weights), tuple(outputs), tuple(nodes))


def with_free_input_size(data: bytes, dims: dict[int, str]) -> bytes:
    """The ONNX model `data` with the dimensions `dims` (index: symbolic name) of its graph's first input made
    symbolic, and the fixed shapes of its outputs and inner values dropped (they held the old size), so that
    ONNX Runtime takes an input of any size there. Raises ValueError when `data` is not an ONNX model."""
    view = memoryview(data)
    fields = list(_fields(view, 0, len(view)))
    graph = next((span for number, _, span in fields if number == 7 and isinstance(span, tuple)), None)
    if graph is None:
        raise ValueError("no graph")
    parts = []
    first_input = True
    for number, _, span in _fields(view, *graph):
        if number == 13:
            continue
        if number == 11 and first_input and isinstance(span, tuple):
            first_input = False
            parts.append(_bytes_field(11, _value_info_with(view, span, dims)))
        elif number == 12 and isinstance(span, tuple):
            parts.append(_bytes_field(12, _value_info_with(view, span, None)))
        else:
            parts.append(_raw_field(view, number, span))
    rebuilt = [_bytes_field(7, b"".join(parts)) if number == 7 else _raw_field(view, number, span)
               for number, _, span in fields]
    return b"".join(rebuilt)


def _value_info_with(data: memoryview, span: tuple[int, int], dims: Optional[dict[int, str]]) -> bytes:
    """A ValueInfoProto again, its tensor shape's dimensions `dims` made symbolic, or its shape dropped (None)."""
    parts = []
    for number, _, value in _fields(data, *span):
        if number == 2 and isinstance(value, tuple):
            parts.append(_bytes_field(2, _type_with(data, value, dims)))
        else:
            parts.append(_raw_field(data, number, value))
    return b"".join(parts)


def _type_with(data: memoryview, span: tuple[int, int], dims: Optional[dict[int, str]]) -> bytes:
    """A TypeProto again (see `_value_info_with`); TypeProto.tensor_type 1, its elem_type 1 and shape 2."""
    parts = []
    for number, _, value in _fields(data, *span):
        if number != 1 or not isinstance(value, tuple):
            parts.append(_raw_field(data, number, value))
            continue
        tensor = []
        for inner, _, field in _fields(data, *value):
            if inner == 2 and isinstance(field, tuple):
                if dims is not None:
                    tensor.append(_bytes_field(2, _shape_with(data, field, dims)))
            else:
                tensor.append(_raw_field(data, inner, field))
        parts.append(_bytes_field(1, b"".join(tensor)))
    return b"".join(parts)


def _shape_with(data: memoryview, span: tuple[int, int], dims: dict[int, str]) -> bytes:
    """A TensorShapeProto again, the dimensions numbered in `dims` given those names (dim_param, field 2)."""
    parts = []
    index = 0
    for number, _, value in _fields(data, *span):
        if number == 1 and index in dims:
            parts.append(_bytes_field(1, _bytes_field(2, dims[index].encode())))
        else:
            parts.append(_raw_field(data, number, value))
        index += number == 1
    return b"".join(parts)


def _raw_field(data: memoryview, number: int, value: _Value) -> bytes:
    """A field as it was: a varint or a length-delimited field (the only kinds the fields rewritten here hold)."""
    if isinstance(value, tuple):
        return _bytes_field(number, bytes(data[value[0]:value[1]]))
    if isinstance(value, int):
        return _encode_varint(number << 3 | _VARINT) + _encode_varint(value)
    raise ValueError(f"fixed-width protobuf field {number} where a graph's shapes were expected")


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | _BYTES) + _encode_varint(len(payload)) + payload


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _value_info(data: mmap.mmap, span: tuple[int, int]) -> Tensor:
    """A ValueInfoProto's name and tensor shape."""
    name, dims = "", []
    for number, _, value in _fields(data, *span):
        if number == 1 and isinstance(value, tuple):
            name = _text(data, value)
        elif number == 2 and isinstance(value, tuple):
            shape = _message_field(data, _message_field(data, value, 1), 2)
            for dim_number, _, dim in _fields(data, *shape) if shape else ():
                if dim_number == 1 and isinstance(dim, tuple):
                    dims.append(_dimension(data, dim))
    return Tensor(name, tuple(dims))


def _dimension(data: mmap.mmap, span: tuple[int, int]) -> Dim:
    for number, _, value in _fields(data, *span):
        if number == 1 and isinstance(value, int):
            return value
        if number == 2 and isinstance(value, tuple):
            return _text(data, value)
    return ""


def _message_field(data: mmap.mmap, span: Optional[tuple[int, int]], wanted: int) -> Optional[tuple[int, int]]:
    """The span of the first length-delimited field numbered `wanted` of the message in `span`."""
    if span is None:
        return None
    return next((value for number, _, value in _fields(data, *span) if number == wanted and isinstance(value, tuple)),
                None)


def _string_field(data: mmap.mmap, span: tuple[int, int], wanted: int) -> str:
    found = _message_field(data, span, wanted)
    return _text(data, found) if found else ""


def _text(data: mmap.mmap, span: tuple[int, int]) -> str:
    return data[span[0]:span[1]].decode("utf-8", errors="replace")


def _fields(data: Union[mmap.mmap, memoryview], start: int, end: int) -> Iterator[tuple[int, int, _Value]]:
    """(field number, wire type, value) of each field of the message in data[start:end]: the integer of a
    varint, the (start, end) span of a length-delimited field, None for fixed-width ones."""
    position = start
    while position < end:
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        value: _Value
        if wire == _VARINT:
            value, position = _varint(data, position)
        elif wire == _BYTES:
            length, position = _varint(data, position)
            value = (position, position + length)
            position += length
        elif wire in (_FIXED64, _FIXED32):
            value, position = None, position + (8 if wire == _FIXED64 else 4)
        else:
            raise ValueError(f"protobuf wire type {wire} at byte {position}")
        if number == 0 or position > end:
            raise ValueError(f"protobuf field past the end of its message at byte {position}")
        yield number, wire, value


def _varint(data: Union[mmap.mmap, memoryview], position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if position >= len(data) or shift > 63:
            raise ValueError(f"broken protobuf varint at byte {position}")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7
