// RUN: not chunkkv-opt %s -chunkkv-lower-to-gpu="tokens-per-block=48" 2>&1 | FileCheck %s

// RUN: not chunkkv-opt %s -chunkkv-lower-to-gpu="single-pass=maybe" 2>&1 | FileCheck %s --check-prefix=PASSES
// RUN: not chunkkv-opt %s -chunkkv-lower-to-gpu="mma-row-tiles=3" 2>&1 | FileCheck %s --check-prefix=TILES
// RUN: not chunkkv-opt %s -chunkkv-lower-to-gpu="key-stages=1" 2>&1 | FileCheck %s --check-prefix=STAGES
// CHECK: error: chunkkv-lower-to-gpu: tokens-per-block must be a positive multiple of 32, got 48
// PASSES: for the --single-pass option: 'maybe' is invalid value for boolean argument
// TILES: error: chunkkv-lower-to-gpu: mma-row-tiles must be 1 or 2, got 3
// RUN: not chunkkv-opt %s -chunkkv-lower-to-gpu="min-blocks-per-sm=5" 2>&1 | FileCheck %s --check-prefix=BLOCKS
// BLOCKS: error: chunkkv-lower-to-gpu: min-blocks-per-sm must be 0 (no bound) to 4, got 5
// STAGES: error: chunkkv-lower-to-gpu: key-stages must be 2, 3 or 4, got 1
// RUN: not chunkkv-opt %s -chunkkv-lower-to-gpu="shared-memory-per-block=32768" 2>&1 | FileCheck %s --check-prefix=SMALL
// RUN: not chunkkv-opt %s -chunkkv-lower-to-gpu="shared-memory-per-block=262144" 2>&1 | FileCheck %s --check-prefix=LARGE
// RUN: not chunkkv-opt %s -chunkkv-lower-to-gpu="mma-warps=6" 2>&1 | FileCheck %s --check-prefix=WARPS
// WARPS: error: chunkkv-lower-to-gpu: mma-warps must be 4 or 8, got 6
// RUN: not chunkkv-opt %s -chunkkv-lower-to-gpu="warpgroup-mma=sometimes" 2>&1 | FileCheck %s --check-prefix=WGMMA
// WGMMA: for the --warpgroup-mma option: 'sometimes' is invalid value for boolean argument
// SMALL: error: chunkkv-lower-to-gpu: shared-memory-per-block must be 49152 to 232448 bytes, got 32768
// LARGE: error: chunkkv-lower-to-gpu: shared-memory-per-block must be 49152 to 232448 bytes, got 262144
func.func @f() {
  return
}
