#include "cli/feeds.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
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

// A float32 tensor rounded to `type` when that is float16 or bfloat16; any other as it is.
Tensor RoundedTo(const Tensor& tensor, DataType type) {
  if (tensor.type() != DataType::kFloat ||
      (type != DataType::kFloat16 && type != DataType::kBFloat16)) {
    return tensor;
  }
  Tensor converted = Tensor::Zeros(type, tensor.shape());
  const float* from = tensor.data<float>();
  uint16_t* to = converted.mutable_data<uint16_t>();
  for (int64_t i = 0; i < tensor.element_count(); ++i) {
    to[i] = type == DataType::kFloat16 ? numerics::FloatToHalf(from[i])
                                       : numerics::FloatToBFloat16(from[i]);
  }
  return converted;
}

// `value` with its float32 tensors rounded to the 16-bit type `declared` gives them: a tensor
// itself, a sequence's elements, an optional's content.
Value RoundedToDeclared(const Value& value, const onnx::TypeProto& declared) {
  switch (value.kind()) {
    case Value::Kind::kTensor:
      return RoundedTo(value.tensor(),
                       static_cast<DataType>(declared.tensor_type().elem_type()));
    case Value::Kind::kSequence: {
      const auto type = static_cast<DataType>(
          declared.sequence_type().elem_type().tensor_type().elem_type());
      std::vector<Tensor> elements;
      for (const Tensor& t : value.elements()) elements.push_back(RoundedTo(t, type));
      const DataType element_type = elements.empty() ? value.element_type() : elements[0].type();
      return Value::Sequence(element_type, std::move(elements));
    }
    case Value::Kind::kOptional:
      if (!value.has_element()) return value;
      return Value::OptionalOf(
          RoundedToDeclared(value.element(), declared.optional_type().elem_type()));
  }
  return value;
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
      {"input", FlagKind::kRepeated, "NAME=FILE",
       "a model input from a .npy or .pb file (shared by every --input-set)"},
      {"input-set", FlagKind::kRepeated, "NAME=FILE,...",
       "one run's inputs; repeat for several runs, all of which must pass"},
      {"input-dir", FlagKind::kValue, "DIR",
       "runs' inputs from DIR: test_data_set_N folders of input_K.pb or NAME.npy files, or "
       "such files in DIR itself"},
      {"random-inputs", FlagKind::kSwitch, "",
       "generate inputs not given: floats uniform in [-1, 1], integers 0"},
      {"shape", FlagKind::kRepeated, "NAME=D1,D2,..", "shape of a generated input"},
      {"seed", FlagKind::kValue, "N", "seed of the generated inputs (default 0)"},
  };
}

namespace {

absl::Status WithLabel(const std::string& label, const absl::Status& status) {
  if (status.ok() || label.empty()) return status;
  return absl::Status(status.code(), absl::StrCat(label, ": ", status.message()));
}

// The numeric suffix of test_data_set_N (-1 for other names), so that set 10 follows set 9.
int64_t SetNumber(const std::string& name) {
  constexpr absl::string_view kPrefix = "test_data_set_";
  if (name.size() <= kPrefix.size() || !absl::StartsWith(name, kPrefix)) return -1;
  int64_t number = 0;
  for (std::size_t i = kPrefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || number > (int64_t{1} << 40)) return -1;
    number = number * 10 + (name[i] - '0');
  }
  return number;
}

// The K of input_K.pb, -1 for other names.
int64_t InputIndex(const std::string& name) {
  constexpr absl::string_view kPrefix = "input_";
  constexpr absl::string_view kSuffix = ".pb";
  if (name.size() <= kPrefix.size() + kSuffix.size() || !absl::StartsWith(name, kPrefix) ||
      !absl::EndsWith(name, kSuffix)) {
    return -1;
  }
  int64_t index = 0;
  for (std::size_t i = kPrefix.size(); i + kSuffix.size() < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || index > (int64_t{1} << 40)) return -1;
    index = index * 10 + (name[i] - '0');
  }
  return index;
}

absl::StatusOr<ValueMap> ReadSetDir(const std::filesystem::path& dir,
                                    const onnx::ModelProto& model) {
  const std::vector<const onnx::ValueInfoProto*> inputs = FeedableInputs(model);
  std::map<std::string, std::string> by_file_name;  // SanitizeFileName(input) -> input
  for (const onnx::ValueInfoProto& input : model.graph().input()) {
    by_file_name.emplace(SanitizeFileName(input.name()), input.name());
  }
  std::error_code error;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.is_regular_file(error)) files.push_back(entry.path());
  }
  if (error) {
    return absl::NotFoundError(absl::StrCat("cannot read '", dir.string(), "': ", error.message()));
  }
  std::sort(files.begin(), files.end());
  ValueMap feeds;
  std::map<std::string, std::string> source;  // input -> file
  // A .pb file does not say which proto it holds: the K-th input's declared type does, a
  // tensor's when there is no such input.
  onnx::TypeProto tensor_type;
  tensor_type.mutable_tensor_type();
  for (const std::filesystem::path& file : files) {
    const std::string file_name = file.filename().string();
    std::string name;
    absl::StatusOr<Value> value;
    if (const int64_t index = InputIndex(file_name); index >= 0) {
      const bool known_input = index < static_cast<int64_t>(inputs.size());
      std::string proto_name;
      value = ReadValueProtoFile(file.string(), known_input ? inputs[index]->type() : tensor_type,
                                 &proto_name);
      if (!proto_name.empty()) {
        name = proto_name;
      } else if (known_input) {
        name = inputs[index]->name();
      } else if (value.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("'", file.string(),
                                                       "' has no name and the model has only ",
                                                       inputs.size(), " inputs to feed"));
      }
    } else if (file.extension() == ".npy") {
      const std::string stem = file.stem().string();
      auto known = by_file_name.find(stem);
      name = known != by_file_name.end() ? known->second : stem;
      absl::StatusOr<Tensor> tensor = ReadNpy(file.string());
      if (tensor.ok()) {
        value = Value(*std::move(tensor));
      } else {
        value = tensor.status();
      }
    } else {
      continue;  // output_K.pb and anything else that is no input
    }
    if (!value.ok()) {
      return absl::Status(value.status().code(),
                          absl::StrCat(file.string(), ": ", value.status().message()));
    }
    auto [it, inserted] = source.emplace(name, file.string());
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat("'", it->second, "' and '", file.string(),
                                                     "' both feed input '", name, "'"));
    }
    feeds.emplace(name, *std::move(value));
  }
  if (feeds.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", dir.string(), "' holds no input_K.pb or .npy file"));
  }
  return feeds;
}

}  // namespace

absl::StatusOr<std::vector<FeedSet>> ReadInputDir(const std::string& dir,
                                                  const onnx::ModelProto& model) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return absl::NotFoundError(absl::StrCat("--input-dir: '", dir, "' is not a folder"));
  }
  std::vector<std::pair<int64_t, std::filesystem::path>> set_dirs;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const int64_t number = SetNumber(entry.path().filename().string());
    if (number >= 0 && entry.is_directory(error)) set_dirs.emplace_back(number, entry.path());
  }
  std::sort(set_dirs.begin(), set_dirs.end());
  if (set_dirs.empty()) set_dirs.emplace_back(0, std::filesystem::path(dir));
  std::vector<FeedSet> sets;
  for (const auto& [number, path] : set_dirs) {
    absl::StatusOr<ValueMap> feeds = ReadSetDir(path, model);
    if (!feeds.ok()) return WithLabel("--input-dir", feeds.status());
    sets.push_back({path.string(), *std::move(feeds)});
  }
  return sets;
}

absl::StatusOr<std::vector<FeedSet>> FeedSetsFromFlags(const ParsedArgs& args,
                                                       const onnx::ModelProto& model) {
  HALFCAST_ASSIGN_OR_RETURN(const ValueMap shared,
                            ReadInputs(args.Values("input"), "input", &model));
  std::vector<FeedSet> sets;
  const std::vector<std::string> set_specs = args.Values("input-set");
  for (std::size_t i = 0; i < set_specs.size(); ++i) {
    HALFCAST_ASSIGN_OR_RETURN(const std::vector<std::string> specs,
                              ParseList("input-set", set_specs[i]));
    if (specs.empty()) return absl::InvalidArgumentError("--input-set: give NAME=FILE,...");
    HALFCAST_ASSIGN_OR_RETURN(ValueMap feeds, ReadInputs(specs, "input-set", &model));
    sets.push_back({absl::StrCat("--input-set ", i + 1), std::move(feeds)});
  }
  if (std::optional<std::string> dir = args.Value("input-dir")) {
    HALFCAST_ASSIGN_OR_RETURN(std::vector<FeedSet> from_dir, ReadInputDir(*dir, model));
    for (FeedSet& set : from_dir) sets.push_back(std::move(set));
  }
  if (sets.empty()) sets.push_back({"", {}});
  for (FeedSet& set : sets) {
    for (const auto& [name, value] : shared) {
      if (!set.feeds.emplace(name, value).second) {
        return WithLabel(set.label, absl::InvalidArgumentError(absl::StrCat(
                                        "input '", name, "' is also given with --input")));
      }
    }
  }
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
    for (std::size_t i = 0; i < sets.size(); ++i) {
      absl::StatusOr<ValueMap> completed =
          CompleteWithRandomFeeds(model, sets[i].feeds, shapes, seed + i);
      if (!completed.ok()) return WithLabel(sets[i].label, completed.status());
      sets[i].feeds = *std::move(completed);
    }
  }
  for (const FeedSet& set : sets) {
    HALFCAST_RETURN_IF_ERROR(WithLabel(set.label, CheckFeedNames(model, set.feeds)));
  }
  return sets;
}

absl::StatusOr<std::vector<TensorMap>> TensorFeedsOf(const std::vector<FeedSet>& sets,
                                                     absl::string_view command) {
  std::vector<TensorMap> feeds;
  for (const FeedSet& set : sets) {
    absl::StatusOr<TensorMap> tensors = ToTensorMap(set.feeds);
    if (!tensors.ok()) {
      return WithLabel(set.label,
                       absl::InvalidArgumentError(absl::StrCat(
                           "`", command, "` feeds tensors only: ", tensors.status().message())));
    }
    feeds.push_back(*std::move(tensors));
  }
  return feeds;
}

absl::StatusOr<ValueMap> ReadInputs(const std::vector<std::string>& specs, absl::string_view flag,
                                    const onnx::ModelProto* model) {
  std::map<std::string, const onnx::TypeProto*> declared;
  if (model != nullptr) {
    for (const onnx::ValueInfoProto& input : model->graph().input()) {
      declared.emplace(input.name(), &input.type());
    }
  }
  ValueMap feeds;
  for (const std::string& spec : specs) {
    HALFCAST_ASSIGN_OR_RETURN(auto assignment, ParseAssignment(flag, spec));
    if (feeds.count(assignment.first) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": '", assignment.first, "' is given more than once"));
    }
    auto type = declared.find(assignment.first);
    absl::StatusOr<Value> value;
    if (type != declared.end() && !type->second->has_tensor_type() &&
        absl::EndsWith(assignment.second, ".pb")) {
      value = ReadValueProtoFile(assignment.second, *type->second);
    } else if (absl::StatusOr<Tensor> tensor = ReadTensorFile(assignment.second); tensor.ok()) {
      value = Value(*std::move(tensor));
    } else {
      value = tensor.status();
    }
    if (!value.ok()) {
      return absl::Status(value.status().code(),
                          absl::StrCat("--", flag, " ", spec, ": ", value.status().message()));
    }
    feeds.emplace(assignment.first, *std::move(value));
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

absl::Status CheckFeedNames(const onnx::ModelProto& model, const ValueMap& feeds) {
  std::set<std::string> known;
  for (const onnx::ValueInfoProto& input : model.graph().input()) known.insert(input.name());
  std::vector<std::string> expected;
  for (const onnx::ValueInfoProto* input : FeedableInputs(model)) {
    expected.push_back(input->name());
  }
  for (const auto& [name, value] : feeds) {
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

absl::StatusOr<ValueMap> CompleteWithRandomFeeds(
    const onnx::ModelProto& model, const ValueMap& given,
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
  ValueMap feeds = given;
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

ValueMap MatchInputTypes(const onnx::ModelProto& model, const ValueMap& feeds) {
  ValueMap matched = feeds;
  for (const onnx::ValueInfoProto& input : model.graph().input()) {
    auto it = matched.find(input.name());
    if (it != matched.end()) it->second = RoundedToDeclared(it->second, input.type());
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
