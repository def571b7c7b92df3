// The vector code paths of edgerun's own kernels (backends/onednn/vector_kernels.h) that this
// CPU runs, for tests that run each.
#pragma once

#include <vector>

#include "backends/onednn/vector_kernels.h"

namespace edgerun::onednn {

inline std::vector<VectorIsa> isas_here() {
  std::vector<VectorIsa> isas;
  if (best_vector_isa() >= VectorIsa::kAvx2) isas.push_back(VectorIsa::kAvx2);
  if (best_vector_isa() >= VectorIsa::kAvx512) isas.push_back(VectorIsa::kAvx512);
  return isas;
}

inline const char* name(VectorIsa isa) { return isa == VectorIsa::kAvx512 ? "avx512" : "avx2"; }

}  // namespace edgerun::onednn
