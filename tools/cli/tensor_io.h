// Tensor helpers for the command line: reading input files, generating inputs, summaries.
#pragma once

#include <random>
#include <string>

#include "edgerun/edgerun.hpp"

namespace edgerun::cli {

// Reads a .npy or an ONNX TensorProto .pb file (chosen by extension).
Result<Tensor> read_tensor_file(const std::string& path);

// Seeded random data: floats uniform in [-1, 1), integers in [0, 10), random bools.
Tensor random_tensor(DType dtype, const Shape& shape, std::mt19937_64& rng);

// "float32 [1, 10]  min -0.53 max 0.98 mean 0.12  first: 0.1 0.2 ..."
std::string summarize(const Tensor& t);

// A file name made from a tensor name: characters outside [A-Za-z0-9._-] become '_'.
std::string sanitize_file_name(const std::string& name);

}  // namespace edgerun::cli
