"""The model generator: its MLIR modules, run through the CPU pipeline by
`chunkkv-run --module`, agree with the NumPy model on prefill and decode."""

import os
import subprocess
import sys

import numpy as np
import pytest

from chunkkv.models import ModelConfig, module_text, numpy_model
from conftest import ROOT, tool

# Every option value appears in at least two configurations.
CONFIGS = [
    dict(form="tensor", layer_loop=False, layout="bhsd", qk="batch_matmul", softmax="linalg"),
    dict(form="memref", layer_loop=False, layout="bshd", qk="generic", softmax="decomposed"),
    dict(form="tensor", layer_loop=True, layout="bshd", qk="generic", softmax="linalg"),
    dict(form="memref", layer_loop=True, layout="bhsd", qk="batch_matmul", softmax="decomposed"),
    dict(form="tensor", layer_loop=False, layout="bshd", qk="batch_matmul", softmax="decomposed",
         q_heads=2, kv_heads=2, batch=1),
    dict(form="memref", layer_loop=True, layout="bhsd", qk="generic", softmax="linalg",
         layers=3, prompt=9),
]


def run_module(tmp_path, config, entry, arrays, position=None):
    """Runs `entry` with chunkkv-run --module; returns (hidden, k caches, v caches)."""
    args = []
    for i, array in enumerate(arrays):
        path = tmp_path / f"{entry}_{i}.npy"
        np.save(path, np.ascontiguousarray(array, dtype=np.float32))
        args += ["--arg", str(path)]
        if i == 0 and position is not None:
            args += ["--arg", str(position)]
    out = tmp_path / f"out_{entry}"
    result = subprocess.run([tool("chunkkv-run"), "--module", str(tmp_path / "model.mlir"),
                             "--entry", entry, "--out", str(out), *args],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    count = 3 if config.layer_loop else 1 + 2 * config.layers
    results = [np.load(out / f"result_{i}.npy") for i in range(count)]
    if config.layer_loop:
        return results[0], list(results[1]), list(results[2])
    return results[0], results[1::2], results[2::2]


def arguments(config, hidden, ks, vs, weights):
    """Function arguments in the generator's order."""
    names = [n for n, _ in config.weight_shapes()]
    if config.layer_loop:
        return [hidden, np.stack(ks), np.stack(vs)] + [
            np.stack([w[n] for w in weights]) for n in names]
    caches = [c for pair in zip(ks, vs) for c in pair]
    return [hidden] + caches + [w[n] for w in weights for n in names]


@pytest.mark.parametrize("options", CONFIGS, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_module_matches_numpy_model(tmp_path, options):
    config = ModelConfig(**options)
    (tmp_path / "model.mlir").write_text(module_text(config))
    weights = numpy_model.init_weights(config)
    ks, vs = numpy_model.empty_caches(config)
    rng = np.random.default_rng(7)
    hidden = rng.standard_normal((config.batch, config.prompt, config.hidden)).astype(np.float32)

    out, k_after, v_after = run_module(tmp_path, config, "prefill",
                                       arguments(config, hidden, ks, vs, weights))
    ref, ref_k, ref_v = numpy_model.prefill(config, hidden, ks, vs, weights)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    for got, want in zip(k_after + v_after, ref_k + ref_v):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)

    step = rng.standard_normal((config.batch, 1, config.hidden)).astype(np.float32)
    out, _, _ = run_module(tmp_path, config, "decode",
                           arguments(config, step, k_after, v_after, weights),
                           position=config.prompt)
    ref, _, _ = numpy_model.decode(config, step, config.prompt, ref_k, ref_v, weights)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


@pytest.mark.parametrize("options, message", [
    (dict(q_heads=3, kv_heads=2), "q_heads must be a multiple of kv_heads"),
    (dict(head_dim=5), "head_dim must be even"),
    (dict(prompt=65), "prompt must fit the cache capacity"),
    (dict(layout="bsdh"), "layout must be one of"),
    (dict(layers=0), "every size must be >= 1"),
])
def test_config_errors(options, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**options)


def test_cli_writes_a_module(tmp_path):
    out = tmp_path / "m.mlir"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    subprocess.run([sys.executable, "-m", "chunkkv.models", "--layers", "1", "--layer-loop",
                    "--layout", "bshd", "-o", str(out)], check=True, env=env)
    text = out.read_text()
    assert "func.func @prefill" in text and "func.func @decode" in text
    assert "scf.for" in text
    checked = subprocess.run([tool("chunkkv-opt"), str(out)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_numpy_rope_rotates_pairs():
    x = np.zeros((1, 1, 1, 4))
    x[..., 0] = 1.0
    out = numpy_model.rope(x, np.array([1.0]), 10000.0)
    # dims (0, 2) rotate by angle 1 * theta^0 = 1 radian.
    np.testing.assert_allclose(out[0, 0, 0], [np.cos(1.0), 0.0, np.sin(1.0), 0.0], atol=1e-12)


def test_numpy_decode_with_per_sequence_rows_equals_uncompressed():
    """decode_compressed with rows = positions is plain decode."""
    config = ModelConfig(layers=2, batch=2, prompt=8, capacity=16)
    weights = numpy_model.init_weights(config)
    ks, vs = numpy_model.empty_caches(config)
    rng = np.random.default_rng(3)
    hidden = rng.standard_normal((2, 8, config.hidden))
    _, ks, vs = numpy_model.prefill(config, hidden, ks, vs, weights)
    step = rng.standard_normal((2, 1, config.hidden))
    plain, _, _ = numpy_model.decode(config, step, 8, ks, vs, weights)
    rows = np.full((config.layers, 2), 8)
    same, _, _, lengths = numpy_model.decode_compressed(config, step, [8, 8], rows, ks, vs,
                                                        weights)
    np.testing.assert_array_equal(plain, same)
    assert lengths.tolist() == [[9, 9], [9, 9]]


@pytest.mark.parametrize("layout", ["bhsd", "bshd"])
def test_numpy_compressed_model(layout):
    from chunkkv import reference as R

    config = ModelConfig(layers=3, batch=2, prompt=40, capacity=64, layout=layout)
    weights = numpy_model.init_weights(config)
    ks, vs = numpy_model.empty_caches(config)
    rng = np.random.default_rng(4)
    hidden = rng.standard_normal((2, 40, config.hidden))
    prompts = np.array([40, 31])
    # A budget above every prompt keeps everything: decode matches the
    # uncompressed model exactly.
    keep_all = R.Policy(chunk=4, window=8, budget=64, reuse=2)
    out, kc, vc, lengths = numpy_model.prefill_compressed(config, hidden, prompts, ks, vs,
                                                          weights, keep_all)
    np.testing.assert_array_equal(lengths, np.stack([prompts] * 3))
    step = rng.standard_normal((2, 1, config.hidden))
    plain = numpy_model.run(config, step, *numpy_model.run(
        config, hidden, ks, vs, weights, np.arange(40), np.zeros(2, np.int64))[1:3],
        weights, prompts[:, None], prompts)[0]
    compressed, _, _, _ = numpy_model.decode_compressed(config, step, prompts, lengths,
                                                        kc, vc, weights)
    np.testing.assert_array_equal(plain, compressed)
    # A real budget: every layer keeps budget rows; followers reuse their
    # leader's chunks (reuse = 2: layer 1 uses layer 0's selection).
    policy = R.Policy(chunk=4, window=8, budget=20, reuse=2)
    _, kc, vc, lengths = numpy_model.prefill_compressed(config, hidden, prompts, ks, vs,
                                                        weights, policy)
    assert lengths.tolist() == [[20, 20]] * 3
    full_k = numpy_model.prefill(config, hidden, ks, vs, weights)[1]
    bhsd = (lambda a: a) if layout == "bhsd" else (lambda a: a.transpose(0, 2, 1, 3))
    row0 = bhsd(kc[0])[0, 0, :20]
    row1 = bhsd(kc[1])[0, 0, :20]
    # Layer 1's kept rows are layer 1's keys at layer 0's kept positions.
    positions = [np.flatnonzero((bhsd(full_k[0])[0, 0] == r).all(-1))[0] for r in row0]
    np.testing.assert_array_equal(row1, bhsd(full_k[1])[0, 0, positions])
