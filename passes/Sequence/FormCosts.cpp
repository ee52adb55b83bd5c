//===- FormCosts.cpp - what each attention form costs a rank --------------===//
//
// docs/sequence.md ("Choosing by cost") has the formulas. Sizes follow the
// cost model's conventions (planner::collectiveTime): an all_gather by its
// result, an all_to_all and a collective_permute by the tensor sent.
//
//===----------------------------------------------------------------------===//

#include "passes/Sequence/FormCosts.h"

#include "partita/Planner/CostModel.h"

#include <algorithm>

namespace partita::sequence {

using planner::attentionScorePasses;
using planner::attentionTime;
using planner::attentionWork;

namespace {

/// Passes over the scores of one ring block (attendBlock: matmul, scale,
/// the mask, row max, subtract, exp, row sum, matmul) and over the output
/// of one log-sum-exp merge (mergeBlocks' subtract, multiply, subtract).
constexpr double kBlockPasses = 10;
constexpr double kMergePasses = 8;

struct Pricer {
  const AttentionShape &s;
  const planner::Cluster &cluster;
  const planner::LinkSpec &link;
  FormEstimate e;

  /// Scores over `batch` leading elements of sq x sk, `scorePasses` passes
  /// over them, in elements of `bytes` (`dtype`).
  void scores(double batch, double sq, double sk, double scorePasses, double bytes,
              llvm::StringRef dtype) {
    double operands = batch * (sq * s.d + sk * (s.d + s.dv) + sq * s.dv) * bytes;
    e.compute += attentionTime(cluster.device, dtype,
                               attentionWork(batch, sq, sk, s.d, s.dv, scorePasses, bytes),
                               operands);
  }
  /// The fused attention op (graph.attention's expansion).
  void attention(double batch, double sq, double sk) {
    int masks = (s.mask ? 1 : 0) + (s.causal ? 1 : 0);
    scores(batch, sq, sk, attentionScorePasses(masks), s.elementBytes, s.dtype);
  }
  /// One ring block over the rank's leading elements, in the accumulation
  /// type.
  void block(double sq, double sk, bool masked, double acc) {
    scores(s.batch, sq, sk, kBlockPasses + (masked ? 2 : 0), acc, acc > 4 ? "f64" : "f32");
  }
  /// Elementwise passes over `elements` (merges, selects).
  void passes(double elements, double count, double acc) {
    if (cluster.device.memoryBandwidth > 0)
      e.compute += count * elements * acc / cluster.device.memoryBandwidth;
  }
  void collective(llvm::StringRef kind, double bytes, int64_t times = 1) {
    if (times <= 0)
      return;
    e.communication +=
        times * planner::collectiveTime(cluster, kind, bytes, s.parts, link);
    e.bytes += times * bytes;
    e.collectives += times;
  }
};

} // namespace

ZigzagPermutes zigzagRelayoutPermutes(int64_t parts) {
  ZigzagTables t = zigzagTables(parts);
  auto moving = [](llvm::ArrayRef<int64_t> table) {
    llvm::SmallVector<int64_t> shifts = distinctShifts(table);
    return (int64_t)llvm::count_if(shifts, [](int64_t x) { return x != 0; });
  };
  return {moving(t.evenTo) + moving(t.oddTo), moving(t.evenBack) + moving(t.oddBack)};
}

FormEstimate estimateForm(AttentionForm form, const AttentionShape &s,
                          const planner::Cluster &cluster, const planner::LinkSpec &link) {
  Pricer p{s, cluster, link, {}};
  p.e.form = form;
  double P = s.parts, L = s.batch, eb = s.elementBytes;
  double sq = s.sq, sk = s.sk, d = s.d, dv = s.dv;
  // Ring forms keep their statistics and blocks in f32 (f64 stays f64).
  double acc = std::max(eb, 4.0);
  switch (form) {
  case AttentionForm::Local:
    p.attention(L, sq, sk);
    p.e.memory = L * (sq * d + sk * (d + dv) + sq * sk) * eb;
    break;
  case AttentionForm::Gather:
    p.attention(L, sq / P, sk);
    p.collective("all_gather", L * sk * d * eb);
    p.collective("all_gather", L * sk * dv * eb);
    p.e.memory = L * (sk * (d + dv) + sq / P * sk) * eb;
    break;
  case AttentionForm::Ulysses:
    p.attention(L / P, sq, sk);
    p.collective("all_to_all", L * sq / P * d * eb);
    p.collective("all_to_all", L * sk / P * d * eb);
    p.collective("all_to_all", L * sk / P * dv * eb);
    p.collective("all_to_all", L * sq / P * dv * eb);
    p.e.memory = L / P * (sq * d + sk * (d + dv) + sq * sk) * eb;
    break;
  case AttentionForm::Ring: {
    double r = sq / P, c = sk / P;
    for (int64_t step = 0; step < s.parts; ++step)
      p.block(r, c, s.mask || s.causal, acc);
    p.passes(L * r * dv, kMergePasses * (P - 1), acc);
    p.collective("collective_permute", L * c * d * acc, s.parts - 1);
    p.collective("collective_permute", L * c * dv * acc, s.parts - 1);
    if (s.mask)
      p.collective("all_gather", s.maskRowElements * acc);
    p.e.memory = L * (2 * c * (d + dv) + r * c) * acc;
    break;
  }
  case AttentionForm::Zigzag: {
    double c = sq / (2 * P);
    // Step 0: the earlier own chunk causal in itself, the later one to both.
    p.block(c, c, true, acc);
    p.block(c, 2 * c, true, acc);
    // Later steps: two c x c blocks, three merges, the selects between them.
    for (int64_t step = 1; step < s.parts; ++step) {
      p.block(c, c, false, acc);
      p.block(c, c, false, acc);
    }
    p.passes(L * c * dv, (kMergePasses + 6) * 3 * (P - 1), acc);
    p.passes(L * c * (2 * d + dv), 3 * (P - 1), acc);
    ZigzagPermutes relayout = zigzagRelayoutPermutes(s.parts);
    p.collective("collective_permute", L * c * d * acc, 2 * relayout.in);
    p.collective("collective_permute", L * c * dv * acc, relayout.in + relayout.out);
    p.collective("collective_permute", L * 2 * c * d * acc, s.parts - 1);
    p.collective("collective_permute", L * 2 * c * dv * acc, s.parts - 1);
    p.e.memory = L * (4 * c * (d + dv) + 2 * c * c) * acc;
    break;
  }
  }
  return p.e;
}

mlir::FailureOr<AttentionPricing> priceForms(llvm::ArrayRef<AttentionForm> candidates,
                                             const AttentionShape &shape,
                                             const planner::Cluster &given,
                                             sharding::MeshAttr mesh,
                                             llvm::ArrayRef<mlir::StringAttr> axes,
                                             std::string &error) {
  std::vector<std::pair<std::string, int64_t>> meshAxes;
  int64_t devices = 1;
  for (auto [name, size] : llvm::zip(mesh.getNames(), mesh.getSizes())) {
    meshAxes.push_back({name.str(), size});
    devices *= size;
  }
  planner::Cluster cluster = given;
  planner::shareDevices(cluster, devices);
  auto links = cluster.mapAxes(meshAxes, error);
  if (mlir::failed(links))
    return mlir::failure();
  const planner::LinkSpec *link = nullptr;
  for (mlir::StringAttr axis : axes) {
    auto it = links->find(axis.str());
    if (it != links->end() &&
        (!link || it->second->effectiveBandwidth() < link->effectiveBandwidth()))
      link = it->second;
  }
  if (!link) {
    error = "the sequence axes have no link in cluster '" + cluster.name + "'";
    return mlir::failure();
  }
  std::vector<FormEstimate> estimates;
  std::vector<planner::PricedOption> options;
  for (AttentionForm form : candidates) {
    estimates.push_back(estimateForm(form, shape, cluster, *link));
    options.push_back({formName(form).str(), estimates.back().time(), estimates.back().memory});
  }
  planner::CostRanking ranking = planner::rankByCost(options, cluster.device.memoryBytes);
  AttentionPricing priced;
  priced.why = ranking.why;
  for (size_t i : ranking.order)
    priced.estimates.push_back(estimates[i]);
  return priced;
}

} // namespace partita::sequence
