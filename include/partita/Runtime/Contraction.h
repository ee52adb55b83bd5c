//===- Contraction.h - GEMM-class linalg ops as calls into BLAS -*- C++ -*-===//
//
// After bufferization, partita-contractions-to-calls (lib/Target/CPU) turns
// every f32/f64 contraction (linalg.matmul, linalg.batch_matmul, a
// contraction linalg.generic: projected-permutation maps, body
// `out + a * b`) into one call
//
//   partita_contract_f32(memref<*xf32> A, memref<*xf32> B, memref<*xf32> C,
//                        i64 numLoops, i64 mapA, i64 mapB, i64 mapC)
//
// where nibble i of mapX is the loop dimension that indexes dimension i of X.
// The runtime (ContractionRuntime.cpp) plans the loops as GEMMs (GemmPlan.h:
// batch, M, N and K, collapsed where the strides allow, a loop over the rest)
// and calls cblas_sgemm/dgemm (OpenBLAS) with beta = 1; layouts BLAS cannot
// take run a strided reference loop instead.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_CONTRACTION_H
#define PARTITA_RUNTIME_CONTRACTION_H

#include <cstdint>

extern "C" {
void partita_contract_f32(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankC,
                          void *c, int64_t numLoops, int64_t mapA, int64_t mapB,
                          int64_t mapC);
void partita_contract_f64(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankC,
                          void *c, int64_t numLoops, int64_t mapA, int64_t mapB,
                          int64_t mapC);
/// BLAS threads (OpenBLAS); returns the number in effect.
int partita_set_num_threads(int n);
/// Whether BLAS calls were compiled in (else the reference loops run).
int partita_have_blas();
/// The BLAS thread count of runs: PARTITA_NUM_THREADS, else the number of
/// CPUs in this process's affinity mask (2 on the reference machine; 1 per
/// rank when mpirun binds ranks to cores). What the executor and `partita
/// calibrate` pass to partita_set_num_threads.
int partita_configured_num_threads();
}

#endif
