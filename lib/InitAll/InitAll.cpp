//===- InitAll.cpp - register every Partita dialect and pass --------------===//

#include "partita/InitAll.h"

#include "dialects/Graph/Gradients/GradientBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"
#include "passes/Autodiff/Passes.h"
#include "passes/Graph/Passes.h"
#include "passes/Pipeline/Passes.h"
#include "passes/Lowering/Passes.h"
#include "dialects/Sharding/IR/ShardingOps.h"
#include "dialects/Sharding/Rules/GraphShardingRules.h"
#include "passes/Propagation/Passes.h"
#include "passes/Partition/Passes.h"
#include "passes/Runtime/Passes.h"
#include "dialects/Collectives/IR/CollectivesOps.h"
#include "partita/Runtime/Compiler.h"
#include "partita/Target/CPU.h"
#include "partita/Target/CUDA.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

void partita::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<graph::GraphDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::linalg::LinalgDialect,
                  mlir::math::MathDialect, mlir::scf::SCFDialect,
                  mlir::tensor::TensorDialect, sharding::ShardingDialect,
                  collectives::CollectivesDialect>();
  sharding::registerGraphShardingRules(registry);
  sharding::registerShardingGradients(registry);
  graph::registerGraphGradients(registry);
  // The CPU backend's dialects (memref, bufferization, LLVM, ...), so
  // partita-opt reads and runs its pipelines' input and output.
  partita::registerCpuBackendDialects(registry);
  partita::registerCudaBackendDialects(registry);
}

void partita::registerAllPasses() {
  // Idempotent: the CLI's commands and the distributed path each call it.
  static bool registered = false;
  if (registered)
    return;
  registered = true;
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerInlinerPass();
  mlir::registerSymbolDCEPass();
  graph::registerGraphPasses();
  graph::registerAutodiffPasses();
  pipeline::registerPipelinePasses();
  sharding::registerPropagationPasses();
  sharding::registerPartitionPasses();
  collectives::registerRuntimePasses();
  // Lowering to linalg on tensors and the upstream passes its pipeline uses.
  lowering::registerLoweringPasses();
  lowering::registerGraphToLinalgPipeline();
  mlir::registerLinalgElementwiseOpFusionPass();
  // The CPU backend: partita-cpu-bufferize, partita-cpu-lower-to-llvm,
  // partita-contractions-to-calls, partita-outline-loop-nests.
  partita::registerCpuPipelines();
  partita::registerCudaPipelines();
}
