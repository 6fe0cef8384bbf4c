// Cast cleanup: removes Casts whose removal provably changes no value, and nothing else.
//   1. A Cast to the type its input already has is the identity.
//   2. x(16-bit) -> Cast(float) -> Cast(x's type): float32 holds every float16 and bfloat16 value
//      exactly, so the round trip returns x bit for bit; consumers read x instead.
//   3. Two Casts of the same value to the same type compute the same tensor; one is kept.
// Never removed: wide->narrow->wide chains (the narrow step rounds), chains through integer
// types (they truncate), and Casts producing a graph output (the name is part of the interface).
#ifndef HALFCAST_CONVERT_CAST_CLEANUP_H_
#define HALFCAST_CONVERT_CAST_CLEANUP_H_

#include <cstdint>
#include <functional>
#include <string>

#include "graph/graph_index.h"

namespace halfcast::convert {

// Element type (TensorProto::DataType, 0 if unknown) of `name` as seen from scope `s`.
using ElemTypeFn = std::function<int32_t(int s, const std::string& name)>;

// Runs the three rules over every scope of `index` (whose graphs may have been rewritten since
// it was built, as long as the subgraphs are the same objects). Returns the number of Casts
// removed.
int64_t CleanupCasts(const graph::GraphIndex& index, const ElemTypeFn& elem_type);

}  // namespace halfcast::convert

#endif  // HALFCAST_CONVERT_CAST_CLEANUP_H_
