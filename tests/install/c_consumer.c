/* Converts MODEL (tests/capi/data/tiny.onnx, 3 nodes) through the C API of an installed
 * halfcast, found by pkg-config or by find_package(halfcast COMPONENTS C), and checks that the
 * library serializes a float16 model. */
#include <stdio.h>

#include "halfcast/halfcast_c.h"

int main(int argc, char** argv) {
  halfcast_model* model = NULL;
  halfcast_model* converted = NULL;
  halfcast_report* report = NULL;
  halfcast_buffer* bytes = NULL;
  int64_t nodes = -1;
  halfcast_status* status;
  int ok;
  if (argc != 2) return 2;
  status = halfcast_model_load_file(argv[1], &model);
  if (!status) status = halfcast_convert_float_to_float16(model, NULL, &converted, &report);
  if (!status) status = halfcast_report_get(report, HALFCAST_REPORT_NODES_CONVERTED, &nodes);
  if (!status) status = halfcast_model_serialize(converted, &bytes);
  if (status) fprintf(stderr, "%s\n", halfcast_status_message(status));
  printf("halfcast %s (ABI %d): %lld nodes converted, %zu bytes\n", halfcast_version(),
         halfcast_abi_version(), (long long)nodes, halfcast_buffer_size(bytes));
  ok = status == NULL && nodes == 3 && halfcast_buffer_size(bytes) > 0 &&
       HALFCAST_C_ABI_COMPATIBLE();
  halfcast_status_destroy(status);
  halfcast_buffer_destroy(bytes);
  halfcast_report_destroy(report);
  halfcast_model_destroy(converted);
  halfcast_model_destroy(model);
  return ok ? 0 : 1;
}
