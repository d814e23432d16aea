// The C API end to end (and, in the sanitizer build, leak-free).
// RUN: chunkkv-capi-test | FileCheck %S/capi-test.c
