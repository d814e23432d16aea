"""chunkkv-run against the golden cases, the NumPy reference on random
cases, and bad input."""

import json
import os
import subprocess

import numpy as np
import pytest

from chunkkv import reference as R
from conftest import GOLDEN_DIR, tool

CASES = json.load(open(os.path.join(GOLDEN_DIR, "cases.json")))
POLICY_FLAGS = ("chunk", "window", "pool", "aggregate", "budget", "keep_ratio",
                "compression_ratio")


def run_tool(tmp_path, q, k, v, lengths, policy_args, extra=(), k_bytes=None):
    """Runs chunkkv-run; `k_bytes` replaces k with a raw .npy file image."""
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for name, array in (("q", q), ("k", k), ("v", v)):
        if array is not None:
            np.save(folder / f"{name}.npy", array)
    if k_bytes is not None:
        (folder / "k.npy").write_bytes(k_bytes)
    args = [tool("chunkkv-run"), "--q", str(folder / "q.npy"), "--k",
            str(folder / "k.npy"), "--v", str(folder / "v.npy"), "--out",
            str(tmp_path / "out"), "--emit-scores", *policy_args, *extra]
    if lengths is not None:
        np.save(folder / "lengths.npy", np.asarray(lengths))
        args += ["--lengths", str(folder / "lengths.npy")]
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    return {name: np.load(out / f"{name}.npy") for name in
            ("kept_positions", "lengths", "k_compacted", "v_compacted",
             "chunk_scores", "chunk_ids")}


def flags_of(policy: R.Policy):
    args = ["--policy", policy.policy]
    for name in POLICY_FLAGS:
        value = getattr(policy, name)
        if value is not None:
            args += [f"--{name}", str(value)]
    return args


@pytest.mark.parametrize("name", CASES)
def test_golden(tmp_path, name):
    folder = os.path.join(GOLDEN_DIR, name)
    expected = json.load(open(os.path.join(folder, "expected.json")))
    params = expected["params"]
    q, k, v = (np.load(os.path.join(folder, f"{n}.npy")) for n in "qkv")
    policy = R.Policy.from_params(params)
    out = run_tool(tmp_path, q, k, v, np.array(params["lengths"], dtype=np.int64),
                   flags_of(policy))
    for b, positions in enumerate(expected["kept_positions"]):
        row = out["kept_positions"][b]
        np.testing.assert_array_equal(row[row >= 0], positions)
        n = len(positions)
        np.testing.assert_array_equal(out["k_compacted"][b, :, :n], k[b][:, positions])
        np.testing.assert_array_equal(out["v_compacted"][b, :, :n], v[b][:, positions])
    np.testing.assert_array_equal(out["lengths"], expected["kept_lengths"])
    for b, scores in enumerate(expected["chunk_scores"]):
        np.testing.assert_allclose(out["chunk_scores"][b, : len(scores)], scores, rtol=1e-4)


def random_case(seed):
    """A random problem: shapes, lengths, policy, layout and dtype."""
    rng = np.random.default_rng(seed)
    kind = "kvpress" if rng.random() < 0.4 else "paper"
    batch = int(rng.integers(1, 4))
    kv_heads = int(rng.choice([1, 2, 4]))
    q_heads = kv_heads * int(rng.choice([1, 2, 4]))
    dim = int(rng.choice([4, 8, 12, 16, 20, 32, 64]))
    chunk = int(rng.integers(1, 17))
    window = int(rng.integers(1, 25))
    capacity = int(rng.integers(window + max(chunk, 2), 300))
    pool = int(rng.choice([1, 3, 5]))
    if kind == "kvpress":
        policy = R.Policy("kvpress", chunk=chunk, window=window, pool=pool,
                          compression_ratio=float(rng.choice([0.0, 0.25, 0.5, 0.75, 0.9])))
    elif rng.random() < 0.5:
        policy = R.Policy(chunk=chunk, window=window, pool=pool,
                          aggregate=str(rng.choice(["sum", "mean"])),
                          budget=int(rng.integers(window, capacity + 20)))
    else:
        policy = R.Policy(chunk=chunk, window=window, pool=pool,
                          aggregate=str(rng.choice(["sum", "mean"])),
                          keep_ratio=float(rng.choice([0.05, 0.1, 0.3, 0.5, 1.0])))
    lengths = rng.integers(1, capacity + 1, size=batch)
    lengths[0] = capacity
    dtype = np.float16 if rng.random() < 0.3 else np.float32
    layout = "bshd" if rng.random() < 0.5 else "bhsd"
    scale = 1.5 if rng.random() < 0.5 else 0.5  # sharpens or flattens attention
    q = (rng.standard_normal((batch, q_heads, window, dim)) * scale).astype(dtype)
    k = rng.standard_normal((batch, kv_heads, capacity, dim)).astype(dtype)
    v = rng.standard_normal((batch, kv_heads, capacity, dim)).astype(dtype)
    return policy, q, k, v, lengths.astype(np.int64), layout


def assert_valid_topk(scores, chosen, count, rtol):
    """`chosen` holds `count` chunks, none scoring below an unchosen one
    (within the tolerance)."""
    assert len(chosen) == count
    unchosen = np.setdiff1d(np.arange(scores.shape[0]), chosen)
    if len(chosen) and len(unchosen):
        lowest = scores[chosen].min()
        highest = scores[unchosen].max()
        assert lowest >= highest - rtol * abs(highest), (lowest, highest)


@pytest.mark.parametrize("seed", range(200))
def test_random_against_reference(tmp_path, seed):
    policy, q, k, v, lengths, layout = random_case(seed)
    to_layout = (lambda a: a.transpose(0, 2, 1, 3)) if layout == "bshd" else (lambda a: a)
    out = run_tool(tmp_path, q, to_layout(k), to_layout(v), lengths,
                   flags_of(policy), ["--layout", layout])
    rtol = 1e-2 if q.dtype == np.float16 else 1e-4
    ref = R.chunk_scores(q.astype(np.float64), k.astype(np.float64), lengths, policy)
    got = out["chunk_scores"]
    assert got.shape == ref.shape
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(np.isfinite(got), finite)
    np.testing.assert_allclose(got[finite], ref[finite], rtol=rtol, atol=1e-7)

    k_out = to_layout(out["k_compacted"])
    v_out = to_layout(out["v_compacted"])
    for b, length in enumerate(lengths):
        length = int(length)
        row = out["kept_positions"][b]
        positions = row[row >= 0]
        if policy.keeps_whole(length):
            np.testing.assert_array_equal(positions, np.arange(length))
        else:
            n = policy.num_chunks(length)
            chosen = out["chunk_ids"][b]
            chosen = chosen[chosen >= 0]
            assert np.all(np.diff(chosen) > 0)
            assert_valid_topk(ref[b, :n], chosen, policy.num_selected(length), rtol)
            np.testing.assert_array_equal(
                positions, R.kept_positions(out["chunk_ids"][b:b + 1], [length], policy)[0])
        assert out["lengths"][b] == len(positions)
        np.testing.assert_array_equal(k_out[b, :, : len(positions)], k[b][:, positions])
        np.testing.assert_array_equal(v_out[b, :, : len(positions)], v[b][:, positions])


def run_expecting_error(tmp_path, files, extra=()):
    """Runs chunkkv-run on raw files; returns stderr after checking that it
    failed with status 1 and wrote nothing."""
    paths = {}
    for name, content in files.items():
        path = tmp_path / f"{name}.npy"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            np.save(path, content)
        paths[name] = str(path)
    out = tmp_path / "out"
    args = [tool("chunkkv-run"), "--q", paths["q"], "--k", paths["k"], "--v",
            paths["v"], "--out", str(out), *extra]
    if "lengths" in paths:
        args += ["--lengths", paths["lengths"]]
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert not out.exists() or not any(out.iterdir())
    return result.stderr


def good_inputs(dtype=np.float32):
    rng = np.random.default_rng(7)
    return {"q": rng.standard_normal((1, 2, 32, 8)).astype(dtype),
            "k": rng.standard_normal((1, 1, 64, 8)).astype(dtype),
            "v": rng.standard_normal((1, 1, 64, 8)).astype(dtype)}


def test_error_bad_magic(tmp_path):
    files = good_inputs()
    files["k"] = b"not an npy file"
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "k.npy: not a .npy file (bad magic)" in err


def test_error_truncated_header(tmp_path):
    files = good_inputs()
    files["q"] = b"\x93NUMPY\x01\x00\xff\x00{'descr'"
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "q.npy: truncated header" in err


def test_error_data_size(tmp_path):
    files = good_inputs()
    import io
    buffer = io.BytesIO()
    np.save(buffer, files["v"])
    files["v"] = buffer.getvalue()[:-4]
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "v.npy: data has" in err and "the shape needs" in err


def test_error_wrong_rank(tmp_path):
    files = good_inputs()
    files["k"] = files["k"][0]
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "k.npy: expected rank 4, got shape [1, 64, 8]" in err


def test_error_mismatched_shapes(tmp_path):
    files = good_inputs()
    files["v"] = files["v"][:, :, :32]
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "v.npy: expected the shape of" in err


def test_error_unsupported_dtype(tmp_path):
    files = good_inputs(np.float64)
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "q.npy: unsupported dtype '<f8'" in err


def test_error_window_mismatch(tmp_path):
    err = run_expecting_error(tmp_path, good_inputs(), ["--budget", "40", "--window", "16"])
    assert "holds 32 window queries, the policy's window is 16" in err


def test_error_lengths_out_of_range(tmp_path):
    files = good_inputs()
    files["lengths"] = np.array([65], dtype=np.int64)
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "length 65 of sequence 0 is outside [0, S = 64]" in err


def test_error_invalid_policy(tmp_path):
    err = run_expecting_error(tmp_path, good_inputs(), ["--budget", "8"])
    assert "policy: budget (8) must be >= window (32)" in err


def test_error_fortran_order(tmp_path):
    files = good_inputs()
    files["k"] = np.asfortranarray(files["k"][0, 0])[None, None]
    import io
    buffer = io.BytesIO()
    np.save(buffer, np.asfortranarray(np.zeros((1, 1, 64, 8), dtype=np.float32)))
    files["k"] = buffer.getvalue()
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "Fortran-order arrays are not supported" in err


def test_bf16_needs_the_flag(tmp_path):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    files = {n: a.astype(ml_dtypes.bfloat16) for n, a in good_inputs().items()}
    err = run_expecting_error(tmp_path, dict(files), ["--budget", "40"])
    assert "is ambiguous" in err and "--dtype=bf16" in err
    out = run_tool(tmp_path, files["q"], files["k"], files["v"], None,
                   ["--budget", "40"], ["--dtype", "bf16"])
    ref = R.select(files["q"].astype(np.float32), files["k"].astype(np.float32), None,
                   R.Policy(budget=40))
    np.testing.assert_allclose(out["chunk_scores"], ref.scores, rtol=1e-2)


def test_json_summary_and_quiet_when_piped(tmp_path):
    folder = os.path.join(GOLDEN_DIR, "kvpress_basic")
    result = subprocess.run(
        [tool("chunkkv-run"), "--q", f"{folder}/q.npy", "--k", f"{folder}/k.npy", "--v",
         f"{folder}/v.npy", "--out", str(tmp_path), "--policy", "kvpress",
         "--compression-ratio", "0.75", "--json", "--repeat", "2"],
        capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stderr == ""  # no progress when stderr is not a terminal
    summary = json.loads(result.stdout)
    assert summary["kept_lengths"] == [73] and summary["lengths"] == [333]
    assert summary["kernel_runs"] == 2 and summary["kernel_seconds_median"] > 0
    kept = summary["outputs"]["kept_positions"]
    assert kept["shape"] == [1, 73] and kept["dtype"] == "i64"
    assert os.path.exists(kept["path"])


def test_module_mode_json(tmp_path):
    module = tmp_path / "add.mlir"
    module.write_text("func.func @add(%a: tensor<3xf32>, %n: index) -> tensor<3xf32> {\n"
                      "  %0 = arith.addf %a, %a : tensor<3xf32>\n"
                      "  return %0 : tensor<3xf32>\n}\n")
    np.save(tmp_path / "a.npy", np.array([1.0, 2.0, 3.0], np.float32))
    result = subprocess.run([tool("chunkkv-run"), "--module", str(module), "--entry", "add",
                             "--arg", str(tmp_path / "a.npy"), "--arg", "7",
                             "--out", str(tmp_path / "out"), "--json"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["entry"] == "add" and summary["results"][0]["shape"] == [3]
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "result_0.npy"), [2, 4, 6])


@pytest.mark.parametrize("args, message", [
    (["--entry", "missing"], "no function @missing with a body in the module"),
    (["--entry", "add"], "@add takes 2 arguments, --arg gave 0"),
    (["--entry", "add", "--arg", "A", "--arg", "x"], "expected an integer for index, got 'x'"),
    (["--entry", "add", "--arg", "B", "--arg", "1"],
     "argument #0: expected tensor<3xf32>, got a 4xf32 array"),
])
def test_module_mode_errors(tmp_path, args, message):
    module = tmp_path / "add.mlir"
    module.write_text("func.func @add(%a: tensor<3xf32>, %n: index) -> tensor<3xf32> {\n"
                      "  return %a : tensor<3xf32>\n}\n")
    np.save(tmp_path / "a.npy", np.zeros(3, np.float32))
    np.save(tmp_path / "b.npy", np.zeros(4, np.float32))
    args = [str(tmp_path / "a.npy") if a == "A" else str(tmp_path / "b.npy") if a == "B" else a
            for a in args]
    result = subprocess.run([tool("chunkkv-run"), "--module", str(module), *args,
                             "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 1
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


def test_scale_vector_width_and_print_module(tmp_path):
    folder = os.path.join(GOLDEN_DIR, "paper_basic")
    q, k, v = (np.load(os.path.join(folder, f"{n}.npy")) for n in "qkv")
    policy = R.Policy(chunk=10, window=8, budget=40)
    out = run_tool(tmp_path, q, k, v, None, flags_of(policy),
                   ["--scale", "0.5", "--vector-width", "8"])
    ref = R.chunk_scores(q, k, None, policy, scale=0.5)
    np.testing.assert_allclose(out["chunk_scores"], ref, rtol=1e-4)
    result = subprocess.run(
        [tool("chunkkv-run"), "--q", f"{folder}/q.npy", "--k", f"{folder}/k.npy", "--v",
         f"{folder}/v.npy", "--out", str(tmp_path / "o2"), "--window", "8", "--budget", "40",
         "--print-module"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "chunkkv.chunk_score #policy layout(bhsd)" in result.stdout
    assert "memref<2x2x128x16xf32>" in result.stdout


@pytest.mark.parametrize("flags, message", [
    (["--dtype", "f64"], "--dtype: expected auto, f32, f16 or bf16, got 'f64'"),
    (["--layout", "sbhd"], "--layout: expected bhsd or bshd, got 'sbhd'"),
    (["--device", "tpu"], "--device: expected 'cpu' or 'cuda', got 'tpu'"),
    (["--repeat", "0"], "--repeat: expected at least 1"),
    (["--policy", "snapkv"], "policy: expected 'paper' or 'kvpress', got 'snapkv'"),
    (["--aggregate", "max"], "aggregate: expected 'sum' or 'mean', got 'max'"),
])
def test_flag_errors(tmp_path, flags, message):
    rng = np.random.default_rng(0)
    files = {"q": rng.standard_normal((1, 2, 32, 8)).astype(np.float32),
             "k": rng.standard_normal((1, 1, 64, 8)).astype(np.float32),
             "v": rng.standard_normal((1, 1, 64, 8)).astype(np.float32)}
    err = run_expecting_error(tmp_path, files, ["--budget", "40", *flags])
    assert message in err
