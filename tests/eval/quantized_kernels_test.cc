// The quantized-weight kernels (kernels/quantized.cc): MatMulNBits and GatherBlockQuantized on
// weights packed here by hand, so each expected value can be worked out on paper, and cases whose
// expected values are ONNX Runtime 1.30's outputs (CPU, onnxruntime-node), pasted from
// `tests/integration/eval_ops/eval_ops.py --case <name> --print`; those rebuild the script's
// inputs with Pattern(), Steps() and Wave().
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eval/heavy_kernel_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast::eval {
namespace {

using ::halfcast::eval::testing::ExpectClose;
using ::halfcast::eval::testing::FloatTensor;
using ::halfcast::eval::testing::Int64Tensor;
using ::halfcast::testing::StatusIs;
using ::testing::HasSubstr;

// Runs one com.microsoft node written in ONNX text syntax on `inputs` (nullptr for an absent
// optional input: the kernel reads inputs by position, so the node's names are placeholders).
absl::StatusOr<std::vector<Tensor>> RunOp(std::string_view node_text,
                                          std::vector<const Tensor*> inputs) {
  const std::string text = absl::StrCat(
      "<ir_version: 8, opset_import: [\"\" : 21, \"com.microsoft\" : 1]>\n"
      "g (float unused_in) => (float unused_out) {\n",
      std::string(node_text), "\n}\n");
  absl::StatusOr<onnx::ModelProto> model = halfcast::testing::TryParseModelText(text);
  if (!model.ok()) return model.status();
  const onnx::NodeProto& node = model->graph().node(0);
  const KernelDef* def = FindKernel(node.domain(), node.op_type(), 1);
  if (def == nullptr) return absl::NotFoundError(absl::StrCat("no kernel for ", node.op_type()));
  return testing::CallKernelOnTensors(*def, node, 1, std::move(inputs));
}

Tensor Bytes(std::vector<int64_t> shape, const std::vector<uint8_t>& values) {
  return Tensor::Copy(DataType::kUint8, std::move(shape), values.data());
}

Tensor Int32Tensor(std::vector<int64_t> shape, const std::vector<int32_t>& values) {
  return Tensor::Copy(DataType::kInt32, std::move(shape), values.data());
}

// eval_ops.py's pattern(): (i * mul + add) mod 256.
std::vector<uint8_t> Pattern(int count, int mul, int add) {
  std::vector<uint8_t> values(count);
  for (int i = 0; i < count; ++i) values[i] = static_cast<uint8_t>((i * mul + add) % 256);
  return values;
}

// eval_ops.py's steps(): 0.05 + 0.01 i.
Tensor Steps(std::vector<int64_t> shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<float> values(count);
  for (int64_t i = 0; i < count; ++i) values[i] = static_cast<float>(0.05 + 0.01 * i);
  return FloatTensor(std::move(shape), values);
}

// eval_ops.py's wave(): sin(0.37 i + phase).
Tensor Wave(double phase, std::vector<int64_t> shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<float> values(count);
  for (int64_t i = 0; i < count; ++i) values[i] = static_cast<float>(std::sin(0.37 * i + phase));
  return FloatTensor(std::move(shape), values);
}

// 4-bit values two to a byte, the first in the low nibble.
std::vector<uint8_t> Pack4(const std::vector<int>& values) {
  std::vector<uint8_t> bytes((values.size() + 1) / 2, 0);
  for (size_t i = 0; i < values.size(); ++i) {
    bytes[i / 2] |= static_cast<uint8_t>(values[i] << (i % 2 * 4));
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// MatMulNBits

// K = 16, N = 2, one block: column 0 holds q = k, column 1 holds q = 15 - k.
Tensor CountingWeight() {
  std::vector<int> q;
  for (int k = 0; k < 16; ++k) q.push_back(k);
  for (int k = 0; k < 16; ++k) q.push_back(15 - k);
  return Bytes({2, 1, 8}, Pack4(q));
}

// Row 0 all ones (sums a column), row 1 picks row k = 3 of W.
Tensor SumAndPickRows() {
  std::vector<float> a(32, 0.0f);
  for (int k = 0; k < 16; ++k) a[k] = 1;
  a[16 + 3] = 1;
  return FloatTensor({2, 16}, a);
}

constexpr char kNBits4[] =
    "y = com.microsoft.MatMulNBits <K = 16, N = 2, bits = 4, block_size = 16> (a, b, s, z, g, c)";

TEST(MatMulNBitsTest, FourBitsLowNibbleFirstDefaultZeroPointEight) {
  const Tensor a = SumAndPickRows();
  const Tensor b = CountingWeight();
  const Tensor scales = FloatTensor({2}, {0.5f, 1.0f});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(kNBits4, {&a, &b, &scales}));
  // W[k][0] = (k - 8) * 0.5, W[k][1] = 15 - k - 8: column sums -4 and -8, row 3 is -2.5 and 4.
  ExpectClose(out[0], {2, 2}, {-4, -8, -2.5f, 4});
}

TEST(MatMulNBitsTest, PackedZeroPointsAndBias) {
  const Tensor a = SumAndPickRows();
  const Tensor b = CountingWeight();
  const Tensor scales = FloatTensor({2, 1}, {0.5f, 1.0f});
  // One block per column: the low nibble is its zero point, the high nibble padding.
  const Tensor zero_points = Bytes({2, 1}, {0xA0, 0x5F});
  const Tensor bias = FloatTensor({2}, {1, -1});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(kNBits4, {&a, &b, &scales, &zero_points, nullptr, &bias}));
  // W[k][0] = k * 0.5 (sum 60), W[k][1] = -k (sum -120); row 3: 1.5 and -3; plus the bias.
  ExpectClose(out[0], {2, 2}, {61, -121, 2.5f, -4});
}

TEST(MatMulNBitsTest, EightBitsWithPaddedLastBlock) {
  // K = 20 in blocks of 16: the second block holds 4 values and 12 bytes of padding.
  std::vector<uint8_t> q(32, 255);
  for (int k = 0; k < 20; ++k) q[k] = static_cast<uint8_t>(128 + k);
  const Tensor b = Bytes({1, 2, 16}, q);
  const Tensor scales = FloatTensor({1, 2}, {1.0f, 0.25f});
  const Tensor zero_points = Bytes({1, 2}, {128, 130});
  const Tensor a = FloatTensor({20}, std::vector<float>(20, 1.0f));  // 1-D A: Y is [N]
  ASSERT_OK_AND_ASSIGN(
      auto out,
      RunOp("y = com.microsoft.MatMulNBits <K = 20, N = 1, bits = 8, block_size = 16> (a, b, s, z)",
            {&a, &b, &scales, &zero_points}));
  // Rows 0..15 are k (sum 120); rows 16..19 are (k - 2) / 4: 3.5 + 3.75 + 4 + 4.25.
  ExpectClose(out[0], {1}, {135.5f});
}

TEST(MatMulNBitsTest, TwoBitsFourToAByte) {
  // q = k mod 4: each byte holds 0, 1, 2, 3 from the low bits up.
  const Tensor b = Bytes({1, 1, 4}, {0xE4, 0xE4, 0xE4, 0xE4});
  const Tensor scales = FloatTensor({1}, {2.0f});
  std::vector<float> a(16);
  for (int k = 0; k < 16; ++k) a[k] = static_cast<float>(k + 1);
  const Tensor ta = FloatTensor({1, 16}, a);
  ASSERT_OK_AND_ASSIGN(
      auto out,
      RunOp("y = com.microsoft.MatMulNBits <K = 16, N = 1, bits = 2, block_size = 16> (a, b, s)",
            {&ta, &b, &scales}));
  // W = (q - 2) * 2 = -4, -2, 0, 2 repeating: -4 * 28 - 2 * 32 + 2 * 40.
  ExpectClose(out[0], {1, 1}, {-96});
}

TEST(MatMulNBitsTest, GroupIndexPicksScalesAndFloatZeroPoints) {
  // Rows 0..15 are stored in block 0 but belong to block 1 and the other way round.
  const Tensor b = Bytes({1, 2, 8}, std::vector<uint8_t>(16, 0x44));  // q = 4 everywhere
  const Tensor scales = FloatTensor({1, 2}, {1.0f, 10.0f});
  const Tensor float_zero_points = FloatTensor({1, 2}, {0.5f, 2.0f});
  std::vector<int32_t> order(32);
  for (int k = 0; k < 32; ++k) order[k] = k < 16 ? 1 : 0;
  const Tensor g_idx = Int32Tensor({32}, order);
  const Tensor a = FloatTensor({1, 32}, std::vector<float>(32, 1.0f));
  constexpr char kNode[] =
      "y = com.microsoft.MatMulNBits <K = 32, N = 1, bits = 4, block_size = 16> (a, b, s, z, g)";
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(kNode, {&a, &b, &scales, &float_zero_points, &g_idx}));
  // 16 rows of (4 - 2) * 10 and 16 of (4 - 0.5) * 1.
  ExpectClose(out[0], {1, 1}, {376});
  // Packed zero points next to g_idx are dropped, as ONNX Runtime 1.30 does: 8 is used instead.
  const Tensor packed_zero_points = Bytes({1, 1}, {0x00});
  ASSERT_OK_AND_ASSIGN(out, RunOp(kNode, {&a, &b, &scales, &packed_zero_points, &g_idx}));
  ExpectClose(out[0], {1, 1}, {16 * -40.0f + 16 * -4.0f});
}

TEST(MatMulNBitsTest, ManyColumnsMatchDequantizedProduct) {
  // N = 150 spans three of the kernel's column strips; the reference dequantizes by the formula.
  constexpr int kK = 64, kN = 150, kBlocks = 2;
  const std::vector<uint8_t> q = Pattern(kN * kK / 2, 73, 11);
  const std::vector<uint8_t> zp = Pattern(kN, 97, 5);
  const Tensor b = Bytes({kN, kBlocks, 16}, q);
  const Tensor scales = Steps({kN, kBlocks});
  const Tensor zero_points = Bytes({kN, 1}, zp);
  const Tensor a = Wave(0.3, {3, kK});
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp("y = com.microsoft.MatMulNBits <K = 64, N = 150, bits = 4, block_size = 32>"
                      " (a, b, s, z)",
                      {&a, &b, &scales, &zero_points}));
  std::vector<float> expected(3 * kN);
  for (int m = 0; m < 3; ++m) {
    for (int n = 0; n < kN; ++n) {
      double sum = 0;
      for (int k = 0; k < kK; ++k) {
        const int byte = q[n * kK / 2 + k / 2];
        const int value = k % 2 == 0 ? byte & 15 : byte >> 4;
        const int block = k / 32;
        const int zero = block == 0 ? zp[n] & 15 : zp[n] >> 4;
        sum += a.data<float>()[m * kK + k] * (value - zero) *
               scales.data<float>()[n * kBlocks + block];
      }
      expected[m * kN + n] = static_cast<float>(sum);
    }
  }
  ExpectClose(out[0], {3, kN}, expected, 1e-5f, 1e-5f);
}

TEST(MatMulNBitsTest, MatchesOnnxRuntime) {
  // MatMulNBits.pinned.4bit: K 32 in blocks of 16, packed zero points [N], bias.
  const Tensor a = Wave(0, {2, 32});
  const Tensor b = Bytes({3, 2, 8}, Pattern(48, 29, 7));
  const Tensor scales = Steps({3, 2});
  const Tensor zero_points = Bytes({3}, Pattern(3, 53, 18));
  const Tensor bias = Wave(2, {3});
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp("y = com.microsoft.MatMulNBits <K = 32, N = 3, bits = 4, block_size = 16>"
                      " (a, b, s, z, g, c)",
                      {&a, &b, &scales, &zero_points, nullptr, &bias}));
  ExpectClose(out[0], {2, 3},
              {-1.203419f, 1.0234616f, 3.7573035f, -0.80761355f, -1.3822181f, 1.1244247f}, 1e-5f,
              1e-5f);
  // MatMulNBits.pinned.8bit: default zero point 128, 1-D scales.
  const Tensor a8 = Wave(1, {1, 16});
  const Tensor b8 = Bytes({2, 1, 16}, Pattern(32, 37, 3));
  const Tensor scales8 = Steps({2});
  ASSERT_OK_AND_ASSIGN(
      out, RunOp("y = com.microsoft.MatMulNBits <K = 16, N = 2, bits = 8, block_size = 16>"
                 " (a, b, s)",
                 {&a8, &b8, &scales8}));
  ExpectClose(out[0], {1, 2}, {-9.2889004f, 1.3216472f}, 1e-5f, 1e-5f);
}

TEST(MatMulNBitsTest, MalformedInputsAreErrors) {
  const Tensor a = SumAndPickRows();
  const Tensor b = CountingWeight();
  const Tensor scales = FloatTensor({2}, {0.5f, 1.0f});
  EXPECT_THAT(RunOp("y = com.microsoft.MatMulNBits <K = 16, N = 2, bits = 4, block_size = 24>"
                    " (a, b, s)",
                    {&a, &b, &scales})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("power of 2")));
  EXPECT_THAT(RunOp("y = com.microsoft.MatMulNBits <K = 16, N = 2, bits = 3, block_size = 16>"
                    " (a, b, s)",
                    {&a, &b, &scales})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bits must be")));
  EXPECT_THAT(RunOp("y = com.microsoft.MatMulNBits <K = 32, N = 2, bits = 4, block_size = 16>"
                    " (a, b, s)",
                    {&a, &b, &scales})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("B must be")));
  const Tensor short_a = FloatTensor({1, 8}, std::vector<float>(8, 1.0f));
  EXPECT_THAT(RunOp(kNBits4, {&short_a, &b, &scales}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must end in K")));
  const Tensor bad_g_idx = Int32Tensor({16}, std::vector<int32_t>(16, 1));
  EXPECT_THAT(RunOp(kNBits4, {&a, &b, &scales, nullptr, &bad_g_idx}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("block index")));
  const Tensor wide_bias = FloatTensor({3}, {1, 2, 3});
  EXPECT_THAT(RunOp(kNBits4, {&a, &b, &scales, nullptr, nullptr, &wide_bias}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bias must be [2]")));
}

// ---------------------------------------------------------------------------------------------
// GatherBlockQuantized

TEST(GatherBlockQuantizedTest, FourBitRowsWithZeroPoints) {
  // A [2, 16] table stored as [2, 8] bytes: row 0 holds q = k, row 1 holds q = 15.
  std::vector<int> q;
  for (int k = 0; k < 16; ++k) q.push_back(k);
  for (int k = 0; k < 16; ++k) q.push_back(15);
  const Tensor data = Bytes({2, 8}, Pack4(q));
  const Tensor scales = FloatTensor({2, 1}, {0.5f, 2.0f});
  const Tensor zero_points = Bytes({2, 1}, {0x03, 0x0A});  // 3 and 10 (low nibbles)
  const Tensor indices = Int64Tensor({3}, {1, -2, 0});
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp("y = com.microsoft.GatherBlockQuantized <block_size = 16> (d, i, s, z)",
                      {&data, &indices, &scales, &zero_points}));
  std::vector<float> expected(16, 10.0f);  // row 1: (15 - 10) * 2
  for (int copy = 0; copy < 2; ++copy) {
    for (int k = 0; k < 16; ++k) expected.push_back((k - 3) * 0.5f);
  }
  ExpectClose(out[0], {3, 16}, expected);
}

TEST(GatherBlockQuantizedTest, EightBitsDefaultZeroPointThreeDimensions) {
  // [3, 2, 16] bytes, blocks of 16 along the last axis: one scale per (row, middle) pair.
  std::vector<uint8_t> q(96);
  for (int i = 0; i < 96; ++i) q[i] = static_cast<uint8_t>(120 + i % 16);
  const Tensor data = Bytes({3, 2, 16}, q);
  const Tensor scales = FloatTensor({3, 2, 1}, {1, 2, 3, 4, 5, 6});
  const Tensor indices = Int32Tensor({1, 1}, {2});
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp("y = com.microsoft.GatherBlockQuantized <bits = 8, block_size = 16,"
                             " quantize_axis = 2> (d, i, s)",
                             {&data, &indices, &scales}));
  std::vector<float> expected;
  for (float scale : {5.0f, 6.0f}) {
    for (int k = 0; k < 16; ++k) expected.push_back((120 + k - 128) * scale);
  }
  ExpectClose(out[0], {1, 1, 2, 16}, expected);
}

TEST(GatherBlockQuantizedTest, MatchesOnnxRuntime) {
  // GatherBlockQuantized.pinned.
  const Tensor data = Bytes({3, 8}, Pattern(24, 41, 5));
  const Tensor indices = Int64Tensor({2}, {2, 0});
  const Tensor scales = Steps({3, 1});
  const Tensor zero_points = Bytes({3, 1}, Pattern(3, 53, 18));
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp("y = com.microsoft.GatherBlockQuantized <block_size = 16> (d, i, s, z)",
                      {&data, &indices, &scales, &zero_points}));
  ExpectClose(
      out[0], {2, 16},
      {-0.49000001f, -0.21000001f, 0.14f,       -0.07f,       -0.34999999f, 0.14f,  -0.84000003f,
       -0.76999998f, -0.21000001f, -0.63f,      -0.69999999f, -0.42000002f, -0.07f, -0.28f,
       -0.56f,       -0.07f,       0.15000001f, -0.1f,        0.60000002f,  0.0f,   0.25f,
       0.15000001f,  -0.1f,        0.30000001f, 0.34999999f,  0.40000001f,  0.0f,   0.55000001f,
       0.45000002f,  0.65000004f,  0.1f,        0.0f});
}

TEST(GatherBlockQuantizedTest, MalformedInputsAreErrors) {
  const Tensor data = Bytes({2, 8}, std::vector<uint8_t>(16, 0x11));
  const Tensor scales = FloatTensor({2, 1}, {1, 1});
  const Tensor indices = Int64Tensor({1}, {2});
  EXPECT_THAT(RunOp("y = com.microsoft.GatherBlockQuantized <block_size = 16> (d, i, s)",
                    {&data, &indices, &scales})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside")));
  const Tensor zero = Int64Tensor({1}, {0});
  EXPECT_THAT(RunOp("y = com.microsoft.GatherBlockQuantized <block_size = 16, gather_axis = 1>"
                    " (d, i, s)",
                    {&data, &zero, &scales})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("gather_axis 0")));
  const Tensor wrong_scales = FloatTensor({2, 2}, {1, 1, 1, 1});
  EXPECT_THAT(RunOp("y = com.microsoft.GatherBlockQuantized <block_size = 16> (d, i, s)",
                    {&data, &zero, &wrong_scales})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scales must be [2,1]")));
}

}  // namespace
}  // namespace halfcast::eval
