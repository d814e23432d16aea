"""Time limits for the steps of the GPU scripts, and what a stopped run left.

A kernel that never ends blocks its caller in the driver for good: nothing
in the process returns to notice. `time_limit` runs a step with a timer
thread that, when the step takes too long, lets the caller record what hung
and ends the process with HUNG_EXIT_STATUS. The scripts write the step that
stopped them in their JSON (`stopped_in`), and a run started again leaves
that step's variant out (`stopped_variants`), so that one hung or faulting
form costs one time limit, not the rest of the run.
"""

import json
import os
import sys
import threading
from contextlib import contextmanager

HUNG_EXIT_STATUS = 3


@contextmanager
def time_limit(seconds, on_expiry):
    """Runs the body; if it has not ended after `seconds` (None or 0: no
    limit), calls `on_expiry()` from a timer thread and ends the process
    with HUNG_EXIT_STATUS (the thread stuck in the driver cannot be
    interrupted). `on_expiry` runs only while the body has not ended."""
    if not seconds:
        yield
        return

    # A body that ends as the timer fires is either recorded as ended or
    # hung, never both: the caller's record of it needs no lock of its own.
    ended = False
    decided = threading.Lock()

    def expire():
        with decided:
            if ended:
                return
            on_expiry()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(HUNG_EXIT_STATUS)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with decided:
            ended = True
        timer.cancel()


def stopped_variants(path):
    """The variants named in the `stopped_in` list of the JSON at `path`
    (test_gpu.py's or bench_gpu.py's): those whose case hung or lost the
    CUDA context there. Empty when the file does not exist."""
    if not path or not os.path.exists(path):
        return set()
    with open(path) as f:
        return {entry["variant"] for entry in json.load(f).get("stopped_in", [])}
