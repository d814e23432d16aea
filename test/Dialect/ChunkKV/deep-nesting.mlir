// Brackets nested deeper than the parser can recurse (a fuzzer finding: a
// stack overflow in MLIR's parser) are rejected with a message, not a crash.
// RUN: %python -c "print('func.func private @f() attributes {a = ' + '[' * 5000 + ']' * 5000 + '}')" \
// RUN:   | not chunkkv-opt 2>&1 | FileCheck %s
// RUN: chunkkv-opt %s | FileCheck %s --check-prefix=SHALLOW

// CHECK: chunkkv-opt: error: <stdin>: line 1: brackets nest deeper than 1000 levels, which the parser does not accept

// Ordinary nesting passes.
// SHALLOW: func.func private @g() attributes {a = {{\[\[\[}}1]]]}
func.func private @g() attributes {a = [[[1]]]}
