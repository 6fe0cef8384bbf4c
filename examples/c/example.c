/* halfcast from C: convert a model to float16, then find a mixed-precision version whose output
 * a validate callback (written here, in C) accepts.
 *
 *   cc example.c $(pkg-config --cflags --libs halfcast) -lm -o example
 *   ./example model.onnx out_dir
 *
 * The model is the PaddleOCR text-direction classifier (input x: [1, 3, 48, 192]). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "halfcast/halfcast_c.h"

/* Prints and frees `status`; returns non-zero if there was an error. */
static int failed(halfcast_status* status, const char* what) {
  if (status == NULL) return 0;
  fprintf(stderr, "%s: %s (%s)\n", what, halfcast_status_message(status),
          halfcast_status_code_name(halfcast_status_code_of(status)));
  halfcast_status_destroy(status);
  return 1;
}

static float half_to_float(uint16_t h) {
  const int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  float value = exponent == 0    ? ldexpf((float)mantissa, -24)
                : exponent == 31 ? (mantissa ? NAN : INFINITY)
                                 : ldexpf((float)(mantissa | 0x400), exponent - 25);
  return (h & 0x8000) ? -value : value;
}

static float element(const halfcast_tensor* t, int64_t i) {
  return halfcast_tensor_element_type(t) == HALFCAST_ELEMENT_FLOAT16
             ? half_to_float(((const uint16_t*)halfcast_tensor_data(t))[i])
             : ((const float*)halfcast_tensor_data(t))[i];
}

/* Accept when every output's class probabilities are within 0.01 of float32's. */
static int validate(const halfcast_named_tensors* reference,
                    const halfcast_named_tensors* candidate, void* user_data) {
  int* calls = (int*)user_data;
  size_t i;
  ++*calls;
  for (i = 0; i < halfcast_named_tensors_count(reference); ++i) {
    const halfcast_tensor* want = halfcast_named_tensors_tensor(reference, i);
    const halfcast_tensor* got =
        halfcast_named_tensors_find(candidate, halfcast_named_tensors_name(reference, i));
    int64_t j;
    if (got == NULL || halfcast_tensor_element_count(got) != halfcast_tensor_element_count(want)) {
      return 0;
    }
    for (j = 0; j < halfcast_tensor_element_count(want); ++j) {
      if (!(fabsf(element(got, j) - element(want, j)) <= 0.01f)) return 0;
    }
  }
  return 1;
}

int main(int argc, char** argv) {
  static const int64_t dims[4] = {1, 3, 48, 192};
  static float x[1 * 3 * 48 * 192];
  char path[4096];
  halfcast_model* model = NULL;
  halfcast_model* fp16 = NULL;
  halfcast_model* mixed = NULL;
  halfcast_convert_options* convert = NULL;
  halfcast_mixed_precision_options* options = NULL;
  halfcast_report* report = NULL;
  halfcast_tensor* tensor = NULL;
  halfcast_named_tensors* set = NULL;
  halfcast_feeds* feeds = NULL;
  int64_t converted = 0, kept = 0, evaluations = 0;
  int calls = 0, error = 0;
  size_t i;

  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL.onnx OUT_DIR\n", argv[0]);
    return 2;
  }
  if (!HALFCAST_C_ABI_COMPATIBLE()) {
    fprintf(stderr, "libhalfcast_c ABI %d, header %d\n", halfcast_abi_version(),
            HALFCAST_C_ABI_VERSION);
    return 1;
  }
  for (i = 0; i < sizeof(x) / sizeof(x[0]); ++i) x[i] = (float)sin(0.001 * (double)i);

  /* Whole-model conversion, float32 inputs and outputs kept. */
  error = failed(halfcast_model_load_file(argv[1], &model), "load") ||
          failed(halfcast_convert_options_create(&convert), "options") ||
          failed(halfcast_convert_options_set_bool(convert, HALFCAST_OPTION_KEEP_IO_TYPES, 1),
                 "keep_io_types") ||
          failed(halfcast_convert_float_to_float16(model, convert, &fp16, &report), "convert");
  if (!error) {
    snprintf(path, sizeof(path), "%s/model.fp16.onnx", argv[2]);
    error =
        failed(halfcast_model_save(fp16, path, NULL), "save") ||
        failed(halfcast_report_get(report, HALFCAST_REPORT_NODES_CONVERTED, &converted), "report");
    printf("float16: %lld nodes converted, saved to %s\n", (long long)converted, path);
  }
  halfcast_report_destroy(report);
  report = NULL;

  /* Mixed precision judged by the callback above, on one deterministic input. */
  error =
      error ||
      failed(halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, dims, 4, x, sizeof(x),
                                    HALFCAST_TENSOR_BORROW, &tensor),
             "tensor") ||
      failed(halfcast_named_tensors_create(&set), "set") ||
      failed(halfcast_named_tensors_add(set, "x", tensor), "set") ||
      failed(halfcast_feeds_create(&feeds), "feeds") ||
      failed(halfcast_feeds_add(feeds, set), "feeds") ||
      failed(halfcast_mixed_precision_options_create(&options), "options") ||
      failed(halfcast_mixed_precision_options_set_bool(options, HALFCAST_OPTION_KEEP_IO_TYPES, 1),
             "keep_io_types") ||
      failed(halfcast_mixed_precision_options_set_validate_callback(options, validate, &calls),
             "validate") ||
      failed(halfcast_auto_convert_mixed_precision(model, feeds, options, &mixed, &report),
             "mixed precision");
  if (!error) {
    error =
        failed(halfcast_report_get(report, HALFCAST_REPORT_NODES_KEPT, &kept), "report") ||
        failed(halfcast_report_get(report, HALFCAST_REPORT_EVALUATIONS, &evaluations), "report");
    printf("mixed precision: %lld nodes kept in float32, %lld evaluations, %d validate calls\n",
           (long long)kept, (long long)evaluations, calls);
    error = calls == 0;
  }

  halfcast_report_destroy(report);
  halfcast_mixed_precision_options_destroy(options);
  halfcast_feeds_destroy(feeds);
  halfcast_named_tensors_destroy(set);
  halfcast_tensor_destroy(tensor);
  halfcast_convert_options_destroy(convert);
  halfcast_model_destroy(mixed);
  halfcast_model_destroy(fp16);
  halfcast_model_destroy(model);
  return error ? 1 : 0;
}
