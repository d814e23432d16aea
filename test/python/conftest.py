import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
GOLDEN_DIR = os.path.join(ROOT, "test", "golden")

BUILD_DIR = os.environ.get("CHUNKKV_BUILD_DIR", os.path.join(ROOT, "build"))


def tool(name):
    """Path of a built chunkkv tool; tests that need it skip if it is absent."""
    import pytest

    path = os.path.join(BUILD_DIR, "bin", name)
    if not os.path.exists(path):
        pytest.skip(f"{path} is not built")
    return path
