//===- TextLimits.h - limits checked before parsing MLIR text ---*- C++ -*-===//
//
// MLIR's parser recurses once per nested bracket, so text nesting brackets a
// few thousand deep overflows the stack. The chunkkv tools check the nesting
// before they parse and reject such input with a message instead.
//
//===----------------------------------------------------------------------===//

#ifndef CHUNKKV_SUPPORT_TEXTLIMITS_H
#define CHUNKKV_SUPPORT_TEXTLIMITS_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace chunkkv {

/// Deepest bracket nesting the tools parse; real IR stays far below it.
constexpr size_t kMaxNesting = 1000;

/// An error naming the line where `text` nests (), [], {} or <> deeper than
/// `limit` (brackets inside string literals do not count), or success.
llvm::Error checkNesting(llvm::StringRef text, size_t limit = kMaxNesting);

/// Runs `fn`, turning a crash (a signal such as SIGSEGV) into a false return
/// instead of ending the process. MLIR 22's parser crashes on some malformed
/// input (e.g. `linalg.transpose ... permutation = [x: f32`), so the tools
/// parse under this guard first. Under AddressSanitizer, its own handler
/// reports the crash first.
bool runRecoveringFromCrash(llvm::function_ref<void()> fn);

/// Whether `text` has `permutation =` or `dimensions =` followed by anything
/// but a `[...]` list of integers: input on which MLIR 22's parser may crash
/// (see runRecoveringFromCrash). The fuzz harnesses skip it.
bool hasMalformedIntegerList(llvm::StringRef text);

} // namespace chunkkv

#endif // CHUNKKV_SUPPORT_TEXTLIMITS_H
