"""The PTX emulator (test/emulator/ptx_emulator.py) on hand-written kernels:
the semantics chunkkv's kernels rely on (divergence and reconvergence,
bar.sync, shfl/match/mma.sync, atomics, cp.async, conversions) and the
faults it must report (out-of-bounds and misaligned accesses, shared-memory races,
unconverged collectives, unsupported instructions), and its count of
memory round trips. The emulated runs of chunkkv's own kernels are in
test_gpu_emulated.py."""

import ctypes
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "emulator"))
import ptx_emulator  # noqa: E402


def run_kernel(body, arrays, grid=(1, 1, 1), block=(32, 1, 1), shared="", scalars=(),
               emulator=None, module_shared="", shared_bytes=0):
    """Runs `body` as kernel k(u64 array pointers..., u64 scalars...) on
    `emulator` (default: a new one), with `shared` declared in the kernel,
    `module_shared` before it and `shared_bytes` of dynamic shared memory;
    the arrays are copied in and returned as they are after the launch."""
    names = [f"k_param_{i}" for i in range(len(arrays) + len(scalars))]
    params = ",\n".join(f"  .param .u64 {n}" for n in names)
    ptx = f"""
.version 8.0
.target sm_90
.address_size 64
{module_shared}
.visible .entry k(
{params}
)
{{
  .reg .pred %p<20>;
  .reg .b16 %rs<20>;
  .reg .b32 %r<80>;
  .reg .f32 %f<40>;
  .reg .b64 %rd<40>;
{shared}
{body}
}}
"""
    emulator = emulator or ptx_emulator.Emulator(memory_bytes=1 << 20)
    module = emulator.load_module(ptx.encode())
    function = emulator.get_function(module, "k")
    pointers = []
    for array in arrays:
        address = emulator.memory.alloc(array.nbytes)
        offset = address - emulator.memory.base
        emulator.memory.arena[offset:offset + array.nbytes] = array.view(np.uint8).ravel()
        pointers.append(address)
    values = [np.uint64(p).tobytes() for p in pointers]
    values += [np.uint64(s).tobytes() for s in scalars]
    emulator.launch(function, grid, block, values, shared_bytes)
    out = []
    for array, address in zip(arrays, pointers):
        offset = address - emulator.memory.base
        raw = emulator.memory.arena[offset:offset + array.nbytes].copy()
        out.append(raw.view(array.dtype).reshape(array.shape))
    return out


# Thread index and a pointer to element tid (4-byte elements) of param 0.
PROLOGUE = """
  ld.param.u64 %rd1, [k_param_0];
  cvta.to.global.u64 %rd1, %rd1;
  mov.u32 %r1, %tid.x;
  mul.wide.u32 %rd2, %r1, 4;
  add.s64 %rd3, %rd1, %rd2;
"""


def test_divergent_branches_reconverge_before_a_shuffle():
    # Odd lanes add 100, even lanes 1 (each side its own block), then a
    # butterfly sum over the warp.
    body = PROLOGUE + """
  ld.global.u32 %r2, [%rd3];
  and.b32 %r3, %r1, 1;
  setp.eq.u32 %p1, %r3, 0;
  @%p1 bra $EVEN;
  add.s32 %r2, %r2, 100;
  bra.uni $JOIN;
$EVEN:
  add.s32 %r2, %r2, 1;
$JOIN:
  shfl.sync.bfly.b32 %r4, %r2, 16, 31, -1;
  add.s32 %r2, %r2, %r4;
  shfl.sync.bfly.b32 %r4, %r2, 8, 31, -1;
  add.s32 %r2, %r2, %r4;
  shfl.sync.bfly.b32 %r4, %r2, 4, 31, -1;
  add.s32 %r2, %r2, %r4;
  shfl.sync.bfly.b32 %r4, %r2, 2, 31, -1;
  add.s32 %r2, %r2, %r4;
  shfl.sync.bfly.b32 %r4, %r2, 1, 31, -1;
  add.s32 %r2, %r2, %r4;
  st.global.u32 [%rd3], %r2;
  ret;
"""
    data = np.arange(32, dtype=np.uint32)
    (out,) = run_kernel(body, [data])
    expected = data.sum() + 16 * 100 + 16 * 1
    assert np.all(out == expected)


def test_shuffle_up_keeps_own_value_below_the_offset():
    # An inclusive prefix sum with shfl.up: lanes below the offset keep theirs.
    steps = "".join(f"""
  shfl.sync.up.b32 %r4|%p2, %r2, {d}, 0, -1;
  selp.b32 %r5, %r4, 0, %p2;
  add.s32 %r2, %r2, %r5;""" for d in (1, 2, 4, 8, 16))
    body = PROLOGUE + "  ld.global.u32 %r2, [%rd3];" + steps + """
  st.global.u32 [%rd3], %r2;
  ret;
"""
    data = np.arange(1, 33, dtype=np.uint32)
    (out,) = run_kernel(body, [data])
    assert np.array_equal(out, np.cumsum(data))


def shared_reversal(buffer, after_store=""):
    """A kernel body: 128 threads write their value to `buffer`[tid] in
    shared memory, run `after_store`, a barrier, then each reads
    `buffer`[127 - tid]."""
    return PROLOGUE + f"""
  ld.global.u32 %r2, [%rd3];
  mov.b64 %rd4, {buffer};
  mul.wide.u32 %rd5, %r1, 4;
  add.s64 %rd6, %rd4, %rd5;
  st.shared.u32 [%rd6], %r2;{after_store}
  bar.sync 0;
  sub.s32 %r3, 127, %r1;
  mul.wide.u32 %rd7, %r3, 4;
  add.s64 %rd8, %rd4, %rd7;
  ld.shared.u32 %r4, [%rd8];
  st.global.u32 [%rd3], %r4;
  ret;
"""


def test_barrier_orders_shared_memory_between_warps():
    data = np.arange(128, dtype=np.uint32) * 3
    (out,) = run_kernel(shared_reversal("buffer"), [data], block=(128, 1, 1),
                        shared=".shared .align 4 .b8 buffer[512];")
    assert np.array_equal(out, data[::-1])


# The reversal in dynamic shared memory, where thread 0 also writes all ones
# to a static variable of 12 bytes: dynamic shared memory lies after the
# static variables.
DYNAMIC_SHARED_REVERSAL = shared_reversal("dynamic", """
  setp.eq.u32 %p1, %r1, 0;
  mov.b64 %rd9, static_words;
  @%p1 st.shared.v2.u32 [%rd9], {-1, -1};
  @%p1 st.shared.u32 [%rd9+8], -1;""")


def test_dynamic_shared_memory_takes_the_launch_size():
    # The module's `.extern .shared` array holds what the launch gives it,
    # after the kernel's static variables, aligned as declared.
    data = np.arange(128, dtype=np.uint32) * 5
    (out,) = run_kernel(DYNAMIC_SHARED_REVERSAL, [data], block=(128, 1, 1),
                        shared=".shared .align 4 .b8 static_words[12];",
                        module_shared=".extern .shared .align 16 .b8 dynamic[];",
                        shared_bytes=512)
    assert np.array_equal(out, data[::-1])


def test_dynamic_shared_memory_beyond_the_launch_size_is_reported():
    # Thread 127 writes bytes 508-511 of a launch that gave 256.
    data = np.arange(128, dtype=np.uint32)
    with pytest.raises(ptx_emulator.EmulationError, match="shared access outside every variable"):
        run_kernel(DYNAMIC_SHARED_REVERSAL, [data], block=(128, 1, 1),
                   shared=".shared .align 4 .b8 static_words[12];",
                   module_shared=".extern .shared .align 16 .b8 dynamic[];",
                   shared_bytes=256)


def test_dynamic_shared_memory_past_48_kib_needs_the_kernels_limit_raised():
    # As on a GPU: a launch may take 48 KiB of shared memory in all unless
    # cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES) raised the kernel's
    # dynamic limit, which stops at 227 KiB with the static variables.
    emulator = ptx_emulator.Emulator(memory_bytes=1 << 20)
    module = emulator.load_module(b"""
.version 8.0
.target sm_90
.address_size 64
.extern .shared .align 16 .b8 dynamic[];
.visible .entry k()
{
  .shared .align 4 .b8 static_words[1024];
  ret;
}
""")
    function = emulator.get_function(module, "k")
    emulator.launch(function, (1, 1, 1), (32, 1, 1), [], 48 * 1024 - 1024)
    with pytest.raises(ptx_emulator.EmulationError, match="allows 48128"):
        emulator.launch(function, (1, 1, 1), (32, 1, 1), [], 48 * 1024)
    emulator.set_max_dynamic_shared(function, 100 * 1024)
    emulator.launch(function, (1, 1, 1), (32, 1, 1), [], 100 * 1024)
    with pytest.raises(ptx_emulator.EmulationError, match="exceed the 232448"):
        emulator.set_max_dynamic_shared(function, 227 * 1024)


def test_match_any_and_shared_atomics_count_a_histogram():
    # Each lane's bin is value % 4; match.any gives the lanes of the same bin,
    # whose lowest lane adds popc of them to the bin; every lane also adds 1
    # with its own atomic into bin 4 + value % 4.
    body = PROLOGUE + """
  ld.global.u32 %r2, [%rd3];
  and.b32 %r3, %r2, 3;
  mov.b64 %rd4, bins;
  setp.lt.u32 %p1, %r1, 8;
  @!%p1 bra $SKIP;
  mul.wide.u32 %rd5, %r1, 4;
  add.s64 %rd6, %rd4, %rd5;
  st.shared.u32 [%rd6], 0;
$SKIP:
  bar.sync 0;
  match.any.sync.b32 %r4, %r3, -1;
  popc.b32 %r5, %r4;
  mov.u32 %r6, %laneid;
  mov.u32 %r7, 1;
  shl.b32 %r7, %r7, %r6;
  sub.s32 %r8, %r7, 1;
  and.b32 %r9, %r4, %r8;
  setp.ne.u32 %p3, %r9, 0;
  mul.wide.u32 %rd7, %r3, 4;
  add.s64 %rd8, %rd4, %rd7;
  @!%p3 atom.shared.add.u32 %r10, [%rd8], %r5;
  atom.shared.add.u32 %r11, [%rd8+16], 1;
  bar.sync 0;
  @!%p1 bra $DONE;
  mul.wide.u32 %rd9, %r1, 4;
  add.s64 %rd10, %rd4, %rd9;
  ld.shared.u32 %r12, [%rd10];
  st.global.u32 [%rd3], %r12;
$DONE:
  ret;
"""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 1000, 32).astype(np.uint32)
    (out,) = run_kernel(body, [data], shared=".shared .align 4 .b8 bins[32];")
    counts = np.bincount(data % 4, minlength=4)
    assert np.array_equal(out[:4], counts)
    assert np.array_equal(out[4:8], counts)


def mma_fragments(a, b, c):
    """Per-lane registers of mma.m16n8k16 (PTX ISA, "Matrix Fragments for
    mma.m16n8k16"): A 16x16 row-major and B 16x8 as pairs of 16-bit values,
    C 16x8 f32; returns ([32, 4] u32, [32, 2] u32, [32, 4] f32)."""
    lane = np.arange(32)
    group, pair = lane // 4, lane % 4 * 2
    a_regs = np.zeros((32, 4), np.uint32)
    for i, (row, col) in enumerate([(group, pair), (group + 8, pair),
                                    (group, pair + 8), (group + 8, pair + 8)]):
        a_regs[:, i] = a[row, col].astype(np.uint32) | (a[row, col + 1].astype(np.uint32) << 16)
    b_regs = np.zeros((32, 2), np.uint32)
    for i, k in enumerate([pair, pair + 8]):
        b_regs[:, i] = b[k, group].astype(np.uint32) | (b[k + 1, group].astype(np.uint32) << 16)
    c_regs = np.stack([c[group, pair], c[group, pair + 1], c[group + 8, pair],
                       c[group + 8, pair + 1]], axis=1).astype(np.float32)
    return a_regs, b_regs, c_regs


def run_mma(form, a_regs, b_regs, c_regs):
    """One mma.sync.aligned.`form` of a warp on per-lane registers ([32, 4]
    A, [32, 2] B, [32, 4] f32 C); returns D as [32, 4] f32."""
    body = f"""
  ld.param.u64 %rd1, [k_param_0];
  ld.param.u64 %rd2, [k_param_1];
  ld.param.u64 %rd3, [k_param_2];
  mov.u32 %r1, %tid.x;
  mul.wide.u32 %rd4, %r1, 16;
  mul.wide.u32 %rd5, %r1, 8;
  add.s64 %rd6, %rd1, %rd4;
  add.s64 %rd7, %rd2, %rd5;
  add.s64 %rd8, %rd3, %rd4;
  ld.global.v4.b32 {{%r2, %r3, %r4, %r5}}, [%rd6];
  ld.global.v2.b32 {{%r6, %r7}}, [%rd7];
  ld.global.v4.f32 {{%f1, %f2, %f3, %f4}}, [%rd8];
  mma.sync.aligned.{form}
    {{%f5, %f6, %f7, %f8}}, {{%r2, %r3, %r4, %r5}}, {{%r6, %r7}}, {{%f1, %f2, %f3, %f4}};
  st.global.v4.f32 [%rd8], {{%f5, %f6, %f7, %f8}};
  ret;
"""
    return run_kernel(body, [a_regs, b_regs, c_regs])[2]


@pytest.mark.parametrize("element", ["f16", "bf16"])
def test_mma_sync_m16n8k16_matches_a_matrix_product(element):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((16, 16)).astype(np.float32)
    b = rng.standard_normal((16, 8)).astype(np.float32)
    c = rng.standard_normal((16, 8)).astype(np.float32)
    if element == "f16":
        a16, b16 = a.astype(np.float16), b.astype(np.float16)
        a_bits, b_bits = a16.view(np.uint16), b16.view(np.uint16)
        a_used, b_used = a16.astype(np.float32), b16.astype(np.float32)
    else:
        a_bits = ptx_emulator.f32_to_bf16_bits(a)
        b_bits = ptx_emulator.f32_to_bf16_bits(b)
        a_used = ptx_emulator.bf16_bits_to_f32(a_bits)
        b_used = ptx_emulator.bf16_bits_to_f32(b_bits)
    a_regs, b_regs, c_regs = mma_fragments(a_bits, b_bits, c)
    d_regs = run_mma(f"m16n8k16.row.col.f32.{element}.{element}.f32", a_regs, b_regs, c_regs)
    expected = a_used.astype(np.float64) @ b_used + c
    _, _, want = mma_fragments(np.zeros((16, 16), np.uint16), np.zeros((16, 8), np.uint16),
                               expected.astype(np.float32))
    np.testing.assert_allclose(d_regs, want, rtol=1e-5, atol=1e-5)


def test_mma_sync_m16n8k8_tf32_reads_the_upper_19_bits():
    # PTX ISA, "Matrix Fragments for mma.m16n8k8" (.tf32): A 16x8 with
    # a0..a3 at (g, t), (g + 8, t), (g, t + 4), (g + 8, t + 4); B 8x8 with
    # b0, b1 at (t, g), (t + 4, g); C as for m16n8k16. The f32 inputs carry
    # low bits that a tf32 multiplicand does not have.
    rng = np.random.default_rng(2)
    a = rng.standard_normal((16, 8)).astype(np.float32)
    b = rng.standard_normal((8, 8)).astype(np.float32)
    c = rng.standard_normal((16, 8)).astype(np.float32)
    lane = np.arange(32)
    group, thread = lane // 4, lane % 4
    a_regs = np.stack([a[group, thread], a[group + 8, thread], a[group, thread + 4],
                       a[group + 8, thread + 4]], axis=1)
    b_regs = np.stack([b[thread, group], b[thread + 4, group]], axis=1)
    _, _, c_regs = mma_fragments(np.zeros((16, 16), np.uint16), np.zeros((16, 8), np.uint16), c)
    d_regs = run_mma("m16n8k8.row.col.f32.tf32.tf32.f32", a_regs.copy(), b_regs.copy(), c_regs)

    def tf32(x):
        return (x.view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32).astype(np.float64)

    expected = tf32(a) @ tf32(b) + c
    _, _, want = mma_fragments(np.zeros((16, 16), np.uint16), np.zeros((16, 8), np.uint16),
                               expected.astype(np.float32))
    np.testing.assert_allclose(d_regs, want, rtol=1e-6, atol=1e-6)
    # The cut-off bits matter: the full f32 product is another result.
    full = a.astype(np.float64) @ b + c
    assert np.abs(full - expected).max() > 1e-4


def wgmma_body(element, accumulate, descriptor, fence="fence.proxy.async.shared::cta;"):
    """Threads copy B's image (param 2) to shared memory, fence it for the
    async proxy (`fence`), and run one wgmma.m64n32k16 of A (param 0) and
    C (param 1), written back over C."""
    d = ", ".join(f"%f{i}" for i in range(1, 17))
    return f"""
  ld.param.u64 %rd1, [k_param_0];
  ld.param.u64 %rd2, [k_param_1];
  ld.param.u64 %rd3, [k_param_2];
  mov.u32 %r1, %tid.x;
  mul.wide.u32 %rd4, %r1, 8;
  add.s64 %rd5, %rd3, %rd4;
  ld.global.u64 %rd6, [%rd5];
  mov.u64 %rd7, b_tile;
  add.s64 %rd8, %rd7, %rd4;
  st.shared.u64 [%rd8], %rd6;
  {fence}
  bar.sync 0;
  mul.wide.u32 %rd9, %r1, 16;
  add.s64 %rd10, %rd1, %rd9;
  ld.global.v4.b32 {{%r2, %r3, %r4, %r5}}, [%rd10];
  mul.wide.u32 %rd11, %r1, 64;
  add.s64 %rd12, %rd2, %rd11;
  ld.global.v4.f32 {{%f1, %f2, %f3, %f4}}, [%rd12];
  ld.global.v4.f32 {{%f5, %f6, %f7, %f8}}, [%rd12+16];
  ld.global.v4.f32 {{%f9, %f10, %f11, %f12}}, [%rd12+32];
  ld.global.v4.f32 {{%f13, %f14, %f15, %f16}}, [%rd12+48];
  and.b64 %rd13, %rd7, 262143;
  shr.u64 %rd14, %rd13, 4;
  or.b64 %rd15, %rd14, {descriptor};
  wgmma.fence.sync.aligned;
  wgmma.mma_async.sync.aligned.m64n32k16.f32.{element}.{element} {{{d}}}, {{%r2, %r3, %r4, %r5}}, %rd15, {accumulate}, 1, 1, 0;
  wgmma.commit_group.sync.aligned;
  wgmma.wait_group.sync.aligned 0;
  st.global.v4.f32 [%rd12], {{%f1, %f2, %f3, %f4}};
  st.global.v4.f32 [%rd12+16], {{%f5, %f6, %f7, %f8}};
  st.global.v4.f32 [%rd12+32], {{%f9, %f10, %f11, %f12}};
  st.global.v4.f32 [%rd12+48], {{%f13, %f14, %f15, %f16}};
  ret;
"""


WGMMA_SHARED = ".shared .align 16 .b8 b_tile[1024];"


@pytest.mark.parametrize("element,accumulate", [("f16", 1), ("bf16", 1), ("f16", 0)])
def test_wgmma_m64n32k16_reads_b_by_its_descriptor(element, accumulate):
    # PTX ISA, "Asynchronous Warpgroup Level Matrix Multiply-Accumulate":
    # warp w of the warpgroup holds rows 16w to 16w + 15 of A (64x16) in
    # mma.m16n8k16's A layout and of D (64x32) as four m16n8 C fragments;
    # B (16x32, K-major, no swizzle) is core matrices of 8 rows (n) of 16
    # bytes (8 k), the next 8 k a leading byte offset away, the next 8 n a
    # stride byte offset away. Here 128 and 256 bytes, as no kernel of
    # chunkkv lays them out, so the test is the descriptor's definition.
    rng = np.random.default_rng(3)
    a = rng.standard_normal((64, 16)).astype(np.float32)
    b = rng.standard_normal((16, 32)).astype(np.float32)
    c = rng.standard_normal((64, 32)).astype(np.float32)
    if element == "f16":
        a_bits, b_bits = a.astype(np.float16).view(np.uint16), b.astype(np.float16).view(np.uint16)
        a_used = a.astype(np.float16).astype(np.float64)
        b_used = b.astype(np.float16).astype(np.float64)
    else:
        a_bits, b_bits = ptx_emulator.f32_to_bf16_bits(a), ptx_emulator.f32_to_bf16_bits(b)
        a_used = ptx_emulator.bf16_bits_to_f32(a_bits).astype(np.float64)
        b_used = ptx_emulator.bf16_bits_to_f32(b_bits).astype(np.float64)
    leading, stride = 128, 256
    image = np.zeros(1024 // 2, np.uint16)
    k, n = np.meshgrid(np.arange(16), np.arange(32), indexing="ij")
    image[((k // 8) * leading + (n // 8) * stride + (n % 8) * 16 + (k % 8) * 2) // 2] = b_bits
    a_regs = np.zeros((128, 4), np.uint32)
    c_regs = np.zeros((128, 16), np.float32)
    for warp in range(4):
        rows = slice(16 * warp, 16 * warp + 16)
        fragments, _, _ = mma_fragments(a_bits[rows], np.zeros((16, 8), np.uint16), c[rows, :8])
        a_regs[32 * warp:32 * warp + 32] = fragments
        for tile in range(4):
            _, _, tile_c = mma_fragments(a_bits[rows], np.zeros((16, 8), np.uint16),
                                         c[rows, 8 * tile:8 * tile + 8])
            c_regs[32 * warp:32 * warp + 32, 4 * tile:4 * tile + 4] = tile_c
    descriptor = (leading >> 4) << 16 | (stride >> 4) << 32
    body = wgmma_body(element, accumulate, descriptor)
    emulator = ptx_emulator.Emulator(memory_bytes=1 << 20)
    d_regs = run_kernel(body, [a_regs, c_regs, image.view(np.uint64)], block=(128, 1, 1),
                        shared=WGMMA_SHARED, emulator=emulator)[1]
    # Each warp's 16 rows of 32 columns count as four m16n8k16.
    assert emulator.profile()["k"]["mma"] == 4 * 4
    expected = a_used @ b_used + (c if accumulate else 0)
    for warp in range(4):
        rows = slice(16 * warp, 16 * warp + 16)
        for tile in range(4):
            _, _, want = mma_fragments(np.zeros((16, 16), np.uint16), np.zeros((16, 8), np.uint16),
                                       expected[rows, 8 * tile:8 * tile + 8].astype(np.float32))
            np.testing.assert_allclose(d_regs[32 * warp:32 * warp + 32, 4 * tile:4 * tile + 4],
                                       want, rtol=1e-5, atol=1e-5)


def test_wgmma_reading_unfenced_generic_writes_is_reported():
    # PTX ISA, wgmma.fence: "An async proxy fence must be used to establish
    # an ordering between prior writes to shared memory matrices and
    # subsequent reads of the same matrices in a wgmma.mma_async".
    body = wgmma_body("f16", 0, (128 >> 4) << 16 | (256 >> 4) << 32, fence="")
    arrays = [np.zeros((128, 4), np.uint32), np.zeros((128, 16), np.float32),
              np.zeros(128, np.uint64)]
    with pytest.raises(ptx_emulator.EmulationError, match="fence.proxy.async"):
        run_kernel(body, arrays, block=(128, 1, 1), shared=WGMMA_SHARED)


def test_wgmma_with_a_swizzled_descriptor_is_not_emulated():
    body = """
  mov.u64 %rd1, b_tile;
  shr.u64 %rd2, %rd1, 4;
  or.b64 %rd3, %rd2, 4611686018427387904;
  mov.b32 %r2, 0;
  wgmma.mma_async.sync.aligned.m64n8k16.f32.f16.f16 {%f1, %f2, %f3, %f4}, {%r2, %r2, %r2, %r2}, %rd3, 0, 1, 1, 0;
  ret;
"""
    with pytest.raises(ptx_emulator.EmulationError, match="swizzle"):
        run_kernel(body, [np.zeros(4, np.uint32)], block=(128, 1, 1),
                   shared=".shared .align 16 .b8 b_tile[256];")


def round_trips(body, arrays, **launch):
    """The memory round trips the emulator counts for one launch of `body`."""
    emulator = ptx_emulator.Emulator(memory_bytes=1 << 20)
    emulator.track_round_trips = True
    run_kernel(body, arrays, emulator=emulator, **launch)
    return emulator.profile()["k"]["round_trips"]


def test_round_trips_count_dependent_loads_not_loads_in_flight_together():
    # Two independent loads, interleaved with their uses as PTX has them
    # (ptxas hoists the second load): one round trip. A load whose address
    # depends on a loaded value: two.
    together = PROLOGUE + """
  ld.global.u32 %r2, [%rd3];
  add.s32 %r3, %r2, 1;
  ld.global.u32 %r4, [%rd3+128];
  add.s32 %r5, %r4, %r3;
  st.global.u32 [%rd3], %r5;
  ret;
"""
    chased = PROLOGUE + """
  ld.global.u32 %r2, [%rd3];
  mul.wide.u32 %rd4, %r2, 4;
  add.s64 %rd5, %rd1, %rd4;
  ld.global.u32 %r4, [%rd5];
  st.global.u32 [%rd3], %r4;
  ret;
"""
    data = np.arange(64, dtype=np.uint32)
    assert round_trips(together, [data]) == 1
    assert round_trips(chased, [data]) == 2


def five_iterations(before, body):
    """A kernel that runs `before` once, then `body` five times (a loop on
    %r2), and stores %r3."""
    return PROLOGUE + f"""
  mov.u32 %r2, 0;
  mov.u32 %r3, 0;{before}
$LOOP:{body}
  add.s32 %r2, %r2, 1;
  setp.lt.u32 %p1, %r2, 5;
  @%p1 bra $LOOP;
  st.global.u32 [%rd3], %r3;
  ret;
"""


def test_round_trips_wait_per_loop_iteration_and_prefetches_overlap():
    # A loop whose every iteration loads and uses: one round trip per
    # iteration (ptxas does not move loads across the back edge). The same
    # loop loading the next iteration's value while it uses this one's (the
    # copy of a loop-carried value waits for nothing): an iteration that
    # waits for its value finds the next one's already there, two iterations
    # per round trip.
    blocking = five_iterations("", """
  ld.global.u32 %r4, [%rd3];
  add.s32 %r3, %r3, %r4;""")
    prefetching = five_iterations("""
  ld.global.u32 %r4, [%rd3];""", """
  ld.global.u32 %r5, [%rd3];
  add.s32 %r3, %r3, %r4;
  mov.u32 %r4, %r5;""")
    data = np.arange(32, dtype=np.uint32)
    assert round_trips(blocking, [data]) == 5
    assert round_trips(prefetching, [data]) == 3


def test_round_trips_leave_a_barrier_with_the_slowest_thread():
    # Before the barrier warp 0 waits once, warp 1 twice (a loaded index);
    # after it warp 0 chases an index (two more): 2 + 2, not 1 + 2.
    body = PROLOGUE + """
  ld.global.u32 %r2, [%rd3];
  setp.lt.u32 %p1, %r1, 32;
  @%p1 bra $JOIN;
  mul.wide.u32 %rd4, %r2, 4;
  add.s64 %rd5, %rd1, %rd4;
  ld.global.u32 %r2, [%rd5];
$JOIN:
  st.global.u32 [%rd3], %r2;
  bar.sync 0;
  @!%p1 bra $DONE;
  ld.global.u32 %r3, [%rd3+4];
  mul.wide.u32 %rd6, %r3, 4;
  add.s64 %rd7, %rd1, %rd6;
  ld.global.u32 %r4, [%rd7];
  st.global.u32 [%rd3], %r4;
$DONE:
  ret;
"""
    data = np.zeros(65, dtype=np.uint32)
    assert round_trips(body, [data], block=(64, 1, 1)) == 4


# Thread t copies src[t] and src[32 + t] into shared memory with cp.async,
# one group each, then {wait}, reads both words back and stores them to
# out[t] and out[32 + t].
ASYNC_COPIES = PROLOGUE + """
  ld.param.u64 %rd10, [k_param_1];
  cvta.to.global.u64 %rd10, %rd10;
  add.s64 %rd11, %rd10, %rd2;
  mov.b64 %rd4, buffer;
  add.s64 %rd6, %rd4, %rd2;
  cp.async.ca.shared.global [%rd6], [%rd3], 4;
  cp.async.commit_group;
  cp.async.ca.shared.global [%rd6+128], [%rd3+128], 4;
  cp.async.commit_group;
  {wait}
  ld.shared.u32 %r2, [%rd6];
  ld.shared.u32 %r3, [%rd6+128];
  st.global.u32 [%rd11], %r2;
  st.global.u32 [%rd11+128], %r3;
  ret;
"""
UNWRITTEN = 0xCDCDCDCD  # the emulator's pattern in shared memory never written


@pytest.mark.parametrize("wait, landed", [
    ("", 0),                            # nothing waited for: nothing there
    ("cp.async.wait_group 1;", 1),      # the newest group may still be in flight
    ("cp.async.wait_group 0;", 2),
    ("cp.async.wait_all;", 2),
])
def test_async_copies_land_when_their_group_is_waited_for(wait, landed):
    src = np.arange(64, dtype=np.uint32) + 7
    (_, out) = run_kernel(ASYNC_COPIES.replace("{wait}", wait),
                          [src, np.zeros(64, np.uint32)],
                          shared=".shared .align 4 .b8 buffer[256];")
    expected = np.where(np.arange(64) < 32 * landed, src, UNWRITTEN)
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("size", [16, 8, 0])
def test_async_copy_with_a_source_size_fills_the_rest_with_zeros(size):
    # Thread t copies words 4t .. 4t + 3 of param 0 through shared memory
    # back to where they were, reading `size` bytes of the 16.
    body = PROLOGUE + f"""
  mul.wide.u32 %rd2, %r1, 16;
  add.s64 %rd3, %rd1, %rd2;
  mov.b64 %rd4, buffer;
  add.s64 %rd6, %rd4, %rd2;
  mov.u32 %r5, {size};
  cp.async.cg.shared.global [%rd6], [%rd3], 16, %r5;
  cp.async.wait_all;
  ld.shared.v4.u32 {{%r2, %r3, %r4, %r6}}, [%rd6];
  st.global.v4.u32 [%rd3], {{%r2, %r3, %r4, %r6}};
  ret;
"""
    data = np.arange(128, dtype=np.uint32) + 1
    emulator = ptx_emulator.Emulator(memory_bytes=1 << 20)
    (out,) = run_kernel(body, [data], shared=".shared .align 16 .b8 buffer[512];",
                        emulator=emulator)
    kept = np.arange(128) % 4 < size // 4
    assert np.array_equal(out, np.where(kept, data, 0))
    # The profile counts the bytes read, not the bytes copied.
    assert emulator.profile()["k"]["global_read"] == 32 * size


def test_round_trips_of_async_copies_end_at_their_wait():
    # Two groups in flight together, then one wait: one round trip. A copy
    # issued after waiting for the first: two (nothing moves above a wait).
    together = ASYNC_COPIES.replace("{wait}", "cp.async.wait_group 0;")
    waited = ASYNC_COPIES.replace(
        "  cp.async.commit_group;\n  cp.async.ca",
        "  cp.async.commit_group;\n  cp.async.wait_group 0;\n  cp.async.ca", 1).replace(
        "{wait}", "cp.async.wait_group 0;")
    arrays = [np.arange(64, dtype=np.uint32), np.zeros(64, np.uint32)]
    shared = ".shared .align 4 .b8 buffer[256];"
    assert round_trips(together, arrays, shared=shared) == 1
    assert round_trips(waited, arrays, shared=shared) == 2


def bank_conflicts(body, shared):
    """(wavefronts, conflicts) the emulator counts for one warp running `body`."""
    emulator = ptx_emulator.Emulator(memory_bytes=1 << 20)
    emulator.count_bank_conflicts = True
    run_kernel(body, [np.zeros(32, np.uint32)], shared=shared, emulator=emulator)
    row = emulator.profile()["k"]
    return row["shared_wavefronts"], row["bank_conflicts"]


@pytest.mark.parametrize("stride, access, expected", [
    (4, "u32", (1, 0)),     # consecutive words: one wavefront
    (0, "u32", (1, 0)),     # one word: a broadcast
    (128, "u32", (32, 31)),  # every lane in bank 0
    (8, "u32", (2, 1)),     # two lanes per bank
    (16, "v4.u32", (4, 0)),  # 16 bytes per lane: four quarter-warps
    # Quarter-warps of two 128-byte rows, four 16-byte columns each (the
    # staged keys of the score kernels without a swizzle): both rows on the
    # same 16 banks, two wavefronts per quarter-warp.
    ("rows", "v4.u32", (8, 4)),
])
def test_bank_conflicts_count_wavefronts_per_phase(stride, access, expected):
    if stride == "rows":
        # lane: row lane / 4 (128 bytes apart), column lane % 4.
        address = """
  shr.u32 %r5, %r1, 2;
  and.b32 %r6, %r1, 3;
  mul.wide.u32 %rd5, %r5, 128;
  mul.wide.u32 %rd7, %r6, 16;
  add.s64 %rd5, %rd5, %rd7;"""
    else:
        address = f"""
  mul.wide.u32 %rd5, %r1, {stride};"""
    load = ("ld.shared.v4.u32 {%r2, %r3, %r4, %r7}, [%rd6];" if access.startswith("v4")
            else "ld.shared.u32 %r2, [%rd6];")
    body = PROLOGUE + address + f"""
  mov.b64 %rd4, buffer;
  add.s64 %rd6, %rd4, %rd5;
  {load}
  ret;
"""
    shared = ".shared .align 16 .b8 buffer[4096];"
    assert bank_conflicts(body, shared) == expected


def test_shared_lines_rank_the_accesses_by_wavefronts():
    # Line A reads consecutive words (one wavefront), line B one bank for
    # every lane (32 wavefronts, 31 of them conflicts).
    body = PROLOGUE + """
  mov.b64 %rd4, buffer;
  add.s64 %rd6, %rd4, %rd2;
  ld.shared.u32 %r2, [%rd6];
  mul.wide.u32 %rd5, %r1, 128;
  add.s64 %rd7, %rd4, %rd5;
  ld.shared.u32 %r3, [%rd7];
  ret;
"""
    emulator = ptx_emulator.Emulator(memory_bytes=1 << 20)
    emulator.count_bank_conflicts = True
    run_kernel(body, [np.zeros(32, np.uint32)], shared=".shared .align 16 .b8 buffer[4096];",
               emulator=emulator)
    (line_b, text_b, taken_b, conflicts_b), (line_a, text_a, taken_a, conflicts_a) = (
        emulator.shared_lines("k", 5))
    assert text_b == "ld.shared.u32 %r3, [%rd7]" and (taken_b, conflicts_b) == (32, 31)
    assert text_a == "ld.shared.u32 %r2, [%rd6]" and (taken_a, conflicts_a) == (1, 0)
    assert line_b == line_a + 3
    assert emulator.shared_lines("k", 1) == [(line_b, text_b, 32, 31)]


def test_conversions_round_to_nearest_even():
    body = PROLOGUE + """
  ld.global.f32 %f1, [%rd3];
  cvt.rn.f16.f32 %rs1, %f1;
  cvt.f32.f16 %f2, %rs1;
  cvt.rzi.s32.f32 %r2, %f1;
  cvt.rn.f32.s32 %f3, %r2;
  sub.rn.f32 %f4, %f2, %f3;
  st.global.f32 [%rd3], %f4;
  ret;
"""
    data = (np.arange(32, dtype=np.float32) - 16) * 1.37
    (out,) = run_kernel(body, [data])
    expected = data.astype(np.float16).astype(np.float32) - np.trunc(data)
    assert np.array_equal(out, expected)


def test_integer_min_max_relu_and_signed_bit_fields():
    # min.relu/max.relu (sm_90) clamp at 0; bfe.s32 of one bit is 0 or -1.
    body = PROLOGUE + """
  ld.global.s32 %r2, [%rd3];
  min.relu.s32 %r3, %r2, 5;
  max.relu.s32 %r4, %r2, -3;
  min.s32 %r5, %r2, 5;
  bfe.s32 %r6, %r2, 2, 1;
  add.s32 %r7, %r3, %r4;
  mul.lo.s32 %r7, %r7, 100;
  add.s32 %r7, %r7, %r5;
  mul.lo.s32 %r7, %r7, 10;
  add.s32 %r7, %r7, %r6;
  st.global.s32 [%rd3], %r7;
  ret;
"""
    data = np.arange(-16, 16, dtype=np.int32)
    (out,) = run_kernel(body, [data])
    relu_min = np.maximum(np.minimum(data, 5), 0)
    relu_max = np.maximum(np.maximum(data, -3), 0)
    bit = -((data >> 2) & 1)
    expected = ((relu_min + relu_max) * 100 + np.minimum(data, 5)) * 10 + bit
    assert np.array_equal(out, expected)


def test_ftz_flushes_subnormal_results_and_operands():
    # 2^x for x in [-140, -100]: with .ftz, and without it; the latter also
    # through add.ftz (a subnormal operand) and a plain add.
    body = PROLOGUE + """
  ld.param.u64 %rd4, [k_param_1];
  cvta.to.global.u64 %rd4, %rd4;
  mul.wide.u32 %rd6, %r1, 8;
  add.s64 %rd3, %rd1, %rd6;
  add.s64 %rd5, %rd4, %rd6;
  ld.global.f32 %f1, [%rd3];
  ex2.approx.ftz.f32 %f2, %f1;
  ex2.approx.f32 %f3, %f1;
  add.ftz.f32 %f4, %f3, 0f00000000;
  add.f32 %f5, %f3, 0f00000000;
  st.global.v2.f32 [%rd3], {%f2, %f3};
  st.global.v2.f32 [%rd5], {%f4, %f5};
  ret;
"""
    exponent = np.linspace(-140, -100, 32).astype(np.float32)
    data = np.zeros((32, 2), np.float32)
    data[:, 0] = exponent
    flushed, added = run_kernel(body, [data, np.zeros((32, 2), np.float32)])
    exact = np.exp2(exponent)
    subnormal = exact < np.finfo(np.float32).tiny
    assert 8 <= subnormal.sum() < 32
    assert np.allclose(flushed[:, 1], exact, rtol=1e-6)
    assert np.allclose(added[:, 1], exact, rtol=1e-6)
    for ftz in (flushed[:, 0], added[:, 0]):
        assert np.array_equal(ftz[subnormal], np.zeros(subnormal.sum(), np.float32))
        assert np.allclose(ftz[~subnormal], exact[~subnormal], rtol=1e-6)


def test_new_allocations_hold_garbage_not_zeros():
    # Like a GPU's: a kernel that reads what it never wrote must not get 0.
    emulator = ptx_emulator.Emulator(memory_bytes=1 << 16)
    first = emulator.memory.alloc(64)
    offset = first - emulator.memory.base
    emulator.memory.arena[offset:offset + 64] = 0
    emulator.memory.free(first)
    again = emulator.memory.alloc(64)
    assert again == first
    values = emulator.memory.arena[offset:offset + 64].view(np.float32)
    assert np.isnan(values).all()


def test_out_of_bounds_global_access_is_reported():
    body = PROLOGUE + """
  ld.global.u32 %r2, [%rd3+128];
  st.global.u32 [%rd3], %r2;
  ret;
"""
    with pytest.raises(ptx_emulator.EmulationError, match="invalid global access"):
        run_kernel(body, [np.zeros(32, np.uint32)])


def run_dependent(body, dependent=True):
    """Runs `body` (after PROLOGUE) as a launch with programmatic stream
    serialization, or without where `dependent` is false."""
    emulator = ptx_emulator.Emulator(memory_bytes=1 << 20)
    ptx = f"""
.version 8.0
.target sm_90
.address_size 64
.visible .global .align 4 .u32 marker = 7;
.visible .entry k(.param .u64 k_param_0)
{{
  .reg .b32 %r<8>;
  .reg .b64 %rd<8>;
{PROLOGUE}{body}
}}
"""
    module = emulator.load_module(ptx.encode())
    address = emulator.memory.alloc(128)
    emulator.launch(emulator.get_function(module, "k"), (1, 1, 1), (32, 1, 1),
                    [np.uint64(address).tobytes()], dependent=dependent)
    return emulator, module


@pytest.mark.parametrize("body, error", [
    ("griddepcontrol.wait;\n  griddepcontrol.launch_dependents;\n"
     "  st.global.u32 [%rd3], %r1;\n  ret;", None),
    ("st.global.u32 [%rd3], %r1;\n  griddepcontrol.wait;\n  ret;", "before griddepcontrol.wait"),
    ("griddepcontrol.launch_dependents;\n  ld.global.u32 %r2, [%rd3];\n  ret;",
     "before griddepcontrol.wait"),
    ("ret;", "exits without griddepcontrol.wait"),
])
def test_a_dependent_launch_waits_before_touching_global_memory(body, error):
    # Launched with programmatic stream serialization, a kernel may run
    # while the previous one still does: each thread must wait first.
    if error is None:
        run_dependent(body)
    else:
        with pytest.raises(ptx_emulator.EmulationError, match=error):
            run_dependent(body)
        run_dependent(body, dependent=False)


def test_module_globals_are_found_by_name():
    emulator, module = run_dependent("ret;", dependent=False)
    address, size = emulator.get_global(module, "marker")
    assert size == 4
    assert np.frombuffer(ctypes.string_at(address, 4), np.uint32)[0] == 7
    assert emulator.get_global(module, "absent") is None


def test_misaligned_access_is_reported():
    body = PROLOGUE + """
  ld.global.u32 %r2, [%rd3+2];
  ret;
"""
    with pytest.raises(ptx_emulator.EmulationError, match="misaligned"):
        run_kernel(body, [np.zeros(64, np.uint32)])


def test_shared_access_outside_its_variable_is_reported():
    body = PROLOGUE + """
  mov.b64 %rd4, buffer;
  st.shared.u32 [%rd4+64], %r1;
  ret;
"""
    with pytest.raises(ptx_emulator.EmulationError, match="shared access outside"):
        run_kernel(body, [np.zeros(32, np.uint32)], shared=".shared .align 4 .b8 buffer[64];")


REVERSE_THROUGH_SHARED = PROLOGUE + """
  mov.b64 %rd4, buffer;
  mul.wide.u32 %rd5, %r1, 4;
  add.s64 %rd6, %rd4, %rd5;
  st.shared.u32 [%rd6], %r1;
  {sync}
  mov.u32 %r2, %ntid.x;
  sub.s32 %r3, %r2, 1;
  sub.s32 %r3, %r3, %r1;
  mul.wide.u32 %rd7, %r3, 4;
  add.s64 %rd8, %rd4, %rd7;
  ld.shared.u32 %r4, [%rd8];
  st.global.u32 [%rd3], %r4;
  ret;
"""


@pytest.mark.parametrize("threads, sync, race", [
    (64, "", True),                  # warps read each other's words: a race
    (64, "bar.warp.sync -1;", True),  # a warp barrier does not order warps
    (64, "bar.sync 0;", False),
    (32, "", True),                  # within a warp, too, without a barrier
    (32, "bar.warp.sync -1;", False),
])
def test_shared_memory_races_are_reported(threads, sync, race):
    body = REVERSE_THROUGH_SHARED.replace("{sync}", sync)
    arrays = [np.zeros(threads, np.uint32)]
    shared = ".shared .align 4 .b8 buffer[256];"
    if race:
        with pytest.raises(ptx_emulator.EmulationError, match="shared-memory race"):
            run_kernel(body, arrays, block=(threads, 1, 1), shared=shared)
    else:
        (out,) = run_kernel(body, arrays, block=(threads, 1, 1), shared=shared)
        assert np.array_equal(out, np.arange(threads)[::-1])


@pytest.mark.parametrize("sync, race", [("", True), ("bar.sync 0;", False)])
def test_async_copy_read_by_another_thread_needs_a_barrier(sync, race):
    # REVERSE_THROUGH_SHARED with thread t's word copied from param 0 (t)
    # by cp.async and waited for, instead of stored.
    body = REVERSE_THROUGH_SHARED.replace(
        "st.shared.u32 [%rd6], %r1;",
        "cp.async.ca.shared.global [%rd6], [%rd3], 4;\n  cp.async.wait_all;").replace(
        "{sync}", sync)
    data = np.arange(32, dtype=np.uint32)
    shared = ".shared .align 4 .b8 buffer[128];"
    if race:
        with pytest.raises(ptx_emulator.EmulationError, match="shared-memory race"):
            run_kernel(body, [data], shared=shared)
    else:
        (out,) = run_kernel(body, [data], shared=shared)
        assert np.array_equal(out, data[::-1])


def test_one_store_of_many_threads_to_a_word_is_a_race():
    body = PROLOGUE + """
  mov.b64 %rd4, buffer;
  st.shared.u32 [%rd4], %r1;
  ret;
"""
    with pytest.raises(ptx_emulator.EmulationError, match="one word in one instruction"):
        run_kernel(body, [np.zeros(32, np.uint32)], shared=".shared .align 4 .b8 buffer[4];")


def test_shuffle_with_exited_lanes_of_its_mask_missing_is_reported():
    # Lanes 16..31 wait at a barrier while lanes 0..15 reach a full-warp
    # shuffle: a hang on a GPU, an error here.
    body = PROLOGUE + """
  setp.lt.u32 %p1, %r1, 16;
  @%p1 bra $SHUFFLE;
  bar.sync 0;
  ret;
$SHUFFLE:
  shfl.sync.bfly.b32 %r4, %r1, 1, 31, -1;
  bar.sync 0;
  ret;
"""
    with pytest.raises(ptx_emulator.EmulationError, match="not converged"):
        run_kernel(body, [np.zeros(32, np.uint32)])


def test_unsupported_instruction_is_named():
    body = PROLOGUE + """
  brev.b32 %r2, %r1;
  ret;
"""
    with pytest.raises(ptx_emulator.EmulationError, match="unsupported instruction brev.b32"):
        run_kernel(body, [np.zeros(32, np.uint32)])


def test_unknown_modifier_is_unsupported_not_ignored():
    body = PROLOGUE + """
  add.sat.s32 %r2, %r1, 1;
  ret;
"""
    with pytest.raises(ptx_emulator.EmulationError, match="unsupported instruction add.sat.s32"):
        run_kernel(body, [np.zeros(32, np.uint32)])
