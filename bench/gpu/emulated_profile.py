"""Dynamic instruction and memory counts of the GPU kernels, from the PTX
emulator (no GPU needed).

Runs one selection (checked against the NumPy reference) through the PTX
build of a library variant on the emulator and prints, per kernel, what it
executed: warp instructions, mma.sync (a warp's part of a warpgroup mma
counted in m16n8k16 units), MUFU operations, global bytes, shared
accesses, their wavefronts and bank conflicts (wavefronts beyond the fewest
the accesses could take), and barriers, each also per token of the
sequence. The counts are
exact for the run; the lower bounds next to them turn them into time on a
GPU of the given size, at full issue rate, full copy bandwidth, full
mma.sync rate and one shared-memory wavefront per cycle and SM (issue and
shared-memory rates on as many SMs as a launch has blocks, when that is
fewer: a one-block top-k issues on one SM), with
nothing overlapping badly, and the memory latency times
the round trips to global memory of the slowest thread (loads hoisted to the
start of their basic block, as ptxas does; see the emulator's Executor). They compare kernel versions
where no GPU is at hand; only bench_gpu.py measures time.

  python3 bench/gpu/emulated_profile.py [--length 8192] [--batch 1]
      [--variant paper_c10_w32_r01_f16_bhsd_d128] [--query-heads 32 --kv-heads 8]
      [--shared-lines 10]

--shared-lines N also lists, per kernel, the N PTX lines whose shared-memory
accesses take the most wavefronts: where a kernel's shared-memory traffic
goes (staged keys, chunk slots, their initialisation and write-out).
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_gpu  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", default="paper_c10_w32_r01_f16_bhsd_d128")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--length", type=int, default=8192)
    parser.add_argument("--query-heads", type=int, default=32)
    parser.add_argument("--kv-heads", type=int, default=8)
    parser.add_argument("--build", default=os.path.join(test_gpu.ROOT, "build"))
    # H200 defaults: SMs, clock, the copy bandwidth bench_gpu.py measured,
    # dense f16 mma.sync rate.
    parser.add_argument("--sms", type=int, default=132)
    parser.add_argument("--clock-ghz", type=float, default=1.98)
    parser.add_argument("--bandwidth-gbs", type=float, default=4160)
    parser.add_argument("--mma-tflops", type=float, default=660)
    # A load from global memory that is waited for: between an L2 hit
    # (~0.3 µs) and HBM (~0.7 µs).
    parser.add_argument("--memory-latency-us", type=float, default=0.5)
    parser.add_argument("--shared-lines", type=int, default=0, metavar="N",
                        help="per kernel, the N PTX lines with the most shared-memory "
                             "wavefronts")
    parser.add_argument("--json", help="write the counts here")
    args = parser.parse_args()

    emulator = test_gpu.use_emulator(args.build)
    emulator.track_round_trips = True
    emulator.count_bank_conflicts = True
    device = test_gpu.Device()
    policy, _, _, head_dim = test_gpu.variant_policy(args.variant)
    rng = np.random.default_rng(0)
    shape = (args.batch, args.kv_heads, args.length, head_dim)
    q = rng.standard_normal((args.batch, args.query_heads, policy.window, head_dim))
    k, v = rng.standard_normal(shape), rng.standard_normal(shape)
    failures = test_gpu.run_case(device, args.variant, q, k, v, [args.length] * args.batch)
    if failures:
        sys.exit("the emulated run is wrong: " + "; ".join(failures))

    tokens = args.batch * args.length
    profile = emulator.profile()
    print(f"{args.variant}: B={args.batch} T={args.length} Hq={args.query_heads} "
          f"Hkv={args.kv_heads}; per-token counts are per token of the batch")
    print("| kernel | launches | blocks | warp instr / token | mma / token | MUFU / token "
          "| global B read / token | written / token | shared warp accesses / token "
          "| shared wavefronts / token (bank conflicts) "
          "| barriers / token | round trips "
          "| bound (µs): issue / memory / mma / shared / latency |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, row in profile.items():
        if not row["launches"]:
            continue
        per = {key: value / tokens for key, value in row.items()}
        # SMs a launch keeps busy: a block runs on one SM.
        sms = min(args.sms, row["blocks"] / row["launches"])
        issue = row["warp_instructions"] / (sms * 4 * args.clock_ghz * 1e3)
        memory = (row["global_read"] + row["global_written"]) / (args.bandwidth_gbs * 1e3)
        mma = row["mma"] * 2 * 16 * 8 * 16 / (args.mma_tflops * 1e6)
        latency = row["round_trips"] * args.memory_latency_us
        # Shared memory serves one wavefront (32 banks of 4 bytes) per cycle
        # and SM.
        shared = row["shared_wavefronts"] / (sms * args.clock_ghz * 1e3)
        print(f"| {name} | {row['launches']} | {row['blocks']} | "
              f"{per['warp_instructions']:.2f} | {per['mma']:.3f} | {per['mufu']:.1f} | "
              f"{per['global_read']:.0f} | {per['global_written']:.0f} | "
              f"{per['shared_accesses']:.2f} | "
              f"{per['shared_wavefronts']:.2f} ({per['bank_conflicts']:.2f}) | "
              f"{per['barriers']:.3f} | {row['round_trips']} | "
              f"{issue:.1f} / {memory:.1f} / {mma:.1f} / {shared:.1f} / {latency:.1f} |")
    shared_lines = {}
    for name, row in profile.items():
        if args.shared_lines <= 0 or not row["shared_wavefronts"]:
            continue
        shared_lines[name] = emulator.shared_lines(name, args.shared_lines)
        print(f"\n{name}: the {args.shared_lines} PTX lines with the most shared-memory "
              "wavefronts")
        print("| PTX line | instruction | wavefronts / token | bank conflicts / token |")
        print("|---|---|---|---|")
        for line, text, taken, conflicts in shared_lines[name]:
            print(f"| {line} | `{text}` | {taken / tokens:.2f} | {conflicts / tokens:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(variant=args.variant, batch=args.batch, length=args.length,
                           query_heads=args.query_heads, kv_heads=args.kv_heads,
                           kernels=profile, shared_lines=shared_lines), f, indent=1)


if __name__ == "__main__":
    main()
