/* Lowers a chunkkv op through the installed C API. */
#include "chunkkv-c/ChunkKV.h"

#include <stdio.h>
#include <string.h>

int main(void) {
  const char *module =
      "func.func @f(%s: memref<1x4xf32>, %l: memref<1xi64>, %i: memref<1x1xi64>,"
      " %k: memref<1xi64>) {\n"
      "  chunkkv.topk_chunks #chunkkv.policy<paper, chunk = 2, window = 2, "
      "budget = 4> ins(%s, %l : memref<1x4xf32>, memref<1xi64>) outs(%i, %k : "
      "memref<1x1xi64>, memref<1xi64>)\n"
      "  return\n}\n";
  ChunkkvContext *context = chunkkvContextCreate();
  char *output = NULL, *error = NULL;
  int status = chunkkvCompile(context, module,
                              "builtin.module(chunkkv-cpu-pipeline)", &output,
                              &error);
  if (status) {
    printf("error: %s\n", error);
    chunkkvFree(error);
  } else {
    printf("capi: %s\n", strstr(output, "llvm.func @f") ? "lowered to LLVM" : "?");
    chunkkvFree(output);
  }
  chunkkvContextDestroy(context);
  return status;
}
