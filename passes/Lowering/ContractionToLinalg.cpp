//===- ContractionToLinalg.cpp - matmul, gemm, einsum ---------------------===//
//
// Plain 2-D matmuls become linalg.matmul, equal-batch 3-D ones
// linalg.batch_matmul (the named ops a BLAS-backed backend can match); every
// other contraction (numpy 1-D and broadcast-batch matmul, transposed gemm,
// einsum) is one linalg.generic with reduction iterators whose indexing maps
// encode the operand layouts. Accumulation starts from a zero-filled output.
//
//===----------------------------------------------------------------------===//

#include "passes/Lowering/LoweringUtils.h"

#include <map>

using namespace mlir;

namespace partita::lowering {
namespace {

/// out = sum over the reduction loops of prod(inputs), one generic.
Value buildContraction(OpBuilder &b, Location loc, RankedTensorType outType,
                       const ElemKind &k, ValueRange inputs,
                       ArrayRef<AffineMap> maps,
                       ArrayRef<utils::IteratorType> iters) {
  Value init = filledTensor(b, loc, outType, scalarConst(b, loc, k, 0));
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{outType}, inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value p = a[0];
        for (Value v : a.drop_front().drop_back())
          p = mulS(nb, l, k, p, v);
        linalg::YieldOp::create(nb, l, addS(nb, l, k, a.back(), p));
      });
  return g.getResult(0);
}

struct MatMulLowering : OpConversionPattern<graph::MatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::MatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    ElemKind k = ElemKind::ofValue(op.getLhs());
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    auto lt = cast<RankedTensorType>(lhs.getType());
    auto rt = cast<RankedTensorType>(rhs.getType());
    auto ot = convertedType(op.getResult());
    int64_t ra = lt.getRank(), rb = rt.getRank(), R = ot.getRank();
    if (ra == 2 && rb == 2) {
      Value init = filledTensor(rw, loc, ot, scalarConst(rw, loc, k, 0));
      rw.replaceOp(op, linalg::MatmulOp::create(rw, loc, ValueRange{lhs, rhs},
                                                ValueRange{init})
                           .getResult(0));
      return success();
    }
    if (ra == 3 && rb == 3 && lt.getDimSize(0) == rt.getDimSize(0)) {
      Value init = filledTensor(rw, loc, ot, scalarConst(rw, loc, k, 0));
      rw.replaceOp(op, linalg::BatchMatmulOp::create(rw, loc, ValueRange{lhs, rhs},
                                                     ValueRange{init})
                           .getResult(0));
      return success();
    }
    // Loops: batch dims of the output, [m], [n], k.
    int64_t B = R - (ra >= 2) - (rb >= 2);
    int64_t m = B, n = B + (ra >= 2), kd = R;
    auto dim = [&](int64_t d) { return getAffineDimExpr(d, ctx); };
    auto batchExprs = [&](RankedTensorType t) {
      SmallVector<AffineExpr> e;
      int64_t nb = t.getRank() - 2;
      for (int64_t i = 0; i < nb; ++i) {
        int64_t d = B - nb + i;
        e.push_back(t.getDimSize(i) == 1 && ot.getDimSize(d) != 1
                        ? getAffineConstantExpr(0, ctx)
                        : dim(d));
      }
      return e;
    };
    SmallVector<AffineExpr> le, re;
    if (ra == 1) {
      le.push_back(dim(kd));
    } else {
      le = batchExprs(lt);
      le.append({dim(m), dim(kd)});
    }
    if (rb == 1) {
      re.push_back(dim(kd));
    } else {
      re = batchExprs(rt);
      re.append({dim(kd), dim(n)});
    }
    SmallVector<AffineMap> maps{
        AffineMap::get(R + 1, 0, le, ctx), AffineMap::get(R + 1, 0, re, ctx),
        AffineMap::getMultiDimIdentityMap(R + 1, ctx).getMajorSubMap(R)};
    SmallVector<utils::IteratorType> iters(R, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    rw.replaceOp(op, buildContraction(rw, loc, ot, k, {lhs, rhs}, maps, iters));
    return success();
  }
};

struct GemmLowering : OpConversionPattern<graph::GemmOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::GemmOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    ElemKind k = ElemKind::ofValue(op.getA());
    auto ot = convertedType(op.getResult());
    auto dim = [&](int64_t d) { return getAffineDimExpr(d, ctx); };
    // Loops (m, n, k).
    AffineMap am = op.getTransA() ? AffineMap::get(3, 0, {dim(2), dim(0)}, ctx)
                                  : AffineMap::get(3, 0, {dim(0), dim(2)}, ctx);
    AffineMap bm = op.getTransB() ? AffineMap::get(3, 0, {dim(1), dim(2)}, ctx)
                                  : AffineMap::get(3, 0, {dim(2), dim(1)}, ctx);
    AffineMap om = AffineMap::get(3, 0, {dim(0), dim(1)}, ctx);
    Value acc = buildContraction(
        rw, loc, ot, k, {adaptor.getA(), adaptor.getB()}, {am, bm, om},
        {utils::IteratorType::parallel, utils::IteratorType::parallel,
         utils::IteratorType::reduction});
    double alpha = op.getAlpha().convertToDouble(), beta = op.getBeta().convertToDouble();
    Value c = adaptor.getC();
    if (alpha == 1.0 && (!c || beta == 0.0)) {
      rw.replaceOp(op, acc);
      return success();
    }
    SmallVector<Value> ins{acc};
    if (c && beta != 0.0)
      ins.push_back(c);
    Value r = buildElementwise(rw, loc, ot, ins,
                               [&](OpBuilder &b, Location l, ValueRange a) {
                                 Value y = a[0];
                                 if (alpha != 1.0)
                                   y = mulS(b, l, k, scalarConst(b, l, k, alpha), y);
                                 if (a.size() > 1) {
                                   Value cv = a[1];
                                   if (beta != 1.0)
                                     cv = mulS(b, l, k, scalarConst(b, l, k, beta), cv);
                                   y = addS(b, l, k, y, cv);
                                 }
                                 return y;
                               });
    rw.replaceOp(op, r);
    return success();
  }
};

/// Labels of one einsum term, '.' standing for the ellipsis.
std::string parseTerm(StringRef term) {
  std::string out;
  for (size_t i = 0; i < term.size(); ++i) {
    if (term[i] == ' ')
      continue;
    if (term[i] == '.') {
      out.push_back('.');
      i += 2;
      continue;
    }
    out.push_back(term[i]);
  }
  return out;
}

struct EinsumLowering : OpConversionPattern<graph::EinsumOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::EinsumOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    ElemKind k = ElemKind::ofValue(op.getInputs().front());
    auto ot = convertedType(op.getResult());
    StringRef eq = op.getEquation();
    auto [lhs, rhs] = eq.split("->");
    SmallVector<StringRef> termRefs;
    lhs.split(termRefs, ',');
    SmallVector<std::string> terms;
    for (StringRef t : termRefs)
      terms.push_back(parseTerm(t));

    // Loop dims: the ellipsis dims first, then letters by first appearance.
    int64_t ellRank = 0;
    SmallVector<int64_t> ellRanks;
    std::map<char, int> counts;
    std::string letters;
    for (auto [i, t] : llvm::enumerate(terms)) {
      int64_t rank = cast<RankedTensorType>(adaptor.getInputs()[i].getType()).getRank();
      int64_t named = llvm::count_if(t, [](char c) { return c != '.'; });
      ellRanks.push_back(t.find('.') == std::string::npos ? 0 : rank - named);
      ellRank = std::max(ellRank, ellRanks.back());
      for (char c : t) {
        if (c == '.')
          continue;
        if (!counts[c]++)
          letters.push_back(c);
      }
    }
    std::string out;
    if (eq.contains("->")) {
      out = parseTerm(rhs);
    } else {
      out = ellRank ? "." : "";
      for (auto [c, n] : counts)
        if (n == 1)
          out.push_back(c);
    }
    int64_t nLoops = ellRank + letters.size();
    auto letterDim = [&](char c) { return ellRank + (int64_t)letters.find(c); };

    // Loop sizes (a size-1 operand dim broadcasts against a larger one).
    SmallVector<int64_t> sizes(nLoops, 1);
    auto visit = [&](const std::string &t, ArrayRef<int64_t> shape, int64_t er,
                     auto fn) {
      int64_t d = 0;
      for (char c : t) {
        if (c == '.') {
          for (int64_t j = 0; j < er; ++j, ++d)
            fn(ellRank - er + j, shape[d], d);
          continue;
        }
        fn(letterDim(c), shape[d], d);
        ++d;
      }
    };
    for (auto [i, t] : llvm::enumerate(terms))
      visit(t, cast<RankedTensorType>(adaptor.getInputs()[i].getType()).getShape(),
            ellRanks[i], [&](int64_t loop, int64_t size, int64_t) {
              sizes[loop] = std::max(sizes[loop], size);
            });

    SmallVector<AffineMap> maps;
    for (auto [i, t] : llvm::enumerate(terms)) {
      auto shape = cast<RankedTensorType>(adaptor.getInputs()[i].getType()).getShape();
      SmallVector<AffineExpr> exprs(shape.size());
      visit(t, shape, ellRanks[i], [&](int64_t loop, int64_t size, int64_t d) {
        exprs[d] = size == 1 && sizes[loop] != 1 ? getAffineConstantExpr(0, ctx)
                                                 : getAffineDimExpr(loop, ctx);
      });
      maps.push_back(AffineMap::get(nLoops, 0, exprs, ctx));
    }
    SmallVector<AffineExpr> outExprs;
    SmallVector<bool> inOut(nLoops, false);
    for (char c : out) {
      SmallVector<int64_t> loops;
      if (c == '.')
        for (int64_t j = 0; j < ellRank; ++j)
          loops.push_back(j);
      else if (letters.find(c) != std::string::npos)
        loops.push_back(letterDim(c));
      else
        return rw.notifyMatchFailure(op, "unknown output label");
      for (int64_t l : loops) {
        if (inOut[l])
          return rw.notifyMatchFailure(op, "repeated output label");
        inOut[l] = true;
        outExprs.push_back(getAffineDimExpr(l, ctx));
      }
    }
    if ((int64_t)outExprs.size() != ot.getRank())
      return rw.notifyMatchFailure(op, "output rank mismatch");
    maps.push_back(AffineMap::get(nLoops, 0, outExprs, ctx));
    SmallVector<utils::IteratorType> iters;
    for (bool o : inOut)
      iters.push_back(o ? utils::IteratorType::parallel : utils::IteratorType::reduction);
    rw.replaceOp(op, buildContraction(rw, loc, ot, k, adaptor.getInputs(), maps, iters));
    return success();
  }
};

} // namespace

void populateContractionPatterns(TypeConverter &tc, RewritePatternSet &p) {
  p.add<MatMulLowering, GemmLowering, EinsumLowering>(tc, p.getContext());
}

} // namespace partita::lowering
