//===- TrainingOptions.td - options every training pass takes -*- tablegen -*-===//
//
// The loss and the optimizer, as graph-autodiff (one step function) and
// pipeline-stage-training (per-stage functions) both take them.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_PASSES_AUTODIFF_TRAININGOPTIONS_TD
#define PARTITA_PASSES_AUTODIFF_TRAININGOPTIONS_TD

include "mlir/Pass/PassBase.td"

defvar LossOptions = [
  Option<"loss", "loss", "std::string", "\"mean\"",
           "mean | sum (of the output) | mse | cross_entropy">,
  Option<"output", "output", "std::string", "\"\"",
           "the output the loss is built on (default: the first)">,
  Option<"ignoreIndex", "ignore-index", "int64_t", "-100",
           "cross_entropy: labels with this value do not count">
];

defvar OptimizerOptions = [
  Option<"optimizer", "optimizer", "std::string", "\"sgd\"",
           "none (gradients only) | sgd | adamw">,
  Option<"lr", "lr", "double", "1e-3", "learning rate">,
  Option<"momentum", "momentum", "double", "0.0", "sgd momentum">,
  Option<"beta1", "beta1", "double", "0.9", "adamw">,
  Option<"beta2", "beta2", "double", "0.999", "adamw">,
  Option<"epsilon", "epsilon", "double", "1e-8", "adamw">,
  Option<"weightDecay", "weight-decay", "double", "0.0",
           "decoupled (adamw) or L2 (sgd) weight decay">,
  Option<"clipNorm", "clip-norm", "double", "0.0",
           "clip the gradients to this global L2 norm (0: no clipping)">
];

#endif // PARTITA_PASSES_AUTODIFF_TRAININGOPTIONS_TD
