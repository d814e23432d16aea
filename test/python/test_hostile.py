"""Hostile inputs with defined answers (docs/reliability.md has the table)."""

import io
import struct

import numpy as np
import pytest

from chunkkv import reference as R
from test_chunkkv_run import flags_of, run_expecting_error, run_tool


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def raw_npy(header, payload=b"", version=1):
    """A .npy file with a hand-written header dictionary."""
    text = header.encode()
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(text)) + text + payload


def inputs(batch=1, q_heads=2, kv_heads=1, window=32, capacity=64, dim=8, seed=3):
    rng = np.random.default_rng(seed)
    return {"q": rng.standard_normal((batch, q_heads, window, dim)).astype(np.float32),
            "k": rng.standard_normal((batch, kv_heads, capacity, dim)).astype(np.float32),
            "v": rng.standard_normal((batch, kv_heads, capacity, dim)).astype(np.float32)}


def test_header_longer_than_the_file(tmp_path):
    files = inputs()
    files["k"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 64, 8), }")[:8] + \
        struct.pack("<H", 60000) + b"{'descr'"
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "k.npy: truncated header (it claims 60000 bytes" in err


def test_oversized_header_version_2(tmp_path):
    # A 70 kB header (valid for version 2.0) is read; the data must still fit.
    files = inputs()
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 64, 8), }"
    header += " " * 70000 + "\n"
    files["k"] = raw_npy(header, files["k"].tobytes(), version=2)
    out = run_tool(tmp_path, files["q"], None, files["v"], None, ["--budget", "40"],
                   k_bytes=files["k"])
    assert out["lengths"].tolist() == [32]  # (40 - 32) // 10 = 0 chunks: the window


def test_shape_product_overflows(tmp_path):
    files = inputs()
    files["q"] = raw_npy("{'descr': '<f4', 'fortran_order': False, "
                         "'shape': (4294967296, 4294967296, 2), }")
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "q.npy: shape's element count overflows" in err


def test_repeated_header_key_takes_the_last(tmp_path):
    # As NumPy reads the dictionary: the last 'shape' counts, not the two
    # appended (whose element count would overflow 64 bits).
    files = inputs()
    header = ("{'descr': '<f4', 'fortran_order': False, "
              "'shape': (1, 6224300, 2, 9379227, 32), 'shape': (1, 1, 64, 8), }")
    assert np.load(io.BytesIO(raw_npy(header, files["k"].tobytes()))).shape == (1, 1, 64, 8)
    out = run_tool(tmp_path, files["q"], None, files["v"], None, ["--budget", "40"],
                   k_bytes=raw_npy(header, files["k"].tobytes()))
    assert out["lengths"].tolist() == [32]


def test_malformed_header_dictionary(tmp_path):
    files = inputs()
    files["v"] = raw_npy("{'descr': '<f4', 'shape': (1, 1, 64, 8)}")
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "v.npy: header lacks 'descr', 'fortran_order' or 'shape'" in err


def test_big_endian(tmp_path):
    files = inputs()
    files["q"] = files["q"].astype(">f4")
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "q.npy: big-endian dtype '>f4' is not supported" in err


def test_query_heads_not_a_multiple_of_kv_heads(tmp_path):
    files = inputs(q_heads=3, kv_heads=2)
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "expected Hq (3) to be a multiple of Hkv (2)" in err


def test_negative_length(tmp_path):
    files = inputs()
    files["lengths"] = np.array([-1], dtype=np.int32)
    err = run_expecting_error(tmp_path, files, ["--budget", "40"])
    assert "length -1 of sequence 0 is outside [0, S = 64]" in err


@pytest.mark.parametrize("flags, message", [
    (["--budget", "0"], "budget (0) must be >= window (32)"),
    (["--keep-ratio", "0"], "keep_ratio must be in (0, 1], got 0"),
    (["--policy", "kvpress", "--window", "32", "--compression-ratio", "1"],
     "compression_ratio must be in [0, 1), got 1"),
])
def test_empty_budgets_are_errors(tmp_path, flags, message):
    err = run_expecting_error(tmp_path, inputs(), flags)
    assert message in err


def test_budget_above_capacity_keeps_everything(tmp_path):
    files = inputs()
    out = run_tool(tmp_path, files["q"], files["k"], files["v"], None, ["--budget", "1000"])
    np.testing.assert_array_equal(out["kept_positions"][0], np.arange(64))
    assert out["lengths"].tolist() == [64]
    assert (out["chunk_ids"] == -1).all()
    np.testing.assert_array_equal(out["k_compacted"], files["k"])


def test_zero_length_batch(tmp_path):
    files = inputs(batch=0)
    out = run_tool(tmp_path, files["q"], files["k"], files["v"], None, ["--budget", "40"])
    assert out["kept_positions"].shape == (0, 0)
    assert out["lengths"].shape == (0,)
    assert out["k_compacted"].shape == (0, 1, 64, 8)


def test_chunk_larger_than_the_prompt(tmp_path):
    # P = 32 tokens before the window, C = 100: one partial chunk, which a
    # budget of 40 (8 tokens beyond the window) cannot take.
    files = inputs()
    policy = R.Policy(chunk=100, window=32, budget=40)
    out = run_tool(tmp_path, files["q"], files["k"], files["v"], None, flags_of(policy))
    ref = R.select(files["q"], files["k"], None, policy)
    np.testing.assert_array_equal(out["kept_positions"][0], ref.positions[0])
    assert out["lengths"].tolist() == [32]
    np.testing.assert_allclose(out["chunk_scores"], ref.scores, rtol=1e-4)
    # A budget that fits the partial chunk keeps it.
    policy = R.Policy(chunk=100, window=32, budget=132)
    out = run_tool(tmp_path, files["q"], files["k"], files["v"], None, flags_of(policy))
    assert out["lengths"].tolist() == [64]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_queries_select_in_bounds(tmp_path, bad):
    # Sequence 0 gets a non-finite query: its scores are NaN (NaN ranks below
    # every number, ties to the lower index), so its choice is defined and
    # in bounds; sequence 1 is scored as usual under the paper policy.
    files = inputs(batch=2, capacity=96)
    files["q"][0, 0, 0, 0] = bad
    policy = R.Policy(chunk=8, window=32, budget=56)
    out = run_tool(tmp_path, files["q"], files["k"], files["v"], None, flags_of(policy))
    assert out["lengths"].tolist() == [56, 56]
    for b in range(2):
        positions = out["kept_positions"][b]
        assert np.all((positions >= 0) & (positions < 96))
        np.testing.assert_array_equal(out["k_compacted"][b, :, :56], files["k"][b][:, positions])
    if np.isnan(out["chunk_scores"][0]).all():
        np.testing.assert_array_equal(out["chunk_ids"][0], [0, 1, 2])
    ref = R.select(files["q"][1:], files["k"][1:], None, policy)
    np.testing.assert_array_equal(out["kept_positions"][1], ref.positions[0])


def test_non_finite_keys_select_in_bounds(tmp_path):
    files = inputs(capacity=96)
    files["k"][0, 0, 5, :] = np.inf
    files["k"][0, 0, 40, :] = np.nan
    out = run_tool(tmp_path, files["q"], files["k"], files["v"], None,
                   flags_of(R.Policy(chunk=8, window=32, budget=56)))
    positions = out["kept_positions"][0]
    assert len(positions) == 56 and np.all((positions >= 0) & (positions < 96))
    assert np.all(np.diff(positions) > 0)
