// The C side of the Go callbacks: each trampoline hands the cgo.Handle kept in user_data to an
// exported Go function (callbacks.go), and each setter registers one trampoline.
#include <stdint.h>

#include "_cgo_export.h"
#include "halfcast/halfcast_c.h"

static void log_trampoline(halfcast_log_level level, const char* message, void* user_data) {
  halfcastGoLog(level, (char*)message, (uintptr_t)user_data);
}

static int validate_trampoline(const halfcast_named_tensors* reference,
                               const halfcast_named_tensors* candidate, void* user_data) {
  return halfcastGoValidate((halfcast_named_tensors*)reference,
                            (halfcast_named_tensors*)candidate, (uintptr_t)user_data);
}

static int progress_trampoline(const halfcast_progress* progress, void* user_data) {
  return halfcastGoProgress((halfcast_progress*)progress, (uintptr_t)user_data);
}

static halfcast_status* evaluate_trampoline(const void* model_bytes, size_t model_size,
                                            const halfcast_named_tensors* feeds,
                                            halfcast_named_tensors* outputs, void* user_data) {
  return halfcastGoEvaluate((void*)model_bytes, model_size, (halfcast_named_tensors*)feeds,
                            outputs, (uintptr_t)user_data);
}

halfcast_status* halfcast_go_convert_set_log(halfcast_convert_options* options,
                                             uintptr_t handle) {
  return halfcast_convert_options_set_log_callback(options, log_trampoline, (void*)handle);
}

halfcast_status* halfcast_go_mixed_set_log(halfcast_mixed_precision_options* options,
                                           uintptr_t handle) {
  return halfcast_mixed_precision_options_set_log_callback(options, log_trampoline,
                                                           (void*)handle);
}

halfcast_status* halfcast_go_mixed_set_validate(halfcast_mixed_precision_options* options,
                                                uintptr_t handle) {
  return halfcast_mixed_precision_options_set_validate_callback(options, validate_trampoline,
                                                                (void*)handle);
}

halfcast_status* halfcast_go_mixed_set_progress(halfcast_mixed_precision_options* options,
                                                uintptr_t handle) {
  return halfcast_mixed_precision_options_set_progress_callback(options, progress_trampoline,
                                                                (void*)handle);
}

halfcast_status* halfcast_go_mixed_set_evaluator(halfcast_mixed_precision_options* options,
                                                 uintptr_t handle) {
  return halfcast_mixed_precision_options_set_evaluator_callback(options, evaluate_trampoline,
                                                                 (void*)handle);
}
