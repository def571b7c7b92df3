// A run-time-sized array that lives on the stack up to N elements and on the heap beyond:
// the per-run lists of a node's or a graph's inputs and outputs, so that the usual few cost
// no allocation.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <vector>

namespace edgerun {

template <class T, size_t N>
class SmallArray {
 public:
  explicit SmallArray(size_t size, const T& fill = T()) : size_(size) {
    if (size > N) {
      heap_.assign(size, fill);
    } else {
      std::fill_n(fixed_.begin(), size, fill);
    }
  }
  SmallArray(const SmallArray&) = delete;
  SmallArray& operator=(const SmallArray&) = delete;

  std::span<T> span() {
    return size_ > N ? std::span<T>(heap_) : std::span<T>(fixed_.data(), size_);
  }
  std::span<const T> span() const {
    return size_ > N ? std::span<const T>(heap_) : std::span<const T>(fixed_.data(), size_);
  }
  T& operator[](size_t i) { return span()[i]; }
  size_t size() const { return size_; }

 private:
  size_t size_;
  std::array<T, N> fixed_{};
  std::vector<T> heap_;
};

}  // namespace edgerun
