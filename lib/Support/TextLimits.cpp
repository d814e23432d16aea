//===- TextLimits.cpp - limits checked before parsing MLIR text -----------===//

#include "chunkkv/Support/TextLimits.h"

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
