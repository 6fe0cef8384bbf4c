#include "halfcast/version.h"

namespace halfcast {

const char* Version() { return HALFCAST_VERSION_STRING; }

}  // namespace halfcast
