/* The C ABI from C: a load-schema-predict round trip on the bundled demo model and every error
 * path the header documents. Exits non-zero on the first failed check. */
#include <edgerun/edgerun.h>

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                       \
    }                                                                   \
  } while (0)

/* The status has `code` and its message contains `needle`; frees it. */
static void expect_error(er_status* s, er_status_code code, const char* needle, int line) {
  if (s == NULL) {
    fprintf(stderr, "line %d: expected error %d (%s), got success\n", line, (int)code, needle);
    ++failures;
    return;
  }
  if (er_status_get_code(s) != code || strstr(er_status_message(s), needle) == NULL) {
    fprintf(stderr, "line %d: expected error %d containing '%s', got %d: %s\n", line, (int)code,
            needle, (int)er_status_get_code(s), er_status_message(s));
    ++failures;
  }
  er_status_free(s);
}
#define EXPECT_ERROR(call, code, needle) expect_error((call), (code), (needle), __LINE__)

static void expect_ok(er_status* s, int line) {
  if (s != NULL) {
    fprintf(stderr, "line %d: unexpected error %d: %s\n", line, (int)er_status_get_code(s),
            er_status_message(s));
    ++failures;
    er_status_free(s);
  }
}
#define EXPECT_OK(call) expect_ok((call), __LINE__)

int main(void) {
  CHECK(er_abi_version() >> 16 == ER_ABI_VERSION_MAJOR);
  CHECK(strlen(er_version()) > 0);
  CHECK(er_status_get_code(NULL) == ER_OK);
  CHECK(strcmp(er_status_message(NULL), "") == 0);
  CHECK(er_dtype_size(ER_DTYPE_FLOAT32) == 4 && er_dtype_size(ER_DTYPE_STRING) == 0);

  er_engine* engine = NULL;
  er_model* model = NULL;
  EXPECT_ERROR(er_engine_create(NULL, NULL), ER_INVALID_ARGUMENT, "'out_engine' must not be NULL");
  EXPECT_OK(er_engine_create(NULL, &engine));

  /* Loading: null handles, a missing file, corrupt bytes, bad options. */
  EXPECT_ERROR(er_model_load(NULL, EDGERUN_DEMO_MODEL, NULL, &model), ER_INVALID_ARGUMENT,
               "'engine' must not be NULL");
  CHECK(model == NULL);
  EXPECT_ERROR(er_model_load(engine, NULL, NULL, &model), ER_INVALID_ARGUMENT, "'path'");
  er_status* missing = er_model_load(engine, "/nonexistent/model.onnx", NULL, &model);
  CHECK(missing != NULL && strstr(er_status_message(missing), "/nonexistent/model.onnx") != NULL);
  er_status_free(missing);
  const char garbage[] = "this is not an ONNX model";
  EXPECT_ERROR(er_model_load_from_memory(engine, garbage, sizeof garbage, NULL, &model),
               ER_INVALID_MODEL, "");
  er_model_options bad_units = {sizeof(er_model_options), (er_compute_units)42, NULL, 0, NULL, 0};
  EXPECT_ERROR(er_model_load(engine, EDGERUN_DEMO_MODEL, &bad_units, &model), ER_INVALID_ARGUMENT,
               "compute_units 42");

  const char* unknown_backend[] = {"tpu"};
  er_model_options bad_backend = {sizeof(er_model_options), ER_COMPUTE_UNITS_ALL, NULL, 0,
                                  unknown_backend, 1};
  EXPECT_ERROR(er_model_load(engine, EDGERUN_DEMO_MODEL, &bad_backend, &model),
               ER_INVALID_ARGUMENT, "tpu");
  /* A caller built against the first version of the header (no backends fields). */
  er_model_options old_layout = {offsetof(er_model_options, backends), ER_COMPUTE_UNITS_ALL, NULL,
                                 0, unknown_backend, 1};
  EXPECT_OK(er_model_load(engine, EDGERUN_DEMO_MODEL, &old_layout, &model));
  er_model_free(model);
  model = NULL;

  er_dim_value batch = {"N", 2};
  const char* reference_only[] = {"reference"};
  er_model_options options = {sizeof(er_model_options), ER_COMPUTE_UNITS_CPU_ONLY, &batch, 1,
                              reference_only, 1};
  EXPECT_OK(er_model_load(engine, EDGERUN_DEMO_MODEL, &options, &model));
  er_engine_free(engine); /* the model must not depend on the engine handle */
  if (model == NULL) return 1;

  /* Schema. */
  CHECK(er_model_num_inputs(model) == 1 && er_model_num_outputs(model) == 1);
  er_io_info in = {.struct_size = sizeof(er_io_info)};
  EXPECT_OK(er_model_input_info(model, 0, &in));
  CHECK(strcmp(in.name, "image") == 0 && in.dtype == ER_DTYPE_FLOAT32 && in.rank == 4);
  CHECK(in.dims[0] == 2 && in.dims[1] == 3); /* N is fixed to 2 by the options */
  er_io_info too_small = {0};
  EXPECT_ERROR(er_model_input_info(model, 0, &too_small), ER_INVALID_ARGUMENT, "struct_size");
  er_io_info out_info = {.struct_size = sizeof(er_io_info)};
  EXPECT_ERROR(er_model_output_info(model, 5, &out_info), ER_INVALID_ARGUMENT, "index 5");
  EXPECT_ERROR(er_model_input_info(NULL, 0, &in), ER_INVALID_ARGUMENT, "'model'");
  char* json = NULL;
  EXPECT_OK(er_model_schema_json(model, &json));
  CHECK(json != NULL && strstr(json, "\"name\":\"image\"") != NULL);
  er_free_cstr(json);
  EXPECT_OK(er_model_capabilities_json(model, &json));
  CHECK(json != NULL && strstr(json, "\"requested\":\"cpu_only\"") != NULL);
  CHECK(json != NULL && strstr(json, "\"actual\":\"cpu (reference)\"") != NULL);
  er_free_cstr(json);

  /* Tensors. */
  float pixels[2 * 3 * 32 * 32];
  for (size_t i = 0; i < sizeof pixels / sizeof pixels[0]; ++i) pixels[i] = (float)(i % 13) / 13.0f;
  const int64_t dims[] = {2, 3, 32, 32};
  er_tensor* image = NULL;
  EXPECT_ERROR(er_tensor_wrap(ER_DTYPE_FLOAT32, dims, 4, pixels, 100, &image), ER_INVALID_ARGUMENT,
               "holds 100 bytes");
  EXPECT_ERROR(er_tensor_create(ER_DTYPE_STRING, dims, 4, &image), ER_INVALID_ARGUMENT, "dtype 8");
  EXPECT_ERROR(er_tensor_create((er_dtype)99, dims, 4, &image), ER_INVALID_ARGUMENT, "dtype 99");
  const int64_t negative[] = {-1};
  EXPECT_ERROR(er_tensor_create(ER_DTYPE_FLOAT32, negative, 1, &image), ER_INVALID_ARGUMENT,
               "must be >= 0");
  EXPECT_OK(er_tensor_wrap(ER_DTYPE_FLOAT32, dims, 4, pixels, sizeof pixels, &image));
  CHECK(er_tensor_data(image) == (void*)pixels); /* zero copy */

  /* Predict into a runtime-owned output. */
  const char* in_names[] = {"image"};
  const er_tensor* inputs[] = {image};
  const char* out_names[] = {"probabilities"};
  er_tensor* outputs[] = {NULL};
  EXPECT_OK(er_model_predict(model, NULL, in_names, inputs, 1, out_names, outputs, 1));
  if (outputs[0] != NULL) {
    CHECK(er_tensor_rank(outputs[0]) == 2 && er_tensor_dims(outputs[0])[0] == 2 &&
          er_tensor_dims(outputs[0])[1] == 10);
    const float* p = er_tensor_data_const(outputs[0]);
    float sum = 0;
    for (int i = 0; i < 10; ++i) sum += p[i];
    CHECK(fabsf(sum - 1.0f) < 1e-4f);
  }

  /* Predict into the caller's buffer, with a deadline; the result must match. */
  float probabilities[2 * 10];
  const int64_t out_dims[] = {2, 10};
  er_tensor* caller_out = NULL;
  EXPECT_OK(er_tensor_wrap(ER_DTYPE_FLOAT32, out_dims, 2, probabilities, sizeof probabilities,
                           &caller_out));
  er_tensor* caller_outputs[] = {caller_out};
  er_run_options run = {sizeof(er_run_options), 60000, NULL};
  EXPECT_OK(er_model_predict(model, &run, in_names, inputs, 1, out_names, caller_outputs, 1));
  if (outputs[0] != NULL) {
    CHECK(memcmp(probabilities, er_tensor_data_const(outputs[0]), sizeof probabilities) == 0);
  }
  er_tensor_free(outputs[0]);

  /* Error paths of predict. */
  const int64_t small_dims[] = {2, 5};
  float small[10] = {0};
  er_tensor* small_out = NULL;
  EXPECT_OK(er_tensor_wrap(ER_DTYPE_FLOAT32, small_dims, 2, small, sizeof small, &small_out));
  er_tensor* small_outputs[] = {small_out};
  EXPECT_ERROR(er_model_predict(model, NULL, in_names, inputs, 1, out_names, small_outputs, 1),
               ER_INVALID_ARGUMENT,
               "output 'probabilities' is float32[2, 10] but the tensor given for it is "
               "float32[2, 5]");  /* too-small output buffer */
  CHECK(small[0] == 0.0f && small[9] == 0.0f);  /* and not written */
  er_tensor_free(small_out);

  int64_t ints[2 * 3 * 32 * 32] = {0};
  er_tensor* int_image = NULL;
  EXPECT_OK(er_tensor_wrap(ER_DTYPE_INT64, dims, 4, ints, sizeof ints, &int_image));
  const er_tensor* int_inputs[] = {int_image};
  outputs[0] = NULL;
  EXPECT_ERROR(er_model_predict(model, NULL, in_names, int_inputs, 1, out_names, outputs, 1),
               ER_INVALID_ARGUMENT, "dtype int64, expected float32"); /* wrong dtype */
  CHECK(outputs[0] == NULL);
  er_tensor_free(int_image);

  const int64_t wrong_dims[] = {2, 3, 16, 16};
  er_tensor* wrong_shape = NULL;
  EXPECT_OK(er_tensor_create(ER_DTYPE_FLOAT32, wrong_dims, 4, &wrong_shape));
  const er_tensor* wrong_inputs[] = {wrong_shape};
  EXPECT_ERROR(er_model_predict(model, NULL, in_names, wrong_inputs, 1, out_names, outputs, 1),
               ER_INVALID_ARGUMENT, "dim 2 is 16, expected 32"); /* wrong shape */
  er_tensor_free(wrong_shape);

  const int64_t batch1[] = {1, 3, 32, 32};
  er_tensor* other_batch = NULL;
  EXPECT_OK(er_tensor_create(ER_DTYPE_FLOAT32, batch1, 4, &other_batch));
  const er_tensor* batch_inputs[] = {other_batch};
  EXPECT_ERROR(er_model_predict(model, NULL, in_names, batch_inputs, 1, out_names, outputs, 1),
               ER_INVALID_ARGUMENT, "dim 0 is 1, expected 2"); /* the options fixed N = 2 */
  er_tensor_free(other_batch);

  const char* unknown_out[] = {"logits"};
  EXPECT_ERROR(er_model_predict(model, NULL, in_names, inputs, 1, unknown_out, outputs, 1),
               ER_INVALID_ARGUMENT, "unknown output 'logits'");
  const char* unknown_in[] = {"picture"};
  EXPECT_ERROR(er_model_predict(model, NULL, unknown_in, inputs, 1, out_names, outputs, 1),
               ER_INVALID_ARGUMENT, "unknown input 'picture'");
  EXPECT_ERROR(er_model_predict(model, NULL, in_names, inputs, 0, out_names, outputs, 1),
               ER_INVALID_ARGUMENT, "missing input 'image'");
  EXPECT_ERROR(er_model_predict(NULL, NULL, in_names, inputs, 1, out_names, outputs, 1),
               ER_INVALID_ARGUMENT, "'model'");
  EXPECT_ERROR(er_model_predict(model, NULL, NULL, inputs, 1, out_names, outputs, 1),
               ER_INVALID_ARGUMENT, "'input_names'");
  /* A 1.0 caller's smaller options struct is still accepted (ABI 1.1 added cancellation). */
  er_run_options v10_run = {offsetof(er_run_options, timeout_ms) + sizeof(uint32_t), 60000, NULL};
  EXPECT_OK(er_model_predict(model, &v10_run, in_names, inputs, 1, out_names, caller_outputs, 1));

  /* A cancelled handle stops the run. */
  er_cancellation* cancel = NULL;
  EXPECT_OK(er_cancellation_create(&cancel));
  er_cancellation_cancel(cancel);
  er_run_options cancelled_run = {sizeof(er_run_options), 0, cancel};
  EXPECT_ERROR(er_model_predict(model, &cancelled_run, in_names, inputs, 1, out_names,
                                caller_outputs, 1),
               ER_CANCELLED, "cancelled");
  er_cancellation_free(cancel);
  er_cancellation_free(NULL);

  /* Telemetry counts the runs above. */
  char* telemetry = NULL;
  EXPECT_OK(er_model_telemetry_json(model, &telemetry));
  CHECK(telemetry != NULL && strstr(telemetry, "\"runs\"") != NULL);
  CHECK(telemetry != NULL && strstr(telemetry, "\"cancelled\":1") != NULL);
  er_free_cstr(telemetry);
  EXPECT_ERROR(er_model_telemetry_json(NULL, &telemetry), ER_INVALID_ARGUMENT, "'model'");

  er_run_options bad_run = {0, 0, NULL};
  EXPECT_ERROR(er_model_predict(model, &bad_run, in_names, inputs, 1, out_names, outputs, 1),
               ER_INVALID_ARGUMENT, "struct_size");

  /* Freeing NULL is a no-op everywhere. */
  er_tensor_free(NULL);
  er_model_free(NULL);
  er_engine_free(NULL);
  er_status_free(NULL);
  er_free_cstr(NULL);

  er_tensor_free(caller_out);
  er_tensor_free(image);
  er_model_free(model);
  if (failures > 0) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures == 0 ? 0 : 1;
}
