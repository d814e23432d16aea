"""The results of bench/gpu/run.sh as Markdown for docs/perf.md.

Reads the folder run.sh wrote ($OUT: device.txt, tests.json and, after a
rerun without overlapping launches, tests-serial.json, memcheck.log,
bench.json) and prints the tests' and memcheck's outcome, the benchmark's
table (call and device times against eager and the roofline), every
form's times side by side with the fastest, each form's kernels (with
--profile), and whether the targets at T = 131072 (10x eager, 50 % of the
roofline) were met.

  python3 bench/gpu/report.py OUT [--save bench/gpu/results/h100-2026-12-07]

--save keeps what docs/perf.md cites: bench.json, bench.log, device.txt and
ncu.txt as they are, the tests and memcheck as summaries
(tests-summary.json, memcheck-summary.txt).
"""

import argparse
import json
import os
import re
import shutil
import sys

TARGET_LENGTH = 131072
TARGET_SPEEDUP = 10.0
TARGET_ROOFLINE = 0.5


def load_json(folder, name):
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def device_name(folder):
    """The GPU's name from nvidia-smi's CSV (device.txt), else bench.json's."""
    path = os.path.join(folder, "device.txt")
    if os.path.exists(path):
        with open(path) as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        if len(lines) > 1:
            return lines[1].split(",")[0].strip()
    bench = load_json(folder, "bench.json")
    return bench["device"] if bench else "unknown device"


def tests_summary(tests):
    """passed, total, failed variants, stops and whether the run finished,
    from test_gpu.py's JSON."""
    results = tests["results"]
    return dict(passed=sum(r["ok"] for r in results), total=len(results),
                failed=sorted({r["variant"] for r in results if not r["ok"]}),
                stopped_in=tests.get("stopped_in", []),
                complete=tests.get("complete", True))


def memcheck_summary(folder):
    """The lines of memcheck.log that say how it went."""
    path = os.path.join(folder, "memcheck.log")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.strip() for line in f
                if re.search(r"ERROR SUMMARY|GPU cases passed|memcheck exit status|hung",
                             line)]


def ms(value):
    return "–" if value is None else f"{value:.3f}"


def ratio(value, unit="x"):
    if value is None:
        return "–"
    return f"{100 * value:.0f} %" if unit == "%" else f"{value:.1f}x"


def benchmark_lines(bench):
    """The headline table, the forms side by side, and the targets."""
    lines = [f"Copy bandwidth {bench['copy_bandwidth_gbs']:.0f} GB/s, medians of "
             f"{bench['reps']} runs.", "",
             "| B | T | chunkkv (ms) | eager (ms) | vs eager | roofline (ms) | of roofline "
             "| device time (ms) | device vs eager device | device of roofline |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in bench["rows"]:
        device = row.get("device_ms", {}).get("default")
        eager_device = row.get("eager_device_ms")
        lines.append(
            f"| {row['batch']} | {row['length']} | {ms(row['chunkkv_ms'])} | "
            f"{ms(row['eager_ms'])} | {ratio(row['speedup_vs_eager'])} | "
            f"{ms(row['roofline_ms'])} | {ratio(row['fraction_of_roofline'], '%')} | "
            f"{ms(device)} | "
            f"{ratio(eager_device / device if device and eager_device else None)} | "
            f"{ratio(row['roofline_ms'] / device if device else None, '%')} |")
    forms = form_times(bench)
    if len(forms) > 1 or "default" not in forms:
        lines += ["", "Every form, call (device) in ms; the fastest call per row in bold:", "",
                  "| B | T | " + " | ".join(forms) + " |",
                  "|---|---|" + "---|" * len(forms)]
        for row in bench["rows"]:
            calls = row_calls(bench, row)
            fastest = min(calls, key=calls.get) if calls else None
            cells = []
            for form in forms:
                if form not in calls:
                    cells.append("–")
                    continue
                device = row.get("device_ms", {}).get(form)
                cell = ms(calls[form]) + (f" ({ms(device)})" if device else "")
                cells.append(f"**{cell}**" if form == fastest else cell)
            lines.append(f"| {row['batch']} | {row['length']} | " + " | ".join(cells) + " |")
    lines += kernel_lines(bench)
    lines += [""] + target_lines(bench)
    for name, why in sorted(bench.get("not_timed", {}).items()):
        lines.append(f"- `{name}` not timed: {why}")
    for name, error in sorted(bench.get("errors", {}).items()):
        lines.append(f"- `{name}` failed: {error}")
    for entry in bench.get("stopped_in", []):
        lines.append(f"- `{entry['variant']}` {entry['why']} at {entry['case']}")
    return lines


def row_calls(bench, row):
    """Form ("default" or the alternate's suffix) -> call time (ms) of a row."""
    calls = {}
    if row.get("chunkkv_ms") is not None:
        calls["default"] = row["chunkkv_ms"]
    prefix = bench.get("variant", "") + "_"
    for name, value in row.get("alternates_ms", {}).items():
        calls[name[len(prefix):] if name.startswith(prefix) else name] = value
    return calls


def form_times(bench):
    """Every form timed in any row, the default first."""
    forms = []
    for row in bench["rows"]:
        for form in row_calls(bench, row):
            if form not in forms:
                forms.append(form)
    return sorted(forms, key=lambda form: form != "default")


def kernel_lines(bench):
    """Each form's kernels (µs, from --profile), the default's longest first."""
    profiles = bench.get("kernel_us") or {}
    if not profiles:
        return []
    forms = sorted(profiles, key=lambda form: form != "default")
    first = profiles[forms[0]]
    kernels = sorted(first, key=first.get, reverse=True)
    kernels += sorted({k for times in profiles.values() for k in times} - set(kernels))
    lines = ["", f"Per kernel at B = 1, T = {bench.get('profile_length', TARGET_LENGTH)} "
             "(µs, `--profile`):", "",
             "| kernel | " + " | ".join(forms) + " |", "|---|" + "---|" * len(forms)]
    for kernel in kernels + ["all"]:
        cells = []
        for form in forms:
            times = profiles[form]
            value = sum(times.values()) if kernel == "all" else times.get(kernel)
            cells.append("–" if value is None else f"{value:.1f}")
        lines.append(f"| {kernel} | " + " | ".join(cells) + " |")
    return lines


def target_lines(bench):
    """Whether the default and the fastest form met the issue's targets at
    T = 131072, by call time."""
    lines = []
    for row in bench["rows"]:
        if row["length"] != TARGET_LENGTH:
            continue
        calls = row_calls(bench, row)
        if not calls:
            continue
        eager, roofline = row["eager_ms"], row["roofline_ms"]
        fastest = min(calls, key=calls.get)
        forms = ["default"] if "default" in calls else []
        if fastest != "default":
            forms.append(fastest)
        for form in forms:
            label = "the default" if form == "default" else f"the fastest form, `{form}`"
            speedup, fraction = eager / calls[form], roofline / calls[form]
            met = speedup >= TARGET_SPEEDUP and fraction >= TARGET_ROOFLINE
            lines.append(f"- B = {row['batch']}, T = {row['length']}, {label}: "
                         f"{speedup:.1f}x eager, {100 * fraction:.0f} % of the "
                         f"roofline: targets (10x, 50 %) "
                         f"{'met' if met else 'not met'}")
    return lines


def tests_lines(folder):
    lines = []
    for name in ("tests.json", "tests-serial.json"):
        tests = load_json(folder, name)
        if tests is None:
            continue
        summary = tests_summary(tests)
        state = "" if summary["complete"] else " (did not finish)"
        lines.append(f"- `{name}`: {summary['passed']}/{summary['total']} cases "
                     f"passed{state}")
        if summary["failed"]:
            lines.append("  - failed: " + ", ".join(f"`{v}`" for v in summary["failed"]))
        for entry in summary["stopped_in"]:
            lines.append(f"  - stopped: {entry['case']} ({entry['why']})")
    if not lines:
        lines.append("- no tests.json: the tests did not run")
    memcheck = memcheck_summary(folder)
    lines.append("- memcheck: " + ("; ".join(memcheck) if memcheck else "no memcheck.log"))
    return lines


def report(folder):
    lines = [f"`bash bench/gpu/run.sh` on an **{device_name(folder)}**.", ""]
    lines += tests_lines(folder)
    bench = load_json(folder, "bench.json")
    lines += [""] + (benchmark_lines(bench) if bench else ["No bench.json: the benchmark "
                                                           "did not run."])
    return "\n".join(lines) + "\n"


def save(folder, destination):
    """Copies what docs/perf.md cites into `destination`."""
    os.makedirs(destination, exist_ok=True)
    for name in ("bench.json", "bench.log", "device.txt", "ncu.txt"):
        if os.path.exists(os.path.join(folder, name)):
            shutil.copy(os.path.join(folder, name), destination)
    summaries = {}
    for name in ("tests.json", "tests-serial.json"):
        tests = load_json(folder, name)
        if tests is not None:
            summaries[name] = tests_summary(tests)
    with open(os.path.join(destination, "tests-summary.json"), "w") as f:
        json.dump(summaries, f, indent=1)
    with open(os.path.join(destination, "memcheck-summary.txt"), "w") as f:
        f.write("\n".join(memcheck_summary(folder)) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", help="run.sh's $OUT")
    parser.add_argument("--save", metavar="DIR", help="keep the results in DIR")
    args = parser.parse_args()
    if not os.path.isdir(args.folder):
        sys.exit(f"{args.folder}: no such folder")
    sys.stdout.write(report(args.folder))
    if args.save:
        save(args.folder, args.save)


if __name__ == "__main__":
    main()
