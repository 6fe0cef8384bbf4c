// Numpy-style (multidirectional) broadcasting for kernels.
//
//   HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes({&a.shape(), &b.shape()}));
//   ForEachBroadcastRow<2>(shape, {BroadcastStrides(a.shape(), shape),
//                                  BroadcastStrides(b.shape(), shape)},
//                          [&](const auto& offsets, const auto& steps, int64_t out, int64_t n) {...});
//
// Or, for a plain elementwise function of two inputs, BroadcastBinary.
#ifndef HALFCAST_EVAL_KERNELS_BROADCAST_H_
#define HALFCAST_EVAL_KERNELS_BROADCAST_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace halfcast::eval {

// The broadcast shape of `shapes` or InvalidArgument naming the incompatible dimensions.
inline absl::StatusOr<std::vector<int64_t>> BroadcastShapes(
    std::initializer_list<const std::vector<int64_t>*> shapes) {
  std::size_t rank = 0;
  for (const auto* s : shapes) rank = std::max(rank, s->size());
  std::vector<int64_t> out(rank, 1);
  for (const auto* s : shapes) {
    const std::size_t offset = rank - s->size();
    for (std::size_t i = 0; i < s->size(); ++i) {
      const int64_t d = (*s)[i];
      int64_t& o = out[offset + i];
      if (d == o || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::vector<std::string> texts;
      for (const auto* t : shapes) texts.push_back(absl::StrCat("[", absl::StrJoin(*t, ","), "]"));
      return absl::InvalidArgumentError(
          absl::StrCat("shapes ", absl::StrJoin(texts, " and "), " cannot be broadcast"));
    }
  }
  return out;
}

// Row-major strides of `shape` in elements.
inline std::vector<int64_t> ContiguousStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

// Strides of an input of `in_shape` read at positions of `out_shape` (rank-aligned on the right):
// 0 along broadcast dimensions.
inline std::vector<int64_t> BroadcastStrides(const std::vector<int64_t>& in_shape,
                                             const std::vector<int64_t>& out_shape) {
  std::vector<int64_t> strides(out_shape.size(), 0);
  const std::vector<int64_t> own = ContiguousStrides(in_shape);
  const std::size_t offset = out_shape.size() - in_shape.size();
  for (std::size_t i = 0; i < in_shape.size(); ++i) {
    strides[offset + i] = in_shape[i] == 1 ? 0 : own[i];
  }
  return strides;
}

// Walks `out_shape` in row-major order one innermost row at a time, calling
// row(offsets, steps, out_offset, length): input k's elements of the row are
// offsets[k] + j * steps[k] for j < length; the output's are out_offset + j.
template <std::size_t N, typename RowFn>
void ForEachBroadcastRow(const std::vector<int64_t>& out_shape,
                         const std::array<std::vector<int64_t>, N>& strides, RowFn&& row) {
  int64_t total = 1;
  for (int64_t d : out_shape) total *= d;
  if (total == 0) return;
  std::array<int64_t, N> steps{};
  std::array<int64_t, N> offsets{};
  if (out_shape.empty()) {
    row(offsets, steps, int64_t{0}, int64_t{1});
    return;
  }
  // Merge each dimension into the next where every input walks the two as one (as [C, H, W]
  // times [C, 1, 1] walks H and W): fewer, longer rows, the same elements in the same order.
  std::vector<int64_t> shape = out_shape;
  std::array<std::vector<int64_t>, N> merged = strides;
  for (std::size_t d = shape.size() - 1; d-- > 0;) {
    bool mergeable = true;
    for (std::size_t k = 0; k < N; ++k) {
      mergeable = mergeable && merged[k][d] == merged[k][d + 1] * shape[d + 1];
    }
    if (!mergeable) continue;
    shape[d + 1] *= shape[d];
    shape.erase(shape.begin() + d);
    for (std::size_t k = 0; k < N; ++k) merged[k].erase(merged[k].begin() + d);
  }
  const std::size_t rank = shape.size();
  const int64_t length = shape[rank - 1];
  for (std::size_t k = 0; k < N; ++k) steps[k] = merged[k][rank - 1];
  std::vector<int64_t> index(rank, 0);
  for (int64_t out = 0; out < total; out += length) {
    row(offsets, steps, out, length);
    // Advance the outer index (all but the innermost dimension) like an odometer.
    for (std::size_t d = rank - 1; d-- > 0;) {
      ++index[d];
      for (std::size_t k = 0; k < N; ++k) offsets[k] += merged[k][d];
      if (index[d] < shape[d]) break;
      for (std::size_t k = 0; k < N; ++k) offsets[k] -= merged[k][d] * shape[d];
      index[d] = 0;
    }
  }
}

// out[i] = fn(a[ia], b[ib]) over the broadcast of a_shape and b_shape (out_shape, precomputed).
template <typename A, typename B, typename O, typename Fn>
void BroadcastBinary(const A* a, const std::vector<int64_t>& a_shape, const B* b,
                     const std::vector<int64_t>& b_shape, O* out,
                     const std::vector<int64_t>& out_shape, Fn&& fn) {
  int64_t a_count = 1, b_count = 1, total = 1;
  for (int64_t d : a_shape) a_count *= d;
  for (int64_t d : b_shape) b_count *= d;
  for (int64_t d : out_shape) total *= d;
  // Fast paths: same shape, or one side a single value.
  if (a_count == total && b_count == total) {
    for (int64_t i = 0; i < total; ++i) out[i] = fn(a[i], b[i]);
    return;
  }
  if (b_count == 1 && a_count == total) {
    const B bv = b[0];
    for (int64_t i = 0; i < total; ++i) out[i] = fn(a[i], bv);
    return;
  }
  if (a_count == 1 && b_count == total) {
    const A av = a[0];
    for (int64_t i = 0; i < total; ++i) out[i] = fn(av, b[i]);
    return;
  }
  ForEachBroadcastRow<2>(
      out_shape, {BroadcastStrides(a_shape, out_shape), BroadcastStrides(b_shape, out_shape)},
      [&](const std::array<int64_t, 2>& offsets, const std::array<int64_t, 2>& steps,
          int64_t o, int64_t n) {
        const A* pa = a + offsets[0];
        const B* pb = b + offsets[1];
        O* po = out + o;
        if (steps[0] == 1 && steps[1] == 1) {
          for (int64_t j = 0; j < n; ++j) po[j] = fn(pa[j], pb[j]);
        } else if (steps[0] == 1 && steps[1] == 0) {
          const B bv = pb[0];
          for (int64_t j = 0; j < n; ++j) po[j] = fn(pa[j], bv);
        } else if (steps[0] == 0 && steps[1] == 1) {
          const A av = pa[0];
          for (int64_t j = 0; j < n; ++j) po[j] = fn(av, pb[j]);
        } else {
          for (int64_t j = 0; j < n; ++j) po[j] = fn(pa[j * steps[0]], pb[j * steps[1]]);
        }
      });
}

}  // namespace halfcast::eval

#endif  // HALFCAST_EVAL_KERNELS_BROADCAST_H_
