//===- PlanCommand.cpp - `partita plan` -----------------------------------===//
//
//   partita plan INPUT --mesh data=2,model=2 [--shardings FILE] [-o PLAN.json]
//                [--explain] [--conservative] [--composites]
//
// Imports the model, attaches the annotations, propagates, and prints the
// sharding of every named tensor and the reshards it implies.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "partita/Import/Importer.h"
#include "partita/Sharding/Annotations.h"
#include "passes/Graph/Passes.h"
#include "passes/Propagation/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::SubCommand planCmd("plan", "Propagate shardings and print the plan");
static cl::opt<std::string> planInput(cl::Positional, cl::desc("<input>"), cl::Required,
                                      cl::sub(planCmd));
static cl::opt<std::string> planMesh("mesh", cl::desc("Device mesh: NAME=SIZE[,NAME=SIZE...]"),
                                     cl::sub(planCmd));
static cl::opt<std::string> planShardings("shardings",
                                          cl::desc("JSON file with the mesh and "
                                                   "per-tensor shardings"),
                                          cl::sub(planCmd));
static cl::opt<std::string> planJson("o", cl::desc("Write the plan as JSON"),
                                     cl::value_desc("file"), cl::sub(planCmd));
static cl::opt<bool> planExplain("explain",
                                 cl::desc("Report every reshard as a remark at its op"),
                                 cl::sub(planCmd));
static cl::opt<bool> planConservative("conservative",
                                      cl::desc("Conservative conflict resolution"),
                                      cl::sub(planCmd));
static cl::opt<bool> planComposites("composites",
                                    cl::desc("Form composite ops (attention) first"),
                                    cl::sub(planCmd));
static cl::opt<bool> planPrintIR("print-ir", cl::desc("Print the propagated module"),
                                 cl::sub(planCmd));

bool partita::tools::planSelected() { return static_cast<bool>(planCmd); }

int partita::tools::runPlan(MLIRContext &ctx) {
  std::optional<MeshSpec> mesh;
  std::string error;
  if (!planMesh.empty()) {
    auto m = parseMeshFlag(planMesh, error);
    if (failed(m)) {
      llvm::errs() << "partita: error: " << error << "\n";
      return 1;
    }
    mesh = *m;
  }
  ShardingSpecs specs;
  if (!planShardings.empty()) {
    auto s = readShardingsFile(planShardings, error);
    if (failed(s)) {
      llvm::errs() << "partita: error: " << error << "\n";
      return 1;
    }
    specs = *s;
  }
  OwningOpRef<ModuleOp> module = loadModelFile(ctx, planInput);
  if (!module)
    return 1;
  if (planComposites) {
    PassManager pm(&ctx);
    pm.addPass(graph::createGraphRecognizeComposites());
    if (failed(pm.run(*module)))
      return 1;
  }
  if (failed(applyShardingAnnotations(*module, mesh, specs,
                                      planShardings.empty() ? std::string("the model") : std::string(planShardings))))
    return 1;
  auto reshards = sharding::propagateShardings(*module, {planConservative, planExplain});
  if (failed(reshards))
    return 1;
  std::unique_ptr<llvm::ToolOutputFile> json;
  if (!planJson.empty()) {
    json = openOutputFile(planJson, &error);
    if (!json) {
      llvm::errs() << "partita: error: " << error << "\n";
      return 1;
    }
  }
  if (planPrintIR)
    module->print(llvm::outs());
  else
    printShardingPlan(*module, *reshards, llvm::outs(), json ? &json->os() : nullptr);
  if (json)
    json->keep();
  return 0;
}
