#pragma once
// The documents the HTTP API serves for a receivable and a customer, computed when they are read
// rather than written by the writer on every change: the writer stores only the engine's blobs,
// and a read loads the one customer concerned (its blob and its receivables', from one snapshot)
// into a small engine of its own, evaluated as of today. A document is thus never older than the
// day it is read ("as_of" is today), and the writer's transaction carries no JSON.
//
// Each customer folds on its own (core/engine/README.md: an event's home is one customer), so
// the engine of one customer computes what the writer's engine holds for it.

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

#include "core/clock.hpp"
#include "core/date.hpp"
#include "core/engine/engine.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace relance::state {

// The serialized document, with "as_of": the date it was computed for (days past due, aging).
std::string view_text(boost::json::object view, core::Date today);

class ViewsOnRead {
 public:
  // `options` must be the writer's engine options. `store` and `clock` must outlive this.
  ViewsOnRead(store::Store& store, core::engine::EngineOptions options, const core::Clock& clock);

  // GET /v1/receivables/{id}; nullopt when no such receivable is stored.
  Result<std::optional<std::string>> receivable(std::string_view invoice_id) const;
  // GET /v1/customers/{id}: the customer's document with "receivables", its receivables'
  // documents in invoice id order; nullopt when no such customer is stored.
  Result<std::optional<std::string>> customer(std::string_view customer_id) const;
  // The daemon's clock, which the HTTP API also reads "now" from (a replayed action's due time).
  const core::Clock& clock() const { return clock_; }

 private:
  Result<void> load(core::engine::Engine& engine, const store::CustomerState& state,
                    core::Timestamp now) const;

  store::Store& store_;
  const core::engine::EngineOptions options_;
  const core::Clock& clock_;
};

}  // namespace relance::state
