#include "runtime/deadline_runner.h"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace edgerun::runtime {
namespace {

using Clock = std::chrono::steady_clock;

// How often a waiting caller looks at its cancellation token.
constexpr auto kCancelPollInterval = std::chrono::milliseconds(5);

// Between the caller and the worker: whoever comes second sees what the first left.
struct Handoff {
  std::mutex mutex;
  std::condition_variable done;
  std::optional<Result<ValueMap>> result;
  std::shared_ptr<const Program> program;  // the specialisation the run uses, once chosen
  bool abandoned = false;
  RunControl control;
};

Value deep_copy(const Value& value) {
  if (value.is_tensor()) return Value(value.tensor().clone());
  if (value.is_sequence()) {
    std::vector<Tensor> items;
    for (const Tensor& t : value.items()) items.push_back(t.clone());
    return Value::sequence(value.element_dtype(), std::move(items));
  }
  return value;  // none / empty hold no data
}

}  // namespace

Result<ValueMap> run_with_deadline(const std::shared_ptr<const PreparedModel::Impl>& impl,
                                   const ValueMap& inputs, const RunOptions& options) {
  const Clock::time_point deadline = Clock::now() + options.timeout;
  auto handoff = std::make_shared<Handoff>();
  handoff->control.cancellation = options.cancellation.get();
  handoff->control.deadline = deadline;

  // The worker's inputs are its own: the caller may free its tensors once this returns.
  ValueMap copies;
  for (const auto& [name, value] : inputs) copies[name] = deep_copy(value);

  std::thread worker([impl = std::shared_ptr<const PreparedModel::Impl>(impl), handoff, token = options.cancellation,
                      counter = impl->abandoned_runs, feeds = std::move(copies)]() mutable {
    PreparedModel::Impl::RunOutcome outcome;
    Result<ValueMap> result = impl->execute(
        feeds, handoff->control,
        [&](std::shared_ptr<const Program> program) {
          std::unique_lock<std::mutex> lock(handoff->mutex);
          if (!handoff->abandoned) {
            handoff->program = std::move(program);
            return;
          }
          // The caller gave up before this run chose its program: discard it here instead.
          lock.unlock();
          impl->discard(program.get());
        },
        &outcome);
    {
      std::lock_guard<std::mutex> lock(handoff->mutex);
      // A run the caller gave up on was counted by the caller, as a timeout or a cancel.
      if (!handoff->abandoned) impl->record_outcome(result.status(), outcome);
    }
    // Let go of the model before the caller can see the result or the count drop, so that the
    // model's last owner never waits on (or races with) this thread.
    impl.reset();
    feeds.clear();
    token.reset();
    bool abandoned = false;
    {
      std::lock_guard<std::mutex> lock(handoff->mutex);
      abandoned = handoff->abandoned;
      if (!abandoned) handoff->result = std::move(result);
      handoff->program.reset();
      handoff->done.notify_all();
    }
    if (abandoned) {
      result = ValueMap();
      handoff.reset();
      counter->fetch_sub(1);
    }
  });
  worker.detach();

  std::unique_lock<std::mutex> lock(handoff->mutex);
  Status stopped;
  while (!handoff->result) {
    if (options.cancellation && options.cancellation->cancelled()) {
      stopped = cancelled_error("the run was cancelled");
      break;
    }
    const Clock::time_point now = Clock::now();
    if (now >= deadline) {
      stopped = timeout_error("no result within " + std::to_string(options.timeout.count()) +
                              " ms; the run was abandoned");
      break;
    }
    handoff->done.wait_until(lock, std::min(deadline, now + kCancelPollInterval));
  }
  if (handoff->result) return std::move(*handoff->result);

  handoff->abandoned = true;
  handoff->control.abandoned.store(true);
  impl->abandoned_runs->fetch_add(1);
  std::shared_ptr<const Program> program = std::move(handoff->program);
  lock.unlock();
  if (program) impl->discard(program.get());
  impl->record_outcome(stopped, {stopped.code() == StatusCode::kCancelled ? FailureKind::kCancelled
                                                                          : FailureKind::kTimeout,
                                 0});
  return stopped;
}

}  // namespace edgerun::runtime
