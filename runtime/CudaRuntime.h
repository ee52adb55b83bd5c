//===- CudaRuntime.h - the CUDA target's host runtime (C ABI) ---*- C++ -*-===//
//
// What code compiled for the CUDA target calls, and what the executor uses
// to move tensors to and from the device. Built without the CUDA toolkit:
// libcuda (the driver) and libcublas are opened with dlopen the first time
// they are needed, so a binary starts on a machine without a GPU or driver,
// and partita_cuda_init says why it cannot run in one line.
//
//  - mgpu*: the functions MLIR's gpu-to-llvm lowering calls (module load,
//    launch, streams, events, device memory); Debian's MLIR does not ship
//    them. Every stream the code asks for is the process's one stream, which
//    cuBLAS (partita_cuda_contract_*) and NCCL share, so work is ordered
//    without events.
//  - errors cannot be returned to generated code: the first failing driver
//    call is recorded, later calls do nothing, and the executor reports it
//    after the step (partita_cuda_error).
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_CUDARUNTIME_H
#define PARTITA_RUNTIME_CUDARUNTIME_H

#include <cstddef>
#include <cstdint>

extern "C" {
/// Opens the driver, picks device `device` (the rank's GPU) and creates the
/// stream. 0 on success; else non-zero with a one-line reason in `error`
/// ("no CUDA device: ...").
int partita_cuda_init(int device, char *error, size_t errorSize);
/// The GPU this process should use: PARTITA_CUDA_DEVICE, else the MPI
/// launcher's local rank (one GPU per rank), else 0.
int partita_cuda_default_device();
/// The device partita_cuda_init chose; -1 before (or after it failed).
int partita_cuda_device();
/// "sm_90" etc. for the device partita_cuda_init chose; empty before.
const char *partita_cuda_chip();
/// Device memory (0 bytes gives a valid 1-byte allocation).
void *partita_cuda_alloc(size_t bytes);
void partita_cuda_free(void *device);
void partita_cuda_copy_to_device(void *device, const void *host, size_t bytes);
void partita_cuda_copy_to_host(void *host, const void *device, size_t bytes);
/// Waits for the stream.
void partita_cuda_synchronize();
/// The first error since the last call (and clears it); null when none.
const char *partita_cuda_error();
/// The process's stream (a CUstream == cudaStream_t).
void *partita_cuda_stream();

/// C[...] += A[...] * B[...] through cuBLAS on device memrefs, the same
/// operands as partita_contract_f32/f64 (Contraction.h). PARTITA_CUDA_TF32=1
/// allows TF32 tensor cores for f32.
void partita_cuda_contract_f32(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankC,
                               void *c, int64_t numLoops, int64_t mapA, int64_t mapB,
                               int64_t mapC);
void partita_cuda_contract_f64(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankC,
                               void *c, int64_t numLoops, int64_t mapA, int64_t mapB,
                               int64_t mapC);
}

namespace partita::cuda {
/// Records `message` as the error partita_cuda_error returns, unless one is
/// already recorded. False, for `return fail(...)`.
bool fail(const char *message);
/// Whether an error is recorded (later work is skipped).
bool failed();
} // namespace partita::cuda

#endif // PARTITA_RUNTIME_CUDARUNTIME_H
