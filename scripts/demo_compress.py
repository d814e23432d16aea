"""Part of scripts/demo.sh: compresses the prefill of a generated tiny Llama
with chunkkv-compress, runs it on the CPU with chunkkv-run --module, and
prints per layer the prompt length, the kept length and the cache bytes
before and after, with the largest difference from the NumPy model's
compressed prefill.

  python3 scripts/demo_compress.py BUILD_DIR
"""

import os
import subprocess
import sys
import tempfile

import numpy as np

from chunkkv import reference
from chunkkv.models import ModelConfig, module_text, numpy_model

OPTIONS = "policy=paper chunk-size=2 window=4 budget=8 reuse=2"
POLICY = reference.Policy("paper", chunk=2, window=4, budget=8, reuse=2)


def main():
    build = sys.argv[1]
    config = ModelConfig(layers=4, batch=2, prompt=16, capacity=64)
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.mlir")
        with open(model, "w") as f:
            f.write(module_text(config))
        compressed = os.path.join(tmp, "compressed.mlir")
        subprocess.run([os.path.join(build, "bin", "chunkkv-opt"), model,
                        f"-chunkkv-compress={OPTIONS}", "-o", compressed],
                       check=True)
        weights = numpy_model.init_weights(config)
        ks, vs = numpy_model.empty_caches(config)
        hidden = np.random.default_rng(0).standard_normal(
            (config.batch, config.prompt, config.hidden)).astype(np.float32)
        names = [n for n, _ in config.weight_shapes()]
        arrays = [hidden] + [c for pair in zip(ks, vs) for c in pair] + \
            [w[n] for w in weights for n in names]
        args = []
        for i, array in enumerate(arrays):
            path = os.path.join(tmp, f"arg_{i}.npy")
            np.save(path, np.ascontiguousarray(array, np.float32))
            args += ["--arg", path]
        out = os.path.join(tmp, "out")
        subprocess.run([os.path.join(build, "bin", "chunkkv-run"), "--module", compressed,
                        "--entry", "prefill", "--out", out, *args], check=True)
        results = [np.load(os.path.join(out, f"result_{i}.npy"))
                   for i in range(1 + 3 * config.layers)]
    _, ref_k, ref_v, _ = numpy_model.prefill_compressed(
        config, hidden, [config.prompt] * config.batch, ks, vs, weights, POLICY)
    row_bytes = config.kv_heads * config.head_dim * 4 * 2  # K and V, f32
    print(f"{OPTIONS}; {config.layers} layers, B = {config.batch}")
    print("| layer | prompt | kept | K+V bytes before | after | max |diff| vs NumPy |")
    print("|---|---|---|---|---|---|")
    for layer in range(config.layers):
        kept = results[1 + 2 * config.layers + layer]
        diff = max(float(np.abs(results[1 + 2 * layer][b, :, :n] - ref_k[layer][b, :, :n]).max())
                   for b, n in enumerate(kept))
        diff = max(diff, max(float(np.abs(results[2 + 2 * layer][b, :, :n] -
                                          ref_v[layer][b, :, :n]).max())
                             for b, n in enumerate(kept)))
        print(f"| {layer} | {config.prompt} | {kept.tolist()} | "
              f"{config.batch * config.prompt * row_bytes} | {int(kept.sum()) * row_bytes} | "
              f"{diff:.1e} |")


if __name__ == "__main__":
    main()
