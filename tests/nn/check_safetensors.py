#!/usr/bin/env python3
"""Reads a safetensors file written by the C++ code and checks it, independently of the C++ reader.

    check_safetensors.py FILE

FILE is the one test_nn's case safetensors_loading/python_interop_fixture writes (keep the two in
step). The check uses only the standard library (json, struct, zlib): the 8-byte little-endian
header length, the space-padded JSON header, the dtypes, shapes and data_offsets, every value, the
string-only __metadata__ with its JSON-encoded keys, and the sf_checksum (CRC-32 as documented in
nn/include/sf/nn/safetensors.hpp). When the `safetensors` package or `torch` is importable, the
file is also read with them. Exits non-zero on the first mismatch.
"""

import json
import struct
import sys
import zlib

# name -> (dtype, shape, row-major values), as the C++ fixture writes them.
EXPECTED_TENSORS = {
    "embedding.weight": ("F32", [4, 3], [index * 0.25 - 1.0 for index in range(12)]),
    "layers.0.bias": ("F64", [5], [1.0 / (index + 1) for index in range(5)]),
    "scale": ("F32", [], [2.5]),
    "empty": ("F32", [0, 3], []),
    "transposed": ("F32", [3, 2], [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]),
}
EXPECTED_ORDER = ["embedding.weight", "layers.0.bias", "scale", "empty", "transposed"]
EXPECTED_METADATA = {"config": {"model_dim": 128, "name": "tiny"}, "step": 120, "note": "hello"}
FORMATS = {"F32": ("f", 4), "F64": ("d", 8)}


def fail(message):
    print(f"check_safetensors: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def element_count(shape):
    count = 1
    for extent in shape:
        count *= extent
    return count


def check_with_standard_library(path):
    with open(path, "rb") as stream:
        contents = stream.read()
    expect(len(contents) >= 8, "file shorter than 8 bytes")
    (header_length,) = struct.unpack("<Q", contents[:8])
    expect((8 + header_length) % 8 == 0, f"data section not 8-byte aligned (header length {header_length})")
    header_text = contents[8 : 8 + header_length].decode("utf-8")
    expect(header_text.startswith("{"), "header does not start with '{'")
    header = json.loads(header_text)
    data = contents[8 + header_length :]

    metadata = header.pop("__metadata__")
    expect(all(isinstance(value, str) for value in metadata.values()), "a __metadata__ value is not a string")
    expect(metadata.get("format") == "pt", "__metadata__ format is not 'pt'")

    order = sorted(header, key=lambda name: header[name]["data_offsets"])
    expect(order == EXPECTED_ORDER, f"tensor order {order}")
    covered = 0
    for name in order:
        entry = header[name]
        dtype, shape, values = EXPECTED_TENSORS[name]
        expect(entry["dtype"] == dtype, f"{name}: dtype {entry['dtype']} != {dtype}")
        expect(entry["shape"] == shape, f"{name}: shape {entry['shape']} != {shape}")
        begin, end = entry["data_offsets"]
        expect(begin == covered, f"{name}: begins at {begin}, previous tensor ended at {covered}")
        code, size = FORMATS[dtype]
        count = element_count(shape)
        expect(end - begin == count * size, f"{name}: {end - begin} bytes for {count} elements of {dtype}")
        actual = list(struct.unpack(f"<{count}{code}", data[begin:end]))
        expect(actual == values, f"{name}: values {actual} != {values}")
        covered = end
    expect(covered == len(data), f"data section holds {len(data)} bytes, tensors cover {covered}")

    json_keys = set(json.loads(metadata["sf_json_keys"]))
    expect(json_keys == {"config", "step"}, f"sf_json_keys {sorted(json_keys)}")
    decoded = {
        key: json.loads(value) if key in json_keys else value
        for key, value in metadata.items()
        if key not in ("format", "sf_checksum", "sf_json_keys")
    }
    expect(decoded == EXPECTED_METADATA, f"metadata {decoded} != {EXPECTED_METADATA}")

    # The checksum, recomputed from its documented definition.
    crc = 0
    for name in order:
        entry = header[name]
        for field in (name, entry["dtype"], ",".join(str(extent) for extent in entry["shape"])):
            crc = zlib.crc32(field.encode("utf-8") + b"\0", crc)
    for key in sorted(metadata, key=lambda key: key.encode("utf-8")):
        if key != "sf_checksum":
            crc = zlib.crc32(key.encode("utf-8") + b"\0" + metadata[key].encode("utf-8") + b"\0", crc)
    crc = zlib.crc32(data, crc)
    expect(metadata["sf_checksum"] == f"crc32:{crc:08x}", f"sf_checksum {metadata['sf_checksum']} != crc32:{crc:08x}")
    return header, data


def check_with_torch(header, data):
    """Decodes each tensor with torch.frombuffer, a reader that shares no code with the above."""
    import torch

    dtypes = {"F32": torch.float32, "F64": torch.float64}
    for name, entry in header.items():
        dtype, shape, values = EXPECTED_TENSORS[name]
        begin, end = entry["data_offsets"]
        if end > begin:
            tensor = torch.frombuffer(bytearray(data[begin:end]), dtype=dtypes[dtype]).reshape(shape)
        else:
            tensor = torch.empty(shape, dtype=dtypes[dtype])
        expected = torch.tensor(values, dtype=dtypes[dtype]).reshape(shape)
        expect(torch.equal(tensor, expected), f"torch: {name} differs")


def check_with_safetensors_package(path):
    from safetensors import safe_open

    with safe_open(path, framework="np") as handle:
        expect(set(handle.keys()) == set(EXPECTED_TENSORS), f"safetensors keys {sorted(handle.keys())}")
        for name, (dtype, shape, values) in EXPECTED_TENSORS.items():
            array = handle.get_tensor(name)
            expect(list(array.shape) == shape, f"safetensors: {name} shape {list(array.shape)}")
            expect(array.reshape(-1).tolist() == values, f"safetensors: {name} values differ")
        expect(handle.metadata()["format"] == "pt", "safetensors: format is not 'pt'")


def main():
    if len(sys.argv) != 2:
        fail("usage: check_safetensors.py FILE")
    path = sys.argv[1]
    header, data = check_with_standard_library(path)
    readers = ["json+struct+zlib"]
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        check_with_torch(header, data)
        readers.append("torch")
    try:
        import numpy  # noqa: F401
        import safetensors  # noqa: F401
    except ImportError:
        pass
    else:
        check_with_safetensors_package(path)
        readers.append("safetensors")
    print(f"check_safetensors: {path}: ok ({', '.join(readers)})")


if __name__ == "__main__":
    main()
