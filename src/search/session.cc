#include "search/session.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "graph/topo_sort.h"
#include "numerics/float16.h"
#include "search/feeds.h"
#include "search/tensor_values.h"
#include "search/user_code.h"

namespace halfcast::search {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Two runs cover both patterns of the strategies: a step from the latest attempt, and a step
// from the latest good set after a failed attempt.
constexpr std::size_t kCachedRuns = 2;

bool IsControlFlow(const onnx::NodeProto& node) {
  return node.domain().empty() &&
         (node.op_type() == "Loop" || node.op_type() == "If" || node.op_type() == "Scan");
}

// Over-approximates what a subgraph reads from enclosing scopes: every name it reads. Extra
// names only make fewer values reusable, never a wrong reuse.
void CollectSubgraphReads(const onnx::GraphProto& graph, std::vector<std::string>* reads) {
  for (const onnx::NodeProto& node : graph.node()) {
    for (const std::string& input : node.input()) {
      if (!input.empty()) reads->push_back(input);
    }
    for (const onnx::AttributeProto& attribute : node.attribute()) {
      if (attribute.has_g()) CollectSubgraphReads(attribute.g(), reads);
      for (const onnx::GraphProto& g : attribute.graphs()) CollectSubgraphReads(g, reads);
    }
  }
}

// How far a candidate value strays from float32: max |c - r| relative to the reference's largest
// finite magnitude; +inf when a finite reference element became inf or NaN.
// Largest |c - r| over elements where r is finite, relative to the largest finite |r|;
// infinite where c is not finite but r is.
template <typename R, typename C>
double DeviationOf(R r, C c, int64_t count) {
  double magnitude = 0;
  double deviation = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double ri = r(i);
    if (!std::isfinite(ri)) continue;
    const double ci = c(i);
    if (!std::isfinite(ci)) return kInf;
    magnitude = std::max(magnitude, std::fabs(ri));
    deviation = std::max(deviation, std::fabs(ci - ri));
  }
  return deviation / (magnitude > 0 ? magnitude : 1.0);
}

// Of two float tensors (any 16-, 32- or 64-bit float type); infinite for different shapes or a
// non-float tensor.
double Deviation(const Tensor& reference, const Tensor& candidate) {
  double deviation = kInf;
  if (reference.shape() != candidate.shape()) return deviation;
  WithFloatReader(reference, [&](auto r) {
    WithFloatReader(candidate, [&](auto c) {
      deviation = DeviationOf(r, c, reference.element_count());
    });
  });
  return deviation;
}

// The largest finite |value| of a float tensor (0 for other types).
double MaxFiniteMagnitude(const Tensor& tensor) {
  double magnitude = 0;
  WithFloatReader(tensor, [&](auto read) {
    for (int64_t i = 0; i < tensor.element_count(); ++i) {
      const double v = read(i);
      if (std::isfinite(v)) magnitude = std::max(magnitude, std::fabs(v));
    }
  });
  return magnitude;
}

}  // namespace

ConvertOptions CandidateConvertOptions(const MixedPrecisionOptions& options) {
  ConvertOptions convert_options;
  convert_options.keep_io_types = options.keep_io_types;
  convert_options.op_block_list = options.op_block_list;
  convert_options.fp16_ops = options.fp16_ops;
  convert_options.node_block_list = options.node_block_list;
  convert_options.op_include_list = options.op_include_list;
  convert_options.node_include_list = options.node_include_list;
  convert_options.strict_lists = options.strict_lists;
  convert_options.min_positive_val = options.min_positive_val;
  convert_options.max_finite_val = options.max_finite_val;
  convert_options.target = options.target;
  return convert_options;
}

void BlockLocations(const std::vector<NodeLocation>& locations, ConvertOptions* options) {
  for (const NodeLocation& location : locations) {
    if (location.graph.empty()) {
      options->node_index_block_list.push_back(location.index);
    } else {
      options->node_location_block_list.push_back(location);
    }
  }
}

void MarkSearchKept(const std::vector<NodeLocation>& locations, ConvertReport* report) {
  for (KeptNode& kept : report->kept_nodes) {
    if (kept.reason == KeepReason::kNodeBlockList &&
        std::binary_search(locations.begin(), locations.end(),
                           NodeLocation{kept.location_graph, kept.index})) {
      kept.reason = KeepReason::kSearch;
      kept.detail = "kept in float32 by the mixed-precision search to meet the accuracy bound";
    }
  }
}

namespace {

// Node positions name candidates, so they must be those every conversion sees: the converter
// sorts nodes that are out of order, and sorting is stable (a sorted graph stays as it is). So the
// search works on `model` itself when it is in order, else on a sorted copy kept in `*sorted`. A
// cycle is left for the first conversion to report.
const onnx::ModelProto& InTopologicalOrder(const onnx::ModelProto& model,
                                           std::optional<onnx::ModelProto>* sorted) {
  if (graph::IsTopologicallySorted(model.graph())) return model;
  sorted->emplace(model);
  (void)graph::SortTopologically((*sorted)->mutable_graph());
  return **sorted;
}

}  // namespace

Session::Session(const onnx::ModelProto& model, const MixedPrecisionOptions& options)
    : model_(InTopologicalOrder(model, &sorted_model_)),
      options_(options),
      start_(std::chrono::steady_clock::now()),
      // Limits beyond a few decades mean none (and would overflow the clock's duration).
      deadline_(options.time_limit_seconds > 0 && options.time_limit_seconds < 1e9
                    ? start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                   std::chrono::duration<double>(options.time_limit_seconds))
                    : std::chrono::steady_clock::time_point::max()) {}

absl::StatusOr<std::unique_ptr<Session>> Session::Create(
    const onnx::ModelProto& model, const std::vector<TensorMap>& feeds,
    const MixedPrecisionOptions& options, const ReferenceEvaluatorOptions& evaluator_options) {
  HALFCAST_ASSIGN_OR_RETURN(std::optional<Tolerance> tolerance,
                            ResolveTolerance(options.rtol, options.atol,
                                             static_cast<bool>(options.validate_fn)));
  if (!(options.safety_margin >= 0 && options.safety_margin < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "safety_margin must be in [0, 1), got ", options.safety_margin));
  }
  if (tolerance) {
    tolerance->rtol *= 1 - options.safety_margin;
    tolerance->atol *= 1 - options.safety_margin;
  }
  if (options.max_retained_bytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_retained_bytes must be >= 0, got ", options.max_retained_bytes));
  }
  if (options.max_evaluations < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_evaluations must be >= 0, got ", options.max_evaluations));
  }
  if (!(options.time_limit_seconds >= 0) || !std::isfinite(options.time_limit_seconds)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "time_limit_seconds must be finite and >= 0, got ", options.time_limit_seconds));
  }
  HALFCAST_RETURN_IF_ERROR(CheckFeeds(model.graph(), feeds));
  std::unique_ptr<Session> session(new Session(model, options));
  session->validator_.emplace(tolerance, options.validate_fn);
  if (options.evaluator != nullptr) {
    session->evaluator_ = options.evaluator;
  } else {
    session->owned_evaluator_ = std::make_unique<ReferenceEvaluator>(evaluator_options);
    session->evaluator_ = session->owned_evaluator_.get();
    if (options.check_onnx_runtime_cpu) {
      ReferenceEvaluatorOptions ort_cpu = evaluator_options;
      ort_cpu.float16_model = Float16Model::kOnnxRuntimeCpu;
      session->ort_cpu_evaluator_ = std::make_unique<ReferenceEvaluator>(ort_cpu);
    }
  }
  session->max_finite_ = options.target == TargetType::kFloat16
                             ? numerics::kHalfMaxFiniteValue
                             : numerics::kBFloat16MaxFiniteValue;

  const onnx::GraphProto& graph = session->model_.graph();
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    NodeInfo info;
    for (const std::string& input : node.input()) {
      if (!input.empty()) info.reads.push_back(input);
    }
    for (const onnx::AttributeProto& attribute : node.attribute()) {
      if (attribute.has_g()) CollectSubgraphReads(attribute.g(), &info.reads);
      for (const onnx::GraphProto& g : attribute.graphs()) CollectSubgraphReads(g, &info.reads);
    }
    for (const std::string& read : info.reads) {
      if (initializers.count(read)) info.initializers.insert(read);
    }
    info.outputs.assign(node.output().begin(), node.output().end());
    // The converter stores a Constant's value like an initializer: float32 when only blocked
    // nodes read it, else in the target type.
    if (node.domain().empty() && node.op_type() == "Constant") {
      initializers.insert(info.outputs.begin(), info.outputs.end());
      info.constant = true;
    }
    session->nodes_.push_back(std::move(info));
  }
  session->AddCandidates(graph, "", 0);
  for (const auto& output : graph.output()) session->output_names_.push_back(output.name());

  const DataType target =
      options.target == TargetType::kFloat16 ? DataType::kFloat16 : DataType::kBFloat16;
  for (const TensorMap& feed : feeds) {
    TensorMap candidate_feed;
    for (const auto& [name, tensor] : feed) {
      candidate_feed[name] = options.keep_io_types ? tensor : NarrowFloat(tensor, target);
    }
    session->candidate_feeds_.push_back(std::move(candidate_feed));
  }
  HALFCAST_RETURN_IF_ERROR(session->RunReference(feeds));
  session->range_seeds_ = session->FindRangeSeeds();
  session->BoundRetainedBytes();
  return session;
}

void Session::AddCandidates(const onnx::GraphProto& graph, const std::string& location,
                            std::size_t top_level) {
  const std::string prefix = location.empty() ? std::string() : absl::StrCat(location, "/");
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    const std::size_t holder = location.empty() ? static_cast<std::size_t>(i) : top_level;
    // The Python tool never blocks Loop/If/Scan: they are always converted, and their bodies'
    // nodes are candidates like any other.
    if (!IsControlFlow(node)) {
      Candidate candidate{NodeLocation{location, static_cast<std::size_t>(i)}, holder, {}, {}};
      if (!location.empty()) {
        for (const std::string& input : node.input()) {
          if (!input.empty()) candidate.body_reads.push_back(input);
        }
        for (const std::string& output : node.output()) {
          if (!output.empty()) candidate.body_outputs.push_back(output);
        }
      }
      candidates_.push_back(std::move(candidate));
      continue;
    }
    for (const onnx::AttributeProto& attribute : node.attribute()) {
      if (attribute.has_g()) {
        AddCandidates(attribute.g(), absl::StrCat(prefix, i, "/", attribute.name()), holder);
      }
      for (int k = 0; k < attribute.graphs_size(); ++k) {
        AddCandidates(attribute.graphs(k),
                      absl::StrCat(prefix, i, "/", attribute.name(), "[", k, "]"), holder);
      }
    }
  }
}

absl::Status Session::RunReference(const std::vector<TensorMap>& feeds) {
  const bool want_values = options_.strategy == SearchStrategy::kErrorGuided;
  for (const TensorMap& feed : feeds) {
    RunOptions run_options;
    run_options.return_all_values = want_values;
    run_options.return_body_values = want_values;
    run_options.deadline = deadline_;
    absl::StatusOr<TensorMap> values = CallUserCode(
        "the evaluator", [&] { return evaluator_->Run(model_, feed, run_options); });
    if (!values.ok()) {
      return absl::Status(values.status().code(),
                          absl::StrCat("evaluating the float32 model: ", values.status().message()));
    }
    TensorMap outputs;
    for (const std::string& name : output_names_) {
      auto it = values->find(name);
      if (it == values->end()) {
        return absl::InternalError(
            absl::StrCat("the evaluator returned no value for output '", name, "'"));
      }
      outputs[name] = it->second;
    }
    // Graph inputs are values too: a feed beyond the target's range is seen like any value.
    for (const auto& [name, tensor] : feed) values->emplace(name, tensor);
    HALFCAST_ASSIGN_OR_RETURN(Verdict self, validator_->Judge(outputs, outputs));
    if (!self.valid) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the float32 model does not validate against itself: ", self.summary));
    }
    reference_outputs_.push_back(std::move(outputs));
    if (want_values) {
      // Only float values are ranked or range-checked.
      TensorMap floats;
      for (auto& [name, tensor] : *values) {
        if (IsFloatType(tensor.type())) floats.emplace(name, std::move(tensor));
      }
      reference_values_.push_back(std::move(floats));
    }
  }
  ++evaluations_;
  return absl::OkStatus();
}

std::vector<std::size_t> Session::RangeSeeds() const { return range_seeds_; }

std::vector<std::size_t> Session::FindRangeSeeds() const {
  std::set<std::size_t> seeds;
  std::set<std::string> beyond;
  for (const TensorMap& values : reference_values_) {
    for (const auto& [name, tensor] : values) {
      if (IsFloatType(tensor.type()) && MaxFiniteMagnitude(tensor) > max_finite_) {
        beyond.insert(name);
      }
    }
  }
  // A body's values are known when the evaluator returns them (the last iteration's, for a
  // Loop or Scan body).
  for (std::size_t c = 0; c < candidates_.size(); ++c) {
    const std::vector<std::string>& reads = ReadsOf(candidates_[c]);
    const std::vector<std::string>& outputs = OutputsOf(candidates_[c]);
    auto is_beyond = [&](const std::string& n) { return beyond.count(n) > 0; };
    if (std::any_of(reads.begin(), reads.end(), is_beyond) ||
        std::any_of(outputs.begin(), outputs.end(), is_beyond)) {
      seeds.insert(c);
    }
  }
  return std::vector<std::size_t>(seeds.begin(), seeds.end());
}

std::vector<NodeLocation> Session::Locations(const std::vector<std::size_t>& candidates) const {
  std::vector<NodeLocation> locations;
  for (std::size_t c : candidates) locations.push_back(candidates_[c].location);
  std::sort(locations.begin(), locations.end());
  return locations;
}

absl::StatusOr<Attempt> Session::Try(const std::vector<std::size_t>& blocked,
                                     bool want_node_scores) {
  return Evaluate(blocked, want_node_scores, /*incremental=*/true);
}

absl::StatusOr<bool> Session::Verify(const std::vector<std::size_t>& blocked, bool may_reuse) {
  if (may_reuse && verified_ && verified_->blocked == blocked) return true;
  HALFCAST_ASSIGN_OR_RETURN(Attempt attempt, Evaluate(blocked, false, /*incremental=*/false));
  return attempt.valid;
}

namespace {

// Keeps per output the largest errors of `verdict` and those already in `worst`.
void RecordWorst(const Verdict& verdict, std::map<std::string, OutputError>* worst) {
  for (const OutputError& error : verdict.errors) {
    OutputError& w = worst->try_emplace(error.name, OutputError{error.name, 0, 0}).first->second;
    w.max_abs_error = std::max(w.max_abs_error, error.max_abs_error);
    w.max_rel_error = std::max(w.max_rel_error, error.max_rel_error);
  }
}

}  // namespace

absl::StatusOr<Attempt> Session::Evaluate(const std::vector<std::size_t>& blocked,
                                          bool want_node_scores, bool incremental) {
  if (options_.max_evaluations > 0 && evaluations_ >= options_.max_evaluations) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "mixed-precision search reached max_evaluations (", options_.max_evaluations,
        ") before finishing"));
  }
  if (std::chrono::steady_clock::now() >= deadline_) {
    return absl::DeadlineExceededError(absl::StrCat(
        "mixed-precision search reached its time limit (", options_.time_limit_seconds,
        " s) before finishing, after ", evaluations_, " evaluations"));
  }
  ConvertOptions convert_options = CandidateConvertOptions(options_);
  BlockLocations(Locations(blocked), &convert_options);
  absl::StatusOr<ConvertResult> converted = ConvertFloatToFloat16(model_, convert_options);
  if (!converted.ok()) {
    return absl::Status(converted.status().code(),
                        absl::StrCat("converting a candidate with ", blocked.size(),
                                     " nodes kept in float32: ", converted.status().message()));
  }
  std::vector<bool> blocked_candidates(candidates_.size(), false);
  for (std::size_t c : blocked) blocked_candidates[c] = true;

  // The cached run that lets the most nodes be skipped.
  const CachedRun* base = nullptr;
  std::vector<bool> base_affected;
  if (incremental) {
    std::size_t best_reused = 0;
    for (const CachedRun& cached : cache_) {
      std::vector<bool> changed(nodes_.size(), false);
      for (std::size_t c = 0; c < candidates_.size(); ++c) {
        if (cached.blocked[c] != blocked_candidates[c]) changed[candidates_[c].top_level] = true;
      }
      std::vector<bool> affected = AffectedBy(changed);
      const std::size_t reused =
          static_cast<std::size_t>(std::count(affected.begin(), affected.end(), false));
      if (reused > best_reused) {
        best_reused = reused;
        base = &cached;
        base_affected = std::move(affected);
      }
    }
  }
  const bool keep_values = want_node_scores || incremental;
  Attempt attempt;
  attempt.valid = true;
  double score = 0;
  std::string summary;
  std::map<std::string, OutputError> worst;
  CachedRun run{blocked_candidates, {}};
  for (std::size_t f = 0; f < candidate_feeds_.size(); ++f) {
    RunOptions run_options;
    run_options.return_all_values = keep_values;
    run_options.return_body_values = want_node_scores;
    run_options.deadline = deadline_;
    TensorMap reused;
    if (base != nullptr) {
      reused = Reusable(base->values[f], base_affected);
      if (!reused.empty()) run_options.precomputed = &reused;
    }
    absl::StatusOr<TensorMap> values =
        CallUserCode("the evaluator", [&] {
          return evaluator_->Run(converted->model, candidate_feeds_[f], run_options);
        });
    if (!values.ok()) {
      return absl::Status(values.status().code(),
                          absl::StrCat("evaluating a candidate with ", blocked.size(),
                                       " nodes kept in float32: ", values.status().message()));
    }
    for (auto& [name, tensor] : reused) values->emplace(name, std::move(tensor));
    HALFCAST_ASSIGN_OR_RETURN(Verdict verdict,
                              validator_->Judge(reference_outputs_[f], WidenedOutputs(*values)));
    attempt.valid = attempt.valid && verdict.valid;
    if (f == 0 || verdict.score > score) {
      score = verdict.score;
      summary = verdict.summary;
    }
    RecordWorst(verdict, &worst);
    if (keep_values) run.values.push_back(*std::move(values));
  }
  // A candidate good in the evaluator must be good as ONNX Runtime's CPU provider runs it too
  // (it rounds in other places, and fuses Conv+BatchNormalization in float16); its values are
  // not reused or scored, only judged.
  for (std::size_t f = 0; attempt.valid && ort_cpu_evaluator_ && f < candidate_feeds_.size();
       ++f) {
    RunOptions run_options;
    run_options.deadline = deadline_;
    absl::StatusOr<TensorMap> values = ort_cpu_evaluator_->Run(converted->model,
                                                               candidate_feeds_[f], run_options);
    if (!values.ok()) {
      return absl::Status(values.status().code(),
                          absl::StrCat("evaluating a candidate as ONNX Runtime's CPU float16 "
                                       "runs it: ", values.status().message()));
    }
    HALFCAST_ASSIGN_OR_RETURN(Verdict verdict,
                              validator_->Judge(reference_outputs_[f], WidenedOutputs(*values)));
    if (!verdict.valid || verdict.score > score) {
      score = std::max(score, verdict.score);
      summary = absl::StrCat(verdict.summary, " (as ONNX Runtime CPU runs float16)");
    }
    attempt.valid = verdict.valid;
    RecordWorst(verdict, &worst);
  }
  ++evaluations_;
  if (smallest_score_ < 0 || score < smallest_score_) {
    smallest_score_ = score;
    smallest_summary_ = absl::StrCat(summary, " with ", blocked.size(), " of ",
                                     candidates_.size(), " nodes kept in float32");
    smallest_blocked_ = blocked;
    smallest_errors_.clear();
    for (auto& [name, error] : worst) smallest_errors_.push_back(error);
  }
  Log(options_.log, LogLevel::kInfo,
      absl::StrCat("attempt ", evaluations_ - 1, ": ", blocked.size(), " of ", candidates_.size(),
                   " nodes kept in float32: ", attempt.valid ? "validates" : "fails",
                   summary.empty() ? "" : absl::StrCat(" (", summary, ")")));
  // Scores guide the next attempt only after a failure.
  if (want_node_scores && !attempt.valid) attempt.node_scores = NodeScores(run.values);
  if (keep_values && run.values.size() == candidate_feeds_.size()) {
    cache_.push_front(std::move(run));
    if (cache_.size() > kCachedRuns) cache_.pop_back();
    BoundRetainedBytes();
  }
  if (attempt.valid) {
    Verified verified{blocked, *std::move(converted), {}};
    for (auto& [name, error] : worst) verified.errors.push_back(error);
    verified_ = std::move(verified);
  }
  return attempt;
}

TensorMap Session::WidenedOutputs(const TensorMap& values) const {
  TensorMap outputs;
  for (const std::string& name : output_names_) {
    auto it = values.find(name);
    if (it != values.end()) outputs[name] = WidenToFloat(it->second);
  }
  return outputs;
}

std::vector<bool> Session::AffectedBy(const std::vector<bool>& changed) const {
  // A node whose state changes also changes how initializers and Constants it shares are stored
  // (float16 with a Cast for float32 users, or float32), so every user of those is affected.
  std::set<std::string> shared;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (changed[i]) shared.insert(nodes_[i].initializers.begin(), nodes_[i].initializers.end());
  }
  std::vector<bool> affected(nodes_.size(), false);
  std::set<std::string> dirty;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const NodeInfo& node = nodes_[i];
    auto in = [](const std::set<std::string>& set) {
      return [&set](const std::string& n) { return set.count(n) > 0; };
    };
    affected[i] = changed[i] || std::any_of(node.reads.begin(), node.reads.end(), in(dirty)) ||
                  std::any_of(node.reads.begin(), node.reads.end(), in(shared)) ||
                  (node.constant &&
                   std::any_of(node.outputs.begin(), node.outputs.end(), in(shared)));
    if (affected[i]) dirty.insert(node.outputs.begin(), node.outputs.end());
  }
  return affected;
}

TensorMap Session::Reusable(const TensorMap& values, const std::vector<bool>& affected) const {
  TensorMap reused;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (affected[i]) continue;
    const NodeInfo& node = nodes_[i];
    // Graph outputs may be renamed or cast by the converter; recomputing them is cheap.
    const bool complete = std::all_of(node.outputs.begin(), node.outputs.end(), [&](const auto& n) {
      return n.empty() || (values.count(n) > 0 &&
                           std::find(output_names_.begin(), output_names_.end(), n) ==
                               output_names_.end());
    });
    if (!complete) continue;
    for (const std::string& name : node.outputs) {
      if (!name.empty()) reused.emplace(name, values.at(name));
    }
  }
  return reused;
}

std::vector<double> Session::NodeScores(const std::vector<TensorMap>& values) const {
  std::vector<double> scores(candidates_.size(), 0.0);
  for (std::size_t f = 0; f < values.size() && f < reference_values_.size(); ++f) {
    absl::flat_hash_map<std::string, double> deviation;
    for (const auto& [name, reference] : reference_values_[f]) {
      if (!IsFloatType(reference.type())) continue;
      auto it = values[f].find(name);
      if (it != values[f].end()) deviation[name] = Deviation(reference, it->second);
    }
    auto of = [&](const std::string& name) {
      auto it = deviation.find(name);
      return it == deviation.end() ? 0.0 : it->second;
    };
    auto measured = [&](const std::vector<std::string>& names) {
      return std::any_of(names.begin(), names.end(),
                         [&](const std::string& n) { return deviation.count(n) > 0; });
    };
    // What a node adds on top of what it was given; an overflow of its own is infinite.
    auto own_error = [&](const std::vector<std::string>& reads,
                         const std::vector<std::string>& outputs) {
      double in = 0;
      double out = 0;
      for (const std::string& name : reads) in = std::max(in, of(name));
      for (const std::string& name : outputs) out = std::max(out, of(name));
      return std::isinf(out) ? (std::isinf(in) ? 0.0 : kInf) : std::max(0.0, out - in);
    };
    // A holder (a main-graph If/Loop/Scan) reads every value its bodies capture, often hundreds:
    // scored once per feed, not once per body node it stands in for.
    std::vector<std::optional<double>> holder_error(nodes_.size());
    for (std::size_t c = 0; c < candidates_.size(); ++c) {
      const Candidate& candidate = candidates_[c];
      // A body node whose values the evaluator did not return shares the score of the
      // main-graph node holding it.
      const bool own_values = candidate.location.graph.empty() || measured(candidate.body_outputs);
      double own;
      if (own_values) {
        own = own_error(ReadsOf(candidate), OutputsOf(candidate));
      } else {
        std::optional<double>& held = holder_error[candidate.top_level];
        if (!held) {
          const NodeInfo& holder = nodes_[candidate.top_level];
          held = own_error(holder.reads, holder.outputs);
        }
        own = *held;
      }
      scores[c] = std::max(scores[c], own);
    }
  }
  return scores;
}

namespace {

int64_t BytesOf(const std::vector<TensorMap>& maps) {
  int64_t bytes = 0;
  for (const TensorMap& map : maps) {
    for (const auto& [name, tensor] : map) bytes += static_cast<int64_t>(tensor.byte_size());
  }
  return bytes;
}

}  // namespace

void Session::BoundRetainedBytes() {
  // Tensors may share bytes between runs, so this over-counts: the bound errs on the safe side.
  auto retained = [&] {
    int64_t bytes = BytesOf(reference_values_);
    for (const CachedRun& run : cache_) bytes += BytesOf(run.values);
    return bytes;
  };
  int64_t bytes = retained();
  const int64_t bound = options_.max_retained_bytes;
  while (bound != 0 && !cache_.empty() && bytes > bound) {
    cache_.pop_back();
    bytes = retained();
  }
  if (bound != 0 && bytes > bound && !reference_values_.empty()) {
    reference_values_.clear();
    bytes = 0;
    Log(options_.log, LogLevel::kWarning,
        absl::StrCat("the float32 reference's values exceed max_retained_bytes (", bound,
                     "); nodes are ranked in graph order, not by their float16 error"));
  }
  peak_retained_bytes_ = std::max(peak_retained_bytes_, bytes);
}

absl::Status Session::Report(const std::vector<Segment>& segments) {
  if (!options_.progress) return absl::OkStatus();
  SearchProgress progress;
  progress.segments = segments;
  progress.evaluations = evaluations_;
  progress.elapsed_seconds = elapsed_seconds();
  HALFCAST_ASSIGN_OR_RETURN(
      const bool go_on, CallUserCode("the progress callback", [&]() -> absl::StatusOr<bool> {
        return options_.progress(progress);
      }));
  if (!go_on) {
    return absl::CancelledError(absl::StrCat(
        "mixed-precision search cancelled by the progress callback after ", evaluations_,
        " evaluations"));
  }
  return absl::OkStatus();
}

absl::Status Session::NothingValidates() const {
  const bool tightened = options_.safety_margin > 0 && (options_.rtol || options_.atol);
  return absl::FailedPreconditionError(absl::StrCat(
      "no candidate model validates", tightened
          ? absl::StrCat(" within the tolerances tightened by the safety margin (",
                         options_.safety_margin, ")")
          : std::string(),
      "; the smallest error seen: ", smallest_summary_, " (after ", evaluations_,
      " evaluations)"));
}

double Session::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

MixedPrecisionResult Session::TakeResult() {
  MixedPrecisionResult result;
  if (verified_) {
    MarkSearchKept(Locations(verified_->blocked), &verified_->converted.report);
    result.model = std::move(verified_->converted.model);
    result.report.conversion = std::move(verified_->converted.report);
    result.report.output_errors = std::move(verified_->errors);
    verified_.reset();
  }
  result.report.evaluations = evaluations_;
  result.report.seconds = elapsed_seconds();
  result.report.peak_retained_bytes = peak_retained_bytes_;
  return result;
}

absl::StatusOr<MixedPrecisionResult> Session::TakeBestSoFar(const absl::Status& stop,
                                                            std::vector<NodeLocation>* kept) {
  if (verified_) {
    *kept = Locations(verified_->blocked);
    MixedPrecisionResult result = TakeResult();
    result.report.stopped = std::string(stop.message());
    return result;
  }
  if (smallest_score_ < 0) return stop;
  ConvertOptions convert_options = CandidateConvertOptions(options_);
  *kept = Locations(smallest_blocked_);
  BlockLocations(*kept, &convert_options);
  HALFCAST_ASSIGN_OR_RETURN(ConvertResult converted,
                            ConvertFloatToFloat16(model_, convert_options));
  MarkSearchKept(*kept, &converted.report);
  MixedPrecisionResult result;
  result.model = std::move(converted.model);
  result.report.conversion = std::move(converted.report);
  result.report.output_errors = smallest_errors_;
  result.report.evaluations = evaluations_;
  result.report.seconds = elapsed_seconds();
  result.report.validated = false;
  result.report.stopped = std::string(stop.message());
  return result;
}

}  // namespace halfcast::search
