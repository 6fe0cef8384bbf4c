#include "eval/graph_runner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <queue>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "eval/float16_emulation.h"
#include "eval/kernels/dispatch.h"
#include "eval/ort_cpu_float16.h"
#include "graph/topo_sort.h"
#include "ops/op_catalog.h"

namespace halfcast::eval {

struct Step {
  const onnx::NodeProto* node = nullptr;
  const KernelDef* kernel = nullptr;
  int opset = 0;
  std::vector<int> inputs;   // slot per input, -1 when absent
  std::vector<int> outputs;  // slot per output, -1 when not wanted
  std::vector<int> uses;     // input slots and values the node's bodies read from this graph
  std::vector<std::unique_ptr<const GraphPlan>> bodies;  // the node's graph attributes, planned
  // Float16Model::kOnnxRuntimeCpu only (ort_cpu_float16.h): ONNX Runtime has a float16 CPU kernel
  // for the op; and it runs the node in float32 anyway when all its float16 inputs are deferred.
  bool ort_float16_kernel = false;
  bool ort_may_isolate = false;
  std::vector<char> ort_free_input;  // per input: a graph input or a constant of this graph
};

// The steps one run executes, in order, and the values each releases after it.
struct Schedule {
  struct Entry {
    int step = 0;
    bool precomputed = false;  // outputs taken from RunOptions::precomputed
    std::vector<int> release;  // slots whose last use is this step
  };
  std::vector<Entry> entries;
};

struct GraphPlan {
  const onnx::GraphProto* graph = nullptr;
  bool ort_cpu = false;            // Float16Model::kOnnxRuntimeCpu
  std::vector<std::string> names;  // slot -> value name
  absl::flat_hash_map<std::string, int> slots;
  std::vector<int> input_slots;
  // Per input: declared optional. A tensor or sequence bound to one is wrapped in an optional,
  // as a Loop body's optional carried value gets the plain sequence of the previous iteration.
  std::vector<char> optional_input;
  // Initializers, Constant node outputs, folded node outputs and the parent's constants a body
  // reads: decoded or computed once, shared read-only by every run.
  std::vector<std::pair<int, Value>> constants;
  // Per slot: index in `constants` of a value every run shares (initializers a feed may replace
  // are not), -1 otherwise. Nodes reading only such values are folded into constants.
  std::vector<int> constant_index;
  std::vector<std::pair<int, int>> outer;  // (slot, slot of the same value in the parent graph)
  std::vector<char> node_output;           // per slot: output of a node, Constant nodes included
  std::vector<char> computed;  // per slot: output of a step (counts against the memory cap)
  std::vector<Step> steps;     // topological order, Constant and folded nodes excluded
  std::vector<int> output_slots;
  Schedule schedule;  // every output kept, nothing precomputed

  int SlotFor(const std::string& name) {
    auto [it, inserted] = slots.try_emplace(name, static_cast<int>(names.size()));
    if (inserted) names.push_back(name);
    return it->second;
  }
};

// One graph's values during one run. `at` points at each present value: into `values`, the
// plan's constants, the caller's feeds or an enclosing frame, so nothing shared is copied.
struct Frame {
  explicit Frame(const GraphPlan& p)
      : plan(&p), values(p.names.size()), at(p.names.size(), nullptr) {
    for (const auto& [slot, value] : p.constants) at[slot] = &value;
    if (p.ort_cpu) deferred.assign(p.names.size(), DataType::kUndefined);
  }
  const GraphPlan* plan;
  std::vector<Value> values;     // values bound or computed in this frame
  std::vector<const Value*> at;  // per slot; nullptr when absent
  // Float16Model::kOnnxRuntimeCpu: per slot, the 16-bit type a float32 value stands for until it
  // is rounded (ort_cpu_float16.h); kUndefined for every other value. Empty in the default model.
  std::vector<DataType> deferred;

  DataType DeferredType(int slot) const {
    return deferred.empty() ? DataType::kUndefined : deferred[slot];
  }
  // The value at `slot` as its declared type: a deferred one (always a tensor) rounded now, any
  // other as it is.
  Value Materialized(int slot) const {
    const DataType type = DeferredType(slot);
    return type == DataType::kUndefined ? *at[slot] : NarrowFromFloat(at[slot]->tensor(), type);
  }
};

namespace {

std::string NodeLabel(const onnx::NodeProto& node) {
  return absl::StrCat(node.op_type(), " node '", node.name(), "'");
}

// Free names per graph, computed once: bodies nest, and planning each level asks again.
// unordered_map: references to its values stay valid while the recursion inserts.
using FreeNameMemo = std::unordered_map<const onnx::GraphProto*, absl::flat_hash_set<std::string>>;

// Names `graph` (and bodies nested in it) read or return without defining them: values of
// enclosing graphs.
const absl::flat_hash_set<std::string>& FreeNames(const onnx::GraphProto& graph,
                                                  FreeNameMemo* memo) {
  if (auto it = memo->find(&graph); it != memo->end()) return it->second;
  absl::flat_hash_set<std::string> defined;
  for (const auto& v : graph.input()) defined.insert(v.name());
  for (const auto& t : graph.initializer()) defined.insert(t.name());
  for (const auto& t : graph.sparse_initializer()) defined.insert(t.values().name());
  for (const auto& n : graph.node()) {
    for (const auto& o : n.output()) defined.insert(o);
  }
  absl::flat_hash_set<std::string> free;
  auto add = [&](const std::string& name) {
    if (!name.empty() && !defined.contains(name)) free.insert(name);
  };
  for (const auto& n : graph.node()) {
    for (const auto& i : n.input()) add(i);
    for (const auto& a : n.attribute()) {
      if (a.has_g()) {
        for (const auto& name : FreeNames(a.g(), memo)) add(name);
      }
      for (const auto& g : a.graphs()) {
        for (const auto& name : FreeNames(g, memo)) add(name);
      }
    }
  }
  // A body may pass an enclosing graph's value straight through as an output.
  for (const auto& o : graph.output()) add(o.name());
  return memo->emplace(&graph, std::move(free)).first->second;
}

// A tensor for an initializer: raw data is used in place (the model outlives the run).
absl::StatusOr<Tensor> InitializerTensor(const onnx::TensorProto& proto,
                                         const std::string& base_dir) {
  if (proto.has_raw_data() && proto.data_location() != onnx::TensorProto::EXTERNAL &&
      proto.data_type() != onnx::TensorProto::STRING && !proto.has_segment()) {
    HALFCAST_ASSIGN_OR_RETURN(const int64_t count,
                              CheckedElementCount({proto.dims().begin(), proto.dims().end()}));
    const std::size_t size = ElementSize(static_cast<DataType>(proto.data_type()));
    if (size != 0 && proto.raw_data().size() == static_cast<std::size_t>(count) * size) {
      return Tensor::Borrow(static_cast<DataType>(proto.data_type()),
                            {proto.dims().begin(), proto.dims().end()}, proto.raw_data().data());
    }
  }
  return TensorFromProto(proto, base_dir);
}

// ONNX's spelling of a declared type: "tensor(float)", "seq(tensor(int64))", ...
std::string DeclaredTypeString(const onnx::TypeProto& type) {
  if (type.has_tensor_type()) {
    const int32_t elem = type.tensor_type().elem_type();
    return absl::StrCat("tensor(", elem == 0 ? "?" : DataTypeName(static_cast<DataType>(elem)),
                        ")");
  }
  if (type.has_sequence_type()) {
    return absl::StrCat("seq(", DeclaredTypeString(type.sequence_type().elem_type()), ")");
  }
  if (type.has_optional_type()) {
    return absl::StrCat("optional(", DeclaredTypeString(type.optional_type().elem_type()), ")");
  }
  if (type.has_map_type()) return "map";
  if (type.has_sparse_tensor_type()) return "sparse_tensor";
  return "an unspecified type";
}

absl::Status CheckFeed(const onnx::ValueInfoProto& input, const Value& value) {
  const onnx::TypeProto& type = input.type();
  if (!value.is_tensor() || !type.has_tensor_type()) {
    if (type.has_map_type() || type.has_sparse_tensor_type()) {
      return absl::UnimplementedError(absl::StrCat("input '", input.name(), "' has type ",
                                                   DeclaredTypeString(type),
                                                   ", which is not supported"));
    }
    if (!MatchesType(value, type)) {
      return absl::InvalidArgumentError(absl::StrCat("input '", input.name(), "' has type ",
                                                     value.TypeString(), " but the model expects ",
                                                     DeclaredTypeString(type)));
    }
    return absl::OkStatus();
  }
  const Tensor& feed = value.tensor();
  const auto& tensor_type = input.type().tensor_type();
  const auto want = static_cast<DataType>(tensor_type.elem_type());
  if (tensor_type.elem_type() != 0 && want != feed.type()) {
    return absl::InvalidArgumentError(absl::StrCat("input '", input.name(), "' has type ",
                                                   DataTypeName(feed.type()),
                                                   " but the model expects ", DataTypeName(want)));
  }
  if (!tensor_type.has_shape()) return absl::OkStatus();
  const auto& dims = tensor_type.shape().dim();
  const std::string shape_text = absl::StrCat("[", absl::StrJoin(feed.shape(), ","), "]");
  if (dims.size() != static_cast<int>(feed.shape().size())) {
    return absl::InvalidArgumentError(absl::StrCat("input '", input.name(), "' has shape ",
                                                   shape_text, " (rank ", feed.shape().size(),
                                                   ") but the model expects rank ", dims.size()));
  }
  for (int i = 0; i < dims.size(); ++i) {
    if (dims[i].has_dim_value() && dims[i].dim_value() != feed.shape()[i]) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", input.name(), "' has shape ", shape_text,
                       " but the model expects dimension ", i, " to be ", dims[i].dim_value()));
    }
  }
  return absl::OkStatus();
}

// Runs a kernel; an allocation failure (a kernel allocating outside NewTensor) or any other
// exception becomes a status, since nothing may escape the library.
absl::Status CallKernel(const KernelDef& kernel, KernelContext& context) {
  try {
    return kernel.fn(context);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("unexpected exception: ", e.what()));
  }
}

// An owned value: results handed to the caller must not point into the model.
Value Owned(Value v) {
  switch (v.kind()) {
    case Value::Kind::kTensor:
      if (v.tensor().is_borrowed()) v.mutable_tensor().mutable_raw_data();
      return v;
    case Value::Kind::kSequence: {
      std::vector<Tensor> elements = v.elements();
      for (Tensor& t : elements) {
        if (t.is_borrowed()) t.mutable_raw_data();
      }
      return Value::Sequence(v.element_type(), std::move(elements));
    }
    case Value::Kind::kOptional:
      return v.has_element() ? Value::OptionalOf(Owned(v.element())) : v;
  }
  return v;
}

// Only kernels registered with `takes_values` read sequences and optionals.
absl::Status CheckInputKinds(const Step& step, const std::vector<const Value*>& inputs) {
  if (step.kernel->takes_values) return absl::OkStatus();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] != nullptr && !inputs[i]->is_tensor()) {
      return absl::InvalidArgumentError(absl::StrCat(
          NodeLabel(*step.node), ": input ", i, " ('", step.node->input(static_cast<int>(i)),
          "') has type ", inputs[i]->TypeString(), ", but ", step.node->op_type(),
          " takes tensors only"));
    }
  }
  return absl::OkStatus();
}

// Runs `step`'s kernel on `inputs` (nullptr for an absent one) under the float16 model: 16-bit
// float inputs widened to float32 unless the kernel is exact_16bit, float32 outputs rounded back
// to the first such input's type (except outputs the kernel keeps float32). Errors are prefixed
// with the node.
absl::StatusOr<std::vector<Value>> InvokeKernel(const Step& step,
                                                std::vector<const Value*> inputs, int threads,
                                                int64_t memory_budget, SubgraphRunner* subgraphs) {
  HALFCAST_RETURN_IF_ERROR(CheckInputKinds(step, inputs));
  std::vector<Value> widened;
  DataType narrow_type = DataType::kUndefined;
  if (!step.kernel->exact_16bit) {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i] == nullptr || !Is16BitFloat(inputs[i]->tensor().type())) continue;
      if (narrow_type == DataType::kUndefined) {
        narrow_type = inputs[i]->tensor().type();
        widened.resize(inputs.size());
      }
      widened[i] = WidenToFloat(inputs[i]->tensor());
      inputs[i] = &widened[i];
    }
  }
  const onnx::NodeProto& node = *step.node;
  KernelContext context(node, step.opset, std::move(inputs), threads, subgraphs);
  context.set_memory_budget(memory_budget);
  absl::Status status = CallKernel(*step.kernel, context);
  if (!status.ok()) {
    const std::string label = NodeLabel(node);
    if (absl::StartsWith(status.message(), label)) return status;
    return absl::Status(status.code(), absl::StrCat(label, ": ", status.message()));
  }
  std::vector<Value>& outputs = context.outputs();
  if (narrow_type != DataType::kUndefined) {
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const bool stays_float = i < 32 && (step.kernel->float32_outputs >> i & 1u) != 0;
      if (outputs[i].is_tensor() && outputs[i].tensor().type() == DataType::kFloat &&
          !stays_float) {
        outputs[i] = NarrowFromFloat(outputs[i].tensor(), narrow_type);
      }
    }
  }
  return std::move(outputs);
}

bool IsCast(const onnx::NodeProto& node) {
  return node.op_type() == "Cast" && (node.domain().empty() || node.domain() == "ai.onnx");
}

// InvokeKernel under Float16Model::kOnnxRuntimeCpu: `deferred[i]` is the 16-bit type input i
// stands for while it holds float32 values (kUndefined otherwise); `out_deferred` gets the same
// for the outputs.
absl::StatusOr<std::vector<Value>> InvokeKernelOrtCpu(const Step& step,
                                                      std::vector<const Value*> inputs,
                                                       const std::vector<DataType>& deferred,
                                                       int threads, int64_t memory_budget,
                                                       SubgraphRunner* subgraphs,
                                                       std::vector<DataType>* out_deferred) {
  out_deferred->assign(step.outputs.size(), DataType::kUndefined);
  HALFCAST_RETURN_IF_ERROR(CheckInputKinds(step, inputs));
  const onnx::NodeProto& node = *step.node;
  std::vector<Value> owned(inputs.size());
  // A Cast to float16 of float32 values ends in a pair ONNX Runtime removes for every reader that
  // computes in float32, so its output stays float32 until a float16 reader rounds it; a Cast of a
  // deferred value reads the float32 values themselves.
  if (IsCast(node) && !inputs.empty() && inputs[0] != nullptr && !step.outputs.empty()) {
    const auto to =
        static_cast<DataType>(KernelContext(node, step.opset, {}, 1, nullptr).GetInt("to", 0));
    const bool input_deferred = deferred[0] != DataType::kUndefined;
    if (to == DataType::kFloat16 &&
        (input_deferred || inputs[0]->tensor().type() == DataType::kFloat)) {
      (*out_deferred)[0] = DataType::kFloat16;
      return std::vector<Value>{Owned(*inputs[0])};
    }
    if (input_deferred && to == DataType::kFloat) return std::vector<Value>{Owned(*inputs[0])};
    if (input_deferred) {
      return InvokeKernel(step, std::move(inputs), threads, memory_budget, subgraphs);
    }
  }
  // Sequences and optionals hold no deferred values (their ops have float16 kernels): the
  // choice looks at tensor inputs alone.
  std::vector<const Tensor*> tensors(inputs.size(), nullptr);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] != nullptr && inputs[i]->is_tensor()) tensors[i] = &inputs[i]->tensor();
  }
  const OrtCpuRun how = ChooseOrtCpuRun(step.ort_float16_kernel, step.ort_may_isolate, tensors,
                                        deferred, step.ort_free_input);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (tensors[i] == nullptr) continue;
    if (how != OrtCpuRun::kFloat32 && deferred[i] != DataType::kUndefined) {
      owned[i] = NarrowFromFloat(*tensors[i], deferred[i]);
      inputs[i] = &owned[i];
    } else if (how == OrtCpuRun::kFloat32 && tensors[i]->type() == DataType::kFloat16) {
      owned[i] = WidenToFloat(*tensors[i]);
      inputs[i] = &owned[i];
    }
  }
  HALFCAST_ASSIGN_OR_RETURN(
      std::vector<Value> outputs,
      InvokeKernel(step, std::move(inputs), threads, memory_budget, subgraphs));
  if (how == OrtCpuRun::kFloat32) {
    for (std::size_t i = 0; i < outputs.size() && i < out_deferred->size(); ++i) {
      const bool stays_float = i < 32 && (step.kernel->float32_outputs >> i & 1u) != 0;
      if (outputs[i].is_tensor() && outputs[i].tensor().type() == DataType::kFloat &&
          !stays_float) {
        (*out_deferred)[i] = DataType::kFloat16;
      }
    }
  }
  return outputs;
}

struct PlanContext {
  const absl::flat_hash_map<std::string, int>* opsets;
  const std::string* base_dir;  // for initializers stored as external data
  FreeNameMemo* free_names;
  bool ort_cpu = false;  // Float16Model::kOnnxRuntimeCpu
};

// A Constant node whose value the plan decodes once: no inputs, one output.
bool IsConstantNode(const Step& step) {
  const onnx::NodeProto& node = *step.node;
  return node.op_type() == "Constant" && step.kernel != nullptr && step.kernel->domain.empty() &&
         node.input_size() == 0 && step.outputs.size() == 1 && step.outputs[0] >= 0;
}

// A Constant's value. A lone `value` attribute holding raw data is borrowed from the model;
// every other form goes through the Constant kernel, so both paths agree with it.
absl::StatusOr<Tensor> ConstantValue(const Step& step, const std::string& base_dir) {
  const onnx::NodeProto& node = *step.node;
  if (node.attribute_size() == 1 && node.attribute(0).name() == "value") {
    absl::StatusOr<Tensor> value = InitializerTensor(node.attribute(0).t(), base_dir);
    if (!value.ok()) {
      return absl::Status(value.status().code(),
                          absl::StrCat(NodeLabel(node), ": ", value.status().message()));
    }
    return value;
  }
  KernelContext context(node, step.opset, {}, /*threads=*/1, /*subgraphs=*/nullptr);
  HALFCAST_RETURN_IF_ERROR(CallKernel(*step.kernel, context));
  return std::move(context.outputs()[0].mutable_tensor());
}

// Largest output a node computed from constants may have to be folded into the plan: more than
// its inputs only by a small margin, so that an Expand, Tile or ConstantOfShape of a branch no
// run takes does not fill memory when the model is prepared.
int64_t FoldLimit(int64_t input_bytes) { return 2 * input_bytes + (int64_t{64} << 10); }

// The outputs of `step` if every input is a constant of `plan`, computed now; nullopt for a node
// that must run each time, or whose kernel fails here (the error then appears if a run reaches
// the node).
std::optional<std::vector<Value>> Fold(const Step& step, const GraphPlan& plan) {
  const onnx::NodeProto& node = *step.node;
  // A node without a wanted output never runs (schedules drop it), so it is not computed here.
  if (std::all_of(step.outputs.begin(), step.outputs.end(), [](int slot) { return slot < 0; })) {
    return std::nullopt;
  }
  for (const auto& a : node.attribute()) {
    if (a.has_g() || a.graphs_size() > 0) return std::nullopt;
  }
  std::vector<const Value*> inputs(step.inputs.size(), nullptr);
  int64_t input_bytes = 0;
  for (std::size_t i = 0; i < step.inputs.size(); ++i) {
    const int slot = step.inputs[i];
    if (slot < 0) continue;
    const int constant = plan.constant_index[slot];
    if (constant < 0) return std::nullopt;
    inputs[i] = &plan.constants[constant].second;
    input_bytes += static_cast<int64_t>(inputs[i]->byte_size());
  }
  const int64_t limit = FoldLimit(input_bytes);
  absl::StatusOr<std::vector<Value>> outputs =
      InvokeKernel(step, std::move(inputs), /*threads=*/1, limit, /*subgraphs=*/nullptr);
  if (!outputs.ok()) return std::nullopt;
  int64_t output_bytes = 0;
  for (std::size_t i = 0; i < step.outputs.size(); ++i) {
    if (step.outputs[i] >= 0) output_bytes += static_cast<int64_t>((*outputs)[i].byte_size());
  }
  if (output_bytes > limit) return std::nullopt;
  return *std::move(outputs);
}

// The steps needed for the `keep` slots, in plan order, with the release points of every value.
// Steps whose outputs are all in `precomputed` take them from there instead of running.
Schedule MakeSchedule(const GraphPlan& plan, std::vector<char> keep, const TensorMap* precomputed) {
  const std::size_t slot_count = plan.names.size();
  const int step_count = static_cast<int>(plan.steps.size());
  std::vector<char> needed = keep;
  std::vector<char> run(step_count, 0);
  std::vector<char> taken(step_count, 0);
  for (int s = step_count - 1; s >= 0; --s) {
    const Step& step = plan.steps[s];
    bool wanted = false;
    bool all_precomputed = precomputed != nullptr;
    for (int slot : step.outputs) {
      if (slot < 0) continue;
      wanted = wanted || needed[slot];
      if (all_precomputed && !precomputed->count(plan.names[slot])) all_precomputed = false;
    }
    if (!wanted) continue;
    run[s] = 1;
    taken[s] = all_precomputed;
    if (!all_precomputed) {
      for (int slot : step.uses) needed[slot] = 1;
    }
  }
  Schedule schedule;
  for (int s = 0; s < step_count; ++s) {
    if (run[s]) schedule.entries.push_back({s, taken[s] != 0, {}});
  }
  // Release each value after its last use; node outputs nobody reads right after they appear.
  std::vector<int> last_use(slot_count, -1);
  for (std::size_t e = 0; e < schedule.entries.size(); ++e) {
    const Schedule::Entry& entry = schedule.entries[e];
    const Step& step = plan.steps[entry.step];
    for (int slot : step.outputs) {
      if (slot >= 0) last_use[slot] = static_cast<int>(e);
    }
    if (entry.precomputed) continue;
    for (int slot : step.uses) last_use[slot] = static_cast<int>(e);
  }
  for (std::size_t slot = 0; slot < slot_count; ++slot) {
    if (!keep[slot] && last_use[slot] >= 0) {
      schedule.entries[last_use[slot]].release.push_back(static_cast<int>(slot));
    }
  }
  return schedule;
}

// Sets the steps' ONNX Runtime flags (Step::ort_float16_kernel, Step::ort_may_isolate) as its
// InsertCastTransformer decides them: a node with a float16 kernel is still run in float32 when
// it has no subgraph, returns no graph output and only float32-computing nodes read it.
void MarkOrtCpuSteps(GraphPlan* plan) {
  std::vector<Step>& steps = plan->steps;
  for (Step& step : steps) {
    step.ort_float16_kernel = OrtCpuHasFloat16Kernel(CanonicalDomain(step.node->domain()),
                                                     step.node->op_type(), step.opset);
  }
  std::vector<int> producer(plan->names.size(), -1);
  for (std::size_t s = 0; s < steps.size(); ++s) {
    for (int slot : steps[s].outputs) {
      if (slot >= 0) producer[slot] = static_cast<int>(s);
    }
  }
  std::vector<int> readers(steps.size(), 0);
  std::vector<char> float16_reader(steps.size(), 0);
  for (const Step& reader : steps) {
    for (int slot : reader.uses) {
      const int p = producer[slot];
      if (p < 0) continue;
      ++readers[p];
      if (reader.ort_float16_kernel || !reader.bodies.empty()) float16_reader[p] = 1;
    }
  }
  std::vector<char> graph_output(plan->names.size(), 0);
  for (int slot : plan->output_slots) graph_output[slot] = 1;
  std::vector<char> outer(plan->names.size(), 0);
  for (const auto& [slot, parent_slot] : plan->outer) outer[slot] = 1;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    Step& step = steps[s];
    bool returns_output = false;
    for (int slot : step.outputs)
      returns_output = returns_output || (slot >= 0 && graph_output[slot]);
    step.ort_may_isolate = step.ort_float16_kernel && step.bodies.empty() && !returns_output &&
                           readers[s] > 0 && !float16_reader[s];
    step.ort_free_input.assign(step.inputs.size(), 0);
    for (std::size_t i = 0; i < step.inputs.size(); ++i) {
      const int slot = step.inputs[i];
      step.ort_free_input[i] = slot >= 0 && producer[slot] < 0 && !outer[slot];
    }
  }
}

// Plans `graph`; `parent` is the plan of the enclosing graph (nullptr for the main graph).
absl::StatusOr<std::unique_ptr<GraphPlan>> BuildPlan(const onnx::GraphProto& graph,
                                                     const PlanContext& context,
                                                     const GraphPlan* parent) {
  const bool is_main = parent == nullptr;
  auto plan = std::make_unique<GraphPlan>();
  plan->graph = &graph;
  plan->ort_cpu = context.ort_cpu;
  absl::flat_hash_set<int> defined;
  for (const auto& v : graph.input()) {
    const int slot = plan->SlotFor(v.name());
    plan->input_slots.push_back(slot);
    plan->optional_input.push_back(v.type().has_optional_type());
    defined.insert(slot);
  }
  if (graph.sparse_initializer_size() > 0) {
    return absl::UnimplementedError(absl::StrCat(
        "graph '", graph.name(), "' has sparse initializers, which are not supported"));
  }
  for (const auto& t : graph.initializer()) defined.insert(plan->SlotFor(t.name()));
  const int node_count = graph.node_size();
  std::vector<Step> steps(node_count);
  absl::flat_hash_map<int, int> producer;  // slot -> node index
  for (int n = 0; n < node_count; ++n) {
    const onnx::NodeProto& node = graph.node(n);
    Step& step = steps[n];
    step.node = &node;
    for (const auto& o : node.output()) {
      if (o.empty()) {
        step.outputs.push_back(-1);
        continue;
      }
      const int slot = plan->SlotFor(o);
      if (defined.contains(slot) || !producer.try_emplace(slot, n).second) {
        return absl::InvalidArgumentError(absl::StrCat("value '", o, "' of graph '", graph.name(),
                                                       "' is defined twice (", NodeLabel(node),
                                                       ")"));
      }
      step.outputs.push_back(slot);
    }
  }
  absl::flat_hash_set<int> outer;
  for (int n = 0; n < node_count; ++n) {
    const onnx::NodeProto& node = graph.node(n);
    Step& step = steps[n];
    auto use = [&](const std::string& name) {
      const int slot = plan->SlotFor(name);
      if (!defined.contains(slot) && !producer.contains(slot)) outer.insert(slot);
      step.uses.push_back(slot);
      return slot;
    };
    for (const auto& i : node.input()) step.inputs.push_back(i.empty() ? -1 : use(i));
    absl::flat_hash_set<std::string> body_names;
    for (const auto& a : node.attribute()) {
      if (a.has_g()) {
        const auto& names = FreeNames(a.g(), context.free_names);
        body_names.insert(names.begin(), names.end());
      }
      for (const auto& g : a.graphs()) {
        const auto& names = FreeNames(g, context.free_names);
        body_names.insert(names.begin(), names.end());
      }
    }
    for (const auto& name : body_names) use(name);
    std::sort(step.uses.begin(), step.uses.end());
    step.uses.erase(std::unique(step.uses.begin(), step.uses.end()), step.uses.end());

    const std::string domain = CanonicalDomain(node.domain());
    auto opset = context.opsets->find(domain);
    if (opset == context.opsets->end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          NodeLabel(node), " uses domain '", node.domain(), "', which the model does not import"));
    }
    step.opset = opset->second;
    step.kernel = FindKernel(domain, node.op_type(), step.opset);
    if (step.kernel == nullptr) {
      return absl::UnimplementedError(absl::StrCat("unsupported op ", node.op_type(), " (domain '",
                                                   domain.empty() ? "ai.onnx" : domain, "', opset ",
                                                   step.opset, ")"));
    }
  }
  for (int slot : outer) {
    if (is_main) {
      return absl::InvalidArgumentError(
          absl::StrCat("value '", plan->names[slot],
                       "' is used but is not a graph input, an initializer or a node output"));
    }
  }
  for (const auto& o : graph.output()) {
    const int slot = plan->SlotFor(o.name());
    if (!defined.contains(slot) && !producer.contains(slot)) {
      if (is_main) {
        return absl::InvalidArgumentError(
            absl::StrCat("graph output '", o.name(), "' is not produced by any node"));
      }
      outer.insert(slot);
    }
    plan->output_slots.push_back(slot);
  }
  const std::size_t slot_count = plan->names.size();
  plan->node_output.assign(slot_count, 0);
  plan->computed.assign(slot_count, 0);
  for (const auto& [slot, n] : producer) plan->node_output[slot] = 1;

  // Topological order (Kahn), keeping the file's order among ready nodes.
  std::vector<std::vector<int>> consumers(node_count);
  std::vector<int> pending(node_count, 0);
  for (int n = 0; n < node_count; ++n) {
    absl::flat_hash_set<int> deps;
    for (int slot : steps[n].uses) {
      auto p = producer.find(slot);
      if (p != producer.end()) deps.insert(p->second);
    }
    pending[n] = static_cast<int>(deps.size());
    for (int d : deps) consumers[d].push_back(n);
  }
  std::vector<int> order = graph::StableTopologicalOrder(consumers, &pending);
  if (static_cast<int>(order.size()) != node_count) {
    for (int n = 0; n < node_count; ++n) {
      if (pending[n] > 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "graph '", graph.name(), "' has a cycle through ", NodeLabel(graph.node(n))));
      }
    }
  }

  // Constant nodes, and nodes computing from constants alone (weights sliced, concatenated,
  // reshaped or cast by the exporter), become constants of the plan, as ONNX Runtime folds them
  // when it creates a session. The other nodes are the plan's steps, whose bodies are planned
  // now that every slot of this graph is known.
  plan->constant_index.assign(slot_count, -1);
  auto add_constant = [&](int slot, Value value) {
    plan->constant_index[slot] = static_cast<int>(plan->constants.size());
    plan->constants.emplace_back(slot, std::move(value));
  };
  for (const onnx::TensorProto& t : graph.initializer()) {
    const int slot = plan->slots.at(t.name());
    HALFCAST_ASSIGN_OR_RETURN(Tensor value, InitializerTensor(t, *context.base_dir));
    // An initializer that is also a graph input is only a default a feed may replace: never
    // folded into other constants.
    if (std::find(plan->input_slots.begin(), plan->input_slots.end(), slot) !=
        plan->input_slots.end()) {
      plan->constants.emplace_back(slot, std::move(value));
    } else {
      add_constant(slot, std::move(value));
    }
  }
  // FreeNames gave the parent a slot for every name this body reads from outside. The
  // parent's constants are constants here too.
  std::vector<int> outer_slots(outer.begin(), outer.end());
  std::sort(outer_slots.begin(), outer_slots.end());
  for (int slot : outer_slots) {
    auto it = parent->slots.find(plan->names[slot]);
    if (it == parent->slots.end()) {
      return absl::InternalError(absl::StrCat("body graph '", graph.name(), "' reads '",
                                              plan->names[slot], "', unknown to its parent"));
    }
    const int parent_constant = parent->constant_index[it->second];
    if (parent_constant >= 0) {
      add_constant(slot, parent->constants[parent_constant].second);
    } else {
      plan->outer.emplace_back(slot, it->second);
    }
  }
  for (int n : order) {
    Step& step = steps[n];
    if (IsConstantNode(step)) {
      // A Constant that cannot be decoded stays a step: a run reaching it reports the error.
      if (absl::StatusOr<Tensor> value = ConstantValue(step, *context.base_dir); value.ok()) {
        add_constant(step.outputs[0], *std::move(value));
        continue;
      }
    }
    if (std::optional<std::vector<Value>> folded = Fold(step, *plan)) {
      for (std::size_t i = 0; i < step.outputs.size(); ++i) {
        if (step.outputs[i] >= 0) add_constant(step.outputs[i], std::move((*folded)[i]));
      }
      continue;
    }
    auto plan_body = [&](const onnx::GraphProto& body) -> absl::Status {
      HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<GraphPlan> body_plan,
                                BuildPlan(body, context, plan.get()));
      step.bodies.push_back(std::move(body_plan));
      return absl::OkStatus();
    };
    for (const auto& a : step.node->attribute()) {
      if (a.has_g()) HALFCAST_RETURN_IF_ERROR(plan_body(a.g()));
      for (const auto& g : a.graphs()) HALFCAST_RETURN_IF_ERROR(plan_body(g));
    }
    for (int slot : step.outputs) {
      if (slot >= 0) plan->computed[slot] = 1;
    }
    plan->steps.push_back(std::move(step));
  }
  if (plan->ort_cpu) MarkOrtCpuSteps(plan.get());
  std::vector<char> keep(slot_count, 0);
  for (int slot : plan->output_slots) keep[slot] = 1;
  plan->schedule = MakeSchedule(*plan, std::move(keep), nullptr);
  return plan;
}

}  // namespace

// The state of one run: the memory count and, for the main graph, the precomputed values.
class GraphRunner {
 public:
  GraphRunner(int64_t memory_limit, int threads) : memory_limit_(memory_limit), threads_(threads) {}

  absl::StatusOr<ValueMap> RunMain(const GraphPlan& plan, const Schedule& schedule,
                                   const ValueMap& feeds, const RunOptions& options);
  // Runs a body graph with `inputs` bound in order, `parent` the frame of the node running it.
  absl::StatusOr<std::vector<Value>> RunBody(const GraphPlan& plan, std::vector<Value> inputs,
                                             const Frame& parent);
  // RunOptions' deadline and cancellation, before `what` runs (a node, or a body of one).
  absl::Status CheckBounds(const onnx::NodeProto& what) const;

 private:
  absl::Status Execute(const Schedule& schedule, Frame& frame);
  absl::Status RunStep(const Schedule::Entry& entry, Frame& frame);
  // Stores a step's output in `frame`, counting it against the memory cap.
  void Store(Frame& frame, int slot, Value value, DataType deferred = DataType::kUndefined) {
    bytes_in_use_ += static_cast<int64_t>(value.byte_size());
    frame.values[slot] = std::move(value);
    frame.at[slot] = &frame.values[slot];
    if (!frame.deferred.empty()) frame.deferred[slot] = deferred;
  }

  const int64_t memory_limit_;
  const int threads_;
  const TensorMap* precomputed_ = nullptr;
  TensorMap* body_values_ = nullptr;  // RunOptions::return_body_values: every body value
  const GraphPlan* main_plan_ = nullptr;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  const std::atomic<bool>* cancel_ = nullptr;
  int64_t bytes_in_use_ = 0;  // bytes of node outputs currently held
};

absl::Status GraphRunner::CheckBounds(const onnx::NodeProto& what) const {
  if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) {
    return absl::CancelledError(
        absl::StrCat("the run was cancelled (before ", NodeLabel(what), ")"));
  }
  if (deadline_ != std::chrono::steady_clock::time_point::max() &&
      std::chrono::steady_clock::now() >= deadline_) {
    return absl::DeadlineExceededError(
        absl::StrCat("the run passed its time limit (before ", NodeLabel(what), ")"));
  }
  return absl::OkStatus();
}

std::string CanonicalDomain(const std::string& domain) {
  return std::string(ops::CanonicalDomain(domain));
}

absl::flat_hash_map<std::string, int> ImportedOpsets(const onnx::ModelProto& model) {
  absl::flat_hash_map<std::string, int> opsets;
  for (const auto& o : model.opset_import()) {
    opsets[CanonicalDomain(o.domain())] = static_cast<int>(o.version());
  }
  return opsets;
}

absl::StatusOr<std::vector<Value>> SubgraphRunner::Run(const onnx::GraphProto& body,
                                                       std::vector<Value> inputs) {
  // Checked per body run too: a Loop whose body has no nodes still ends at the time limit.
  HALFCAST_RETURN_IF_ERROR(runner_->CheckBounds(*step_->node));
  for (const auto& plan : step_->bodies) {
    if (plan->graph == &body) return runner_->RunBody(*plan, std::move(inputs), *frame_);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "graph '", body.name(), "' is not a graph attribute of ", NodeLabel(*step_->node)));
}

absl::Status GraphRunner::Execute(const Schedule& schedule, Frame& frame) {
  for (const Schedule::Entry& entry : schedule.entries) {
    HALFCAST_RETURN_IF_ERROR(RunStep(entry, frame));
  }
  return absl::OkStatus();
}

absl::Status GraphRunner::RunStep(const Schedule::Entry& entry, Frame& frame) {
  const GraphPlan& plan = *frame.plan;
  const Step& step = plan.steps[entry.step];
  const onnx::NodeProto& node = *step.node;
  HALFCAST_RETURN_IF_ERROR(CheckBounds(node));
  if (entry.precomputed) {
    for (int slot : step.outputs) {
      if (slot >= 0) Store(frame, slot, precomputed_->at(plan.names[slot]));
    }
  } else {
    std::vector<const Value*> inputs(step.inputs.size(), nullptr);
    for (std::size_t i = 0; i < step.inputs.size(); ++i) {
      const int slot = step.inputs[i];
      if (slot < 0) continue;
      if (frame.at[slot] == nullptr) {
        return absl::InternalError(
            absl::StrCat(NodeLabel(node), ": input '", plan.names[slot], "' is not available"));
      }
      inputs[i] = frame.at[slot];
    }
    SubgraphRunner subgraphs(this, &step, &frame);
    const int64_t budget = std::max<int64_t>(0, memory_limit_ - bytes_in_use_);
    std::vector<DataType> out_deferred;
    std::vector<Value> outputs;
    if (plan.ort_cpu) {
      std::vector<DataType> deferred(step.inputs.size(), DataType::kUndefined);
      for (std::size_t i = 0; i < step.inputs.size(); ++i) {
        if (step.inputs[i] >= 0) deferred[i] = frame.DeferredType(step.inputs[i]);
      }
      HALFCAST_ASSIGN_OR_RETURN(
          outputs, InvokeKernelOrtCpu(step, std::move(inputs), deferred, threads_, budget,
                                      &subgraphs, &out_deferred));
    } else {
      HALFCAST_ASSIGN_OR_RETURN(
          outputs, InvokeKernel(step, std::move(inputs), threads_, budget, &subgraphs));
    }
    for (std::size_t i = 0; i < step.outputs.size(); ++i) {
      if (step.outputs[i] < 0) continue;
      const DataType deferred = i < out_deferred.size() ? out_deferred[i] : DataType::kUndefined;
      // Shared, not copied (the value is immutable once made); as declared, like main values.
      if (body_values_ != nullptr && frame.plan != main_plan_ && outputs[i].is_tensor()) {
        (*body_values_)[plan.names[step.outputs[i]]] =
            deferred == DataType::kUndefined ? outputs[i].tensor()
                                             : NarrowFromFloat(outputs[i].tensor(), deferred);
      }
      Store(frame, step.outputs[i], std::move(outputs[i]), deferred);
    }
    if (bytes_in_use_ > memory_limit_) {
      return absl::ResourceExhaustedError(
          absl::StrCat(NodeLabel(node), ": intermediate tensors need ", bytes_in_use_,
                       " bytes, more than the memory limit of ", memory_limit_, " bytes"));
    }
  }
  for (int slot : entry.release) {
    if (plan.computed[slot]) bytes_in_use_ -= static_cast<int64_t>(frame.values[slot].byte_size());
    frame.values[slot] = Value();
    frame.at[slot] = nullptr;
    if (!frame.deferred.empty()) frame.deferred[slot] = DataType::kUndefined;
  }
  return absl::OkStatus();
}

absl::StatusOr<ValueMap> GraphRunner::RunMain(const GraphPlan& plan, const Schedule& schedule,
                                              const ValueMap& feeds, const RunOptions& options) {
  const onnx::GraphProto& graph = *plan.graph;
  precomputed_ = options.precomputed;
  main_plan_ = &plan;
  TensorMap body_values;
  if (options.return_all_values && options.return_body_values) body_values_ = &body_values;
  deadline_ = options.deadline;
  cancel_ = options.cancel;
  Frame frame(plan);
  absl::flat_hash_set<std::string> input_names;
  for (int i = 0; i < graph.input_size(); ++i) {
    const onnx::ValueInfoProto& input = graph.input(i);
    input_names.insert(input.name());
    auto feed = feeds.find(input.name());
    const int slot = plan.slots.at(input.name());
    if (feed == feeds.end()) {
      if (frame.at[slot] != nullptr) continue;  // an initializer gives the default
      return absl::InvalidArgumentError(absl::StrCat("missing input '", input.name(), "'"));
    }
    if (plan.optional_input[i] && !feed->second.is_optional() &&
        MatchesType(feed->second, input.type().optional_type().elem_type())) {
      frame.values[slot] = Value::OptionalOf(feed->second);
      HALFCAST_RETURN_IF_ERROR(CheckFeed(input, frame.values[slot]));
      frame.at[slot] = &frame.values[slot];
      continue;
    }
    HALFCAST_RETURN_IF_ERROR(CheckFeed(input, feed->second));
    frame.at[slot] = &feed->second;  // the caller keeps the feeds alive for the run
  }
  for (const auto& [name, tensor] : feeds) {
    if (!input_names.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", name, "' is not an input of the model"));
    }
  }
  HALFCAST_RETURN_IF_ERROR(Execute(schedule, frame));

  ValueMap results;
  auto take = [&](int slot) -> absl::Status {
    if (frame.at[slot] == nullptr) {
      return absl::InternalError(absl::StrCat("value '", plan.names[slot], "' was not computed"));
    }
    results[plan.names[slot]] = Owned(frame.Materialized(slot));
    return absl::OkStatus();
  };
  for (int slot : plan.output_slots) HALFCAST_RETURN_IF_ERROR(take(slot));
  for (const std::string& name : options.extra_outputs) {
    HALFCAST_RETURN_IF_ERROR(take(plan.slots.at(name)));
  }
  if (options.return_all_values) {
    for (std::size_t slot = 0; slot < plan.names.size(); ++slot) {
      if (plan.node_output[slot] && frame.at[slot] != nullptr) HALFCAST_RETURN_IF_ERROR(take(slot));
    }
    for (auto& [name, tensor] : body_values) results.emplace(name, Owned(tensor));
  }
  return results;
}

absl::StatusOr<std::vector<Value>> GraphRunner::RunBody(const GraphPlan& plan,
                                                        std::vector<Value> inputs,
                                                        const Frame& parent) {
  if (inputs.size() != plan.input_slots.size()) {
    return absl::InvalidArgumentError(absl::StrCat("body graph '", plan.graph->name(), "' takes ",
                                                   plan.input_slots.size(), " inputs, given ",
                                                   inputs.size()));
  }
  Frame frame(plan);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const int slot = plan.input_slots[i];
    const bool wrap = plan.optional_input[i] && !inputs[i].is_optional();
    frame.values[slot] = wrap ? Value::OptionalOf(std::move(inputs[i])) : std::move(inputs[i]);
    frame.at[slot] = &frame.values[slot];
  }
  for (const auto& [slot, parent_slot] : plan.outer) {
    frame.at[slot] = parent.at[parent_slot];
    if (frame.at[slot] == nullptr) {
      return absl::InternalError(absl::StrCat("body graph '", plan.graph->name(), "' reads '",
                                              plan.names[slot], "', which is not available"));
    }
    // ONNX Runtime hands a subgraph the float16 value its node reads: rounded.
    if (parent.DeferredType(parent_slot) != DataType::kUndefined) {
      frame.values[slot] = parent.Materialized(parent_slot);
      frame.at[slot] = &frame.values[slot];
    }
  }
  absl::Status status = Execute(plan.schedule, frame);
  std::vector<Value> outputs;
  if (status.ok()) {
    outputs.reserve(plan.output_slots.size());
    for (int slot : plan.output_slots) {
      if (frame.at[slot] == nullptr) {
        status = absl::InternalError(
            absl::StrCat("body output '", plan.names[slot], "' was not computed"));
        break;
      }
      outputs.push_back(frame.Materialized(slot));
    }
  }
  // The body's values leave the cap's count; the node running it counts what it keeps.
  for (std::size_t slot = 0; slot < plan.names.size(); ++slot) {
    if (plan.computed[slot] && frame.at[slot] != nullptr) {
      bytes_in_use_ -= static_cast<int64_t>(frame.values[slot].byte_size());
    }
  }
  if (!status.ok()) return status;
  return outputs;
}

absl::StatusOr<std::unique_ptr<ModelPlan>> ModelPlan::Create(
    const onnx::ModelProto& model, const ReferenceEvaluatorOptions& options) {
  std::unique_ptr<ModelPlan> plan(new ModelPlan());
  plan->options_ = options;
  plan->threads_ = options.intra_op_threads > 0
                       ? options.intra_op_threads
                       : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const absl::flat_hash_map<std::string, int> opsets = ImportedOpsets(model);
  FreeNameMemo free_names;
  const PlanContext context{&opsets, &plan->options_.external_data_dir, &free_names,
                            options.float16_model == Float16Model::kOnnxRuntimeCpu};
  HALFCAST_ASSIGN_OR_RETURN(plan->main_, BuildPlan(model.graph(), context, /*parent=*/nullptr));
  return plan;
}

ModelPlan::~ModelPlan() = default;

absl::StatusOr<ValueMap> ModelPlan::Run(const ValueMap& feeds, const RunOptions& options) const {
  const GraphPlan& plan = *main_;
  Schedule custom;
  const Schedule* schedule = &plan.schedule;
  if (!options.extra_outputs.empty() || options.return_all_values ||
      options.precomputed != nullptr) {
    std::vector<char> keep(plan.names.size(), 0);
    for (int slot : plan.output_slots) keep[slot] = 1;
    for (const std::string& name : options.extra_outputs) {
      auto it = plan.slots.find(name);
      if (it == plan.slots.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("extra output '", name, "' is not a value of the main graph"));
      }
      keep[it->second] = 1;
    }
    if (options.return_all_values) {
      for (std::size_t slot = 0; slot < keep.size(); ++slot) keep[slot] |= plan.node_output[slot];
    }
    custom = MakeSchedule(plan, std::move(keep), options.precomputed);
    schedule = &custom;
  }
  GraphRunner runner(options_.memory_limit_bytes, threads_);
  return runner.RunMain(plan, *schedule, feeds, options);
}

}  // namespace halfcast::eval
