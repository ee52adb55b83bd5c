//===- TrainingStep.h - the pieces of graph-autodiff ------------*- C++ -*-===//
//
// Backprop.cpp: the reverse sweep; Losses.cpp: the losses; Optimizers.cpp:
// the updates. Autodiff.cpp assembles the step function from them.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_PASSES_AUTODIFF_TRAININGSTEP_H
#define PARTITA_PASSES_AUTODIFF_TRAININGSTEP_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/Value.h"

#include <optional>
#include <string>
#include <utility>

namespace partita::graph {

/// Builds, at `b`'s insertion point (after every op of the block), the
/// cotangent of each value in `wrt` with respect to the scalar `loss`, in
/// the block that holds them. A value of `wrt` the loss does not depend on
/// through differentiable ops gets a null entry. Fails after a diagnostic
/// at an op on the path that has no gradient rule.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
backpropagate(mlir::OpBuilder &b, mlir::Value loss, llvm::ArrayRef<mlir::Value> wrt);

/// A trainable initializer made an argument of its function.
struct LiftedParameter {
  std::string name;
  mlir::ElementsAttr init;
  mlir::BlockArgument arg;
};

/// Makes every trainable initializer of `f` (graph.constant with a name,
/// floating point, rank >= 1) an argument, in block order from argument 0:
/// `graph.role = "parameter"`, `graph.name` its initializer's name,
/// `graph.init` its value. Attributes named in `carry` on the constant
/// become argument attributes.
mlir::FailureOr<llvm::SmallVector<LiftedParameter>>
liftTrainableInitializers(mlir::func::FuncOp f, llvm::ArrayRef<llvm::StringRef> carry = {});

/// The name of `f`'s result `i` (its graph.name, else "#i").
std::string resultName(mlir::func::FuncOp f, unsigned i);

/// The index of `f`'s result named `name` (0 when `name` is empty);
/// nullopt when none is, with `names` listing them all.
std::optional<unsigned> findResult(mlir::func::FuncOp f, llvm::StringRef name,
                                   std::string &names);

/// Erases the trivially dead ops of `block`, last first.
void eraseDeadOps(mlir::Block &block);

/// The loss kinds: mean, sum, mse, cross_entropy.
struct LossSpec {
  std::string kind;
  int64_t ignoreIndex = -100;
};

/// The loss of `output` on `batch` (the step's inputs, then the labels if
/// any) and its gradients with respect to `wrt`, accumulated over
/// `microbatches` (Passes.td, graph-autodiff's `microbatches`): the batch
/// values are retyped to hold that many of the model's batches, and the
/// ops that depend on them are cloned once per microbatch before the
/// block's terminator, each followed by its backward. `loss` is set on
/// success; failure after a diagnostic.
/// `recompute` (none, selective, full) is applied to each microbatch's
/// forward and backward (recomputeActivations). With a `lossScale` (f16)
/// the backward differentiates lossScale * loss; `loss` stays unscaled.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
accumulateGradients(mlir::OpBuilder &b, mlir::Value output, llvm::ArrayRef<mlir::Value> batch,
                    bool withLabels, const LossSpec &spec, llvm::ArrayRef<mlir::Value> wrt,
                    unsigned microbatches, llvm::StringRef recompute, mlir::Value lossScale,
                    mlir::Value &loss);

/// Dynamic loss scaling (LossScale.cpp): an i1 scalar, true when every
/// gradient is finite; `cond ? ifTrue : ifFalse`; and the next scale and
/// good-step count after a step whose gradients were `finite` or not.
mlir::Value allFinite(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<mlir::Value> grads);
mlir::Value selectIf(mlir::OpBuilder &b, mlir::Location loc, mlir::Value cond,
                     mlir::Value ifTrue, mlir::Value ifFalse);
std::pair<mlir::Value, mlir::Value> nextLossScale(mlir::OpBuilder &b, mlir::Location loc,
                                                  mlir::Value scale, mlir::Value good,
                                                  mlir::Value finite);

/// Mixed precision (Precision.cpp): the ops of `body` (the forward) run in
/// `low` (bf16) on casts of the f32 `entry` values (parameters, inputs) and
/// constants, FullPrecision ops in f32; the terminator gets the outputs in
/// their own types. Failure after a diagnostic.
mlir::LogicalResult runForwardInPrecision(mlir::Block &body, llvm::ArrayRef<mlir::Value> entry,
                                          mlir::Type low);

/// Activation recomputation (Recompute.cpp): the backward ops from
/// `firstBackward` up to `end` read recomputed copies of the `forward` ops'
/// activations instead of the originals -- per layer, all but the layer's
/// outputs (`full`) or the attention core (`selective`); `none` changes
/// nothing. Failure after a diagnostic (no named layers, unknown mode).
mlir::LogicalResult recomputeActivations(mlir::OpBuilder &b, llvm::StringRef mode,
                                         llvm::ArrayRef<mlir::Operation *> forward,
                                         mlir::Operation *firstBackward, mlir::Operation *end);

/// The type of the labels the loss takes on `output` (null when it takes
/// none); an empty `error` on success, else why the output does not fit.
mlir::Type labelType(const LossSpec &spec, mlir::Value output, std::string &error);

/// The scalar loss of `output` (and `labels` when labelType gave one).
mlir::Value buildLoss(mlir::OpBuilder &b, mlir::Location loc, const LossSpec &spec,
                      mlir::Value output, mlir::Value labels);

struct OptimizerSpec {
  std::string kind; // none, sgd, adamw
  double lr = 1e-3, momentum = 0, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double weightDecay = 0, clipNorm = 0;
};

/// The names of a parameter's state tensors ("m", "v", ...), each of the
/// parameter's type and zero initially; empty for an unknown kind (with
/// `known` false).
llvm::SmallVector<std::string> optimizerState(const OptimizerSpec &spec, bool &known);
/// Whether the update reads the step number.
bool optimizerUsesStep(const OptimizerSpec &spec);

/// The updated parameters and state (state[i][k] is parameter i's k-th
/// state tensor), gradients clipped first when clipNorm > 0.
void buildUpdate(mlir::OpBuilder &b, mlir::Location loc, const OptimizerSpec &spec,
                 llvm::ArrayRef<mlir::Value> params, llvm::ArrayRef<mlir::Value> grads,
                 llvm::ArrayRef<llvm::SmallVector<mlir::Value>> state, mlir::Value step,
                 llvm::SmallVectorImpl<mlir::Value> &newParams,
                 llvm::SmallVectorImpl<llvm::SmallVector<mlir::Value>> &newState);

} // namespace partita::graph

#endif // PARTITA_PASSES_AUTODIFF_TRAININGSTEP_H
