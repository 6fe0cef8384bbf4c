// ConvertFloatToFloat16 on synthetic graphs: a long chain of small nodes (the Python tool is
// quadratic in nodes; halfcast must stay linear) and a few large weights (in-place conversion).
//
//   build/bench/convert_bench --benchmark_filter=Chain
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "halfcast/convert.h"
#include "halfcast/model_io.h"

namespace halfcast {
namespace {

void AddValue(onnx::ValueInfoProto* v, const std::string& name, int64_t size) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  t->mutable_shape()->add_dim()->set_dim_value(size);
}

// x -> (Add w_i | Relu | Mul | Max (blocked) | Sigmoid)* -> y, one small weight every 5 nodes.
onnx::ModelProto Chain(int nodes) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("chain");
  AddValue(g->add_input(), "x", 16);
  std::string last = "x";
  const char* ops[] = {"Add", "Relu", "Mul", "Max", "Sigmoid"};
  for (int i = 0; i < nodes; ++i) {
    onnx::NodeProto* node = g->add_node();
    const char* op = ops[i % 5];
    node->set_op_type(op);
    node->set_name(absl::StrCat("n", i));
    node->add_input(last);
    if (i % 5 == 0 || i % 5 == 2 || i % 5 == 3) {
      const std::string w = absl::StrCat("w", i);
      onnx::TensorProto* t = g->add_initializer();
      t->set_name(w);
      t->set_data_type(onnx::TensorProto::FLOAT);
      t->add_dims(16);
      for (int k = 0; k < 16; ++k) t->add_float_data(0.01f * k);
      node->add_input(w);
    }
    last = absl::StrCat("v", i);
    node->add_output(last);
  }
  g->mutable_node(nodes - 1)->set_output(0, "y");
  AddValue(g->add_output(), "y", 16);
  return model;
}

onnx::ModelProto Weights(int64_t floats_per_tensor, int tensors) {
  onnx::ModelProto model = Chain(tensors * 5);
  int t = 0;
  for (onnx::TensorProto& w : *model.mutable_graph()->mutable_initializer()) {
    if (t++ % 3 != 0) continue;
    w.clear_float_data();
    w.clear_dims();
    w.add_dims(floats_per_tensor);
    std::string raw(floats_per_tensor * 4, '\0');
    auto* f = reinterpret_cast<float*>(raw.data());
    for (int64_t i = 0; i < floats_per_tensor; ++i) f[i] = 0.001f * static_cast<float>(i % 4096);
    w.set_raw_data(std::move(raw));
  }
  // Shapes no longer match the chain's [16]: types are all that conversion needs.
  return model;
}

void BM_ConvertChain(benchmark::State& state) {
  const onnx::ModelProto model = Chain(static_cast<int>(state.range(0)));
  ConvertOptions options;
  options.disable_shape_infer = state.range(1) != 0;
  for (auto _ : state) {
    auto result = ConvertFloatToFloat16(model, options);
    if (!result.ok()) state.SkipWithError(std::string(result.status().message()).c_str());
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ConvertChain)->Args({1000, 0})->Args({50000, 0})->Args({50000, 1})
    ->Unit(benchmark::kMillisecond);

// Load (parse bytes), convert, save (serialize): the end-to-end figure of issue 2.
void BM_EndToEndChain(benchmark::State& state) {
  const std::string bytes = Chain(static_cast<int>(state.range(0))).SerializeAsString();
  for (auto _ : state) {
    auto model = LoadModelFromBytes(bytes);
    auto result = ConvertFloatToFloat16(*std::move(model), {});
    auto out = SerializeModel(result->model);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_EndToEndChain)->Arg(50000)->Unit(benchmark::kMillisecond);

// Consuming overload on large weights: throughput in float32 bytes converted.
void BM_ConvertWeightsInPlace(benchmark::State& state) {
  const onnx::ModelProto model = Weights(state.range(0), 4);
  int64_t bytes = 0;
  for (const auto& t : model.graph().initializer()) bytes += t.raw_data().size();
  for (auto _ : state) {
    state.PauseTiming();
    onnx::ModelProto copy = model;
    state.ResumeTiming();
    auto result = ConvertFloatToFloat16(std::move(copy), {});
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_ConvertWeightsInPlace)->Arg(int64_t{8} << 20)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace halfcast

BENCHMARK_MAIN();
