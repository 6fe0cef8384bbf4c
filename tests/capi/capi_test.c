/* Tests of the C API, entry point by entry point, run under valgrind by ctest (zero leaks).
 * tiny.onnx is y = Relu(x @ W + b) (data/make_tiny.py); the callbacks recompute it in C to check
 * the numbers the library produces. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define TINY HALFCAST_CAPI_DATA_DIR "/tiny.onnx"

static const float kW[4][4] = {{0.5f, -1.0f, 2.0f, 0.25f},
                               {1.5f, 0.75f, -0.5f, 1e-9f},
                               {-2.0f, 0.125f, 1.0f, 3.0f},
                               {0.0f, 2.5f, -1.25f, 2e4f}};
static const float kB[4] = {0.1f, -0.2f, 0.3f, -0.4f};
static const float kX[4] = {0.5f, -0.25f, 1.0f, 0.75f};
static const int64_t kDims[2] = {1, 4};

/* The float32 result of tiny.onnx, computed in C. */
static void tiny_reference(const float x[4], float y[4]) {
  int i, j;
  for (j = 0; j < 4; ++j) {
    float sum = 0;
    for (i = 0; i < 4; ++i) sum += x[i] * kW[i][j];
    sum += kB[j];
    y[j] = sum > 0 ? sum : 0;
  }
}

/* A marker an out-parameter holds before a failing call: it must still hold it afterwards. */
#define UNTOUCHED ((void*)0x1234)

static char temp_dir[64];

static const char* temp_path(const char* name, char* buffer, size_t size) {
  snprintf(buffer, size, "%s/%s", temp_dir, name);
  return buffer;
}

static int file_exists(const char* path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static halfcast_model* load(const char* path) {
  halfcast_model* model = NULL;
  CHECK_OK(halfcast_model_load_file(path, &model));
  return model;
}

/* Feeds with `count` sets {x: kX}. */
static halfcast_feeds* tiny_feed_sets(int count) {
  halfcast_tensor* x = NULL;
  halfcast_named_tensors* set = NULL;
  halfcast_feeds* feeds = NULL;
  int i;
  CHECK_OK(halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, kDims, 2, kX, sizeof(kX),
                                  HALFCAST_TENSOR_BORROW, &x));
  CHECK_OK(halfcast_named_tensors_create(&set));
  CHECK_OK(halfcast_named_tensors_add(set, "x", x));
  CHECK_OK(halfcast_feeds_create(&feeds));
  for (i = 0; i < count; ++i) CHECK_OK(halfcast_feeds_add(feeds, set));
  halfcast_named_tensors_destroy(set);
  halfcast_tensor_destroy(x);
  return feeds;
}

static halfcast_feeds* tiny_feeds(void) { return tiny_feed_sets(1); }

static int64_t report_value(const halfcast_report* report, halfcast_report_value value) {
  int64_t result = -1;
  CHECK_OK(halfcast_report_get(report, value, &result));
  return result;
}

/* ----- versions and status ----- */

static void test_version(void) {
  int major = -1, minor = -1, patch = -1;
  CHECK(HALFCAST_C_ABI_COMPATIBLE());
  CHECK(halfcast_abi_version() == 1);
  CHECK(sscanf(halfcast_version(), "%d.%d.%d", &major, &minor, &patch) == 3);
  CHECK(major >= 0 && minor >= 0 && patch >= 0);
}

static void test_status(void) {
  halfcast_status* status = halfcast_status_create(HALFCAST_NOT_FOUND, "no such thing");
  CHECK(halfcast_status_code_of(status) == HALFCAST_NOT_FOUND);
  CHECK(strcmp(halfcast_status_message(status), "no such thing") == 0);
  halfcast_status_destroy(status);
  status = halfcast_status_create(HALFCAST_OK, NULL);
  CHECK(halfcast_status_code_of(status) == HALFCAST_UNKNOWN);
  CHECK(strcmp(halfcast_status_message(status), "") == 0);
  halfcast_status_destroy(status);
  CHECK(halfcast_status_code_of(NULL) == HALFCAST_OK);
  CHECK(strcmp(halfcast_status_message(NULL), "") == 0);
  CHECK(strcmp(halfcast_status_code_name(HALFCAST_CANCELLED), "cancelled") == 0);
  CHECK(strcmp(halfcast_status_code_name(HALFCAST_UNAUTHENTICATED), "unauthenticated") == 0);
  CHECK(strcmp(halfcast_status_code_name((halfcast_status_code)99), "unknown_code") == 0);
  halfcast_status_destroy(NULL);
}

/* Every handle type's destroy takes NULL; every accessor tolerates NULL. */
static void test_null_handles(void) {
  halfcast_buffer_destroy(NULL);
  halfcast_model_destroy(NULL);
  halfcast_save_options_destroy(NULL);
  halfcast_tensor_destroy(NULL);
  halfcast_named_tensors_destroy(NULL);
  halfcast_feeds_destroy(NULL);
  halfcast_convert_options_destroy(NULL);
  halfcast_mixed_precision_options_destroy(NULL);
  halfcast_report_destroy(NULL);
  CHECK(halfcast_buffer_data(NULL) == NULL && halfcast_buffer_size(NULL) == 0);
  CHECK(halfcast_tensor_element_type(NULL) == HALFCAST_ELEMENT_UNDEFINED);
  CHECK(halfcast_tensor_rank(NULL) == 0 && halfcast_tensor_dims(NULL) == NULL);
  CHECK(halfcast_tensor_data(NULL) == NULL && halfcast_tensor_byte_size(NULL) == 0);
  CHECK(halfcast_tensor_element_count(NULL) == 0);
  CHECK(halfcast_named_tensors_count(NULL) == 0 && halfcast_named_tensors_name(NULL, 0) == NULL);
  CHECK(halfcast_named_tensors_tensor(NULL, 0) == NULL);
  CHECK(halfcast_named_tensors_find(NULL, "x") == NULL);
  CHECK(halfcast_feeds_count(NULL) == 0);
  CHECK(halfcast_progress_evaluations(NULL) == 0 && halfcast_progress_segment_count(NULL) == 0);
  CHECK(halfcast_progress_elapsed_seconds(NULL) == 0);
  CHECK(halfcast_progress_segment(NULL, 0, NULL, NULL, NULL) == 0);
  CHECK(strcmp(halfcast_progress_text(NULL), "") == 0);
}

/* Every fallible entry point names the NULL argument it was given and touches no output. */
static void test_null_arguments(void) {
  const halfcast_status_code kInvalid = HALFCAST_INVALID_ARGUMENT;
  halfcast_model* model = UNTOUCHED;
  halfcast_buffer* buffer = UNTOUCHED;
  halfcast_report* report = UNTOUCHED;
  halfcast_tensor* tensor = NULL;
  halfcast_named_tensors* set = NULL;
  halfcast_feeds* feeds = NULL;
  halfcast_convert_options* convert = NULL;
  halfcast_mixed_precision_options* mixed = NULL;
  halfcast_model* tiny = load(TINY);
  int64_t value = 0;
  const float x = 1;

  CHECK_CODE(halfcast_model_load_file(NULL, &model), kInvalid, "`path` is NULL");
  CHECK_CODE(halfcast_model_load_file(TINY, NULL), kInvalid, "`out_model` is NULL");
  CHECK_CODE(halfcast_model_load_bytes(NULL, 10, &model), kInvalid, "`data` is NULL");
  CHECK_CODE(halfcast_model_load_bytes("x", 1, NULL), kInvalid, "out_model");
  CHECK_CODE(halfcast_save_options_create(NULL), kInvalid, "out");
  CHECK_CODE(halfcast_save_options_set_external_data(NULL, 1, 0, NULL), kInvalid, "options");
  CHECK_CODE(halfcast_model_save(NULL, "x.onnx", NULL), kInvalid, "model");
  CHECK_CODE(halfcast_model_save(tiny, NULL, NULL), kInvalid, "path");
  CHECK_CODE(halfcast_model_serialize(NULL, &buffer), kInvalid, "model");
  CHECK_CODE(halfcast_model_serialize(tiny, NULL), kInvalid, "out_buffer");
  CHECK_CODE(
      halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, NULL, 1, &x, 4, HALFCAST_TENSOR_COPY, &tensor),
      kInvalid, "dims");
  CHECK_CODE(
      halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, NULL, 0, &x, 4, HALFCAST_TENSOR_COPY, NULL),
      kInvalid, "out_tensor");
  CHECK_CODE(halfcast_named_tensors_create(NULL), kInvalid, "out");
  CHECK_CODE(halfcast_feeds_create(NULL), kInvalid, "out");
  CHECK_CODE(halfcast_convert_options_create(NULL), kInvalid, "out");
  CHECK_CODE(halfcast_mixed_precision_options_create(NULL), kInvalid, "out");
  CHECK_OK(halfcast_named_tensors_create(&set));
  CHECK_OK(halfcast_feeds_create(&feeds));
  CHECK_OK(halfcast_convert_options_create(&convert));
  CHECK_OK(halfcast_mixed_precision_options_create(&mixed));
  CHECK_OK(halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, NULL, 0, &x, 4, HALFCAST_TENSOR_COPY,
                                  &tensor));
  CHECK_CODE(halfcast_named_tensors_add(NULL, "x", tensor), kInvalid, "set");
  CHECK_CODE(halfcast_named_tensors_add(set, NULL, tensor), kInvalid, "name");
  CHECK_CODE(halfcast_named_tensors_add(set, "x", NULL), kInvalid, "tensor");
  CHECK_CODE(halfcast_feeds_add(NULL, set), kInvalid, "feeds");
  CHECK_CODE(halfcast_feeds_add(feeds, NULL), kInvalid, "set");
  CHECK_CODE(halfcast_convert_options_set_bool(NULL, HALFCAST_OPTION_KEEP_IO_TYPES, 1), kInvalid,
             "options");
  CHECK_CODE(halfcast_convert_options_set_int(NULL, HALFCAST_OPTION_TARGET, 0), kInvalid,
             "options");
  CHECK_CODE(halfcast_convert_options_set_double(NULL, HALFCAST_OPTION_MAX_FINITE_VAL, 1), kInvalid,
             "options");
  CHECK_CODE(halfcast_convert_options_set_strings(NULL, HALFCAST_OPTION_OP_BLOCK_LIST, NULL, 0),
             kInvalid, "options");
  CHECK_CODE(halfcast_convert_options_set_strings(convert, HALFCAST_OPTION_OP_BLOCK_LIST, NULL, 2),
             kInvalid, "values are NULL");
  CHECK_CODE(
      halfcast_convert_options_set_ints(NULL, HALFCAST_OPTION_NODE_INDEX_BLOCK_LIST, NULL, 0),
      kInvalid, "options");
  CHECK_CODE(
      halfcast_convert_options_set_ints(convert, HALFCAST_OPTION_NODE_INDEX_BLOCK_LIST, NULL, 1),
      kInvalid, "values");
  CHECK_CODE(halfcast_convert_options_set_log_callback(NULL, NULL, NULL), kInvalid, "options");
  CHECK_CODE(halfcast_mixed_precision_options_set_bool(NULL, HALFCAST_OPTION_KEEP_IO_TYPES, 1),
             kInvalid, "options");
  CHECK_CODE(halfcast_mixed_precision_options_set_int(NULL, HALFCAST_OPTION_TARGET, 0), kInvalid,
             "options");
  CHECK_CODE(halfcast_mixed_precision_options_set_double(NULL, HALFCAST_OPTION_RTOL, 1), kInvalid,
             "options");
  CHECK_CODE(
      halfcast_mixed_precision_options_set_strings(NULL, HALFCAST_OPTION_OP_BLOCK_LIST, NULL, 0),
      kInvalid, "options");
  CHECK_CODE(halfcast_mixed_precision_options_set_log_callback(NULL, NULL, NULL), kInvalid,
             "options");
  CHECK_CODE(halfcast_mixed_precision_options_set_validate_callback(NULL, NULL, NULL), kInvalid,
             "options");
  CHECK_CODE(halfcast_mixed_precision_options_set_evaluator_callback(NULL, NULL, NULL), kInvalid,
             "options");
  CHECK_CODE(halfcast_mixed_precision_options_set_progress_callback(NULL, NULL, NULL), kInvalid,
             "options");
  CHECK_CODE(halfcast_report_get(NULL, HALFCAST_REPORT_NODES_CONVERTED, &value), kInvalid,
             "report");
  CHECK_CODE(halfcast_report_kept_node(NULL, 0, NULL, NULL, NULL, NULL, NULL), kInvalid, "report");
  CHECK_CODE(halfcast_report_to_json(NULL, &buffer), kInvalid, "report");
  CHECK_CODE(halfcast_convert_float_to_float16(NULL, NULL, &model, &report), kInvalid, "model");
  CHECK_CODE(halfcast_convert_float_to_float16(tiny, NULL, NULL, &report), kInvalid, "out_model");
  CHECK_CODE(halfcast_convert_file(NULL, "out.onnx", NULL, NULL, NULL), kInvalid, "input_path");
  CHECK_CODE(halfcast_convert_file(TINY, NULL, NULL, NULL, NULL), kInvalid, "output_path");
  CHECK_CODE(halfcast_auto_convert_mixed_precision(NULL, feeds, mixed, &model, NULL), kInvalid,
             "model");
  CHECK_CODE(halfcast_auto_convert_mixed_precision(tiny, NULL, mixed, &model, NULL), kInvalid,
             "feeds");
  CHECK_CODE(halfcast_auto_convert_mixed_precision(tiny, feeds, mixed, NULL, NULL), kInvalid,
             "out_model");
  CHECK_CODE(halfcast_auto_convert_mixed_precision_file(NULL, "o", feeds, mixed, NULL, NULL),
             kInvalid, "input_path");
  CHECK_CODE(halfcast_auto_convert_mixed_precision_file(TINY, NULL, feeds, mixed, NULL, NULL),
             kInvalid, "output_path");
  CHECK_CODE(halfcast_auto_convert_mixed_precision_file(TINY, "o", NULL, mixed, NULL, NULL),
             kInvalid, "feeds");
  CHECK(model == UNTOUCHED && buffer == UNTOUCHED && report == UNTOUCHED);

  halfcast_tensor_destroy(tensor);
  halfcast_mixed_precision_options_destroy(mixed);
  halfcast_convert_options_destroy(convert);
  halfcast_feeds_destroy(feeds);
  halfcast_named_tensors_destroy(set);
  halfcast_model_destroy(tiny);
}

/* ----- models ----- */

static void test_model_errors(void) {
  halfcast_model* model = UNTOUCHED;
  static const char kGarbage[] = "this is not an ONNX model at all";
  char path[128];
  CHECK_CODE(halfcast_model_load_file(HALFCAST_CAPI_DATA_DIR "/missing.onnx", &model),
             HALFCAST_NOT_FOUND, "missing.onnx");
  CHECK_CODE(halfcast_model_load_bytes(kGarbage, sizeof(kGarbage), &model),
             HALFCAST_INVALID_ARGUMENT, "");
  CHECK_CODE(halfcast_model_load_bytes(NULL, 0, &model), HALFCAST_INVALID_ARGUMENT, "");
  CHECK(model == UNTOUCHED);
  /* A file that is not a model: INVALID_ARGUMENT naming the file. */
  {
    FILE* f = fopen(temp_path("garbage.onnx", path, sizeof(path)), "wb");
    CHECK(f != NULL);
    if (f) {
      fwrite(kGarbage, 1, sizeof(kGarbage), f);
      fclose(f);
    }
    CHECK_CODE(halfcast_model_load_file(path, &model), HALFCAST_INVALID_ARGUMENT, "garbage.onnx");
    CHECK(model == UNTOUCHED);
  }
}

static void test_model_bytes_and_files(void) {
  halfcast_model* tiny = load(TINY);
  halfcast_model* again = NULL;
  halfcast_model* from_file = NULL;
  halfcast_buffer* bytes = NULL;
  halfcast_buffer* bytes_again = NULL;
  halfcast_buffer* bytes_file = NULL;
  halfcast_save_options* save = NULL;
  char path[128], side[128];

  CHECK_OK(halfcast_model_serialize(tiny, &bytes));
  CHECK(halfcast_buffer_size(bytes) > 100);
  CHECK_OK(
      halfcast_model_load_bytes(halfcast_buffer_data(bytes), halfcast_buffer_size(bytes), &again));
  CHECK_OK(halfcast_model_serialize(again, &bytes_again));
  CHECK(halfcast_buffer_size(bytes) == halfcast_buffer_size(bytes_again) &&
        memcmp(halfcast_buffer_data(bytes), halfcast_buffer_data(bytes_again),
               halfcast_buffer_size(bytes)) == 0);

  /* Saving with external data (threshold 0: every tensor) writes the side file, and loading
   * reads it back to the same model. */
  CHECK_OK(halfcast_save_options_create(&save));
  CHECK_CODE(halfcast_save_options_set_external_data(save, 1, -1, NULL), HALFCAST_INVALID_ARGUMENT,
             "threshold");
  CHECK_OK(halfcast_save_options_set_external_data(save, 1, 0, "weights.bin"));
  CHECK_OK(halfcast_model_save(tiny, temp_path("external.onnx", path, sizeof(path)), save));
  CHECK(file_exists(temp_path("weights.bin", side, sizeof(side))));
  CHECK_OK(halfcast_model_load_file(path, &from_file));
  CHECK_OK(halfcast_model_serialize(from_file, &bytes_file));
  CHECK(halfcast_buffer_size(bytes_file) > 0);
  /* A model with external references cannot be loaded from bytes: no folder to resolve in. */
  {
    halfcast_model* external = UNTOUCHED;
    FILE* f = fopen(path, "rb");
    char content[4096];
    size_t size = f ? fread(content, 1, sizeof(content), f) : 0;
    if (f) fclose(f);
    CHECK(size > 0);
    CHECK_CODE(halfcast_model_load_bytes(content, size, &external), HALFCAST_INVALID_ARGUMENT, "");
    CHECK(external == UNTOUCHED);
  }
  /* Saving into a missing folder fails and leaves nothing behind. */
  CHECK_FAILS(halfcast_model_save(tiny, temp_path("no/such/dir/m.onnx", path, sizeof(path)), NULL));
  CHECK(!file_exists(path));

  halfcast_buffer_destroy(bytes_file);
  halfcast_buffer_destroy(bytes_again);
  halfcast_buffer_destroy(bytes);
  halfcast_save_options_destroy(save);
  halfcast_model_destroy(from_file);
  halfcast_model_destroy(again);
  halfcast_model_destroy(tiny);
}

/* ----- tensors, named tensors, feeds ----- */

static void test_tensors(void) {
  const float values[6] = {1, 2, 3, 4, 5, 6};
  const int64_t dims[2] = {2, 3};
  const int64_t negative[2] = {2, -3};
  const int64_t huge[3] = {INT64_MAX / 2, 4, 4};
  halfcast_tensor* copy = NULL;
  halfcast_tensor* borrow = NULL;
  halfcast_tensor* scalar = NULL;
  halfcast_tensor* bad = UNTOUCHED;
  const uint16_t half = 0x3c00; /* 1.0 */

  CHECK_OK(halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, dims, 2, values, sizeof(values),
                                  HALFCAST_TENSOR_COPY, &copy));
  CHECK_OK(halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, dims, 2, values, sizeof(values),
                                  HALFCAST_TENSOR_BORROW, &borrow));
  CHECK(halfcast_tensor_element_type(copy) == HALFCAST_ELEMENT_FLOAT);
  CHECK(halfcast_tensor_rank(copy) == 2);
  CHECK(halfcast_tensor_dims(copy)[0] == 2 && halfcast_tensor_dims(copy)[1] == 3);
  CHECK(halfcast_tensor_element_count(copy) == 6);
  CHECK(halfcast_tensor_byte_size(copy) == sizeof(values));
  CHECK(halfcast_tensor_data(copy) != (const void*)values);
  CHECK(memcmp(halfcast_tensor_data(copy), values, sizeof(values)) == 0);
  CHECK(halfcast_tensor_data(borrow) == (const void*)values);

  CHECK_OK(halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT16, NULL, 0, &half, 2, HALFCAST_TENSOR_COPY,
                                  &scalar));
  CHECK(halfcast_tensor_rank(scalar) == 0 && halfcast_tensor_element_count(scalar) == 1);
  CHECK(tensor_float_at(scalar, 0) == 1.0f);

  CHECK_CODE(halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, dims, 2, values, 20,
                                    HALFCAST_TENSOR_COPY, &bad),
             HALFCAST_INVALID_ARGUMENT, "24");
  CHECK_CODE(halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, negative, 2, values, 24,
                                    HALFCAST_TENSOR_COPY, &bad),
             HALFCAST_INVALID_ARGUMENT, "");
  CHECK_CODE(halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, huge, 3, values, 24,
                                    HALFCAST_TENSOR_COPY, &bad),
             HALFCAST_INVALID_ARGUMENT, "");
  CHECK_CODE(halfcast_tensor_create((halfcast_element_type)8 /* string */, dims, 2, values, 24,
                                    HALFCAST_TENSOR_COPY, &bad),
             HALFCAST_INVALID_ARGUMENT, "element type 8");
  CHECK_CODE(halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, dims, 2, values, 24,
                                    (halfcast_tensor_data_mode)7, &bad),
             HALFCAST_INVALID_ARGUMENT, "mode 7");
  CHECK_CODE(
      halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, dims, 2, NULL, 24, HALFCAST_TENSOR_COPY, &bad),
      HALFCAST_INVALID_ARGUMENT, "NULL");
  CHECK(bad == UNTOUCHED);

  halfcast_tensor_destroy(scalar);
  halfcast_tensor_destroy(borrow);
  halfcast_tensor_destroy(copy);
}

static void test_named_tensors_and_feeds(void) {
  const float a = 1, b = 2;
  halfcast_tensor* ta = NULL;
  halfcast_tensor* tb = NULL;
  halfcast_named_tensors* set = NULL;
  halfcast_feeds* feeds = NULL;

  CHECK_OK(
      halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, NULL, 0, &a, 4, HALFCAST_TENSOR_COPY, &ta));
  CHECK_OK(
      halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, NULL, 0, &b, 4, HALFCAST_TENSOR_COPY, &tb));
  CHECK_OK(halfcast_named_tensors_create(&set));
  CHECK_OK(halfcast_named_tensors_add(set, "zeta", ta));
  CHECK_OK(halfcast_named_tensors_add(set, "alpha", tb));
  CHECK_CODE(halfcast_named_tensors_add(set, "zeta", tb), HALFCAST_ALREADY_EXISTS, "zeta");
  /* The set shares the data; the caller's handles may go. */
  halfcast_tensor_destroy(ta);
  halfcast_tensor_destroy(tb);
  CHECK(halfcast_named_tensors_count(set) == 2);
  CHECK(strcmp(halfcast_named_tensors_name(set, 0), "alpha") == 0);
  CHECK(strcmp(halfcast_named_tensors_name(set, 1), "zeta") == 0);
  CHECK(halfcast_named_tensors_name(set, 2) == NULL);
  CHECK(halfcast_named_tensors_tensor(set, 2) == NULL);
  CHECK(*(const float*)halfcast_tensor_data(halfcast_named_tensors_tensor(set, 0)) == 2);
  CHECK(*(const float*)halfcast_tensor_data(halfcast_named_tensors_find(set, "zeta")) == 1);
  CHECK(halfcast_named_tensors_find(set, "beta") == NULL);

  CHECK_OK(halfcast_feeds_create(&feeds));
  CHECK(halfcast_feeds_count(feeds) == 0);
  CHECK_OK(halfcast_feeds_add(feeds, set));
  CHECK_OK(halfcast_feeds_add(feeds, set));
  CHECK(halfcast_feeds_count(feeds) == 2);
  halfcast_named_tensors_destroy(set);
  halfcast_feeds_destroy(feeds);
}

/* ----- options ----- */

static void test_options(void) {
  halfcast_convert_options* convert = NULL;
  halfcast_mixed_precision_options* mixed = NULL;
  const char* names[2] = {"a", NULL};
  const int64_t negative = -1;
  const halfcast_status_code kInvalid = HALFCAST_INVALID_ARGUMENT;
  size_t i;

  CHECK(strcmp(halfcast_option_name(HALFCAST_OPTION_KEEP_IO_TYPES), "keep_io_types") == 0);
  CHECK(strcmp(halfcast_option_name(HALFCAST_OPTION_MAX_EVALUATIONS), "max_evaluations") == 0);
  CHECK(halfcast_option_name((halfcast_option)999) == NULL);
  CHECK(halfcast_option_name((halfcast_option)-1) == NULL);

  CHECK_OK(halfcast_convert_options_create(&convert));
  CHECK_OK(halfcast_mixed_precision_options_create(&mixed));
  /* Unknown keys, keys of the other options object, keys of another kind. */
  CHECK_CODE(halfcast_convert_options_set_bool(convert, (halfcast_option)999, 1), kInvalid,
             "unknown option 999");
  CHECK_CODE(halfcast_mixed_precision_options_set_double(mixed, (halfcast_option)-5, 1), kInvalid,
             "unknown option -5");
  CHECK_CODE(halfcast_convert_options_set_double(convert, HALFCAST_OPTION_RTOL, 0.1), kInvalid,
             "'rtol' is not a conversion option");
  CHECK_CODE(
      halfcast_mixed_precision_options_set_strings(mixed, HALFCAST_OPTION_KEEP_IO_NAMES, names, 1),
      kInvalid, "'keep_io_names' is not a mixed precision option");
  CHECK_CODE(halfcast_convert_options_set_bool(convert, HALFCAST_OPTION_KEEP_BEST, 1), kInvalid,
             "'keep_best' is not a conversion option");
  CHECK_CODE(halfcast_convert_options_set_int(convert, HALFCAST_OPTION_KEEP_IO_TYPES, 1), kInvalid,
             "'keep_io_types' takes bool, not int");
  CHECK_CODE(halfcast_mixed_precision_options_set_bool(mixed, HALFCAST_OPTION_RTOL, 1), kInvalid,
             "'rtol' takes double");
  /* Values out of range. */
  CHECK_CODE(halfcast_convert_options_set_int(convert, HALFCAST_OPTION_TARGET, 7), kInvalid,
             "halfcast_target");
  CHECK_CODE(halfcast_convert_options_set_double(convert, HALFCAST_OPTION_MIN_POSITIVE_VAL, -1),
             kInvalid, "min_positive_val");
  CHECK_CODE(halfcast_convert_options_set_double(convert, HALFCAST_OPTION_MAX_FINITE_VAL, NAN),
             kInvalid, "max_finite_val");
  CHECK_CODE(halfcast_convert_options_set_double(convert, HALFCAST_OPTION_MAX_FINITE_VAL, 0),
             kInvalid, "max_finite_val");
  CHECK_CODE(halfcast_convert_options_set_strings(convert, HALFCAST_OPTION_KEEP_IO_NAMES, names, 2),
             kInvalid, "value 1 is NULL");
  CHECK_CODE(halfcast_convert_options_set_ints(convert, HALFCAST_OPTION_NODE_INDEX_BLOCK_LIST,
                                               &negative, 1),
             kInvalid, "negative");
  CHECK_CODE(halfcast_mixed_precision_options_set_int(mixed, HALFCAST_OPTION_STRATEGY, 5), kInvalid,
             "halfcast_search_strategy");
  CHECK_CODE(halfcast_mixed_precision_options_set_int(mixed, HALFCAST_OPTION_MAX_EVALUATIONS, -1),
             kInvalid, "max_evaluations");
  CHECK_CODE(halfcast_mixed_precision_options_set_double(mixed, HALFCAST_OPTION_ATOL, -0.5),
             kInvalid, "atol");
  CHECK_CODE(halfcast_mixed_precision_options_set_double(mixed, HALFCAST_OPTION_RTOL, INFINITY),
             kInvalid, "rtol");
  /* Every key each object has, set once. */
  CHECK_OK(halfcast_convert_options_set_double(convert, HALFCAST_OPTION_MIN_POSITIVE_VAL, 1e-6));
  CHECK_OK(halfcast_convert_options_set_double(convert, HALFCAST_OPTION_MAX_FINITE_VAL, 6e4));
  CHECK_OK(halfcast_convert_options_set_bool(convert, HALFCAST_OPTION_KEEP_IO_TYPES, 1));
  CHECK_OK(halfcast_convert_options_set_strings(convert, HALFCAST_OPTION_KEEP_IO_NAMES, names, 1));
  CHECK_OK(halfcast_convert_options_set_bool(convert, HALFCAST_OPTION_DISABLE_SHAPE_INFER, 1));
  CHECK_OK(halfcast_convert_options_set_strings(convert, HALFCAST_OPTION_OP_BLOCK_LIST, NULL, 0));
  CHECK_OK(
      halfcast_convert_options_set_strings(convert, HALFCAST_OPTION_NODE_BLOCK_LIST, names, 1));
  CHECK_OK(
      halfcast_convert_options_set_ints(convert, HALFCAST_OPTION_NODE_INDEX_BLOCK_LIST, NULL, 0));
  CHECK_OK(halfcast_convert_options_set_bool(convert, HALFCAST_OPTION_CHECK_FP16_READY, 0));
  CHECK_OK(
      halfcast_convert_options_set_int(convert, HALFCAST_OPTION_TARGET, HALFCAST_TARGET_BFLOAT16));
  CHECK_OK(
      halfcast_mixed_precision_options_set_double(mixed, HALFCAST_OPTION_MIN_POSITIVE_VAL, 1e-6));
  CHECK_OK(halfcast_mixed_precision_options_set_double(mixed, HALFCAST_OPTION_MAX_FINITE_VAL, 1e3));
  CHECK_OK(halfcast_mixed_precision_options_set_bool(mixed, HALFCAST_OPTION_KEEP_IO_TYPES, 1));
  CHECK_OK(
      halfcast_mixed_precision_options_set_strings(mixed, HALFCAST_OPTION_OP_BLOCK_LIST, names, 1));
  CHECK_OK(halfcast_mixed_precision_options_set_int(mixed, HALFCAST_OPTION_TARGET,
                                                    HALFCAST_TARGET_FLOAT16));
  CHECK_OK(halfcast_mixed_precision_options_set_double(mixed, HALFCAST_OPTION_RTOL, 1e-3));
  CHECK_OK(halfcast_mixed_precision_options_set_double(mixed, HALFCAST_OPTION_ATOL, 1e-4));
  CHECK_OK(halfcast_mixed_precision_options_set_int(mixed, HALFCAST_OPTION_STRATEGY,
                                                    HALFCAST_STRATEGY_BISECT));
  CHECK_OK(halfcast_mixed_precision_options_set_int(mixed, HALFCAST_OPTION_MAX_EVALUATIONS, 10));
  CHECK_OK(halfcast_mixed_precision_options_set_double(mixed, HALFCAST_OPTION_TIME_LIMIT, 60));
  CHECK_CODE(halfcast_mixed_precision_options_set_double(mixed, HALFCAST_OPTION_TIME_LIMIT, -1),
             kInvalid, "time_limit");
  CHECK_CODE(halfcast_convert_options_set_double(convert, HALFCAST_OPTION_TIME_LIMIT, 1),
             kInvalid, "time_limit");
  CHECK_OK(halfcast_mixed_precision_options_set_double(mixed, HALFCAST_OPTION_SAFETY_MARGIN, 0.5));
  CHECK_OK(halfcast_mixed_precision_options_set_bool(mixed, HALFCAST_OPTION_CHECK_ORT_CPU, 0));
  CHECK_CODE(halfcast_convert_options_set_bool(convert, HALFCAST_OPTION_CHECK_ORT_CPU, 1), kInvalid,
             "check_onnx_runtime_cpu");
  CHECK_CODE(halfcast_mixed_precision_options_set_double(mixed, HALFCAST_OPTION_SAFETY_MARGIN, 1),
             kInvalid, "safety_margin");
  CHECK_OK(halfcast_mixed_precision_options_set_int(mixed, HALFCAST_OPTION_MAX_RETAINED_BYTES,
                                                    1 << 20));
  CHECK_CODE(halfcast_mixed_precision_options_set_int(mixed, HALFCAST_OPTION_MAX_RETAINED_BYTES, -1),
             kInvalid, "max_retained_bytes");
  {
    const char* ops[1] = {"com.example:MyGelu"};
    CHECK_OK(halfcast_convert_options_set_strings(convert, HALFCAST_OPTION_FP16_OPS, ops, 1));
    CHECK_OK(halfcast_mixed_precision_options_set_strings(mixed, HALFCAST_OPTION_FP16_OPS, ops, 1));
    CHECK(strcmp(halfcast_option_name(HALFCAST_OPTION_FP16_OPS), "fp16_ops") == 0);
  }
  /* The selection lists and their strictness, on both objects; keep_best on mixed precision. */
  {
    const halfcast_option lists[3] = {HALFCAST_OPTION_NODE_BLOCK_LIST,
                                      HALFCAST_OPTION_OP_INCLUDE_LIST,
                                      HALFCAST_OPTION_NODE_INCLUDE_LIST};
    for (i = 0; i < 3; ++i) {
      CHECK_OK(halfcast_convert_options_set_strings(convert, lists[i], names, 1));
      CHECK_OK(halfcast_mixed_precision_options_set_strings(mixed, lists[i], names, 1));
    }
    CHECK_OK(halfcast_convert_options_set_bool(convert, HALFCAST_OPTION_STRICT_LISTS, 1));
    CHECK_OK(halfcast_mixed_precision_options_set_bool(mixed, HALFCAST_OPTION_STRICT_LISTS, 1));
    CHECK_OK(halfcast_mixed_precision_options_set_bool(mixed, HALFCAST_OPTION_KEEP_BEST, 1));
    CHECK(strcmp(halfcast_option_name(HALFCAST_OPTION_NODE_INCLUDE_LIST), "node_include_list") ==
          0);
    CHECK(strcmp(halfcast_option_name(HALFCAST_OPTION_KEEP_BEST), "keep_best") == 0);
  }
  halfcast_mixed_precision_options_destroy(mixed);
  halfcast_convert_options_destroy(convert);
}

/* ----- conversion ----- */

typedef struct log_counter {
  int messages;
  int bad_level;
} log_counter;

static void count_log(halfcast_log_level level, const char* message, void* user_data) {
  log_counter* counter = (log_counter*)user_data;
  ++counter->messages;
  if (level < HALFCAST_LOG_DEBUG || level > HALFCAST_LOG_ERROR || message == NULL) {
    ++counter->bad_level;
  }
}

static void test_convert(void) {
  halfcast_model* tiny = load(TINY);
  halfcast_model* fp16 = NULL;
  halfcast_model* bf16 = NULL;
  halfcast_model* failed = UNTOUCHED;
  halfcast_report* report = NULL;
  halfcast_report* bf16_report = NULL;
  halfcast_report* failed_report = UNTOUCHED;
  halfcast_buffer* json = NULL;
  halfcast_buffer* fp16_bytes = NULL;
  halfcast_buffer* bf16_bytes = NULL;
  halfcast_convert_options* options = NULL;
  log_counter log = {0, 0};
  const char* graph = NULL;
  const char* name = NULL;
  const char* op_type = NULL;
  const char* reason = NULL;
  const char* detail = NULL;
  int64_t value = 0;

  CHECK_OK(halfcast_convert_options_create(&options));
  CHECK_OK(halfcast_convert_options_set_log_callback(options, count_log, &log));
  CHECK_OK(halfcast_convert_float_to_float16(tiny, options, &fp16, &report));
  CHECK(report_value(report, HALFCAST_REPORT_NODES_CONVERTED) == 3);
  CHECK(report_value(report, HALFCAST_REPORT_NODES_KEPT) == 0);
  CHECK(report_value(report, HALFCAST_REPORT_INITIALIZERS_CONVERTED) == 2);
  CHECK(report_value(report, HALFCAST_REPORT_VALUES_CLIPPED) == 2); /* 2e4 and 1e-9 */
  CHECK(report_value(report, HALFCAST_REPORT_BYTES_BEFORE) == 80);
  CHECK(report_value(report, HALFCAST_REPORT_BYTES_AFTER) == 40);
  CHECK(report_value(report, HALFCAST_REPORT_EVALUATIONS) == 0);
  CHECK(report_value(report, HALFCAST_REPORT_CASTS_INSERTED) == 0);
  CHECK(report_value(report, HALFCAST_REPORT_FLOAT32_INPUTS) == 0);
  /* MatMul by a 4x4 W: 16 multiply-adds per row, all in 16 bits. */
  CHECK(report_value(report, HALFCAST_REPORT_MATMUL_FLOPS_TOTAL) == 16);
  CHECK(report_value(report, HALFCAST_REPORT_MATMUL_FLOPS_16BIT) == 16);
  CHECK(log.messages > 0 && log.bad_level == 0);
  CHECK_CODE(halfcast_report_get(report, (halfcast_report_value)77, &value),
             HALFCAST_INVALID_ARGUMENT, "77");
  CHECK_CODE(halfcast_report_kept_node(report, 0, &graph, &name, &op_type, &reason, &detail),
             HALFCAST_OUT_OF_RANGE, "");
  CHECK(name == NULL);
  CHECK_OK(halfcast_report_to_json(report, &json));
  CHECK(strlen((const char*)halfcast_buffer_data(json)) == halfcast_buffer_size(json));
  CHECK(((const char*)halfcast_buffer_data(json))[0] == '{');
  CHECK(strstr((const char*)halfcast_buffer_data(json), "nodes_converted") != NULL);
  CHECK(strstr((const char*)halfcast_buffer_data(json),
               "{\"domain\":\"\",\"op_type\":\"MatMul\",\"since_version\":13,"
               "\"source\":\"onnx\",\"nodes\":1}") != NULL);
  halfcast_report_destroy(report);
  report = NULL;

  /* Converting the result again: it already holds float16. */
  CHECK_CODE(halfcast_convert_float_to_float16(fp16, NULL, &failed, &failed_report),
             HALFCAST_FAILED_PRECONDITION, "");
  CHECK(failed == UNTOUCHED && failed_report == UNTOUCHED);

  /* bfloat16 differs from float16; keep_io_types inserts Casts for the input and the output;
   * a node block list keeps that node with its reason. */
  CHECK_OK(
      halfcast_convert_options_set_int(options, HALFCAST_OPTION_TARGET, HALFCAST_TARGET_BFLOAT16));
  CHECK_OK(halfcast_convert_float_to_float16(tiny, options, &bf16, NULL));
  CHECK_OK(halfcast_model_serialize(fp16, &fp16_bytes));
  CHECK_OK(halfcast_model_serialize(bf16, &bf16_bytes));
  CHECK(halfcast_buffer_size(fp16_bytes) != halfcast_buffer_size(bf16_bytes) ||
        memcmp(halfcast_buffer_data(fp16_bytes), halfcast_buffer_data(bf16_bytes),
               halfcast_buffer_size(fp16_bytes)) != 0);
  {
    const char* block[1] = {"relu"};
    CHECK_OK(halfcast_convert_options_set_bool(options, HALFCAST_OPTION_KEEP_IO_TYPES, 1));
    CHECK_OK(
        halfcast_convert_options_set_strings(options, HALFCAST_OPTION_NODE_BLOCK_LIST, block, 1));
    CHECK_OK(halfcast_convert_float_to_float16(tiny, options, &failed, &bf16_report));
    CHECK(report_value(bf16_report, HALFCAST_REPORT_NODES_KEPT) == 1);
    CHECK(report_value(bf16_report, HALFCAST_REPORT_NODES_CONVERTED) == 2);
    CHECK(report_value(bf16_report, HALFCAST_REPORT_CASTS_INSERTED) >= 2);
    CHECK_OK(halfcast_report_kept_node(bf16_report, 0, &graph, &name, &op_type, &reason, NULL));
    CHECK(graph && strcmp(graph, "") == 0);
    CHECK(name && strcmp(name, "relu") == 0);
    CHECK(op_type && strcmp(op_type, "Relu") == 0);
    CHECK(reason && strcmp(reason, "node_block_list") == 0);
    halfcast_model_destroy(failed);
    failed = UNTOUCHED;
  }
  /* An option the C++ conversion refuses: max_finite_val beyond float16's range. */
  CHECK_OK(
      halfcast_convert_options_set_int(options, HALFCAST_OPTION_TARGET, HALFCAST_TARGET_FLOAT16));
  CHECK_OK(halfcast_convert_options_set_double(options, HALFCAST_OPTION_MAX_FINITE_VAL, 1e6));
  CHECK_CODE(halfcast_convert_float_to_float16(tiny, options, &failed, NULL),
             HALFCAST_INVALID_ARGUMENT, "max_finite_val");
  CHECK(failed == UNTOUCHED);
  /* fp16_ops entries must be domain:op_type. */
  {
    const char* ops[1] = {"MyOp"};
    CHECK_OK(halfcast_convert_options_set_double(options, HALFCAST_OPTION_MAX_FINITE_VAL, 1e4));
    CHECK_OK(halfcast_convert_options_set_strings(options, HALFCAST_OPTION_FP16_OPS, ops, 1));
    CHECK_CODE(halfcast_convert_float_to_float16(tiny, options, &failed, NULL),
               HALFCAST_INVALID_ARGUMENT, "fp16_ops: 'MyOp' is not domain:op_type");
    CHECK(failed == UNTOUCHED);
    CHECK_OK(halfcast_convert_options_set_strings(options, HALFCAST_OPTION_FP16_OPS, NULL, 0));
  }
  /* keep_io_names naming something that is no graph input or output. */
  {
    const char* names[1] = {"nonexistent"};
    CHECK_OK(halfcast_convert_options_set_double(options, HALFCAST_OPTION_MAX_FINITE_VAL, 1e4));
    CHECK_OK(
        halfcast_convert_options_set_strings(options, HALFCAST_OPTION_KEEP_IO_NAMES, names, 1));
    CHECK_CODE(halfcast_convert_float_to_float16(tiny, options, &failed, NULL),
               HALFCAST_INVALID_ARGUMENT, "nonexistent");
    CHECK(failed == UNTOUCHED);
  }

  halfcast_buffer_destroy(bf16_bytes);
  halfcast_buffer_destroy(fp16_bytes);
  halfcast_buffer_destroy(json);
  halfcast_report_destroy(bf16_report);
  halfcast_convert_options_destroy(options);
  halfcast_model_destroy(bf16);
  halfcast_model_destroy(fp16);
  halfcast_model_destroy(tiny);
}

/* Patterns, include lists and entries that match nothing. tiny.onnx's nodes: matmul, add, relu. */
static void test_selection_lists(void) {
  halfcast_model* tiny = load(TINY);
  halfcast_model* fp16 = NULL;
  halfcast_model* failed = UNTOUCHED;
  halfcast_report* report = NULL;
  halfcast_convert_options* options = NULL;
  const char* block[1] = {"mat.*|add"};
  const char* ops[1] = {"Relu"};
  const char* include[2] = {"relu", "nothing_.*"};
  const char* bad[1] = {"relu("};
  const char* list = NULL;
  const char* entry = NULL;
  const char* name = NULL;
  const char* reason = NULL;
  int64_t i;

  CHECK_OK(halfcast_convert_options_create(&options));
  CHECK_OK(
      halfcast_convert_options_set_strings(options, HALFCAST_OPTION_NODE_BLOCK_LIST, block, 1));
  CHECK_OK(halfcast_convert_options_set_strings(options, HALFCAST_OPTION_OP_BLOCK_LIST, ops, 1));
  CHECK_OK(
      halfcast_convert_options_set_strings(options, HALFCAST_OPTION_NODE_INCLUDE_LIST, include, 2));
  CHECK_OK(halfcast_convert_float_to_float16(tiny, options, &fp16, &report));
  /* matmul and add match the pattern; relu's op is blocked, but its name is included. */
  CHECK(report_value(report, HALFCAST_REPORT_NODES_KEPT) == 2);
  for (i = 0; i < 2; ++i) {
    CHECK_OK(halfcast_report_kept_node(report, (size_t)i, NULL, &name, NULL, &reason, NULL));
    CHECK(strcmp(reason, "node_block_list") == 0 && strcmp(name, "relu") != 0);
  }
  CHECK(report_value(report, HALFCAST_REPORT_UNMATCHED) == 1);
  CHECK_OK(halfcast_report_unmatched(report, 0, &list, &entry));
  CHECK(strcmp(list, "node_include_list") == 0 && strcmp(entry, "nothing_.*") == 0);
  CHECK_CODE(halfcast_report_unmatched(report, 1, &list, NULL), HALFCAST_OUT_OF_RANGE, "");
  CHECK(report_value(report, HALFCAST_REPORT_VALIDATED) == 1);
  CHECK(report_value(report, HALFCAST_REPORT_STOPPED_EARLY) == 0);
  CHECK(strcmp(halfcast_report_stop_reason(report), "") == 0);
  CHECK(strcmp(halfcast_report_stop_reason(NULL), "") == 0);

  /* Strict: the unmatched entry is an error; so is an invalid pattern, strict or not. */
  CHECK_OK(halfcast_convert_options_set_bool(options, HALFCAST_OPTION_STRICT_LISTS, 1));
  CHECK_CODE(halfcast_convert_float_to_float16(tiny, options, &failed, NULL),
             HALFCAST_INVALID_ARGUMENT, "'nothing_.*' matches no node name");
  CHECK_OK(halfcast_convert_options_set_strings(options, HALFCAST_OPTION_OP_INCLUDE_LIST, bad, 1));
  CHECK_OK(halfcast_convert_options_set_bool(options, HALFCAST_OPTION_STRICT_LISTS, 0));
  CHECK_CODE(halfcast_convert_float_to_float16(tiny, options, &failed, NULL),
             HALFCAST_INVALID_ARGUMENT, "op_include_list: 'relu(' is not a valid pattern");
  CHECK(failed == UNTOUCHED);

  halfcast_report_destroy(report);
  halfcast_convert_options_destroy(options);
  halfcast_model_destroy(fp16);
  halfcast_model_destroy(tiny);
}

static void test_convert_file(void) {
  halfcast_report* report = NULL;
  halfcast_report* untouched = UNTOUCHED;
  halfcast_save_options* save = NULL;
  halfcast_model* converted = NULL;
  char out[128], side[128];

  CHECK_OK(halfcast_convert_file(TINY, temp_path("tiny.fp16.onnx", out, sizeof(out)), NULL, NULL,
                                 &report));
  CHECK(report_value(report, HALFCAST_REPORT_NODES_CONVERTED) == 3);
  CHECK_OK(halfcast_model_load_file(out, &converted));
  halfcast_model_destroy(converted);
  converted = NULL;

  CHECK_OK(halfcast_save_options_create(&save));
  CHECK_OK(halfcast_save_options_set_external_data(save, 1, 0, NULL));
  CHECK_OK(
      halfcast_convert_file(TINY, temp_path("tiny.ext.onnx", out, sizeof(out)), NULL, save, NULL));
  CHECK(file_exists(temp_path("tiny.ext.onnx.data", side, sizeof(side))));
  CHECK_OK(halfcast_model_load_file(out, &converted));

  CHECK_CODE(
      halfcast_convert_file(HALFCAST_CAPI_DATA_DIR "/missing.onnx",
                            temp_path("never.onnx", out, sizeof(out)), NULL, NULL, &untouched),
      HALFCAST_NOT_FOUND, "missing.onnx");
  CHECK(untouched == UNTOUCHED);
  CHECK(!file_exists(out));

  halfcast_model_destroy(converted);
  halfcast_save_options_destroy(save);
  halfcast_report_destroy(report);
}

/* ----- mixed precision ----- */

typedef struct validate_state {
  int calls;
  int reference_wrong; /* the reference outputs differ from the C computation */
  int accepted;
  int return_error; /* make the callback report an error */
} validate_state;

/* Accepts a candidate within 1e-3 of the float32 reference, and checks the reference itself
 * against tiny.onnx computed in C. */
static int validate_tiny(const halfcast_named_tensors* reference,
                         const halfcast_named_tensors* candidate, void* user_data) {
  validate_state* state = (validate_state*)user_data;
  const halfcast_tensor* ref = halfcast_named_tensors_find(reference, "y");
  const halfcast_tensor* cand = halfcast_named_tensors_find(candidate, "y");
  float expected[4];
  int i, ok = 1;
  ++state->calls;
  if (state->return_error) return -3;
  /* Candidates come widened to float32 whatever KEEP_IO_TYPES says. */
  if (ref == NULL || cand == NULL || halfcast_tensor_element_count(cand) != 4 ||
      halfcast_tensor_element_type(ref) != HALFCAST_ELEMENT_FLOAT ||
      halfcast_tensor_element_type(cand) != HALFCAST_ELEMENT_FLOAT) {
    ++state->reference_wrong;
    return 0;
  }
  tiny_reference(kX, expected);
  for (i = 0; i < 4; ++i) {
    if (fabsf(tensor_float_at(ref, i) - expected[i]) > 1e-3f * fabsf(expected[i])) {
      ++state->reference_wrong;
    }
    if (fabsf(tensor_float_at(cand, i) - expected[i]) > 1e-3f * (1 + fabsf(expected[i]))) ok = 0;
  }
  state->accepted += ok;
  return ok;
}

typedef struct progress_state {
  int calls;
  int cancel_after; /* cancel on this call (1-based); 0 = never */
  int segments_seen;
  int bad_seen; /* calls showing a bad segment, written "(n)" in the text */
} progress_state;

static int on_progress(const halfcast_progress* progress, void* user_data) {
  progress_state* state = (progress_state*)user_data;
  size_t i, total = 0, begin = 0, size = 0;
  halfcast_segment_state segment_state = HALFCAST_SEGMENT_UNTRIED;
  ++state->calls;
  for (i = 0; i < halfcast_progress_segment_count(progress); ++i) {
    if (halfcast_progress_segment(progress, i, &begin, &size, &segment_state)) total += size;
    if (segment_state == HALFCAST_SEGMENT_BAD && strchr(halfcast_progress_text(progress), '(')) {
      ++state->bad_seen;
    }
  }
  if (total == 3 && halfcast_progress_evaluations(progress) > 0 &&
      halfcast_progress_elapsed_seconds(progress) >= 0 && halfcast_progress_text(progress)[0] &&
      !halfcast_progress_segment(progress, i, &begin, NULL, NULL)) {
    ++state->segments_seen;
  }
  return state->cancel_after != 0 && state->calls >= state->cancel_after;
}

/* W holds 2e4, which float16 clips to 1e4: converting MatMul ruins y[3], so the search must keep
 * it in float32 and can convert the rest. */
static void test_mixed_precision(void) {
  halfcast_model* tiny = load(TINY);
  halfcast_model* mixed = NULL;
  halfcast_model* failed = UNTOUCHED;
  halfcast_report* report = NULL;
  halfcast_report* failed_report = UNTOUCHED;
  halfcast_feeds* feeds = tiny_feeds();
  halfcast_mixed_precision_options* options = NULL;
  halfcast_buffer* json = NULL;
  validate_state validate = {0, 0, 0, 0};
  progress_state progress = {0, 0, 0, 0};
  size_t i;
  int64_t kept;
  int matmul_kept = 0;

  CHECK_OK(halfcast_mixed_precision_options_create(&options));
  /* No tolerance and no validate callback. */
  CHECK_CODE(halfcast_auto_convert_mixed_precision(tiny, feeds, options, &failed, NULL),
             HALFCAST_INVALID_ARGUMENT, "");
  CHECK_CODE(halfcast_auto_convert_mixed_precision(tiny, feeds, NULL, &failed, NULL),
             HALFCAST_INVALID_ARGUMENT, "");

  CHECK_OK(
      halfcast_mixed_precision_options_set_validate_callback(options, validate_tiny, &validate));
  CHECK_OK(halfcast_mixed_precision_options_set_progress_callback(options, on_progress, &progress));
  CHECK_OK(halfcast_auto_convert_mixed_precision(tiny, feeds, options, &mixed, &report));
  CHECK(validate.calls >= 2 && validate.reference_wrong == 0 && validate.accepted >= 2);
  CHECK(progress.calls >= 1 && progress.segments_seen == progress.calls);
  CHECK(report_value(report, HALFCAST_REPORT_EVALUATIONS) >= 2);
  CHECK(report_value(report, HALFCAST_REPORT_PEAK_RETAINED_BYTES) > 0);
  kept = report_value(report, HALFCAST_REPORT_NODES_KEPT);
  for (i = 0; (int64_t)i < kept; ++i) {
    const char* name = NULL;
    const char* reason = NULL;
    CHECK_OK(halfcast_report_kept_node(report, i, NULL, &name, NULL, &reason, NULL));
    if (name && strcmp(name, "matmul") == 0 && reason && strcmp(reason, "search") == 0) {
      matmul_kept = 1;
    }
  }
  CHECK(matmul_kept);
  CHECK(report_value(report, HALFCAST_REPORT_NODES_CONVERTED) >= 1);
  CHECK_OK(halfcast_report_to_json(report, &json));
  CHECK(strstr((const char*)halfcast_buffer_data(json), "\"conversion\":{") != NULL);
  CHECK(strstr((const char*)halfcast_buffer_data(json), "\"evaluations\":") != NULL);

  /* The Python tool's bisection reaches the same answer, marking the MatMul segment bad. */
  halfcast_model_destroy(mixed);
  mixed = NULL;
  CHECK_OK(halfcast_mixed_precision_options_set_int(options, HALFCAST_OPTION_STRATEGY,
                                                    HALFCAST_STRATEGY_BISECT));
  CHECK_OK(halfcast_auto_convert_mixed_precision(tiny, feeds, options, &mixed, NULL));
  CHECK(progress.bad_seen > 0);

  /* A progress callback that cancels; a validate callback that reports an error. */
  progress.cancel_after = 1;
  CHECK_CODE(halfcast_auto_convert_mixed_precision(tiny, feeds, options, &failed, &failed_report),
             HALFCAST_CANCELLED, "");
  progress.cancel_after = 0;
  validate.return_error = 1;
  CHECK_CODE(halfcast_auto_convert_mixed_precision(tiny, feeds, options, &failed, &failed_report),
             HALFCAST_ABORTED, "(-3)");
  validate.return_error = 0;
  /* A limit of one evaluation cannot finish a search. */
  CHECK_OK(halfcast_mixed_precision_options_set_int(options, HALFCAST_OPTION_MAX_EVALUATIONS, 1));
  CHECK_CODE(halfcast_auto_convert_mixed_precision(tiny, feeds, options, &failed, &failed_report),
             HALFCAST_RESOURCE_EXHAUSTED, "");
  CHECK(failed == UNTOUCHED && failed_report == UNTOUCHED);

  /* keep_best: bisection's first attempt (everything in float16) fails the bound; stopped there
   * by a limit of two evaluations, it is the best found, marked not validated. */
  CHECK_OK(halfcast_mixed_precision_options_set_validate_callback(options, NULL, NULL));
  CHECK_OK(halfcast_mixed_precision_options_set_progress_callback(options, NULL, NULL));
  CHECK_OK(halfcast_mixed_precision_options_set_double(options, HALFCAST_OPTION_RTOL, 1e-3));
  CHECK_OK(halfcast_mixed_precision_options_set_double(options, HALFCAST_OPTION_ATOL, 1e-4));
  CHECK_OK(halfcast_mixed_precision_options_set_int(options, HALFCAST_OPTION_MAX_EVALUATIONS, 2));
  CHECK_CODE(halfcast_auto_convert_mixed_precision(tiny, feeds, options, &failed, &failed_report),
             HALFCAST_RESOURCE_EXHAUSTED, "max_evaluations (2)");
  CHECK_OK(halfcast_mixed_precision_options_set_bool(options, HALFCAST_OPTION_KEEP_BEST, 1));
  halfcast_model_destroy(mixed);
  mixed = NULL;
  halfcast_report_destroy(report);
  report = NULL;
  CHECK_OK(halfcast_auto_convert_mixed_precision(tiny, feeds, options, &mixed, &report));
  CHECK(mixed != NULL);
  CHECK(report_value(report, HALFCAST_REPORT_VALIDATED) == 0);
  CHECK(report_value(report, HALFCAST_REPORT_STOPPED_EARLY) == 1);
  CHECK(report_value(report, HALFCAST_REPORT_EVALUATIONS) == 2);
  CHECK(strstr(halfcast_report_stop_reason(report), "max_evaluations (2)") != NULL);

  halfcast_buffer_destroy(json);
  halfcast_report_destroy(report);
  halfcast_mixed_precision_options_destroy(options);
  halfcast_feeds_destroy(feeds);
  halfcast_model_destroy(mixed);
  halfcast_model_destroy(tiny);
}

typedef struct evaluator_state {
  int calls;
  int bad_model;     /* model bytes that do not load */
  int float16_feeds; /* runs that got x as float16 */
  int fail_with;     /* a status code to fail with, 0 = compute */
} evaluator_state;

/* tiny.onnx in C, standing in for a binding's own runtime. Returns y as float32 whatever the
 * candidate's types: with keep_io_types the graph's y stays float32. */
static halfcast_status* evaluate_tiny(const void* model_bytes, size_t model_size,
                                      const halfcast_named_tensors* feeds,
                                      halfcast_named_tensors* outputs, void* user_data) {
  evaluator_state* state = (evaluator_state*)user_data;
  halfcast_model* model = NULL;
  halfcast_status* status = halfcast_model_load_bytes(model_bytes, model_size, &model);
  const halfcast_tensor* x = halfcast_named_tensors_find(feeds, "x");
  halfcast_tensor* y = NULL;
  float xs[4], ys[4];
  int i;
  ++state->calls;
  if (status != NULL) {
    ++state->bad_model;
    return status;
  }
  halfcast_model_destroy(model);
  if (state->fail_with) return halfcast_status_create(state->fail_with, "runtime is gone");
  if (x == NULL || halfcast_tensor_element_count(x) != 4) {
    return halfcast_status_create(HALFCAST_INVALID_ARGUMENT, "x missing");
  }
  if (halfcast_tensor_element_type(x) == HALFCAST_ELEMENT_FLOAT16) ++state->float16_feeds;
  for (i = 0; i < 4; ++i) xs[i] = tensor_float_at(x, i);
  tiny_reference(xs, ys);
  /* Borrowed output memory on the stack: the library must copy it before we return. */
  status = halfcast_tensor_create(HALFCAST_ELEMENT_FLOAT, kDims, 2, ys, sizeof(ys),
                                  HALFCAST_TENSOR_BORROW, &y);
  if (status == NULL) status = halfcast_named_tensors_add(outputs, "y", y);
  halfcast_tensor_destroy(y);
  return status;
}

static void test_evaluator_callback(void) {
  halfcast_model* tiny = load(TINY);
  halfcast_model* mixed = NULL;
  halfcast_model* failed = UNTOUCHED;
  halfcast_report* report = NULL;
  halfcast_feeds* feeds = tiny_feeds();
  halfcast_mixed_precision_options* options = NULL;
  evaluator_state evaluator = {0, 0, 0, 0};
  validate_state validate = {0, 0, 0, 0};

  CHECK_OK(halfcast_mixed_precision_options_create(&options));
  CHECK_OK(halfcast_mixed_precision_options_set_bool(options, HALFCAST_OPTION_KEEP_IO_TYPES, 1));
  CHECK_OK(halfcast_mixed_precision_options_set_double(options, HALFCAST_OPTION_RTOL, 1e-3));
  CHECK_OK(halfcast_mixed_precision_options_set_double(options, HALFCAST_OPTION_ATOL, 1e-4));
  CHECK_OK(
      halfcast_mixed_precision_options_set_validate_callback(options, validate_tiny, &validate));
  CHECK_OK(
      halfcast_mixed_precision_options_set_evaluator_callback(options, evaluate_tiny, &evaluator));
  /* This "runtime" computes in float32 whatever the model says, so everything validates. */
  CHECK_OK(halfcast_auto_convert_mixed_precision(tiny, feeds, options, &mixed, &report));
  CHECK(evaluator.calls >= 2 && evaluator.bad_model == 0 && evaluator.float16_feeds == 0);
  CHECK(validate.calls >= 2 && validate.reference_wrong == 0);
  CHECK(report_value(report, HALFCAST_REPORT_NODES_KEPT) == 0);

  /* Two feed sets: every evaluation runs the model on each, so a candidate is judged on both. */
  {
    halfcast_feeds* two = tiny_feed_sets(2);
    halfcast_model* model = NULL;
    halfcast_report* two_report = NULL;
    CHECK(halfcast_feeds_count(two) == 2);
    evaluator.calls = 0;
    CHECK_OK(halfcast_auto_convert_mixed_precision(tiny, two, options, &model, &two_report));
    CHECK(evaluator.calls == 2 * report_value(two_report, HALFCAST_REPORT_EVALUATIONS));
    halfcast_report_destroy(two_report);
    halfcast_model_destroy(model);
    halfcast_feeds_destroy(two);
  }

  /* The runtime's error comes back with its code and message. */
  evaluator.fail_with = HALFCAST_UNAVAILABLE;
  CHECK_CODE(halfcast_auto_convert_mixed_precision(tiny, feeds, options, &failed, NULL),
             HALFCAST_UNAVAILABLE, "runtime is gone");
  CHECK(failed == UNTOUCHED);

  /* Without keep_io_types the candidate gets float16 feeds. */
  evaluator.fail_with = 0;
  CHECK_OK(halfcast_mixed_precision_options_set_bool(options, HALFCAST_OPTION_KEEP_IO_TYPES, 0));
  halfcast_model_destroy(mixed);
  mixed = NULL;
  halfcast_report_destroy(report);
  report = NULL;
  halfcast_status_destroy(
      halfcast_auto_convert_mixed_precision(tiny, feeds, options, &mixed, &report));
  CHECK(evaluator.float16_feeds > 0);

  halfcast_report_destroy(report);
  halfcast_mixed_precision_options_destroy(options);
  halfcast_feeds_destroy(feeds);
  halfcast_model_destroy(mixed);
  halfcast_model_destroy(tiny);
}

static void test_mixed_precision_file(void) {
  halfcast_feeds* feeds = tiny_feeds();
  halfcast_mixed_precision_options* options = NULL;
  halfcast_report* report = NULL;
  halfcast_model* result = NULL;
  char out[128];

  CHECK_OK(halfcast_mixed_precision_options_create(&options));
  CHECK_OK(halfcast_mixed_precision_options_set_double(options, HALFCAST_OPTION_RTOL, 1e-2));
  CHECK_OK(halfcast_mixed_precision_options_set_double(options, HALFCAST_OPTION_ATOL, 1e-3));
  CHECK_OK(halfcast_auto_convert_mixed_precision_file(
      TINY, temp_path("tiny.mixed.onnx", out, sizeof(out)), feeds, options, NULL, &report));
  CHECK(report_value(report, HALFCAST_REPORT_EVALUATIONS) >= 2);
  CHECK_OK(halfcast_model_load_file(out, &result));
  CHECK_CODE(halfcast_auto_convert_mixed_precision_file(
                 HALFCAST_CAPI_DATA_DIR "/missing.onnx",
                 temp_path("never.mixed.onnx", out, sizeof(out)), feeds, options, NULL, NULL),
             HALFCAST_NOT_FOUND, "");
  CHECK(!file_exists(out));

  halfcast_model_destroy(result);
  halfcast_report_destroy(report);
  halfcast_mixed_precision_options_destroy(options);
  halfcast_feeds_destroy(feeds);
}

static void make_temp_dir(void) {
  strcpy(temp_dir, "/tmp/halfcast_capi_XXXXXX");
  if (mkdtemp(temp_dir) == NULL) {
    perror("mkdtemp");
    exit(2);
  }
}

static void remove_temp_dir(void) {
  char command[128];
  snprintf(command, sizeof(command), "rm -rf '%s'", temp_dir);
  if (system(command) != 0) fprintf(stderr, "could not remove %s\n", temp_dir);
}

static void setup(void) { make_temp_dir(); }
static void teardown(void) { remove_temp_dir(); }

RUN_TESTS(TEST(setup), TEST(test_version), TEST(test_status), TEST(test_null_handles),
          TEST(test_null_arguments), TEST(test_model_errors), TEST(test_model_bytes_and_files),
          TEST(test_tensors), TEST(test_named_tensors_and_feeds), TEST(test_options),
          TEST(test_convert), TEST(test_selection_lists), TEST(test_convert_file),
          TEST(test_mixed_precision), TEST(test_evaluator_callback),
          TEST(test_mixed_precision_file), TEST(teardown))
