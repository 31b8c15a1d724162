#!/usr/bin/python3.11
"""Writes the bad tensor files that scenarios/invalid/ refers to. Run from this folder:
/usr/bin/python3.11 make_data.py. Needs numpy only. The files with a bad linear readout
are made from w16.safetensors by make_readout_data.py."""
import json
import struct

import numpy as np

rng = np.random.default_rng(1)
# float64 instead of float32.
np.save("f64.npy", rng.standard_normal((4, 64)))
# float32 of the wrong width for 64-dim neurons.
np.save("width32.npy", rng.standard_normal((4, 32)).astype(np.float32))
# cut short: the header promises 4x64 float32, the data stops half-way.
np.save("full.npy", rng.standard_normal((4, 64)).astype(np.float32))
with open("full.npy", "rb") as f:
    data = f.read()
with open("truncated.npy", "wb") as f:
    f.write(data[: len(data) - 512])
import os

os.remove("full.npy")


def safetensors(path, tensors, dtype="F32", cut=0):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        arr = tensors[name]
        raw = arr.astype(np.float16 if dtype == "F16" else np.float32).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    body = struct.pack("<Q", len(text)) + text + b"".join(blobs)
    with open(path, "wb") as f:
        f.write(body[: len(body) - cut] if cut else body)


def neuron(d, h):
    shapes = {
        "attention.query.weight": (d, d), "attention.query.bias": (d,),
        "attention.key.weight": (d, d), "attention.key.bias": (d,),
        "attention.value.weight": (d, d), "attention.value.bias": (d,),
        "attention.out.weight": (d, d), "attention.out.bias": (d,),
        "feed_forward.fc1.weight": (h, d), "feed_forward.fc1.bias": (h,),
        "feed_forward.fc2.weight": (d, h), "feed_forward.fc2.bias": (d,),
        "norm1.weight": (d,), "norm1.bias": (d,), "norm2.weight": (d,), "norm2.bias": (d,),
    }
    return {k: rng.standard_normal(s) * 0.1 for k, s in shapes.items()}


safetensors("w16.safetensors", neuron(16, 32))
safetensors("w16_f16.safetensors", neuron(16, 32), dtype="F16")
safetensors("w16_truncated.safetensors", neuron(16, 32), cut=100)
