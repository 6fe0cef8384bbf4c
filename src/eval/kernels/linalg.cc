// MatMul, Gemm and Einsum. Products run on Eigen through linalg::Gemm; Einsum contracts with a
// generic strided loop (its uses are small: attention-style reshuffles, not the bulk of a model).
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "eval/kernel.h"
#include "eval/kernels/dispatch.h"
#include "eval/kernels/linalg_util.h"

namespace halfcast::eval {
namespace {

using linalg::ShapeProduct;

// Numpy broadcasting of two batch shapes (already without the matrix dimensions).
absl::StatusOr<std::vector<int64_t>> BroadcastBatch(const KernelContext& context,
                                                    const std::vector<int64_t>& a,
                                                    const std::vector<int64_t>& b) {
  const size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      return context.Error(absl::StrCat("batch dimensions [", absl::StrJoin(a, ","), "] and [",
                                        absl::StrJoin(b, ","), "] do not broadcast"));
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// For each index of `out` (row-major), the linear index into `in` under broadcasting.
std::vector<int64_t> BroadcastIndices(const std::vector<int64_t>& out,
                                      const std::vector<int64_t>& in) {
  const size_t rank = out.size();
  std::vector<int64_t> strides(rank, 0);
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    const size_t j = i - (rank - in.size());
    if (i >= rank - in.size() && in[j] != 1) strides[i] = stride;
    if (i >= rank - in.size()) stride *= in[j];
  }
  const int64_t count = ShapeProduct(out, 0, rank);
  std::vector<int64_t> result(count);
  std::vector<int64_t> index(rank, 0);
  int64_t offset = 0;
  for (int64_t n = 0; n < count; ++n) {
    result[n] = offset;
    for (size_t i = rank; i-- > 0;) {
      offset += strides[i];
      if (++index[i] < out[i]) break;
      offset -= strides[i] * out[i];
      index[i] = 0;
    }
  }
  return result;
}

template <typename T>
absl::Status MatMulTyped(KernelContext& context, const Tensor& a, const Tensor& b) {
  std::vector<int64_t> sa = a.shape(), sb = b.shape();
  if (sa.empty() || sb.empty()) return context.Error("MatMul operands must have rank >= 1");
  const bool a_vector = sa.size() == 1, b_vector = sb.size() == 1;
  if (a_vector) sa.insert(sa.begin(), 1);
  if (b_vector) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  if (sb[sb.size() - 2] != k) {
    return context.Error(absl::StrCat("inner dimensions differ: A is [", absl::StrJoin(a.shape(), ","),
                                      "], B is [", absl::StrJoin(b.shape(), ","), "]"));
  }
  const std::vector<int64_t> batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> batch, BroadcastBatch(context, batch_a, batch_b));
  std::vector<int64_t> out_shape = batch;
  if (!a_vector) out_shape.push_back(m);
  if (!b_vector) out_shape.push_back(n);
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, context.NewUninitializedTensor(a.type(), out_shape));
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = out.mutable_data<T>();
  const int64_t batches = ShapeProduct(batch, 0, batch.size());
  if (ShapeProduct(batch_b, 0, batch_b.size()) == 1 &&
      ShapeProduct(batch_a, 0, batch_a.size()) == batches) {
    // B is shared by every batch and A's batches are contiguous: one tall product.
    linalg::Gemm<T>(false, false, batches * m, n, k, T(1), pa, pb, T(0), pc, n, context.threads());
  } else {
    const std::vector<int64_t> ia = BroadcastIndices(batch, batch_a);
    const std::vector<int64_t> ib = BroadcastIndices(batch, batch_b);
    for (int64_t i = 0; i < batches; ++i) {
      linalg::Gemm<T>(false, false, m, n, k, T(1), pa + ia[i] * m * k, pb + ib[i] * k * n, T(0),
                      pc + i * m * n, n, context.threads());
    }
  }
  context.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status CheckSameType(const KernelContext& context, const Tensor& a, const Tensor& b) {
  if (a.type() == b.type()) return absl::OkStatus();
  return context.Error(absl::StrCat("operand types differ: ", DataTypeName(a.type()), " and ",
                                    DataTypeName(b.type())));
}

absl::Status MatMul(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* a, context.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* b, context.RequiredInput(1));
  HALFCAST_RETURN_IF_ERROR(CheckSameType(context, *a, *b));
  return DispatchNumeric(
      a->type(), [&](auto zero) { return MatMulTyped<decltype(zero)>(context, *a, *b); }, "MatMul");
}

template <typename T>
absl::Status GemmTyped(KernelContext& context, const Tensor& a, const Tensor& b, const Tensor* c) {
  const bool trans_a = context.GetInt("transA", 0) != 0;
  const bool trans_b = context.GetInt("transB", 0) != 0;
  const T alpha = static_cast<T>(context.GetFloat("alpha", 1.0f));
  const T beta = static_cast<T>(context.GetFloat("beta", 1.0f));
  if (a.shape().size() != 2 || b.shape().size() != 2) {
    return context.Error("Gemm operands A and B must be 2-D");
  }
  const int64_t m = trans_a ? a.shape()[1] : a.shape()[0];
  const int64_t k = trans_a ? a.shape()[0] : a.shape()[1];
  const int64_t kb = trans_b ? b.shape()[1] : b.shape()[0];
  const int64_t n = trans_b ? b.shape()[0] : b.shape()[1];
  if (k != kb) {
    return context.Error(absl::StrCat("inner dimensions differ: op(A) is [", m, ",", k,
                                      "], op(B) is [", kb, ",", n, "]"));
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, context.NewTensor(a.type(), {m, n}));
  T* pc = out.mutable_data<T>();
  const bool use_c = c != nullptr && beta != T(0);
  if (use_c) {
    const std::vector<int64_t>& sc = c->shape();
    if (sc.size() > 2) return context.Error("Gemm input C must have rank <= 2");
    const int64_t cm = sc.size() == 2 ? sc[0] : 1;
    const int64_t cn = sc.empty() ? 1 : sc.back();
    if ((cm != 1 && cm != m) || (cn != 1 && cn != n)) {
      return context.Error(absl::StrCat("C of shape [", absl::StrJoin(sc, ","),
                                        "] does not broadcast to [", m, ",", n, "]"));
    }
    const T* values = c->data<T>();
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        pc[i * n + j] = beta * values[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
      }
    }
  }
  linalg::Gemm<T>(trans_a, trans_b, m, n, k, alpha, a.data<T>(), b.data<T>(),
                  use_c ? T(1) : T(0), pc, n, context.threads());
  context.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Gemm(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* a, context.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* b, context.RequiredInput(1));
  HALFCAST_RETURN_IF_ERROR(CheckSameType(context, *a, *b));
  const Tensor* c = context.input(2);
  if (c == nullptr && context.opset() < 11) return context.Error("Gemm before opset 11 needs C");
  if (c != nullptr) HALFCAST_RETURN_IF_ERROR(CheckSameType(context, *a, *c));
  return DispatchNumeric(
      a->type(), [&](auto zero) { return GemmTyped<decltype(zero)>(context, *a, *b, c); }, "Gemm");
}

// ---- Einsum ----------------------------------------------------------------------------------

// Labels: 'a'-'z' -> 0-25, 'A'-'Z' -> 26-51, ellipsis dimensions -> 52 onwards.
constexpr int kEllipsisLabel = 52;

int LetterLabel(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

struct EinsumTerm {
  std::vector<int> letters;  // labels in order; -1 marks where the ellipsis stands
  bool has_ellipsis = false;
};

absl::StatusOr<EinsumTerm> ParseTerm(const KernelContext& context, const std::string& text) {
  EinsumTerm term;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "...") == 0) {
      if (term.has_ellipsis) return context.Error("more than one ellipsis in an Einsum term");
      term.has_ellipsis = true;
      term.letters.push_back(-1);
      i += 2;
      continue;
    }
    const int label = LetterLabel(text[i]);
    if (label < 0) {
      return context.Error(absl::StrCat("invalid character '", std::string(1, text[i]),
                                        "' in Einsum equation"));
    }
    term.letters.push_back(label);
  }
  return term;
}

// Expands a term's ellipsis into `ellipsis_rank` labels (right-aligned, as numpy broadcasts).
std::vector<int> ExpandTerm(const EinsumTerm& term, int ellipsis_rank, int total_ellipsis) {
  std::vector<int> labels;
  for (int label : term.letters) {
    if (label >= 0) {
      labels.push_back(label);
      continue;
    }
    for (int e = total_ellipsis - ellipsis_rank; e < total_ellipsis; ++e) {
      labels.push_back(kEllipsisLabel + e);
    }
  }
  return labels;
}

template <typename T>
absl::Status EinsumTyped(KernelContext& context, const std::vector<const Tensor*>& operands,
                         const std::vector<std::vector<int>>& labels,
                         const std::vector<int>& out_labels, const std::vector<int64_t>& sizes) {
  // Loop order: output labels, then the labels summed over.
  std::vector<int> loop = out_labels;
  for (const std::vector<int>& term : labels) {
    for (int label : term) {
      if (std::find(loop.begin(), loop.end(), label) == loop.end()) loop.push_back(label);
    }
  }
  const size_t out_rank = out_labels.size();
  std::vector<int64_t> loop_sizes, out_shape;
  for (int label : loop) loop_sizes.push_back(sizes[label]);
  out_shape.assign(loop_sizes.begin(), loop_sizes.begin() + out_rank);
  // strides[o][d]: how far operand o moves when loop index d steps (0 for broadcast dimensions;
  // a repeated label adds its strides, which walks the diagonal).
  const size_t count = operands.size();
  std::vector<std::vector<int64_t>> strides(count, std::vector<int64_t>(loop.size(), 0));
  for (size_t o = 0; o < count; ++o) {
    const std::vector<int64_t>& shape = operands[o]->shape();
    int64_t stride = 1;
    for (size_t i = shape.size(); i-- > 0;) {
      const size_t d = std::find(loop.begin(), loop.end(), labels[o][i]) - loop.begin();
      if (shape[i] != 1) strides[o][d] += stride;
      stride *= shape[i];
    }
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, context.NewTensor(operands[0]->type(), out_shape));
  T* result = out.mutable_data<T>();
  const int64_t total = ShapeProduct(loop_sizes, 0, loop_sizes.size());
  const int64_t inner = ShapeProduct(loop_sizes, out_rank, loop_sizes.size());
  std::vector<const T*> data(count);
  for (size_t o = 0; o < count; ++o) data[o] = operands[o]->data<T>();
  std::vector<int64_t> index(loop.size(), 0), offset(count, 0);
  for (int64_t n = 0; n < total; ++n) {
    T product = T(1);
    for (size_t o = 0; o < count; ++o) product *= data[o][offset[o]];
    result[n / std::max<int64_t>(inner, 1)] += product;
    for (size_t d = loop.size(); d-- > 0;) {
      for (size_t o = 0; o < count; ++o) offset[o] += strides[o][d];
      if (++index[d] < loop_sizes[d]) break;
      for (size_t o = 0; o < count; ++o) offset[o] -= strides[o][d] * loop_sizes[d];
      index[d] = 0;
    }
  }
  context.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Einsum(KernelContext& context) {
  std::string equation;
  for (char c : context.GetString("equation", "")) {
    if (c != ' ') equation += c;
  }
  if (equation.empty()) return context.Error("Einsum needs an 'equation' attribute");
  const size_t arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  std::vector<std::string> term_texts;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    term_texts.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (static_cast<int>(term_texts.size()) != context.input_count()) {
    return context.Error(absl::StrCat("equation '", equation, "' has ", term_texts.size(),
                                      " operands but the node has ", context.input_count()));
  }
  std::vector<const Tensor*> operands;
  std::vector<EinsumTerm> terms;
  int total_ellipsis = 0;
  std::vector<int> ellipsis_ranks;
  for (int i = 0; i < context.input_count(); ++i) {
    HALFCAST_ASSIGN_OR_RETURN(const Tensor* operand, context.RequiredInput(i));
    if (operand->type() != context.input(0)->type()) {
      return context.Error("Einsum operands must share one element type");
    }
    HALFCAST_ASSIGN_OR_RETURN(EinsumTerm term, ParseTerm(context, term_texts[i]));
    const int letters = static_cast<int>(term.letters.size()) - (term.has_ellipsis ? 1 : 0);
    const int rank = static_cast<int>(operand->shape().size());
    if (term.has_ellipsis ? rank < letters : rank != letters) {
      return context.Error(absl::StrCat("term '", term_texts[i], "' does not fit operand ", i,
                                        " of rank ", rank));
    }
    ellipsis_ranks.push_back(rank - letters);
    total_ellipsis = std::max(total_ellipsis, rank - letters);
    operands.push_back(operand);
    terms.push_back(std::move(term));
  }
  std::vector<std::vector<int>> labels;
  std::vector<int64_t> sizes(kEllipsisLabel + total_ellipsis, -1);
  std::array<int, kEllipsisLabel> occurrences{};
  for (size_t i = 0; i < terms.size(); ++i) {
    labels.push_back(ExpandTerm(terms[i], ellipsis_ranks[i], total_ellipsis));
    for (size_t d = 0; d < labels[i].size(); ++d) {
      const int label = labels[i][d];
      const int64_t dim = operands[i]->shape()[d];
      if (label < kEllipsisLabel) ++occurrences[label];
      if (sizes[label] == -1 || sizes[label] == 1) {
        sizes[label] = dim;
      } else if (dim != sizes[label] && !(label >= kEllipsisLabel && dim == 1)) {
        return context.Error(absl::StrCat("dimension ", d, " of operand ", i, " is ", dim,
                                          ", but its label has size ", sizes[label]));
      }
    }
  }
  std::vector<int> out_labels;
  if (arrow != std::string::npos) {
    HALFCAST_ASSIGN_OR_RETURN(EinsumTerm out_term, ParseTerm(context, equation.substr(arrow + 2)));
    out_labels = ExpandTerm(out_term, total_ellipsis, total_ellipsis);
    for (int label : out_labels) {
      if (sizes[label] == -1) return context.Error("an output label is in no input term");
    }
  } else {
    for (int e = 0; e < total_ellipsis; ++e) out_labels.push_back(kEllipsisLabel + e);
    // numpy orders implicit output labels by character code: upper case before lower case.
    for (int label = 26; label < kEllipsisLabel; ++label) {
      if (occurrences[label] == 1) out_labels.push_back(label);
    }
    for (int label = 0; label < 26; ++label) {
      if (occurrences[label] == 1) out_labels.push_back(label);
    }
  }
  return DispatchNumeric(
      operands[0]->type(),
      [&](auto zero) {
        return EinsumTyped<decltype(zero)>(context, operands, labels, out_labels, sizes);
      },
      "Einsum");
}

const KernelDef kLinalgKernels[] = {
    {"", "MatMul", 1, 17, MatMul},
    {"", "Gemm", 1, 17, Gemm},
    {"", "Einsum", 12, 17, Einsum},
};

}  // namespace

absl::Span<const KernelDef> LinalgKernels() { return kLinalgKernels; }

}  // namespace halfcast::eval
