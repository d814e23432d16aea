//===- BufferizableOpInterfaceImpl.h - chunkkv bufferization ----*- C++ -*-===//

#ifndef CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
#define CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;
namespace chunkkv {
/// Lets One-Shot Bufferize turn the tensor forms of the chunkkv ops into their
/// memref forms.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);
} // namespace chunkkv
} // namespace mlir

#endif // CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
