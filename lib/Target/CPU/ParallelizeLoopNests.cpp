//===- ParallelizeLoopNests.cpp - outlined loop nests over a sub-range ----===//
//
// Runs after partita-outline-loop-nests. An outlined function whose work is
// one linalg op (a fused elementwise chain, a softmax or layer-norm
// reduction, a transpose...) is lowered to scf.for loops here, and one loop
// whose iterations are independent gets its bounds from two new trailing
// index arguments `lo` and `hi`:
//
//   func.func private @main_nest3(%a, %b, %lo: index, %hi: index)
//       attributes {partita.parallel = N : i64, ...} {
//     scf.for %i = %c0 to %c4 ...            // leading parallel loops: whole
//       scf.for %j = %lo to %hi ...          // the split loop: [lo, hi)
//         ...                                // the rest: whole
//
// Call sites pass (0, N), so the module still means what it did;
// partita-parallel-calls (ParallelCalls.cpp), after the lowering to LLVM,
// turns each such call into partita_parallel_for, which runs sub-ranges of
// [0, N) on the runtime's threads.
//
// The split loop is one of the leading parallel loops (only parallel loops
// around it, so each task may run the outer ones in full): the first one
// with at least kMinTrip iterations, else the longest. It must be safe to
// run its sub-ranges concurrently: every output's indexing map has that
// loop as one of its results (distinct iterations write distinct elements).
// Only nests with at least `min-iterations` iterations in total (the
// product of all loop ranges, static) are split: below that a dispatch
// costs more than the loop.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace partita::cpu {

#define GEN_PASS_DEF_PARALLELIZELOOPNESTS
#include "lib/Target/CPU/Passes.h.inc"

namespace {

/// A split loop shorter than this is passed over for a longer one further
/// in, when there is one (4 batch rows leave 2 threads little to balance).
constexpr int64_t kMinTrip = 16;

struct ParallelizeLoopNestsPass : impl::ParallelizeLoopNestsBase<ParallelizeLoopNestsPass> {
  using Base::Base;



  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection symbols;
    SymbolUserMap users(symbols, module);
    for (auto func : llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
      if (func.isExternal() || !func->hasAttr("partita.outlined") ||
          func->hasAttr(kParallelAttr))
        continue;
      linalg::LinalgOp op = soleLinalgOp(func);
      if (!op)
        continue;
      std::optional<unsigned> dim = splitDim(op);
      if (!dim)
        continue;
      if (failed(split(func, op, *dim, users)))
        return signalPassFailure();
    }
  }

  static constexpr llvm::StringLiteral kParallelAttr = "partita.parallel";

  /// The one op with regions in `func`'s body when it is a linalg op on
  /// buffers; the rest may only be constants and the return.
  static linalg::LinalgOp soleLinalgOp(func::FuncOp func) {
    linalg::LinalgOp found;
    for (Operation &op : func.getBody().front()) {
      if (isa<func::ReturnOp>(op) || op.hasTrait<OpTrait::ConstantLike>())
        continue;
      auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
      if (!linalgOp || found || !linalgOp.hasPureBufferSemantics() || writesInBody(linalgOp))
        return {};
      found = linalgOp;
    }
    return found;
  }

  /// Whether the body writes memory itself (a store or a call), which the
  /// indexing maps do not describe.
  static bool writesInBody(linalg::LinalgOp op) {
    WalkResult r = op->walk([&](Operation *inner) {
      if (inner == op.getOperation())
        return WalkResult::advance();
      auto effects = dyn_cast<MemoryEffectOpInterface>(inner);
      if (effects ? effects.hasEffect<MemoryEffects::Write>()
                  : !inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
        return WalkResult::interrupt();
      return WalkResult::advance();
    });
    return r.wasInterrupted();
  }

  /// The loop to split, or none when the nest is too small, has dynamic
  /// ranges, or no leading parallel loop writes disjoint output elements.
  std::optional<unsigned> splitDim(linalg::LinalgOp op) const {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    int64_t total = 1;
    for (int64_t r : ranges) {
      if (ShapedType::isDynamic(r))
        return std::nullopt;
      total *= r;
    }
    if (ranges.empty() || total < minIterations)
      return std::nullopt;
    SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    auto writesDisjoint = [&](unsigned d) {
      for (OpOperand &init : op.getDpsInitsMutable()) {
        AffineMap map = maps[init.getOperandNumber()];
        if (!llvm::any_of(map.getResults(), [&](AffineExpr e) {
              return e == getAffineDimExpr(d, op.getContext());
            }))
          return false;
      }
      return true;
    };
    std::optional<unsigned> best;
    for (unsigned d = 0; d < ranges.size() && linalg::isParallelIterator(iters[d]); ++d) {
      if (ranges[d] < 2 || !writesDisjoint(d))
        continue;
      if (ranges[d] >= kMinTrip)
        return d;
      if (!best || ranges[d] > ranges[*best])
        best = d;
    }
    return best;
  }

  LogicalResult split(func::FuncOp func, linalg::LinalgOp op, unsigned dim,
                      SymbolUserMap &users) {
    int64_t trip = op.getStaticLoopRanges()[dim];
    IRRewriter rewriter(op);
    FailureOr<linalg::LinalgLoops> loops = linalg::linalgOpToLoops(rewriter, op);
    if (failed(loops) || loops->size() != op.getNumLoops())
      return op.emitError("cannot lower the outlined loop nest to loops");
    rewriter.eraseOp(op);
    auto loop = cast<scf::ForOp>((*loops)[dim]);

    Block &body = func.getBody().front();
    Location loc = func.getLoc();
    IndexType index = rewriter.getIndexType();
    Value lo = body.addArgument(index, loc);
    Value hi = body.addArgument(index, loc);
    SmallVector<Type> inputs(body.getArgumentTypes());
    func.setType(FunctionType::get(func.getContext(), inputs, {}));
    loop.getLowerBoundMutable().assign(lo);
    loop.getUpperBoundMutable().assign(hi);
    func->setAttr(kParallelAttr, rewriter.getI64IntegerAttr(trip));

    for (Operation *user : users.getUsers(func)) {
      auto call = dyn_cast<func::CallOp>(user);
      if (!call)
        return user->emitError("outlined loop nest @")
               << func.getSymName() << " is used other than by a call";
      rewriter.setInsertionPoint(call);
      Value zero = arith::ConstantIndexOp::create(rewriter, call.getLoc(), 0);
      Value end = arith::ConstantIndexOp::create(rewriter, call.getLoc(), trip);
      call->insertOperands(call->getNumOperands(), {zero, end});
    }
    return success();
  }
};

} // namespace
} // namespace partita::cpu
