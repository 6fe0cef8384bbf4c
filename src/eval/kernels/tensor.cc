// Placeholder: the kernel family's owner replaces this file.
#include "eval/kernel.h"

namespace halfcast::eval {

absl::Span<const KernelDef> TensorKernels() { return {}; }

}  // namespace halfcast::eval
