#pragma once
// Expected failures (bad input, a peer that said no) are values, not exceptions.

#include <string>
#include <utility>
#include <variant>

#include "core/assert.hpp"

namespace relance {

// What went wrong, in words a user can act on. `field` locates the problem in the input
// ("data.due_date", "events[3].data.amount.amount", "server.port"); `message` says what is
// wrong with it ("2026-02-30 is not a date").
struct Error {
  std::string field;
  std::string message;

  std::string to_string() const { return field.empty() ? message : field + ": " + message; }
  // The same error located one level deeper: within("data") turns "amount" into "data.amount".
  Error within(std::string_view parent) const {
    if (field.empty()) return {std::string(parent), message};
    if (!field.empty() && field.front() == '[') return {std::string(parent) + field, message};
    return {std::string(parent) + "." + field, message};
  }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    RELANCE_ASSERT(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    RELANCE_ASSERT(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    RELANCE_ASSERT(ok());
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    RELANCE_ASSERT(!ok());
    return std::get<1>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    RELANCE_ASSERT(failed_);
    return error_;
  }

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace relance
