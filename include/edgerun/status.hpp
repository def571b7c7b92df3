// Errors are values: every fallible call in edgerun returns a Status or a Result<T>.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <variant>

namespace edgerun {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something wrong (input name, dtype, shape)
  kInvalidModel,     // the model itself is malformed
  kUnsupported,      // valid, but this runtime cannot run it (op, dtype, attribute value)
  kNotFound,
  kIoError,
  kRuntimeError,  // a kernel failed on valid input
  kInternal,      // a bug in edgerun
  kTimeout,
  kCancelled,
  kOutOfMemory,
  kOverloaded,  // every instance is busy and the request queue is full; retry later
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message);

  static Status ok() { return Status(); }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const;
  // "<code>: <message>"
  std::string to_string() const;
  // Prefixes the message with where the error happened, e.g. "node 'conv1' (Conv): ".
  Status with_context(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  // Shared so that copying an OK or an error status stays cheap on hot paths.
  std::shared_ptr<const std::string> message_;
};

Status invalid_argument(std::string message);
Status invalid_model(std::string message);
Status unsupported(std::string message);
Status not_found(std::string message);
Status io_error(std::string message);
Status runtime_error(std::string message);
Status internal_error(std::string message);
Status timeout_error(std::string message);
Status cancelled_error(std::string message);
Status overloaded_error(std::string message);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {}  // NOLINT: implicit by design

  bool is_ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(data_);
  }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace edgerun

#define ER_CONCAT_INNER(a, b) a##b
#define ER_CONCAT(a, b) ER_CONCAT_INNER(a, b)

#define ER_RETURN_IF_ERROR(expr)                  \
  do {                                            \
    ::edgerun::Status er_status_ = (expr);        \
    if (!er_status_.is_ok()) return er_status_;   \
  } while (0)

#define ER_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.is_ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#define ER_ASSIGN_OR_RETURN(lhs, expr) \
  ER_ASSIGN_OR_RETURN_IMPL(ER_CONCAT(er_result_, __LINE__), lhs, expr)
