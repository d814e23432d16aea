"""Bundles the built C library (libChunkKVCAPI.so) into the package.

Build chunkkv first (bash scripts/build.sh); the library is taken from
$CHUNKKV_BUILD_DIR/lib, or ../build/lib next to this file.
"""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

LIBRARY = "libChunkKVCAPI.so"
# Built where ptxas exists; bundled when present.
CUDA_LIBRARIES = ("libchunkkv_cuda.so", "libchunkkv_cuda_runtime.so")


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        build = os.environ.get("CHUNKKV_BUILD_DIR", os.path.join(here, "..", "build"))
        library = os.path.join(build, "lib", LIBRARY)
        if not os.path.exists(library):
            print(f"warning: {library} not found; chunkkv.compile and chunkkv.compress "
                  "will look for it at run time")
            return
        target = os.path.join(self.build_lib, "chunkkv", "_lib")
        os.makedirs(target, exist_ok=True)
        shutil.copy2(library, target)
        for name in CUDA_LIBRARIES:
            path = os.path.join(build, "lib", name)
            if os.path.exists(path):
                shutil.copy2(path, target)


setup(cmdclass={"build_py": BuildPyWithLibrary})
