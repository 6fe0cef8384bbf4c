// The evaluator's float16/bfloat16 model (docs/numerics.md, "float16 in the reference
// evaluator"): 16-bit float tensors are widened to float32 for computing, and float32 results
// stored in a 16-bit type are rounded to nearest even (overflow becomes inf).
#ifndef HALFCAST_EVAL_FLOAT16_EMULATION_H_
#define HALFCAST_EVAL_FLOAT16_EMULATION_H_

#include "halfcast/tensor.h"

namespace halfcast::eval {

// A float32 tensor holding the exact values of a float16 or bfloat16 tensor.
Tensor WidenToFloat(const Tensor& tensor);
// `tensor` (float32) rounded to `type` (kFloat16 or kBFloat16), nearest even.
Tensor NarrowFromFloat(const Tensor& tensor, DataType type);

}  // namespace halfcast::eval

#endif  // HALFCAST_EVAL_FLOAT16_EMULATION_H_
