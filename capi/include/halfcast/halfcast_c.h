/*
 * halfcast C API: convert ONNX models from float32 to float16 / bfloat16, whole or as mixed
 * precision. This header is halfcast's only binary-compatibility promise (libhalfcast_c.so,
 * SONAME libhalfcast_c.so.<HALFCAST_C_ABI_VERSION>). It is plain C99 and includes only
 * <stddef.h> and <stdint.h>.
 *
 *   halfcast_model* model = NULL;
 *   halfcast_model* fp16 = NULL;
 *   halfcast_convert_options* options = NULL;
 *   halfcast_status* status = halfcast_model_load_file("model.onnx", &model);
 *   if (!status) status = halfcast_convert_options_create(&options);
 *   if (!status)
 *     status = halfcast_convert_options_set_bool(options, HALFCAST_OPTION_KEEP_IO_TYPES, 1);
 *   if (!status) status = halfcast_convert_float_to_float16(model, options, &fp16, NULL);
 *   if (!status) status = halfcast_model_save(fp16, "model.fp16.onnx", NULL);
 *   if (status) {
 *     fprintf(stderr, "halfcast: %s\n", halfcast_status_message(status));
 *     halfcast_status_destroy(status);
 *   }
 *   halfcast_model_destroy(fp16);
 *   halfcast_convert_options_destroy(options);
 *   halfcast_model_destroy(model);
 *
 * Conventions (they hold for every function unless its comment says otherwise):
 * - Errors: a fallible function returns a halfcast_status*, NULL on success. A non-NULL status
 *   is owned by the caller (halfcast_status_destroy). On failure the function's out-parameters
 *   are left untouched and nothing it allocated is kept. A NULL handle or out-pointer where one
 *   is required gives HALFCAST_INVALID_ARGUMENT, never a crash.
 * - Ownership: a `halfcast_X** out` parameter receives a new handle owned by the caller, freed
 *   with halfcast_X_destroy. Every destroy function accepts NULL and returns nothing. A `const
 *   char*` or `const halfcast_X*` returned by an accessor is borrowed from the handle it came
 *   from and stays valid until that handle is destroyed or modified. Input strings and arrays are
 *   copied before the function returns, unless a function says it borrows them.
 * - Strings are NUL-terminated UTF-8. Booleans are `int`: 0 is false, anything else is true.
 * - Enums have pinned values and are only ever appended to; they are passed as `int`-sized
 *   values, so an FFI binding may declare them as int32.
 * - Callbacks take a trailing `void* user_data` (given back unchanged) and run on the thread
 *   that called the halfcast function, before it returns. They must not throw C++ exceptions,
 *   longjmp or unwind through halfcast (a Rust panic must be caught inside the callback).
 *
 * Threading: a handle is used by one thread at a time; distinct handles are independent, and the
 * library has no mutable global state, so distinct threads may convert distinct models at once.
 * Handles passed as `const` (a model, options, feeds) may be shared by threads that only read
 * them, provided the callbacks stored in shared options are themselves safe to call from those
 * threads.
 */
#ifndef HALFCAST_HALFCAST_C_H_
#define HALFCAST_HALFCAST_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(HALFCAST_C_BUILDING)
#define HALFCAST_C_EXPORT __declspec(dllexport)
#elif defined(_WIN32)
#define HALFCAST_C_EXPORT __declspec(dllimport)
#elif defined(__GNUC__)
#define HALFCAST_C_EXPORT __attribute__((visibility("default")))
#else
#define HALFCAST_C_EXPORT
#endif

/* ---------------------------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------------------------- */

/* The ABI this header describes. Incremented only on an incompatible change (and then the
 * SONAME changes with it); additions keep it. */
#define HALFCAST_C_ABI_VERSION 1

/* Non-zero when the library loaded at run time implements the ABI of this header. Bindings
 * should check it once at load time. */
#define HALFCAST_C_ABI_COMPATIBLE() (halfcast_abi_version() == HALFCAST_C_ABI_VERSION)

/* The library's version, "MAJOR.MINOR.PATCH". Static storage; never NULL. */
HALFCAST_C_EXPORT const char* halfcast_version(void);

/* The ABI version of the library loaded at run time (compare with HALFCAST_C_ABI_VERSION). */
HALFCAST_C_EXPORT int halfcast_abi_version(void);

/* ---------------------------------------------------------------------------------------------
 * Status
 * ------------------------------------------------------------------------------------------- */

/* Error codes. The values are those of absl::StatusCode (and of google.rpc.Code). */
typedef enum halfcast_status_code {
  HALFCAST_OK = 0, /* never carried by a status object: success is a NULL status */
  HALFCAST_CANCELLED = 1,
  HALFCAST_UNKNOWN = 2,
  HALFCAST_INVALID_ARGUMENT = 3,
  HALFCAST_DEADLINE_EXCEEDED = 4,
  HALFCAST_NOT_FOUND = 5,
  HALFCAST_ALREADY_EXISTS = 6,
  HALFCAST_PERMISSION_DENIED = 7,
  HALFCAST_RESOURCE_EXHAUSTED = 8,
  HALFCAST_FAILED_PRECONDITION = 9,
  HALFCAST_ABORTED = 10,
  HALFCAST_OUT_OF_RANGE = 11,
  HALFCAST_UNIMPLEMENTED = 12,
  HALFCAST_INTERNAL = 13,
  HALFCAST_UNAVAILABLE = 14,
  HALFCAST_DATA_LOSS = 15,
  HALFCAST_UNAUTHENTICATED = 16
} halfcast_status_code;

/* An error: a code and a message. */
typedef struct halfcast_status halfcast_status;

/* Creates a status, for an evaluator callback to report an error. `code` must not be
 * HALFCAST_OK (it becomes HALFCAST_UNKNOWN); `message` may be NULL (empty). Never returns NULL:
 * if memory runs out it returns a shared static RESOURCE_EXHAUSTED status, which
 * halfcast_status_destroy recognises. */
HALFCAST_C_EXPORT halfcast_status* halfcast_status_create(halfcast_status_code code,
                                                          const char* message);
/* The code of `status`; HALFCAST_OK for NULL. */
HALFCAST_C_EXPORT halfcast_status_code halfcast_status_code_of(const halfcast_status* status);
/* The message of `status` (UTF-8, borrowed from it); "" for NULL. */
HALFCAST_C_EXPORT const char* halfcast_status_message(const halfcast_status* status);
/* A stable lower-case name of `code` ("invalid_argument", ...); "unknown_code" if unknown. */
HALFCAST_C_EXPORT const char* halfcast_status_code_name(halfcast_status_code code);
HALFCAST_C_EXPORT void halfcast_status_destroy(halfcast_status* status);

/* ---------------------------------------------------------------------------------------------
 * Byte buffers owned by the library
 * ------------------------------------------------------------------------------------------- */

typedef struct halfcast_buffer halfcast_buffer;

/* The bytes (borrowed from the buffer). A NUL byte always follows the last byte (not counted
 * in the size), so a JSON buffer can be read as a C string. */
HALFCAST_C_EXPORT const void* halfcast_buffer_data(const halfcast_buffer* buffer);
/* The number of bytes; 0 for NULL. */
HALFCAST_C_EXPORT size_t halfcast_buffer_size(const halfcast_buffer* buffer);
HALFCAST_C_EXPORT void halfcast_buffer_destroy(halfcast_buffer* buffer);

/* ---------------------------------------------------------------------------------------------
 * Logging
 * ------------------------------------------------------------------------------------------- */

typedef enum halfcast_log_level {
  HALFCAST_LOG_DEBUG = 0,
  HALFCAST_LOG_INFO = 1,
  HALFCAST_LOG_WARNING = 2,
  HALFCAST_LOG_ERROR = 3
} halfcast_log_level;

/* Receives what the library has to say (it never prints). `message` is borrowed for the call. */
typedef void (*halfcast_log_fn)(halfcast_log_level level, const char* message, void* user_data);

/* ---------------------------------------------------------------------------------------------
 * Models
 * ------------------------------------------------------------------------------------------- */

/* An ONNX model held in memory. */
typedef struct halfcast_model halfcast_model;

/* Loads a model file; external data is read relative to the file's folder (paths leaving the
 * folder are refused). Errors: NOT_FOUND (missing file), INVALID_ARGUMENT (not an ONNX model,
 * bad external data, NULL arguments). */
HALFCAST_C_EXPORT halfcast_status* halfcast_model_load_file(const char* path,
                                                            halfcast_model** out_model);
/* Parses a model from `size` bytes at `data` (copied). A model referring to external data is
 * INVALID_ARGUMENT, as are bytes that are not an ONNX model. */
HALFCAST_C_EXPORT halfcast_status* halfcast_model_load_bytes(const void* data, size_t size,
                                                             halfcast_model** out_model);

/* How a model file is written: created with the defaults (one self-contained file). */
typedef struct halfcast_save_options halfcast_save_options;
HALFCAST_C_EXPORT halfcast_status* halfcast_save_options_create(halfcast_save_options** out);
HALFCAST_C_EXPORT void halfcast_save_options_destroy(halfcast_save_options* options);
/* Non-zero: tensors of at least `threshold_bytes` (default 1024, >= 0) go to a side file named
 * `file_name` relative to the model's folder (NULL or "": "<model file name>.data"). */
HALFCAST_C_EXPORT halfcast_status* halfcast_save_options_set_external_data(
    halfcast_save_options* options, int external_data, int64_t threshold_bytes,
    const char* file_name);

/* Writes `model` to `path` atomically: on error no file is left at `path` or at its side file.
 * `options` may be NULL (defaults). A model too large for one file without external data is
 * INVALID_ARGUMENT. */
HALFCAST_C_EXPORT halfcast_status* halfcast_model_save(const halfcast_model* model,
                                                       const char* path,
                                                       const halfcast_save_options* options);
/* Serializes a self-contained model to a new buffer owned by the caller. */
HALFCAST_C_EXPORT halfcast_status* halfcast_model_serialize(const halfcast_model* model,
                                                            halfcast_buffer** out_buffer);
HALFCAST_C_EXPORT void halfcast_model_destroy(halfcast_model* model);

/* ---------------------------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------------------------- */

/* Element types, numbered as onnx.TensorProto.DataType. Strings are not supported here. */
typedef enum halfcast_element_type {
  HALFCAST_ELEMENT_UNDEFINED = 0,
  HALFCAST_ELEMENT_FLOAT = 1,
  HALFCAST_ELEMENT_UINT8 = 2,
  HALFCAST_ELEMENT_INT8 = 3,
  HALFCAST_ELEMENT_UINT16 = 4,
  HALFCAST_ELEMENT_INT16 = 5,
  HALFCAST_ELEMENT_INT32 = 6,
  HALFCAST_ELEMENT_INT64 = 7,
  HALFCAST_ELEMENT_BOOL = 9,
  HALFCAST_ELEMENT_FLOAT16 = 10,
  HALFCAST_ELEMENT_DOUBLE = 11,
  HALFCAST_ELEMENT_UINT32 = 12,
  HALFCAST_ELEMENT_UINT64 = 13,
  HALFCAST_ELEMENT_BFLOAT16 = 16
} halfcast_element_type;

typedef enum halfcast_tensor_data_mode {
  HALFCAST_TENSOR_COPY = 0,  /* the tensor owns a copy of the data */
  HALFCAST_TENSOR_BORROW = 1 /* the tensor views the data: the caller keeps it alive and
                                unchanged until the tensor, and every feeds or named-tensors
                                object it was added to, is destroyed */
} halfcast_tensor_data_mode;

/* A dense tensor in C order. */
typedef struct halfcast_tensor halfcast_tensor;

/* Creates a tensor of `type` and shape `dims[0..rank)` (each >= 0; `dims` may be NULL when
 * rank is 0) over `data_size` bytes at `data`, which must equal the element count times the
 * element size (`data` may be NULL only when that is 0). Errors: INVALID_ARGUMENT for an
 * unsupported type, a negative or overflowing shape, or a size mismatch. */
HALFCAST_C_EXPORT halfcast_status* halfcast_tensor_create(halfcast_element_type type,
                                                          const int64_t* dims, size_t rank,
                                                          const void* data, size_t data_size,
                                                          halfcast_tensor_data_mode mode,
                                                          halfcast_tensor** out_tensor);
HALFCAST_C_EXPORT void halfcast_tensor_destroy(halfcast_tensor* tensor);
/* Accessors; each returns 0 / NULL / HALFCAST_ELEMENT_UNDEFINED for a NULL tensor. */
HALFCAST_C_EXPORT halfcast_element_type halfcast_tensor_element_type(const halfcast_tensor* tensor);
HALFCAST_C_EXPORT size_t halfcast_tensor_rank(const halfcast_tensor* tensor);
/* The dims (borrowed; `rank` values). */
HALFCAST_C_EXPORT const int64_t* halfcast_tensor_dims(const halfcast_tensor* tensor);
HALFCAST_C_EXPORT int64_t halfcast_tensor_element_count(const halfcast_tensor* tensor);
/* The bytes (borrowed; halfcast_tensor_byte_size of them), C order, host byte order. float16
 * and bfloat16 elements are uint16_t bit patterns. */
HALFCAST_C_EXPORT const void* halfcast_tensor_data(const halfcast_tensor* tensor);
HALFCAST_C_EXPORT size_t halfcast_tensor_byte_size(const halfcast_tensor* tensor);

/* ---------------------------------------------------------------------------------------------
 * Named tensors (one run's inputs or outputs) and feeds (several runs' inputs)
 * ------------------------------------------------------------------------------------------- */

/* A set of tensors by name, ordered by name (byte-wise). */
typedef struct halfcast_named_tensors halfcast_named_tensors;

HALFCAST_C_EXPORT halfcast_status* halfcast_named_tensors_create(halfcast_named_tensors** out);
HALFCAST_C_EXPORT void halfcast_named_tensors_destroy(halfcast_named_tensors* set);
/* Adds `tensor` under `name`: the set shares the tensor's data (a borrowed tensor stays
 * borrowed), the caller keeps its handle. A name already present is ALREADY_EXISTS. */
HALFCAST_C_EXPORT halfcast_status* halfcast_named_tensors_add(halfcast_named_tensors* set,
                                                              const char* name,
                                                              const halfcast_tensor* tensor);
/* The number of tensors; 0 for NULL. */
HALFCAST_C_EXPORT size_t halfcast_named_tensors_count(const halfcast_named_tensors* set);
/* The name / tensor at `index` (0 <= index < count), borrowed from the set; NULL if out of
 * range. */
HALFCAST_C_EXPORT const char* halfcast_named_tensors_name(const halfcast_named_tensors* set,
                                                          size_t index);
HALFCAST_C_EXPORT const halfcast_tensor* halfcast_named_tensors_tensor(
    const halfcast_named_tensors* set, size_t index);
/* The tensor named `name` (borrowed), NULL if absent. */
HALFCAST_C_EXPORT const halfcast_tensor* halfcast_named_tensors_find(
    const halfcast_named_tensors* set, const char* name);

/* Test inputs for mixed precision: a list of named-tensor sets, each one run of the model. */
typedef struct halfcast_feeds halfcast_feeds;

HALFCAST_C_EXPORT halfcast_status* halfcast_feeds_create(halfcast_feeds** out);
HALFCAST_C_EXPORT void halfcast_feeds_destroy(halfcast_feeds* feeds);
/* Appends a copy of `set` (sharing its tensors' data). */
HALFCAST_C_EXPORT halfcast_status* halfcast_feeds_add(halfcast_feeds* feeds,
                                                      const halfcast_named_tensors* set);
HALFCAST_C_EXPORT size_t halfcast_feeds_count(const halfcast_feeds* feeds);

/* ---------------------------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------------------------- */

typedef enum halfcast_target {
  HALFCAST_TARGET_FLOAT16 = 0, /* IEEE 754 binary16 */
  HALFCAST_TARGET_BFLOAT16 = 1
} halfcast_target;

typedef enum halfcast_search_strategy {
  HALFCAST_STRATEGY_ERROR_GUIDED = 0, /* default: fewest evaluations */
  HALFCAST_STRATEGY_BISECT = 1        /* onnxconverter-common's algorithm, reproduced exactly */
} halfcast_search_strategy;

/* Option keys, shared by convert options (C) and mixed-precision options (M). Each key takes
 * one kind of value, set with the setter of that kind; a key of another kind, a key the options
 * object does not have, or an unknown key is INVALID_ARGUMENT, and so is a value out of range.
 * Defaults follow onnxconverter-common. */
typedef enum halfcast_option {
  /* double (C, M), default 1e-7, >= 0: constants with 0 < |x| < it become sign(x) * it. */
  HALFCAST_OPTION_MIN_POSITIVE_VAL = 0,
  /* double (C, M), default 1e4, > 0: finite constants with |x| > it become sign(x) * it. */
  HALFCAST_OPTION_MAX_FINITE_VAL = 1,
  /* bool (C, M), default 0: float32 graph inputs and outputs stay float32. */
  HALFCAST_OPTION_KEEP_IO_TYPES = 2,
  /* strings (C): only these graph inputs/outputs stay float32 (overrides KEEP_IO_TYPES). */
  HALFCAST_OPTION_KEEP_IO_NAMES = 3,
  /* bool (C), default 0: skip ONNX shape inference. */
  HALFCAST_OPTION_DISABLE_SHAPE_INFER = 4,
  /* strings (C, M), default DEFAULT_OP_BLOCK_LIST: op types kept in float32. Entries of this and
   * the other selection lists (NODE_BLOCK_LIST, OP_INCLUDE_LIST, NODE_INCLUDE_LIST) are names or
   * full-match patterns ("conv2d_.*", docs/op-policy.md); an invalid pattern makes the
   * conversion INVALID_ARGUMENT, an entry matching nothing is reported
   * (halfcast_report_unmatched) or, with STRICT_LISTS, INVALID_ARGUMENT. */
  HALFCAST_OPTION_OP_BLOCK_LIST = 5,
  /* strings (C, M), default empty: node names kept in float32. */
  HALFCAST_OPTION_NODE_BLOCK_LIST = 6,
  /* ints (C), default empty: positions of top-level nodes kept in float32. */
  HALFCAST_OPTION_NODE_INDEX_BLOCK_LIST = 7,
  /* bool (C), default 1: refuse a model already holding float16/bfloat16. */
  HALFCAST_OPTION_CHECK_FP16_READY = 8,
  /* int (C, M), a halfcast_target, default HALFCAST_TARGET_FLOAT16. */
  HALFCAST_OPTION_TARGET = 9,
  /* double (M), unset by default: numpy.allclose rtol (only atol set: rtol = 1e-5). */
  HALFCAST_OPTION_RTOL = 10,
  /* double (M), unset by default: numpy.allclose atol (only rtol set: atol = 1e-8). */
  HALFCAST_OPTION_ATOL = 11,
  /* int (M), a halfcast_search_strategy, default HALFCAST_STRATEGY_ERROR_GUIDED. */
  HALFCAST_OPTION_STRATEGY = 12,
  /* int (M), default 0 = no limit: reaching it fails with RESOURCE_EXHAUSTED. */
  HALFCAST_OPTION_MAX_EVALUATIONS = 13,
  /* strings (C, M), default empty: ops nothing describes (a vendor's custom domain) declared
   * 16-bit capable, each "domain:op_type" (":op_type" for the default domain). */
  HALFCAST_OPTION_FP16_OPS = 14,
  /* double (M), default 0 = none, >= 0: seconds the whole search may take; each evaluation gets
   * what is left, and reaching it fails with DEADLINE_EXCEEDED. */
  HALFCAST_OPTION_TIME_LIMIT = 15,
  /* double (M), default 0.2, in [0, 1): candidates must meet RTOL and ATOL scaled by
   * (1 - it), so the answer is not one at the edge of the bound (see docs/design.md). */
  HALFCAST_OPTION_SAFETY_MARGIN = 16,
  /* int (M), default 2 GiB, 0 = no bound: bytes of tensor values the search keeps between
   * evaluations; past it the search gets slower, never wrong. */
  HALFCAST_OPTION_MAX_RETAINED_BYTES = 17,
  /* strings (C, M), default empty: op types forced to the target type, over OP_BLOCK_LIST and
   * its defaults (never over an op's schema). */
  HALFCAST_OPTION_OP_INCLUDE_LIST = 18,
  /* strings (C, M), default empty: node names forced to the target type, over every block list;
   * the mixed-precision search never keeps them float32. */
  HALFCAST_OPTION_NODE_INCLUDE_LIST = 19,
  /* bool (C, M), default 0: a selection-list entry that matches nothing is INVALID_ARGUMENT. */
  HALFCAST_OPTION_STRICT_LISTS = 20,
  /* bool (M), default 0: when MAX_EVALUATIONS or TIME_LIMIT stop the search, return the best
   * candidate so far instead of failing (HALFCAST_REPORT_VALIDATED and
   * halfcast_report_stop_reason tell what it is). */
  HALFCAST_OPTION_KEEP_BEST = 21,
  /* bool (M), default 1: with the built-in evaluator, a candidate must also validate when run as
   * ONNX Runtime's CPU provider runs float16 (docs/numerics.md). */
  HALFCAST_OPTION_CHECK_ORT_CPU = 22
} halfcast_option;

/* A stable lower-case name of `option` ("keep_io_types", ...); NULL if unknown. */
HALFCAST_C_EXPORT const char* halfcast_option_name(halfcast_option option);

/* Options of halfcast_convert_float_to_float16 / halfcast_convert_file; created with the
 * defaults. */
typedef struct halfcast_convert_options halfcast_convert_options;

HALFCAST_C_EXPORT halfcast_status* halfcast_convert_options_create(halfcast_convert_options** out);
HALFCAST_C_EXPORT void halfcast_convert_options_destroy(halfcast_convert_options* options);
HALFCAST_C_EXPORT halfcast_status* halfcast_convert_options_set_bool(
    halfcast_convert_options* options, halfcast_option option, int value);
HALFCAST_C_EXPORT halfcast_status* halfcast_convert_options_set_int(
    halfcast_convert_options* options, halfcast_option option, int64_t value);
HALFCAST_C_EXPORT halfcast_status* halfcast_convert_options_set_double(
    halfcast_convert_options* options, halfcast_option option, double value);
/* Replaces a list option with `count` strings (`values` may be NULL when count is 0). */
HALFCAST_C_EXPORT halfcast_status* halfcast_convert_options_set_strings(
    halfcast_convert_options* options, halfcast_option option, const char* const* values,
    size_t count);
/* Replaces an int-list option with `count` values (each >= 0). */
HALFCAST_C_EXPORT halfcast_status* halfcast_convert_options_set_ints(
    halfcast_convert_options* options, halfcast_option option, const int64_t* values, size_t count);
/* Sets (or with fn NULL clears) the log callback. */
HALFCAST_C_EXPORT halfcast_status* halfcast_convert_options_set_log_callback(
    halfcast_convert_options* options, halfcast_log_fn fn, void* user_data);

/* Options of halfcast_auto_convert_mixed_precision(_file); created with the defaults, which set
 * no tolerance: set RTOL and/or ATOL, or a validate callback. */
typedef struct halfcast_mixed_precision_options halfcast_mixed_precision_options;

HALFCAST_C_EXPORT halfcast_status* halfcast_mixed_precision_options_create(
    halfcast_mixed_precision_options** out);
HALFCAST_C_EXPORT void halfcast_mixed_precision_options_destroy(
    halfcast_mixed_precision_options* options);
HALFCAST_C_EXPORT halfcast_status* halfcast_mixed_precision_options_set_bool(
    halfcast_mixed_precision_options* options, halfcast_option option, int value);
HALFCAST_C_EXPORT halfcast_status* halfcast_mixed_precision_options_set_int(
    halfcast_mixed_precision_options* options, halfcast_option option, int64_t value);
HALFCAST_C_EXPORT halfcast_status* halfcast_mixed_precision_options_set_double(
    halfcast_mixed_precision_options* options, halfcast_option option, double value);
HALFCAST_C_EXPORT halfcast_status* halfcast_mixed_precision_options_set_strings(
    halfcast_mixed_precision_options* options, halfcast_option option, const char* const* values,
    size_t count);
HALFCAST_C_EXPORT halfcast_status* halfcast_mixed_precision_options_set_log_callback(
    halfcast_mixed_precision_options* options, halfcast_log_fn fn, void* user_data);

/* Decides whether a candidate's outputs are acceptable. `reference` holds the float32 model's
 * outputs, `candidate` the converted model's (16-bit outputs widened to float32, exactly), both
 * by graph output name and borrowed for the call. Returns 1 (accept), 0 (reject), or a negative value for an error, which stops the search
 * with HALFCAST_ABORTED. Used instead of, or together with, RTOL/ATOL (then both must accept). */
typedef int (*halfcast_validate_fn)(const halfcast_named_tensors* reference,
                                    const halfcast_named_tensors* candidate, void* user_data);
HALFCAST_C_EXPORT halfcast_status* halfcast_mixed_precision_options_set_validate_callback(
    halfcast_mixed_precision_options* options, halfcast_validate_fn fn, void* user_data);

/* Runs a model in the caller's runtime instead of halfcast's built-in CPU evaluator.
 * `model_bytes` (`model_size` bytes, a serialized self-contained ONNX model) and `feeds` are
 * borrowed for the call. The callback adds graph outputs, by name, to `outputs` (an empty set
 * owned by the library, which copies borrowed tensor data as they are added) and
 * returns NULL, or returns a status from halfcast_status_create, which the library takes over and
 * reports. The model may list intermediate values as extra graph outputs: the search ranks nodes
 * by their error when they come back, and works without them; the outputs of the model being
 * converted are required. */
typedef halfcast_status* (*halfcast_evaluator_fn)(const void* model_bytes, size_t model_size,
                                                  const halfcast_named_tensors* feeds,
                                                  halfcast_named_tensors* outputs, void* user_data);
HALFCAST_C_EXPORT halfcast_status* halfcast_mixed_precision_options_set_evaluator_callback(
    halfcast_mixed_precision_options* options, halfcast_evaluator_fn fn, void* user_data);

/* The state of the search after an attempt, borrowed for the callback's duration. */
typedef struct halfcast_progress halfcast_progress;

typedef enum halfcast_segment_state {
  HALFCAST_SEGMENT_UNTRIED = 0,
  HALFCAST_SEGMENT_GOOD = 1,
  HALFCAST_SEGMENT_BAD = 2
} halfcast_segment_state;

HALFCAST_C_EXPORT int64_t halfcast_progress_evaluations(const halfcast_progress* progress);
HALFCAST_C_EXPORT double halfcast_progress_elapsed_seconds(const halfcast_progress* progress);
HALFCAST_C_EXPORT size_t halfcast_progress_segment_count(const halfcast_progress* progress);
/* Segment `index` in graph order: first top-level node position, node count, state. Out
 * pointers may be NULL. Returns 0 if `index` is out of range (outputs untouched), else 1. */
HALFCAST_C_EXPORT int halfcast_progress_segment(const halfcast_progress* progress, size_t index,
                                                size_t* begin, size_t* size,
                                                halfcast_segment_state* state);
/* The segments as onnxconverter-common prints them: good sizes in *stars*, bad in
 * (parentheses), untried plain. Borrowed for the callback's duration. */
HALFCAST_C_EXPORT const char* halfcast_progress_text(const halfcast_progress* progress);

/* Called after each attempt; a non-zero return cancels the search (HALFCAST_CANCELLED). */
typedef int (*halfcast_progress_fn)(const halfcast_progress* progress, void* user_data);
HALFCAST_C_EXPORT halfcast_status* halfcast_mixed_precision_options_set_progress_callback(
    halfcast_mixed_precision_options* options, halfcast_progress_fn fn, void* user_data);

/* ---------------------------------------------------------------------------------------------
 * Reports
 * ------------------------------------------------------------------------------------------- */

/* What a conversion did. */
typedef struct halfcast_report halfcast_report;

typedef enum halfcast_report_value {
  HALFCAST_REPORT_NODES_CONVERTED = 0,
  HALFCAST_REPORT_NODES_KEPT = 1, /* nodes computing in float32 (see halfcast_report_kept_node) */
  HALFCAST_REPORT_CASTS_INSERTED = 2,
  HALFCAST_REPORT_CASTS_REMOVED = 3,
  HALFCAST_REPORT_INITIALIZERS_CONVERTED = 4,
  HALFCAST_REPORT_VALUES_CLIPPED = 5, /* over all tensors, raised to min plus lowered to max */
  HALFCAST_REPORT_BYTES_BEFORE = 6,   /* tensor bytes of initializers and constants */
  HALFCAST_REPORT_BYTES_AFTER = 7,
  HALFCAST_REPORT_EVALUATIONS = 8,   /* model runs of a mixed-precision search; 0 otherwise */
  HALFCAST_REPORT_FLOAT32_INPUTS = 9, /* inputs of converted nodes kept float32 by their schema */
  /* matrix-product multiply-adds per activation row (MatMul, Gemm, fused and quantized forms,
   * attention) where shapes are known, and how many of them run in 16 bits */
  HALFCAST_REPORT_MATMUL_FLOPS_TOTAL = 10,
  HALFCAST_REPORT_MATMUL_FLOPS_16BIT = 11,
  /* the most bytes of tensor values a mixed-precision search kept between evaluations */
  HALFCAST_REPORT_PEAK_RETAINED_BYTES = 12,
  /* selection-list entries that matched no node (see halfcast_report_unmatched) */
  HALFCAST_REPORT_UNMATCHED = 13,
  /* 1 if the model validated on every feed set; 0 only for a KEEP_BEST candidate that did not
   * (1 for a plain conversion) */
  HALFCAST_REPORT_VALIDATED = 14,
  /* 1 if a limit stopped the search and KEEP_BEST returned the best so far, else 0 */
  HALFCAST_REPORT_STOPPED_EARLY = 15
} halfcast_report_value;

/* Stores one counter of `report` in `*out`. Unknown `value`: INVALID_ARGUMENT. */
HALFCAST_C_EXPORT halfcast_status* halfcast_report_get(const halfcast_report* report,
                                                       halfcast_report_value value, int64_t* out);
/* Kept node `index` (< HALFCAST_REPORT_NODES_KEPT): its graph ("" = main graph, else the path
 * of subgraph attributes), node name, op type, reason ("op_block_list", "node_block_list",
 * "schema", "model_function", "search", "unknown_op") and detail, each borrowed from the report. Out
 * pointers may be NULL. Out of range: OUT_OF_RANGE. */
HALFCAST_C_EXPORT halfcast_status* halfcast_report_kept_node(
    const halfcast_report* report, size_t index, const char** graph, const char** name,
    const char** op_type, const char** reason, const char** detail);
/* Unmatched entry `index` (< HALFCAST_REPORT_UNMATCHED): the list's option name
 * ("op_block_list", "node_block_list", "op_include_list", "node_include_list", "fp16_ops") and
 * the entry as given, borrowed from the report. Out pointers may be NULL. Out of range:
 * OUT_OF_RANGE. */
HALFCAST_C_EXPORT halfcast_status* halfcast_report_unmatched(const halfcast_report* report,
                                                             size_t index, const char** list,
                                                             const char** entry);
/* Why the search stopped early (HALFCAST_REPORT_STOPPED_EARLY), borrowed from the report; ""
 * when it ran to its end, for a plain conversion and for NULL. */
HALFCAST_C_EXPORT const char* halfcast_report_stop_reason(const halfcast_report* report);
/* The whole report as a JSON object in a new buffer owned by the caller (a mixed-precision
 * report nests the conversion report under "conversion"). */
HALFCAST_C_EXPORT halfcast_status* halfcast_report_to_json(const halfcast_report* report,
                                                           halfcast_buffer** out_json);
HALFCAST_C_EXPORT void halfcast_report_destroy(halfcast_report* report);

/* ---------------------------------------------------------------------------------------------
 * Conversions
 * ------------------------------------------------------------------------------------------- */

/* Converts `model` (not modified) to float16 / bfloat16 as onnxconverter-common's
 * convert_float_to_float16 does (SPEC.md section 1). `options` may be NULL (defaults).
 * `*out_model` receives the converted model; `out_report` may be NULL, else receives the report.
 * Errors: INVALID_ARGUMENT (bad options, malformed model), FAILED_PRECONDITION (the model already
 * holds float16 and CHECK_FP16_READY is set). */
HALFCAST_C_EXPORT halfcast_status* halfcast_convert_float_to_float16(
    const halfcast_model* model, const halfcast_convert_options* options,
    halfcast_model** out_model, halfcast_report** out_report);

/* Converts the model file `input_path` to `output_path` (written atomically), streaming external
 * data; for models with external data or over 2 GB. `options` and `save_options` may be NULL;
 * `out_report` may be NULL. */
HALFCAST_C_EXPORT halfcast_status* halfcast_convert_file(const char* input_path,
                                                         const char* output_path,
                                                         const halfcast_convert_options* options,
                                                         const halfcast_save_options* save_options,
                                                         halfcast_report** out_report);

/* Finds the fewest float32 nodes that keep `model` accurate on `feeds` (at least one set), as
 * onnxconverter-common's auto_convert_mixed_precision does (SPEC.md section 2). `options` must
 * set a tolerance or a validate callback. Errors: INVALID_ARGUMENT (no tolerance, feeds missing
 * an input or mistyped), FAILED_PRECONDITION (the float32 model fails its own validation, or no
 * conversion validates), CANCELLED (the progress callback said stop), ABORTED (the validate
 * callback reported an error), RESOURCE_EXHAUSTED (MAX_EVALUATIONS reached) or DEADLINE_EXCEEDED
 * (TIME_LIMIT reached) unless KEEP_BEST is set, or the status an evaluator callback returned. */
HALFCAST_C_EXPORT halfcast_status* halfcast_auto_convert_mixed_precision(
    const halfcast_model* model, const halfcast_feeds* feeds,
    const halfcast_mixed_precision_options* options, halfcast_model** out_model,
    halfcast_report** out_report);

/* The same from a file to a file (written atomically), for models with external data.
 * `save_options` and `out_report` may be NULL. */
HALFCAST_C_EXPORT halfcast_status* halfcast_auto_convert_mixed_precision_file(
    const char* input_path, const char* output_path, const halfcast_feeds* feeds,
    const halfcast_mixed_precision_options* options, const halfcast_save_options* save_options,
    halfcast_report** out_report);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HALFCAST_HALFCAST_C_H_ */
