// Bad options of chunkkv-gpu-pipeline are reported before anything runs.
// RUN: not chunkkv-opt %s -chunkkv-gpu-pipeline="format=elf" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not chunkkv-opt %s -chunkkv-gpu-pipeline="chip=gfx90a" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not chunkkv-opt %s -chunkkv-gpu-pipeline="tokens-per-block=48" 2>&1 | FileCheck %s --check-prefix=SPAN
// FORMAT: chunkkv-gpu-pipeline: format must be isa, bin or fatbin, got 'elf'
// CHIP: chunkkv-gpu-pipeline: chip must be sm_70 or newer (sm_80, sm_90, sm_90a, ...), got 'gfx90a'
// RUN: not chunkkv-opt %s -chunkkv-gpu-pipeline="single-pass=maybe" 2>&1 | FileCheck %s --check-prefix=PASSES
// SPAN: chunkkv-gpu-pipeline: tokens-per-block must be a positive multiple of 32, got 48
// RUN: not chunkkv-opt %s -chunkkv-gpu-pipeline="mma-row-tiles=0" 2>&1 | FileCheck %s --check-prefix=TILES
// TILES: chunkkv-gpu-pipeline: mma-row-tiles must be 1 or 2, got 0
// RUN: not chunkkv-opt %s -chunkkv-gpu-pipeline="key-stages=5" 2>&1 | FileCheck %s --check-prefix=STAGES
// STAGES: chunkkv-gpu-pipeline: key-stages must be 2, 3 or 4, got 5
// RUN: not chunkkv-opt %s -chunkkv-gpu-pipeline="min-blocks-per-sm=-1" 2>&1 | FileCheck %s --check-prefix=BLOCKS
// BLOCKS: chunkkv-gpu-pipeline: min-blocks-per-sm must be 0 (no bound) to 4, got -1
// RUN: not chunkkv-opt %s -chunkkv-gpu-pipeline="shared-memory-per-block=1000" 2>&1 | FileCheck %s --check-prefix=SHARED
// RUN: not chunkkv-opt %s -chunkkv-gpu-pipeline="mma-warps=2" 2>&1 | FileCheck %s --check-prefix=WARPS
// WARPS: chunkkv-gpu-pipeline: mma-warps must be 4 or 8, got 2
// RUN: not chunkkv-opt %s -chunkkv-gpu-pipeline="chip=sm_90 warpgroup-mma=true" 2>&1 | FileCheck %s --check-prefix=WGMMA
// WGMMA: chunkkv-gpu-pipeline: warpgroup-mma needs chip=sm_90a (wgmma exists on sm_90a only), got 'sm_90'
// RUN: not chunkkv-opt %s -chunkkv-gpu-pipeline="chip=sm_80 dependent-launches=true" 2>&1 | FileCheck %s --check-prefix=DEPENDENT
// DEPENDENT: chunkkv-gpu-pipeline: dependent-launches needs chip=sm_90 or newer (griddepcontrol), got 'sm_80'
// SHARED: chunkkv-gpu-pipeline: shared-memory-per-block must be 49152 to 232448 bytes, got 1000
// PASSES: for the --single-pass option: 'maybe' is invalid value for boolean argument
func.func @f() {
  return
}
