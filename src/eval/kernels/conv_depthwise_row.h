// The register-blocked row of a depthwise convolution, included by two translation units:
// conv.cc (the compiler's default instruction set) and conv_depthwise_avx.cc (built with -mavx).
// Each includer defines HALFCAST_DEPTHWISE_NAMESPACE first. No include guard: one inclusion per
// unit.
#include <cstdint>

namespace halfcast::eval::depthwise::HALFCAST_DEPTHWISE_NAMESPACE {

// Outputs [begin, end) of one output row of a KxK depthwise convolution with stride S and no
// dilation, for the columns whose taps all lie inside the input row: `rows` are the K input rows
// (a zero row, with zero weights, for one in the padding), `pad` the left padding. All K*K taps
// are summed in registers from +0 in (kh, kw) order, as Depthwise2D sums the other columns, so
// both give the same bits; the compiler vectorizes over o.
template <typename T, int K, int S>
void Row(const T* const* rows, const T* weights, int64_t pad, int64_t begin, int64_t end,
         T* __restrict out) {
  const T* r[K];
  T wk[K * K];
  for (int kh = 0; kh < K; ++kh) r[kh] = rows[kh];
  for (int t = 0; t < K * K; ++t) wk[t] = weights[t];
  for (int64_t o = begin; o < end; ++o) {
    const int64_t base = o * S - pad;
    T acc = T(0);
    for (int kh = 0; kh < K; ++kh) {
      for (int kw = 0; kw < K; ++kw) acc += wk[kh * K + kw] * r[kh][base + kw];
    }
    out[o] = acc;
  }
}

}  // namespace halfcast::eval::depthwise::HALFCAST_DEPTHWISE_NAMESPACE
