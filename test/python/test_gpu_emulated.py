"""chunkkv's GPU kernels without a GPU: bench/gpu/test_gpu.py --emulate runs
the PTX build of every library variant (libchunkkv_cuda_ptx.so) on the PTX
emulator through the fake libcuda.so.1, against the NumPy reference: the
golden cases out of place and in place, one random case per variant, and
long cases with several top-k tiles; and bench/gpu/emulated_profile.py's
counts. Each runs in a subprocess, as the fake driver must be the process's
libcuda.so.1."""

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import BUILD_DIR, ROOT

SCRIPT = os.path.join(ROOT, "bench", "gpu", "test_gpu.py")


def skip_unless_built():
    for path in (os.path.join(BUILD_DIR, "lib", "libchunkkv_cuda_ptx.so"),
                 os.path.join(BUILD_DIR, "lib", "emulator", "libcuda.so.1")):
        if not os.path.exists(path):
            pytest.skip(f"{path} is not built")


def emulated_run(tmp_path, *arguments):
    skip_unless_built()
    report = tmp_path / "tests.json"
    done = subprocess.run([sys.executable, SCRIPT, "--emulate", "--build", BUILD_DIR,
                           "--json", str(report), *arguments],
                          capture_output=True, text=True, timeout=900)
    assert report.exists(), done.stdout + done.stderr
    results = json.loads(report.read_text())
    failed = [r for r in results["results"] if not r["ok"]]
    assert not failed and done.returncode == 0, json.dumps(failed, indent=1) + done.stderr
    assert results["complete"]
    return results


def test_golden_and_random_cases_pass_on_every_variant(tmp_path):
    variants = subprocess.run([sys.executable, os.path.join(ROOT, "runtime", "variants.py"),
                               "--list"], capture_output=True, text=True,
                              check=True).stdout.strip().split(";")
    results = emulated_run(tmp_path, "--random", str(len(variants)))
    labels = [r["case"] for r in results["results"]]
    for variant in variants:
        assert any("random" in label and variant in label for label in labels), variant
    assert sum("golden" in label for label in labels) >= 2 * 13


def test_a_kernel_fault_ends_the_run_and_names_its_variant(tmp_path):
    # A fault inside a kernel loses the CUDA context (the emulator too):
    # the case fails with the error, no later case runs, and the variant is
    # the one bench_gpu.py then leaves out.
    skip_unless_built()
    report = tmp_path / "tests.json"
    variants = "paper_c7_w16_b30_f32_bhsd_d8,paper_c10_w8_b40_f32_bhsd_d16"
    done = subprocess.run([sys.executable, SCRIPT, "--emulate", "--build", BUILD_DIR,
                           "--json", str(report), "--random", "4", "--variants", variants],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PTX_EMULATOR_FAULT="chunkkv_compact_gather"))
    assert done.returncode == 1, done.stdout + done.stderr
    results = json.loads(report.read_text())
    [only] = results["results"]
    assert not only["ok"] and "injected fault" in only["failures"][0], only
    assert results["stopped_in"] == [dict(case=only["case"], variant=only["variant"],
                                          why="lost the CUDA context")]
    assert "--resume goes on without " + only["variant"] in done.stdout
    sys.path.insert(0, os.path.dirname(SCRIPT))
    from test_gpu import tested_variants
    # The failed variant, none passed, and the cases after the fault did
    # not run: bench_gpu.py times only what passed.
    assert tested_variants(str(report)) == ({only["variant"]}, set(), False)
    assert only["variant"] in variants.split(",")


def test_a_hung_case_ends_the_run_and_a_resumed_run_goes_on_without_its_variant(tmp_path):
    # A kernel that never ends blocks its caller in the driver: after
    # --case-timeout the case is recorded as hung and the process ends
    # (status 3). --resume keeps what ran, leaves the hung variant out and
    # runs the rest; the benchmark then leaves that variant out too.
    skip_unless_built()
    report = tmp_path / "tests.json"
    variants = "paper_c7_w16_b30_f32_bhsd_d8,paper_c10_w8_b40_f32_bhsd_d16"

    def command(json_path):
        return [sys.executable, SCRIPT, "--emulate", "--build", BUILD_DIR, "--json",
                str(json_path), "--random", "2", "--variants", variants]

    start = time.monotonic()
    done = subprocess.run(command(report) + ["--case-timeout", "5"], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, PTX_EMULATOR_HANG="chunkkv_topk"))
    assert done.returncode == 3, done.stdout + done.stderr
    assert time.monotonic() - start < 300
    results = json.loads(report.read_text())
    [hung] = results["results"]
    assert hung["failures"] == ["hung: no result after 5 s"] and not results["complete"]
    assert results["stopped_in"] == [dict(case=hung["case"], variant=hung["variant"],
                                          why="hung")]
    assert hung["variant"] == variants.split(",")[0]
    unfinished = subprocess.run([sys.executable, SCRIPT, "--finished", str(report)])
    assert unfinished.returncode == 1

    resumed = subprocess.run(command(report) + ["--resume"], capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    results = json.loads(report.read_text())
    assert results["complete"] and results["results"][0] == hung
    rest = results["results"][1:]
    assert rest and all(r["ok"] and r["variant"] == variants.split(",")[1] for r in rest)
    assert subprocess.run([sys.executable, SCRIPT, "--finished", str(report)]).returncode == 0
    sys.path.insert(0, os.path.dirname(SCRIPT))
    from test_gpu import untimed_forms
    assert untimed_forms(variants.split(","), str(report)) == {
        hung["variant"]: "failed the GPU tests"}

    # Another run (memcheck's) leaves out the variant that hung here.
    again = tmp_path / "again.json"
    skipped = subprocess.run(command(again) + ["--skip-stopped", str(report)],
                             capture_output=True, text=True, timeout=600)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    ran = json.loads(again.read_text())["results"]
    assert [r["case"] for r in ran] == [r["case"] for r in rest]


def test_a_step_past_its_time_limit_ends_the_process_after_its_record():
    # The thread of a hung kernel never returns from the driver: the
    # watchdog runs the caller's record and ends the process (status 3); a
    # step that ends in time is left alone.
    script = """
import sys, time
from watchdog import time_limit
with time_limit(30, lambda: print("never")):
    print("in time")
with time_limit(0.5, lambda: print("recorded", flush=True)):
    time.sleep(60)
print("not reached")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30, cwd=os.path.dirname(SCRIPT))
    assert done.returncode == 3 and done.stdout.split() == ["in", "time", "recorded"], (
        done.stdout + done.stderr)


def test_a_step_that_ends_as_its_time_limit_fires_is_not_recorded_as_hung():
    # The timer fires while the step is ending (here: at the cancel that
    # follows the step): the step ended, so the process goes on unrecorded.
    script = """
import threading
from watchdog import time_limit

class FiresAtCancel:
    def __init__(self, seconds, function):
        self.function = function
    def start(self):
        pass
    def cancel(self):
        threading.Thread(target=self.function).start()

threading.Timer = FiresAtCancel
with time_limit(30, lambda: print("hung")):
    print("ended")
print("after")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30, cwd=os.path.dirname(SCRIPT))
    assert done.returncode == 0 and done.stdout.split() == ["ended", "after"], (
        done.stdout + done.stderr)


def test_the_warpgroup_mma_forms_run_last():
    # A fault in a form whose descriptors only the emulator has checked
    # would end the run: every other form's cases come before theirs.
    sys.path.insert(0, os.path.dirname(SCRIPT))
    from test_gpu import compiled, in_run_order
    names = list(compiled.ALL)
    ordered = in_run_order(names)
    sm90a = [n for n in names if "chip=sm_90a" in compiled.ALTERNATES.get(n, ("", ""))[1]]
    assert sorted(ordered) == sorted(names) and sm90a
    assert ordered[-len(sm90a):] == sm90a
    assert ordered[:-len(sm90a)] == [n for n in names if n not in sm90a]


def test_a_call_on_a_callers_stream_leaves_it_unsynchronised():
    # With a stream the library queues its work and returns (the caller
    # synchronises, as with PyTorch's ops); without one it waits for it.
    skip_unless_built()
    script = f"""
import ctypes, json, os, sys
import numpy as np
sys.path.insert(0, {os.path.dirname(SCRIPT)!r})
import test_gpu
test_gpu.use_emulator({BUILD_DIR!r})
from chunkkv import torch as cuda
driver = ctypes.CDLL(os.path.join({BUILD_DIR!r}, "lib", "emulator", "libcuda.so.1"))
synchronisations = []
select = cuda.select_pointers
def counted(*args, **options):
    before = driver.chunkkvEmulatorStreamSynchronizations()
    select(*args, **options)
    synchronisations.append(driver.chunkkvEmulatorStreamSynchronizations() - before)
cuda.select_pointers = counted
device = test_gpu.Device()
name = "paper_c10_w8_b40_f32_bhsd_d16"
case = test_gpu.random_case(np.random.default_rng(0), name)
failures = (test_gpu.run_case(device, name, *case, stream=device.rt.mgpuStreamCreate())
            + test_gpu.run_case(device, name, *case))
print(json.dumps(dict(failures=failures, synchronisations=synchronisations)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == dict(failures=[], synchronisations=[0, 1])


def emulated_launch_counts(names, env=None):
    """For one random case of each variant in `names`, on the emulator: its
    failures, launches and dependent launches (programmatic stream
    serialization)."""
    script = f"""
import json, sys
import numpy as np
sys.path.insert(0, {os.path.dirname(SCRIPT)!r})
import test_gpu
emulator = test_gpu.use_emulator({BUILD_DIR!r})
device = test_gpu.Device()
counts = {{}}
for name in {list(names)!r}:
    case = test_gpu.random_case(np.random.default_rng(1), name)
    launches, dependent = emulator.launches, emulator.dependent_launches
    failures = test_gpu.run_case(device, name, *case)
    counts[name] = dict(failures=failures, launches=emulator.launches - launches,
                        dependent=emulator.dependent_launches - dependent)
print(json.dumps(counts))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, **(env or {})))
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_librarys_kernels_start_while_the_previous_one_ends():
    # Built for sm_90, the library's kernels wait for the previous kernel
    # (griddepcontrol.wait, which the emulator requires before any global
    # access of a dependent launch) and the runtime launches every one of
    # them with programmatic stream serialization; the `_serial` alternate
    # launches none so.
    skip_unless_built()
    counts = emulated_launch_counts(["paper_c10_w32_r01_f16_bhsd_d128",
                                     "paper_c10_w32_r01_f16_bhsd_d128_serial"])
    default = counts["paper_c10_w32_r01_f16_bhsd_d128"]
    serial = counts["paper_c10_w32_r01_f16_bhsd_d128_serial"]
    assert default["failures"] == [] and serial["failures"] == []
    assert default["launches"] > 0 and default["dependent"] == default["launches"]
    assert serial["launches"] == default["launches"] and serial["dependent"] == 0


def test_dependent_launches_can_be_turned_off_at_run_time():
    # CHUNKKV_CUDA_DEPENDENT_LAUNCHES=0: the same kernels, each launched
    # after the previous one has ended.
    skip_unless_built()
    name = "paper_c10_w32_r01_f16_bhsd_d128"
    [counts] = emulated_launch_counts(
        [name], env=dict(CHUNKKV_CUDA_DEPENDENT_LAUNCHES="0")).values()
    assert counts["failures"] == [] and counts["launches"] > 0
    assert counts["dependent"] == 0


def test_a_failure_only_with_overlapping_launches_is_told_apart(tmp_path):
    # run.sh runs the tests and the benchmark again with the overlap off
    # when a variant failed where its alternate without dependent launches
    # passed (exit status 0 of --overlap-failed).
    report = tmp_path / "tests.json"

    def overlap_failed(*cases):
        if cases:
            report.write_text(json.dumps(dict(complete=True, results=[
                dict(case=str(i), variant=v, ok=ok) for i, (v, ok) in enumerate(cases)])))
        return subprocess.run([sys.executable, SCRIPT, "--overlap-failed", str(report)],
                              capture_output=True, text=True, timeout=120).returncode == 0

    default = "paper_c10_w32_r01_f16_bhsd_d128"
    assert overlap_failed((default, False), (default + "_serial", True))
    assert not overlap_failed((default, False), (default + "_serial", False))
    assert not overlap_failed((default, True), (default + "_serial", True))
    # A failure of another alternate says nothing about the overlap.
    assert not overlap_failed((default + "_rowtiles2", False), (default + "_serial", True))
    # No results (the tests did not run): nothing to run again.
    report.unlink()
    assert not overlap_failed()


def test_the_benchmark_times_only_forms_the_tests_passed(tmp_path):
    sys.path.insert(0, os.path.dirname(SCRIPT))
    from test_gpu import untimed_forms
    report = tmp_path / "tests.json"
    forms = ["a", "b", "c"]
    assert untimed_forms(forms, str(report)) == dict.fromkeys(forms, "not tested")

    def results(complete, *cases):
        report.write_text(json.dumps(dict(complete=complete, results=[
            dict(case=str(i), variant=v, ok=ok) for i, (v, ok) in enumerate(cases)])))
        return untimed_forms(forms, str(report))

    assert results(True, ("a", True), ("b", False), ("b", True)) == {
        "b": "failed the GPU tests"}
    # Cut short: a form the tests did not reach is not timed either.
    assert results(False, ("a", True), ("b", False)) == {
        "b": "failed the GPU tests", "c": "not reached by the GPU tests (cut short)"}
    # The default is left out for a failed case only.
    assert untimed_forms(forms, str(report), default="c") == {"b": "failed the GPU tests"}
    assert results(True, ("a", False)) == {"a": "failed the GPU tests"}
    assert untimed_forms(forms, str(report), default="a") == {"a": "failed the GPU tests"}
    report.unlink()
    assert untimed_forms(forms, str(report), default="a") == dict.fromkeys("bc", "not tested")


def test_long_sequence_with_several_topk_tiles(tmp_path):
    # 50000 tokens: 5000 chunks (two 4096-chunk top-k tiles) and 143 score
    # spans per sequence, through the single-pass score kernels.
    results = emulated_run(tmp_path, "--random", "0", "--long",
                           "--variants", "paper_c10_w32_r01_f16_bhsd_d128")
    assert [r["case"].split()[0] for r in results["results"]] == ["long"]


def test_topk_loads_several_groups_of_tiles(tmp_path):
    # 40000 tokens at C = 3: 13328 chunks, more than the 12288 that a radix
    # pass of the top-k kernel loads at once, and four index-order tiles,
    # each loaded during the previous one; next to a 20000-token sequence.
    results = emulated_run(tmp_path, "--random", "0", "--long",
                           "--variants", "paper_c3_w16_b60_p3_bf16_bshd_d64")
    assert [r["case"].split()[0] for r in results["results"]] == ["long"]
    assert "40000" in results["results"][0]["case"]


def test_topk_at_its_load_boundaries(tmp_path):
    # 12288 chunks: whole three-tile loads of a radix pass only; 12289: one
    # tile more, loaded alone after them; 4096: one tile and no whole load.
    results = emulated_run(tmp_path, "--random", "0", "--long",
                           "--variants", "paper_c3_w16_b60_p3_bf16_bshd_d64_rowtiles2")
    assert [r["case"].split()[0] for r in results["results"]] == ["long"]
    assert "36883" in results["results"][0]["case"]


def test_profile_counts_the_single_and_the_two_pass_kernels(tmp_path):
    skip_unless_built()
    counts = {}
    for variant in ("paper_c10_w32_r01_f16_bhsd_d128", "paper_c10_w32_r01_f16_bhsd_d128_twopass"):
        report = tmp_path / f"{variant}.json"
        done = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gpu",
                                                            "emulated_profile.py"),
                               "--build", BUILD_DIR, "--variant", variant, "--length", "600",
                               "--query-heads", "8", "--kv-heads", "2", "--json", str(report)],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "| chunkkv_score_stats | 1 |" in done.stdout
        counts[variant] = json.loads(report.read_text())["kernels"]
    single, double = counts.values()
    # K is read once: no token pass, and the statistics kernel's mma.sync
    # include the chunk sums'.
    assert single["chunkkv_score_chunk_sums"]["launches"] == 1
    assert double["chunkkv_score_tokens"]["launches"] == 1
    assert single.get("chunkkv_score_tokens", {"launches": 0})["launches"] == 0
    assert single["chunkkv_score_stats"]["mma"] > double["chunkkv_score_stats"]["mma"]
    # K and V compact in one plan launch and one gather launch.
    assert single["chunkkv_compact_plan"]["launches"] == 1
    assert single["chunkkv_compact_gather"]["launches"] == 1
    # Every kernel waits for global memory at least once.
    assert all(row["round_trips"] >= 1 for row in single.values() if row["launches"])
    assert (single["chunkkv_score_stats"]["global_read"]
            < double["chunkkv_score_stats"]["global_read"]
            + double["chunkkv_score_tokens"]["global_read"])
    # The staged keys (an XOR swizzle of odd rows) and the chunk slots (row
    # strides of 3, 5, 11 or 13 modulo 16) take no more shared-memory
    # wavefronts than their accesses need.
    for row in (single["chunkkv_score_stats"], double["chunkkv_score_stats"],
                double["chunkkv_score_tokens"]):
        assert row["shared_wavefronts"] > 0 and row["bank_conflicts"] == 0
