//===- MapLoopNests.cpp - every host loop nest to a GPU launch -------------===//
//
// See GpuMapLoopNests in Passes.td. The mapping is the simple, always-correct
// one: the parallel iteration space of each nest is linearized and cut into
// blocks of `block-size` threads, one thread per point; what a point does
// (its reductions, inner loops) runs inside the thread.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Conversion/SCFToGPU/SCFToGPU.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/DialectConversion.h"

namespace partita::cuda {

#define GEN_PASS_DEF_GPUMAPLOOPNESTS
#include "lib/Target/CUDA/Passes.h.inc"

using namespace mlir;

namespace {

/// Host-level ops the mapping leaves outside launches: GPU ops, what
/// partita-gpu-device-memory turns into device memory ops, runtime calls,
/// and ops that touch no memory.
bool isHostOp(Operation *op) {
  if (isa<gpu::GPUDialect>(op->getDialect()))
    return true;
  // Device memory management (after partita-gpu-device-memory) and what
  // becomes it (before).
  if (isa<memref::AllocOp, memref::AllocaOp, memref::DeallocOp, memref::CopyOp,
          memref::GetGlobalOp, func::CallOp, func::ReturnOp>(op))
    return true;
  // Views, pointer extraction (the collectives ABI) and scalar arithmetic
  // touch no memory.
  return isMemoryEffectFree(op);
}

gpu::ParallelLoopDimMappingAttr mapping(MLIRContext *ctx, gpu::Processor processor) {
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  return gpu::ParallelLoopDimMappingAttr::get(ctx, processor, id, id);
}

void mapAll(scf::ParallelOp loop, gpu::Processor processor) {
  SmallVector<gpu::ParallelLoopDimMappingAttr> dims(loop.getNumLoops(),
                                                    mapping(loop.getContext(), processor));
  (void)gpu::setMappingAttr(loop, dims);
}

/// Reductions that are not innermost move inward, so the loop nest opens with
/// every parallel dimension and each thread owns its output elements.
void parallelDimsOutermost(RewriterBase &rewriter, linalg::GenericOp op) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<unsigned> order;
  for (unsigned d = 0; d < iterators.size(); ++d)
    if (iterators[d] == utils::IteratorType::parallel)
      order.push_back(d);
  for (unsigned d = 0; d < iterators.size(); ++d)
    if (iterators[d] != utils::IteratorType::parallel)
      order.push_back(d);
  if (llvm::equal(order, llvm::seq<unsigned>(0, iterators.size())))
    return;
  rewriter.setInsertionPoint(op);
  (void)linalg::interchangeGenericOp(rewriter, op, order);
}

/// `loop` (a top-level scf.parallel) as a blocks x threads nest over its
/// linearized iteration space; the original is erased.
LogicalResult linearizeAndTile(RewriterBase &rewriter, scf::ParallelOp loop, int64_t blockSize) {
  if (loop.getNumResults() != 0)
    return loop.emitOpError("with reductions cannot be mapped to GPU threads");
  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  auto cst = [&](int64_t v) { return arith::ConstantIndexOp::create(rewriter, loc, v); };
  Value zero = cst(0), one = cst(1), block = cst(blockSize);
  // Trip counts per dimension and their product: constants when the bounds
  // are (static shapes), else computed on the host.
  SmallVector<Value> counts;
  std::optional<int64_t> staticTotal = 1;
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> l = getConstantIntValue(lb), u = getConstantIntValue(ub),
                           s = getConstantIntValue(step);
    Value count;
    if (l && u && s && *s > 0) {
      int64_t c = std::max<int64_t>(0, llvm::divideCeilSigned(*u - *l, *s));
      count = cst(c);
      if (staticTotal)
        *staticTotal *= c;
    } else {
      Value extent = arith::SubIOp::create(rewriter, loc, ub, lb);
      count = arith::CeilDivSIOp::create(rewriter, loc, extent, step);
      staticTotal.reset();
    }
    counts.push_back(count);
  }
  Value total, grid;
  if (staticTotal) {
    total = cst(*staticTotal);
    grid = cst(llvm::divideCeilSigned(*staticTotal, blockSize));
  } else {
    total = one;
    for (Value count : counts)
      total = arith::MulIOp::create(rewriter, loc, total, count);
    grid = arith::CeilDivSIOp::create(rewriter, loc, total, block);
  }
  auto blocks = scf::ParallelOp::create(rewriter, loc, ValueRange{zero}, ValueRange{grid},
                                        ValueRange{one});
  mapAll(blocks, gpu::Processor::BlockX);
  rewriter.setInsertionPointToStart(blocks.getBody());
  auto threads = scf::ParallelOp::create(rewriter, loc, ValueRange{zero}, ValueRange{block},
                                         ValueRange{one});
  mapAll(threads, gpu::Processor::ThreadX);
  rewriter.setInsertionPointToStart(threads.getBody());
  Value base = arith::MulIOp::create(rewriter, loc, blocks.getInductionVars()[0], block);
  Value linear = arith::AddIOp::create(rewriter, loc, base, threads.getInductionVars()[0]);
  Value inRange = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::slt, linear, total);
  auto guard = scf::IfOp::create(rewriter, loc, inRange, /*withElseRegion=*/false);
  rewriter.setInsertionPointToStart(&guard.getThenRegion().front());
  // Row-major delinearization: the last dimension varies fastest, so
  // neighbouring threads touch neighbouring elements.
  IRMapping ivs;
  Value rest = linear;
  for (int d = (int)counts.size() - 1; d >= 0; --d) {
    Value index = d == 0 ? rest : arith::RemSIOp::create(rewriter, loc, rest, counts[d]);
    if (d > 0)
      rest = arith::DivSIOp::create(rewriter, loc, rest, counts[d]);
    Value scaled = arith::MulIOp::create(rewriter, loc, index, loop.getStep()[d]);
    ivs.map(loop.getInductionVars()[d],
            arith::AddIOp::create(rewriter, loc, scaled, loop.getLowerBound()[d]));
  }
  for (Operation &op : loop.getBody()->without_terminator())
    rewriter.clone(op, ivs);
  rewriter.eraseOp(loop);
  threads.walk([](scf::ParallelOp inner) {
    if (!inner->hasAttr(gpu::getMappingAttrName()))
      mapAll(inner, gpu::Processor::Sequential);
  });
  return success();
}

/// `span` (host-level ops from the first to the last that touch memory, with
/// only pure ops between) into one single-thread launch. Pure ops in between
/// that do not depend on what the span computes stay on the host, ahead of it.
LogicalResult wrapInSingleThread(RewriterBase &rewriter, ArrayRef<Operation *> span) {
  llvm::SmallPtrSet<Operation *, 8> onDevice;
  SmallVector<Operation *> run, hoisted;
  for (Operation *op : span) {
    bool device = !isMemoryEffectFree(op) || llvm::any_of(op->getOperands(), [&](Value v) {
      return v.getDefiningOp() && onDevice.contains(v.getDefiningOp());
    });
    if (device) {
      onDevice.insert(op);
      run.push_back(op);
    } else {
      hoisted.push_back(op);
    }
  }
  for (Operation *op : run)
    for (Value result : op->getResults())
      for (Operation *user : result.getUsers())
        if (!onDevice.contains(user))
          return user->emitOpError("uses a value computed on the device; the CUDA target "
                                   "cannot keep it on the host");
  for (Operation *op : hoisted)
    rewriter.moveOpBefore(op, span.front());
  Location loc = run.front()->getLoc();
  rewriter.setInsertionPoint(run.front());
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  auto single = scf::ParallelOp::create(rewriter, loc, ValueRange{zero}, ValueRange{one},
                                        ValueRange{one});
  mapAll(single, gpu::Processor::BlockX);
  Operation *terminator = single.getBody()->getTerminator();
  for (Operation *op : run)
    rewriter.moveOpBefore(op, terminator);
  single.walk([&](scf::ParallelOp inner) {
    if (inner != single && !inner->hasAttr(gpu::getMappingAttrName()))
      mapAll(inner, gpu::Processor::Sequential);
  });
  return success();
}

/// The buffer a view ultimately reads (function argument or allocation).
Value rootOf(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      break;
    v = view.getViewSource();
  }
  return v;
}

/// Whether `op` (with its regions) may write the buffer `root`.
bool mayWrite(Operation *op, Value root) {
  bool writes = false;
  op->walk([&](Operation *inner) {
    auto effects = dyn_cast<MemoryEffectOpInterface>(inner);
    if (!effects) {
      if (!inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>() && !isMemoryEffectFree(inner))
        writes = true; // unknown effects
      return writes ? WalkResult::interrupt() : WalkResult::advance();
    }
    SmallVector<MemoryEffects::EffectInstance> list;
    effects.getEffects(list);
    for (auto &e : list)
      if (isa<MemoryEffects::Write>(e.getEffect()) &&
          (!e.getValue() || rootOf(e.getValue()) == root))
        writes = true;
    return writes ? WalkResult::interrupt() : WalkResult::advance();
  });
  return writes;
}

/// Host-level loads whose values are used only inside later loop nests (a
/// one-hot's on/off values, say) move into each use, with the scalar
/// arithmetic on them: the kernels read them from device memory. Only where
/// nothing from the load to its last use writes the buffer it reads.
void sinkLoadsIntoNests(RewriterBase &rewriter, Block &block) {
  llvm::SmallPtrSet<Operation *, 16> dependsOnLoad;
  for (Operation &op : block) {
    if (isa<memref::LoadOp>(op) ||
        (isMemoryEffectFree(&op) && op.getNumRegions() == 0 &&
         llvm::any_of(op.getOperands(), [&](Value v) {
           return v.getDefiningOp() && dependsOnLoad.contains(v.getDefiningOp());
         })))
      dependsOnLoad.insert(&op);
  }
  SmallVector<Operation *> candidates;
  for (Operation &op : block)
    if (dependsOnLoad.contains(&op))
      candidates.push_back(&op);
  for (Operation *op : llvm::reverse(candidates)) {
    // Every use nested in a later host-level op; the last of those bounds
    // the range that must not write what the load reads.
    Operation *last = nullptr;
    bool nestedOnly = !op->use_empty();
    for (Operation *user : op->getUsers()) {
      Operation *top = block.findAncestorOpInBlock(*user);
      if (!top || top == user) {
        nestedOnly = false;
        break;
      }
      if (!last || last->isBeforeInBlock(top))
        last = top;
    }
    if (!nestedOnly)
      continue;
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      Value root = rootOf(load.getMemref());
      bool safe = true;
      for (Operation *it = op->getNextNode(); safe && it; it = it->getNextNode()) {
        safe = !mayWrite(it, root);
        if (it == last)
          break;
      }
      if (!safe)
        continue;
    }
    for (OpOperand &use : llvm::make_early_inc_range(op->getUses())) {
      rewriter.setInsertionPoint(use.getOwner());
      Operation *copy = rewriter.clone(*op);
      use.set(copy->getResult(cast<OpResult>(use.get()).getResultNumber()));
    }
    rewriter.eraseOp(op);
  }
}

/// arith.remf in kernels as libdevice's fmod (__nv_fmodf/__nv_fmod; f16 and
/// bf16 through f32). Upstream's NVVM pipeline lowers arith to LLVM module-
/// wide before the GPU conversion, which then rejects the llvm.frem it finds.
void remfToLibdevice(RewriterBase &rewriter, func::FuncOp func) {
  auto module = func->getParentOfType<ModuleOp>();
  SmallVector<arith::RemFOp> work;
  func.walk([&](arith::RemFOp op) {
    if (op->getParentOfType<gpu::LaunchOp>() && isa<FloatType>(op.getType()))
      work.push_back(op);
  });
  for (arith::RemFOp op : work) {
    auto type = cast<FloatType>(op.getType());
    bool f64 = type.isF64();
    Type compute = f64 ? type : rewriter.getF32Type();
    StringRef name = f64 ? "__nv_fmod" : "__nv_fmodf";
    auto callee = module.lookupSymbol<func::FuncOp>(name);
    if (!callee) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      callee = func::FuncOp::create(rewriter, op.getLoc(), name,
                                    rewriter.getFunctionType({compute, compute}, {compute}));
      callee.setPrivate();
    }
    rewriter.setInsertionPoint(op);
    Value a = op.getLhs(), b = op.getRhs();
    if (compute != type) {
      a = arith::ExtFOp::create(rewriter, op.getLoc(), compute, a);
      b = arith::ExtFOp::create(rewriter, op.getLoc(), compute, b);
    }
    Value r = func::CallOp::create(rewriter, op.getLoc(), callee, ValueRange{a, b}).getResult(0);
    if (compute != type)
      r = arith::TruncFOp::create(rewriter, op.getLoc(), type, r);
    rewriter.replaceOp(op, r);
  }
}

struct GpuMapLoopNests : impl::GpuMapLoopNestsBase<GpuMapLoopNests> {
  using Base::Base;

  void runOnOperation() override {
    for (auto func : llvm::make_early_inc_range(getOperation().getOps<func::FuncOp>()))
      if (!func.isExternal() && failed(mapFunction(func)))
        return signalPassFailure();
  }

  LogicalResult mapFunction(func::FuncOp func) {
    IRRewriter rewriter(&getContext());

    // Copies other than whole identity-layout buffers (gpu.memcpy's
    // lowering takes only those) become loop nests.
    func.walk([&](memref::CopyOp copy) {
      auto contiguous = [](Value v) {
        auto type = dyn_cast<MemRefType>(v.getType());
        return type && type.hasStaticShape() && type.getLayout().isIdentity();
      };
      if (contiguous(copy.getSource()) && contiguous(copy.getTarget()))
        return;
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(), copy.getTarget());
    });

    // Linalg ops to parallel loops, parallel dimensions first.
    SmallVector<linalg::LinalgOp> linalgOps;
    func.walk([&](linalg::LinalgOp op) { linalgOps.push_back(op); });
    for (linalg::LinalgOp op : linalgOps) {
      if (!op.hasPureBufferSemantics()) {
        op->emitOpError("is on tensors after bufferization; the CUDA target maps loop nests "
                        "on buffers");
        return failure();
      }
      rewriter.setInsertionPoint(op);
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (!generic) {
        FailureOr<linalg::GenericOp> g = linalg::generalizeNamedOp(rewriter, op);
        if (failed(g)) {
          op->emitOpError("cannot be generalized to a loop nest for the GPU");
          return failure();
        }
        generic = *g;
      }
      parallelDimsOutermost(rewriter, generic);
    }
    linalgOps.clear();
    func.walk([&](linalg::LinalgOp op) { linalgOps.push_back(op); });
    for (linalg::LinalgOp op : linalgOps) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToParallelLoops(rewriter, op))) {
        op->emitOpError("cannot be lowered to parallel loops for the GPU");
        return failure();
      }
      rewriter.eraseOp(op);
    }

    // Each top-level nest to blocks x threads; memory-touching code between
    // nests to one thread.
    for (Block &block : func.getBody())
      sinkLoadsIntoNests(rewriter, block);
    for (Block &block : func.getBody()) {
      SmallVector<Operation *> ops = llvm::map_to_vector(block, [](Operation &op) { return &op; });
      SmallVector<Operation *> run;
      SmallVector<Operation *> pendingPure;
      auto flush = [&]() -> LogicalResult {
        pendingPure.clear();
        if (run.empty())
          return success();
        LogicalResult r = wrapInSingleThread(rewriter, run);
        run.clear();
        return r;
      };
      for (Operation *op : ops) {
        if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
          if (failed(flush()) || failed(linearizeAndTile(rewriter, loop, blockSize)))
            return failure();
          continue;
        }
        if (isMemoryEffectFree(op) && !isa<func::ReturnOp>(op)) {
          if (!run.empty())
            pendingPure.push_back(op);
          continue;
        }
        if (isHostOp(op)) {
          if (failed(flush()))
            return failure();
          continue;
        }
        run.append(pendingPure.begin(), pendingPure.end());
        pendingPure.clear();
        run.push_back(op);
      }
      if (failed(flush()))
        return failure();
    }

    if (!launch)
      return success();
    // The mapped loops to gpu.launch.
    ConversionTarget target(getContext());
    RewritePatternSet patterns(&getContext());
    configureParallelLoopToGPULegality(target);
    populateParallelLoopToGPUPatterns(patterns);
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(func, target, std::move(patterns))))
      return failure();
    finalizeParallelLoopToGPUConversion(func);
    remfToLibdevice(rewriter, func);
    return success();
  }
};

} // namespace
} // namespace partita::cuda
