// numpy .npy files <-> Tensor, so that reference inputs and outputs made with numpy can be fed to
// and checked against the runtime without a Python dependency at run time.
//
// Reading accepts format versions 1.0, 2.0 and 3.0, either byte order (big-endian data is
// swapped to host order), dtypes f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 c8 c16, numpy unicode
// strings U<n> and byte strings S<n> (both become DType::kString, UTF-8), 0-d arrays, zero-size
// arrays and fortran_order=True (transposed into edgerun's row-major layout). Trailing bytes
// after the array are ignored, as np.load does, because np.save can append several arrays to
// one file.
//
// Writing always produces little-endian, C-order data in the oldest format version that can
// hold the header; strings are written as '<U{longest}'. bfloat16 has no numpy dtype and is
// refused rather than silently widened: the caller decides what it should become.
//
// Errors: malformed content is invalid_argument, a well-formed file with a dtype edgerun cannot
// represent is unsupported, a failing file system is io_error. Every message names the file.
#pragma once

#include <string>
#include <string_view>

#include "edgerun/status.hpp"
#include "edgerun/tensor.hpp"

namespace edgerun {

Result<Tensor> read_npy(const std::string& path);
// `what` names the bytes' origin in error messages (a path, "response body", ...).
Result<Tensor> parse_npy(std::string_view bytes, std::string_view what);

Status write_npy(const std::string& path, const Tensor& t);
// Fails only for tensors numpy cannot represent (bfloat16, undefined) and for strings that are
// not valid UTF-8.
Result<std::string> to_npy_bytes(const Tensor& t);

}  // namespace edgerun
