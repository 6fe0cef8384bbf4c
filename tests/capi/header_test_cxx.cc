// The C header from C++: extern "C" linkage, no warnings under -Wall -Wextra -pedantic -Werror.
#include "halfcast/halfcast_c.h"

extern "C" int header_test_cxx(void) {
  halfcast_status* status = halfcast_status_create(HALFCAST_INVALID_ARGUMENT, "c++");
  const bool ok = halfcast_status_code_of(status) == HALFCAST_INVALID_ARGUMENT;
  halfcast_status_destroy(status);
  return ok ? 0 : 1;
}
