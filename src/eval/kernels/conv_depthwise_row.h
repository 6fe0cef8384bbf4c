// The register-blocked row of a depthwise convolution, included by two translation units:
// conv.cc (the compiler's default instruction set) and conv_depthwise_avx.cc (built with -mavx).
// Each includer defines HALFCAST_DEPTHWISE_NAMESPACE first. No include guard: one inclusion per
// unit.
#include <cstdint>

namespace halfcast::eval::depthwise::HALFCAST_DEPTHWISE_NAMESPACE {

template <typename T>
using RowFn = void (*)(const T* const* rows, const T* weights, int64_t pad, int64_t begin,
                       int64_t end, T* out);

// Outputs [begin, end) of one output row of a depthwise convolution with KW kernel columns,
// stride S and no dilation, for the columns whose taps all lie inside the input row. `rows` are
// the KH kernel rows that lie inside the input, `weights` their KH x KW weights, `pad` the left
// padding. The taps are summed in registers from +0 in (kh, kw) order, as Depthwise2D sums the
// other columns, so both give the same bits; the compiler vectorizes over o.
template <typename T, int KH, int KW, int S>
void Row(const T* const* rows, const T* weights, int64_t pad, int64_t begin, int64_t end,
         T* __restrict out) {
  const T* r[KH];
  T wk[KH * KW];
  for (int kh = 0; kh < KH; ++kh) r[kh] = rows[kh];
  for (int t = 0; t < KH * KW; ++t) wk[t] = weights[t];
  for (int64_t o = begin; o < end; ++o) {
    const int64_t base = o * S - pad;
    T acc = T(0);
    for (int kh = 0; kh < KH; ++kh) {
      for (int kw = 0; kw < KW; ++kw) acc += wk[kh * KW + kw] * r[kh][base + kw];
    }
    out[o] = acc;
  }
}

// Row for `rows` (1 to KW) kernel rows; nullptr for other counts.
template <typename T, int KW, int S>
RowFn<T> RowWithRows(int rows) {
  if (rows == 1) return Row<T, 1, KW, S>;
  if (rows == 2) return Row<T, 2, KW, S>;
  if (rows == 3) return Row<T, 3, KW, S>;
  if constexpr (KW == 5) {
    if (rows == 4) return Row<T, 4, KW, S>;
    if (rows == 5) return Row<T, 5, KW, S>;
  }
  return nullptr;
}

// The row kernel for `rows` (1 to k) kernel rows inside the input of a k x k kernel, k 3 or 5,
// stride 1 or 2; nullptr for other shapes.
template <typename T>
RowFn<T> RowKernel(int rows, int k, int stride) {
  if (k == 3 && stride == 1) return RowWithRows<T, 3, 1>(rows);
  if (k == 3 && stride == 2) return RowWithRows<T, 3, 2>(rows);
  if (k == 5 && stride == 1) return RowWithRows<T, 5, 1>(rows);
  if (k == 5 && stride == 2) return RowWithRows<T, 5, 2>(rows);
  return nullptr;
}

}  // namespace halfcast::eval::depthwise::HALFCAST_DEPTHWISE_NAMESPACE
