// Status and Result: how ordo reports every failure that is not a bug.
//
// Errors are values. I/O errors, corruption, bad input and a full disk return a Status (or a
// Result<T>) whose message names the file, offset or argument concerned. Programmer errors
// (broken invariants) are assertions, never Statuses.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace ordo {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound,         // the key or file does not exist
    kCorruption,       // stored bytes fail a check (checksum, magic, length, chain)
    kIOError,          // the operating system reported an error (EIO and friends)
    kNoSpace,          // ENOSPC / EDQUOT: the disk is full
    kInvalidArgument,  // the caller passed something out of range or malformed
    kBusy,             // another process holds the resource (the data directory lock)
    kFailed,           // the database stopped accepting writes after an earlier I/O error
    kNotSupported,     // a format version or feature this build does not know
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string message) {
    return Status(Code::kNotFound, std::move(message));
  }
  static Status Corruption(std::string message) {
    return Status(Code::kCorruption, std::move(message));
  }
  static Status IOError(std::string message) { return Status(Code::kIOError, std::move(message)); }
  static Status NoSpace(std::string message) { return Status(Code::kNoSpace, std::move(message)); }
  static Status InvalidArgument(std::string message) {
    return Status(Code::kInvalidArgument, std::move(message));
  }
  static Status Busy(std::string message) { return Status(Code::kBusy, std::move(message)); }
  static Status Failed(std::string message) { return Status(Code::kFailed, std::move(message)); }
  static Status NotSupported(std::string message) {
    return Status(Code::kNotSupported, std::move(message));
  }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIOError() const { return code_ == Code::kIOError; }
  bool IsNoSpace() const { return code_ == Code::kNoSpace; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsBusy() const { return code_ == Code::kBusy; }
  bool IsFailed() const { return code_ == Code::kFailed; }
  bool IsNotSupported() const { return code_ == Code::kNotSupported; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "Corruption: log/00000001.seg offset 4096: record checksum mismatch ..."
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context` and ": ".
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok());
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() {
    assert(ok());
    return *value_;
  }
  const T& value() const {
    assert(ok());
    return *value_;
  }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace ordo

// Returns early from the enclosing function when `expr` yields a failed Status.
#define ORDO_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::ordo::Status ordo_status_ = (expr);        \
    if (!ordo_status_.ok()) return ordo_status_; \
  } while (0)

#define ORDO_CONCAT_INNER(a, b) a##b
#define ORDO_CONCAT(a, b) ORDO_CONCAT_INNER(a, b)
// ORDO_ASSIGN_OR_RETURN(auto x, Function()); returns the Status when the Result failed.
#define ORDO_ASSIGN_OR_RETURN(lhs, expr) \
  ORDO_ASSIGN_OR_RETURN_IMPL(ORDO_CONCAT(ordo_result_, __LINE__), lhs, expr)
#define ORDO_ASSIGN_OR_RETURN_IMPL(result, lhs, expr) \
  auto result = (expr);                               \
  if (!result.ok()) return result.status();           \
  lhs = std::move(result.value())
