/* Compiled as strict C99 with -Wall -Wextra -pedantic -Werror (and header_test.cc as C++): the
 * header must stand alone, twice included, in both languages. Running it checks that the header
 * and the library agree on the ABI. */
#include <stdio.h>

#include "halfcast/halfcast_c.h"

int header_test_cxx(void);

int main(void) {
  if (!HALFCAST_C_ABI_COMPATIBLE()) {
    fprintf(stderr, "header ABI %d, library ABI %d\n", HALFCAST_C_ABI_VERSION,
            halfcast_abi_version());
    return 1;
  }
  return header_test_cxx();
}
