"""The model-file reader against hostile and damaged files: random bytes, random zips, real model files mutated.

Whatever the file, `whosthat.load` returns a model or raises `ModelFileError`, quickly, and a zip bomb is
refused before it is inflated.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import subprocess
import sys
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import whosthat
from whosthat.core.errors import ModelFileError
from whosthat.models.file import FORMAT_VERSION

FORMAT1 = Path(__file__).parents[1] / "data" / "celebrity5-facenet-format1.wt"
#: Examples per fuzz test; WHOSTHAT_FUZZ_EXAMPLES=N runs N random ones (the default run is the same every time).
EXAMPLES = os.environ.get("WHOSTHAT_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(EXAMPLES or 60), deadline=2000, derandomize=EXAMPLES is None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture(scope="module")
def real_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The small real model in format 1, and the same model saved in the current format."""
    folder = tmp_path_factory.mktemp("fuzz-model")
    return {"format 1": FORMAT1, "current": whosthat.load(FORMAT1).save(folder / "current.wt")}


def load_or_refuse(path: Path, data: bytes) -> None:
    """The contract: a model, or `ModelFileError`; any other exception fails the test."""
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            whosthat.load(path)
        except ModelFileError as error:
            assert "\n" not in str(error) and str(path) in str(error)


@given(data=st.binary(max_size=2048))
@FUZZ
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    load_or_refuse(tmp_path / "random.wt", data)


@given(members=st.dictionaries(st.sampled_from(["manifest.json", "arrays.npz", "x.npy", "dir/", "../up"]),
                               st.binary(max_size=256) | json_values.map(lambda v: json.dumps(v).encode()),
                               max_size=3),
       compression=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]))
@FUZZ
def test_random_zips(tmp_path: Path, members: dict[str, bytes], compression: int) -> None:
    load_or_refuse(tmp_path / "zip.wt", _zip(members, compression))


@given(which=st.sampled_from(["format 1", "current"]), flips=st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=4))
@FUZZ
def test_real_files_with_bytes_changed(tmp_path: Path, real_files: dict[str, Path], which: str,
                                       flips: list[tuple[float, int]]) -> None:
    data = bytearray(real_files[which].read_bytes())
    for where, value in flips:
        data[int(where * len(data))] = value
    load_or_refuse(tmp_path / "flipped.wt", bytes(data))


def _replace(node: Any, path: list[int], value: Any) -> Any:
    """`node` with the value at a path of child indices (taken modulo the children) replaced, or removed for
    the `...` value."""
    if not path or not isinstance(node, (dict, list)) or not node:
        return value
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    key = keys[path[0] % len(keys)]
    changed = _replace(node[key], path[1:], value)
    copy = dict(node) if isinstance(node, dict) else list(node)
    if changed is ... and len(path) == 1:
        del copy[key]
    else:
        copy[key] = None if changed is ... else changed
    return copy


@given(which=st.sampled_from(["format 1", "current"]),
       edits=st.lists(st.tuples(st.lists(st.integers(0, 50), min_size=1, max_size=5), json_values | st.just(...)),
                      min_size=1, max_size=3))
@FUZZ
def test_real_manifests_changed(tmp_path: Path, real_files: dict[str, Path], which: str,
                                edits: list[tuple[list[int], Any]]) -> None:
    members = _members(real_files[which].read_bytes())
    manifest = json.loads(members["manifest.json"])
    for path, value in edits:
        manifest = _replace(manifest, path, value)
    members["manifest.json"] = json.dumps(manifest).encode()
    load_or_refuse(tmp_path / "edited.wt", _zip(members))


@given(which=st.sampled_from(["format 1", "current"]), picks=st.lists(st.integers(0, 200), min_size=1, max_size=3),
       shape=st.lists(st.integers(0, 5), max_size=3),
       dtype=st.sampled_from(["float32", "float64", "int64", "uint8", "bool", "<U3", "complex64"]), drop=st.booleans())
@FUZZ
def test_real_arrays_changed(tmp_path: Path, real_files: dict[str, Path], which: str, picks: list[int],
                             shape: list[int], dtype: str, drop: bool) -> None:
    members = _members(real_files[which].read_bytes())
    with np.load(io.BytesIO(members["arrays.npz"])) as npz:
        arrays = {key: npz[key] for key in npz.files}
    keys = sorted(arrays)
    for pick in picks:
        key = keys[pick % len(keys)]
        if drop:
            arrays.pop(key, None)
        else:
            arrays[key] = np.zeros(shape, dtype)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    members["arrays.npz"] = buffer.getvalue()
    load_or_refuse(tmp_path / "arrays.wt", _zip(members))


CHUNK = 1 << 24
#: What a refused bomb may add to the reading process's peak memory (bytes).
BOMB_MEMORY = 150 * 1024 * 1024
READ_IN_A_PROCESS = """
import resource, sys, time
from whosthat.models.file import read_bundle
from whosthat.core.errors import ModelFileError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for path in sys.argv[1:]:
    start = time.monotonic()
    try:
        read_bundle(path)
    except ModelFileError as error:
        print(f"{time.monotonic() - start:.3f} {error}")
    else:
        print("read")
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def _bomb(head: bytes, filler: int, chunks: int) -> tuple[bytes, int, int]:
    """A raw deflate stream of `head` and then `chunks` x 16 MiB of the byte `filler`, made in well under a
    second (each full-flushed chunk deflates on its own, so one is compressed and repeated), with its
    inflated size and CRC-32."""
    chunk = bytes([filler]) * CHUNK
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    for _ in range(chunks):
        crc = zlib.crc32(chunk, crc)
    return first + block * chunks + compressor.flush(), len(head) + CHUNK * chunks, crc


def _raw_zip(members: dict[str, tuple[bytes, int, int]], sizes: dict[str, int] | None = None) -> bytes:
    """A zip of already deflated members (data, size, CRC-32), its headers laid out by hand as the zip format
    says (local header, central directory, end record); `sizes` makes headers claim other sizes."""
    body, directory = b"", b""
    for name, (data, size, crc) in members.items():
        claimed, encoded = (sizes or {}).get(name, size), name.encode()
        directory += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 8, 0, 33,
                                 crc, len(data), claimed, len(encoded), 0, 0, 0, 0, 0, len(body)) + encoded
        body += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 8, 0, 33, crc, len(data),
                            claimed, len(encoded), 0) + encoded + data
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(directory), len(body), 0)
    return body + directory + end


def _deflated(data: bytes) -> tuple[bytes, int, int]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(), len(data), zlib.crc32(data)


def _npy_header(shape: tuple[int, ...], dtype: str = "|u1") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def test_zip_bombs_are_refused_at_once_in_little_memory(tmp_path: Path) -> None:
    with zipfile.ZipFile(FORMAT1) as archive:
        manifest, arrays = archive.read("manifest.json"), archive.read("arrays.npz")
    spaces = _bomb(b"{", ord(" "), 64)  # a 1 GiB manifest.json in about 1 MB
    zeros = _zip({"x.npy": b""})
    npz_bomb = _raw_zip({"x.npy": _bomb(_npy_header((64 * CHUNK,)), 0, 64)})
    huge_shape = _zip({"x.npy": _npy_header((10**12,)) + bytes(64)})
    files = {
        "manifest of 1 GiB": _raw_zip({"manifest.json": spaces, "arrays.npz": _deflated(arrays)}),
        "manifest claiming 10 bytes": _raw_zip({"manifest.json": spaces, "arrays.npz": _deflated(arrays)},
                                               sizes={"manifest.json": 10}),
        "arrays of 1 GiB": _raw_zip({"manifest.json": _deflated(manifest), "arrays.npz": _deflated(npz_bomb)}),
        "an array claiming 10^12 bytes": _raw_zip({"manifest.json": _deflated(manifest),
                                                   "arrays.npz": _deflated(huge_shape)}),
        "an empty npy": _raw_zip({"manifest.json": _deflated(manifest), "arrays.npz": _deflated(zeros)}),
    }
    paths = []
    for name, data in files.items():
        paths.append(tmp_path / f"{name}.wt")
        paths[-1].write_bytes(data)
        assert len(data) < 3 * 1024 * 1024
    run = subprocess.run([sys.executable, "-c", READ_IN_A_PROCESS, *map(str, paths)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    *lines, grown = run.stdout.splitlines()
    assert len(lines) == len(files) and not any(line == "read" for line in lines), lines
    for line in lines:
        seconds, message = line.split(" ", 1)
        assert float(seconds) < 1.0 and "model" in message, line
    assert int(grown) < BOMB_MEMORY, f"reading the bombs took {int(grown) / 2**20:.0f} MiB more"


@pytest.mark.parametrize("version, words", [(2.0, "version 2.0 is not one this whosthat knows"),
                                            ("2", "version '2' is not one this whosthat knows"),
                                            (0, "version 0 is not one"), (True, "version True is not one"),
                                            (FORMAT_VERSION + 1, f"model format {FORMAT_VERSION + 1} is newer than "
                                                                 f"this whosthat reads ({FORMAT_VERSION})")])
def test_an_unknown_format_version_is_said_to_be_unknown(tmp_path: Path, version: object, words: str) -> None:
    members = _members(FORMAT1.read_bytes())
    members["manifest.json"] = json.dumps({**json.loads(members["manifest.json"]), "format_version": version}).encode()
    path = tmp_path / "model.wt"
    path.write_bytes(_zip(members))
    with pytest.raises(ModelFileError, match=re.escape(words)):
        whosthat.load(path)
