"""GPU integration tests of libchunkkv_cuda.so against the NumPy reference.

Runs the golden cases (and their f16/bf16/bshd/in-place variants),
random cases, cases with tied chunk scores (the lower index wins) and a
few long sequences through chunkkv.torch.select_pointers
on device buffers that the runtime library allocates (no PyTorch needed, so
compute-sanitizer runs it quickly), and checks per docs/semantics.md's conformance rules: chunk scores
within 1e-4 (f32) or 1e-2 (f16/bf16) of the reference, the chosen chunks a
valid top-k of the reference scores and exactly the top-k of the kernels'
own scores (ties to the lower index), the kept lengths, and the compacted
rows bit-exact. Exit status 0 when every case passes.

  python3 bench/gpu/test_gpu.py [--random 200] [--quick] [--json FILE]

The cases run variant by variant, the warpgroup-mma forms last (a kernel
fault ends the CUDA context and the run: the others' cases are in by then).
A case that has not ended after --case-timeout seconds (60; a kernel that
never ends blocks the call for good) is recorded as hung and ends the run
(exit status 3). --json writes the results after every case, with
"complete": false until the run ends, so that a run cut short still names
what passed and failed, and the case that stopped it, if one did
("stopped_in": hung, or lost the CUDA context). --resume goes on with such a
run: it keeps the file's results, runs only the cases it lacks, and leaves
out the variants whose case stopped it.

--emulate runs the same cases without a GPU: the PTX build of the kernels
(build/lib/libchunkkv_cuda_ptx.so) on the PTX emulator of test/emulator,
through the fake driver build/lib/emulator/libcuda.so.1.
"""

import argparse
import ctypes
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "runtime"))

from chunkkv import reference  # noqa: E402
from chunkkv import torch as cuda  # noqa: E402
import variants as compiled  # noqa: E402
from watchdog import stopped_variants, time_limit  # noqa: E402

GOLDEN = os.path.join(ROOT, "test", "golden")


class Device:
    """Device buffers through the runtime library's mgpu* functions."""

    def __init__(self):
        path = os.path.join(os.path.dirname(os.path.abspath(cuda.library()._name)),
                            "libchunkkv_cuda_runtime.so")
        self.rt = ctypes.CDLL(path)
        self.rt.mgpuMemAlloc.restype = ctypes.c_void_p
        self.rt.mgpuMemAlloc.argtypes = [ctypes.c_uint64, ctypes.c_void_p, ctypes.c_bool]
        self.rt.mgpuMemFree.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.rt.mgpuMemcpy.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                       ctypes.c_void_p]
        self.rt.mgpuStreamCreate.restype = ctypes.c_void_p
        self.rt.mgpuStreamSynchronize.argtypes = [ctypes.c_void_p]
        self.rt.chunkkvCudaUnavailableReason.restype = ctypes.c_char_p
        if not self.rt.chunkkvCudaAvailable():
            sys.exit("no CUDA device: " + self.rt.chunkkvCudaUnavailableReason().decode())
        self.live = []

    def upload(self, array: np.ndarray) -> int:
        array = np.ascontiguousarray(array)
        pointer = self.rt.mgpuMemAlloc(max(array.nbytes, 16), None, False)
        self.rt.mgpuMemcpy(pointer, array.ctypes.data, array.nbytes, None)
        self.live.append(pointer)
        return pointer

    def empty(self, shape, dtype) -> int:
        return self.upload(np.zeros(shape, dtype))

    def download(self, pointer: int, shape, dtype) -> np.ndarray:
        out = np.empty(shape, dtype)
        self.rt.mgpuMemcpy(out.ctypes.data, pointer, out.nbytes, None)
        return out

    def alive(self) -> bool:
        """False once the CUDA context is lost (a kernel fault is sticky:
        every later driver call fails)."""
        pointer = self.rt.mgpuMemAlloc(16, None, False)
        self.rt.mgpuMemFree(pointer, None)
        return bool(pointer)

    def free_all(self):
        for pointer in self.live:
            self.rt.mgpuMemFree(pointer, None)
        self.live = []


def to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even."""
    bits = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def from_bf16_bits(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def encode(x: np.ndarray, dtype: str):
    """(device-ready array, the f32 values the kernels see)."""
    if dtype == "f32":
        x = x.astype(np.float32)
        return x, x
    if dtype == "f16":
        h = x.astype(np.float16)
        return h, h.astype(np.float32)
    bits = to_bf16_bits(x)
    return bits, from_bf16_bits(bits)


def variant_policy(name):
    fields, dtype, layout, head_dim = compiled.ALL[name]
    p = compiled.full_policy(fields)
    policy = reference.Policy(p["kind"], chunk=p["chunk"], window=p["window"], pool=p["pool"],
                              aggregate=p["aggregate"], budget=p.get("budget"),
                              keep_ratio=p.get("keep_ratio"),
                              compression_ratio=p.get("compression_ratio"))
    return policy, dtype, layout, head_dim


def run_case(device, name, q, k, v, lengths, inplace=False, measured=None, stream=None):
    """Runs one case on the GPU and checks it; returns a list of failures.
    `measured`, a dict if given, gets the chunk scores' largest relative
    error against the reference (`score_error`). With a `stream` (a
    CUstream) the call is queued on it, and the stream synchronised after."""
    policy, dtype, layout, head_dim = variant_policy(name)
    batch, query_heads = q.shape[:2]
    kv_heads, capacity = k.shape[1], k.shape[2]
    qd, qf = encode(q, dtype)
    kd, kf = encode(k, dtype)
    vd, vf = encode(v, dtype)
    if layout == "bshd":
        kd, vd = (np.ascontiguousarray(a.transpose(0, 2, 1, 3)) for a in (kd, vd))
    n_max, k_max = cuda.output_sizes(policy, capacity)
    lens = np.asarray(lengths, np.int64)
    ptr = dict(queries=device.upload(qd), keys=device.upload(kd), values=device.upload(vd),
               lengths=device.upload(lens), chunk_scores=device.empty((batch, n_max), np.float32),
               chunk_ids=device.empty((batch, k_max), np.int64),
               kept_lengths=device.empty(batch, np.int64),
               keys_out_lengths=device.empty(batch, np.int64),
               values_out_lengths=device.empty(batch, np.int64))
    if inplace:
        ptr["keys_out"], ptr["values_out"] = ptr["keys"], ptr["values"]
    else:
        ptr["keys_out"] = device.empty(kd.shape, kd.dtype)
        ptr["values_out"] = device.empty(vd.shape, vd.dtype)
    cuda.select_pointers(policy, {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[dtype],
                         layout, batch, query_heads, kv_heads, capacity, head_dim, ptr,
                         variant=name, stream=stream)
    if stream is not None:
        device.rt.mgpuStreamSynchronize(stream)
    scores = device.download(ptr["chunk_scores"], (batch, n_max), np.float32)
    ids = device.download(ptr["chunk_ids"], (batch, k_max), np.int64)
    kept = device.download(ptr["kept_lengths"], batch, np.int64)
    k_len = device.download(ptr["keys_out_lengths"], batch, np.int64)
    v_len = device.download(ptr["values_out_lengths"], batch, np.int64)
    k_out = device.download(ptr["keys_out"], kd.shape, kd.dtype)
    v_out = device.download(ptr["values_out"], vd.shape, vd.dtype)
    device.free_all()

    failures = []
    ref = reference.chunk_scores(qf, kf, lens, policy)
    tol = 1e-4 if dtype == "f32" else 1e-2
    finite = np.isfinite(ref)
    if not np.array_equal(finite, np.isfinite(scores[:, :ref.shape[1]])):
        failures.append("chunk scores: -inf slots differ")
    elif finite.any():
        relative = (np.abs(scores[:, :ref.shape[1]][finite] - ref[finite])
                    / np.maximum(np.abs(ref[finite]), 1e-30))
        worst = float(relative.max())
        if measured is not None:
            measured["score_error"] = worst
        if worst > tol:
            failures.append(f"chunk scores: max relative error {worst:.3g}")
    ref_ids, ref_kept = reference.topk_chunks(ref, lens, policy)
    # The chunks chosen from the kernels' own scores: exactly the
    # reference's choice from those scores (ties to the lower index).
    own_ids, _ = reference.topk_chunks(scores, np.clip(lens, 0, capacity), policy)
    positions = reference.kept_positions(ids, np.clip(lens, 0, capacity), policy)
    for b in range(batch):
        length = int(np.clip(lens[b], 0, capacity))
        chosen = ids[b][ids[b] >= 0]
        if not policy.keeps_whole(length):
            n = policy.num_chunks(length)
            count = policy.num_selected(length)
            if len(chosen) != count or np.any(np.diff(chosen) <= 0) or np.any(chosen >= n):
                failures.append(f"seq {b}: ids {chosen.tolist()} are not {count} ascending "
                                f"chunks of {n}")
                continue
            mask = np.zeros(n, bool)
            mask[chosen] = True
            if count and (~mask).any():
                low = ref[b, :n][mask].min()
                high = ref[b, :n][~mask].max()
                if low < high - tol * max(abs(high), 1e-30):
                    failures.append(f"seq {b}: not a top-{count} set ({low} < {high})")
            expected_ids = own_ids[b][own_ids[b] >= 0]
            if not np.array_equal(chosen, expected_ids):
                failures.append(f"seq {b}: ids {chosen.tolist()}, but the top-{count} of the "
                                f"kernels' scores (ties to the lower index) are "
                                f"{expected_ids.tolist()}")
        expected_len = len(positions[b])
        if kept[b] != expected_len or k_len[b] != expected_len or v_len[b] != expected_len:
            failures.append(f"seq {b}: kept {kept[b]}/{k_len[b]}/{v_len[b]}, positions "
                            f"say {expected_len}")
        if np.array_equal(ids[b], ref_ids[b]) and kept[b] != ref_kept[b]:
            failures.append(f"seq {b}: kept length {kept[b]}, reference {ref_kept[b]}")
        src_k, src_v, out_k, out_v = kd, vd, k_out, v_out
        if layout == "bshd":
            src_k, src_v, out_k, out_v = (a.transpose(0, 2, 1, 3) for a in (kd, vd, k_out, v_out))
        pos = positions[b]
        if not (np.array_equal(out_k[b][:, :len(pos)], src_k[b][:, pos]) and
                np.array_equal(out_v[b][:, :len(pos)], src_v[b][:, pos])):
            failures.append(f"seq {b}: compacted rows differ")
    return failures


def golden_cases():
    cases = []
    with open(os.path.join(GOLDEN, "cases.json")) as f:
        names = json.load(f)
    for case in names:
        d = os.path.join(GOLDEN, case)
        with open(os.path.join(d, "expected.json")) as f:
            expected = json.load(f)
        arrays = [np.load(os.path.join(d, n + ".npy")) for n in ("q", "k", "v")]
        cases.append((case, arrays, expected))
    return cases


def matching_variants(params, head_dim):
    policy = reference.Policy.from_params(params)
    out = []
    for name in compiled.ALL:
        p, _, _, d = variant_policy(name)
        if p == policy and d == head_dim:
            out.append(name)
    return out


def random_case(rng, name):
    policy, dtype, layout, head_dim = variant_policy(name)
    batch = int(rng.integers(1, 4))
    kv_heads = int(rng.choice([1, 2, 4]))
    group = int(rng.choice([1, 2, 4]))
    capacity = int(rng.integers(policy.window + 1, policy.window + 700))
    lengths = rng.integers(1, capacity + 1, size=batch)
    lengths[rng.integers(0, batch)] = capacity
    q = rng.standard_normal((batch, kv_heads * group, policy.window, head_dim)) * 1.5
    k = rng.standard_normal((batch, kv_heads, capacity, head_dim)) * 1.5
    v = rng.standard_normal((batch, kv_heads, capacity, head_dim))
    return q, k, v, lengths


def tied_case(rng, name):
    """Keys that repeat every few chunks, so that the chunk scores take a few
    values, each many times over, and the top-k kernel chooses among ties
    (the lower index wins). The f32 kernels add each key's terms in the same
    order, so their scores tie exactly."""
    policy, _, _, head_dim = variant_policy(name)
    chunk = policy.chunk
    batch, kv_heads, group = 2, 2, 2
    capacity = int(rng.integers(policy.window + 20 * chunk, policy.window + 80 * chunk))
    lengths = np.array([capacity, int(rng.integers(policy.window + 4 * chunk, capacity))])
    period = int(rng.choice([1, 2, 3, 5])) * chunk
    pattern = rng.standard_normal((batch, kv_heads, period, head_dim)) * 1.5
    k = np.tile(pattern, (1, 1, capacity // period + 1, 1))[:, :, :capacity]
    q = rng.standard_normal((batch, kv_heads * group, policy.window, head_dim)) * 1.5
    v = rng.standard_normal((batch, kv_heads, capacity, head_dim))
    return q, k, v, lengths, period // chunk


# (variant, kv heads, group size, lengths) of the long cases.
LONG_CASES = [
    ("paper_c10_w32_r01_f16_bhsd_d128", 2, 4, [50000]),
    ("paper_c10_w32_r01_f16_bhsd_d128_twopass", 2, 4, [50000]),
    ("paper_c10_w32_r01_f16_bhsd_d128_rowtiles2", 2, 4, [50000]),
    ("paper_c10_w32_r01_f16_bhsd_d128_rowtiles2_min3_long", 2, 4, [50000]),
    ("paper_c10_w32_r01_f16_bhsd_d128_rowtiles2_long", 2, 4, [50000]),
    ("paper_c10_w32_r01_f16_bhsd_d128_warps8_long", 2, 4, [50000]),
    ("paper_c10_w32_r01_f16_bhsd_d128_wgmma_long", 2, 4, [50000]),
    ("paper_c10_w32_r01_f16_bhsd_d128_wgmma_rowtiles2_long", 2, 4, [50000]),
    ("paper_c10_w32_r02_p5_mean_f16_bhsd_d32", 2, 4, [45000, 30011]),
    ("paper_c3_w16_b60_p3_bf16_bshd_d64", 1, 2, [40000, 20000]),
    # Top-k at its load boundaries: 12288 chunks (whole three-tile loads
    # only), 12289 (one more tile, loaded alone) and 4096 (one tile).
    ("paper_c3_w16_b60_p3_bf16_bshd_d64_rowtiles2", 1, 2, [36880, 36883, 12304]),
    ("kvpress_c10_w64_cr05_f16_bshd_d32", 2, 2, [45000]),
]


def in_run_order(names):
    """`names` with the warpgroup-mma forms (sm_90a kernels) last, each
    part in its order. Those forms read shared-memory descriptors whose
    meaning only the emulator has checked: if the hardware reads them
    otherwise, a kernel fault ends the CUDA context and every case after
    it, so every other form's cases come first."""
    def warpgroup(name):
        return "warpgroup-mma=true" in compiled.ALTERNATES.get(name, ("", ""))[1]
    return ([n for n in names if not warpgroup(n)]
            + [n for n in names if warpgroup(n)])


def tested_variants(tests_json):
    """From this script's JSON: the variants with a failed case, those with
    a passed case, and whether every case ran (a timeout leaves the results
    so far; a hung case or a lost CUDA context ends the run early)."""
    with open(tests_json) as f:
        report = json.load(f)
    results = report["results"]
    return ({r["variant"] for r in results if not r["ok"]},
            {r["variant"] for r in results if r["ok"]},
            report.get("complete", True))


def finished(tests_json):
    """Whether this script's JSON records a run that went through every
    case (after --resume, every case but those of the variants that stopped
    earlier runs)."""
    return os.path.exists(tests_json) and tested_variants(tests_json)[2]


def untimed_forms(forms, tests_json, default=None):
    """Which of `forms` (variant names) a benchmark must not run, with why,
    given this script's JSON at `tests_json` (a form that faults would end
    the CUDA context and every measurement after it): those with a failed
    case; if the tests did not finish, those without a passed case too; if
    they did not run at all (no file), every form. `default`, the form of
    the headline, is left out only for a failed case."""
    others = [name for name in forms if name != default]
    if not os.path.exists(tests_json):
        return {name: "not tested" for name in others}
    failed, passed, complete = tested_variants(tests_json)
    untimed = {name: "failed the GPU tests" for name in forms if name in failed}
    if not complete:
        untimed.update({name: "not reached by the GPU tests (cut short)"
                        for name in others if name not in failed | passed})
    return untimed


def overlap_failed(tests_json):
    """Whether, in this script's JSON, a variant failed where its alternate
    built without dependent launches (`dependent-launches=false`: each
    kernel launched after the previous one has ended) passed: the failure
    then lies in the overlapping launches rather than in the kernels."""
    if not os.path.exists(tests_json):
        return False
    failed, passed, _ = tested_variants(tests_json)
    return any(base in failed and "dependent-launches=false" in options
               for name, (base, options) in compiled.ALTERNATES.items() if name in passed)


def use_emulator(build):
    """Routes libcuda.so.1 to the PTX emulator and the entry points to the
    PTX build of the kernels; before anything loads either library. Returns
    the emulator."""
    sys.path.insert(0, os.path.join(ROOT, "test", "emulator"))
    import ptx_emulator
    emulator = ptx_emulator.install(os.path.join(build, "lib", "emulator", "libcuda.so.1"))
    os.environ["CHUNKKV_CUDA_LIBRARY"] = os.path.join(build, "lib", "libchunkkv_cuda_ptx.so")
    return emulator


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--random", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true",
                        help="golden cases and 10 random cases (for compute-sanitizer)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--emulate", action="store_true",
                        help="run the PTX kernels on the CPU emulator (no GPU needed)")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"),
                        help="build directory of --emulate's libraries")
    parser.add_argument("--variants", help="comma-separated variants (default: all)")
    parser.add_argument("--long", action="store_true",
                        help="with --emulate, run the long cases too (minutes each)")
    parser.add_argument("--overlap-failed", metavar="JSON",
                        help="run nothing; exit status 0 when this script's JSON has a "
                             "variant that failed where its alternate without dependent "
                             "launches passed, else 1")
    parser.add_argument("--finished", metavar="JSON",
                        help="run nothing; exit status 0 when this script's JSON records "
                             "a run that went through every case, else 1")
    parser.add_argument("--case-timeout", type=float,
                        help="seconds a case may take before it is recorded as hung and "
                             "the run ends (default 60; none with --emulate; 0: none)")
    parser.add_argument("--resume", action="store_true",
                        help="go on with the run recorded in --json (same arguments): keep "
                             "its results, run the cases it lacks, leave out the variants "
                             "whose case stopped it")
    parser.add_argument("--skip-stopped", metavar="JSON",
                        help="leave out the variants whose case stopped the run recorded "
                             "in this script's JSON (they would stop this one too)")
    args = parser.parse_args()
    if args.overlap_failed:
        sys.exit(0 if overlap_failed(args.overlap_failed) else 1)
    if args.finished:
        sys.exit(0 if finished(args.finished) else 1)
    if args.resume and not args.json:
        parser.error("--resume needs --json")
    if args.quick:
        args.random = 10
    if args.case_timeout is None:
        args.case_timeout = 0 if args.emulate else 60
    if args.emulate:
        use_emulator(args.build)

    device = Device()
    results, stopped = [], []
    if args.resume and os.path.exists(args.json):
        with open(args.json) as f:
            earlier = json.load(f)
        results, stopped = earlier["results"], earlier.get("stopped_in", [])
    done = {r["case"] for r in results}
    # Stops recorded by earlier runs (--resume) do not end this one.
    earlier_stops = len(stopped)
    left_out = {entry["variant"] for entry in stopped} | stopped_variants(args.skip_stopped)

    largest_error = {}

    def note_error(name, error):
        if error is not None:
            largest_error[name] = max(largest_error.get(name, 0.0), error)

    for r in results:
        note_error(r["variant"], r.get("score_error"))

    def save(complete):
        """Writes the results so far: a run cut short (a timeout) still
        says which variants passed and failed (`complete` false)."""
        if not args.json:
            return
        with open(args.json + ".part", "w") as f:
            json.dump(dict(passed=sum(r["ok"] for r in results), total=len(results),
                           complete=complete, results=results, stopped_in=stopped),
                      f, indent=1)
        os.replace(args.json + ".part", args.json)

    def record(label, name, failures, seconds, error=None, stop=None):
        """Adds one case's result; `stop` says why the run cannot go on."""
        results.append(dict(case=label, variant=name, ok=not failures, failures=failures,
                            score_error=error, seconds=round(seconds, 4)))
        if stop:
            stopped.append(dict(case=label, variant=name, why=stop))
        save(complete=False)
        status = "PASS" if not failures else "FAIL " + "; ".join(failures[:3])
        print(f"{label}: {status}", flush=True)

    def check(label, name, *case, also=lambda: [], **options):
        """Runs and records one case; `also` returns further failures.
        Cases already recorded (--resume), of a variant left out, or after
        this run lost the CUDA context do not run."""
        if label in done or name in left_out or len(stopped) > earlier_stops:
            return
        measured = {}
        start = time.perf_counter()

        def hung():
            record(label, name, [f"hung: no result after {args.case_timeout:g} s"],
                   time.perf_counter() - start, stop="hung")
            print(f"FAIL: {label} hung; run again with --resume to go on without "
                  f"{name}", flush=True)

        stop = None
        with time_limit(args.case_timeout, hung):
            try:
                failures = (run_case(device, name, *case, measured=measured, **options)
                            + also())
            except cuda.ChunkKVError as e:
                # A launch that fails (resources, a kernel fault) fails its
                # case; the run goes on, so the results say which variants
                # failed.
                device.free_all()
                failures = [f"error: {e}".strip()]
                if not device.alive():
                    stop = "lost the CUDA context"
        error = measured.get("score_error")
        note_error(name, error)
        record(label, name, failures, time.perf_counter() - start, error, stop)

    selected = args.variants.split(",") if args.variants else list(compiled.ALL)
    rng = np.random.default_rng(args.seed)
    # Random case i runs on variant i modulo the selection, as listed; the
    # cases run variant by variant in run order (in_run_order), each variant's
    # golden, random, tied and long cases together.
    random_ids = {}
    for i in range(args.random):
        random_ids.setdefault(selected[i % len(selected)], []).append(i)
    golden = list(golden_cases())
    for name in in_run_order(selected):
        for case, (q, k, v), expected in golden:
            if name not in matching_variants(expected["params"], q.shape[3]):
                continue
            lengths = expected["params"]["lengths"]

            def golden_positions():
                if (name.endswith("f32_bhsd_d%d" % q.shape[3])
                        and not _golden_positions_match(device, name, q, k, v, lengths,
                                                        expected)):
                    return ["kept positions differ from the golden case"]
                return []

            for inplace in (False, True):
                check(f"golden {case} [{name}{' inplace' if inplace else ''}]",
                      name, q, k, v, lengths, inplace=inplace, also=golden_positions)

        for i in random_ids.get(name, []):
            q, k, v, lengths = random_case(rng, name)
            check(f"random {i} [{name} B={q.shape[0]} Hq={q.shape[1]} Hkv={k.shape[1]} "
                  f"S={k.shape[2]} lengths={list(map(int, lengths))}]",
                  name, q, k, v, lengths, inplace=bool(i % 3 == 0))

        # Tied chunk scores, on the f32 variants, whose ties are exact.
        if variant_policy(name)[1] == "f32":
            q, k, v, lengths, period = tied_case(rng, name)
            check(f"tied [{name} keys repeating every {period} chunks S={k.shape[2]} "
                  f"lengths={list(map(int, lengths))}]",
                  name, q, k, v, lengths)

        # Long sequences: several 4096-chunk tiles of the top-k kernel and
        # hundreds of score spans per sequence, in both score forms.
        if args.quick or (args.emulate and not args.long):
            continue
        for _, kv_heads, group, lengths in [c for c in LONG_CASES if c[0] == name]:
            policy, _, _, head_dim = variant_policy(name)
            capacity = max(lengths)
            q = rng.standard_normal((len(lengths), kv_heads * group, policy.window, head_dim))
            k = rng.standard_normal((len(lengths), kv_heads, capacity, head_dim))
            v = rng.standard_normal((len(lengths), kv_heads, capacity, head_dim))
            check(f"long [{name} Hq={kv_heads * group} Hkv={kv_heads} lengths={lengths}]",
                  name, q, k, v, lengths)

    print("largest relative chunk-score error per variant (bound: 1e-4 for f32 "
          "caches, 1e-2 for f16/bf16):")
    for name, error in sorted(largest_error.items()):
        print(f"  {name}: {error:.2g}")
    passed = sum(r["ok"] for r in results)
    print(f"{passed}/{len(results)} GPU cases passed")
    for entry in stopped:
        print(f"FAIL: {entry['case']} {entry['why']}; {entry['variant']}'s later cases "
              "did not run")
    stopped_now = stopped[earlier_stops:]
    if stopped_now:
        print(f"the cases after {stopped_now[0]['case']} did not run: --resume goes on "
              f"without {stopped_now[0]['variant']}")
    # After a lost context the cases left did not run: as a run cut short.
    save(complete=not stopped_now)
    return 0 if passed == len(results) and not stopped else 1


def _golden_positions_match(device, name, q, k, v, lengths, expected):
    """Kept positions of the GPU run equal the golden ones (f32 variants)."""
    policy, _, _, _ = variant_policy(name)
    batch = q.shape[0]
    capacity = k.shape[2]
    n_max, k_max = cuda.output_sizes(policy, capacity)
    ptr = dict(queries=device.upload(q.astype(np.float32)), keys=device.upload(k),
               values=device.upload(v), lengths=device.upload(np.asarray(lengths, np.int64)),
               chunk_scores=device.empty((batch, n_max), np.float32),
               chunk_ids=device.empty((batch, k_max), np.int64),
               kept_lengths=device.empty(batch, np.int64),
               keys_out=device.empty(k.shape, np.float32),
               values_out=device.empty(v.shape, np.float32),
               keys_out_lengths=device.empty(batch, np.int64),
               values_out_lengths=device.empty(batch, np.int64))
    cuda.select_pointers(policy, "float32", "bhsd", batch, q.shape[1], k.shape[1], capacity,
                         q.shape[3], ptr)
    ids = device.download(ptr["chunk_ids"], (batch, k_max), np.int64)
    device.free_all()
    positions = reference.kept_positions(ids, np.asarray(lengths), policy)
    return all(np.array_equal(p, e) for p, e in zip(positions, expected["kept_positions"]))


if __name__ == "__main__":
    sys.exit(main())
