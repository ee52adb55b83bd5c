//===- Communicator.cpp - groups and shape-level collectives ---------------===//

#include "runtime/Communicator.h"

#include <algorithm>

namespace partita::runtime {

size_t dtypeSize(DType t) {
  switch (t) {
  case DType::F64: case DType::I64: case DType::U64: return 8;
  case DType::F32: case DType::I32: case DType::U32: return 4;
  case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 2;
  case DType::I1: case DType::I8: case DType::U8: return 1;
  }
  return 1;
}

const char *dtypeName(DType t) {
  static const char *names[] = {"f32", "f64", "f16", "bf16", "i1",  "i8",  "i16",
                                "i32", "i64", "ui8", "ui16", "ui32", "ui64"};
  return isValidDType((int32_t)t) ? names[(int)t] : "?";
}

bool isValidDType(int32_t t) { return t >= 0 && t <= 12; }

Communicator::~Communicator() = default;

bool Communicator::fail(const std::string &message) {
  error_ = message;
  return false;
}

std::vector<int64_t> Communicator::coordinates() const {
  std::vector<int64_t> c(mesh_.size());
  int64_t r = rank_;
  for (int i = (int)mesh_.size() - 1; i >= 0; --i) {
    c[i] = r % mesh_[i];
    r /= mesh_[i];
  }
  return c;
}

int Communicator::addGroup(const std::vector<int> &axes) {
  Group g;
  g.axes = axes;
  std::vector<bool> in(mesh_.size(), false);
  for (int a : axes) {
    if (a < 0 || a >= (int)mesh_.size() || in[a]) {
      fail("group axes must be distinct mesh axis indices below " +
           std::to_string(mesh_.size()));
      return -1;
    }
    in[a] = true;
  }
  std::vector<int64_t> c = coordinates();
  g.size = 1;
  g.position = 0;
  for (int a : axes) {
    g.position = g.position * (int)mesh_[a] + (int)c[a];
    g.size *= (int)mesh_[a];
  }
  g.color = 0;
  for (size_t a = 0; a < mesh_.size(); ++a)
    if (!in[a])
      g.color = g.color * (int)mesh_[a] + (int)c[a];
  int id = (int)groups_.size();
  if (!createGroup(id, g))
    return -1;
  groups_.push_back(g);
  return id;
}

static int64_t product(const std::vector<int64_t> &s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i)
    p *= s[i];
  return p;
}

bool Communicator::allReduce(const void *in, void *out, const std::vector<int64_t> &shape,
                             DType t, ReduceOp op, int group) {
  return allReduceRaw(in, out, product(shape, 0, shape.size()), t, op, group);
}

bool Communicator::allGather(const void *in, void *out, const std::vector<int64_t> &shape,
                             int dim, DType t, int group) {
  if (dim < 0 || dim >= (int)shape.size())
    return fail("all_gather: dimension " + std::to_string(dim) + " out of range");
  return allGatherRaw(in, out, product(shape, 0, dim), product(shape, dim, shape.size()), t,
                      group);
}

bool Communicator::reduceScatter(const void *in, void *out, const std::vector<int64_t> &shape,
                                 int dim, DType t, ReduceOp op, int group) {
  if (!validGroup(group))
    return fail("reduce_scatter: unknown group " + std::to_string(group));
  if (dim < 0 || dim >= (int)shape.size())
    return fail("reduce_scatter: dimension " + std::to_string(dim) + " out of range");
  int n = groupSize(group);
  if (shape[dim] % n)
    return fail("reduce_scatter: dimension " + std::to_string(dim) + " of size " +
                std::to_string(shape[dim]) + " does not split over " + std::to_string(n) +
                " devices");
  return reduceScatterRaw(in, out, product(shape, 0, dim),
                          product(shape, dim, shape.size()) / n, t, op, group);
}

bool Communicator::allToAll(const void *in, void *out, const std::vector<int64_t> &shape,
                            int splitDim, int concatDim, DType t, int group) {
  if (!validGroup(group))
    return fail("all_to_all: unknown group " + std::to_string(group));
  int r = (int)shape.size();
  if (splitDim < 0 || splitDim >= r || concatDim < 0 || concatDim >= r)
    return fail("all_to_all: dimension out of range");
  int n = groupSize(group);
  if (shape[splitDim] % n)
    return fail("all_to_all: dimension " + std::to_string(splitDim) + " of size " +
                std::to_string(shape[splitDim]) + " does not split over " +
                std::to_string(n) + " devices");
  std::vector<int64_t> outShape = shape;
  outShape[splitDim] /= n;
  outShape[concatDim] *= n;
  return allToAllRaw(in, out, product(shape, 0, splitDim),
                     product(shape, splitDim, r) / n, product(outShape, 0, concatDim),
                     product(outShape, concatDim, r) / n, t, group);
}

bool Communicator::collectivePermute(const void *in, void *out,
                                     const std::vector<int64_t> &shape, int64_t shift,
                                     DType t, int group) {
  return collectivePermuteRaw(in, out, product(shape, 0, shape.size()), shift, t, group);
}

} // namespace partita::runtime
