"""bench/gpu/bench_gpu.py's and kernel_metrics.py's choice of what to run,
without a GPU or PyTorch.

They run on a lent GPU, rarely and briefly: a mistake in their control flow
would cost that run's numbers. These tests run their main() in a subprocess
against a stand-in `torch` module (NumPy arrays, events that report a fixed
time) and a stand-in library call that records which form was called, and
check which forms they run and what they report."""

import json
import os
import subprocess
import sys

from conftest import ROOT

BENCH = os.path.join(ROOT, "bench", "gpu")
VARIANT = "paper_c10_w32_r01_f16_bhsd_d128"

# Just what bench_gpu.py's timing and kernels_only() touch.
FAKE_TORCH = '''
import numpy as np
float16, float32, int64 = np.float16, np.float32, np.int64

class Tensor:
    def __init__(self, array):
        self.array = np.asarray(array)
    shape = property(lambda self: self.array.shape)
    def data_ptr(self):
        return id(self)
    def cpu(self):
        return self
    def numpy(self):
        return self.array
    def __getitem__(self, index):
        return Tensor(self.array[index])
    def tolist(self):
        return self.array.tolist()

def _shape(shape):
    return shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape

def randn(*shape, dtype=None, device=None):
    return Tensor(np.zeros(_shape(shape)))

def empty(*shape, dtype=None, device=None):
    return Tensor(np.full(_shape(shape), -1, dtype=np.int64))

def full(shape, value, dtype=None, device=None):
    return Tensor(np.full(shape, value, dtype=np.int64))

def empty_like(tensor):
    return Tensor(np.zeros(tensor.shape))

randn_like = empty_like

def manual_seed(seed):
    pass

class _Event:
    def __init__(self, enable_timing=False):
        pass
    def record(self):
        pass
    def synchronize(self):
        pass
    def elapsed_time(self, end):
        return 0.25

class _Stream:
    cuda_stream = 0

class _Profiler:
    events = []
    start = staticmethod(lambda: _Profiler.events.append("start"))
    stop = staticmethod(lambda: _Profiler.events.append("stop"))

class _Average:
    def __init__(self, key, microseconds):
        self.key, self.device_time_total = key, microseconds

class _Averages(list):
    def table(self, sort_by=None, row_limit=None):
        return "\\n".join(f"{event.key} {event.device_time_total}" for event in self)

class _Profile:
    def __init__(self, activities=None):
        pass
    def __enter__(self):
        return self
    def __exit__(self, *exception):
        return False
    def key_averages(self):
        return _Averages([_Average("chunkkv_score_stats", 70.0),
                          _Average("chunkkv_topk", 9.5), _Average("Memset (Device)", 1.0)])

class profiler:
    profile = _Profile
    class ProfilerActivity:
        CUDA = "cuda"

class cuda:
    Event = _Event
    profiler = _Profiler
    synchronize = staticmethod(lambda: None)
    empty_cache = staticmethod(lambda: None)
    _sleep = staticmethod(lambda cycles: None)
    get_device_name = staticmethod(lambda: "stand-in")
    current_stream = staticmethod(lambda device=None: _Stream())
'''

RUNNER = '''
import json, sys, time
import numpy as np
sys.path[:0] = [{fake!r}, {bench!r}]
import bench_gpu
from chunkkv import torch as library

names = {names!r}
failing_calls = {failing_calls!r}
hanging_calls = {hanging_calls!r}
calls = []
library.variants = lambda: "".join(name + ": ...\\n" for name in names)

def select_pointers(*args, variant=None, **kwargs):
    calls.append(variant or "default")
    if variant in failing_calls:
        raise library.ChunkKVError("stand-in failure")
    while variant in hanging_calls:
        time.sleep(1)

class Compressed:
    kept_positions = [np.arange(40)]

library.select_pointers = select_pointers
library.compress = lambda *args, **kwargs: Compressed
bench_gpu.copy_bandwidth = lambda reps: 4e12
bench_gpu.PROFILE_LENGTH = 640
bench_gpu.eager_select = lambda q, k, v: (None, None, bench_gpu.torch.Tensor(np.arange(20)[None]))
sys.argv = ["bench_gpu.py", "--reps", "2", "--batches", "1", "--lengths", "640",
            "--json", {out!r}] + {extra!r}
bench_gpu.main()
print(json.dumps(sorted(set(calls))))
'''


def run_script(script):
    """Runs `script` in a Python of its own, with the chunkkv package."""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python")))


def stand_in_torch(tmp_path):
    """A folder holding the stand-in `torch` package, for sys.path."""
    fake = tmp_path / "fake"
    (fake / "torch").mkdir(parents=True, exist_ok=True)
    (fake / "torch" / "__init__.py").write_text(FAKE_TORCH)
    return fake


def run_bench(tmp_path, tests=None, failing_calls=(), hanging_calls=(), extra=()):
    """Runs main() with the library's variants VARIANT, _serial and
    _rowtiles2; `tests` is the results of test_gpu.py's JSON as (variant,
    ok) pairs, or None for no --tests; `extra`, further arguments. Returns
    (exit status, stdout, the forms called, the JSON written)."""
    fake = stand_in_torch(tmp_path)
    extra = list(extra)
    if tests is not None:
        report = tmp_path / "tests.json"
        report.write_text(json.dumps(dict(complete=True, results=[
            dict(case=str(i), variant=name, ok=ok) for i, (name, ok) in enumerate(tests)])))
        extra += ["--tests", str(report)]
    out = tmp_path / "bench.json"
    names = [VARIANT, VARIANT + "_serial", VARIANT + "_rowtiles2"]
    script = RUNNER.format(fake=str(fake), bench=BENCH, names=names, out=str(out),
                           extra=extra, failing_calls=list(failing_calls),
                           hanging_calls=list(hanging_calls))
    done = run_script(script)
    called = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    written = json.loads(out.read_text()) if out.exists() else None
    return done.returncode, done.stdout + done.stderr, called, written


def test_every_form_that_passed_the_tests_is_timed(tmp_path):
    status, output, called, report = run_bench(tmp_path, tests=[
        (VARIANT, True), (VARIANT + "_serial", True), (VARIANT + "_rowtiles2", True)])
    assert status == 0, output
    assert called == ["default", VARIANT + "_rowtiles2", VARIANT + "_serial"]
    [row] = report["rows"]
    assert row["chunkkv_ms"] > 0 and row["kept"] == 40
    assert set(row["alternates_ms"]) == {VARIANT + "_serial", VARIANT + "_rowtiles2"}
    assert set(row["device_ms"]) == {"default", "serial", "rowtiles2"}


def test_a_default_that_failed_the_tests_leaves_the_others_timed(tmp_path):
    status, output, called, report = run_bench(tmp_path, tests=[
        (VARIANT, False), (VARIANT + "_serial", True), (VARIANT + "_rowtiles2", False)])
    assert status == 0, output
    assert f"{VARIANT}: failed the GPU tests, not timed" in output
    assert called == [VARIANT + "_serial"]
    [row] = report["rows"]
    assert row["chunkkv_ms"] is None and row["speedup_vs_eager"] is None
    assert row["fastest_form"] == "serial" and list(row["device_ms"]) == ["serial"]
    assert "chunkkv default not timed" in output and "fastest: serial" in output
    assert report["not_timed"] == {VARIANT: "failed the GPU tests",
                                   VARIANT + "_rowtiles2": "failed the GPU tests"}


def test_nothing_to_time_when_every_form_failed(tmp_path):
    status, output, _, report = run_bench(tmp_path, tests=[
        (VARIANT, False), (VARIANT + "_serial", False), (VARIANT + "_rowtiles2", False)])
    assert status != 0 and "nothing to time" in output and report is None


def test_a_form_whose_call_fails_is_reported_and_the_rest_go_on(tmp_path):
    status, output, called, report = run_bench(
        tmp_path, failing_calls=[VARIANT + "_serial"])
    assert status == 0, output
    assert called == ["default", VARIANT + "_rowtiles2", VARIANT + "_serial"]
    assert report["errors"] == {VARIANT + "_serial": "stand-in failure"}
    [row] = report["rows"]
    assert set(row["alternates_ms"]) == {VARIANT + "_rowtiles2"}


def test_the_profile_keeps_each_forms_kernel_times(tmp_path):
    status, output, called, report = run_bench(tmp_path, extra=["--profile"])
    assert status == 0, output
    kernels = {"chunkkv_score_stats": 70.0, "chunkkv_topk": 9.5}
    assert report["kernel_us"] == {"default": kernels, "serial": kernels,
                                   "rowtiles2": kernels}
    assert report["profile_length"] == 640
    assert f"{VARIANT}_rowtiles2:\nchunkkv_score_stats 70.0" in output


def test_a_form_that_hangs_ends_the_run_and_the_next_goes_on_without_it(tmp_path):
    # A kernel that never ends blocks the call for good: after
    # --form-timeout the benchmark writes its JSON, the form in stopped_in,
    # and ends (status 3); --after that JSON leaves the form out.
    rowtiles = VARIANT + "_rowtiles2"
    status, output, _, report = run_bench(tmp_path, hanging_calls=[rowtiles],
                                          extra=["--form-timeout", "1"])
    assert status == 3, output
    assert f"{rowtiles}: hung at B=1 T=640; run again with --after" in output
    assert report["stopped_in"] == [dict(case="B=1 T=640", variant=rowtiles, why="hung")]
    assert report["rows"] == []
    stopped = tmp_path / "stopped.json"
    stopped.write_text(json.dumps(report))
    status, output, called, report = run_bench(
        tmp_path, hanging_calls=[rowtiles], extra=["--form-timeout", "1", "--after", str(stopped)])
    assert status == 0, output
    assert f"{rowtiles}: hung in an earlier run, not timed" in output
    assert called == ["default", VARIANT + "_serial"]
    assert report["not_timed"] == {rowtiles: "hung in an earlier run"}
    assert report["stopped_in"] == [dict(case="B=1 T=640", variant=rowtiles, why="hung")]
    [row] = report["rows"]
    assert set(row["alternates_ms"]) == {VARIANT + "_serial"}


METRICS_RUNNER = '''
import json, sys
sys.path[:0] = [{fake!r}, {bench!r}]
import torch
import kernel_metrics
from chunkkv import torch as library

calls = []
library.select_pointers = lambda *args, variant=None, **kwargs: calls.append(variant or "default")
torch.cuda.profiler.start = lambda: calls.append("start")
torch.cuda.profiler.stop = lambda: calls.append("stop")
sys.argv = ["kernel_metrics.py"] + {arguments!r}
kernel_metrics.main()
print(json.dumps(calls))
'''


def test_kernel_metrics_profiles_one_call_per_form_that_passed(tmp_path):
    # Under `ncu --profile-from-start off`, only the calls between start
    # and stop are profiled: one per form, after an unprofiled one.
    fake = stand_in_torch(tmp_path)
    report = tmp_path / "tests.json"
    report.write_text(json.dumps(dict(complete=True, results=[
        dict(case="0", variant=VARIANT, ok=True),
        dict(case="1", variant=VARIANT + "_wgmma_long", ok=False)])))
    script = METRICS_RUNNER.format(fake=str(fake), bench=BENCH, arguments=[
        "--tests", str(report), "wgmma_long", "rowtiles2_min3"])
    done = run_script(script)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{VARIANT}_wgmma_long: failed the GPU tests, not profiled" in done.stdout
    calls = json.loads(done.stdout.strip().splitlines()[-1])
    rowtiles = VARIANT + "_rowtiles2_min3"
    assert calls == ["default", "start", "default", "stop",
                     rowtiles, "start", rowtiles, "stop"]


def test_kernel_metrics_leaves_out_a_form_that_hung_in_the_benchmark(tmp_path):
    fake = stand_in_torch(tmp_path)
    bench = tmp_path / "bench.json"
    rowtiles = VARIANT + "_rowtiles2_min3"
    bench.write_text(json.dumps(dict(stopped_in=[dict(case="B=1 T=131072", variant=rowtiles,
                                                      why="hung")])))
    script = METRICS_RUNNER.format(fake=str(fake), bench=BENCH, arguments=[
        "--after", str(bench), "rowtiles2_min3"])
    done = run_script(script)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{rowtiles}: hung in the benchmark, not profiled" in done.stdout
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [
        "default", "start", "default", "stop"]
