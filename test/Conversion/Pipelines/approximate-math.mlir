// RUN: chunkkv-opt %s -chunkkv-approximate-math | FileCheck %s

// CHECK-LABEL: func.func @vector_exp
// CHECK-NOT: math.exp
// CHECK: arith.mulf {{.*}} : vector<16xf32>
// CHECK: return
func.func @vector_exp(%x: vector<16xf32>) -> vector<16xf32> {
  %0 = math.exp %x : vector<16xf32>
  return %0 : vector<16xf32>
}

// CHECK-LABEL: func.func @untouched
// CHECK-NEXT: arith.addf
func.func @untouched(%x: f32) -> f32 {
  %0 = arith.addf %x, %x : f32
  return %0 : f32
}
