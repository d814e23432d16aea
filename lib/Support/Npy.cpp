//===- Npy.cpp - NumPy .npy files -----------------------------------------===//

#include "chunkkv/Support/Npy.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/MathExtras.h"

using namespace chunkkv;
using llvm::StringRef;

size_t chunkkv::elementSize(ElementType type) {
  switch (type) {
  case ElementType::f32:
  case ElementType::i32:
    return 4;
  case ElementType::f16:
  case ElementType::bf16:
    return 2;
  case ElementType::i64:
    return 8;
  }
  llvm_unreachable("unknown element type");
}

StringRef chunkkv::elementTypeName(ElementType type) {
  switch (type) {
  case ElementType::f32:
    return "f32";
  case ElementType::f16:
    return "f16";
  case ElementType::bf16:
    return "bf16";
  case ElementType::i32:
    return "i32";
  case ElementType::i64:
    return "i64";
  }
  llvm_unreachable("unknown element type");
}

StringRef chunkkv::mlirTypeName(ElementType type) {
  return elementTypeName(type);
}

NpyArray NpyArray::zeros(ElementType type, std::vector<int64_t> shape) {
  NpyArray array;
  array.type = type;
  array.shape = std::move(shape);
  array.owned.assign(array.numBytes(), 0);
  return array;
}

char *NpyArray::mutableBytes() {
  assert(!file && "arrays read from files are read-only");
  return owned.data();
}

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

static llvm::Error npyError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

namespace {
/// A tiny reader for the Python-literal dictionary of a .npy header.
class HeaderParser {
public:
  explicit HeaderParser(StringRef text) : rest(text) {}

  llvm::Error parse(std::string &descr, bool &fortran,
                    std::vector<int64_t> &shape) {
    bool haveDescr = false, haveFortran = false, haveShape = false;
    skipSpace();
    if (!consume('{'))
      return npyError("header is not a dictionary");
    while (true) {
      skipSpace();
      if (consume('}'))
        break;
      std::string key;
      if (!parseString(key))
        return npyError("malformed header key");
      skipSpace();
      if (!consume(':'))
        return npyError("malformed header: expected ':' after '" + key + "'");
      skipSpace();
      if (key == "descr") {
        if (!parseString(descr))
          return npyError("header 'descr' is not a string (structured dtypes "
                          "are not supported)");
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (rest.consume_front("True"))
          fortran = true;
        else if (rest.consume_front("False"))
          fortran = false;
        else
          return npyError("header 'fortran_order' is not True or False");
        haveFortran = true;
      } else if (key == "shape") {
        if (llvm::Error e = parseShape(shape))
          return e;
        haveShape = true;
      } else {
        return npyError("unknown header key '" + key + "'");
      }
      skipSpace();
      if (consume('}'))
        break;
      if (!consume(','))
        return npyError("malformed header: expected ',' or '}'");
    }
    if (!haveDescr || !haveFortran || !haveShape)
      return npyError("header lacks 'descr', 'fortran_order' or 'shape'");
    return llvm::Error::success();
  }

private:
  void skipSpace() { rest = rest.ltrim(" \t\n"); }
  bool consume(char c) { return rest.consume_front(StringRef(&c, 1)); }

  bool parseString(std::string &out) {
    if (rest.empty() || (rest.front() != '\'' && rest.front() != '"'))
      return false;
    char quote = rest.front();
    size_t end = rest.find(quote, 1);
    if (end == StringRef::npos)
      return false;
    out = rest.substr(1, end - 1).str();
    rest = rest.drop_front(end + 1);
    return true;
  }

  /// Replaces `shape`: of a key the header repeats, the last value counts,
  /// as in NumPy's reading of the dictionary.
  llvm::Error parseShape(std::vector<int64_t> &shape) {
    if (!consume('('))
      return npyError("header 'shape' is not a tuple");
    shape.clear();
    uint64_t total = 1;
    while (true) {
      skipSpace();
      if (consume(')'))
        return llvm::Error::success();
      size_t digits = rest.find_first_not_of("0123456789");
      StringRef number = rest.substr(0, digits);
      uint64_t value;
      if (number.empty() || number.size() > 18 ||
          number.getAsInteger(10, value))
        return npyError("header 'shape' has an entry that is not a "
                        "non-negative integer below 10^18");
      rest = rest.drop_front(number.size());
      bool overflow = false;
      total = llvm::SaturatingMultiply(total, value, &overflow);
      if (overflow || total > (uint64_t(1) << 62))
        return npyError("shape's element count overflows");
      shape.push_back(static_cast<int64_t>(value));
      skipSpace();
      if (consume(')'))
        return llvm::Error::success();
      if (!consume(','))
        return npyError("header 'shape' is malformed");
    }
  }

  StringRef rest;
};
} // namespace

static llvm::Expected<ElementType> parseDescr(StringRef descr,
                                              const NpyReadOptions &options) {
  if (descr == "bfloat16")
    return ElementType::bf16;
  if (descr.size() < 2)
    return npyError("unsupported dtype '" + descr + "'");
  char order = descr.front();
  StringRef kind = descr.drop_front();
  if (order == '>')
    return npyError("big-endian dtype '" + descr + "' is not supported");
  if (order != '<' && order != '=' && order != '|')
    return npyError("unsupported dtype '" + descr + "'");
  if (kind == "f4")
    return ElementType::f32;
  if (kind == "f2")
    return ElementType::f16;
  if (kind == "i4")
    return ElementType::i32;
  if (kind == "i8")
    return ElementType::i64;
  if (kind == "V2") {
    if (options.voidTwoBytesIsBF16)
      return ElementType::bf16;
    return npyError("dtype '" + descr +
                    "' is ambiguous (NumPy writes ml_dtypes.bfloat16 so); "
                    "pass --dtype=bf16 to read it as bf16");
  }
  return npyError("unsupported dtype '" + descr +
                  "' (expected f32, f16, bf16, i32 or i64)");
}

namespace chunkkv {
/// Parses `bytes`; with `file` set, the array keeps it alive and points into
/// it, otherwise it copies the data.
llvm::Expected<NpyArray> parseNpyImpl(StringRef bytes,
                                      const NpyReadOptions &options,
                                      std::shared_ptr<void> file) {
  static constexpr StringRef magic("\x93NUMPY", 6);
  if (!bytes.starts_with(magic))
    return npyError("not a .npy file (bad magic)");
  if (bytes.size() < 10)
    return npyError("truncated header");
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLength, headerStart;
  if (major == 1) {
    headerLength = static_cast<unsigned char>(bytes[8]) |
                   (static_cast<size_t>(static_cast<unsigned char>(bytes[9]))
                    << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return npyError("truncated header");
    headerLength = 0;
    for (int i = 0; i < 4; ++i)
      headerLength |= static_cast<size_t>(static_cast<unsigned char>(
                          bytes[8 + i]))
                      << (8 * i);
    headerStart = 12;
  } else {
    return npyError("unsupported .npy version " + llvm::Twine(major));
  }
  if (headerLength > bytes.size() - headerStart)
    return npyError("truncated header (it claims " + llvm::Twine(headerLength) +
                    " bytes, the file has " +
                    llvm::Twine(bytes.size() - headerStart) + ")");

  std::string descr;
  bool fortran = false;
  NpyArray array;
  if (llvm::Error e = HeaderParser(bytes.substr(headerStart, headerLength))
                          .parse(descr, fortran, array.shape))
    return std::move(e);
  if (fortran)
    return npyError("Fortran-order arrays are not supported (save with "
                    "np.ascontiguousarray)");
  llvm::Expected<ElementType> type = parseDescr(descr, options);
  if (!type)
    return type.takeError();
  array.type = *type;

  uint64_t count = static_cast<uint64_t>(array.numElements());
  bool overflow = false;
  uint64_t needed =
      llvm::SaturatingMultiply(count, uint64_t(elementSize(array.type)),
                               &overflow);
  StringRef payload = bytes.drop_front(headerStart + headerLength);
  if (overflow || needed != payload.size())
    return npyError("data has " + llvm::Twine(payload.size()) +
                    " bytes, the shape needs " + llvm::Twine(needed));
  if (file) {
    array.file = std::move(file);
    array.fileBytes = payload.data();
  } else {
    array.owned.assign(payload.begin(), payload.end());
  }
  return array;
}
} // namespace chunkkv

llvm::Expected<NpyArray> chunkkv::parseNpy(StringRef bytes,
                                           const NpyReadOptions &options) {
  return parseNpyImpl(bytes, options, nullptr);
}

llvm::Expected<NpyArray> chunkkv::readNpy(StringRef path,
                                          const NpyReadOptions &options) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return npyError(path + ": " + buffer.getError().message());
  StringRef bytes = (*buffer)->getBuffer();
  std::shared_ptr<llvm::MemoryBuffer> file = std::move(*buffer);
  llvm::Expected<NpyArray> array = parseNpyImpl(bytes, options, file);
  if (!array)
    return npyError(path + ": " + llvm::toString(array.takeError()));
  return array;
}

void chunkkv::writeNpy(llvm::raw_ostream &os, const NpyArray &array) {
  StringRef descr;
  switch (array.type) {
  case ElementType::f32:
    descr = "<f4";
    break;
  case ElementType::f16:
    descr = "<f2";
    break;
  case ElementType::bf16:
    descr = "<V2";
    break;
  case ElementType::i32:
    descr = "<i4";
    break;
  case ElementType::i64:
    descr = "<i8";
    break;
  }
  std::string shape;
  for (int64_t d : array.shape)
    shape += std::to_string(d) + ", ";
  if (array.shape.size() > 1)
    shape.resize(shape.size() - 2);
  else if (array.shape.size() == 1)
    shape.pop_back();
  std::string header = "{'descr': '" + descr.str() +
                       "', 'fortran_order': False, 'shape': (" + shape + "), }";
  // Pad with spaces so that the data starts at a multiple of 64 bytes.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  os.write("\x93NUMPY\x01\x00", 8);
  os << static_cast<char>(header.size() & 0xff)
     << static_cast<char>(header.size() >> 8) << header;
  os.write(array.bytes(), array.numBytes());
}
