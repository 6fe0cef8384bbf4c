#include "halfcast/tensor.h"

#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "numerics/float16.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace halfcast {
namespace {

using ::halfcast::testing::StatusIs;
using ::halfcast::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Files written by numpy 1.24 (np.save / write_array version 3.0).
const std::string kNumpyFloat16(
    "\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }"
    "                                                          \n"
    "\x00>\x00\xc0\xff{\x00\x00\x02\x00\x00\x80",
    128 + 12);
const std::string kNumpyBool(
    "\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }"
    "                                                            \n\x01\x00\x01",
    128 + 3);
const std::string kNumpyScalarInt64(
    "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (), }"
    "                                                              \n"
    "\x07\x00\x00\x00\x00\x00\x00\x00",
    128 + 8);
const std::string kNumpyV3Int32(
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }"
    "                                                          \n"
    "\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00",
    128 + 12);

TEST(TensorTest, CopyOnWriteKeepsCopiesAndBorrowedDataIntact) {
  float source[2] = {1, 2};
  Tensor borrowed = Tensor::Borrow(DataType::kFloat, {2}, source);
  EXPECT_TRUE(borrowed.is_borrowed());
  borrowed.mutable_data<float>()[0] = 5;
  EXPECT_FALSE(borrowed.is_borrowed());
  EXPECT_EQ(source[0], 1);
  EXPECT_EQ(borrowed.data<float>()[0], 5);

  Tensor copy = borrowed;
  copy.mutable_data<float>()[1] = 7;
  EXPECT_EQ(borrowed.data<float>()[1], 2);
  EXPECT_EQ(copy.data<float>()[1], 7);
}

TEST(TensorTest, WithShapeSharesBytesUntilEitherSideWrites) {
  const float values[6] = {1, 2, 3, 4, 5, 6};
  const Tensor x = Tensor::Copy(DataType::kFloat, {2, 3}, values);
  ASSERT_OK_AND_ASSIGN(Tensor y, x.WithShape({3, 1, 2}));
  EXPECT_THAT(y.shape(), ElementsAre(3, 1, 2));
  EXPECT_EQ(y.raw_data(), x.raw_data());  // no copy
  y.mutable_data<float>()[0] = 100;       // copy on write: x keeps its values
  EXPECT_NE(y.raw_data(), x.raw_data());
  EXPECT_EQ(x.data<float>()[0], 1);
  EXPECT_EQ(y.data<float>()[5], 6);
  // A borrowed tensor stays a view of the same memory.
  ASSERT_OK_AND_ASSIGN(Tensor view,
                       Tensor::Borrow(DataType::kFloat, {6}, values).WithShape({6, 1}));
  EXPECT_TRUE(view.is_borrowed());
  EXPECT_EQ(view.raw_data(), values);
  ASSERT_OK_AND_ASSIGN(Tensor words, Tensor::Strings({2}, {"a", "b"}).WithShape({1, 2}));
  EXPECT_THAT(words.strings(), ElementsAre("a", "b"));
  EXPECT_THAT(x.WithShape({4}), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("cannot view a tensor of shape [2,3] as [4]")));
  EXPECT_THAT(x.WithShape({-2, -3}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative")));
}

TEST(TensorTest, UninitializedAndZerosOwnTheirBytes) {
  Tensor u = Tensor::Uninitialized(DataType::kInt64, {2, 2});
  EXPECT_EQ(u.byte_size(), 32u);
  for (int i = 0; i < 4; ++i) u.mutable_data<int64_t>()[i] = i;
  EXPECT_THAT(std::vector<int64_t>(u.data<int64_t>(), u.data<int64_t>() + 4),
              ElementsAre(0, 1, 2, 3));
  const Tensor z = Tensor::Zeros(DataType::kFloat16, {3});
  EXPECT_THAT(std::vector<uint16_t>(z.data<uint16_t>(), z.data<uint16_t>() + 3),
              ElementsAre(0, 0, 0));
  EXPECT_EQ(Tensor::Uninitialized(DataType::kString, {2}).strings().size(), 2u);
  EXPECT_EQ(Tensor::Uninitialized(DataType::kFloat, {0, 5}).byte_size(), 0u);
}

TEST(TensorTest, CheckedElementCountRejectsNegativeOverflowAndLimit) {
  EXPECT_EQ(CheckedElementCount({2, 3}).value(), 6);
  EXPECT_EQ(CheckedElementCount({INT64_MAX, 0, 5}).value(), 0);
  EXPECT_THAT(CheckedElementCount({2, -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative")));
  EXPECT_THAT(CheckedElementCount({int64_t{1} << 40, int64_t{1} << 40}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("overflows")));
  EXPECT_THAT(CheckedElementCount({10, 10}, 99),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("100 elements")));
}

TEST(TensorTest, ReadsNumpyFiles) {
  TempDir dir;
  testing::WriteFileBytes(dir.File("h.npy"), kNumpyFloat16);
  ASSERT_OK_AND_ASSIGN(Tensor h, ReadTensorFile(dir.File("h.npy")));
  EXPECT_EQ(h.type(), DataType::kFloat16);
  EXPECT_THAT(h.shape(), ElementsAre(2, 3));
  const uint16_t* bits = h.data<uint16_t>();
  EXPECT_EQ(numerics::HalfToFloat(bits[0]), 1.5f);
  EXPECT_EQ(numerics::HalfToFloat(bits[1]), -2.0f);
  EXPECT_EQ(numerics::HalfToFloat(bits[2]), 65504.0f);
  EXPECT_EQ(bits[4], 0x0002);  // 1e-7 is the subnormal 2 * 2^-24
  EXPECT_EQ(bits[5], numerics::kHalfNegativeZero);

  testing::WriteFileBytes(dir.File("b.npy"), kNumpyBool);
  ASSERT_OK_AND_ASSIGN(Tensor b, ReadNpy(dir.File("b.npy")));
  EXPECT_EQ(b.type(), DataType::kBool);
  EXPECT_THAT(std::vector<bool>(b.data<bool>(), b.data<bool>() + 3), ElementsAre(true, false, true));

  testing::WriteFileBytes(dir.File("s.npy"), kNumpyScalarInt64);
  ASSERT_OK_AND_ASSIGN(Tensor s, ReadNpy(dir.File("s.npy")));
  EXPECT_TRUE(s.shape().empty());
  EXPECT_EQ(s.data<int64_t>()[0], 7);

  testing::WriteFileBytes(dir.File("v3.npy"), kNumpyV3Int32);
  ASSERT_OK_AND_ASSIGN(Tensor v3, ReadNpy(dir.File("v3.npy")));
  EXPECT_THAT(std::vector<int32_t>(v3.data<int32_t>(), v3.data<int32_t>() + 3), ElementsAre(0, 1, 2));
}

TEST(TensorTest, WritesTheBytesNumpyWrites) {
  TempDir dir;
  const uint16_t bits[6] = {0x3E00, 0xC000, 0x7BFF, 0x0000, 0x0002, 0x8000};
  ASSERT_OK(WriteNpy(Tensor::Copy(DataType::kFloat16, {2, 3}, bits), dir.File("h.npy")));
  EXPECT_EQ(testing::ReadFileBytes(dir.File("h.npy")), kNumpyFloat16);
  const bool values[3] = {true, false, true};
  ASSERT_OK(WriteNpy(Tensor::Copy(DataType::kBool, {3}, values), dir.File("b.npy")));
  EXPECT_EQ(testing::ReadFileBytes(dir.File("b.npy")), kNumpyBool);
  const int64_t seven = 7;
  ASSERT_OK(WriteNpy(Tensor::Copy(DataType::kInt64, {}, &seven), dir.File("s.npy")));
  EXPECT_EQ(testing::ReadFileBytes(dir.File("s.npy")), kNumpyScalarInt64);
}

TEST(TensorTest, NpyRoundTripsEveryType) {
  TempDir dir;
  for (DataType type : {DataType::kFloat, DataType::kDouble, DataType::kInt8, DataType::kUint8,
                        DataType::kInt16, DataType::kUint16, DataType::kInt32, DataType::kUint32,
                        DataType::kInt64, DataType::kUint64, DataType::kFloat16}) {
    Tensor t = Tensor::Zeros(type, {2, 2});
    auto* bytes = static_cast<unsigned char*>(t.mutable_raw_data());
    for (std::size_t i = 0; i < t.byte_size(); ++i) bytes[i] = static_cast<unsigned char>(i * 37);
    const std::string path = dir.File(std::string(DataTypeName(type)) + ".npy");
    ASSERT_OK(WriteNpy(t, path));
    ASSERT_OK_AND_ASSIGN(Tensor back, ReadNpy(path));
    EXPECT_EQ(back.type(), type);
    EXPECT_EQ(back.shape(), t.shape());
    EXPECT_EQ(std::memcmp(back.raw_data(), t.raw_data(), t.byte_size()), 0) << DataTypeName(type);
  }
  // bfloat16 has no numpy dtype: its bit patterns come back as uint16.
  ASSERT_OK(WriteNpy(Tensor::Zeros(DataType::kBFloat16, {1}), dir.File("bf.npy")));
  ASSERT_OK_AND_ASSIGN(Tensor bf, ReadNpy(dir.File("bf.npy")));
  EXPECT_EQ(bf.type(), DataType::kUint16);
}

TEST(TensorTest, BadNpyIsAClearError) {
  TempDir dir;
  testing::WriteFileBytes(dir.File("short.npy"), kNumpyFloat16.substr(0, kNumpyFloat16.size() - 1));
  EXPECT_THAT(ReadNpy(dir.File("short.npy")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs 12")));
  testing::WriteFileBytes(dir.File("junk.npy"), "hello");
  EXPECT_THAT(ReadNpy(dir.File("junk.npy")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad magic")));
  std::string fortran = kNumpyFloat16;
  fortran.replace(fortran.find("False"), 5, "True ");
  testing::WriteFileBytes(dir.File("f.npy"), fortran);
  EXPECT_THAT(ReadNpy(dir.File("f.npy")), StatusIs(absl::StatusCode::kUnimplemented,
                                                   HasSubstr("Fortran")));
  EXPECT_THAT(ReadNpy(dir.File("missing.npy")), StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.npy")));
  EXPECT_THAT(ReadTensorFile(dir.File("x.txt")), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(".npy or .pb")));
  EXPECT_THAT(WriteNpy(Tensor::Zeros(DataType::kFloat, {1}), dir.File("no/such/dir/x.npy")),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("x.npy")));
}

TEST(TensorTest, ProtoTypedFieldsAndRawData) {
  onnx::TensorProto half;
  half.set_name("h");
  half.set_data_type(onnx::TensorProto::FLOAT16);
  half.add_dims(2);
  half.add_int32_data(numerics::kHalfMaxFinite);  // float16 bits live in int32_data
  half.add_int32_data(numerics::kHalfNegativeZero);
  ASSERT_OK_AND_ASSIGN(Tensor h, TensorFromProto(half));
  EXPECT_EQ(h.type(), DataType::kFloat16);
  EXPECT_EQ(h.data<uint16_t>()[0], numerics::kHalfMaxFinite);
  EXPECT_EQ(h.data<uint16_t>()[1], numerics::kHalfNegativeZero);

  onnx::TensorProto u32;
  u32.set_data_type(onnx::TensorProto::UINT32);
  u32.add_dims(1);
  u32.add_uint64_data(4000000000u);
  ASSERT_OK_AND_ASSIGN(Tensor u, TensorFromProto(u32));
  EXPECT_EQ(u.data<uint32_t>()[0], 4000000000u);

  onnx::TensorProto strings;
  strings.set_data_type(onnx::TensorProto::STRING);
  strings.add_dims(2);
  strings.add_string_data("a");
  strings.add_string_data("bc");
  ASSERT_OK_AND_ASSIGN(Tensor s, TensorFromProto(strings));
  EXPECT_THAT(s.strings(), ElementsAre("a", "bc"));
  onnx::TensorProto s_back = TensorToProto(s, "s");
  EXPECT_THAT(s_back.string_data(), ElementsAre("a", "bc"));

  const double values[3] = {1.5, -2, 1e300};
  onnx::TensorProto raw = TensorToProto(Tensor::Copy(DataType::kDouble, {3, 1}, values), "d");
  EXPECT_EQ(raw.name(), "d");
  ASSERT_OK_AND_ASSIGN(Tensor d, TensorFromProto(raw));
  EXPECT_THAT(d.shape(), ElementsAre(3, 1));
  EXPECT_EQ(d.data<double>()[2], 1e300);
}

TEST(TensorTest, BadProtoIsAClearError) {
  onnx::TensorProto p;
  p.set_name("w");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(3);
  p.add_float_data(1);
  EXPECT_THAT(TensorFromProto(p), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("'w' has 1 values in float_data")));
  p.clear_float_data();
  p.set_raw_data(std::string(8, '\0'));
  EXPECT_THAT(TensorFromProto(p), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs 12")));
  p.set_data_type(14);  // complex64
  EXPECT_THAT(TensorFromProto(p), StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("data type 14")));
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.set_data_location(onnx::TensorProto::EXTERNAL);
  EXPECT_THAT(TensorFromProto(p), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("external")));
}

TEST(TensorTest, ReadsExternalDataInsideBaseDirOnly) {
  TempDir dir;
  const float values[3] = {1, 2, 3};
  testing::WriteFileBytes(dir.File("w.bin"),
                          std::string(reinterpret_cast<const char*>(values), sizeof values));
  onnx::TensorProto p;
  p.set_name("w");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(3);
  p.set_data_location(onnx::TensorProto::EXTERNAL);
  auto* entry = p.add_external_data();
  entry->set_key("location");
  entry->set_value("w.bin");
  ASSERT_OK_AND_ASSIGN(Tensor t, TensorFromProto(p, dir.path()));
  EXPECT_EQ(t.data<float>()[2], 3);
  entry->set_value("../w.bin");
  EXPECT_THAT(TensorFromProto(p, dir.path()), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("..")));
}

TEST(TensorTest, ReadsOnnxTestDataPb) {
  const std::string path =
      "/usr/share/libonnx-testdata/data/node/test_abs/test_data_set_0/input_0.pb";
  ASSERT_OK_AND_ASSIGN(Tensor t, ReadTensorFile(path));
  EXPECT_EQ(t.type(), DataType::kFloat);
  EXPECT_THAT(t.shape(), ElementsAre(3, 4, 5));
}

}  // namespace
}  // namespace halfcast
