//===- TextLimits.cpp - limits checked before parsing MLIR text -----------===//

#include "chunkkv/Support/TextLimits.h"

#include "llvm/Support/CrashRecoveryContext.h"

#include <mutex>

llvm::Error chunkkv::checkNesting(llvm::StringRef text, size_t limit) {
  size_t depth = 0, line = 1;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n')
      ++line;
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
      continue;
    }
    switch (c) {
    case '"':
      inString = true;
      break;
    case '(':
    case '[':
    case '{':
    case '<':
      if (++depth > limit)
        return llvm::createStringError(
            llvm::inconvertibleErrorCode(),
            "line " + llvm::Twine(line) + ": brackets nest deeper than " +
                llvm::Twine(limit) + " levels, which the parser does not "
                                     "accept");
      break;
    case ')':
    case ']':
    case '}':
    case '>':
      if (depth)
        --depth;
      break;
    default:
      break;
    }
  }
  return llvm::Error::success();
}

bool chunkkv::runRecoveringFromCrash(llvm::function_ref<void()> fn) {
  static std::once_flag enabled;
  std::call_once(enabled, [] { llvm::CrashRecoveryContext::Enable(); });
  llvm::CrashRecoveryContext context;
  return context.RunSafely(fn);
}

bool chunkkv::hasMalformedIntegerList(llvm::StringRef text) {
  for (llvm::StringRef key : {"permutation", "dimensions"}) {
    for (size_t at = text.find(key); at != llvm::StringRef::npos;
         at = text.find(key, at + 1)) {
      llvm::StringRef rest = text.drop_front(at + key.size()).ltrim(" \t\n");
      if (!rest.consume_front("="))
        continue;
      rest = rest.ltrim(" \t\n");
      size_t end = rest.find(']');
      if (!rest.starts_with("[") || end == llvm::StringRef::npos ||
          rest.substr(1, end - 1).find_first_not_of("0123456789, -\n") !=
              llvm::StringRef::npos)
        return true;
    }
  }
  return false;
}
