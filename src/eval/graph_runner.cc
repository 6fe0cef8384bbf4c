#include "eval/graph_runner.h"

#include <algorithm>
#include <exception>
#include <functional>
#include <new>
#include <queue>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "eval/float16_emulation.h"
#include "eval/kernels/dispatch.h"

namespace halfcast::eval {

struct Step {
  const onnx::NodeProto* node = nullptr;
  const KernelDef* kernel = nullptr;
  int opset = 0;
  std::vector<int> inputs;   // slot per input, -1 when absent
  std::vector<int> outputs;  // slot per output, -1 when not wanted
  std::vector<int> uses;     // input slots and values the node's bodies read from this graph
  std::vector<int> release;  // slots whose last use is this step
  bool precomputed = false;  // outputs taken from RunOptions::precomputed
};

struct GraphPlan {
  const onnx::GraphProto* graph = nullptr;
  std::vector<std::string> names;  // slot -> value name
  absl::flat_hash_map<std::string, int> slots;
  std::vector<int> input_slots;
  std::vector<std::pair<int, const onnx::TensorProto*>> initializers;
  std::vector<int> outer_slots;  // values read from enclosing graphs
  std::vector<char> node_output;  // per slot: produced by a node (counts against the memory cap)
  std::vector<Step> steps;        // topological order
  std::vector<int> output_slots;
  const TensorMap* precomputed = nullptr;

  int SlotFor(const std::string& name) {
    auto [it, inserted] = slots.try_emplace(name, static_cast<int>(names.size()));
    if (inserted) names.push_back(name);
    return it->second;
  }
};

struct Frame {
  const GraphPlan* plan;
  std::vector<Tensor> values;
  std::vector<char> present;
  const Frame* parent;
};

namespace {

std::string NodeLabel(const onnx::NodeProto& node) {
  return absl::StrCat(node.op_type(), " node '", node.name(), "'");
}

// Names `graph` (and bodies nested in it) read without defining them: values of enclosing graphs.
void CollectFreeNames(const onnx::GraphProto& graph, absl::flat_hash_set<std::string>* free) {
  absl::flat_hash_set<std::string> defined;
  for (const auto& v : graph.input()) defined.insert(v.name());
  for (const auto& t : graph.initializer()) defined.insert(t.name());
  for (const auto& t : graph.sparse_initializer()) defined.insert(t.values().name());
  for (const auto& n : graph.node()) {
    for (const auto& o : n.output()) defined.insert(o);
  }
  for (const auto& n : graph.node()) {
    for (const auto& i : n.input()) {
      if (!i.empty() && !defined.contains(i)) free->insert(i);
    }
    for (const auto& a : n.attribute()) {
      absl::flat_hash_set<std::string> nested;
      if (a.has_g()) CollectFreeNames(a.g(), &nested);
      for (const auto& g : a.graphs()) CollectFreeNames(g, &nested);
      for (const auto& name : nested) {
        if (!defined.contains(name)) free->insert(name);
      }
    }
  }
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

absl::StatusOr<std::unique_ptr<GraphPlan>> BuildPlan(
    const onnx::GraphProto& graph, const absl::flat_hash_map<std::string, int>& opsets,
    bool is_main, const RunOptions* options) {
  auto plan = std::make_unique<GraphPlan>();
  plan->graph = &graph;
  absl::flat_hash_set<int> defined;
  for (const auto& v : graph.input()) {
    const int slot = plan->SlotFor(v.name());
    plan->input_slots.push_back(slot);
    defined.insert(slot);
  }
  for (const auto& t : graph.initializer()) {
    const int slot = plan->SlotFor(t.name());
    plan->initializers.emplace_back(slot, &t);
    defined.insert(slot);
  }
  if (graph.sparse_initializer_size() > 0) {
    return absl::UnimplementedError(
        absl::StrCat("graph '", graph.name(), "' has sparse initializers, which are not supported"));
  }
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
  plan->node_output.assign(plan->names.size(), 0);
  for (const auto& [slot, n] : producer) plan->node_output[slot] = 1;
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
      if (a.has_g()) CollectFreeNames(a.g(), &body_names);
      for (const auto& g : a.graphs()) CollectFreeNames(g, &body_names);
    }
    for (const auto& name : body_names) use(name);
    std::sort(step.uses.begin(), step.uses.end());
    step.uses.erase(std::unique(step.uses.begin(), step.uses.end()), step.uses.end());

    const std::string domain = CanonicalDomain(node.domain());
    auto opset = opsets.find(domain);
    if (opset == opsets.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          NodeLabel(node), " uses domain '", node.domain(), "', which the model does not import"));
    }
    step.opset = opset->second;
    step.kernel = FindKernel(domain, node.op_type(), step.opset);
    if (step.kernel == nullptr) {
      return absl::UnimplementedError(absl::StrCat("unsupported op ", node.op_type(), " (domain '",
                                                   domain.empty() ? "ai.onnx" : domain,
                                                   "', opset ", step.opset, ")"));
    }
  }
  for (int slot : outer) {
    if (is_main) {
      return absl::InvalidArgumentError(
          absl::StrCat("value '", plan->names[slot],
                       "' is used but is not a graph input, an initializer or a node output"));
    }
    plan->outer_slots.push_back(slot);
  }
  for (const auto& o : graph.output()) {
    const int slot = plan->SlotFor(o.name());
    if (!defined.contains(slot) && !producer.contains(slot)) {
      if (is_main) {
        return absl::InvalidArgumentError(
            absl::StrCat("graph output '", o.name(), "' is not produced by any node"));
      }
      if (!outer.contains(slot)) {
        outer.insert(slot);
        plan->outer_slots.push_back(slot);
      }
    }
    plan->output_slots.push_back(slot);
  }
  plan->node_output.resize(plan->names.size(), 0);

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
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int n = 0; n < node_count; ++n) {
    if (pending[n] == 0) ready.push(n);
  }
  std::vector<int> order;
  order.reserve(node_count);
  while (!ready.empty()) {
    const int n = ready.top();
    ready.pop();
    order.push_back(n);
    for (int c : consumers[n]) {
      if (--pending[c] == 0) ready.push(c);
    }
  }
  if (static_cast<int>(order.size()) != node_count) {
    for (int n = 0; n < node_count; ++n) {
      if (pending[n] > 0) {
        return absl::InvalidArgumentError(absl::StrCat("graph '", graph.name(),
                                                       "' has a cycle through ",
                                                       NodeLabel(graph.node(n))));
      }
    }
  }

  // Which slots must survive the run, and which steps are needed at all.
  const std::size_t slot_count = plan->names.size();
  std::vector<char> keep(slot_count, 0);
  for (int slot : plan->output_slots) keep[slot] = 1;
  if (options != nullptr) {
    plan->precomputed = options->precomputed;
    for (const std::string& name : options->extra_outputs) {
      auto it = plan->slots.find(name);
      if (it == plan->slots.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("extra output '", name, "' is not a value of the main graph"));
      }
      keep[it->second] = 1;
    }
    if (options->return_all_values) {
      for (const auto& [slot, n] : producer) keep[slot] = 1;
    }
  }
  std::vector<char> needed = keep;
  std::vector<char> run(node_count, 0);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Step& step = steps[*it];
    bool wanted = false;
    bool all_precomputed = plan->precomputed != nullptr;
    for (int slot : step.outputs) {
      if (slot < 0) continue;
      wanted = wanted || needed[slot];
      if (all_precomputed && !plan->precomputed->count(plan->names[slot])) all_precomputed = false;
    }
    if (!wanted) continue;
    run[*it] = 1;
    step.precomputed = all_precomputed;
    if (!all_precomputed) {
      for (int slot : step.uses) needed[slot] = 1;
    }
  }
  for (int n : order) {
    if (run[n]) plan->steps.push_back(std::move(steps[n]));
  }
  // Release each value after its last use; node outputs nobody reads right after they appear.
  std::vector<int> last_use(slot_count, -1);
  for (std::size_t s = 0; s < plan->steps.size(); ++s) {
    const Step& step = plan->steps[s];
    for (int slot : step.outputs) {
      if (slot >= 0) last_use[slot] = static_cast<int>(s);
    }
    if (step.precomputed) continue;
    for (int slot : step.uses) last_use[slot] = static_cast<int>(s);
  }
  for (std::size_t slot = 0; slot < slot_count; ++slot) {
    if (!keep[slot] && last_use[slot] >= 0) plan->steps[last_use[slot]].release.push_back(slot);
  }
  return plan;
}

absl::Status CheckFeed(const onnx::ValueInfoProto& input, const Tensor& feed) {
  if (!input.type().has_tensor_type()) {
    return absl::UnimplementedError(
        absl::StrCat("input '", input.name(), "' is not a tensor, which is not supported"));
  }
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

// An owned tensor: results handed to the caller must not point into the model.
Tensor Owned(Tensor t) {
  if (t.is_borrowed()) t.mutable_raw_data();
  return t;
}

}  // namespace

std::string CanonicalDomain(const std::string& domain) {
  return domain == "ai.onnx" ? "" : domain;
}

absl::flat_hash_map<std::string, int> ImportedOpsets(const onnx::ModelProto& model) {
  absl::flat_hash_map<std::string, int> opsets;
  for (const auto& o : model.opset_import()) {
    opsets[CanonicalDomain(o.domain())] = static_cast<int>(o.version());
  }
  return opsets;
}

absl::StatusOr<std::vector<Tensor>> SubgraphRunner::Run(const onnx::GraphProto& body,
                                                        std::vector<Tensor> inputs) {
  return runner_->RunBody(body, std::move(inputs), frame_);
}

GraphRunner::GraphRunner(const onnx::ModelProto& model, const ReferenceEvaluatorOptions& options)
    : model_(model), options_(options), opsets_(ImportedOpsets(model)) {
  threads_ = options.intra_op_threads > 0
                 ? options.intra_op_threads
                 : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

GraphRunner::~GraphRunner() = default;

absl::Status GraphRunner::Execute(const GraphPlan& plan, Frame& frame) {
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    HALFCAST_RETURN_IF_ERROR(RunStep(plan, s, frame));
  }
  return absl::OkStatus();
}

absl::Status GraphRunner::RunStep(const GraphPlan& plan, std::size_t s, Frame& frame) {
  const Step& step = plan.steps[s];
  const onnx::NodeProto& node = *step.node;
  if (step.precomputed) {
    for (int slot : step.outputs) {
      if (slot < 0) continue;
      frame.values[slot] = plan.precomputed->at(plan.names[slot]);
      frame.present[slot] = 1;
      // Counted like computed values, so that releasing them balances.
      bytes_in_use_ += static_cast<int64_t>(frame.values[slot].byte_size());
    }
  } else {
    std::vector<const Tensor*> inputs(step.inputs.size(), nullptr);
    std::vector<Tensor> widened;
    DataType narrow_type = DataType::kUndefined;
    for (std::size_t i = 0; i < step.inputs.size(); ++i) {
      const int slot = step.inputs[i];
      if (slot < 0) continue;
      if (!frame.present[slot]) {
        return absl::InternalError(absl::StrCat(NodeLabel(node), ": input '", plan.names[slot],
                                                "' is not available"));
      }
      inputs[i] = &frame.values[slot];
    }
    if (!step.kernel->exact_16bit) {
      // The float16 model: compute in float32 from the 16-bit values, round results back below.
      widened.resize(inputs.size());
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i] == nullptr || !Is16BitFloat(inputs[i]->type())) continue;
        if (narrow_type == DataType::kUndefined) narrow_type = inputs[i]->type();
        widened[i] = WidenToFloat(*inputs[i]);
        inputs[i] = &widened[i];
      }
    }
    SubgraphRunner subgraphs(this, &frame);
    KernelContext context(node, step.opset, std::move(inputs), threads_, &subgraphs);
    context.set_memory_budget(std::max<int64_t>(0, options_.memory_limit_bytes - bytes_in_use_));
    absl::Status status = CallKernel(*step.kernel, context);
    if (!status.ok()) {
      const std::string label = NodeLabel(node);
      if (absl::StartsWith(status.message(), label)) return status;
      return absl::Status(status.code(), absl::StrCat(label, ": ", status.message()));
    }
    widened.clear();
    for (std::size_t i = 0; i < step.outputs.size(); ++i) {
      const int slot = step.outputs[i];
      if (slot < 0) continue;
      Tensor& out = context.outputs()[i];
      if (narrow_type != DataType::kUndefined && out.type() == DataType::kFloat) {
        out = NarrowFromFloat(out, narrow_type);
      }
      bytes_in_use_ += static_cast<int64_t>(out.byte_size());
      frame.values[slot] = std::move(out);
      frame.present[slot] = 1;
    }
    if (bytes_in_use_ > options_.memory_limit_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          NodeLabel(node), ": intermediate tensors need ", bytes_in_use_,
          " bytes, more than the memory limit of ", options_.memory_limit_bytes, " bytes"));
    }
  }
  for (int slot : step.release) {
    if (plan.node_output[slot]) bytes_in_use_ -= static_cast<int64_t>(frame.values[slot].byte_size());
    frame.values[slot] = Tensor();
    frame.present[slot] = 0;
  }
  return absl::OkStatus();
}

absl::StatusOr<TensorMap> GraphRunner::RunMain(const TensorMap& feeds, const RunOptions& options) {
  const onnx::GraphProto& graph = model_.graph();
  HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<GraphPlan> plan,
                            BuildPlan(graph, opsets_, /*is_main=*/true, &options));
  const std::size_t slot_count = plan->names.size();
  Frame frame{plan.get(), std::vector<Tensor>(slot_count), std::vector<char>(slot_count, 0),
              nullptr};
  for (const auto& [slot, proto] : plan->initializers) {
    HALFCAST_ASSIGN_OR_RETURN(frame.values[slot],
                              InitializerTensor(*proto, options_.external_data_dir));
    frame.present[slot] = 1;
  }
  absl::flat_hash_set<std::string> input_names;
  for (const auto& input : graph.input()) {
    input_names.insert(input.name());
    auto feed = feeds.find(input.name());
    const int slot = plan->slots.at(input.name());
    if (feed == feeds.end()) {
      if (frame.present[slot]) continue;  // an initializer gives the default
      return absl::InvalidArgumentError(absl::StrCat("missing input '", input.name(), "'"));
    }
    HALFCAST_RETURN_IF_ERROR(CheckFeed(input, feed->second));
    frame.values[slot] = feed->second;
    frame.present[slot] = 1;
  }
  for (const auto& [name, tensor] : feeds) {
    if (!input_names.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", name, "' is not an input of the model"));
    }
  }
  HALFCAST_RETURN_IF_ERROR(Execute(*plan, frame));

  TensorMap results;
  auto take = [&](int slot) -> absl::Status {
    if (!frame.present[slot]) {
      return absl::InternalError(absl::StrCat("value '", plan->names[slot], "' was not computed"));
    }
    results[plan->names[slot]] = Owned(frame.values[slot]);
    return absl::OkStatus();
  };
  for (int slot : plan->output_slots) HALFCAST_RETURN_IF_ERROR(take(slot));
  for (const std::string& name : options.extra_outputs) {
    HALFCAST_RETURN_IF_ERROR(take(plan->slots.at(name)));
  }
  if (options.return_all_values) {
    for (std::size_t slot = 0; slot < slot_count; ++slot) {
      if (plan->node_output[slot] && frame.present[slot]) HALFCAST_RETURN_IF_ERROR(take(slot));
    }
  }
  return results;
}

absl::StatusOr<const GraphPlan*> GraphRunner::BodyPlan(const onnx::GraphProto& body) {
  auto it = body_plans_.find(&body);
  if (it != body_plans_.end()) return it->second.get();
  HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<GraphPlan> plan,
                            BuildPlan(body, opsets_, /*is_main=*/false, nullptr));
  return body_plans_.emplace(&body, std::move(plan)).first->second.get();
}

absl::StatusOr<std::vector<Tensor>> GraphRunner::RunBody(const onnx::GraphProto& body,
                                                         std::vector<Tensor> inputs,
                                                         const Frame* parent) {
  HALFCAST_ASSIGN_OR_RETURN(const GraphPlan* plan, BodyPlan(body));
  if (inputs.size() != plan->input_slots.size()) {
    return absl::InvalidArgumentError(absl::StrCat("body graph '", body.name(), "' takes ",
                                                   plan->input_slots.size(), " inputs, given ",
                                                   inputs.size()));
  }
  const std::size_t slot_count = plan->names.size();
  Frame frame{plan, std::vector<Tensor>(slot_count), std::vector<char>(slot_count, 0), parent};
  for (const auto& [slot, proto] : plan->initializers) {
    HALFCAST_ASSIGN_OR_RETURN(frame.values[slot],
                              InitializerTensor(*proto, options_.external_data_dir));
    frame.present[slot] = 1;
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    frame.values[plan->input_slots[i]] = std::move(inputs[i]);
    frame.present[plan->input_slots[i]] = 1;
  }
  for (int slot : plan->outer_slots) {
    const std::string& name = plan->names[slot];
    for (const Frame* f = parent; f != nullptr; f = f->parent) {
      auto it = f->plan->slots.find(name);
      if (it != f->plan->slots.end() && f->present[it->second]) {
        frame.values[slot] = f->values[it->second];
        frame.present[slot] = 1;
        break;
      }
    }
    if (!frame.present[slot]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "body graph '", body.name(), "' reads '", name, "', which no enclosing graph defines"));
    }
  }
  absl::Status status = Execute(*plan, frame);
  std::vector<Tensor> outputs;
  if (status.ok()) {
    for (int slot : plan->output_slots) {
      if (!frame.present[slot]) {
        status = absl::InternalError(
            absl::StrCat("body output '", plan->names[slot], "' was not computed"));
        break;
      }
      outputs.push_back(frame.values[slot]);
    }
  }
  // The body's values leave the cap's count; the node running it counts what it keeps.
  for (std::size_t slot = 0; slot < slot_count; ++slot) {
    if (plan->node_output[slot] && frame.present[slot]) {
      bytes_in_use_ -= static_cast<int64_t>(frame.values[slot].byte_size());
    }
  }
  if (!status.ok()) return status;
  return outputs;
}

}  // namespace halfcast::eval
