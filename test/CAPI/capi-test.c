/*===- capi-test.c - exercise the chunkkv C API ---------------------------===*\
|* Run by lit (test/CAPI/capi.mlir); in the sanitizer build, under          *|
|* AddressSanitizer and LeakSanitizer, so every object the API hands out    *|
|* must be freed by its destroy function or chunkkvFree.                    *|
\*===----------------------------------------------------------------------===*/

#include "chunkkv-c/ChunkKV.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void compileCase(ChunkkvContext *context, const char *module,
                        const char *pipeline) {
  char *output = NULL, *error = NULL;
  if (chunkkvCompile(context, module, pipeline, &output, &error)) {
    /* Print the first line of the diagnostics. */
    char *newline = strchr(error, '\n');
    if (newline)
      *newline = '\0';
    printf("error: %s\n", error);
    chunkkvFree(error);
    return;
  }
  printf("ok: %s\n", strstr(output, "scf.for") ? "lowered" : "verified");
  chunkkvFree(output);
}

int main(void) {
  ChunkkvContext *context = chunkkvContextCreate();
  const char *module =
      "func.func @f(%s: memref<1x4xf32>, %l: memref<1xi64>, %i: memref<1x1xi64>,"
      " %k: memref<1xi64>) {\n"
      "  chunkkv.topk_chunks #chunkkv.policy<paper, chunk = 2, window = 2, "
      "budget = 4> ins(%s, %l : memref<1x4xf32>, memref<1xi64>) outs(%i, %k : "
      "memref<1x1xi64>, memref<1xi64>)\n"
      "  return\n}\n";
  // CHECK: ok: verified
  compileCase(context, module, "");
  // CHECK: ok: lowered
  compileCase(context, module, "builtin.module(chunkkv-lower-to-loops)");
  // CHECK: error: the module does not parse or verify:
  compileCase(context, "func.func @f(", "");
  // CHECK: error: bad pass pipeline 'no-such-pass'
  compileCase(context, module, "no-such-pass");

  /* A kernel: one sequence of 10 tokens, q = 1, keys 0..9 (D = 1). */
  ChunkkvPolicy policy = {"paper", 2, 2, -1, NULL, 6, NAN, NAN};
  ChunkkvShape shape = {CHUNKKV_F32, 0, 1, 1, 1, 10, 1, 1.0f};
  char *error = NULL;
  ChunkkvSelectKernel *kernel = chunkkvSelectKernelCreate(&policy, &shape, &error);
  if (!kernel) {
    printf("kernel error: %s\n", error);
    chunkkvFree(error);
    return 1;
  }
  int64_t numScores, maxChosen;
  chunkkvSelectKernelSizes(kernel, &numScores, &maxChosen);
  // CHECK: sizes: 4 2
  printf("sizes: %lld %lld\n", (long long)numScores, (long long)maxChosen);
  float q[2] = {1.0f, 1.0f}, k[10], v[10], kOut[10], vOut[10], scores[4];
  for (int j = 0; j < 10; ++j)
    k[j] = v[j] = (float)j;
  int64_t lengths[1] = {10}, ids[2], kept[1], newLengths[1];
  if (chunkkvSelectKernelRun(kernel, q, k, v, lengths, scores, ids, kept, kOut,
                             vOut, newLengths, &error)) {
    printf("run error: %s\n", error);
    chunkkvFree(error);
    return 1;
  }
  /* Larger keys score higher: chunks 2 and 3 ([4, 8)), then the window. */
  int64_t positions[10];
  int64_t count =
      chunkkvSelectKernelKeptPositions(kernel, lengths[0], ids, positions);
  // CHECK: kept 6: 4 5 6 7 8 9
  printf("kept %lld:", (long long)count);
  for (int64_t i = 0; i < count; ++i)
    printf(" %lld", (long long)positions[i]);
  printf("\n");

  // CHECK: run error: length 11 of sequence 0 is outside [0, S = 10]
  lengths[0] = 11;
  if (chunkkvSelectKernelRun(kernel, q, k, v, lengths, scores, ids, kept, kOut,
                             vOut, newLengths, &error)) {
    printf("run error: %s\n", error);
    chunkkvFree(error);
  }
  chunkkvSelectKernelDestroy(kernel);

  // CHECK: kernel error: invalid policy{{.*}}budget (1) must be >= window (2)
  policy.budget = 1;
  kernel = chunkkvSelectKernelCreate(&policy, &shape, &error);
  if (!kernel) {
    for (char *c = error; *c; ++c)
      if (*c == '\n')
        *c = ' ';
    printf("kernel error: %s\n", error);
    chunkkvFree(error);
  }
  chunkkvContextDestroy(context);
  return 0;
}
