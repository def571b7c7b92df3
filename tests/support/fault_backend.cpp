#include "support/fault_backend.h"

#include <limits>
#include <thread>

#include "backends/reference/reference_backend.h"

namespace edgerun::testing {
namespace {

// A hang that nobody releases still ends, so a broken test fails instead of never finishing.
constexpr auto kLongestHang = std::chrono::seconds(30);

class FaultExecutable final : public Executable {
 public:
  FaultExecutable(std::shared_ptr<FaultPlan> plan, std::unique_ptr<Executable> inner,
                  std::vector<int> written)
      : plan_(std::move(plan)), inner_(std::move(inner)), written_(std::move(written)) {}

  Status run(ExecutionFrame& frame) const override {
    const uint64_t run = plan_->next_run();
    switch (plan_->fault_for(run)) {
      case Fault::kNone: return inner_->run(frame);
      case Fault::kFail: return runtime_error("injected failure on run " + std::to_string(run));
      case Fault::kHang: plan_->wait_until_released(); return inner_->run(frame);
      case Fault::kSlow:
        std::this_thread::sleep_for(plan_->slow_duration());
        return inner_->run(frame);
      case Fault::kNaN: {
        ER_RETURN_IF_ERROR(inner_->run(frame));
        for (int slot : written_) {
          Value& v = frame.values[static_cast<size_t>(slot)];
          if (!v.is_tensor() || v.tensor().dtype() != DType::kFloat32) continue;
          Tensor poisoned(DType::kFloat32, v.tensor().shape());
          for (int64_t i = 0; i < poisoned.size(); ++i) {
            poisoned.data<float>()[i] = std::numeric_limits<float>::quiet_NaN();
          }
          v = Value(poisoned);
        }
        return Status::ok();
      }
    }
    return internal_error("unknown fault");
  }

 private:
  std::shared_ptr<FaultPlan> plan_;
  std::unique_ptr<Executable> inner_;
  std::vector<int> written_;
};

}  // namespace

void FaultPlan::set_default(Fault fault) {
  std::lock_guard<std::mutex> lock(mutex_);
  default_ = fault;
}

void FaultPlan::set_run(uint64_t run, Fault fault) {
  std::lock_guard<std::mutex> lock(mutex_);
  per_run_[run] = fault;
}

void FaultPlan::set_slow_duration(std::chrono::milliseconds duration) {
  std::lock_guard<std::mutex> lock(mutex_);
  slow_ = duration;
}

void FaultPlan::release_hangs() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
  }
  released_cv_.notify_all();
}

uint64_t FaultPlan::runs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return runs_;
}

uint64_t FaultPlan::next_run() {
  std::lock_guard<std::mutex> lock(mutex_);
  return runs_++;
}

Fault FaultPlan::fault_for(uint64_t run) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = per_run_.find(run);
  return it != per_run_.end() ? it->second : default_;
}

std::chrono::milliseconds FaultPlan::slow_duration() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return slow_;
}

void FaultPlan::wait_until_released() {
  std::unique_lock<std::mutex> lock(mutex_);
  released_cv_.wait_for(lock, kLongestHang, [this] { return released_; });
}

bool FaultBackend::supports(const ir::Node& node, const ir::Graph&, const ValueTypes&,
                            std::string* why_not) const {
  const bool claimed = ops_.count(node.op_type) > 0 && reference::unsupported_reason(node).empty();
  if (!claimed && why_not != nullptr) *why_not = "the fault backend does not claim " + node.op_type;
  return claimed;
}

Result<std::unique_ptr<Executable>> FaultBackend::compile(const Partition& partition) const {
  reference::ReferenceBackend reference;
  ER_ASSIGN_OR_RETURN(std::unique_ptr<Executable> inner, reference.compile(partition));
  std::vector<int> written;
  for (size_t index : partition.nodes) {
    for (const std::string& out : partition.graph->nodes[index].outputs) {
      const int slot = out.empty() ? -1 : partition.slots->find(out);
      if (slot >= 0) written.push_back(slot);
    }
  }
  return std::unique_ptr<Executable>(
      std::make_unique<FaultExecutable>(plan_, std::move(inner), std::move(written)));
}

EngineOptions engine_with_faults(std::shared_ptr<FaultPlan> plan, std::set<std::string> ops) {
  EngineOptions options;
  options.extra_backends.push_back([plan, ops]() -> std::unique_ptr<Backend> {
    return std::make_unique<FaultBackend>(plan, ops);
  });
  return options;
}

}  // namespace edgerun::testing
