//===- Executor.cpp - run a lowered @main in-process ----------------------===//

#include "partita/Runtime/Executor.h"
#include "partita/Runtime/HostAllocator.h"

#include "dialects/Graph/IR/ConstantStorage.h"
#include "partita/Runtime/Contraction.h"
#include "partita/Runtime/Parallel.h"
#include "runtime/CudaRuntime.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"

#include <algorithm>
#include <cstdlib>

using namespace mlir;

#ifndef PARTITA_MLIR_LIB_DIR
#define PARTITA_MLIR_LIB_DIR "/usr/lib/llvm-22/lib"
#endif

namespace partita {

Executor::~Executor() {
  for (void *w : deviceWeights)
    partita_cuda_free(w);
  if (!deviceWeights.empty())
    partita_cuda_synchronize();
}

std::unique_ptr<Executor> Executor::create(ModuleOp llvmModule, ModelSignature signature,
                                           unsigned optLevel) {
  static bool targetsReady = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)targetsReady;
  Location loc = llvmModule.getLoc();
  bool cuda = compiledTarget(llvmModule) == "cuda";
  if (cuda) {
    // Before the JIT: the module's constructors load its kernels.
    if (std::string problem = cudaDeviceProblem(); !problem.empty()) {
      emitError(loc) << problem;
      return nullptr;
    }
  }

  // Host CPU and its features (AVX2/AVX-512 where present), so LLVM's
  // vectorizers use the full vector width.
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder) {
    emitError(loc) << "cannot target the host CPU: " << llvm::toString(tmBuilder.takeError());
    return nullptr;
  }
  // The IR pipeline at optLevel; instruction selection and scheduling at
  // their best whenever optimizing (cheap compared to the IR pipeline: on
  // the default GPT model, -O3's IR pipeline costs 4x -O2's time).
  auto level = optLevel >= 2   ? llvm::CodeGenOptLevel::Aggressive
               : optLevel == 1 ? llvm::CodeGenOptLevel::Less
                               : llvm::CodeGenOptLevel::None;
  tmBuilder->setCodeGenOptLevel(level);
  auto tm = tmBuilder->createTargetMachine();
  if (!tm) {
    emitError(loc) << "cannot create a target machine: " << llvm::toString(tm.takeError());
    return nullptr;
  }

  auto transformer = makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, tm->get());
  // memref.copy between non-contiguous layouts calls memrefCopy from here;
  // malloc/free and libm come from the process itself.
  std::string runnerUtils = PARTITA_MLIR_LIB_DIR "/libmlir_c_runner_utils.so";
  SmallVector<StringRef> libs;
  if (llvm::sys::fs::exists(runnerUtils))
    libs.push_back(runnerUtils);
  ExecutionEngineOptions options;
  options.transformer = transformer;
  options.jitCodeGenOptLevel = level;
  options.sharedLibPaths = libs;
  options.enableGDBNotificationListener = false;
  // PARTITA_PERF=1: JIT-ed functions visible to `perf record -k 1` + `perf inject --jit`.
  options.enablePerfNotificationListener = std::getenv("PARTITA_PERF") != nullptr;
  auto engine = ExecutionEngine::create(llvmModule, options, std::move(*tm));
  if (!engine) {
    emitError(loc) << "JIT compilation failed: " << llvm::toString(engine.takeError());
    return nullptr;
  }
  std::unique_ptr<Executor> ex(new Executor());
  ex->engine = std::move(*engine);
  // The BLAS runtime (partita_contract_*) and the loop-nest pool
  // (partita_parallel_for) live in this process; registered
  // before initialize(), which materializes the module.
  ex->engine->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    map[interner("partita_contract_f32")] = {
        llvm::orc::ExecutorAddr::fromPtr(&partita_contract_f32), llvm::JITSymbolFlags::Exported};
    map[interner("partita_contract_f64")] = {
        llvm::orc::ExecutorAddr::fromPtr(&partita_contract_f64), llvm::JITSymbolFlags::Exported};
    map[interner("partita_parallel_for")] = {
        llvm::orc::ExecutorAddr::fromPtr(&partita_parallel_for), llvm::JITSymbolFlags::Exported};
    // Temporaries: large blocks reused across steps (HostAllocator.h).
    map[interner("malloc")] = {llvm::orc::ExecutorAddr::fromPtr(&partita_malloc),
                               llvm::JITSymbolFlags::Exported};
    map[interner("aligned_alloc")] = {llvm::orc::ExecutorAddr::fromPtr(&partita_aligned_alloc),
                                      llvm::JITSymbolFlags::Exported};
    map[interner("free")] = {llvm::orc::ExecutorAddr::fromPtr(&partita_free),
                             llvm::JITSymbolFlags::Exported};
    return map;
  });
  // BLAS threads: PARTITA_NUM_THREADS, default 2.
  static bool threadsSet = [] {
    partita_set_num_threads(partita_configured_num_threads());
    return true;
  }();
  (void)threadsSet;
  ex->engine->initialize();
  ex->sig = std::move(signature);
  ex->cuda = cuda;
  if (cuda)
    if (const char *err = partita_cuda_error()) {
      emitError(loc) << "loading the CUDA kernels failed: " << err;
      return nullptr;
    }
  if (auto fn = ex->engine->lookupPacked("_mlir_ciface_main"); !fn) {
    emitError(loc) << "the compiled module has no C interface for @main: "
                   << llvm::toString(fn.takeError());
    return nullptr;
  }
  return ex;
}

namespace {
/// A ranked memref descriptor as a flat array of 8-byte words:
/// [allocated, aligned, offset, sizes..., strides...] -- the layout of
/// StridedMemRefType<T, R> for every T and R (rank 0: the first three).
struct Descriptor {
  std::vector<int64_t> words;
  Descriptor(void *data, ArrayRef<int64_t> shape) {
    words.resize(3 + 2 * shape.size());
    auto ptr = reinterpret_cast<int64_t>(data);
    words[0] = words[1] = ptr;
    words[2] = 0;
    int64_t stride = 1;
    for (int i = (int)shape.size() - 1; i >= 0; --i) {
      words[3 + i] = shape[i];
      words[3 + shape.size() + i] = stride;
      stride *= shape[i];
    }
  }
};
} // namespace

llvm::Error Executor::run(ArrayRef<HostTensor> inputs, std::vector<HostTensor> &outputs) {
  if (inputs.size() != sig.inputs.size())
    return llvm::createStringError("expected " + std::to_string(sig.inputs.size()) +
                                   " inputs, got " + std::to_string(inputs.size()));
  outputs.resize(sig.outputs.size());
  for (size_t i = 0; i < sig.outputs.size(); ++i)
    if (outputs[i].dtype != sig.outputs[i].dtype ||
        outputs[i].shape != sig.outputs[i].shape ||
        outputs[i].numBytes() != size_t(outputs[i].numElements()) * dtypeBytes(outputs[i].dtype))
      outputs[i] = HostTensor(sig.outputs[i].dtype, sig.outputs[i].shape);

  // Weights follow the inputs (outlineWeights). Those read in place at an
  // unaligned address are copied once, now that the compiler's memory is
  // gone; the mapped pages they came from are dropped.
  for (WeightBuffer &w : sig.weights)
    if (!w.data && w.unaligned) {
      auto copy = std::make_shared<std::vector<uint8_t>>(w.unaligned, w.unaligned + w.numBytes);
      graph::releasePages({reinterpret_cast<const char *>(w.unaligned), w.numBytes});
      w.data = copy->data();
      w.owner = copy;
    }
  // @main's arguments in order: inputs, weights, outputs. The generated code
  // only reads inputs and weights (non-writable before bufferization).
  std::vector<Argument> argsIn;
  argsIn.reserve(inputs.size() + sig.weights.size() + outputs.size());
  for (const HostTensor &t : inputs)
    argsIn.push_back({const_cast<uint8_t *>(t.data.data()), t.shape, t.numBytes()});
  for (const WeightBuffer &w : sig.weights)
    argsIn.push_back({const_cast<uint8_t *>(w.data), w.shape, w.numBytes});
  for (HostTensor &t : outputs)
    argsIn.push_back({t.data.data(), t.shape, t.numBytes()});
  if (cuda)
    return runOnDevice(argsIn, inputs.size(), outputs.size());
  return invokeMain(argsIn);
}

llvm::Error Executor::invokeMain(ArrayRef<Argument> arguments) {
  std::vector<Descriptor> descs;
  descs.reserve(arguments.size());
  for (const Argument &a : arguments)
    descs.emplace_back(a.data, a.shape);
  // _mlir_ciface_main(desc0*, desc1*, ...): each packed argument is the
  // address of a descriptor pointer.
  std::vector<void *> descPtrs, args;
  for (Descriptor &d : descs)
    descPtrs.push_back(d.words.data());
  for (void *&p : descPtrs)
    args.push_back(&p);
  return engine->invokePacked("_mlir_ciface_main", args);
}

llvm::Error Executor::runOnDevice(ArrayRef<Argument> host, size_t numInputs,
                                  size_t numOutputs) {
  size_t numWeights = sig.weights.size();
  if (deviceWeights.empty())
    for (size_t i = numInputs; i < numInputs + numWeights; ++i) {
      void *d = partita_cuda_alloc(host[i].bytes);
      partita_cuda_copy_to_device(d, host[i].data, host[i].bytes);
      deviceWeights.push_back(d);
    }
  // The same arguments on device buffers.
  std::vector<Argument> device(host.begin(), host.end());
  auto isWeight = [&](size_t i) { return i >= numInputs && i < numInputs + numWeights; };
  for (size_t i = 0; i < device.size(); ++i) {
    device[i].data = isWeight(i) ? deviceWeights[i - numInputs] : partita_cuda_alloc(host[i].bytes);
    if (i < numInputs)
      partita_cuda_copy_to_device(device[i].data, host[i].data, host[i].bytes);
  }
  llvm::Error result = invokeMain(device);
  for (size_t i = device.size() - numOutputs; i < device.size(); ++i)
    partita_cuda_copy_to_host(host[i].data, device[i].data, host[i].bytes);
  for (size_t i = 0; i < device.size(); ++i)
    if (!isWeight(i))
      partita_cuda_free(device[i].data);
  partita_cuda_synchronize();
  if (result)
    return result;
  if (const char *err = partita_cuda_error())
    return llvm::createStringError(std::string("CUDA: ") + err);
  return llvm::Error::success();
}

} // namespace partita
