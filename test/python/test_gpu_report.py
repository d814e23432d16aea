"""bench/gpu/report.py: run.sh's results folder as Markdown for docs/perf.md,
on the kept H200 results and on a folder as run.sh now writes it."""

import json
import os
import subprocess
import sys

from conftest import ROOT

SCRIPT = os.path.join(ROOT, "bench", "gpu", "report.py")
VARIANT = "paper_c10_w32_r01_f16_bhsd_d128"


def report(*arguments):
    done = subprocess.run([sys.executable, SCRIPT, *map(str, arguments)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_kept_h200_results():
    text = report(os.path.join(ROOT, "bench", "gpu", "results", "h200-2026-11-28"))
    assert "on an **NVIDIA H200**" in text
    assert "| 1 | 131072 | 0.503 | 3.106 | 6.2x | 0.090 | 18 % |" in text
    assert ("- B = 1, T = 131072, the default: 6.2x eager, 18 % of the roofline: "
            "targets (10x, 50 %) not met") in text


def write_run(folder):
    """A results folder as run.sh writes it: the default and two alternates
    timed, one alternate that hung in the benchmark, one failed test."""
    (folder / "device.txt").write_text("name, driver_version, memory.total [MiB]\n"
                                       "NVIDIA H100 80GB HBM3, 580.0, 81559 MiB\n")
    (folder / "tests.json").write_text(json.dumps(dict(
        complete=True, stopped_in=[dict(case="random 3 [x]", variant=VARIANT + "_wgmma_long",
                                        why="hung")],
        results=[dict(case="golden a", variant=VARIANT, ok=True),
                 dict(case="random 3 [x]", variant=VARIANT + "_wgmma_long", ok=False)])))
    (folder / "memcheck.log").write_text("noise\n========= ERROR SUMMARY: 0 errors\n"
                                         "memcheck exit status: 0\n")

    def row(length, default, alternates, device):
        return dict(batch=1, length=length, chunkkv_ms=default, eager_ms=3.0,
                    roofline_ms=0.09, speedup_vs_eager=3.0 / default,
                    fraction_of_roofline=0.09 / default,
                    alternates_ms={f"{VARIANT}_{k}": v for k, v in alternates.items()},
                    device_ms=device, eager_device_ms=2.9)
    (folder / "bench.json").write_text(json.dumps(dict(
        device="NVIDIA H100 80GB HBM3", variant=VARIANT, copy_bandwidth_gbs=3000.0, reps=10,
        rows=[row(32768, 0.1, {"warps8_long": 0.09}, {"default": 0.08}),
              row(131072, 0.3, {"warps8_long": 0.17, "rowtiles2": 0.25},
                  {"default": 0.25, "warps8_long": 0.15})],
        not_timed={VARIANT + "_wgmma_long": "failed the GPU tests"}, errors={},
        profile_length=131072,
        kernel_us={"default": {"chunkkv_score_stats": 120.0, "chunkkv_topk": 9.0},
                   "warps8_long": {"chunkkv_score_stats": 80.5, "chunkkv_topk": 9.0,
                                   "chunkkv_compact_plan": 4.0}},
        stopped_in=[dict(case="B=1 T=131072", variant=VARIANT + "_twopass", why="hung")])))


def test_a_run_with_alternates_a_failure_and_hangs(tmp_path):
    write_run(tmp_path)
    text = report(tmp_path)
    assert "on an **NVIDIA H100 80GB HBM3**" in text
    assert "- `tests.json`: 1/2 cases passed" in text
    assert f"  - failed: `{VARIANT}_wgmma_long`" in text
    assert "  - stopped: random 3 [x] (hung)" in text
    assert "- memcheck: ========= ERROR SUMMARY: 0 errors; memcheck exit status: 0" in text
    # Call and device times; device against eager's device time.
    assert "| 1 | 131072 | 0.300 | 3.000 | 10.0x | 0.090 | 30 % | 0.250 | 11.6x | 36 % |" in text
    # The forms side by side, the fastest call in bold; a form a row did
    # not time is a dash.
    assert "| B | T | default | warps8_long | rowtiles2 |" in text
    assert "| 1 | 32768 | 0.100 (0.080) | **0.090** | – |" in text
    assert "| 1 | 131072 | 0.300 (0.250) | **0.170 (0.150)** | 0.250 |" in text
    # Each form's kernels, the default's longest first, a dash where a
    # form has no such kernel, and their sum.
    assert "| kernel | default | warps8_long |" in text
    assert "| chunkkv_score_stats | 120.0 | 80.5 |" in text
    assert "| chunkkv_compact_plan | – | 4.0 |" in text
    assert "| all | 129.0 | 93.5 |" in text
    assert text.index("chunkkv_score_stats |") < text.index("chunkkv_topk |")
    assert ("- B = 1, T = 131072, the default: 10.0x eager, 30 % of the roofline: "
            "targets (10x, 50 %) not met") in text
    assert ("- B = 1, T = 131072, the fastest form, `warps8_long`: 17.6x eager, 53 % of "
            "the roofline: targets (10x, 50 %) met") in text
    assert f"- `{VARIANT}_wgmma_long` not timed: failed the GPU tests" in text
    assert f"- `{VARIANT}_twopass` hung at B=1 T=131072" in text


def test_save_keeps_the_cited_files_and_summaries(tmp_path):
    run = tmp_path / "out"
    run.mkdir()
    write_run(run)
    kept = tmp_path / "kept"
    report(run, "--save", kept)
    assert sorted(os.listdir(kept)) == ["bench.json", "device.txt", "memcheck-summary.txt",
                                        "tests-summary.json"]
    summary = json.loads((kept / "tests-summary.json").read_text())
    assert summary["tests.json"]["passed"] == 1 and summary["tests.json"]["total"] == 2
    assert "ERROR SUMMARY: 0 errors" in (kept / "memcheck-summary.txt").read_text()
