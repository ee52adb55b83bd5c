//===- Zero.cpp - ZeRO stages as shardings of a training step -------------===//

#include "partita/Distributed/Zero.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <map>

using namespace mlir;

namespace partita {

FailureOr<ShardingSpecs> zeroShardings(ModuleOp module, const TrainingStep &step,
                                       const MeshSpec &mesh, int stage, StringRef axis,
                                       const ShardingSpecs &user, std::string &error) {
  if (stage < 1 || stage > 3) {
    error = "--zero must be 1, 2 or 3, got " + std::to_string(stage);
    return failure();
  }
  std::map<std::string, int64_t> sizes(mesh.axes.begin(), mesh.axes.end());
  auto it = sizes.find(axis.str());
  if (it == sizes.end()) {
    error = "--zero shards over the mesh axis '" + axis.str() + "', which --mesh " +
            mesh.str() + " does not have (name it with --zero-axis)";
    return failure();
  }
  int64_t parts = it->second;
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main) {
    error = "the training step has no @main";
    return failure();
  }
  ShardingSpecs out;
  out.mesh = mesh;
  for (unsigned i = 0; i < step.roles.size(); ++i) {
    if (step.roles[i] != "parameter")
      continue;
    const std::string &name = step.names[i];
    ArrayRef<int64_t> shape = cast<RankedTensorType>(main.getArgumentTypes()[i]).getShape();
    // The user's layout of the parameter, the ZeRO axis added where it fits.
    std::vector<DimSpec> dims(shape.size());
    for (auto &[n, d] : user.tensors)
      if (n == name && d.size() == shape.size())
        dims = d;
    bool used = false;
    for (const DimSpec &d : dims)
      used |= llvm::is_contained(d.axes, axis.str());
    std::vector<DimSpec> zero = dims;
    for (size_t d = 0; d < shape.size() && !used; ++d) {
      int64_t split = parts;
      for (const std::string &a : zero[d].axes)
        split *= sizes[a];
      if (shape[d] % split == 0) {
        zero[d].axes.push_back(axis.str());
        used = true;
      }
    }
    // Below stage 3 a parameter stays whole over the axis (the user's
    // layout, stated so that the state's split does not propagate into it).
    if (stage < 3)
      out.tensors.push_back({name, dims});
    if (!used)
      continue; // too small to split: stays as the user laid it out
    // The optimizer's state tensors of this parameter (graph-autodiff
    // names them PARAM.<state>).
    for (unsigned j = 0; j < step.roles.size(); ++j)
      if (step.roles[j] == "state" && StringRef(step.names[j]).starts_with(name + "."))
        out.tensors.push_back({step.names[j], zero});
    if (stage >= 2)
      out.tensors.push_back({name + ".grad", zero});
    if (stage >= 3)
      out.tensors.push_back({name, zero});
  }
  return out;
}

} // namespace partita
