#include "edgerun/status.hpp"

namespace edgerun {

std::string_view status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kInvalidModel: return "invalid model";
    case StatusCode::kUnsupported: return "unsupported";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kIoError: return "i/o error";
    case StatusCode::kRuntimeError: return "runtime error";
    case StatusCode::kInternal: return "internal error";
    case StatusCode::kTimeout: return "timeout";
    case StatusCode::kCancelled: return "cancelled";
    case StatusCode::kOutOfMemory: return "out of memory";
    case StatusCode::kOverloaded: return "overloaded";
  }
  return "unknown";
}

Status::Status(StatusCode code, std::string message)
    : code_(code), message_(std::make_shared<const std::string>(std::move(message))) {}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return message_ ? *message_ : kEmpty;
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(status_code_name(code_)) + ": " + message();
}

Status Status::with_context(std::string_view context) const {
  if (is_ok()) return *this;
  return Status(code_, std::string(context) + ": " + message());
}

Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
Status invalid_model(std::string m) { return {StatusCode::kInvalidModel, std::move(m)}; }
Status unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
Status runtime_error(std::string m) { return {StatusCode::kRuntimeError, std::move(m)}; }
Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
Status timeout_error(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
Status cancelled_error(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
Status overloaded_error(std::string m) { return {StatusCode::kOverloaded, std::move(m)}; }

}  // namespace edgerun
