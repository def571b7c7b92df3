// A file mapped read-only into memory, so a model of hundreds of megabytes is parsed where it
// lies instead of being copied into a buffer first.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "edgerun/status.hpp"

namespace edgerun::onnx_import {

class MappedFile {
 public:
  // Errors name the path and what failed (missing, not a regular file, mapping refused).
  static Result<MappedFile> open(const std::string& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }
  // Drops the pages that lie wholly inside `range` (a part of bytes()) from this process's
  // memory once their contents were copied elsewhere; reading them again reloads them from the
  // file, so views into them stay valid.
  void release(std::string_view range) const;

 private:
  MappedFile(void* data, size_t size) : data_(data), size_(size) {}
  void* data_ = nullptr;  // null for an empty file
  size_t size_ = 0;
};

}  // namespace edgerun::onnx_import
