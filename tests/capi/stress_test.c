/* Several threads converting different models through the C API at once must produce the same
 * bytes as one thread alone. The threads share the const model and options handles, which the
 * header's threading rules allow. tsan_stress.sh runs this under ThreadSanitizer. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdlib.h>

#include "check.h"

#define MODELS HALFCAST_TEST_DATA_DIR "/models/"
static const char* const kPaths[] = {
    HALFCAST_CAPI_DATA_DIR "/tiny.onnx", MODELS "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    MODELS "ch_PP-OCRv4_det_infer.onnx", MODELS "silero_vad.onnx",
    MODELS "silero_vad_16k_op15.onnx",
};
enum { kModels = sizeof(kPaths) / sizeof(kPaths[0]), kThreadsPerModel = 2 };

typedef struct job {
  const halfcast_model* model;
  const halfcast_convert_options* options;
  halfcast_buffer* bytes;  /* out */
  halfcast_status* status; /* out */
} job;

static halfcast_status* convert_to_bytes(const halfcast_model* model,
                                         const halfcast_convert_options* options,
                                         halfcast_buffer** bytes) {
  halfcast_model* converted = NULL;
  halfcast_status* status = halfcast_convert_float_to_float16(model, options, &converted, NULL);
  if (status == NULL) status = halfcast_model_serialize(converted, bytes);
  halfcast_model_destroy(converted);
  return status;
}

static void* run_job(void* arg) {
  job* j = (job*)arg;
  j->status = convert_to_bytes(j->model, j->options, &j->bytes);
  return NULL;
}

static void test_threads_match_one_thread(void) {
  halfcast_model* models[kModels] = {NULL};
  halfcast_buffer* expected[kModels] = {NULL};
  halfcast_convert_options* options = NULL;
  job jobs[kModels * kThreadsPerModel];
  pthread_t threads[kModels * kThreadsPerModel];
  size_t i;

  CHECK_OK(halfcast_convert_options_create(&options));
  CHECK_OK(halfcast_convert_options_set_bool(options, HALFCAST_OPTION_KEEP_IO_TYPES, 1));
  for (i = 0; i < kModels; ++i) {
    CHECK_OK(halfcast_model_load_file(kPaths[i], &models[i]));
    CHECK_OK(convert_to_bytes(models[i], options, &expected[i]));
  }
  for (i = 0; i < kModels * kThreadsPerModel; ++i) {
    jobs[i].model = models[i % kModels];
    jobs[i].options = options;
    jobs[i].bytes = NULL;
    jobs[i].status = NULL;
    CHECK(pthread_create(&threads[i], NULL, run_job, &jobs[i]) == 0);
  }
  for (i = 0; i < kModels * kThreadsPerModel; ++i) {
    const halfcast_buffer* want = expected[i % kModels];
    CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK_OK(jobs[i].status);
    CHECK(halfcast_buffer_size(jobs[i].bytes) == halfcast_buffer_size(want) &&
          halfcast_buffer_size(want) > 0 &&
          memcmp(halfcast_buffer_data(jobs[i].bytes), halfcast_buffer_data(want),
                 halfcast_buffer_size(want)) == 0);
    halfcast_buffer_destroy(jobs[i].bytes);
  }
  for (i = 0; i < kModels; ++i) {
    halfcast_buffer_destroy(expected[i]);
    halfcast_model_destroy(models[i]);
  }
  halfcast_convert_options_destroy(options);
}

RUN_TESTS(TEST(test_threads_match_one_thread))
