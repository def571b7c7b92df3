/* edgerun C ABI: the one stable interface of libedgerun.so.
 *
 * Every language binding (Rust, Swift, Python via ctypes/cffi, C) can sit on this header. No C++
 * type and no exception crosses it: handles are opaque, every fallible call returns an
 * er_status* (NULL means success; otherwise a code and a UTF-8 message the caller frees with
 * er_status_free), and options structs start with their own size so later versions can add
 * fields without breaking callers built against this one.
 *
 *   er_engine* engine = NULL;
 *   er_model* model = NULL;
 *   er_status* s = er_engine_create(NULL, &engine);
 *   if (!s) s = er_model_load(engine, "model.onnx", NULL, &model);
 *   ...  er_model_predict(model, NULL, names, inputs, 1, out_names, outputs, 1) ...
 *   if (s) { fprintf(stderr, "%s\n", er_status_message(s)); er_status_free(s); }
 *
 * Thread safety: an er_engine and an er_model may be used from several threads at once (every
 * function taking them as const is safe to call concurrently, er_model_predict included). An
 * er_tensor and an er_status belong to one thread at a time. Free functions accept NULL.
 *
 * Enums end in a *_MAX_ENUM member so that they are 32 bits wide and any value a caller passes
 * is representable; values outside the listed ones are rejected with ER_INVALID_ARGUMENT.
 */
#ifndef EDGERUN_EDGERUN_H_
#define EDGERUN_EDGERUN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EDGERUN_BUILDING_C_API)
#define ER_API __attribute__((visibility("default")))
#else
#define ER_API
#endif

/* The ABI version this header describes; er_abi_version() returns the library's. A library
 * serves callers built against any header with the same major version. */
#define ER_ABI_VERSION_MAJOR 1
#define ER_ABI_VERSION_MINOR 1

ER_API uint32_t er_abi_version(void);     /* (major << 16) | minor */
ER_API const char* er_version(void);      /* the runtime's version, e.g. "0.1.0" */

/* ---- Status --------------------------------------------------------------------------- */

typedef enum er_status_code {
  ER_OK = 0,
  ER_INVALID_ARGUMENT = 1, /* the caller passed something wrong: name, dtype, shape, NULL */
  ER_INVALID_MODEL = 2,    /* the model file is malformed */
  ER_UNSUPPORTED = 3,      /* valid, but this runtime cannot run it */
  ER_NOT_FOUND = 4,
  ER_IO_ERROR = 5,
  ER_RUNTIME_ERROR = 6,    /* a kernel failed on valid input */
  ER_INTERNAL = 7,         /* a bug in edgerun */
  ER_TIMEOUT = 8,
  ER_CANCELLED = 9,
  ER_OUT_OF_MEMORY = 10,
  ER_OVERLOADED = 11,      /* every instance is busy and the queue is full (ABI 1.1) */
  ER_STATUS_CODE_MAX_ENUM = 0x7fffffff /* keeps the enum 32-bit, whatever a caller passes */
} er_status_code;

typedef struct er_status er_status;

ER_API er_status_code er_status_get_code(const er_status* status); /* ER_OK for NULL */
ER_API const char* er_status_message(const er_status* status);     /* "" for NULL */
ER_API void er_status_free(er_status* status);

/* Strings the library returns (JSON documents) are freed with this. */
ER_API void er_free_cstr(char* str);

/* ---- Data types ----------------------------------------------------------------------- */

/* The numbers are ONNX's TensorProto.DataType. */
typedef enum er_dtype {
  ER_DTYPE_UNDEFINED = 0,
  ER_DTYPE_FLOAT32 = 1,
  ER_DTYPE_UINT8 = 2,
  ER_DTYPE_INT8 = 3,
  ER_DTYPE_UINT16 = 4,
  ER_DTYPE_INT16 = 5,
  ER_DTYPE_INT32 = 6,
  ER_DTYPE_INT64 = 7,
  ER_DTYPE_STRING = 8, /* not accepted by the C ABI's tensors */
  ER_DTYPE_BOOL = 9,   /* one byte per element, 0 or 1 */
  ER_DTYPE_FLOAT16 = 10,
  ER_DTYPE_FLOAT64 = 11,
  ER_DTYPE_UINT32 = 12,
  ER_DTYPE_UINT64 = 13,
  ER_DTYPE_COMPLEX64 = 14,
  ER_DTYPE_COMPLEX128 = 15,
  ER_DTYPE_BFLOAT16 = 16,
  ER_DTYPE_MAX_ENUM = 0x7fffffff
} er_dtype;

ER_API size_t er_dtype_size(er_dtype dtype); /* bytes per element; 0 for undefined/string */

/* ---- Engine --------------------------------------------------------------------------- */

typedef struct er_engine er_engine;

typedef struct er_engine_options {
  size_t struct_size; /* sizeof(er_engine_options) */
} er_engine_options;

/* options may be NULL for the defaults. */
ER_API er_status* er_engine_create(const er_engine_options* options, er_engine** out_engine);
ER_API void er_engine_free(er_engine* engine);

/* ---- Models --------------------------------------------------------------------------- */

typedef struct er_model er_model;

typedef enum er_compute_units {
  ER_COMPUTE_UNITS_ALL = 0,
  ER_COMPUTE_UNITS_CPU_ONLY = 1,
  ER_COMPUTE_UNITS_CPU_AND_GPU = 2,
  ER_COMPUTE_UNITS_CPU_AND_NE = 3,
  ER_COMPUTE_UNITS_MAX_ENUM = 0x7fffffff
} er_compute_units;

typedef struct er_dim_value {
  const char* symbol; /* a symbolic dim of the model's inputs, e.g. "batch" */
  int64_t value;
} er_dim_value;

typedef struct er_model_options {
  size_t struct_size; /* sizeof(er_model_options) */
  er_compute_units compute_units;
  const er_dim_value* dim_values; /* fixes symbolic dims for every run; may be NULL */
  size_t num_dim_values;
  /* Backends allowed to run nodes, by name ("onednn", "reference"); none: every backend the
   * compute units allow. {"reference"} alone gives the exact reference results. */
  const char* const* backends;
  size_t num_backends;
} er_model_options;

/* Prepares a model for running: imports, validates and compiles it. A model that cannot be run
 * fails here, with a message naming the node, op or tensor. options may be NULL. The model
 * keeps what it needs of the engine; the engine may be freed first. */
ER_API er_status* er_model_load(const er_engine* engine, const char* path,
                                const er_model_options* options, er_model** out_model);
ER_API er_status* er_model_load_from_memory(const er_engine* engine, const void* data,
                                            size_t size, const er_model_options* options,
                                            er_model** out_model);
ER_API void er_model_free(er_model* model);

/* I/O schema. Strings and arrays returned here live as long as the model. */
typedef enum er_value_kind {
  ER_VALUE_TENSOR = 0,
  ER_VALUE_SEQUENCE = 1, /* not accepted or returned by er_model_predict (yet) */
  ER_VALUE_OPTIONAL = 2,
  ER_VALUE_KIND_MAX_ENUM = 0x7fffffff
} er_value_kind;

typedef struct er_io_info {
  size_t struct_size; /* set by the caller to sizeof(er_io_info) */
  const char* name;
  er_value_kind kind;
  er_dtype dtype;     /* for sequences and optionals, the dtype of the tensors inside */
  int64_t rank;       /* -1 when the model does not declare a shape */
  const int64_t* dims; /* rank entries; -1 for a dim not fixed by the model */
  const char* const* dim_names; /* rank entries; "" where a dim has no symbol */
} er_io_info;

ER_API size_t er_model_num_inputs(const er_model* model);
ER_API size_t er_model_num_outputs(const er_model* model);
ER_API er_status* er_model_input_info(const er_model* model, size_t index, er_io_info* out_info);
ER_API er_status* er_model_output_info(const er_model* model, size_t index, er_io_info* out_info);
/* The whole schema as JSON: {"inputs": [{"name", "kind", "dtype", "shape", "type"}], "outputs":
 * [...]}; free with er_free_cstr. */
ER_API er_status* er_model_schema_json(const er_model* model, char** out_json);
/* What runs where: requested and actual compute units, backends, notes, per-node placement.
 * Free with er_free_cstr. */
ER_API er_status* er_model_capabilities_json(const er_model* model, char** out_json);

/* Telemetry (ABI 1.1): run and compile counts by outcome and failure kind, latency
 * percentiles, per-backend share of nodes and time, breaker states, process memory; the format
 * is documented in docs/safety.md. Free with er_free_cstr. */
ER_API er_status* er_model_telemetry_json(const er_model* model, char** out_json);

/* ---- Tensors -------------------------------------------------------------------------- */

typedef struct er_tensor er_tensor;

/* A tensor whose zero-filled storage the library allocates and frees. */
ER_API er_status* er_tensor_create(er_dtype dtype, const int64_t* dims, size_t rank,
                                   er_tensor** out_tensor);
/* A tensor over the caller's memory, which is not copied: it must hold at least
 * product(dims) * er_dtype_size(dtype) bytes (checked against size_bytes) and outlive the
 * tensor. As a predict output it receives the result in place. */
ER_API er_status* er_tensor_wrap(er_dtype dtype, const int64_t* dims, size_t rank, void* data,
                                 size_t size_bytes, er_tensor** out_tensor);
ER_API void er_tensor_free(er_tensor* tensor);

ER_API er_dtype er_tensor_dtype(const er_tensor* tensor);
ER_API size_t er_tensor_rank(const er_tensor* tensor);
ER_API const int64_t* er_tensor_dims(const er_tensor* tensor); /* rank entries */
ER_API size_t er_tensor_size_bytes(const er_tensor* tensor);
ER_API void* er_tensor_data(er_tensor* tensor);
ER_API const void* er_tensor_data_const(const er_tensor* tensor);

/* ---- Predict -------------------------------------------------------------------------- */

/* A cancellation handle (ABI 1.1): er_cancellation_cancel from any thread stops the runs given
 * it with ER_CANCELLED (cooperatively between steps; at once for a run with a deadline). The
 * handle may be freed while a run still uses it. */
typedef struct er_cancellation er_cancellation;
ER_API er_status* er_cancellation_create(er_cancellation** out_cancellation);
ER_API void er_cancellation_cancel(er_cancellation* cancellation);
ER_API void er_cancellation_free(er_cancellation* cancellation);

typedef struct er_run_options {
  size_t struct_size; /* sizeof(er_run_options) */
  /* 0: no deadline. Otherwise the call returns ER_TIMEOUT once this many milliseconds have
   * passed even if a backend is still busy; the abandoned run finishes in the background on
   * its own copies of the inputs (so the caller may free them) and its result is discarded.
   * With a deadline the inputs are copied once per call. */
  uint32_t timeout_ms;
  /* ABI 1.1; may be NULL. Callers built against 1.0 pass a smaller struct_size. */
  er_cancellation* cancellation;
} er_run_options;

/* Runs the model. inputs[i] feeds input_names[i]. For each requested output_names[i]:
 *  - outputs[i] == NULL on entry: the library creates the output tensor and stores it there;
 *    the caller frees it with er_tensor_free.
 *  - outputs[i] != NULL on entry (e.g. from er_tensor_wrap): the result is written into it; its
 *    dtype and dims must be exactly the output's, otherwise the call fails, naming both, and
 *    that tensor is not written. It must not share bytes with an input or another output.
 *    When every requested output is given this way (each name once) and there is no deadline,
 *    the kernels write the results there directly, with no copy; if such a run fails, the
 *    outputs' contents are unspecified.
 * On failure no tensor is created. options may be NULL. */
ER_API er_status* er_model_predict(const er_model* model, const er_run_options* options,
                                   const char* const* input_names,
                                   const er_tensor* const* inputs, size_t num_inputs,
                                   const char* const* output_names, er_tensor** outputs,
                                   size_t num_outputs);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EDGERUN_EDGERUN_H_ */
