// Converts MODEL (tests/capi/data/tiny.onnx, 3 nodes) with the C++ API and with the C API of an
// installed halfcast; both must agree, and the versions of headers and libraries must match.
#include <cstdio>
#include <cstring>

#include "halfcast/halfcast.h"
#include "halfcast/halfcast_c.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  absl::StatusOr<onnx::ModelProto> model = halfcast::LoadModel(argv[1]);
  if (!model.ok()) return std::fprintf(stderr, "%s\n", model.status().ToString().c_str()), 1;
  absl::StatusOr<halfcast::ConvertResult> result =
      halfcast::ConvertFloatToFloat16(*model, halfcast::ConvertOptions());
  if (!result.ok()) return std::fprintf(stderr, "%s\n", result.status().ToString().c_str()), 1;

  halfcast_model* c_model = nullptr;
  halfcast_model* c_converted = nullptr;
  halfcast_report* report = nullptr;
  int64_t c_nodes = -1;
  halfcast_status* status = halfcast_model_load_file(argv[1], &c_model);
  if (!status) status = halfcast_convert_float_to_float16(c_model, nullptr, &c_converted, &report);
  if (!status) status = halfcast_report_get(report, HALFCAST_REPORT_NODES_CONVERTED, &c_nodes);
  if (status) std::fprintf(stderr, "C API: %s\n", halfcast_status_message(status));
  halfcast_status_destroy(status);
  halfcast_report_destroy(report);
  halfcast_model_destroy(c_converted);
  halfcast_model_destroy(c_model);

  std::printf("halfcast %s (C++ header %s, C ABI %d): %lld nodes converted (C API: %lld)\n",
              halfcast::Version(), HALFCAST_VERSION_STRING, halfcast_abi_version(),
              static_cast<long long>(result->report.nodes_converted),
              static_cast<long long>(c_nodes));
  const bool ok = std::strcmp(halfcast::Version(), HALFCAST_VERSION_STRING) == 0 &&
                  std::strcmp(halfcast_version(), HALFCAST_VERSION_STRING) == 0 &&
                  HALFCAST_C_ABI_COMPATIBLE() && result->report.nodes_converted == 3 &&
                  c_nodes == 3;
  return ok ? 0 : 1;
}
