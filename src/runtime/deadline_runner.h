// Runs with a deadline that holds even if a backend hangs: the run happens on a worker thread
// with its own copies of the inputs, and the caller stops waiting at the deadline (or at a
// cancel). The abandoned run is told to stop at its next step or node, its specialisation is
// discarded so no later run reuses it, and it finishes in the background holding only shared
// state (the model's Impl, its inputs), so freeing the model or the inputs is safe.
#pragma once

#include <memory>

#include "edgerun/edgerun.hpp"
#include "runtime/prepared_model_impl.h"

namespace edgerun::runtime {

Result<ValueMap> run_with_deadline(const std::shared_ptr<const PreparedModel::Impl>& impl,
                                   const ValueMap& inputs, const RunOptions& options);

}  // namespace edgerun::runtime
