#!/usr/bin/python3.11
"""Writes the weights files with a bad linear readout that scenarios/invalid/ refers to: the
tensors of w16.safetensors (made by make_data.py) and a readout.weight and readout.bias of
a wrong shape or dtype. Run from this folder: /usr/bin/python3.11 make_readout_data.py.
Needs the standard library only."""
import json
import struct


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    return {k: (v["dtype"], v["shape"], body[v["data_offsets"][0] : v["data_offsets"][1]]) for k, v in header.items() if k != "__metadata__"}


def write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def values(fmt, n):
    return struct.pack("<" + fmt * n, *[0.01 * (k + 1) for k in range(n)])


block = read("w16.safetensors")
# readout.weight as a vector [16] instead of [1, 16].
write("w16_readout_shape.safetensors", {**block, "readout.weight": ("F32", [16], values("f", 16)), "readout.bias": ("F32", [1], values("f", 1))})
# readout.weight in float16.
write("w16_readout_f16.safetensors", {**block, "readout.weight": ("F16", [1, 16], values("e", 16)), "readout.bias": ("F32", [1], values("f", 1))})
