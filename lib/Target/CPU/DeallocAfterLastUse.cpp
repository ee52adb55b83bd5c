//===- DeallocAfterLastUse.cpp - free each temporary as early as possible -===//
//
// MLIR's ownership-based deallocation frees buffers at the end of the block
// that allocated them. @main of a model is one block, so every temporary of
// the whole forward pass was alive at once: on the 12-layer benchmark model
// (bench/cpu_vs_peers) 304 MB of temporaries next to 353 MB of weights.
// This pass moves each `memref.dealloc` of a buffer up to just after the
// last op of its block that uses the buffer or a view of it, so the peak is
// what is live at one time.
//
// A buffer is left alone (freed where it was) when its address escapes the
// memref world -- `memref.extract_aligned_pointer_as_index` (the collectives
// runtime ABI), casts to LLVM pointers -- since uses of the raw address are
// not visible as uses of the buffer.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/Pass.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace partita::cpu {

#define GEN_PASS_DEF_DEALLOCAFTERLASTUSE
#include "lib/Target/CPU/Passes.h.inc"

namespace {

/// The last op of `block` that uses `buffer` or a memref derived from it
/// (any memref result of a user counts as a view). Null when the buffer's
/// address escapes, or a use is not inside `block`.
Operation *lastUse(Value buffer, Block *block, Operation *dealloc) {
  llvm::SetVector<Value> aliases;
  aliases.insert(buffer);
  Operation *last = nullptr;
  for (size_t i = 0; i < aliases.size(); ++i) {
    for (OpOperand &use : aliases[i].getUses()) {
      Operation *user = use.getOwner();
      if (user == dealloc)
        continue;
      if (isa<memref::ExtractAlignedPointerAsIndexOp>(user))
        return nullptr;
      for (Value r : user->getResults()) {
        if (isa<BaseMemRefType>(r.getType()))
          aliases.insert(r);
        else if (isa<memref::ExtractStridedMetadataOp>(user))
          continue; // sizes and strides, not the address
        else if (!r.getType().isIntOrIndexOrFloat())
          return nullptr; // an LLVM pointer, a cast to something opaque
      }
      Operation *ancestor = block->findAncestorOpInBlock(*user);
      if (!ancestor || ancestor == dealloc)
        return nullptr;
      if (!last || last->isBeforeInBlock(ancestor))
        last = ancestor;
    }
  }
  return last;
}

struct DeallocAfterLastUsePass : impl::DeallocAfterLastUseBase<DeallocAfterLastUsePass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<memref::DeallocOp> deallocs;
    getOperation().walk([&](memref::DeallocOp op) { deallocs.push_back(op); });
    for (memref::DeallocOp op : deallocs) {
      Value buffer = op.getMemref();
      Block *block = op->getBlock();
      auto alloc = buffer.getDefiningOp<memref::AllocOp>();
      // Only buffers allocated in this block: a block argument or an outer
      // buffer may be used by the enclosing op after the block.
      if (!alloc || alloc->getBlock() != block)
        continue;
      Operation *last = lastUse(buffer, block, op);
      if (!last || op->isBeforeInBlock(last))
        continue;
      op->moveAfter(last);
    }
  }
};

} // namespace
} // namespace partita::cpu
