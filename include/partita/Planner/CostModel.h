//===- CostModel.h - predicted step time and memory per device --*- C++ -*-===//
//
// Runs on a partitioned module (the output of sharding-partition): every
// tensor type is a per-device (local) shape, and communication is explicit
// `collectives.*` ops. Compute: roofline per op, max(FLOPs / peak, bytes /
// memory bandwidth). Communication: alpha-beta per collective on the link of
// its mesh axes. Memory: parameters and inputs (local sizes) plus the peak
// of live activations over the op order. Formulas: docs/planner.md.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_PLANNER_COSTMODEL_H
#define PARTITA_PLANNER_COSTMODEL_H

#include "partita/Planner/Cluster.h"
#include "partita/Support/Naming.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace partita::planner {

/// FLOPs of one graph op on the shapes of its operands/results (0 for data
/// movement and unknown ops).
double opFlops(mlir::Operation *op);
/// Bytes an op reads and writes (operands + results; 0 for views such as
/// reshape and for constants).
double opBytes(mlir::Operation *op);
/// Bytes of a ranked tensor type (sub-byte types round up to a byte).
double tensorBytes(mlir::Type type);

/// graph.attention as the targets run it (graph-expand-composites): the
/// two GEMMs (scores = q k^T, out = probs v) and the [batch, sq, sk] score
/// tensor materialized between them, read and written by the scale, the
/// masks and the softmax: `scorePasses` passes over it (7, plus 2 per
/// additive mask, the causal one included). The same shape of work prices
/// the attention forms' blocks (passes/Sequence/FormCosts.cpp).
struct AttentionWork {
  double gemmFlops = 0;  ///< 2·batch·sq·sk·(d + dv)
  double otherFlops = 0; ///< 5·batch·sq·sk (softmax)
  double scoreBytes = 0; ///< scorePasses · batch·sq·sk · element bytes
  double flops() const { return gemmFlops + otherFlops; }
};
AttentionWork attentionWork(double batch, double sq, double sk, double d, double dv,
                            double scorePasses, double elementBytes);
/// Score passes of graph.attention with `masks` additive masks.
inline double attentionScorePasses(int masks) { return 7 + 2 * masks; }
/// Seconds on `device`: GEMMs at the peak of `dtype`, the score passes at
/// the memory bandwidth (they are separate loop nests, so the times add).
double attentionTime(const DeviceSpec &device, llvm::StringRef dtype, const AttentionWork &work,
                     double operandBytes);

/// What one parameter costs a device in training, in bytes: the parameter,
/// its gradient, and `optimizerStates` tensors of optimizer state of the
/// parameter's size and type (0: plain SGD, 1: SGD with momentum, 2: AdamW).
/// ZeRO stage 1 divides the optimizer state over the `dataParallel` ranks,
/// stage 2 also the gradient, stage 3 also the parameter (REFERENCES.md:
/// with f32 AdamW, 16 bytes per element without ZeRO, 8 + 8/N with ZeRO-1,
/// 4 + 12/N with ZeRO-2, 16/N with ZeRO-3).
struct TrainingStateBytes {
  double parameters = 0, gradients = 0, optimizer = 0;
  double total() const { return parameters + gradients + optimizer; }
};
TrainingStateBytes trainingStateBytes(double paramBytes, unsigned optimizerStates, int zeroStage,
                                      int64_t dataParallel);

/// Alpha-beta time of one collective of `bytes` over a group of `n` devices
/// on `link` (kind: all_reduce, all_gather, reduce_scatter, all_to_all,
/// collective_permute). `bytes` is the full tensor: the all_reduce operand,
/// the all_gather result, the reduce_scatter / all_to_all operand.
double collectiveTime(const Cluster &cluster, llvm::StringRef kind, double bytes,
                      int64_t n, const LinkSpec &link);

struct OpCost {
  std::string name;  ///< tensor name (first result), may be empty
  std::string op;    ///< op name, e.g. graph.matmul
  std::string layer; ///< layer group ("layers.0") or "other"
  double flops = 0, bytes = 0, computeTime = 0;
  // Collectives only.
  std::string collective; ///< all_reduce, ... ; empty for compute ops
  std::vector<std::string> axes;
  int64_t groupSize = 1;
  double commBytes = 0; ///< the S of the alpha-beta formula
  double elements = 0;  ///< elements of that tensor
  std::string link;
  double commTime = 0;
};

struct LayerCost {
  std::string layer;
  double computeTime = 0, commTime = 0, flops = 0, commBytes = 0;
  unsigned collectives = 0;
};

struct CostReport {
  std::string cluster;
  int64_t devices = 1;
  std::vector<OpCost> ops;      ///< in program order
  std::vector<LayerCost> layers; ///< in order of first appearance
  double computeTime = 0, commTime = 0;
  double stepTime() const { return computeTime + commTime; }
  double flops = 0;
  // Memory per device, bytes.
  double parameterBytes = 0, inputBytes = 0, peakActivationBytes = 0;
  std::string peakAfter; ///< tensor whose definition reached the peak
  double memoryCapacity = 0;
  double peakMemory() const { return parameterBytes + inputBytes + peakActivationBytes; }
};

/// The layer group of a tensor name (partita/Support/Naming.h).
using partita::layerOf;

/// The function estimateCost costs: @main, else the first func.func with a
/// body; null without one.
mlir::func::FuncOp costedFunction(mlir::ModuleOp module);

/// Costs `func` (default: the first func.func with a body, preferring
/// @main) of a partitioned module on `cluster`. Fails with a one-line
/// `error` when the mesh does not fit the cluster.
mlir::FailureOr<CostReport> estimateCost(mlir::ModuleOp module, const Cluster &cluster,
                                         std::string &error);

/// Prints the report: per layer compute and communication, each collective
/// with its bytes, the step time and the memory per device.
void printCostReport(const CostReport &report, const Cluster &cluster, llvm::raw_ostream &os);
/// The report as JSON (the "cost" object of `partita plan -o`).
std::string costReportJson(const CostReport &report, const Cluster &cluster);
/// Adds the report as "cost" to a plan JSON document (or a new one when
/// `planJson` is empty); returns the document, indented, with a newline.
std::string addCostToPlanJson(llvm::StringRef planJson, const CostReport &report,
                              const Cluster &cluster);
/// "12.3 us", "4.56 ms", ... (3 significant digits).
/// The element type's short name (f32, bf16, i64, ...) for reports and the
/// cost tables; unknown types count as f32.
std::string dtypeName(mlir::Type t);

std::string formatSeconds(double s);
/// "8192 B", "1.50 MiB", ...
std::string formatBytes(double b);

/// One alternative a choice priced with the cost model (an attention form,
/// an assignment of the expert axes).
struct PricedOption {
  std::string name;
  double time = 0;   ///< seconds
  double memory = 0; ///< bytes per device
};
/// The options in the order a choice takes them: the fastest whose memory
/// fits `capacity` (<= 0: anything fits) first, or the smallest when none
/// fits, then the others fastest first; and that order in one line
/// ("a 1.20 ms < b 1.35 ms", "; " after the first when a faster one does
/// not fit, whose memory is then named).
struct CostRanking {
  std::vector<size_t> order;
  std::string why;
};
CostRanking rankByCost(const std::vector<PricedOption> &options, double capacity);

} // namespace partita::planner

#endif // PARTITA_PLANNER_COSTMODEL_H
