// A partition compiled for oneDNN. Primitives depend on shapes, which are only known when a
// node's inputs arrive, so each node builds its primitives on the first run that brings a new
// set of input shapes and keeps them (constant weights reordered once, at that point), keyed by
// those shapes. Shapes that do not map onto oneDNN run that node on the reference kernel.
#pragma once

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>

#include "backends/backend.h"

namespace edgerun::onednn {

Result<std::unique_ptr<Executable>> compile_partition(const Partition& partition,
                                                      const dnnl::engine& engine);

// How many (node, input shapes) pairs seen so far by `executable` (one compiled by this backend)
// run on the reference kernel because oneDNN could not take those shapes; 0 for any other
// executable.
size_t reference_fallbacks(const Executable& executable);

}  // namespace edgerun::onednn
