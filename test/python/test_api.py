"""The Python API: chunkkv.compile and chunkkv.compress, and their errors."""

import json
import os

import numpy as np
import pytest

import chunkkv
from chunkkv import reference as R
from conftest import GOLDEN_DIR, ROOT

CASES = json.load(open(os.path.join(GOLDEN_DIR, "cases.json")))


def golden(name):
    folder = os.path.join(GOLDEN_DIR, name)
    expected = json.load(open(os.path.join(folder, "expected.json")))
    return [np.load(os.path.join(folder, f"{n}.npy")) for n in "qkv"], expected


@pytest.mark.parametrize("name", CASES)
def test_compress_golden(name):
    (q, k, v), expected = golden(name)
    params = expected["params"]
    out = chunkkv.compress(q, k, v, np.array(params["lengths"]), policy=params)
    for b, positions in enumerate(expected["kept_positions"]):
        np.testing.assert_array_equal(out.kept_positions[b], positions)
        n = len(positions)
        np.testing.assert_array_equal(out.keys[b, :, :n], k[b][:, positions])
        np.testing.assert_array_equal(out.values[b, :, :n], v[b][:, positions])
    np.testing.assert_array_equal(out.lengths, expected["kept_lengths"])
    for b, scores in enumerate(expected["chunk_scores"]):
        np.testing.assert_allclose(out.scores[b, : len(scores)], scores, rtol=1e-4)


def test_compress_policy_forms_agree():
    (q, k, v), expected = golden("paper_basic")
    lengths = np.array(expected["params"]["lengths"])
    as_object = chunkkv.compress(q, k, v, lengths, policy=R.Policy(chunk=10, window=8, budget=40))
    as_keywords = chunkkv.compress(q, k, v, lengths, policy="paper", chunk=10, window=8,
                                   budget=40)
    np.testing.assert_array_equal(as_object.chunk_ids, as_keywords.chunk_ids)


def test_compress_bshd_f16_matches_reference():
    rng = np.random.default_rng(5)
    q = rng.standard_normal((2, 4, 8, 16)).astype(np.float16)
    k = rng.standard_normal((2, 2, 100, 16)).astype(np.float16)
    v = rng.standard_normal((2, 2, 100, 16)).astype(np.float16)
    policy = R.Policy(chunk=5, window=8, budget=38)
    out = chunkkv.compress(q, k.transpose(0, 2, 1, 3), v.transpose(0, 2, 1, 3), [100, 60],
                           policy=policy, layout="bshd")
    ref = R.chunk_scores(q.astype(np.float64), k.astype(np.float64), [100, 60], policy)
    finite = np.isfinite(ref)
    np.testing.assert_allclose(out.scores[finite], ref[finite], rtol=1e-2)
    assert out.keys.dtype == np.float16 and out.keys.shape == (2, 100, 2, 16)


def test_compress_bfloat16():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    (q, k, v), expected = golden("paper_basic")
    params = expected["params"]
    bf = [a.astype(ml_dtypes.bfloat16) for a in (q, k, v)]
    out = chunkkv.compress(*bf, np.array(params["lengths"]), policy=params)
    assert out.keys.dtype == ml_dtypes.bfloat16
    ref = R.chunk_scores(*(a.astype(np.float64) for a in bf[:2]), params["lengths"],
                         R.Policy.from_params(params))
    finite = np.isfinite(ref)
    np.testing.assert_allclose(out.scores[finite], ref[finite], rtol=1e-2)


def test_compress_torch_cpu_tensors():
    torch = pytest.importorskip("torch")
    (q, k, v), expected = golden("kvpress_basic")
    params = expected["params"]
    out = chunkkv.compress(torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v),
                           policy=params)
    assert isinstance(out.keys, torch.Tensor)
    np.testing.assert_array_equal(out.kept_positions[0], expected["kept_positions"][0])


@pytest.mark.parametrize("kwargs, message", [
    (dict(device="cuda"), "q must be a PyTorch CUDA tensor"),
    (dict(device="tpu"), "device must be 'cpu' or 'cuda'"),
    (dict(layout="sbhd"), "layout must be 'bhsd' or 'bshd'"),
    (dict(lengths=np.array([1, 2])), "lengths must have shape [1]"),
    (dict(lengths=np.array([400])), "length 400 of sequence 0 is outside [0, S = 333]"),
    (dict(policy="paper", budget=64), "q holds 64 window queries, the policy's window is 32"),
])
def test_compress_errors(kwargs, message):
    (q, k, v), expected = golden("kvpress_basic")
    kwargs.setdefault("policy", expected["params"])
    with pytest.raises(chunkkv.ChunkKVError) as error:
        chunkkv.compress(q, k, v, **kwargs)
    assert message in str(error.value)


def test_compress_shape_and_type_errors():
    (q, k, v), expected = golden("kvpress_basic")
    policy = expected["params"]
    with pytest.raises(chunkkv.ChunkKVError, match="must share a dtype"):
        chunkkv.compress(q, k.astype(np.float16), v, policy=policy)
    with pytest.raises(chunkkv.ChunkKVError, match="unsupported dtype float64"):
        chunkkv.compress(*(a.astype(np.float64) for a in (q, k, v)), policy=policy)
    with pytest.raises(chunkkv.ChunkKVError, match="expected q"):
        chunkkv.compress(q[0], k, v, policy=policy)
    with pytest.raises(ValueError, match="budget \\(8\\) must be >= window"):
        chunkkv.compress(q, k, v, policy="paper", window=64, budget=8)
    with pytest.raises(TypeError, match="policy must be"):
        chunkkv.compress(q, k, v, policy=3)


def test_compile_runs_passes():
    text = open(os.path.join(ROOT, "examples", "select_and_compact.mlir")).read()
    assert "chunkkv.chunk_score" in chunkkv.compile(text)
    lowered = chunkkv.compile(text, "builtin.module(chunkkv-lower-to-loops)")
    assert "chunkkv.chunk_score" not in lowered and "scf.for" in lowered
    tiny = open(os.path.join(ROOT, "examples", "tiny_llama.mlir")).read()
    detected = chunkkv.compile(tiny, "builtin.module(chunkkv-detect-kv-cache)")
    assert detected.count("#chunkkv.kv<k_write") == 4


def test_compile_errors():
    with pytest.raises(chunkkv.ChunkKVError, match="does not parse or verify"):
        chunkkv.compile("func.func @f(")
    with pytest.raises(chunkkv.ChunkKVError, match="window must be > 0"):
        chunkkv.compile("func.func private @f() attributes "
                        "{p = #chunkkv.policy<paper, window = 0, budget = 4>}")
    with pytest.raises(chunkkv.ChunkKVError, match="bad pass pipeline"):
        chunkkv.compile("func.func @f() { return }", "builtin.module(no-such-pass)")
    with pytest.raises(chunkkv.ChunkKVError, match="the pipeline failed"):
        chunkkv.compile("func.func @f() { return }",
                        "builtin.module(chunkkv-lower-to-loops{vector-width=0})")
    with pytest.raises(TypeError):
        chunkkv.compile(b"func.func @f() { return }")


def test_compile_rejects_deep_nesting():
    deep = "func.func private @f() attributes {a = " + "[" * 5000 + "]" * 5000 + "}"
    with pytest.raises(chunkkv.ChunkKVError, match="brackets nest deeper than 1000 levels"):
        chunkkv.compile(deep)


def test_compile_survives_an_upstream_parser_crash():
    crashing = ("func.func @f(%a: tensor<2x3xf32>, %e: tensor<3x2xf32>) {\n"
                "  %t = linalg.transpose ins(%a : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>)"
                " permutation = [in5: f32, %out6: f32):\n  return\n}\n")
    with pytest.raises(chunkkv.ChunkKVError, match="MLIR's parser crashed"):
        chunkkv.compile(crashing)
    # The context is still usable afterwards.
    assert "func.func @g" in chunkkv.compile("func.func @g() { return }")
