// C side of the Go validate callback: the library calls validate_trampoline, which hands the
// cgo.Handle kept in user_data to the exported Go function.
#include <stdint.h>

#include "_cgo_export.h"
#include "halfcast/halfcast_c.h"

static int validate_trampoline(const halfcast_named_tensors* reference,
                               const halfcast_named_tensors* candidate, void* user_data) {
  return goValidate((halfcast_named_tensors*)reference, (halfcast_named_tensors*)candidate,
                    (uintptr_t)user_data);
}

halfcast_status* set_go_validate(halfcast_mixed_precision_options* options, uintptr_t handle) {
  return halfcast_mixed_precision_options_set_validate_callback(options, validate_trampoline,
                                                                (void*)handle);
}
