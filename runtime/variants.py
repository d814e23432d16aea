"""The selection variants compiled into libchunkkv_cuda.so.

Each variant fixes what the generated kernels take as compile-time constants:
the policy, the cache element type, the layout and the head dimension. Batch,
heads, capacity and lengths stay dynamic. `python3 variants.py --list`,
`--mlir NAME` (the module of one variant), `--pipeline-options NAME` (what
it adds to chunkkv-gpu-pipeline's options) and `--dispatch` (the C++ table of
runtime/CudaSelect.cpp) are what CMake calls.

ALTERNATES are the same selections built with other pipeline options: the
entry points choose them only by name (chunkkv_cuda_select_variant), so that
the tests and the benchmark run both forms of a kernel from one library.
"""

import argparse
import sys

# name: (policy fields, element type, layout, head dim)
VARIANTS = {
    # The policies and shapes of the golden cases.
    "paper_c10_w8_b40_f32_bhsd_d16": (dict(kind="paper", chunk=10, window=8, budget=40), "f32", "bhsd", 16),
    "paper_c10_w32_r02_p5_mean_f32_bhsd_d32": (dict(kind="paper", chunk=10, window=32, keep_ratio=0.2, pool=5, aggregate="mean"), "f32", "bhsd", 32),
    "paper_c7_w16_b30_f32_bhsd_d8": (dict(kind="paper", chunk=7, window=16, budget=30), "f32", "bhsd", 8),
    "paper_c16_w32_b100_f32_bhsd_d16": (dict(kind="paper", chunk=16, window=32, budget=100), "f32", "bhsd", 16),
    "kvpress_c20_w64_cr075_f32_bhsd_d16": (dict(kind="kvpress", chunk=20, window=64, pool=5, compression_ratio=0.75), "f32", "bhsd", 16),
    "kvpress_c20_w64_cr09_f32_bhsd_d16": (dict(kind="kvpress", chunk=20, window=64, pool=5, compression_ratio=0.9), "f32", "bhsd", 16),
    "kvpress_c10_w64_cr05_f32_bhsd_d32": (dict(kind="kvpress", chunk=10, window=64, pool=5, compression_ratio=0.5), "f32", "bhsd", 32),
    # Other element types and the bshd layout.
    "paper_c10_w8_b40_f16_bhsd_d16": (dict(kind="paper", chunk=10, window=8, budget=40), "f16", "bhsd", 16),
    "paper_c10_w8_b40_bf16_bshd_d16": (dict(kind="paper", chunk=10, window=8, budget=40), "bf16", "bshd", 16),
    "paper_c10_w8_b40_f32_bshd_d16": (dict(kind="paper", chunk=10, window=8, budget=40), "f32", "bshd", 16),
    "kvpress_c10_w64_cr05_f16_bshd_d32": (dict(kind="kvpress", chunk=10, window=64, pool=5, compression_ratio=0.5), "f16", "bshd", 32),
    "kvpress_c10_w64_cr05_bf16_bhsd_d32": (dict(kind="kvpress", chunk=10, window=64, pool=5, compression_ratio=0.5), "bf16", "bhsd", 32),
    # The single-pass tensor-core scores of the paper policy with pooling,
    # mean chunks, short chunks, bf16 and bshd (the golden pooled case
    # runs on the first).
    "paper_c10_w32_r02_p5_mean_f16_bhsd_d32": (dict(kind="paper", chunk=10, window=32, keep_ratio=0.2, pool=5, aggregate="mean"), "f16", "bhsd", 32),
    "paper_c3_w16_b60_p3_bf16_bshd_d64": (dict(kind="paper", chunk=3, window=16, budget=60, pool=3), "bf16", "bshd", 64),
    # G*w not a multiple of 16: the mma row tiles' and the chunk kernel's
    # padding rows.
    "paper_c5_w24_b80_f16_bshd_d32": (dict(kind="paper", chunk=5, window=24, budget=80), "f16", "bshd", 32),
    # The benchmark's configuration (Llama-3-8B-like heads).
    "paper_c10_w32_r01_f16_bhsd_d128": (dict(kind="paper", chunk=10, window=32, keep_ratio=0.1), "f16", "bhsd", 128),
    "paper_c10_w32_r01_f32_bhsd_d128": (dict(kind="paper", chunk=10, window=32, keep_ratio=0.1), "f32", "bhsd", 128),
}

# name: (the variant it is an alternate of, chunkkv-gpu-pipeline options)
ALTERNATES = {
    # The benchmark's configuration with the two-pass scores (K read twice).
    "paper_c10_w32_r01_f16_bhsd_d128_twopass": ("paper_c10_w32_r01_f16_bhsd_d128", "single-pass=false"),
    "paper_c10_w32_r02_p5_mean_f16_bhsd_d32_twopass": ("paper_c10_w32_r02_p5_mean_f16_bhsd_d32", "single-pass=false"),
    # Two 16-row mma tiles per warp: fewer instructions per key, more
    # registers (fewer blocks per SM). The benchmark times them side by side.
    "paper_c10_w32_r01_f16_bhsd_d128_rowtiles2": ("paper_c10_w32_r01_f16_bhsd_d128", "mma-row-tiles=2"),
    "paper_c10_w32_r01_f16_bhsd_d128_twopass_rowtiles2": ("paper_c10_w32_r01_f16_bhsd_d128", "single-pass=false mma-row-tiles=2"),
    "paper_c3_w16_b60_p3_bf16_bshd_d64_rowtiles2": ("paper_c3_w16_b60_p3_bf16_bshd_d64", "mma-row-tiles=2"),
    # The same with registers bounded for three blocks per SM instead of two
    # (168 instead of 207 on sm_90, no spills, about the same instructions
    # per key).
    "paper_c10_w32_r01_f16_bhsd_d128_rowtiles2_min3": ("paper_c10_w32_r01_f16_bhsd_d128", "mma-row-tiles=2 min-blocks-per-sm=3"),
    # Each kernel launched only after the previous one has ended, as
    # without chunkkv-gpu-dependent-launches (the library's kernels for
    # sm_90 and newer start while the previous one ends).
    "paper_c10_w32_r01_f16_bhsd_d128_serial": ("paper_c10_w32_r01_f16_bhsd_d128", "dependent-launches=false"),
    # Two key stages: one step of cp.async copies in flight instead of two,
    # and longer single-pass spans in the shared memory that frees.
    "paper_c10_w32_r01_f16_bhsd_d128_stages2": ("paper_c10_w32_r01_f16_bhsd_d128", "key-stages=2"),
    # Two row tiles with spans of keys as long as the shared memory of an
    # H100/H200 SM allows at three blocks (416 keys instead of 192) and at
    # two (512): fewer blocks, each loading its window queries once. The
    # chunk slots take dynamic shared memory beyond the 48 KiB of static.
    # At two blocks per SM, four key stages keep as many bytes of K in
    # flight per SM (48 KiB) as three stages do at three blocks.
    "paper_c10_w32_r01_f16_bhsd_d128_rowtiles2_min3_long": ("paper_c10_w32_r01_f16_bhsd_d128", "mma-row-tiles=2 min-blocks-per-sm=3 shared-memory-per-block=76800"),
    "paper_c10_w32_r01_f16_bhsd_d128_rowtiles2_long": ("paper_c10_w32_r01_f16_bhsd_d128", "mma-row-tiles=2 shared-memory-per-block=115712 key-stages=4"),
    # Eight warps of one row tile: 128 window queries per block, so that a
    # kv head group of 128 loads each key from global memory once instead
    # of twice, at the one-tile form's registers (two blocks per SM, 16
    # warps) and spans of 512 keys.
    "paper_c10_w32_r01_f16_bhsd_d128_warps8_long": ("paper_c10_w32_r01_f16_bhsd_d128", "mma-warps=8 shared-memory-per-block=115712"),
    "paper_c3_w16_b60_p3_bf16_bshd_d64_warps8": ("paper_c3_w16_b60_p3_bf16_bshd_d64", "mma-warps=8"),
    # Logits by warpgroup mma (wgmma, sm_90a cubins: H100/H200): each
    # warpgroup reads a step's staged keys from shared memory once, where
    # each warp of the mma.sync forms loads them for its own 16 rows; the
    # benchmark's form in blocks of eight warps, and the pooled bf16 bshd
    # single pass and kvpress's two passes (token kernel too) for the tests.
    "paper_c10_w32_r01_f16_bhsd_d128_wgmma_long": ("paper_c10_w32_r01_f16_bhsd_d128", "chip=sm_90a warpgroup-mma=true mma-warps=8 shared-memory-per-block=115712"),
    # Two row tiles per warp (two m64 wgmma on each step's keys): 167
    # registers and 76800 bytes of shared memory, three blocks per SM,
    # spans of 416 keys.
    "paper_c10_w32_r01_f16_bhsd_d128_wgmma_rowtiles2_long": ("paper_c10_w32_r01_f16_bhsd_d128", "chip=sm_90a warpgroup-mma=true mma-row-tiles=2 shared-memory-per-block=76800"),
    "paper_c3_w16_b60_p3_bf16_bshd_d64_wgmma": ("paper_c3_w16_b60_p3_bf16_bshd_d64", "chip=sm_90a warpgroup-mma=true"),
    "kvpress_c10_w64_cr05_f16_bshd_d32_wgmma": ("kvpress_c10_w64_cr05_f16_bshd_d32", "chip=sm_90a warpgroup-mma=true"),
    # Pooled, with slots beyond 48 KiB: the emulated tests' case of the
    # dynamic shared memory on another shape.
    "paper_c3_w16_b60_p3_bf16_bshd_d64_rowtiles2_long": ("paper_c3_w16_b60_p3_bf16_bshd_d64", "mma-row-tiles=2 shared-memory-per-block=115712"),
}
ALL = dict(VARIANTS, **{name: VARIANTS[of] for name, (of, _) in ALTERNATES.items()})

DEFAULTS = {
    "paper": dict(chunk=10, window=32, pool=1, aggregate="sum"),
    "kvpress": dict(chunk=20, window=64, pool=5, aggregate="mean"),
}
DTYPE_CODES = {"f32": 0, "f16": 1, "bf16": 2}
LAYOUT_CODES = {"bhsd": 0, "bshd": 1}


def full_policy(fields):
    policy = dict(DEFAULTS[fields["kind"]])
    policy.update(fields)
    return policy


def policy_attr(fields):
    p = full_policy(fields)
    parts = [p["kind"], f"chunk = {p['chunk']}", f"window = {p['window']}",
             f"pool = {p['pool']}", f"aggregate = {p['aggregate']}"]
    for key in ("budget", "keep_ratio", "compression_ratio"):
        if key in p:
            parts.append(f"{key} = {p[key]}")
    return "#chunkkv.policy<" + ", ".join(parts) + ">"


def module(name):
    fields, dtype, layout, head_dim = ALL[name]
    window = full_policy(fields)["window"]
    q = f"memref<?x?x{window}x{head_dim}x{dtype}>"
    cache = f"memref<?x?x?x{head_dim}x{dtype}>"
    lengths = "memref<?xi64>"
    functions = []
    for suffix, k_out, v_out in (("", "%kout", "%vout"), ("_inplace", "%k", "%v")):
        functions.append(f"""
func.func @{name}{suffix}(%q: {q}, %k: {cache}, %v: {cache}, %len: {lengths},
    %scores: memref<?x?xf32>, %ids: memref<?x?xi64>, %kept: {lengths},
    %kout: {cache}, %vout: {cache}, %klen: {lengths}, %vlen: {lengths})
    attributes {{llvm.emit_c_interface}} {{
  chunkkv.chunk_score #policy layout({layout})
      ins(%q, %k, %len : {q}, {cache}, {lengths}) outs(%scores : memref<?x?xf32>)
  chunkkv.topk_chunks #policy ins(%scores, %len : memref<?x?xf32>, {lengths})
      outs(%ids, %kept : memref<?x?xi64>, {lengths})
  chunkkv.compact #policy layout({layout})
      ins(%k, %ids, %len : {cache}, memref<?x?xi64>, {lengths})
      outs({k_out}, %klen : {cache}, {lengths})
  chunkkv.compact #policy layout({layout})
      ins(%v, %ids, %len : {cache}, memref<?x?xi64>, {lengths})
      outs({v_out}, %vlen : {cache}, {lengths})
  return
}}""")
    return f"#policy = {policy_attr(fields)}\n" + "\n".join(functions) + "\n"


def dispatch():
    lines = ["// Generated by runtime/variants.py --dispatch. Do not edit.", ""]
    for name in ALL:
        for suffix in ("", "_inplace"):
            lines.append(f"extern \"C\" void _mlir_ciface_{name}{suffix}(SELECT_PARAMS);")
    lines.append("")
    lines.append("static const Variant kVariants[] = {")
    for name, (fields, dtype, layout, head_dim) in ALL.items():
        p = full_policy(fields)
        alternate = "true" if name in ALTERNATES else "false"
        lines.append(
            f"    {{\"{name}\", \"{p['kind']}\", {p['chunk']}, {p['window']}, {p['pool']}, "
            f"\"{p['aggregate']}\", {p.get('budget', -1)}, {p.get('keep_ratio', -1.0)}, "
            f"{p.get('compression_ratio', -1.0)}, {DTYPE_CODES[dtype]}, {LAYOUT_CODES[layout]}, "
            f"{head_dim}, {alternate}, _mlir_ciface_{name}, _mlir_ciface_{name}_inplace}},")
    lines.append("};")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--list", action="store_true")
    group.add_argument("--mlir", metavar="NAME")
    group.add_argument("--pipeline-options", metavar="NAME")
    group.add_argument("--dispatch", action="store_true")
    args = parser.parse_args()
    name = args.mlir or args.pipeline_options
    if name and name not in ALL:
        sys.exit(f"unknown variant {name!r}")
    if args.list:
        print(";".join(ALL), end="")
    elif args.mlir:
        sys.stdout.write(module(args.mlir))
    elif args.pipeline_options:
        print(ALTERNATES[name][1] if name in ALTERNATES else "", end="")
    else:
        sys.stdout.write(dispatch())


if __name__ == "__main__":
    main()
