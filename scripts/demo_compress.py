"""Part of scripts/demo.sh: compresses the bundled tiny Llama
(examples/tiny_llama.mlir) with chunkkv-compress, runs prefill and a few
decode steps of the compressed and of the uncompressed module on the CPU
(chunkkv-run --module), and prints per layer the prompt length, the kept
length, the cache bytes before and after, and the largest difference of the
decode outputs against the uncompressed run.

  python3 scripts/demo_compress.py BUILD_DIR
"""

import os
import subprocess
import sys
import tempfile

import numpy as np

from chunkkv.models import ModelConfig, numpy_model

MODEL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "examples", "tiny_llama.mlir")
OPTIONS = "policy=paper chunk-size=2 window=4 budget=8 reuse=2"
DECODE_STEPS = 4


class Runner:
    def __init__(self, build, tmp):
        self.run_tool = os.path.join(build, "bin", "chunkkv-run")
        self.tmp = tmp
        self.calls = 0

    def __call__(self, module, entry, arrays, position=None):
        """Runs `entry` of `module` on `arrays` (float32, or int64 lengths)."""
        self.calls += 1
        args = []
        for i, array in enumerate(arrays):
            path = os.path.join(self.tmp, f"arg_{self.calls}_{i}.npy")
            array = np.asarray(array)
            np.save(path, array if array.dtype == np.int64 else array.astype(np.float32))
            args += ["--arg", path]
            if i == 0 and position is not None:
                args += ["--arg", str(position)]
        out = os.path.join(self.tmp, f"out_{self.calls}")
        subprocess.run([self.run_tool, "--module", module, "--entry", entry, "--out", out,
                        *args], check=True)
        results, i = [], 0
        while os.path.exists(os.path.join(out, f"result_{i}.npy")):
            results.append(np.load(os.path.join(out, f"result_{i}.npy")))
            i += 1
        return results


def main():
    build = sys.argv[1]
    config = ModelConfig()  # the configuration of examples/tiny_llama.mlir
    layers = config.layers
    weights = numpy_model.init_weights(config)
    names = [n for n, _ in config.weight_shapes()]
    flat_weights = [w[n] for w in weights for n in names]
    ks, vs = numpy_model.empty_caches(config)
    rng = np.random.default_rng(0)
    hidden = rng.standard_normal((config.batch, config.prompt, config.hidden))
    steps = [rng.standard_normal((config.batch, 1, config.hidden)) for _ in range(DECODE_STEPS)]

    with tempfile.TemporaryDirectory() as tmp:
        compressed = os.path.join(tmp, "compressed.mlir")
        subprocess.run([os.path.join(build, "bin", "chunkkv-opt"), MODEL,
                        f"-chunkkv-compress={OPTIONS}", "-o", compressed], check=True)
        run = Runner(build, tmp)
        caches = [c for pair in zip(ks, vs) for c in pair]
        plain = run(MODEL, "prefill", [hidden] + caches + flat_weights)
        small = run(compressed, "prefill", [hidden] + caches + flat_weights)
        plain_caches = plain[1:1 + 2 * layers]
        small_caches, lengths = small[1:1 + 2 * layers], small[1 + 2 * layers:]
        kept = [l.copy() for l in lengths]
        largest = 0.0
        for index, step in enumerate(steps):
            position = config.prompt + index
            plain = run(MODEL, "decode", [step] + plain_caches + flat_weights, position)
            small = run(compressed, "decode", [step] + small_caches + flat_weights + lengths,
                        position)
            plain_caches = plain[1:1 + 2 * layers]
            small_caches, lengths = small[1:1 + 2 * layers], small[1 + 2 * layers:]
            largest = max(largest, float(np.abs(small[0] - plain[0]).max()))

    row_bytes = config.kv_heads * config.head_dim * 4 * 2  # K and V rows, f32
    before = config.batch * config.prompt * row_bytes
    print(f"examples/tiny_llama.mlir, chunkkv-compress=\"{OPTIONS}\"; "
          f"B = {config.batch}, prompt {config.prompt} tokens")
    print("| layer | prompt | kept per sequence | K+V bytes before | after |")
    print("|---|---|---|---|---|")
    for layer in range(layers):
        print(f"| {layer} | {config.prompt} | {kept[layer].tolist()} | {before} | "
              f"{int(kept[layer].sum()) * row_bytes} |")
    print(f"{DECODE_STEPS} decode steps on the compressed caches: largest difference of "
          f"the outputs from the uncompressed run {largest:.3g} (kept {int(kept[0][0])} of "
          f"{config.prompt} tokens)")


if __name__ == "__main__":
    main()
