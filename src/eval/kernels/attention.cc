// Attention and rotary position embedding: com.microsoft Attention (packed QKV projection),
// MultiHeadAttention, GroupQueryAttention and RotaryEmbedding as ONNX Runtime 1.30's CPU kernels
// compute them, and ONNX's Attention-23 and RotaryEmbedding-23. All heads go through one scaled
// dot-product core (float32; 16-bit inputs arrive widened, kernel.h); each op only differs in how
// it lays out Q, K and V and builds the additive mask.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "eval/kernel.h"
#include "eval/kernels/linalg_util.h"

namespace halfcast::eval {
namespace {

constexpr int kLatest = std::numeric_limits<int>::max();
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

absl::StatusOr<const Tensor*> FloatTensorInput(const KernelContext& context, int i) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* t, context.RequiredInput(i));
  if (t->type() != DataType::kFloat) {
    return absl::UnimplementedError(absl::StrCat(
        context.node().op_type(), ": input ", i, " is ", DataTypeName(t->type()),
        "; the evaluator computes attention in float32 (and 16-bit floats through it)"));
  }
  return t;
}

// An optional input that, when present, must be float32.
absl::StatusOr<const Tensor*> OptionalFloatInput(const KernelContext& context, int i) {
  if (context.input(i) == nullptr) return nullptr;
  return FloatTensorInput(context, i);
}

// ---------------------------------------------------------------------------------------------
// The scaled dot-product core.

struct AttentionShape {
  int64_t batch = 0;
  int64_t q_heads = 0;
  int64_t kv_heads = 0;  // divides q_heads: query head n reads key/value head n / (q/kv)
  int64_t q_len = 0;
  int64_t kv_len = 0;  // total, past included
  int64_t head_size = 0;
  int64_t v_head_size = 0;
};

// What a caller may observe between the steps, for ONNX Attention's qk_matmul_output.
enum class ScoreStage { kNone, kMatMul, kSoftcap, kMasked, kSoftmax };

struct AttentionOptions {
  float scale = 1.0f;
  float softcap = 0.0f;  // > 0: scores = softcap * tanh(scores / softcap), before the mask
  // Adds the mask of (batch b, query head n) to `scores` ([q_len, kv_len]); may be empty.
  std::function<void(int64_t b, int64_t n, float* scores)> add_mask;
  // A row whose scores are all -inf softmaxes to zeros (ONNX Attention) instead of NaN.
  bool zero_masked_rows = true;
  // A logit of query head n that joins every softmax denominator without a value (GQA's
  // head_sink, or 0 for smooth_softmax); empty for none.
  std::function<float(int64_t n)> sink;
  ScoreStage capture = ScoreStage::kNone;
  float* captured = nullptr;  // [batch, q_heads, q_len, kv_len] when capture != kNone
};

// out [B, Nq, S, Hv] = softmax(mask(softcap(scale * Q K^T))) V for Q [B, Nq, S, H],
// K [B, Nkv, T, H] and V [B, Nkv, T, Hv], all contiguous.
void ScaledDotProductAttention(const AttentionShape& s, const AttentionOptions& options,
                               const float* q, const float* k, const float* v, float* out,
                               int threads) {
  const int64_t group = s.q_heads / s.kv_heads;
  const int64_t score_size = s.q_len * s.kv_len;
  linalg::ParallelFor(threads, s.batch * s.q_heads, [&](int64_t i) {
    const int64_t b = i / s.q_heads, n = i % s.q_heads;
    const int64_t kv = b * s.kv_heads + n / group;
    std::vector<float> scores(score_size);
    auto capture = [&](ScoreStage stage) {
      if (options.capture == stage) {
        std::copy(scores.begin(), scores.end(), options.captured + i * score_size);
      }
    };
    linalg::Gemm<float>(false, true, s.q_len, s.kv_len, s.head_size, options.scale,
                        q + i * s.q_len * s.head_size, k + kv * s.kv_len * s.head_size, 0.0f,
                        scores.data(), s.kv_len, 1);
    capture(ScoreStage::kMatMul);
    if (options.softcap > 0) {
      for (float& x : scores) x = options.softcap * std::tanh(x / options.softcap);
    }
    capture(ScoreStage::kSoftcap);
    if (options.add_mask) options.add_mask(b, n, scores.data());
    capture(ScoreStage::kMasked);
    for (int64_t r = 0; r < s.q_len; ++r) {
      float* row = scores.data() + r * s.kv_len;
      float max = s.kv_len > 0 ? *std::max_element(row, row + s.kv_len) : 0.0f;
      const float sink = options.sink ? options.sink(n) : kNegInf;
      max = std::max(max, sink);
      if (max == kNegInf && options.zero_masked_rows) {
        std::fill(row, row + s.kv_len, 0.0f);
        continue;
      }
      double sum = options.sink ? std::exp(sink - max) : 0.0;
      for (int64_t t = 0; t < s.kv_len; ++t) {
        row[t] = std::exp(row[t] - max);
        sum += row[t];
      }
      for (int64_t t = 0; t < s.kv_len; ++t) row[t] = static_cast<float>(row[t] / sum);
    }
    capture(ScoreStage::kSoftmax);
    linalg::Gemm<float>(false, false, s.q_len, s.v_head_size, s.kv_len, 1.0f, scores.data(),
                        v + kv * s.kv_len * s.v_head_size, 0.0f, out + i * s.q_len * s.v_head_size,
                        s.v_head_size, 1);
  });
}

// [B, S, N * H] (rows of `row_stride` values, the heads starting at `column`) -> [B, N, S, H].
void SplitHeads(const float* in, int64_t batch, int64_t seq, int64_t heads, int64_t head_size,
                int64_t row_stride, int64_t column, float* out) {
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < seq; ++t) {
      const float* row = in + (b * seq + t) * row_stride + column;
      for (int64_t n = 0; n < heads; ++n) {
        std::copy_n(row + n * head_size, head_size, out + ((b * heads + n) * seq + t) * head_size);
      }
    }
  }
}

// [B, N, S, H] -> [B, S, N * H].
void MergeHeads(const float* in, int64_t batch, int64_t heads, int64_t seq, int64_t head_size,
                float* out) {
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t n = 0; n < heads; ++n) {
      for (int64_t t = 0; t < seq; ++t) {
        std::copy_n(in + ((b * heads + n) * seq + t) * head_size, head_size,
                    out + ((b * seq + t) * heads + n) * head_size);
      }
    }
  }
}

// past [B, N, P, H] (nullptr when P = 0) followed by current [B, N, L, H] along the sequence.
std::vector<float> ConcatSequence(const float* past, const float* current, int64_t batch_heads,
                                  int64_t past_len, int64_t len, int64_t head_size) {
  std::vector<float> all(batch_heads * (past_len + len) * head_size);
  for (int64_t i = 0; i < batch_heads; ++i) {
    float* dst = all.data() + i * (past_len + len) * head_size;
    if (past_len > 0) std::copy_n(past + i * past_len * head_size, past_len * head_size, dst);
    std::copy_n(current + i * len * head_size, len * head_size, dst + past_len * head_size);
  }
  return all;
}

// Runs attention and sets output 0 to its heads merged back into rows:
// [batch, q_len, q_heads * v_head_size], the layout of every fused attention op's output.
absl::Status AttendIntoMergedOutput(KernelContext& context, const AttentionShape& shape,
                                    const AttentionOptions& options, const float* q,
                                    const float* k, const float* v) {
  std::vector<float> heads_out(shape.batch * shape.q_heads * shape.q_len * shape.v_head_size);
  ScaledDotProductAttention(shape, options, q, k, v, heads_out.data(), context.threads());
  HALFCAST_ASSIGN_OR_RETURN(
      Tensor y, context.NewUninitializedTensor(
                    DataType::kFloat, {shape.batch, shape.q_len, shape.q_heads * shape.v_head_size}));
  MergeHeads(heads_out.data(), shape.batch, shape.q_heads, shape.q_len, shape.v_head_size,
             y.mutable_data<float>());
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

absl::Status SetFloatOutput(KernelContext& context, int i, std::vector<int64_t> shape,
                            const float* data) {
  if (!context.output_wanted(i)) return absl::OkStatus();
  HALFCAST_ASSIGN_OR_RETURN(Tensor t, context.NewUninitializedTensor(DataType::kFloat, shape));
  std::copy_n(data, t.element_count(), t.mutable_data<float>());
  context.set_output(i, std::move(t));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// ONNX Runtime's masks (com.microsoft Attention and MultiHeadAttention): the mask_index /
// key_padding_mask forms turned into a per-batch additive [S, T] mask, where masked positions
// get mask_filter_value (default -10000), plus the causal mask of `unidirectional` and an
// optional attention_bias [B or 1, N or 1, S, T].

struct ContribMask {
  std::vector<float> per_batch;  // [B, S, T] additive, empty when there is no mask at all
  const float* attention_bias = nullptr;
  bool bias_per_batch = false, bias_per_head = false;
};

absl::StatusOr<ContribMask> BuildContribMask(const KernelContext& context, const Tensor* mask,
                                             const Tensor* attention_bias, int64_t batch,
                                             int64_t heads, int64_t q_len, int64_t past_len,
                                             int64_t total, bool causal) {
  ContribMask result;
  const float filter = context.GetFloat("mask_filter_value", -10000.0f);
  if (mask != nullptr || causal) result.per_batch.assign(batch * q_len * total, 0.0f);
  if (mask != nullptr) {
    HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> m, linalg::ReadInt64s(context, *mask));
    const std::vector<int64_t>& ms = mask->shape();
    float* pm = result.per_batch.data();
    if (ms.size() == 1 && (ms[0] == batch || ms[0] == 2 * batch)) {
      // Key lengths (right padding), with start positions (left padding) in the second half.
      for (int64_t b = 0; b < batch; ++b) {
        const int64_t end = std::clamp<int64_t>(m[b], 0, total);
        const int64_t start = ms[0] == 2 * batch ? std::clamp<int64_t>(m[batch + b], 0, total) : 0;
        for (int64_t s = 0; s < q_len; ++s) {
          float* row = pm + (b * q_len + s) * total;
          for (int64_t t = 0; t < total; ++t) {
            if (t >= end || t < start) row[t] = filter;
          }
        }
      }
    } else if (ms.size() == 2 && ms[0] == batch && ms[1] == total) {
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t s = 0; s < q_len; ++s) {
          for (int64_t t = 0; t < total; ++t) {
            if (m[b * total + t] <= 0) pm[(b * q_len + s) * total + t] = filter;
          }
        }
      }
    } else if (ms.size() == 3 && ms[0] == batch && ms[1] == q_len && ms[2] == total) {
      for (int64_t i = 0; i < batch * q_len * total; ++i) {
        if (m[i] <= 0) pm[i] = filter;
      }
    } else {
      return context.Error(absl::StrCat("mask of shape ", ShapeText(ms),
                                        " is none of [B], [2B], [B, T] and [B, S, T] for B = ",
                                        batch, ", S = ", q_len, ", T = ", total));
    }
  }
  if (causal) {
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t s = 0; s < q_len; ++s) {
        float* row = result.per_batch.data() + (b * q_len + s) * total;
        for (int64_t t = past_len + s + 1; t < total; ++t) row[t] = filter;
      }
    }
  }
  if (attention_bias != nullptr) {
    const std::vector<int64_t>& bs = attention_bias->shape();
    if (bs.size() != 4 || (bs[0] != 1 && bs[0] != batch) || (bs[1] != 1 && bs[1] != heads) ||
        bs[2] != q_len || bs[3] != total) {
      return context.Error(absl::StrCat("attention_bias of shape ", ShapeText(bs),
                                        " is not [B or 1, N or 1, S, T] = [", batch, ", ", heads,
                                        ", ", q_len, ", ", total, "]"));
    }
    result.attention_bias = attention_bias->data<float>();
    result.bias_per_batch = bs[0] != 1;
    result.bias_per_head = bs[1] != 1;
  }
  return result;
}

std::function<void(int64_t, int64_t, float*)> ContribMaskAdder(const ContribMask& mask,
                                                               int64_t heads, int64_t q_len,
                                                               int64_t total) {
  return [&mask, heads, q_len, total](int64_t b, int64_t n, float* scores) {
    const int64_t size = q_len * total;
    if (!mask.per_batch.empty()) {
      const float* m = mask.per_batch.data() + b * size;
      for (int64_t i = 0; i < size; ++i) scores[i] += m[i];
    }
    if (mask.attention_bias != nullptr) {
      const int64_t index = (mask.bias_per_batch ? b * (mask.bias_per_head ? heads : 1) : 0) +
                            (mask.bias_per_head ? n : 0);
      const float* bias = mask.attention_bias + index * size;
      for (int64_t i = 0; i < size; ++i) scores[i] += bias[i];
    }
  };
}

// The scale attribute, 0 (absent) meaning 1 / sqrt(head_size).
float ScaleAttribute(const KernelContext& context, int64_t head_size) {
  const float scale = context.GetFloat("scale", 0.0f);
  return scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(head_size));
}

// com.microsoft Attention: input [B, S, D_in] projected by weights [D_in, Dq + Dk + Dv] (+ bias)
// into Q, K, V (qkv_hidden_sizes, default three equal parts); optional past [2, B, N, P, H] is
// prepended to K and V, and present returns the concatenation.
absl::Status ContribAttention(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* input, FloatTensorInput(context, 0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* weights, FloatTensorInput(context, 1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* bias, OptionalFloatInput(context, 2));
  const Tensor* mask = context.input(3);
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* past, OptionalFloatInput(context, 4));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* attention_bias, OptionalFloatInput(context, 5));
  const int64_t heads = context.GetInt("num_heads", 0);
  if (heads <= 0) return context.Error("num_heads must be positive");
  if (context.GetInt("past_present_share_buffer", 0) != 0 || context.GetInt("do_rotary", 0) != 0 ||
      context.input(6) != nullptr) {
    return absl::UnimplementedError(
        "Attention: past_present_share_buffer, past_sequence_length and do_rotary are not "
        "supported");
  }
  const std::vector<int64_t>& is = input->shape();
  const std::vector<int64_t>& ws = weights->shape();
  if (is.size() != 3 || ws.size() != 2 || ws[0] != is[2]) {
    return context.Error(absl::StrCat("input ", ShapeText(is), " and weights ", ShapeText(ws),
                                      " are not [B, S, D] and [D, Dq + Dk + Dv]"));
  }
  std::vector<int64_t> sizes = context.GetInts("qkv_hidden_sizes");
  if (sizes.empty()) sizes.assign(3, ws[1] / 3);
  if (sizes.size() != 3 || sizes[0] + sizes[1] + sizes[2] != ws[1] || sizes[0] != sizes[1] ||
      sizes[0] % heads != 0 || sizes[2] % heads != 0) {
    return context.Error(absl::StrCat("qkv_hidden_sizes [", absl::StrJoin(sizes, ","),
                                      "] must be equal Q and K sizes and a V size, multiples of ",
                                      heads, " heads, summing to ", ws[1]));
  }
  if (bias != nullptr && bias->element_count() != ws[1]) {
    return context.Error(absl::StrCat("bias must have ", ws[1], " values"));
  }
  const int64_t batch = is[0], seq = is[1], width = ws[1];
  const int64_t head_size = sizes[0] / heads, v_head_size = sizes[2] / heads;
  int64_t past_len = 0;
  if (past != nullptr) {
    const std::vector<int64_t>& ps = past->shape();
    if (ps.size() != 5 || ps[0] != 2 || ps[1] != batch || ps[2] != heads || ps[4] != head_size ||
        head_size != v_head_size) {
      return context.Error(absl::StrCat("past of shape ", ShapeText(ps), " is not [2, ", batch,
                                        ", ", heads, ", P, ", head_size, "]"));
    }
    past_len = ps[3];
  }
  const int64_t total = past_len + seq;
  // The projection of all three at once: [B * S, Dq + Dk + Dv].
  std::vector<float> qkv(batch * seq * width);
  if (bias != nullptr) {
    for (int64_t r = 0; r < batch * seq; ++r) {
      std::copy_n(bias->data<float>(), width, qkv.data() + r * width);
    }
  }
  linalg::Gemm<float>(false, false, batch * seq, width, is[2], 1.0f, input->data<float>(),
                      weights->data<float>(), bias != nullptr ? 1.0f : 0.0f, qkv.data(), width,
                      context.threads());
  std::vector<float> q(batch * heads * seq * head_size), k(q.size());
  std::vector<float> v(batch * heads * seq * v_head_size);
  SplitHeads(qkv.data(), batch, seq, heads, head_size, width, 0, q.data());
  SplitHeads(qkv.data(), batch, seq, heads, head_size, width, sizes[0], k.data());
  SplitHeads(qkv.data(), batch, seq, heads, v_head_size, width, 2 * sizes[0], v.data());
  const int64_t past_half = batch * heads * past_len * head_size;
  const float* past_k = past != nullptr ? past->data<float>() : nullptr;
  const float* past_v = past != nullptr ? past->data<float>() + past_half : nullptr;
  std::vector<float> k_all =
      ConcatSequence(past_k, k.data(), batch * heads, past_len, seq, head_size);
  std::vector<float> v_all =
      ConcatSequence(past_v, v.data(), batch * heads, past_len, seq, v_head_size);
  const bool causal = context.GetInt("unidirectional", 0) != 0;
  HALFCAST_ASSIGN_OR_RETURN(
      ContribMask masks,
      BuildContribMask(context, mask, attention_bias, batch, heads, seq, past_len, total, causal));
  AttentionShape shape{batch, heads, heads, seq, total, head_size, v_head_size};
  AttentionOptions options;
  options.scale = ScaleAttribute(context, head_size);
  options.add_mask = ContribMaskAdder(masks, heads, seq, total);
  options.zero_masked_rows = false;
  HALFCAST_RETURN_IF_ERROR(
      AttendIntoMergedOutput(context, shape, options, q.data(), k_all.data(), v_all.data()));
  if (context.output_wanted(1)) {
    if (head_size != v_head_size) return context.Error("present needs equal K and V head sizes");
    std::vector<float> present(k_all);
    present.insert(present.end(), v_all.begin(), v_all.end());
    HALFCAST_RETURN_IF_ERROR(
        SetFloatOutput(context, 1, {2, batch, heads, total, head_size}, present.data()));
  }
  return absl::OkStatus();
}

// com.microsoft MultiHeadAttention: separate query [B, S, D], key [B, L, D] and value
// [B, L, Dv] (or key as packed K/V [B, L, N, 2, H] with no value, or key/value already split
// into heads as [B, N, L, H], used as they are), bias [D + D + Dv], past_key/past_value
// [B, N, P, H] prepended to K and V and returned as present_key/present_value.
absl::Status MultiHeadAttention(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* query, FloatTensorInput(context, 0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* key, FloatTensorInput(context, 1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* value, OptionalFloatInput(context, 2));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* bias, OptionalFloatInput(context, 3));
  const Tensor* mask = context.input(4);
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* attention_bias, OptionalFloatInput(context, 5));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* past_key, OptionalFloatInput(context, 6));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* past_value, OptionalFloatInput(context, 7));
  const int64_t heads = context.GetInt("num_heads", 0);
  if (heads <= 0) return context.Error("num_heads must be positive");
  if (context.input(8) != nullptr || context.input(9) != nullptr) {
    return absl::UnimplementedError(
        "MultiHeadAttention: past_sequence_length and cache_indirection are not supported");
  }
  const std::vector<int64_t>& qs = query->shape();
  if (qs.size() != 3 || qs[2] % heads != 0) {
    return context.Error(absl::StrCat("query of shape ", ShapeText(qs), " is not [B, S, D] with D",
                                      " a multiple of ", heads,
                                      " heads (packed QKV is not "
                                      "supported)"));
  }
  const int64_t batch = qs[0], seq = qs[1], hidden = qs[2], head_size = hidden / heads;
  const std::vector<int64_t>& ks = key->shape();
  // Sizes of K and V; which layout they come in.
  int64_t kv_len = 0, v_hidden = 0;
  enum class Layout { kSeparate, kPackedKv, kHeads } layout;
  if (ks.size() == 3 && value != nullptr && value->shape().size() == 3) {
    layout = Layout::kSeparate;
    kv_len = ks[1];
    v_hidden = value->shape()[2];
    if (ks[0] != batch || ks[2] != hidden || value->shape()[0] != batch ||
        value->shape()[1] != kv_len || v_hidden % heads != 0) {
      return context.Error(absl::StrCat("key ", ShapeText(ks), " and value ",
                                        ShapeText(value->shape()), " do not fit query ",
                                        ShapeText(qs)));
    }
  } else if (ks.size() == 5 && value == nullptr) {
    layout = Layout::kPackedKv;
    kv_len = ks[1];
    v_hidden = hidden;
    if (ks[0] != batch || ks[2] != heads || ks[3] != 2 || ks[4] != head_size) {
      return context.Error(absl::StrCat("packed key/value ", ShapeText(ks), " is not [", batch,
                                        ", L, ", heads, ", 2, ", head_size, "]"));
    }
  } else if (ks.size() == 4 && value != nullptr && value->shape().size() == 4) {
    layout = Layout::kHeads;
    kv_len = ks[2];
    const std::vector<int64_t>& vs = value->shape();
    v_hidden = vs[3] * heads;
    if (ks[0] != batch || ks[1] != heads || ks[3] != head_size || vs[0] != batch ||
        vs[1] != heads || vs[2] != kv_len) {
      return context.Error(absl::StrCat("key ", ShapeText(ks), " and value ", ShapeText(vs),
                                        " are not [B, N, L, H] for query ", ShapeText(qs)));
    }
  } else {
    return context.Error(absl::StrCat("unsupported key ", ShapeText(ks), " / value layout"));
  }
  const int64_t v_head_size = v_hidden / heads;
  if (bias != nullptr && bias->element_count() != 2 * hidden + v_hidden) {
    return context.Error(absl::StrCat("bias must have ", 2 * hidden + v_hidden, " values"));
  }
  const float* pbias = bias != nullptr ? bias->data<float>() : nullptr;
  // Q (and K, V from rows) with their bias, split into heads.
  auto project = [&](const float* rows, int64_t len, int64_t width, int64_t row_stride,
                     int64_t column, const float* b) {
    std::vector<float> biased(batch * len * width);
    for (int64_t r = 0; r < batch * len; ++r) {
      for (int64_t j = 0; j < width; ++j) {
        biased[r * width + j] = rows[r * row_stride + column + j] + (b != nullptr ? b[j] : 0.0f);
      }
    }
    std::vector<float> split(biased.size());
    SplitHeads(biased.data(), batch, len, heads, width / heads, width, 0, split.data());
    return split;
  };
  std::vector<float> q = project(query->data<float>(), seq, hidden, hidden, 0, pbias);
  std::vector<float> k, v;
  if (layout == Layout::kSeparate) {
    k = project(key->data<float>(), kv_len, hidden, hidden, 0,
                pbias != nullptr ? pbias + hidden : nullptr);
    v = project(value->data<float>(), kv_len, v_hidden, v_hidden, 0,
                pbias != nullptr ? pbias + 2 * hidden : nullptr);
  } else if (layout == Layout::kPackedKv) {
    // [B, L, N, 2, H]: per row, head n's key then value.
    std::vector<float> k_rows(batch * kv_len * hidden), v_rows(k_rows.size());
    const float* pk = key->data<float>();
    for (int64_t r = 0; r < batch * kv_len; ++r) {
      for (int64_t n = 0; n < heads; ++n) {
        const float* src = pk + (r * heads + n) * 2 * head_size;
        std::copy_n(src, head_size, k_rows.data() + r * hidden + n * head_size);
        std::copy_n(src + head_size, head_size, v_rows.data() + r * hidden + n * head_size);
      }
    }
    k = project(k_rows.data(), kv_len, hidden, hidden, 0,
                pbias != nullptr ? pbias + hidden : nullptr);
    v = project(v_rows.data(), kv_len, hidden, hidden, 0,
                pbias != nullptr ? pbias + 2 * hidden : nullptr);
  } else {
    k.assign(key->data<float>(), key->data<float>() + key->element_count());
    v.assign(value->data<float>(), value->data<float>() + value->element_count());
  }
  int64_t past_len = 0;
  if ((past_key != nullptr) != (past_value != nullptr)) {
    return context.Error("past_key and past_value must be given together");
  }
  if (past_key != nullptr) {
    if (layout == Layout::kHeads) {
      return context.Error("past_key/past_value cannot combine with key/value in [B, N, L, H]");
    }
    const std::vector<int64_t>& pk = past_key->shape();
    const std::vector<int64_t>& pv = past_value->shape();
    if (pk.size() != 4 || pk[0] != batch || pk[1] != heads || pk[3] != head_size ||
        pv != std::vector<int64_t>{batch, heads, pk[2], v_head_size}) {
      return context.Error(absl::StrCat("past_key ", ShapeText(pk), " / past_value ", ShapeText(pv),
                                        " are not [B, N, P, H]"));
    }
    past_len = pk[2];
  }
  const int64_t total = past_len + kv_len;
  std::vector<float> k_all = ConcatSequence(past_key ? past_key->data<float>() : nullptr, k.data(),
                                            batch * heads, past_len, kv_len, head_size);
  std::vector<float> v_all = ConcatSequence(past_value ? past_value->data<float>() : nullptr,
                                            v.data(), batch * heads, past_len, kv_len, v_head_size);
  const bool causal = context.GetInt("unidirectional", 0) != 0;
  HALFCAST_ASSIGN_OR_RETURN(
      ContribMask masks,
      BuildContribMask(context, mask, attention_bias, batch, heads, seq, past_len, total, causal));
  AttentionShape shape{batch, heads, heads, seq, total, head_size, v_head_size};
  AttentionOptions options;
  options.scale = ScaleAttribute(context, head_size);
  options.add_mask = ContribMaskAdder(masks, heads, seq, total);
  options.zero_masked_rows = false;
  std::vector<float> qk;
  if (context.output_wanted(3)) {
    qk.resize(batch * heads * seq * total);
    options.capture = ScoreStage::kMasked;
    options.captured = qk.data();
  }
  HALFCAST_RETURN_IF_ERROR(
      AttendIntoMergedOutput(context, shape, options, q.data(), k_all.data(), v_all.data()));
  HALFCAST_RETURN_IF_ERROR(
      SetFloatOutput(context, 1, {batch, heads, total, head_size}, k_all.data()));
  HALFCAST_RETURN_IF_ERROR(
      SetFloatOutput(context, 2, {batch, heads, total, v_head_size}, v_all.data()));
  HALFCAST_RETURN_IF_ERROR(SetFloatOutput(context, 3, {batch, heads, seq, total}, qk.data()));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// ONNX Attention (opset 23): Q [B, Nq, S, H], K [B, Nkv, L, H], V [B, Nkv, L, Hv], or 3-D
// [B, S, N * H] with q_num_heads/kv_num_heads; past_key/past_value [B, Nkv, P, H] prepended;
// attn_mask bool (true attends) or additive, broadcast to [B, Nq, S, T] (a shorter last
// dimension masks the keys past it); is_causal aligned bottom-right (query s sees keys up to
// P + s); softcap before the mask.

// Reads Q, K or V as [B, N, len, head] whatever its rank.
absl::StatusOr<std::vector<float>> ToHeads(const KernelContext& context, const Tensor& t,
                                           int64_t heads_attr, const char* name,
                                           std::vector<int64_t>* bnsh) {
  const std::vector<int64_t>& s = t.shape();
  if (s.size() == 4) {
    *bnsh = s;
    return std::vector<float>(t.data<float>(), t.data<float>() + t.element_count());
  }
  if (s.size() != 3 || heads_attr <= 0 || s[2] % heads_attr != 0) {
    return context.Error(absl::StrCat(name, " of shape ", ShapeText(s), " must be 4-D, or 3-D",
                                      " with its last dimension a multiple of the (required)",
                                      " head count attribute"));
  }
  *bnsh = {s[0], heads_attr, s[1], s[2] / heads_attr};
  std::vector<float> out(t.element_count());
  SplitHeads(t.data<float>(), s[0], s[1], heads_attr, s[2] / heads_attr, s[2], 0, out.data());
  return out;
}

absl::Status OnnxAttention(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* q_in, FloatTensorInput(context, 0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* k_in, FloatTensorInput(context, 1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* v_in, FloatTensorInput(context, 2));
  const Tensor* mask = context.input(3);
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* past_key, OptionalFloatInput(context, 4));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* past_value, OptionalFloatInput(context, 5));
  // Opset 24's nonpad_kv_seqlen and opset 25's sliding window change which keys are seen.
  if (context.input(6) != nullptr || context.GetInt("left_window_size", -1) >= 0 ||
      context.GetInt("right_window_size", -1) >= 0) {
    return absl::UnimplementedError(
        "Attention: nonpad_kv_seqlen and left/right_window_size are not supported");
  }
  const size_t rank = q_in->shape().size();
  if (k_in->shape().size() != rank || v_in->shape().size() != rank) {
    return context.Error("Q, K and V must have one rank");
  }
  const int64_t q_heads_attr = context.GetInt("q_num_heads", 0);
  const int64_t kv_heads_attr = context.GetInt("kv_num_heads", 0);
  std::vector<int64_t> qs, ks, vs;
  HALFCAST_ASSIGN_OR_RETURN(std::vector<float> q, ToHeads(context, *q_in, q_heads_attr, "Q", &qs));
  HALFCAST_ASSIGN_OR_RETURN(std::vector<float> k, ToHeads(context, *k_in, kv_heads_attr, "K", &ks));
  HALFCAST_ASSIGN_OR_RETURN(std::vector<float> v, ToHeads(context, *v_in, kv_heads_attr, "V", &vs));
  const int64_t batch = qs[0], q_heads = qs[1], seq = qs[2], head_size = qs[3];
  const int64_t kv_heads = ks[1], kv_len = ks[2], v_head_size = vs[3];
  if (ks[0] != batch || vs[0] != batch || ks[3] != head_size || vs[1] != kv_heads ||
      vs[2] != kv_len || kv_heads <= 0 || q_heads % kv_heads != 0) {
    return context.Error(absl::StrCat("Q ", ShapeText(qs), ", K ", ShapeText(ks), " and V ",
                                      ShapeText(vs), " (as [B, N, S, H]) do not fit together"));
  }
  if ((past_key != nullptr) != (past_value != nullptr)) {
    return context.Error("past_key and past_value must be given together");
  }
  int64_t past_len = 0;
  if (past_key != nullptr) {
    const std::vector<int64_t>& pk = past_key->shape();
    if (pk.size() != 4 || pk[0] != batch || pk[1] != kv_heads || pk[3] != head_size ||
        past_value->shape() != std::vector<int64_t>{batch, kv_heads, pk[2], v_head_size}) {
      return context.Error(absl::StrCat("past_key ", ShapeText(pk), " / past_value ",
                                        ShapeText(past_value->shape()),
                                        " are not [B, kv_num_heads, P, H]"));
    }
    past_len = pk[2];
  }
  const int64_t total = past_len + kv_len;
  std::vector<float> k_all = ConcatSequence(past_key ? past_key->data<float>() : nullptr, k.data(),
                                            batch * kv_heads, past_len, kv_len, head_size);
  std::vector<float> v_all =
      ConcatSequence(past_value ? past_value->data<float>() : nullptr, v.data(), batch * kv_heads,
                     past_len, kv_len, v_head_size);
  // The mask as element strides over [B, Nq, S, T_mask] (0 for a broadcast dimension).
  std::vector<float> mask_values;
  std::vector<int64_t> mask_strides(4, 0);
  int64_t mask_len = total;
  if (mask != nullptr) {
    const std::vector<int64_t>& ms = mask->shape();
    const std::vector<int64_t> full = {batch, q_heads, seq, total};
    bool fits = !ms.empty() && ms.size() <= 4 && ms.back() <= total;
    int64_t stride = 1;
    for (size_t i = 0; fits && i < ms.size(); ++i) {
      const size_t d = ms.size() - 1 - i, f = 3 - i;
      const bool last = i == 0;
      fits = ms[d] == 1 || ms[d] == full[f] || last;
      mask_strides[f] = ms[d] == 1 && !last ? 0 : stride;
      stride *= ms[d];
    }
    if (!fits) {
      return context.Error(absl::StrCat("attn_mask of shape ", ShapeText(ms),
                                        " does not broadcast to [", absl::StrJoin(full, ","), "]"));
    }
    mask_len = ms.back();
    mask_values.resize(mask->element_count());
    if (mask->type() == DataType::kBool) {
      const bool* pm = mask->data<bool>();
      for (size_t i = 0; i < mask_values.size(); ++i) mask_values[i] = pm[i] ? 0.0f : kNegInf;
    } else if (mask->type() == DataType::kFloat) {
      std::copy_n(mask->data<float>(), mask_values.size(), mask_values.data());
    } else {
      return absl::UnimplementedError(absl::StrCat("Attention: attn_mask of type ",
                                                   DataTypeName(mask->type()),
                                                   " is not supported (bool or float)"));
    }
  }
  const bool causal = context.GetInt("is_causal", 0) != 0;
  AttentionShape shape{batch, q_heads, kv_heads, seq, total, head_size, v_head_size};
  AttentionOptions options;
  options.scale = ScaleAttribute(context, head_size);
  options.softcap = context.GetFloat("softcap", 0.0f);
  if (mask != nullptr || causal) {
    options.add_mask = [&](int64_t b, int64_t n, float* scores) {
      for (int64_t s = 0; s < seq; ++s) {
        float* row = scores + s * total;
        if (mask != nullptr) {
          const float* m =
              mask_values.data() + b * mask_strides[0] + n * mask_strides[1] + s * mask_strides[2];
          for (int64_t t = 0; t < total; ++t) row[t] += t < mask_len ? m[t] : kNegInf;
        }
        if (causal) {
          for (int64_t t = std::max<int64_t>(past_len + s + 1, 0); t < total; ++t) {
            row[t] = kNegInf;
          }
        }
      }
    };
  }
  std::vector<float> qk;
  if (context.output_wanted(3)) {
    const int64_t mode = context.GetInt("qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3) return context.Error("qk_matmul_output_mode must be 0 to 3");
    const ScoreStage stages[] = {ScoreStage::kMatMul, ScoreStage::kSoftcap, ScoreStage::kMasked,
                                 ScoreStage::kSoftmax};
    qk.resize(batch * q_heads * seq * total);
    options.capture = stages[mode];
    options.captured = qk.data();
  }
  std::vector<float> heads_out(batch * q_heads * seq * v_head_size);
  ScaledDotProductAttention(shape, options, q.data(), k_all.data(), v_all.data(), heads_out.data(),
                            context.threads());
  if (rank == 3) {
    HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(
                                            DataType::kFloat, {batch, seq, q_heads * v_head_size}));
    MergeHeads(heads_out.data(), batch, q_heads, seq, v_head_size, y.mutable_data<float>());
    context.set_output(0, std::move(y));
  } else {
    HALFCAST_RETURN_IF_ERROR(
        SetFloatOutput(context, 0, {batch, q_heads, seq, v_head_size}, heads_out.data()));
  }
  HALFCAST_RETURN_IF_ERROR(
      SetFloatOutput(context, 1, {batch, kv_heads, total, head_size}, k_all.data()));
  HALFCAST_RETURN_IF_ERROR(
      SetFloatOutput(context, 2, {batch, kv_heads, total, v_head_size}, v_all.data()));
  HALFCAST_RETURN_IF_ERROR(SetFloatOutput(context, 3, {batch, q_heads, seq, total}, qk.data()));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Rotary position embedding: the first rotary_dim values of each head rotated pairwise by the
// angle of the token's position, (x1, x2) -> (x1 cos - x2 sin, x1 sin + x2 cos). Pairs are
// adjacent values when interleaved, else the two halves of the rotary part; the rest of the
// head is copied.

struct RotaryLayout {
  int64_t batch, seq, heads, head_size, rotary_dim;
  bool heads_first;  // 4-D [B, N, S, H] rather than [B, S, N * H]
  bool interleaved;
};

// `cache_row(b, s)` is the row of cos/sin (each rotary_dim / 2 wide) for token (b, s).
void ApplyRotary(const RotaryLayout& l, const float* x, const float* cos, const float* sin,
                 const std::function<int64_t(int64_t, int64_t)>& cache_row, float* y) {
  const int64_t half = l.rotary_dim / 2;
  for (int64_t b = 0; b < l.batch; ++b) {
    for (int64_t s = 0; s < l.seq; ++s) {
      const int64_t row = cache_row(b, s);
      const float* c = cos + row * half;
      const float* sn = sin + row * half;
      for (int64_t n = 0; n < l.heads; ++n) {
        const int64_t offset = l.heads_first ? ((b * l.heads + n) * l.seq + s) * l.head_size
                                             : ((b * l.seq + s) * l.heads + n) * l.head_size;
        const float* in = x + offset;
        float* out = y + offset;
        for (int64_t i = 0; i < half; ++i) {
          const int64_t i1 = l.interleaved ? 2 * i : i;
          const int64_t i2 = l.interleaved ? 2 * i + 1 : i + half;
          const float x1 = in[i1], x2 = in[i2];
          out[i1] = x1 * c[i] - x2 * sn[i];
          out[i2] = x1 * sn[i] + x2 * c[i];
        }
        std::copy(in + l.rotary_dim, in + l.head_size, out + l.rotary_dim);
      }
    }
  }
}

// Shared checks: x 3-D [B, S, N * H] (num_heads given, or derived from the cache width) or 4-D
// [B, N, S, H]; rotary_dim from the attribute or the whole head.
absl::StatusOr<RotaryLayout> RotaryShape(const KernelContext& context, const Tensor& x,
                                         const Tensor& cos, const Tensor& sin) {
  const std::vector<int64_t>& xs = x.shape();
  const int64_t heads_attr = context.GetInt("num_heads", 0);
  const int64_t dim_attr = context.GetInt("rotary_embedding_dim", 0);
  const std::vector<int64_t>& cs = cos.shape();
  if (cs.empty() || cs != sin.shape()) {
    return context.Error(absl::StrCat("cos_cache ", ShapeText(cs), " and sin_cache ",
                                      ShapeText(sin.shape()), " must have one shape"));
  }
  RotaryLayout l{};
  l.interleaved = context.GetInt("interleaved", 0) != 0;
  if (xs.size() == 4) {
    l = {xs[0], xs[2], xs[1], xs[3], 0, true, l.interleaved};
  } else if (xs.size() == 3) {
    // Without num_heads the head is what the cache covers (ONNX Runtime's rule).
    const int64_t heads =
        heads_attr > 0 ? heads_attr : (cs.back() > 0 ? xs[2] / (2 * cs.back()) : 0);
    if (heads <= 0 || xs[2] % heads != 0) {
      return context.Error(
          absl::StrCat("cannot split the hidden size ", xs[2], " into heads;", " set num_heads"));
    }
    l = {xs[0], xs[1], heads, xs[2] / heads, 0, false, l.interleaved};
  } else {
    return context.Error(absl::StrCat("input must be 3-D or 4-D, not ", ShapeText(xs)));
  }
  l.rotary_dim = dim_attr > 0 ? dim_attr : l.head_size;
  if (l.rotary_dim > l.head_size || l.rotary_dim % 2 != 0 || cs.back() != l.rotary_dim / 2) {
    return context.Error(absl::StrCat("rotary dimension ", l.rotary_dim, " must be even, at most",
                                      " the head size ", l.head_size,
                                      ", and twice the cache width ", cs.back()));
  }
  return l;
}

absl::Status RotaryOutput(KernelContext& context, const Tensor& x, const RotaryLayout& l,
                          const Tensor& cos, const Tensor& sin,
                          const std::function<int64_t(int64_t, int64_t)>& cache_row) {
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(DataType::kFloat, x.shape()));
  ApplyRotary(l, x.data<float>(), cos.data<float>(), sin.data<float>(), cache_row,
              y.mutable_data<float>());
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

// Position of token (b, s) from position_ids [B, S], or [1] as the position of the first token.
absl::StatusOr<std::function<int64_t(int64_t, int64_t)>> PositionRows(const KernelContext& context,
                                                                      const Tensor& ids,
                                                                      const RotaryLayout& l,
                                                                      int64_t rows) {
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> p, linalg::ReadInt64s(context, ids));
  const std::vector<int64_t>& ps = ids.shape();
  const bool offset = ids.element_count() == 1 && ps.size() <= 1;
  if (!offset && ps != std::vector<int64_t>{l.batch, l.seq}) {
    return context.Error(absl::StrCat("position_ids of shape ", ShapeText(ps), " is not [", l.batch,
                                      ", ", l.seq, "] or [1]"));
  }
  for (int64_t b = 0; b < (offset ? 1 : l.batch); ++b) {
    for (int64_t s = 0; s < l.seq; ++s) {
      const int64_t pos = offset ? p[0] + s : p[b * l.seq + s];
      if (pos < 0 || pos >= rows) {
        return context.Error(
            absl::StrCat("position ", pos, " is outside the cache's ", rows, " rows"));
      }
    }
  }
  return std::function<int64_t(int64_t, int64_t)>(
      [p = std::move(p), offset, seq = l.seq](int64_t b, int64_t s) {
        return offset ? p[0] + s : p[b * seq + s];
      });
}

// com.microsoft RotaryEmbedding(input, position_ids, cos_cache, sin_cache), caches
// [max_position, rotary_dim / 2].
absl::Status ContribRotaryEmbedding(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, FloatTensorInput(context, 0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* ids, context.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* cos, FloatTensorInput(context, 2));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* sin, FloatTensorInput(context, 3));
  if (context.GetInt("is_packed_batching", 0) != 0) {
    return absl::UnimplementedError("RotaryEmbedding: is_packed_batching is not supported");
  }
  HALFCAST_ASSIGN_OR_RETURN(RotaryLayout l, RotaryShape(context, *x, *cos, *sin));
  if (cos->shape().size() != 2) return context.Error("cos_cache must be 2-D");
  HALFCAST_ASSIGN_OR_RETURN(auto rows, PositionRows(context, *ids, l, cos->shape()[0]));
  return RotaryOutput(context, *x, l, *cos, *sin, rows);
}

// ONNX RotaryEmbedding-23(X, cos_cache, sin_cache, position_ids?): with position_ids the caches
// are [max_position, rotary_dim / 2], without they are per token [B, S, rotary_dim / 2].
absl::Status OnnxRotaryEmbedding(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, FloatTensorInput(context, 0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* cos, FloatTensorInput(context, 1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* sin, FloatTensorInput(context, 2));
  const Tensor* ids = context.input(3);
  HALFCAST_ASSIGN_OR_RETURN(RotaryLayout l, RotaryShape(context, *x, *cos, *sin));
  if (ids != nullptr) {
    if (cos->shape().size() != 2) return context.Error("cos_cache must be 2-D with position_ids");
    HALFCAST_ASSIGN_OR_RETURN(auto rows, PositionRows(context, *ids, l, cos->shape()[0]));
    return RotaryOutput(context, *x, l, *cos, *sin, rows);
  }
  if (cos->shape() != std::vector<int64_t>{l.batch, l.seq, l.rotary_dim / 2}) {
    return context.Error(absl::StrCat("cos_cache of shape ", ShapeText(cos->shape()),
                                      " must be [B, S, rotary_dim / 2] without position_ids"));
  }
  return RotaryOutput(context, *x, l, *cos, *sin,
                      [seq = l.seq](int64_t b, int64_t s) { return b * seq + s; });
}

// ---------------------------------------------------------------------------------------------
// com.microsoft GroupQueryAttention: causal grouped-query attention of LLM decoders. query
// [B, S, N * H] with key/value [B, S, Nkv * H] (or all three packed in query), optional past
// [B, Nkv, P, H]; seqlens_k[b] + 1 is batch b's total length, so its new tokens sit at
// positions total - S .. total - 1 (a first prompt, with no past, starts at 0 and may be right
// padded). Optional rotary embedding of Q and K (do_rotary, caches [max_position, H_rot / 2]),
// sliding window (local_window_size: a query sees the last local_window_size keys, itself
// included),
// softcap, attention_bias, head_sink / smooth_softmax. present is [B, Nkv, T, H] with T the
// larger of P and total_sequence_length; slots past a batch's total stay zero.
absl::Status GroupQueryAttention(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* query, FloatTensorInput(context, 0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* key, OptionalFloatInput(context, 1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* value, OptionalFloatInput(context, 2));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* past_key, OptionalFloatInput(context, 3));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* past_value, OptionalFloatInput(context, 4));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* seqlens, context.RequiredInput(5));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* total_in, context.RequiredInput(6));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* cos, OptionalFloatInput(context, 7));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* sin, OptionalFloatInput(context, 8));
  const Tensor* position_ids = context.input(9);
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* attention_bias, OptionalFloatInput(context, 10));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* head_sink, OptionalFloatInput(context, 11));
  if (context.input_count() > 12 && context.input(12) != nullptr) {
    return absl::UnimplementedError("GroupQueryAttention: inputs past head_sink are not supported");
  }
  const int64_t heads = context.GetInt("num_heads", 0);
  const int64_t kv_heads = context.GetInt("kv_num_heads", 0);
  if (heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0) {
    return context.Error("num_heads and kv_num_heads must be positive, kv_num_heads dividing it");
  }
  const std::vector<int64_t>& qs = query->shape();
  if (qs.size() != 3 || (key == nullptr) != (value == nullptr)) {
    return context.Error(absl::StrCat("query of shape ", ShapeText(qs), " is not [B, S, D], or ",
                                      "only one of key and value is given"));
  }
  const int64_t batch = qs[0], seq = qs[1];
  const bool packed = key == nullptr;
  const int64_t head_size = packed ? qs[2] / (heads + 2 * kv_heads) : qs[2] / heads;
  const int64_t q_width = heads * head_size, kv_width = kv_heads * head_size;
  if (packed ? qs[2] != q_width + 2 * kv_width : qs[2] != q_width) {
    return context.Error(absl::StrCat("query width ", qs[2], " does not split into ", heads,
                                      " heads (+ 2 x ", kv_heads, " packed)"));
  }
  if (!packed && (key->shape() != std::vector<int64_t>{batch, seq, kv_width} ||
                  value->shape() != key->shape())) {
    return context.Error(absl::StrCat("key ", ShapeText(key->shape()), " and value ",
                                      ShapeText(value->shape()), " must be [", batch, ", ", seq,
                                      ", ", kv_width, "]"));
  }
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> lengths, linalg::ReadInt64s(context, *seqlens));
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> total_values,
                            linalg::ReadInt64s(context, *total_in));
  if (static_cast<int64_t>(lengths.size()) != batch || total_values.size() != 1) {
    return context.Error("seqlens_k must have one value per batch, total_sequence_length one");
  }
  int64_t past_len = 0;
  if ((past_key != nullptr) != (past_value != nullptr)) {
    return context.Error("past_key and past_value must be given together");
  }
  if (past_key != nullptr) {
    const std::vector<int64_t>& ps = past_key->shape();
    if (ps.size() != 4 || ps[0] != batch || ps[1] != kv_heads || ps[3] != head_size ||
        past_value->shape() != ps) {
      return context.Error(absl::StrCat("past_key ", ShapeText(ps), " / past_value ",
                                        ShapeText(past_value->shape()), " are not [", batch, ", ",
                                        kv_heads, ", P, ", head_size, "]"));
    }
    past_len = ps[2];
  }
  const int64_t total = std::max(past_len, total_values[0]);
  // Where each batch's new tokens start, and how many keys it has.
  const bool first_prompt = past_len == 0;
  std::vector<int64_t> start(batch), valid(batch);
  for (int64_t b = 0; b < batch; ++b) {
    valid[b] = lengths[b] + 1;
    start[b] = first_prompt ? 0 : valid[b] - seq;
    if (valid[b] < 1 || valid[b] > total || start[b] < 0 || start[b] > past_len) {
      return context.Error(absl::StrCat("seqlens_k[", b, "] = ", lengths[b], " does not fit ", seq,
                                        " new tokens after a past of ", past_len));
    }
  }
  // Q [B, N, S, H] and the new K, V [B, Nkv, S, H].
  const float* pq = query->data<float>();
  const int64_t row = qs[2];
  std::vector<float> q(batch * heads * seq * head_size), k(batch * kv_heads * seq * head_size);
  std::vector<float> v(k.size());
  SplitHeads(pq, batch, seq, heads, head_size, row, 0, q.data());
  if (packed) {
    SplitHeads(pq, batch, seq, kv_heads, head_size, row, q_width, k.data());
    SplitHeads(pq, batch, seq, kv_heads, head_size, row, q_width + kv_width, v.data());
  } else {
    SplitHeads(key->data<float>(), batch, seq, kv_heads, head_size, kv_width, 0, k.data());
    SplitHeads(value->data<float>(), batch, seq, kv_heads, head_size, kv_width, 0, v.data());
  }
  if (context.GetInt("do_rotary", 0) != 0) {
    if (cos == nullptr || sin == nullptr || cos->shape().size() != 2 ||
        sin->shape() != cos->shape()) {
      return context.Error("do_rotary needs cos_cache and sin_cache [max_position, H_rot / 2]");
    }
    const int64_t rotary_dim = 2 * cos->shape()[1];
    if (rotary_dim > head_size) return context.Error("the rotary caches are wider than a head");
    std::vector<int64_t> ids;
    if (position_ids != nullptr) {
      HALFCAST_ASSIGN_OR_RETURN(ids, linalg::ReadInt64s(context, *position_ids));
      if (position_ids->shape() != std::vector<int64_t>{batch, seq}) {
        return context.Error("position_ids must be [B, S]");
      }
    }
    auto position = [&](int64_t b, int64_t s) {
      return position_ids != nullptr ? ids[b * seq + s] : start[b] + s;
    };
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t s = 0; s < seq; ++s) {
        if (position(b, s) < 0 || position(b, s) >= cos->shape()[0]) {
          return context.Error(absl::StrCat("position ", position(b, s), " is outside the ",
                                            cos->shape()[0], " rows of the rotary caches"));
        }
      }
    }
    const bool interleaved = context.GetInt("rotary_interleaved", 0) != 0;
    std::vector<float> rotated(q.size());
    RotaryLayout lq{batch, seq, heads, head_size, rotary_dim, true, interleaved};
    ApplyRotary(lq, q.data(), cos->data<float>(), sin->data<float>(), position, rotated.data());
    q.swap(rotated);
    rotated.resize(k.size());
    RotaryLayout lk{batch, seq, kv_heads, head_size, rotary_dim, true, interleaved};
    ApplyRotary(lk, k.data(), cos->data<float>(), sin->data<float>(), position, rotated.data());
    k.swap(rotated);
  }
  // present: each batch's past up to its start, then the new tokens.
  std::vector<float> k_all(batch * kv_heads * total * head_size, 0.0f), v_all(k_all.size(), 0.0f);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t n = 0; n < kv_heads; ++n) {
      const int64_t i = b * kv_heads + n;
      for (const auto& [all, past, now] :
           {std::tuple{&k_all, past_key, &k}, std::tuple{&v_all, past_value, &v}}) {
        float* dst = all->data() + i * total * head_size;
        if (past != nullptr) {
          std::copy_n(past->data<float>() + i * past_len * head_size, start[b] * head_size, dst);
        }
        const int64_t count = std::min(seq, total - start[b]);
        std::copy_n(now->data() + i * seq * head_size, count * head_size,
                    dst + start[b] * head_size);
      }
    }
  }
  if (attention_bias != nullptr) {
    const std::vector<int64_t>& bs = attention_bias->shape();
    if (bs.size() != 4 || (bs[0] != 1 && bs[0] != batch) || (bs[1] != 1 && bs[1] != heads) ||
        bs[2] != seq || bs[3] != total) {
      return context.Error(absl::StrCat("attention_bias of shape ", ShapeText(bs), " is not [B or",
                                        " 1, N or 1, S, T] for T = ", total));
    }
  }
  if (head_sink != nullptr && head_sink->element_count() != heads) {
    return context.Error(absl::StrCat("head_sink must have ", heads, " values"));
  }
  const int64_t window = context.GetInt("local_window_size", -1);
  AttentionShape shape{batch, heads, kv_heads, seq, total, head_size, head_size};
  AttentionOptions options;
  options.scale = ScaleAttribute(context, head_size);
  options.softcap = context.GetFloat("softcap", 0.0f);
  options.add_mask = [&](int64_t b, int64_t n, float* scores) {
    for (int64_t s = 0; s < seq; ++s) {
      float* r = scores + s * total;
      if (attention_bias != nullptr) {
        const std::vector<int64_t>& bs = attention_bias->shape();
        const int64_t index = (bs[0] == 1 ? 0 : b) * bs[1] + (bs[1] == 1 ? 0 : n);
        const float* bias = attention_bias->data<float>() + (index * seq + s) * total;
        for (int64_t t = 0; t < total; ++t) r[t] += bias[t];
      }
      // Key t is seen when t <= the query's position, within the batch's keys and the window
      // (ONNX Runtime's window counts the query itself).
      const int64_t pos = start[b] + s;
      for (int64_t t = 0; t < total; ++t) {
        if (t > pos || t >= valid[b] || (window >= 0 && t <= pos - window)) r[t] = kNegInf;
      }
    }
  };
  if (head_sink != nullptr) {
    options.sink = [&](int64_t n) { return head_sink->data<float>()[n]; };
  } else if (context.GetInt("smooth_softmax", 0) != 0) {
    options.sink = [](int64_t) { return 0.0f; };
  }
  HALFCAST_RETURN_IF_ERROR(
      AttendIntoMergedOutput(context, shape, options, q.data(), k_all.data(), v_all.data()));
  HALFCAST_RETURN_IF_ERROR(
      SetFloatOutput(context, 1, {batch, kv_heads, total, head_size}, k_all.data()));
  HALFCAST_RETURN_IF_ERROR(
      SetFloatOutput(context, 2, {batch, kv_heads, total, head_size}, v_all.data()));
  return absl::OkStatus();
}

const KernelDef kAttentionKernels[] = {
    {"com.microsoft", "GroupQueryAttention", 1, kLatest, GroupQueryAttention},
    {"com.microsoft", "Attention", 1, kLatest, ContribAttention},
    {"com.microsoft", "MultiHeadAttention", 1, kLatest, MultiHeadAttention},
    {"com.microsoft", "RotaryEmbedding", 1, kLatest, ContribRotaryEmbedding},
    {"", "Attention", 23, kLatest, OnnxAttention},
    {"", "RotaryEmbedding", 23, kLatest, OnnxRotaryEmbedding},
};

}  // namespace

absl::Span<const KernelDef> AttentionKernels() { return kAttentionKernels; }

}  // namespace halfcast::eval
