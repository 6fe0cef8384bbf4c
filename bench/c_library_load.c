/* Times loading libhalfcast_c.so: dlopen with RTLD_NOW (every relocation and the static
 * initializers of the library and of what it needs), then loading and converting MODEL once (the
 * first conversion also builds onnx's schema registry). One load per process, so each figure is
 * a cold start of the dynamic loader (the file cache stays warm).
 * Usage: c_library_load LIBRARY MODEL; prints the microseconds of dlopen and of that conversion. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

#include "halfcast/halfcast_c.h"

static double Microseconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

/* Looks NAME up in LIBRARY into *FUNCTION; returns 0 when it is missing. */
static int Resolve(void* library, const char* name, void** function) {
  *function = dlsym(library, name);
  if (!*function) fprintf(stderr, "%s is not exported\n", name);
  return *function != NULL;
}

int main(int argc, char** argv) {
  double start, loaded, converted;
  void* library;
  halfcast_status* (*load_file)(const char*, halfcast_model**);
  halfcast_status* (*convert)(const halfcast_model*, const halfcast_convert_options*,
                              halfcast_model**, halfcast_report**);
  void (*destroy_model)(halfcast_model*);
  void (*destroy_status)(halfcast_status*);
  halfcast_model* model = NULL;
  halfcast_model* fp16 = NULL;
  halfcast_status* status;
  if (argc != 3) return 2;
  start = Microseconds();
  library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  loaded = Microseconds();
  if (!library) return fprintf(stderr, "%s\n", dlerror()), 1;
  if (!Resolve(library, "halfcast_model_load_file", (void**)&load_file) ||
      !Resolve(library, "halfcast_convert_float_to_float16", (void**)&convert) ||
      !Resolve(library, "halfcast_model_destroy", (void**)&destroy_model) ||
      !Resolve(library, "halfcast_status_destroy", (void**)&destroy_status)) {
    return 1;
  }
  status = load_file(argv[2], &model);
  if (!status) status = convert(model, NULL, &fp16, NULL);
  converted = Microseconds();
  destroy_model(fp16);
  destroy_model(model);
  if (status) return fprintf(stderr, "conversion failed\n"), destroy_status(status), 1;
  printf("%.0f %.0f\n", loaded - start, converted - loaded);
  return 0;
}
