//===- FuzzParseVerify.cpp - fuzz parsing and verifying chunkkv IR --------===//
//
// Parses the input as an MLIR module with the chunkkv and upstream dialects
// registered and verifies it. Diagnostics are swallowed; crashes, sanitizer
// reports and hangs are findings.
//
//===----------------------------------------------------------------------===//

#include "FuzzCommon.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  chunkkv::FuzzContext fuzz;
  (void)fuzz.parse(data, size);
  return 0;
}
