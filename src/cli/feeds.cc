#include "cli/feeds.h"

#include <random>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/args.h"
#include "common/status_macros.h"
#include "numerics/float16.h"

namespace halfcast::cli {
namespace {

DataType DeclaredType(const onnx::ValueInfoProto& input) {
  return static_cast<DataType>(input.type().tensor_type().elem_type());
}

bool IsFloatType(DataType type) {
  return type == DataType::kFloat || type == DataType::kFloat16 || type == DataType::kBFloat16 ||
         type == DataType::kDouble;
}

absl::StatusOr<std::vector<int64_t>> ShapeFromModel(const onnx::ValueInfoProto& input) {
  const onnx::TypeProto_Tensor& tensor = input.type().tensor_type();
  if (!tensor.has_shape()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input '", input.name(), "' has no declared shape; give --shape ", input.name(), "=..."));
  }
  std::vector<int64_t> dims;
  for (const onnx::TensorShapeProto_Dimension& dim : tensor.shape().dim()) {
    if (!dim.has_dim_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", input.name(), "' has a dynamic dimension",
                       dim.has_dim_param() ? absl::StrCat(" '", dim.dim_param(), "'") : "",
                       "; give --shape ", input.name(), "=d1,d2,..."));
    }
    dims.push_back(dim.dim_value());
  }
  return dims;
}

absl::Status CheckShapeAgainstModel(const onnx::ValueInfoProto& input,
                                    const std::vector<int64_t>& dims) {
  const onnx::TypeProto_Tensor& tensor = input.type().tensor_type();
  if (!tensor.has_shape()) return absl::OkStatus();
  const auto& declared = tensor.shape().dim();
  bool matches = declared.size() == static_cast<int>(dims.size());
  for (int i = 0; matches && i < declared.size(); ++i) {
    matches = !declared[i].has_dim_value() || declared[i].dim_value() == dims[i];
  }
  if (!matches) {
    return absl::InvalidArgumentError(absl::StrCat("--shape ", input.name(), "=",
                                                   absl::StrJoin(dims, ","),
                                                   " does not fit the model's declared shape"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<FlagSpec> FeedFlags() {
  return {
      {"input", FlagKind::kRepeated, "NAME=FILE", "a model input from a .npy or .pb file"},
      {"random-inputs", FlagKind::kSwitch, "",
       "generate inputs not given: floats uniform in [-1, 1], integers 0"},
      {"shape", FlagKind::kRepeated, "NAME=D1,D2,..", "shape of a generated input"},
      {"seed", FlagKind::kValue, "N", "seed of the generated inputs (default 0)"},
  };
}

absl::StatusOr<TensorMap> FeedsFromFlags(const ParsedArgs& args, const onnx::ModelProto& model) {
  HALFCAST_ASSIGN_OR_RETURN(TensorMap feeds, ReadInputs(args.Values("input")));
  const bool random = args.Has("random-inputs");
  if (!random && (args.Has("shape") || args.Has("seed"))) {
    return absl::InvalidArgumentError("--shape and --seed need --random-inputs");
  }
  if (random) {
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const std::string& spec : args.Values("shape")) {
      HALFCAST_ASSIGN_OR_RETURN(auto assignment, ParseAssignment("shape", spec));
      HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> dims, ParseDims("shape", assignment.second));
      if (!shapes.emplace(assignment.first, std::move(dims)).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("--shape: '", assignment.first, "' is given more than once"));
      }
    }
    uint64_t seed = 0;
    if (std::optional<std::string> text = args.Value("seed")) {
      HALFCAST_ASSIGN_OR_RETURN(const int64_t value, ParseCount("seed", *text));
      seed = static_cast<uint64_t>(value);
    }
    HALFCAST_ASSIGN_OR_RETURN(feeds, CompleteWithRandomFeeds(model, feeds, shapes, seed));
  }
  HALFCAST_RETURN_IF_ERROR(CheckFeedNames(model, feeds));
  return feeds;
}

absl::StatusOr<TensorMap> ReadInputs(const std::vector<std::string>& specs) {
  TensorMap feeds;
  for (const std::string& spec : specs) {
    HALFCAST_ASSIGN_OR_RETURN(auto assignment, ParseAssignment("input", spec));
    if (feeds.count(assignment.first) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--input: '", assignment.first, "' is given more than once"));
    }
    absl::StatusOr<Tensor> tensor = ReadTensorFile(assignment.second);
    if (!tensor.ok()) {
      return absl::Status(tensor.status().code(),
                          absl::StrCat("--input ", spec, ": ", tensor.status().message()));
    }
    feeds.emplace(assignment.first, *std::move(tensor));
  }
  return feeds;
}

std::vector<const onnx::ValueInfoProto*> FeedableInputs(const onnx::ModelProto& model) {
  std::set<std::string> initializers;
  for (const onnx::TensorProto& init : model.graph().initializer())
    initializers.insert(init.name());
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const onnx::ValueInfoProto& input : model.graph().input()) {
    if (initializers.count(input.name()) == 0) inputs.push_back(&input);
  }
  return inputs;
}

absl::Status CheckFeedNames(const onnx::ModelProto& model, const TensorMap& feeds) {
  std::set<std::string> known;
  for (const onnx::ValueInfoProto& input : model.graph().input()) known.insert(input.name());
  std::vector<std::string> expected;
  for (const onnx::ValueInfoProto* input : FeedableInputs(model)) {
    expected.push_back(input->name());
  }
  for (const auto& [name, tensor] : feeds) {
    if (known.count(name) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--input: the model has no input '", name,
                       "' (its inputs: ", absl::StrJoin(expected, ", "), ")"));
    }
  }
  for (const std::string& name : expected) {
    if (feeds.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("no value for the model's input '", name,
                                                     "': give --input ", name, "=FILE"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TensorMap> CompleteWithRandomFeeds(
    const onnx::ModelProto& model, const TensorMap& given,
    const std::map<std::string, std::vector<int64_t>>& shapes, uint64_t seed) {
  std::set<std::string> input_names;
  for (const onnx::ValueInfoProto* input : FeedableInputs(model)) {
    input_names.insert(input->name());
  }
  for (const auto& [name, dims] : shapes) {
    if (input_names.count(name) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--shape: the model has no input '", name, "' to generate"));
    }
    if (given.count(name) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--shape ", name, ": the input is already given with --input"));
    }
  }
  TensorMap feeds = given;
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (const onnx::ValueInfoProto* input : FeedableInputs(model)) {
    if (given.count(input->name()) != 0) continue;
    const DataType type = DeclaredType(*input);
    if (!input->type().has_tensor_type() || type == DataType::kString ||
        type == DataType::kUndefined) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", input->name(), "' is not a numeric tensor; give it with --input"));
    }
    std::vector<int64_t> dims;
    auto shape = shapes.find(input->name());
    if (shape != shapes.end()) {
      HALFCAST_RETURN_IF_ERROR(CheckShapeAgainstModel(*input, shape->second));
      dims = shape->second;
    } else {
      HALFCAST_ASSIGN_OR_RETURN(dims, ShapeFromModel(*input));
    }
    HALFCAST_ASSIGN_OR_RETURN(const int64_t count, CheckedElementCount(dims, int64_t{1} << 31));
    Tensor tensor = Tensor::Zeros(type, dims);
    if (IsFloatType(type)) {
      for (int64_t i = 0; i < count; ++i) {
        const float value = uniform(random);
        switch (type) {
          case DataType::kFloat:
            tensor.mutable_data<float>()[i] = value;
            break;
          case DataType::kDouble:
            tensor.mutable_data<double>()[i] = value;
            break;
          case DataType::kFloat16:
            tensor.mutable_data<uint16_t>()[i] = numerics::FloatToHalf(value);
            break;
          default:
            tensor.mutable_data<uint16_t>()[i] = numerics::FloatToBFloat16(value);
        }
      }
    }
    feeds.emplace(input->name(), std::move(tensor));
  }
  return feeds;
}

TensorMap MatchInputTypes(const onnx::ModelProto& model, const TensorMap& feeds) {
  TensorMap matched = feeds;
  for (const onnx::ValueInfoProto& input : model.graph().input()) {
    const DataType type = DeclaredType(input);
    auto it = matched.find(input.name());
    if (it == matched.end() || it->second.type() != DataType::kFloat ||
        (type != DataType::kFloat16 && type != DataType::kBFloat16)) {
      continue;
    }
    const Tensor& source = it->second;
    Tensor converted = Tensor::Zeros(type, source.shape());
    const float* from = source.data<float>();
    uint16_t* to = converted.mutable_data<uint16_t>();
    for (int64_t i = 0; i < source.element_count(); ++i) {
      to[i] = type == DataType::kFloat16 ? numerics::FloatToHalf(from[i])
                                         : numerics::FloatToBFloat16(from[i]);
    }
    it->second = std::move(converted);
  }
  return matched;
}

std::string SanitizeFileName(const std::string& name) {
  std::string file = name;
  for (char& c : file) {
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-';
    if (!keep) c = '_';
  }
  return file;
}

}  // namespace halfcast::cli
