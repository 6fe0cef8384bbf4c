// Everything of halfcast's C++ API. See each header for usage.
#ifndef HALFCAST_HALFCAST_H_
#define HALFCAST_HALFCAST_H_

#include "halfcast/convert.h"
#include "halfcast/evaluator.h"
#include "halfcast/mixed_precision.h"
#include "halfcast/model_io.h"
#include "halfcast/options.h"
#include "halfcast/tensor.h"
#include "halfcast/value.h"
#include "halfcast/version.h"

#endif  // HALFCAST_HALFCAST_H_
