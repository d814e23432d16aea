"""The GPU entry points: chunkkv.torch, libchunkkv_cuda.so's C API and
chunkkv-run --device=cuda. Without a GPU they must fail with a clear error;
with one (and PyTorch), they must reproduce the golden cases."""

import ctypes
import json
import os
import subprocess

import numpy as np
import pytest

import chunkkv
from chunkkv import reference as R
from conftest import BUILD_DIR, GOLDEN_DIR, tool

cuda = pytest.importorskip("chunkkv.torch")


def library_or_skip():
    try:
        return cuda.library()
    except chunkkv.ChunkKVError as error:
        pytest.skip(str(error))


def golden(name):
    folder = os.path.join(GOLDEN_DIR, name)
    expected = json.load(open(os.path.join(folder, "expected.json")))
    return [np.load(os.path.join(folder, f"{n}.npy")) for n in "qkv"], expected


def gpu_or_skip():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available() or not cuda.is_available():
        pytest.skip("no CUDA device")
    return torch


def test_variants_are_listed():
    library_or_skip()
    listing = cuda.variants()
    assert "paper_c10_w32_r01_f16_bhsd_d128: paper, chunk=10, window=32" in listing
    assert "kvpress_c20_w64_cr075_f32_bhsd_d16: kvpress" in listing


def test_output_sizes_follow_the_policy():
    policy = R.Policy("paper", chunk=10, window=32, keep_ratio=0.1)
    assert cuda.output_sizes(policy, 131072) == (policy.num_chunks(131072),
                                                 policy.max_selected(policy.num_chunks(131072)))
    assert cuda.output_sizes(R.Policy("paper", chunk=10, window=32, budget=64), 8) == (1, 1)


FAKE = 1 << 20  # 16-byte aligned, never dereferenced: calls fail before


def fake_pointers():
    names = [f[0] for f in cuda.SelectArgs._fields_ if f[1] is ctypes.c_void_p
             and f[0] != "stream"]
    return {name: FAKE + 256 * i for i, name in enumerate(names)}


@pytest.mark.parametrize("change, message", [
    (dict(policy=R.Policy("paper", chunk=12, window=32, keep_ratio=0.1)),
     "no compiled variant for this policy, element type, layout and head dimension"),
    (dict(head_dim=64), "no compiled variant"),
    (dict(layout="bshd"), "no compiled variant"),
    (dict(kv_heads=3), "query_heads a multiple of kv_heads"),
    (dict(query_heads=64, kv_heads=1), "at most 1024 window queries per kv head"),
    (dict(capacity=1 << 31), "capacity must be below 2\\^31 tokens"),
])
def test_select_rejects_bad_arguments(change, message):
    library_or_skip()
    args = dict(policy=R.Policy("paper", chunk=10, window=32, keep_ratio=0.1),
                element_type="float16", layout="bhsd", batch=1, query_heads=32,
                kv_heads=8, capacity=4096, head_dim=128, pointers=fake_pointers())
    args.update(change)
    with pytest.raises(chunkkv.ChunkKVError, match=message):
        cuda.select_pointers(**args)


def test_select_rejects_misaligned_and_mixed_in_place():
    library_or_skip()
    policy = R.Policy("paper", chunk=10, window=32, keep_ratio=0.1)
    shape = dict(batch=1, query_heads=32, kv_heads=8, capacity=4096, head_dim=128)
    pointers = fake_pointers()
    pointers["keys"] += 2
    with pytest.raises(chunkkv.ChunkKVError, match="16-byte aligned device pointer"):
        cuda.select_pointers(policy, "float16", "bhsd", pointers=pointers, **shape)
    pointers = fake_pointers()
    pointers["keys_out"] = pointers["keys"]
    with pytest.raises(chunkkv.ChunkKVError, match="both in place or both"):
        cuda.select_pointers(policy, "float16", "bhsd", pointers=pointers, **shape)
    with pytest.raises(chunkkv.ChunkKVError, match="element type must be one of"):
        cuda.select_pointers(policy, "int8", "bhsd", pointers=fake_pointers(), **shape)


def test_variant_by_name():
    # An alternate runs only by name, and only where it matches the policy
    # and the cache; the checks come before any driver call.
    library_or_skip()
    listing = cuda.variants()
    assert "paper_c10_w32_r01_f16_bhsd_d128_twopass: paper" in listing
    assert "(alternate: by name only)" in listing
    policy = R.Policy("paper", chunk=10, window=32, keep_ratio=0.1)
    shape = dict(batch=1, query_heads=32, kv_heads=8, capacity=4096)
    with pytest.raises(chunkkv.ChunkKVError, match="no compiled variant named 'no_such'"):
        cuda.select_pointers(policy, "float16", "bhsd", head_dim=128,
                             pointers=fake_pointers(), variant="no_such", **shape)
    with pytest.raises(chunkkv.ChunkKVError,
                       match="named 'paper_c10_w32_r01_f16_bhsd_d128_twopass'"):
        cuda.select_pointers(policy, "float16", "bhsd", head_dim=64, pointers=fake_pointers(),
                             variant="paper_c10_w32_r01_f16_bhsd_d128_twopass", **shape)
    lib = cuda.library()
    args = cuda.SelectArgs()
    assert lib.chunkkv_cuda_select_variant(None, None, ctypes.byref(args)) == 1
    assert b"variant name must not be NULL" in lib.chunkkv_cuda_last_error()


def test_select_without_a_driver_says_so():
    library_or_skip()
    if cuda.is_available():
        pytest.skip("a CUDA device exists")
    policy = R.Policy("paper", chunk=10, window=32, keep_ratio=0.1)
    with pytest.raises(chunkkv.ChunkKVError, match="cannot load libcuda.so.1"):
        cuda.select_pointers(policy, "float16", "bhsd", 1, 32, 8, 4096, 128, fake_pointers())


def test_compress_needs_cuda_tensors():
    (q, k, v), expected = golden("paper_basic")
    with pytest.raises(chunkkv.ChunkKVError, match="q must be a PyTorch CUDA tensor"):
        cuda.compress(q, k, v, policy=expected["params"])


def test_chunkkv_run_cuda_without_a_driver(tmp_path):
    run = tool("chunkkv-run")
    if not os.path.exists(os.path.join(BUILD_DIR, "lib", "libchunkkv_cuda.so")):
        pytest.skip("libchunkkv_cuda.so is not built")
    if cuda.is_available():
        pytest.skip("a CUDA device exists")
    d = os.path.join(GOLDEN_DIR, "paper_basic")
    result = subprocess.run(
        [run, "--q", f"{d}/q.npy", "--k", f"{d}/k.npy", "--v", f"{d}/v.npy",
         "--policy", "paper", "--chunk-size", "10", "--window", "8", "--budget", "40",
         "--device", "cuda", "--out", str(tmp_path / "out")],
        capture_output=True, text=True)
    assert result.returncode == 1
    assert "--device=cuda: cannot load libcuda.so.1" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", json.load(open(os.path.join(GOLDEN_DIR, "cases.json"))))
def test_golden_on_the_gpu(name):
    torch = gpu_or_skip()
    (q, k, v), expected = golden(name)
    params = expected["params"]
    device = [torch.from_numpy(a).cuda() for a in (q, k, v)]
    out = chunkkv.compress(*device, lengths=params["lengths"], policy=params, device="cuda")
    for b, positions in enumerate(expected["kept_positions"]):
        np.testing.assert_array_equal(out.kept_positions[b], positions)
        n = len(positions)
        np.testing.assert_array_equal(out.keys[b, :, :n].cpu().numpy(), k[b][:, positions])
    np.testing.assert_array_equal(out.lengths.cpu().numpy(), expected["kept_lengths"])
