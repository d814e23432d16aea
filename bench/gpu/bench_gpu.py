"""GPU benchmark: fused ChunkKV score + select + compact vs PyTorch eager.

For B in {1, 4} and T in {32768, 131072} (Hq=32, Hkv=8, D=128, f16, paper
policy with C=10, w=32, keep 10 %), times in the same run:
  - chunkkv: libchunkkv_cuda.so through chunkkv.torch.select_pointers
             (single-pass scores: K read once);
  - alternates: the same library call on every alternate of the variant
             that the library has (runtime/variants.py: `_twopass`, whose
             scores read K twice; `_rowtiles2`, two 16-row mma tiles per
             warp; both; `_rowtiles2_min3`, two tiles with registers
             bounded for three blocks per SM; `_stages2`, one step of keys
             copied ahead instead of two; `_rowtiles2_min3_long` and
             `_rowtiles2_long`, two tiles with spans of 416 and 512 keys in
             more shared memory; `_warps8_long`, one tile in blocks of
             eight warps, K read once per kv head group; `_wgmma_long`,
             the same with the logits by warpgroup mma on sm_90a;
             `_wgmma_rowtiles2_long`, warpgroup mma of two row tiles;
             `_serial`, each kernel launched after the previous one has
             ended, where the default may start while it ends), so
             that one run compares the kernel forms;
  - eager:   the same policy as PyTorch eager ops, written like kvpress's
             SnapKV/ChunkKV presses (repeat_kv, matmul, softmax, reductions,
             topk, gather);
  - roofline: the bytes the kernels must move (K once, then the kept rows of
             K and V read and written) divided by the device-to-device copy
             bandwidth measured here.
Medians over --reps runs after warm-up. Each form is timed twice: the call
(wall time from the call to the end of its work, host included: the
headline) and its device time (CUDA events around the call behind a sleep
kernel that keeps the GPU busy while the host queues the work: kernels and
the gaps between them, no host), so that the host's share shows. Prints a
table, with the fastest of the default and its alternates per
configuration, and writes JSON.

  python3 bench/gpu/bench_gpu.py [--json FILE] [--reps 10] [--tests FILE]

--tests takes the JSON of bench/gpu/test_gpu.py: forms with a failed case
there are not timed (a kernel that faults would end the run's CUDA context
and every measurement after it), the default among them, nor, if the tests
did not finish, alternates without a passed case; without the file only
the default is timed. A form whose call fails here is reported and the
others go on; with the default left out, the table names the fastest of
the others. A form whose timing has not ended after --form-timeout seconds
(60: a kernel that never ends) ends the run (exit status 3), the JSON
naming it (`stopped_in`) next to the rows timed so far; `--after` that JSON
runs the benchmark again without it.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"))
sys.path.insert(0, HERE)

from chunkkv import reference  # noqa: E402
from chunkkv import torch as chunkkv_torch  # noqa: E402
from test_gpu import untimed_forms  # noqa: E402
from watchdog import time_limit  # noqa: E402

HQ, HKV, D, CHUNK, WINDOW, KEEP = 32, 8, 128, 10, 32, 0.1
VARIANT = "paper_c10_w32_r01_f16_bhsd_d128"
# The sequence length of --profile's per-kernel times (B = 1).
PROFILE_LENGTH = 131072
POLICY = reference.Policy("paper", chunk=CHUNK, window=WINDOW, keep_ratio=KEEP)


def form_of(name):
    """"default" for VARIANT, else the alternate's suffix."""
    return "default" if name == VARIANT else name[len(VARIANT) + 1:]


def alternate(name):
    """What kernels_only() takes for variant `name`: None for VARIANT."""
    return None if name == VARIANT else name


def median_seconds(fn, reps):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# A sleep ahead of a timed call: longer than the host's part of any call
# (about 1 ms on an H100 or H200).
SLEEP_CYCLES = 2_000_000


def median_device_seconds(fn, reps):
    """The device time of fn's work, host excluded: a sleep kernel keeps the
    GPU busy while the host queues the work, so the events around it time
    only the kernels and the gaps between them. fn must queue its work on
    the current stream and return, as PyTorch's ops and the library's calls
    with a stream do. None where torch has no sleep kernel."""
    if not hasattr(torch.cuda, "_sleep"):
        return None
    fn()
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(reps):
        torch.cuda._sleep(SLEEP_CYCLES)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def eager_select(q, k, v):
    """The paper policy in PyTorch eager ops, as kvpress computes SnapKV scores."""
    batch, _, window, dim = q.shape
    length = k.shape[2]
    group = HQ // HKV
    keys = k.repeat_interleave(group, dim=1)
    logits = torch.matmul(q, keys.transpose(-1, -2)) / math.sqrt(dim)
    causal = torch.ones(window, window, dtype=torch.bool, device=q.device).triu(1)
    logits[..., length - window:].masked_fill_(causal, float("-inf"))
    prob = torch.softmax(logits.float(), dim=-1)
    prefix = length - window
    tokens = prob[..., :prefix].sum(dim=2)
    scores = tokens.view(batch, HKV, group, prefix).mean(dim=2).sum(dim=1)
    chunks = math.ceil(prefix / CHUNK)
    padded = torch.nn.functional.pad(scores, (0, chunks * CHUNK - prefix))
    chunk_scores = padded.view(batch, chunks, CHUNK).sum(dim=-1)
    budget = math.floor(KEEP * length + 0.5)
    count = min(chunks, (budget - window) // CHUNK)
    chosen = chunk_scores.topk(count, dim=-1).indices.sort(dim=-1).values
    positions = (chosen[..., None] * CHUNK +
                 torch.arange(CHUNK, device=q.device)).view(batch, -1)
    window_positions = torch.arange(prefix, length, device=q.device).expand(batch, -1)
    positions = torch.cat([positions, window_positions], dim=1)
    index = positions[:, None, :, None].expand(batch, HKV, positions.shape[1], dim)
    return k.gather(2, index), v.gather(2, index), positions


def kernels_only(q, k, v, variant=None):
    """The library call alone on preallocated outputs (compress() also
    derives kept positions on the host); `variant` names the compiled
    variant (default: the one matching the policy)."""
    batch, _, _, dim = q.shape
    length = k.shape[2]
    n_max, k_max = chunkkv_torch.output_sizes(POLICY, length)
    lengths = torch.full((batch,), length, dtype=torch.int64, device="cuda")
    outputs = dict(chunk_scores=torch.empty(batch, n_max, device="cuda"),
                   chunk_ids=torch.empty(batch, k_max, dtype=torch.int64, device="cuda"),
                   kept_lengths=torch.empty(batch, dtype=torch.int64, device="cuda"),
                   keys_out=torch.empty_like(k), values_out=torch.empty_like(v),
                   keys_out_lengths=torch.empty(batch, dtype=torch.int64, device="cuda"),
                   values_out_lengths=torch.empty(batch, dtype=torch.int64, device="cuda"))
    pointers = {name: t.data_ptr() for name, t in outputs.items()}
    pointers.update(queries=q.data_ptr(), keys=k.data_ptr(), values=v.data_ptr(),
                    lengths=lengths.data_ptr())
    stream = torch.cuda.current_stream().cuda_stream

    def run():
        chunkkv_torch.select_pointers(POLICY, "float16", "bhsd", batch, HQ, HKV, length, dim,
                                      pointers, stream=stream, variant=variant)
    run.outputs = outputs
    run.length = length
    return run


def kept_positions(run):
    """The kept positions of the first sequence after `run` (kernels_only)."""
    torch.cuda.synchronize()
    outputs = run.outputs
    ids = outputs["chunk_ids"].cpu().numpy()
    lengths = torch.full((ids.shape[0],), run.length, dtype=torch.int64).numpy()
    return reference.kept_positions(ids, lengths, POLICY)[0]


def profile(q, k, v, variant=None):
    """Per-kernel GPU times of one library call (torch.profiler / CUPTI):
    the profiler's table, and the library's kernels' times in µs."""
    run = kernels_only(q, k, v, variant)
    run()
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        run()
        torch.cuda.synchronize()
    averages = prof.key_averages()
    # device_time_total in newer PyTorch, cuda_time_total before it.
    kernels = {event.key: getattr(event, "device_time_total", None)
               or getattr(event, "cuda_time_total", 0.0)
               for event in averages if event.key.startswith("chunkkv_")}
    return averages.table(sort_by="cuda_time_total", row_limit=12), kernels


def copy_bandwidth(reps):
    source = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    target = torch.empty_like(source)
    seconds = median_seconds(lambda: target.copy_(source), reps)
    return 2 * source.numel() / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--lengths", default="32768,131072")
    parser.add_argument("--profile", action="store_true",
                        help="also print per-kernel times at B=1, T=131072")
    parser.add_argument("--tests", help="test_gpu.py's JSON: skip the forms that failed there")
    parser.add_argument("--form-timeout", type=float, default=60,
                        help="seconds one form's timing may take before it is recorded as "
                             "hung and the run ends (0: none)")
    parser.add_argument("--after", metavar="JSON",
                        help="this script's JSON of a run that a hung form ended: leave "
                             "that form out (and the forms that ended earlier runs)")
    args = parser.parse_args()

    device_name = torch.cuda.get_device_name()
    alternates = [line.split(":")[0] for line in chunkkv_torch.variants().splitlines()
                  if line.startswith(VARIANT + "_")]
    # Without the tests' file only the default is timed; with it, a default
    # that failed there is left out and the forms that passed are still
    # timed: one run on a lent GPU gives what it can.
    untimed = (untimed_forms([VARIANT] + alternates, args.tests, default=VARIANT)
               if args.tests else {})
    stopped = []
    if args.after and os.path.exists(args.after):
        with open(args.after) as f:
            stopped = json.load(f).get("stopped_in", [])
        untimed.update({entry["variant"]: "hung in an earlier run" for entry in stopped})
    for name, why in sorted(untimed.items()):
        print(f"{name}: {why}, not timed")
    alternates = [name for name in alternates if name not in untimed]
    time_default = VARIANT not in untimed
    if not time_default and not alternates:
        sys.exit(f"no form passed the GPU tests ({args.tests}): nothing to time")
    bandwidth = copy_bandwidth(args.reps)
    print(f"device: {device_name}; device-to-device copy: {bandwidth / 1e9:.0f} GB/s")
    errors = {}
    rows = []
    # Form -> {kernel: µs} at B = 1, T = PROFILE_LENGTH (--profile).
    kernel_us = {}

    def write_json():
        if args.json:
            with open(args.json, "w") as f:
                json.dump(dict(device=device_name, variant=VARIANT,
                               copy_bandwidth_gbs=bandwidth / 1e9,
                               reps=args.reps, rows=rows, not_timed=untimed,
                               errors=errors, stopped_in=stopped,
                               profile_length=PROFILE_LENGTH, kernel_us=kernel_us),
                          f, indent=1)

    def within_time_limit(name, case, step):
        """step(), or, past --form-timeout, `name` recorded as hung at
        `case` and the process ended."""
        def hung():
            stopped.append(dict(case=case, variant=name, why="hung"))
            write_json()
            print(f"{name}: hung at {case}; run again with --after to go on without it",
                  flush=True)
        with time_limit(args.form_timeout, hung):
            return step()

    torch.manual_seed(0)
    for batch in map(int, args.batches.split(",")):
        for length in map(int, args.lengths.split(",")):
            q = torch.randn(batch, HQ, WINDOW, D, dtype=torch.float16, device="cuda")
            k = torch.randn(batch, HKV, length, D, dtype=torch.float16, device="cuda")
            v = torch.randn(batch, HKV, length, D, dtype=torch.float16, device="cuda")
            # Form name ("default" or the alternate's suffix) -> seconds.
            calls, device, positions = {}, {}, None
            for name in ([VARIANT] if time_default else []) + alternates:
                form = form_of(name)
                run = kernels_only(q, k, v, alternate(name))
                try:
                    calls[form], device[form] = within_time_limit(
                        name, f"B={batch} T={length}",
                        lambda run=run: (median_seconds(run, args.reps),
                                         median_device_seconds(run, args.reps)))
                except chunkkv_torch.ChunkKVError as e:
                    errors.setdefault(name, str(e))
                    print(f"{name}: {e}", flush=True)
                    continue
                if positions is None:
                    positions = kept_positions(run)
                del run
            if not calls:
                continue
            if "default" in calls:
                # Through compress(), the Python API's whole path.
                positions = chunkkv_torch.compress(q, k, v, policy=POLICY).kept_positions[0]

            def eager_run():
                return eager_select(q, k, v)
            eager = median_seconds(eager_run, args.reps)
            eager_device = median_device_seconds(eager_run, args.reps)
            kept = len(positions)
            _, _, eager_positions = eager_select(q, k, v)
            overlap = len({int(p) for p in positions} &
                          set(eager_positions[0].tolist())) / max(kept, 1)
            element = 2
            moved = (batch * HKV * length * D * element          # K read once
                     + 2 * 2 * batch * HKV * kept * D * element)  # kept K, V rows in and out
            roofline = moved / bandwidth
            ours = calls.get("default")
            fastest = min(calls, key=calls.get)
            row = dict(batch=batch, length=length,
                       chunkkv_ms=ours * 1e3 if ours else None,
                       eager_ms=eager * 1e3, roofline_ms=roofline * 1e3,
                       speedup_vs_eager=eager / ours if ours else None,
                       fraction_of_roofline=roofline / ours if ours else None,
                       kept=kept, overlap_with_eager=overlap,
                       alternates_ms={f"{VARIANT}_{form}": t * 1e3
                                      for form, t in calls.items() if form != "default"},
                       fastest_form=fastest,
                       device_ms={form: t * 1e3 for form, t in device.items() if t},
                       eager_device_ms=eager_device * 1e3 if eager_device else None)
            rows.append(row)
            headline = (f"chunkkv {ours * 1e3:.3f} ms, eager {eager * 1e3:.3f} ms "
                        f"({eager / ours:.1f}x), roofline {roofline * 1e3:.3f} ms "
                        f"({100 * roofline / ours:.0f} % of it)" if ours else
                        f"chunkkv default not timed, eager {eager * 1e3:.3f} ms, "
                        f"roofline {roofline * 1e3:.3f} ms")
            print(f"B={batch} T={length}: {headline}, kept {kept}, "
                  f"same positions as eager (first sequence) {100 * overlap:.1f} %"
                  + "".join(f"; {form} {t * 1e3:.3f} ms"
                            for form, t in calls.items() if form != "default")
                  + f"; fastest: {fastest} ({eager / calls[fastest]:.1f}x eager, "
                  f"{100 * roofline / calls[fastest]:.0f} % of the roofline)", flush=True)
            timed = {form: t for form, t in device.items() if t}
            if timed and eager_device:
                best = "default" if "default" in timed else min(timed, key=timed.get)
                print("  device time (no host): "
                      + ", ".join(f"{form} {t * 1e3:.3f} ms" for form, t in timed.items())
                      + f"; eager {eager_device * 1e3:.3f} ms; {best} "
                      f"{eager_device / timed[best]:.1f}x eager, "
                      f"{100 * roofline / timed[best]:.0f} % of the roofline", flush=True)
            del q, k, v
            torch.cuda.empty_cache()
    if args.profile:
        q = torch.randn(1, HQ, WINDOW, D, dtype=torch.float16, device="cuda")
        k = torch.randn(1, HKV, PROFILE_LENGTH, D, dtype=torch.float16, device="cuda")
        v = torch.randn_like(k)
        for name in ([VARIANT] if time_default else []) + alternates:
            if name in errors:
                continue
            print(f"{name}:")
            table, kernel_us[form_of(name)] = within_time_limit(
                name, f"B=1 T={PROFILE_LENGTH} (profile)",
                lambda name=name: profile(q, k, v, alternate(name)))
            print(table)
    write_json()


if __name__ == "__main__":
    main()
