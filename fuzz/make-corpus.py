#!/usr/bin/env python3
"""Builds the fuzzers' seed corpora: every `// -----` case of the lit tests
for the IR fuzzers, the golden .npy files and a few edge cases for the .npy
fuzzer.

Usage: make-corpus.py OUT_DIR   (writes OUT_DIR/{ir,npy})"""

import glob
import hashlib
import io
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(folder, content):
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(content).hexdigest()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(content)


def main():
    out = sys.argv[1]
    for path in glob.glob(os.path.join(ROOT, "test", "**", "*.mlir"), recursive=True):
        text = open(path, "rb").read()
        for case in text.split(b"// -----"):
            write(os.path.join(out, "ir"), case)
    for path in glob.glob(os.path.join(ROOT, "examples", "*.mlir")):
        data = open(path, "rb").read()
        if len(data) < 100000:  # the 32-layer example is too large a seed
            write(os.path.join(out, "ir"), data)
    for path in glob.glob(os.path.join(ROOT, "test", "golden", "*", "*.npy")):
        data = open(path, "rb").read()
        # Keep seeds small: the header and the first bytes of data.
        write(os.path.join(out, "npy"), data[:512])
    try:
        import numpy as np
    except ImportError:
        return
    for array in (np.zeros((2, 3), np.float32), np.zeros((0,), np.int64),
                  np.zeros((), np.float16), np.arange(6, dtype=np.int32).reshape(3, 2)):
        buffer = io.BytesIO()
        np.save(buffer, array)
        write(os.path.join(out, "npy"), buffer.getvalue())
    # bf16 both ways the reader takes it: the '<V2' that NumPy writes for
    # ml_dtypes.bfloat16, and a 'bfloat16' descr.
    for descr in ("<V2", "bfloat16"):
        header = "{'descr': '%s', 'fortran_order': False, 'shape': (3,), }" % descr
        header += " " * (63 - (10 + len(header)) % 64) + "\n"
        data = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
        write(os.path.join(out, "npy"), data + header.encode() + bytes(6))


if __name__ == "__main__":
    main()
