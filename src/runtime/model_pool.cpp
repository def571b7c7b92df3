// ModelPool: bounded concurrency and a bounded queue in front of one PreparedModel.
#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "edgerun/edgerun.hpp"
#include "runtime/value_maps.h"

namespace edgerun {
namespace {

using Clock = std::chrono::steady_clock;

// Abandoned runs end without signalling the pool, so waiters also look again this often.
constexpr auto kRecheckInterval = std::chrono::milliseconds(5);
constexpr size_t kMaxInstances = 4;

}  // namespace

struct ModelPool::State {
  std::mutex mutex;
  std::condition_variable changed;
  size_t running = 0;
  size_t queued = 0;
};

Result<ModelPool> ModelPool::create(PreparedModel model, PoolOptions options) {
  if (options.instances < 1 || options.instances > kMaxInstances) {
    return invalid_argument("PoolOptions::instances is " + std::to_string(options.instances) +
                            ", must be 1 to " + std::to_string(kMaxInstances));
  }
  if (model.io_schema().inputs.empty() && model.capabilities().node_count == 0) {
    return invalid_argument("ModelPool::create: the PreparedModel is empty");
  }
  return ModelPool(std::move(model), options);
}

ModelPool::ModelPool(PreparedModel model, PoolOptions options)
    : model_(std::move(model)), options_(options), state_(std::make_shared<State>()) {}

size_t ModelPool::running() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->running + model_.abandoned_runs();
}

size_t ModelPool::queued() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->queued;
}

Result<ValueMap> ModelPool::run_values(const ValueMap& inputs, const RunOptions& options) const {
  const bool has_deadline = options.timeout.count() > 0;
  const Clock::time_point deadline =
      has_deadline ? Clock::now() + options.timeout : Clock::time_point::max();
  State& state = *state_;
  std::unique_lock<std::mutex> lock(state.mutex);
  // Slots held by runs abandoned at their deadline stay taken until those runs end.
  const auto slot_free = [&] {
    return state.running + model_.abandoned_runs() < options_.instances;
  };
  // Waits a little; says why the caller must stop waiting, if it must.
  const auto wait_a_little = [&]() -> Status {
    if (options.cancellation && options.cancellation->cancelled()) {
      return cancelled_error("the run was cancelled while waiting for a pool instance");
    }
    const Clock::time_point now = Clock::now();
    if (now >= deadline) {
      return timeout_error("no pool instance became free within " +
                           std::to_string(options.timeout.count()) + " ms");
    }
    state.changed.wait_until(lock, std::min(deadline, now + kRecheckInterval));
    return Status::ok();
  };

  if (!slot_free()) {
    while (state.queued >= options_.queue_capacity) {
      if (options.when_overloaded == WhenOverloaded::kReject) {
        return overloaded_error("all " + std::to_string(options_.instances) +
                                " pool instances are busy and " + std::to_string(state.queued) +
                                " callers are queued (queue capacity " +
                                std::to_string(options_.queue_capacity) + ")");
      }
      ER_RETURN_IF_ERROR(wait_a_little());
    }
    ++state.queued;
    while (!slot_free()) {
      if (Status s = wait_a_little(); !s.is_ok()) {
        --state.queued;
        state.changed.notify_all();
        return s;
      }
    }
    --state.queued;
  }
  ++state.running;
  lock.unlock();

  RunOptions remaining = options;
  if (has_deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    remaining.timeout = std::max(left, std::chrono::milliseconds(1));
  }
  Result<ValueMap> result = model_.run_values(inputs, remaining);

  lock.lock();
  --state.running;
  lock.unlock();
  state.changed.notify_all();
  return result;
}

Result<TensorMap> ModelPool::run(const TensorMap& inputs, const RunOptions& options) const {
  Result<ValueMap> outputs = run_values(runtime::to_value_map(inputs), options);
  if (!outputs.is_ok()) return outputs.status();
  return runtime::to_tensor_map(std::move(outputs).value());
}

}  // namespace edgerun
