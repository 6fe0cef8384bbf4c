// Block-quantized weights as LLM exports carry them (ONNX Runtime GenAI's model builder, Olive,
// ONNX Runtime's own MatMulNBits quantizer): com.microsoft MatMulNBits, a MatMul whose weight is
// 2-, 4- or 8-bit integers with one scale (and zero point) per block of `block_size` rows, and
// GatherBlockQuantized, a Gather from a table quantized the same way (tied embeddings).
// Semantics follow ONNX Runtime 1.30's CPU kernels in float32: the weight is dequantized as
// (q - zero_point) * scale and the product is taken in float, so the `accuracy_level` attribute
// (which lets ONNX Runtime quantize A to int8 as well) is ignored: level 4 results in ONNX
// Runtime differ from these by A's quantization error.
//
// Packing, as ONNX Runtime reads it: values of fewer than 8 bits fill each byte from the low
// bits up (the first of two 4-bit values is the low nibble), and zero points are packed the same
// way, one row of blocks after another.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "eval/kernel.h"
#include "eval/kernels/linalg_util.h"

namespace halfcast::eval {
namespace {

using linalg::ShapeProduct;

constexpr int kLatest = std::numeric_limits<int>::max();

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

// Element `i` of an array of `bits`-bit unsigned integers packed little-end first.
inline int PackedValue(const uint8_t* data, int64_t i, int bits) {
  if (bits == 8) return data[i];
  const int per_byte = 8 / bits;
  return (data[i / per_byte] >> ((i % per_byte) * bits)) & ((1 << bits) - 1);
}

// `block_size` as both ops require it: a power of two, at least 16.
absl::Status CheckBlockSize(const KernelContext& context, int64_t block_size) {
  if (block_size < 16 || (block_size & (block_size - 1)) != 0) {
    return context.Error(
        absl::StrCat("block_size must be a power of 2 and at least 16, not ", block_size));
  }
  return absl::OkStatus();
}

// True when `t` is 1-D [rows * cols] or 2-D [rows, cols]: MatMulNBits accepts both for scales
// and zero points (the 1-D form is what older quantizers wrote).
bool IsFlatOrMatrix(const Tensor& t, int64_t rows, int64_t cols) {
  const std::vector<int64_t>& s = t.shape();
  return s == std::vector<int64_t>{rows * cols} || s == std::vector<int64_t>{rows, cols};
}

// ---------------------------------------------------------------------------------------------
// MatMulNBits (com.microsoft): Y = A @ W (+ bias), W [K, N] stored transposed and quantized in
// blocks along K: B [N, k_blocks, block_size * bits / 8], scales [N, k_blocks], zero points
// [N, ceil(k_blocks * bits / 8)] packed uint8 or [N, k_blocks] float (default 2^(bits-1)), and
// optionally g_idx [K], the block of each row of W (GPTQ's activation order).

struct NBitsWeight {
  int64_t k, n, bits, block_size, k_blocks, blob_size, zp_blob_size;
  const uint8_t* b;
  const float* scales;
  const uint8_t* packed_zero_points;  // or nullptr
  const float* float_zero_points;     // or nullptr
  const int32_t* g_idx;               // or nullptr
};

absl::StatusOr<NBitsWeight> ReadNBitsWeight(const KernelContext& context) {
  NBitsWeight w{};
  w.k = context.GetInt("K", -1);
  w.n = context.GetInt("N", -1);
  w.bits = context.GetInt("bits", 4);
  w.block_size = context.GetInt("block_size", -1);
  if (w.k <= 0 || w.n <= 0) {
    return context.Error(
        absl::StrCat("attributes K and N must be positive, not ", w.k, " and ", w.n));
  }
  if (w.bits != 2 && w.bits != 4 && w.bits != 8) {
    return context.Error(absl::StrCat("bits must be 2, 4 or 8, not ", w.bits));
  }
  HALFCAST_RETURN_IF_ERROR(CheckBlockSize(context, w.block_size));
  w.k_blocks = (w.k + w.block_size - 1) / w.block_size;
  w.blob_size = w.block_size * w.bits / 8;
  w.zp_blob_size = (w.k_blocks * w.bits + 7) / 8;

  HALFCAST_ASSIGN_OR_RETURN(const Tensor* b, context.RequiredInput(1));
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *b, 1, DataType::kUint8));
  if (b->shape() != std::vector<int64_t>{w.n, w.k_blocks, w.blob_size}) {
    return context.Error(absl::StrCat(
        "B must be [N, k_blocks, blob_size] = ", ShapeText({w.n, w.k_blocks, w.blob_size}),
        ", not ", ShapeText(b->shape())));
  }
  w.b = b->data<uint8_t>();

  HALFCAST_ASSIGN_OR_RETURN(const Tensor* scales, context.RequiredInput(2));
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *scales, 2, DataType::kFloat));
  if (!IsFlatOrMatrix(*scales, w.n, w.k_blocks)) {
    return context.Error(absl::StrCat("scales must be [N * k_blocks] or [N, k_blocks] with N ", w.n,
                                      " and k_blocks ", w.k_blocks, ", not ",
                                      ShapeText(scales->shape())));
  }
  w.scales = scales->data<float>();

  if (const Tensor* zp = context.input(3); zp != nullptr) {
    if (zp->type() == DataType::kUint8) {
      if (!IsFlatOrMatrix(*zp, w.n, w.zp_blob_size)) {
        return context.Error(absl::StrCat("uint8 zero_points must be [N * ", w.zp_blob_size,
                                          "] or [N, ", w.zp_blob_size, "], not ",
                                          ShapeText(zp->shape())));
      }
      w.packed_zero_points = zp->data<uint8_t>();
    } else if (zp->type() == DataType::kFloat) {
      if (!IsFlatOrMatrix(*zp, w.n, w.k_blocks)) {
        return context.Error(absl::StrCat("float zero_points must have the scales' shape, not ",
                                          ShapeText(zp->shape())));
      }
      w.float_zero_points = zp->data<float>();
    } else {
      return context.Error(absl::StrCat("zero_points must be uint8 or the scales' type, not ",
                                        DataTypeName(zp->type())));
    }
  }

  if (const Tensor* g_idx = context.input(4); g_idx != nullptr) {
    HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *g_idx, 4, DataType::kInt32));
    const std::vector<int64_t>& s = g_idx->shape();
    if (s != std::vector<int64_t>{w.k} && s != std::vector<int64_t>{w.k_blocks * w.block_size}) {
      return context.Error(
          absl::StrCat("g_idx must be [K] or [k_blocks * block_size], not ", ShapeText(s)));
    }
    w.g_idx = g_idx->data<int32_t>();
    // ONNX Runtime 1.30's CPU kernel drops packed zero points when g_idx is given (it reads them
    // and then keeps 2^(bits-1)); float zero points it applies. Followed here so that `halfcast
    // run` computes what the deployed model computes.
    w.packed_zero_points = nullptr;
    for (int64_t i = 0; i < g_idx->element_count(); ++i) {
      if (w.g_idx[i] < 0 || w.g_idx[i] >= w.k_blocks) {
        return context.Error(absl::StrCat("g_idx[", i, "] = ", w.g_idx[i],
                                          " is not a block index in [0, ", w.k_blocks, ")"));
      }
    }
  }
  return w;
}

// Rows [n0, n0 + rows) of W^T (each K long) into `out`.
void DequantizeRows(const NBitsWeight& w, int64_t n0, int64_t rows, float* out) {
  const int bits = static_cast<int>(w.bits);
  const float default_zero_point = static_cast<float>(1 << (bits - 1));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = n0 + r;
    const uint8_t* row = w.b + n * w.k_blocks * w.blob_size;
    float* dst = out + r * w.k;
    for (int64_t k = 0; k < w.k; ++k) {
      // The values stay in storage order; only their scale and zero point follow g_idx.
      const int64_t stored_block = k / w.block_size;
      const int64_t block = w.g_idx != nullptr ? w.g_idx[k] : stored_block;
      const int q = PackedValue(row + stored_block * w.blob_size, k % w.block_size, bits);
      float zero_point = default_zero_point;
      if (w.packed_zero_points != nullptr) {
        zero_point =
            static_cast<float>(PackedValue(w.packed_zero_points + n * w.zp_blob_size, block, bits));
      } else if (w.float_zero_points != nullptr) {
        zero_point = w.float_zero_points[n * w.k_blocks + block];
      }
      dst[k] = (static_cast<float>(q) - zero_point) * w.scales[n * w.k_blocks + block];
    }
  }
}

absl::Status MatMulNBits(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* a, context.RequiredInput(0));
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *a, 0, DataType::kFloat));
  HALFCAST_ASSIGN_OR_RETURN(NBitsWeight w, ReadNBitsWeight(context));
  const std::vector<int64_t>& as = a->shape();
  if (as.empty() || as.back() != w.k) {
    return context.Error(absl::StrCat("A ", ShapeText(as), " must end in K = ", w.k));
  }
  const float* bias = nullptr;
  if (const Tensor* b = context.input(5); b != nullptr) {
    HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *b, 5, DataType::kFloat));
    if (b->shape() != std::vector<int64_t>{w.n}) {
      return context.Error(absl::StrCat("bias must be [", w.n, "], not ", ShapeText(b->shape())));
    }
    bias = b->data<float>();
  }
  std::vector<int64_t> out_shape(as.begin(), as.end() - 1);
  out_shape.push_back(w.n);
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(DataType::kFloat, out_shape));
  const int64_t m = ShapeProduct(as, 0, as.size() - 1);
  const float* pa = a->data<float>();
  float* py = y.mutable_data<float>();
  // W is dequantized a strip of output columns at a time: an LLM's lm_head dequantized whole
  // would be K * vocabulary floats (gigabytes), a strip is a few hundred kilobytes. Strips write
  // disjoint columns of Y, so running them on several threads leaves the result unchanged.
  constexpr int64_t kStrip = 64;
  const int64_t strips = (w.n + kStrip - 1) / kStrip;
  const bool large = m * w.n * w.k >= (int64_t{1} << 22);
  linalg::ParallelFor(large ? context.threads() : 1, strips, [&](int64_t s) {
    const int64_t n0 = s * kStrip, rows = std::min(kStrip, w.n - n0);
    std::vector<float> strip(rows * w.k);
    DequantizeRows(w, n0, rows, strip.data());
    linalg::Gemm<float>(false, true, m, rows, w.k, 1.0f, pa, strip.data(), 0.0f, py + n0, w.n, 1);
    if (bias != nullptr) {
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < rows; ++j) py[i * w.n + n0 + j] += bias[n0 + j];
      }
    }
  });
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// GatherBlockQuantized (com.microsoft): Gather on axis 0 of a uint8 table quantized in blocks
// along its last axis, then dequantized to the scales' type. 4-bit data packs two values per
// byte, so the table's logical last dimension is twice the stored one. (ONNX Runtime also takes
// int4/uint4 tables; halfcast's tensors have no 4-bit types, so those models do not load.)

absl::Status GatherBlockQuantized(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, context.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* indices, context.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* scales, context.RequiredInput(2));
  const Tensor* zero_points = context.input(3);
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *data, 0, DataType::kUint8));
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *scales, 2, DataType::kFloat));
  if (zero_points != nullptr) {
    HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *zero_points, 3, DataType::kUint8));
  }
  const int64_t bits = context.GetInt("bits", 4);
  const int64_t block_size = context.GetInt("block_size", 128);
  if (bits != 4 && bits != 8) return context.Error(absl::StrCat("bits must be 4 or 8, not ", bits));
  HALFCAST_RETURN_IF_ERROR(CheckBlockSize(context, block_size));

  const std::vector<int64_t>& ds = data->shape();
  const int64_t rank = static_cast<int64_t>(ds.size());
  auto axis = [&](std::string_view name, int64_t fallback) {
    const int64_t given = context.GetInt(name, fallback);
    return given < 0 ? given + rank : given;
  };
  const int64_t gather_axis = axis("gather_axis", 0);
  const int64_t quantize_axis = axis("quantize_axis", 1);
  if (rank < 2 || gather_axis != 0 || quantize_axis != rank - 1) {
    return context.Error(absl::StrCat("uint8 data ", ShapeText(ds), " needs rank >= 2, ",
                                      "gather_axis 0 and quantize_axis the last axis (got ",
                                      gather_axis, " and ", quantize_axis, ")"));
  }
  const int64_t per_byte = 8 / bits;
  std::vector<int64_t> logical = ds;
  logical.back() *= per_byte;
  const int64_t quantized_dim = logical.back();
  const int64_t scale_blocks = (quantized_dim + block_size - 1) / block_size;
  std::vector<int64_t> scales_shape = ds;
  scales_shape.back() = scale_blocks;
  if (scales->shape() != scales_shape) {
    return context.Error(absl::StrCat("scales must be ", ShapeText(scales_shape), " for data ",
                                      ShapeText(ds), ", not ", ShapeText(scales->shape())));
  }
  const int64_t zp_columns = (scale_blocks + per_byte - 1) / per_byte;
  if (zero_points != nullptr) {
    std::vector<int64_t> zp_shape = scales_shape;
    zp_shape.back() = zp_columns;
    if (zero_points->shape() != zp_shape) {
      return context.Error(absl::StrCat("zero_points must be ", ShapeText(zp_shape), ", not ",
                                        ShapeText(zero_points->shape())));
    }
  }
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> rows, linalg::ReadInt64s(context, *indices));
  const int64_t table_rows = ds[0];
  for (int64_t& r : rows) {
    if (r < -table_rows || r >= table_rows) {
      return context.Error(
          absl::StrCat("index ", r, " is outside [", -table_rows, ", ", table_rows - 1, "]"));
    }
    if (r < 0) r += table_rows;
  }
  std::vector<int64_t> out_shape = indices->shape();
  out_shape.insert(out_shape.end(), logical.begin() + 1, logical.end());
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(DataType::kFloat, out_shape));
  const int64_t row_size = ShapeProduct(logical, 1, logical.size());
  const uint8_t* pd = data->data<uint8_t>();
  const uint8_t* pz = zero_points != nullptr ? zero_points->data<uint8_t>() : nullptr;
  const float* ps = scales->data<float>();
  float* py = y.mutable_data<float>();
  const int default_zero_point = 1 << (bits - 1);
  for (size_t i = 0; i < rows.size(); ++i) {
    for (int64_t e = 0; e < row_size; ++e) {
      const int64_t element = rows[i] * row_size + e;  // in the logical table, row-major
      const int64_t line = element / quantized_dim;    // which run along the quantized axis
      const int64_t block = element % quantized_dim / block_size;
      const int64_t scale_index = line * scale_blocks + block;
      // Each run's zero points start on a byte of their own (with an odd number of 4-bit blocks
      // the last nibble of a run is padding), as the shape says and ONNX Runtime 1.30 reads them.
      const int zero_point =
          pz != nullptr ? PackedValue(pz + line * zp_columns, block, static_cast<int>(bits))
                        : default_zero_point;
      const int q = PackedValue(pd, element, static_cast<int>(bits));
      py[i * row_size + e] = static_cast<float>(q - zero_point) * ps[scale_index];
    }
  }
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

const KernelDef kQuantizedKernels[] = {
    {"com.microsoft", "MatMulNBits", 1, kLatest, MatMulNBits},
    {"com.microsoft", "GatherBlockQuantized", 1, kLatest, GatherBlockQuantized},
};

}  // namespace

absl::Span<const KernelDef> QuantizedKernels() { return kQuantizedKernels; }

}  // namespace halfcast::eval
