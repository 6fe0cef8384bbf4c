#include "convert/check_util.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "testing/temp_dir.h"
#include "common/onnx_adapter.h"
#include "numerics/float16.h"
#include "onnx/checker.h"
#include "onnx/shape_inference/implementation.h"

namespace halfcast::testing {

absl::Status CheckConverted(const onnx::ModelProto& model) {
  if (model.ir_version() <= onnx::IR_VERSION) {
    absl::Status status = CallOnnx("onnx checker", [&] { onnx::checker::check_model(model); });
    if (!status.ok()) return status;
  }
  onnx::ModelProto copy = model;
  return CallOnnx("strict shape inference", [&] {
    onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, false));
  });
}

int32_t ElemTypeOf(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto* list : {&graph.input(), &graph.output(), &graph.value_info()}) {
    for (const auto& v : *list) {
      if (v.name() == name) return v.type().tensor_type().elem_type();
    }
  }
  for (const auto& t : graph.initializer()) {
    if (t.name() == name) return t.data_type();
  }
  return 0;
}

int CountOps(const onnx::GraphProto& graph, const std::string& op_type) {
  int count = 0;
  for (const auto& node : graph.node()) count += node.op_type() == op_type;
  return count;
}

const onnx::NodeProto* Producer(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& node : graph.node()) {
    for (const auto& out : node.output()) {
      if (out == name) return &node;
    }
  }
  return nullptr;
}

namespace {

// The feed for model input `name`: `tensor` as JSON in run_ort.js's job format.
std::string FeedJson(const onnx::ModelProto& model, const std::string& name,
                     const Tensor& tensor) {
  const int32_t want = ElemTypeOf(model.graph(), name);
  std::string type;
  std::string data;
  for (int64_t i = 0; i < tensor.element_count(); ++i) {
    if (i) data += ",";
    switch (tensor.type()) {
      case DataType::kFloat: {
        const float x = tensor.data<float>()[i];
        if (want == onnx::TensorProto::FLOAT16) {
          type = "float16";
          absl::StrAppend(&data, numerics::FloatToHalf(x));
        } else if (want == onnx::TensorProto::BFLOAT16) {
          type = "bfloat16";
          absl::StrAppend(&data, numerics::FloatToBFloat16(x));
        } else {
          type = "float32";
          absl::StrAppendFormat(&data, "%.9g", x);
        }
        break;
      }
      case DataType::kInt64:
        type = "int64";
        absl::StrAppend(&data, tensor.data<int64_t>()[i]);
        break;
      case DataType::kBool:
        type = "bool";
        absl::StrAppend(&data, tensor.data<bool>()[i] ? 1 : 0);
        break;
      default:
        type = "unsupported";
    }
  }
  if (type.empty()) type = tensor.type() == DataType::kInt64 ? "int64" : "float32";
  std::string dims;
  for (size_t i = 0; i < tensor.shape().size(); ++i) {
    absl::StrAppend(&dims, i ? "," : "", tensor.shape()[i]);
  }
  return absl::StrCat("\"", name, "\":{\"type\":\"", type, "\",\"dims\":[", dims,
                      "],\"data\":[", data, "]}");
}

}  // namespace

absl::StatusOr<std::vector<std::map<std::string, std::vector<float>>>> RunInOrt(
    const std::vector<const onnx::ModelProto*>& models, const TensorMap& feeds) {
  TempDir dir;
  std::string job = "[";
  for (size_t m = 0; m < models.size(); ++m) {
    const std::string path = dir.File(absl::StrCat("model", m, ".onnx"));
    WriteFileBytes(path, models[m]->SerializeAsString());
    absl::StrAppend(&job, m ? "," : "", "{\"model\":\"", path, "\",\"feeds\":{");
    bool first = true;
    for (const auto& [name, tensor] : feeds) {
      absl::StrAppend(&job, first ? "" : ",", FeedJson(*models[m], name, tensor));
      first = false;
    }
    job += "}}";
  }
  job += "]";
  const std::string job_path = dir.File("job.json");
  WriteFileBytes(job_path, job);
  const std::string command = absl::StrCat(HALFCAST_NODE, " ", HALFCAST_RUN_ORT_JS, " ",
                                           job_path, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::UnavailableError("cannot start node");
  std::string output;
  char buffer[65536];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  if (status != 0) return absl::InternalError(absl::StrCat("ONNX Runtime: ", output));
  std::vector<std::map<std::string, std::vector<float>>> results(models.size());
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    if (fields.size() != 4) return absl::InternalError(absl::StrCat("bad line: ", line));
    size_t index = std::stoul(fields[0]);
    if (index >= results.size()) return absl::InternalError(absl::StrCat("bad line: ", line));
    std::vector<float>& values = results[index][fields[1]];
    for (absl::string_view v : absl::StrSplit(fields[3], ' ', absl::SkipEmpty())) {
      const double x = std::strtod(std::string(v).c_str(), nullptr);
      if (fields[2] == "float16") {
        values.push_back(numerics::HalfToFloat(static_cast<uint16_t>(x)));
      } else if (fields[2] == "bfloat16") {
        values.push_back(numerics::BFloat16ToFloat(static_cast<uint16_t>(x)));
      } else {
        values.push_back(static_cast<float>(x));
      }
    }
  }
  return results;
}

Tensor FloatTensor(std::vector<int64_t> shape, std::vector<float> values) {
  return Tensor::Copy(DataType::kFloat, std::move(shape), values.data());
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return std::numeric_limits<float>::infinity();
  float worst = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) {
    const float d = std::fabs(a[i] - b[i]);
    if (std::isnan(d)) return std::numeric_limits<float>::infinity();
    worst = std::max(worst, d);
  }
  return worst;
}

}  // namespace halfcast::testing
