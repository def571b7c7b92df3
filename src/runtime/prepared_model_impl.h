// What a PreparedModel holds. Immutable after prepare, except the specialisation cache, which
// is guarded by its own mutex so concurrent runs stay safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backends/backend.h"
#include "edgerun/edgerun.hpp"
#include "ir/graph.h"
#include "runtime/program.h"

namespace edgerun {

struct PreparedModel::Impl {
  std::shared_ptr<const ir::Model> model;
  PrepareOptions options;
  std::vector<std::unique_ptr<Backend>> owned_backends;
  std::vector<const Backend*> backends;  // placement priority order
  IoSchema schema;
  CapabilityReport capabilities;

  // Programs specialised to concrete input shapes, keyed by the shapes in input order. Bounded
  // so that a caller cycling through shapes cannot grow memory without limit.
  static constexpr size_t kMaxSpecialisations = 32;
  mutable std::mutex mutex;
  mutable std::map<std::vector<Shape>, std::shared_ptr<const runtime::Program>> specialisations;
  mutable std::vector<std::vector<Shape>> specialisation_order;  // oldest first

  Result<std::shared_ptr<const runtime::Program>> specialise(const std::vector<Shape>& shapes) const;
};

}  // namespace edgerun
