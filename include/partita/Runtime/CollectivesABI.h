/*===- CollectivesABI.h - C ABI between compiled modules and the runtime ---===*
 *
 * `convert-collectives-to-runtime` lowers every collectives op to a call of
 * one of these functions. Buffers are contiguous, row-major, identity-layout
 * (the pass copies anything else into a fresh buffer first): the compiled
 * code passes the *aligned pointer* of each memref (memref.extract_aligned_
 * pointer_as_index + llvm.inttoptr) plus the element counts the op needs,
 * all static and computed by the compiler.
 *
 * Groups. `group` is a small integer id. The compiler numbers the distinct
 * (mesh, axes) pairs of a module 0, 1, 2, ... in order of first use and
 * records the table on the module:
 *
 *   module attributes {partita.collective_groups = [["data"], ["model"], []]}
 *
 * (and the mesh as `sharding.mesh`). Before calling @main the host registers
 * the same table with partita_runtime_add_group(), in order, so the ids
 * match. A group is the set of devices that differ only in the listed axes;
 * a device's position in its group is row-major over the listed axes, in the
 * order listed; the rank of a device is row-major over the mesh, axes major
 * to minor.
 *
 * Shapes are passed as (outer, inner) element counts:
 *   all_gather along dim d of a local block S over n devices:
 *     outer = prod(S[0..d)), inner = prod(S[d..])           (out: n*outer*inner)
 *   reduce_scatter along dim d, local result block S':
 *     outer = prod(S'[0..d)), inner = prod(S'[d..])         (in:  n*outer*inner)
 *   all_to_all split along s, concat along c, input S, output S'':
 *     splitOuter = prod(S[0..s)), splitInner = prod(S[s..]) / n,
 *     concatOuter = prod(S''[0..c)), concatInner = prod(S''[c..]) / n
 *
 * Errors (an MPI failure, an unknown group or dtype) print one line
 * `partita: error: rank R: <collective>: <cause>` and abort every rank.
 *===----------------------------------------------------------------------===*/

#ifndef PARTITA_RUNTIME_COLLECTIVESABI_H
#define PARTITA_RUNTIME_COLLECTIVESABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types; the numbering is part of the ABI. */
enum partita_dtype {
  PARTITA_F32 = 0, PARTITA_F64 = 1, PARTITA_F16 = 2, PARTITA_BF16 = 3,
  PARTITA_I1 = 4, PARTITA_I8 = 5, PARTITA_I16 = 6, PARTITA_I32 = 7, PARTITA_I64 = 8,
  PARTITA_U8 = 9, PARTITA_U16 = 10, PARTITA_U32 = 11, PARTITA_U64 = 12
};

/* Reductions; the same numbering as collectives::ReductionKind. */
enum partita_reduction {
  PARTITA_SUM = 0, PARTITA_MAX = 1, PARTITA_MIN = 2, PARTITA_PROD = 3
};

void partita_all_reduce(const void *in, void *out, int64_t count, int32_t dtype,
                        int32_t reduction, int32_t group);
void partita_all_gather(const void *in, void *out, int64_t outer, int64_t inner,
                        int32_t dtype, int32_t group);
void partita_reduce_scatter(const void *in, void *out, int64_t outer, int64_t inner,
                            int32_t dtype, int32_t reduction, int32_t group);
void partita_all_to_all(const void *in, void *out, int64_t splitOuter, int64_t splitInner,
                        int64_t concatOuter, int64_t concatInner, int32_t dtype,
                        int32_t group);
void partita_collective_permute(const void *in, void *out, int64_t count, int64_t shift,
                                int32_t dtype, int32_t group);
/* Point to point, no wrap-around: the device at group position p sends to
 * p + shift (if it exists); the receiver gets from p - shift, or zeros
 * where there is no such device. */
void partita_send(const void *in, int64_t count, int64_t shift, int32_t dtype, int32_t group);
void partita_recv(void *out, int64_t count, int64_t shift, int32_t dtype, int32_t group);
void partita_barrier(int32_t group);
/* This device's position in `group` and the group's size. */
int64_t partita_group_position(int32_t group);
int64_t partita_group_size(int32_t group);

/* Host side: set up before running compiled code. */
/* mesh: `rank` axis sizes, major to minor. Initializes MPI if needed.
 * Returns 0 on success; otherwise writes a one-line cause to `error`. */
int partita_runtime_init(const int64_t *meshSizes, int32_t meshRank, char *error,
                         int64_t errorSize);
/* The same with a backend: "mpi" (host buffers), or "nccl" (device buffers:
 * code compiled for the CUDA target; one GPU per rank, the CUDA runtime's
 * device and stream when partita_cuda_init ran first). */
int partita_runtime_init_backend(const int64_t *meshSizes, int32_t meshRank,
                                 const char *backend, char *error, int64_t errorSize);
/* Registers the next group id: `axes` are indices into the mesh axes. */
int32_t partita_runtime_add_group(const int32_t *axes, int32_t numAxes);
int32_t partita_runtime_rank(void);
/* Per-collective timeout in seconds (0: none); the default is 30, or the
 * environment's PARTITA_COLLECTIVE_TIMEOUT. A rank whose collective runs
 * longer prints one line and exits, and mpirun stops the others. */
void partita_runtime_set_collective_timeout(double seconds);
/* Wall seconds this rank has spent inside collectives (the entry points
 * above, waiting for the other ranks included) since partita_runtime_init. */
double partita_runtime_collective_seconds(void);
void partita_runtime_shutdown(void);

#ifdef __cplusplus
}
#endif

#endif /* PARTITA_RUNTIME_COLLECTIVESABI_H */
