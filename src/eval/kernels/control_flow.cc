// If, Loop and Scan: their bodies run through the runner's SubgraphRunner, which gives them the
// enclosing graphs' values by name. Registered exact_16bit: values only pass through here, and
// the bodies' own nodes do the float16 rounding. If outputs and Loop-carried values may be
// sequences and optionals (takes_values); Scan's states and scan values are tensors.
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "eval/graph_runner.h"
#include "eval/kernel.h"

namespace halfcast::eval {
namespace {

constexpr int kLatest = std::numeric_limits<int>::max();

absl::StatusOr<const onnx::GraphProto*> GraphAttribute(const KernelContext& ctx,
                                                       std::string_view name) {
  const onnx::AttributeProto* a = ctx.attribute(name);
  if (a == nullptr || !a->has_g()) {
    return ctx.Error(absl::StrCat("graph attribute '", std::string(name), "' is missing"));
  }
  return &a->g();
}

absl::StatusOr<bool> ScalarBool(const KernelContext& ctx, const Tensor& t, const char* what) {
  if (t.type() != DataType::kBool || t.element_count() != 1) {
    return ctx.Error(absl::StrCat(what, " must be a single bool"));
  }
  return t.data<bool>()[0];
}

// Rank and dimensions around `axis`: outer * length * inner elements.
struct AxisSplit {
  int64_t outer = 1;
  int64_t length = 1;
  int64_t inner = 1;
};

AxisSplit SplitAt(const std::vector<int64_t>& shape, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < axis) s.outer *= shape[d];
    else if (d == axis) s.length = shape[d];
    else s.inner *= shape[d];
  }
  return s;
}

absl::StatusOr<int64_t> NormalizedAxis(const KernelContext& ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    return ctx.Error(absl::StrCat("axis ", axis, " is out of range for rank ", rank));
  }
  return axis < 0 ? axis + rank : axis;
}

// Element `index` of `t` along `axis` (the axis removed from the shape).
absl::StatusOr<Tensor> SliceAlong(const KernelContext& ctx, const Tensor& t, int64_t axis,
                                  int64_t index) {
  if (t.type() == DataType::kString) return ctx.Error("string scan inputs are not supported");
  std::vector<int64_t> shape = t.shape();
  const AxisSplit s = SplitAt(shape, axis);
  shape.erase(shape.begin() + axis);
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(t.type(), shape));
  const std::size_t row = static_cast<std::size_t>(s.inner) * ElementSize(t.type());
  const auto* in = static_cast<const unsigned char*>(t.raw_data());
  auto* o = static_cast<unsigned char*>(out.mutable_raw_data());
  for (int64_t i = 0; i < s.outer; ++i) {
    std::memcpy(o + i * row, in + (i * s.length + index) * row, row);
  }
  return out;
}

// Stacks equally shaped `parts` along a new `axis` (in reverse order if `reverse`).
absl::StatusOr<Tensor> StackAlong(const KernelContext& ctx, const std::vector<Tensor>& parts,
                                  int64_t axis, bool reverse, DataType empty_type) {
  if (parts.empty()) return ctx.NewTensor(empty_type, {0});
  const Tensor& first = parts[0];
  if (first.type() == DataType::kString) return ctx.Error("string scan outputs are not supported");
  for (const Tensor& p : parts) {
    if (p.shape() != first.shape() || p.type() != first.type()) {
      return ctx.Error("scan output changes shape or type between iterations");
    }
  }
  std::vector<int64_t> shape = first.shape();
  HALFCAST_ASSIGN_OR_RETURN(axis, NormalizedAxis(ctx, axis, static_cast<int64_t>(shape.size()) + 1));
  shape.insert(shape.begin() + axis, static_cast<int64_t>(parts.size()));
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(first.type(), shape));
  const AxisSplit s = SplitAt(shape, axis);
  const std::size_t row = static_cast<std::size_t>(s.inner) * ElementSize(first.type());
  auto* o = static_cast<unsigned char*>(out.mutable_raw_data());
  for (int64_t k = 0; k < s.length; ++k) {
    const Tensor& part = parts[reverse ? s.length - 1 - k : k];
    const auto* in = static_cast<const unsigned char*>(part.raw_data());
    for (int64_t i = 0; i < s.outer; ++i) {
      std::memcpy(o + (i * s.length + k) * row, in + i * row, row);
    }
  }
  return out;
}

DataType DeclaredType(const onnx::GraphProto& graph, int output) {
  const auto& type = graph.output(output).type();
  if (type.has_tensor_type() && type.tensor_type().elem_type() != 0) {
    return static_cast<DataType>(type.tensor_type().elem_type());
  }
  return DataType::kFloat;
}

absl::Status If(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* cond_tensor, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const bool cond, ScalarBool(ctx, *cond_tensor, "condition"));
  HALFCAST_ASSIGN_OR_RETURN(const onnx::GraphProto* branch,
                            GraphAttribute(ctx, cond ? "then_branch" : "else_branch"));
  HALFCAST_ASSIGN_OR_RETURN(std::vector<Value> outputs, ctx.subgraphs()->Run(*branch, {}));
  if (static_cast<int>(outputs.size()) != ctx.output_count()) {
    return ctx.Error(absl::StrCat("branch has ", outputs.size(), " outputs, the node ",
                                  ctx.output_count()));
  }
  for (int i = 0; i < ctx.output_count(); ++i) ctx.set_output(i, std::move(outputs[i]));
  return absl::OkStatus();
}

absl::Status Loop(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const onnx::GraphProto* body, GraphAttribute(ctx, "body"));
  int64_t max_trips = std::numeric_limits<int64_t>::max();
  if (const Tensor* m = ctx.input(0)) {
    if (m->type() != DataType::kInt64 || m->element_count() != 1) {
      return ctx.Error("trip count M must be a single int64");
    }
    max_trips = m->data<int64_t>()[0];
  }
  bool cond = true;
  if (const Tensor* c = ctx.input(1)) {
    HALFCAST_ASSIGN_OR_RETURN(cond, ScalarBool(ctx, *c, "condition"));
  }
  const int carried_count = ctx.input_count() - 2;
  if (carried_count < 0) return ctx.Error("needs inputs M and cond (either may be empty)");
  std::vector<Value> carried;
  for (int i = 0; i < carried_count; ++i) {
    const Value* v = ctx.value_input(2 + i);
    if (v == nullptr) return ctx.Error(absl::StrCat("loop-carried input ", 2 + i, " is missing"));
    carried.push_back(*v);
  }
  const int scan_count = ctx.output_count() - carried_count;
  if (scan_count < 0 || body->output_size() != 1 + carried_count + scan_count) {
    return ctx.Error(absl::StrCat("body has ", body->output_size(), " outputs; expected 1 + ",
                                  carried_count, " carried + ", std::max(scan_count, 0),
                                  " scan outputs"));
  }
  std::vector<std::vector<Tensor>> scans(scan_count);
  for (int64_t iter = 0; iter < max_trips && cond; ++iter) {
    std::vector<Value> inputs;
    inputs.reserve(2 + carried.size());
    inputs.push_back(Tensor::Copy(DataType::kInt64, {}, &iter));
    inputs.push_back(Tensor::Copy(DataType::kBool, {}, &cond));
    for (Value& v : carried) inputs.push_back(std::move(v));
    HALFCAST_ASSIGN_OR_RETURN(std::vector<Value> outputs,
                              ctx.subgraphs()->Run(*body, std::move(inputs)));
    HALFCAST_ASSIGN_OR_RETURN(cond, ScalarBool(ctx, outputs[0].tensor(), "body condition output"));
    for (int i = 0; i < carried_count; ++i) carried[i] = std::move(outputs[1 + i]);
    for (int i = 0; i < scan_count; ++i) {
      Value& scanned = outputs[1 + carried_count + i];
      if (!scanned.is_tensor()) {
        return ctx.Error(absl::StrCat("scan output ", i, " of the body has type ",
                                      scanned.TypeString(), ", not a tensor type"));
      }
      scans[i].push_back(std::move(scanned.mutable_tensor()));
    }
  }
  for (int i = 0; i < carried_count; ++i) ctx.set_output(i, std::move(carried[i]));
  for (int i = 0; i < scan_count; ++i) {
    HALFCAST_ASSIGN_OR_RETURN(
        Tensor stacked,
        StackAlong(ctx, scans[i], 0, false, DeclaredType(*body, 1 + carried_count + i)));
    ctx.set_output(carried_count + i, std::move(stacked));
  }
  return absl::OkStatus();
}

struct ScanSpec {
  const onnx::GraphProto* body = nullptr;
  std::vector<int64_t> input_axes, input_dirs, output_axes, output_dirs;
};

// Runs `spec.body` once per element of the scan inputs' sequence axis, threading `states`
// through; returns the final states followed by the stacked scan outputs.
absl::StatusOr<std::vector<Tensor>> ScanLoop(const KernelContext& ctx, const ScanSpec& spec,
                                             std::vector<Tensor> states,
                                             const std::vector<const Tensor*>& sequences) {
  const std::size_t state_count = states.size();
  const std::size_t scan_outputs = spec.body->output_size() - state_count;
  int64_t length = -1;
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    const int64_t n = sequences[i]->shape()[spec.input_axes[i]];
    if (length >= 0 && n != length) return ctx.Error("scan inputs differ in sequence length");
    length = n;
  }
  std::vector<std::vector<Tensor>> scans(scan_outputs);
  for (int64_t t = 0; t < length; ++t) {
    std::vector<Value> inputs;
    for (Tensor& s : states) inputs.push_back(std::move(s));
    for (std::size_t i = 0; i < sequences.size(); ++i) {
      const int64_t index = spec.input_dirs[i] == 1 ? length - 1 - t : t;
      HALFCAST_ASSIGN_OR_RETURN(Tensor slice,
                                SliceAlong(ctx, *sequences[i], spec.input_axes[i], index));
      inputs.push_back(std::move(slice));
    }
    HALFCAST_ASSIGN_OR_RETURN(std::vector<Value> outputs,
                              ctx.subgraphs()->Run(*spec.body, std::move(inputs)));
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (!outputs[i].is_tensor()) {
        return ctx.Error(absl::StrCat("body output ", i, " has type ", outputs[i].TypeString(),
                                      "; Scan carries tensors only"));
      }
    }
    for (std::size_t i = 0; i < state_count; ++i) states[i] = std::move(outputs[i].mutable_tensor());
    for (std::size_t i = 0; i < scan_outputs; ++i) {
      scans[i].push_back(std::move(outputs[state_count + i].mutable_tensor()));
    }
  }
  std::vector<Tensor> results = std::move(states);
  for (std::size_t i = 0; i < scan_outputs; ++i) {
    HALFCAST_ASSIGN_OR_RETURN(
        Tensor stacked,
        StackAlong(ctx, scans[i], spec.output_axes[i], spec.output_dirs[i] == 1,
                   DeclaredType(*spec.body, static_cast<int>(state_count + i))));
    results.push_back(std::move(stacked));
  }
  return results;
}

// Scan: opset 8 has a batch axis 0 (and sequence_lens) on every state and scan input and a
// sequence axis 1; from opset 9 there is no batch and axes and directions are per input.
absl::Status Scan(KernelContext& ctx) {
  ScanSpec spec;
  HALFCAST_ASSIGN_OR_RETURN(spec.body, GraphAttribute(ctx, "body"));
  const bool batched = ctx.opset() < 9;
  const int first = batched ? 1 : 0;  // opset 8: input 0 is sequence_lens
  const int64_t scan_inputs = ctx.GetInt("num_scan_inputs", -1);
  const int64_t state_count = ctx.input_count() - first - scan_inputs;
  if (scan_inputs < 1 || state_count < 0) return ctx.Error("bad num_scan_inputs");
  const int64_t scan_outputs = ctx.output_count() - state_count;
  if (scan_outputs < 0 || spec.body->output_size() != state_count + scan_outputs) {
    return ctx.Error("body outputs do not match the node's outputs");
  }
  spec.input_axes = ctx.GetInts("scan_input_axes");
  spec.input_dirs = ctx.GetInts(batched ? "directions" : "scan_input_directions");
  spec.output_axes = ctx.GetInts("scan_output_axes");
  spec.output_dirs = ctx.GetInts("scan_output_directions");
  spec.input_axes.resize(scan_inputs, 0);
  spec.input_dirs.resize(scan_inputs, 0);
  spec.output_axes.resize(scan_outputs, 0);
  spec.output_dirs.resize(scan_outputs, 0);

  std::vector<const Tensor*> states;
  for (int64_t i = 0; i < state_count; ++i) {
    HALFCAST_ASSIGN_OR_RETURN(const Tensor* v, ctx.RequiredInput(first + static_cast<int>(i)));
    states.push_back(v);
  }
  std::vector<const Tensor*> sequences;
  for (int64_t i = 0; i < scan_inputs; ++i) {
    HALFCAST_ASSIGN_OR_RETURN(const Tensor* x,
                              ctx.RequiredInput(first + static_cast<int>(state_count + i)));
    const int64_t rank = static_cast<int64_t>(x->shape().size()) - (batched ? 1 : 0);
    HALFCAST_ASSIGN_OR_RETURN(spec.input_axes[i], NormalizedAxis(ctx, spec.input_axes[i], rank));
    sequences.push_back(x);
  }

  if (!batched) {
    std::vector<Tensor> initial;
    for (const Tensor* state : states) initial.push_back(*state);
    HALFCAST_ASSIGN_OR_RETURN(std::vector<Tensor> results,
                              ScanLoop(ctx, spec, std::move(initial), sequences));
    for (std::size_t i = 0; i < results.size(); ++i) {
      ctx.set_output(static_cast<int>(i), std::move(results[i]));
    }
    return absl::OkStatus();
  }

  // Opset 8: run each batch entry on its own and stack the results along axis 0.
  if (sequences[0]->shape().size() < 2) {
    return ctx.Error("scan inputs need batch and sequence axes");
  }
  const int64_t batch = sequences[0]->shape()[0];
  if (const Tensor* lens = ctx.input(0)) {
    for (int64_t b = 0; b < lens->element_count(); ++b) {
      if (lens->type() != DataType::kInt64 ||
          lens->data<int64_t>()[b] != sequences[0]->shape()[1]) {
        return absl::UnimplementedError(
            ctx.Error("sequence_lens shorter than the sequence axis are not supported").message());
      }
    }
  }
  std::vector<std::vector<Tensor>> per_batch(state_count + scan_outputs);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<Tensor> initial;
    for (const Tensor* s : states) {
      HALFCAST_ASSIGN_OR_RETURN(Tensor slice, SliceAlong(ctx, *s, 0, b));
      initial.push_back(std::move(slice));
    }
    std::vector<Tensor> slices;
    std::vector<const Tensor*> slice_ptrs;
    slices.reserve(sequences.size());
    for (const Tensor* x : sequences) {
      HALFCAST_ASSIGN_OR_RETURN(Tensor slice, SliceAlong(ctx, *x, 0, b));
      slices.push_back(std::move(slice));
      slice_ptrs.push_back(&slices.back());
    }
    HALFCAST_ASSIGN_OR_RETURN(std::vector<Tensor> results,
                              ScanLoop(ctx, spec, std::move(initial), slice_ptrs));
    for (std::size_t i = 0; i < results.size(); ++i) {
      per_batch[i].push_back(std::move(results[i]));
    }
  }
  for (std::size_t i = 0; i < per_batch.size(); ++i) {
    HALFCAST_ASSIGN_OR_RETURN(
        Tensor stacked, StackAlong(ctx, per_batch[i], 0, false,
                                   DeclaredType(*spec.body, static_cast<int>(i))));
    ctx.set_output(static_cast<int>(i), std::move(stacked));
  }
  return absl::OkStatus();
}

constexpr KernelDef kKernels[] = {
    {"", "If", 1, kLatest, If, /*exact_16bit=*/true, /*float32_outputs=*/0, /*takes_values=*/true},
    {"", "Loop", 1, kLatest, Loop, /*exact_16bit=*/true, /*float32_outputs=*/0,
     /*takes_values=*/true},
    {"", "Scan", 8, kLatest, Scan, /*exact_16bit=*/true},
};

}  // namespace

absl::Span<const KernelDef> ControlFlowKernels() { return kKernels; }

}  // namespace halfcast::eval
