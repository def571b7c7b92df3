/* Loads a model through the C ABI, prints its schema, runs it once on a deterministic input
 * and prints each output's shape and, for float outputs, the index of the largest value.
 *
 *   cc classify.c $(pkg-config --cflags --libs edgerun) -o classify
 *   ./classify models/demo_cnn.onnx
 */
#include <edgerun/edgerun.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(er_status* status) {
  fprintf(stderr, "error %d: %s\n", (int)er_status_get_code(status), er_status_message(status));
  er_status_free(status);
  return 1;
}

static void print_info(const char* what, const er_io_info* info) {
  printf("%s %s: dtype %d, dims [", what, info->name, (int)info->dtype);
  for (int64_t d = 0; d < info->rank; ++d) {
    if (info->dims[d] >= 0) {
      printf("%s%lld", d ? ", " : "", (long long)info->dims[d]);
    } else {
      printf("%s%s", d ? ", " : "", info->dim_names[d][0] ? info->dim_names[d] : "?");
    }
  }
  printf("]\n");
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.onnx\n", argv[0]);
    return 2;
  }
  printf("edgerun %s, ABI %u.%u\n", er_version(), er_abi_version() >> 16, er_abi_version() & 0xffff);
  er_engine* engine = NULL;
  er_model* model = NULL;
  er_status* status = er_engine_create(NULL, &engine);
  if (status) return fail(status);
  status = er_model_load(engine, argv[1], NULL, &model);
  er_engine_free(engine); /* the model keeps what it needs */
  if (status) return fail(status);

  er_io_info in = {.struct_size = sizeof(er_io_info)};
  if ((status = er_model_input_info(model, 0, &in))) return fail(status);
  print_info("input", &in);
  for (size_t i = 0; i < er_model_num_outputs(model); ++i) {
    er_io_info out = {.struct_size = sizeof(er_io_info)};
    if ((status = er_model_output_info(model, i, &out))) return fail(status);
    print_info("output", &out);
  }
  if (in.dtype != ER_DTYPE_FLOAT32 || in.rank < 0) {
    fprintf(stderr, "this example feeds one float32 input of declared rank\n");
    return 1;
  }

  /* Unfixed dims become 1; the input is a deterministic ramp in [0, 1). */
  int64_t dims[8];
  size_t count = 1;
  for (int64_t d = 0; d < in.rank && d < 8; ++d) {
    dims[d] = in.dims[d] >= 0 ? in.dims[d] : 1;
    count *= (size_t)dims[d];
  }
  float* pixels = malloc(count * sizeof(float));
  for (size_t i = 0; i < count; ++i) pixels[i] = (float)(i % 97) / 97.0f;
  er_tensor* input = NULL;
  if ((status = er_tensor_wrap(ER_DTYPE_FLOAT32, dims, (size_t)in.rank, pixels,
                               count * sizeof(float), &input))) {
    return fail(status);
  }

  er_io_info first_out = {.struct_size = sizeof(er_io_info)};
  if ((status = er_model_output_info(model, 0, &first_out))) return fail(status);
  const char* input_names[] = {in.name};
  const er_tensor* inputs[] = {input};
  const char* output_names[] = {first_out.name};
  er_tensor* outputs[] = {NULL}; /* runtime-owned result */
  er_run_options run = {sizeof(er_run_options), 5000, NULL};
  if ((status = er_model_predict(model, &run, input_names, inputs, 1, output_names, outputs, 1))) {
    return fail(status);
  }
  const size_t rank = er_tensor_rank(outputs[0]);
  printf("%s: rank %zu, %zu bytes", first_out.name, rank, er_tensor_size_bytes(outputs[0]));
  if (er_tensor_dtype(outputs[0]) == ER_DTYPE_FLOAT32) {
    const float* values = er_tensor_data_const(outputs[0]);
    const size_t n = er_tensor_size_bytes(outputs[0]) / sizeof(float);
    size_t best = 0;
    for (size_t i = 1; i < n; ++i) {
      if (values[i] > values[best]) best = i;
    }
    printf(", argmax %zu (%g)", best, values[best]);
  }
  printf("\n");
  er_tensor_free(outputs[0]);
  er_tensor_free(input);
  free(pixels);
  er_model_free(model);
  return 0;
}
