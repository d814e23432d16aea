"""chunkkv-compress on generated models: the compressed prefill, run on the
CPU through chunkkv-run --module, equals the NumPy model's prefill followed
by ChunkKV on every layer (numpy_model.prefill_compressed) with the same
policy and reuse interval."""

import subprocess

import numpy as np
import pytest

from chunkkv import reference as R
from chunkkv.models import ModelConfig, module_text, numpy_model
from conftest import tool
from test_models import arguments

# (model options, policy, pipeline options)
CASES = [
    (dict(layers=4, batch=2, prompt=16, capacity=64),
     R.Policy("paper", chunk=2, window=4, budget=10, reuse=1),
     "policy=paper chunk-size=2 window=4 budget=10 reuse=1"),
    (dict(layers=4, batch=2, prompt=16, capacity=64, layout="bshd"),
     R.Policy("paper", chunk=3, window=4, keep_ratio=0.5, pool=3, reuse=2),
     "policy=paper chunk-size=3 window=4 keep-ratio=0.5 pool=3 reuse=2"),
    (dict(layers=3, batch=2, prompt=24, capacity=64, qk="generic", softmax="decomposed"),
     R.Policy("kvpress", chunk=4, window=8, compression_ratio=0.5, reuse=2),
     "policy=kvpress chunk-size=4 window=8 compression-ratio=0.5 reuse=2"),
    (dict(layers=2, batch=1, prompt=12, capacity=32, q_heads=2, kv_heads=2),
     R.Policy("paper", chunk=2, window=4, budget=8, aggregate="mean", reuse=1),
     "policy=paper chunk-size=2 window=4 budget=8 aggregate=mean reuse=1"),
]


def assert_valid_rows(config, k, v, ref_k, ref_v, lengths):
    """Layer caches `k`, `v` equal the reference in each sequence's valid
    rows (rows past a length are don't-care)."""
    seq = 2 if config.layout == "bhsd" else 1
    for layer in range(config.layers):
        for got, want in ((k[layer], ref_k[layer]), (v[layer], ref_v[layer])):
            for b, valid in enumerate(lengths[layer]):
                index = [slice(None)] * 4
                index[0], index[seq] = b, slice(0, valid)
                np.testing.assert_allclose(got[tuple(index)], want[tuple(index)],
                                           rtol=1e-4, atol=1e-5)


def compress(tmp_path, config, options):
    (tmp_path / "model.mlir").write_text(module_text(config))
    result = subprocess.run([tool("chunkkv-opt"), str(tmp_path / "model.mlir"),
                             f"-chunkkv-compress={options}",
                             "-o", str(tmp_path / "compressed.mlir")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return (tmp_path / "compressed.mlir").read_text()


def run_prefill(tmp_path, config, arrays):
    """The compressed prefill (compressed.mlir); all its results."""
    return run_entry(tmp_path, tmp_path / "compressed.mlir", "prefill", arrays)


@pytest.mark.parametrize("options, policy, pipeline", CASES,
                         ids=[c[2].replace(" ", ",") for c in CASES])
def test_compressed_prefill_matches_numpy(tmp_path, options, policy, pipeline):
    config = ModelConfig(**options)
    text = compress(tmp_path, config, pipeline)
    selections = text.count("chunkkv.topk_chunks")
    assert selections == len({R.leader(l, policy.reuse) for l in range(config.layers)})
    if policy.reuse > 1:
        assert "chunkkv.leader = 0" in text

    weights = numpy_model.init_weights(config)
    ks, vs = numpy_model.empty_caches(config)
    rng = np.random.default_rng(11)
    hidden = rng.standard_normal((config.batch, config.prompt, config.hidden)).astype(np.float32)
    results = run_prefill(tmp_path, config, arguments(config, hidden, ks, vs, weights))
    out, caches, lengths = results[0], results[1:1 + 2 * config.layers], \
        results[1 + 2 * config.layers:]

    ref, ref_k, ref_v, ref_lengths = numpy_model.prefill_compressed(
        config, hidden, [config.prompt] * config.batch, ks, vs, weights, policy)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    np.testing.assert_array_equal(np.stack(lengths), ref_lengths)
    assert_valid_rows(config, caches[0::2], caches[1::2], ref_k, ref_v, ref_lengths)


def test_budget_above_the_prompt_keeps_caches_bit_for_bit(tmp_path):
    config = ModelConfig(layers=2, batch=2, prompt=16, capacity=64)
    compress(tmp_path, config, "policy=paper chunk-size=2 window=4 budget=64")
    weights = numpy_model.init_weights(config)
    ks, vs = numpy_model.empty_caches(config)
    hidden = np.random.default_rng(3).standard_normal(
        (config.batch, config.prompt, config.hidden)).astype(np.float32)
    arrays = arguments(config, hidden, ks, vs, weights)
    compressed = run_prefill(tmp_path, config, arrays)
    (tmp_path / "plain.mlir").write_text(module_text(config))
    plain = run_entry(tmp_path, tmp_path / "plain.mlir", "prefill", arrays)
    for i in range(1 + 2 * config.layers):
        np.testing.assert_array_equal(compressed[i], plain[i])
    lengths = compressed[1 + 2 * config.layers:]
    for layer_lengths in lengths:
        np.testing.assert_array_equal(layer_lengths, [config.prompt] * config.batch)

    # Decode on the kept-whole caches: bit for bit the uncompressed decode.
    caches = compressed[1:1 + 2 * config.layers]
    plain_caches = plain[1:]
    rng = np.random.default_rng(4)
    for step_index in range(2):
        position = config.prompt + step_index
        step = rng.standard_normal((config.batch, 1, config.hidden)).astype(np.float32)
        out, caches, lengths = run_decode(tmp_path, config, step, position, caches, weights,
                                          lengths)
        plain = run_entry(tmp_path, tmp_path / "plain.mlir", "decode",
                          decode_arguments(config, step, plain_caches, weights), position)
        plain_out, plain_caches = plain[0], plain[1:]
        np.testing.assert_array_equal(out, plain_out)
        for got, want in zip(caches, plain_caches):
            np.testing.assert_array_equal(got, want)


def decode_only(tmp_path):
    """compressed.mlir without @prefill (decode.mlir): each decode step
    compiles half the module."""
    result = subprocess.run([tool("chunkkv-opt"), str(tmp_path / "compressed.mlir"),
                             "-symbol-privatize=exclude=decode", "-symbol-dce",
                             "-o", str(tmp_path / "decode.mlir")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def decode_arguments(config, step, caches, weights):
    """Decode arguments before the position-dependent ones: the new token,
    the caches and the weights (unrolled layers)."""
    names = [n for n, _ in config.weight_shapes()]
    return [step] + list(caches) + [w[n] for w in weights for n in names]


def run_decode(tmp_path, config, step, position, caches, weights, lengths):
    """One decode step of the compressed module; (hidden, caches, lengths)."""
    decode_only(tmp_path)
    arrays = decode_arguments(config, step, caches, weights) + [
        np.asarray(layer_lengths, np.int64) for layer_lengths in lengths]
    results = run_entry(tmp_path, tmp_path / "decode.mlir", "decode", arrays, position)
    return results[0], results[1:1 + 2 * config.layers], results[1 + 2 * config.layers:]


# (case, decode steps): 16 steps for paper with reuse 1 and for kvpress with
# reuse 2, on two-layer models; a shorter run for the bshd, pooled, reuse-2
# paper case. Each step is one JIT compilation of the decode function.
DECODE_CASES = [
    ((dict(layers=2, batch=2, prompt=16, capacity=40),
      R.Policy("paper", chunk=2, window=4, budget=10, reuse=1),
      "policy=paper chunk-size=2 window=4 budget=10 reuse=1"), 16),
    ((dict(layers=2, batch=2, prompt=24, capacity=48, qk="generic", softmax="decomposed"),
      R.Policy("kvpress", chunk=4, window=8, compression_ratio=0.5, reuse=2),
      "policy=kvpress chunk-size=4 window=8 compression-ratio=0.5 reuse=2"), 16),
    (CASES[1], 4),
]


@pytest.mark.parametrize("case, steps", DECODE_CASES,
                         ids=[f"{c[2].replace(' ', ',')}-{n}steps" for c, n in DECODE_CASES])
def test_decode_steps_match_numpy(tmp_path, case, steps):
    """Prefill with compression, then decode steps on the compressed caches:
    each token written at its layer's length, RoPE at its true position,
    outputs equal to numpy_model.decode_compressed."""
    options, policy, pipeline = case
    config = ModelConfig(**options)
    compress(tmp_path, config, pipeline)
    weights = numpy_model.init_weights(config)
    ks, vs = numpy_model.empty_caches(config)
    rng = np.random.default_rng(5)
    hidden = rng.standard_normal((config.batch, config.prompt, config.hidden)).astype(np.float32)
    results = run_prefill(tmp_path, config, arguments(config, hidden, ks, vs, weights))
    caches, lengths = results[1:1 + 2 * config.layers], results[1 + 2 * config.layers:]
    _, ref_k, ref_v, ref_lengths = numpy_model.prefill_compressed(
        config, hidden, [config.prompt] * config.batch, ks, vs, weights, policy)
    for step_index in range(steps):
        position = config.prompt + step_index
        step = rng.standard_normal((config.batch, 1, config.hidden)).astype(np.float32)
        out, caches, lengths = run_decode(tmp_path, config, step, position, caches, weights,
                                          lengths)
        ref, ref_k, ref_v, ref_lengths = numpy_model.decode_compressed(
            config, step, [position] * config.batch, ref_lengths, ref_k, ref_v, weights)
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max(),
                                   err_msg=f"decode step {step_index}")
        np.testing.assert_array_equal(np.stack(lengths), ref_lengths)
        assert_valid_rows(config, caches[0::2], caches[1::2], ref_k, ref_v, ref_lengths)


LOOP_CASES = [
    (dict(layers=3, batch=2, prompt=16, capacity=40, layer_loop=True),
     R.Policy("paper", chunk=2, window=4, budget=10, reuse=2),
     "policy=paper chunk-size=2 window=4 budget=10 reuse=2"),
    (dict(layers=2, batch=2, prompt=24, capacity=40, layer_loop=True, layout="bshd",
          qk="generic"),
     R.Policy("kvpress", chunk=4, window=8, compression_ratio=0.5, reuse=1),
     "policy=kvpress chunk-size=4 window=8 compression-ratio=0.5 reuse=1"),
]


def run_entry(tmp_path, module, entry, arrays, position=None):
    """Runs `entry` of `module` (float32 arrays, int64 ones kept) and returns
    all its results."""
    args = []
    for i, array in enumerate(arrays):
        path = tmp_path / f"{module.stem}_{entry}_arg_{i}.npy"
        array = np.asarray(array)
        np.save(path, array if array.dtype == np.int64 else array.astype(np.float32))
        args += ["--arg", str(path)]
        if i == 0 and position is not None:
            args += ["--arg", str(position)]
    out = tmp_path / f"{module.stem}_{entry}_out"
    result = subprocess.run([tool("chunkkv-run"), "--module", str(module), "--entry", entry,
                             "--out", str(out), *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    results, i = [], 0
    while (out / f"result_{i}.npy").exists():
        results.append(np.load(out / f"result_{i}.npy"))
        i += 1
    return results


@pytest.mark.parametrize("options, policy, pipeline", LOOP_CASES,
                         ids=[c[2].replace(" ", ",") for c in LOOP_CASES])
def test_layer_loop_prefill_and_decode_match_numpy(tmp_path, options, policy, pipeline):
    """A layer-loop model: compaction inside the loop, the selection carried
    across iterations with reuse, the lengths of all layers in one
    tensor<LxBxi64>; prefill and 4 decode steps against the NumPy model."""
    config = ModelConfig(**options)
    text = compress(tmp_path, config, pipeline)
    assert text.count("chunkkv.topk_chunks") == 1
    if policy.reuse > 1:
        assert "scf.if" in text
    decode_only(tmp_path)
    weights = numpy_model.init_weights(config)
    ks, vs = numpy_model.empty_caches(config)
    rng = np.random.default_rng(8)
    hidden = rng.standard_normal((config.batch, config.prompt, config.hidden)).astype(np.float32)
    out, k_stack, v_stack, lengths = run_entry(
        tmp_path, tmp_path / "compressed.mlir", "prefill",
        arguments(config, hidden, ks, vs, weights))
    ref, ref_k, ref_v, ref_lengths = numpy_model.prefill_compressed(
        config, hidden, [config.prompt] * config.batch, ks, vs, weights, policy)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    np.testing.assert_array_equal(lengths, ref_lengths)
    assert_valid_rows(config, k_stack, v_stack, ref_k, ref_v, ref_lengths)
    for step_index in range(4):
        position = config.prompt + step_index
        step = rng.standard_normal((config.batch, 1, config.hidden)).astype(np.float32)
        arrays = arguments(config, step, list(k_stack), list(v_stack), weights) + [lengths]
        out, k_stack, v_stack, lengths = run_entry(tmp_path, tmp_path / "decode.mlir",
                                                   "decode", arrays, position)
        ref, ref_k, ref_v, ref_lengths = numpy_model.decode_compressed(
            config, step, [position] * config.batch, ref_lengths, ref_k, ref_v, weights)
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max(),
                                   err_msg=f"decode step {step_index}")
        np.testing.assert_array_equal(lengths, ref_lengths)
        assert_valid_rows(config, k_stack, v_stack, ref_k, ref_v, ref_lengths)


RAGGED_CASES = [
    (dict(layers=2, batch=2, prompt=16, capacity=40),
     R.Policy("paper", chunk=2, window=4, budget=10, reuse=2),
     "policy=paper chunk-size=2 window=4 budget=10 reuse=2 prompt-lengths=true", [16, 11]),
    (dict(layers=2, batch=3, prompt=24, capacity=40, layer_loop=True, layout="bshd"),
     R.Policy("kvpress", chunk=4, window=8, compression_ratio=0.5, reuse=1),
     "policy=kvpress chunk-size=4 window=8 compression-ratio=0.5 reuse=1 prompt-lengths=true",
     [24, 13, 19]),
]


@pytest.mark.parametrize("options, policy, pipeline, prompts", RAGGED_CASES,
                         ids=[c[2].split(" prompt")[0].replace(" ", ",") for c in RAGGED_CASES])
def test_right_padded_prompts_match_numpy(tmp_path, options, policy, pipeline, prompts):
    """Prompts of different lengths in one batch (right-padded to T): the
    window queries are each prompt's last w, the lengths each prompt's, and
    16 decode steps apply RoPE at each sequence's true position. With the
    16-step cases above, every policy x reuse pair decodes 16 steps."""
    config = ModelConfig(**options)
    compress(tmp_path, config, pipeline)
    decode_only(tmp_path)
    weights = numpy_model.init_weights(config)
    ks, vs = numpy_model.empty_caches(config)
    rng = np.random.default_rng(9)
    hidden = rng.standard_normal((config.batch, config.prompt, config.hidden)).astype(np.float32)
    prompts = np.asarray(prompts, np.int64)

    def split(results):
        if config.layer_loop:
            return results[0], list(results[1]), list(results[2]), results[3]
        n = config.layers
        return (results[0], results[1:1 + 2 * n:2], results[2:2 + 2 * n:2],
                np.stack(results[1 + 2 * n:]))

    out, k, v, lengths = split(run_entry(tmp_path, tmp_path / "compressed.mlir", "prefill",
                                         arguments(config, hidden, ks, vs, weights) + [prompts]))
    _, ref_k, ref_v, ref_lengths = numpy_model.prefill_compressed(
        config, hidden, prompts, ks, vs, weights, policy)
    np.testing.assert_array_equal(lengths, ref_lengths)
    assert_valid_rows(config, k, v, ref_k, ref_v, ref_lengths)
    for step_index in range(16):
        positions = prompts + step_index
        step = rng.standard_normal((config.batch, 1, config.hidden)).astype(np.float32)
        layer_lengths = [lengths] if config.layer_loop else list(lengths)
        arrays = arguments(config, step, k, v, weights) + layer_lengths + [positions]
        out, k, v, lengths = split(run_entry(tmp_path, tmp_path / "decode.mlir", "decode",
                                             arrays, position=0))
        ref, ref_k, ref_v, ref_lengths = numpy_model.decode_compressed(
            config, step, positions, ref_lengths, ref_k, ref_v, weights)
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max(),
                                   err_msg=f"decode step {step_index}")
        np.testing.assert_array_equal(lengths, ref_lengths)
        assert_valid_rows(config, k, v, ref_k, ref_v, ref_lengths)
