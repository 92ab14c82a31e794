#include "state/views_on_read.hpp"

#include <boost/json.hpp>
#include <span>
#include <utility>

#include "core/assert.hpp"
#include "core/engine/views.hpp"

namespace relance::state {

namespace json = boost::json;
using core::engine::Engine;

std::string view_text(json::object view, core::Date today) {
  view["as_of"] = core::format_date(today);
  return json::serialize(view);
}

ViewsOnRead::ViewsOnRead(store::Store& store, core::engine::EngineOptions options,
                         const core::Clock& clock)
    : store_(store), options_(std::move(options)), clock_(clock) {}

Result<void> ViewsOnRead::load(Engine& engine, const store::CustomerState& state,
                               core::Timestamp now) const {
  const std::span<const std::string> customers =
      state.customer ? std::span<const std::string>(&*state.customer, 1)
                     : std::span<const std::string>();
  if (auto loaded = engine.load(customers, state.receivables, state.records, now); !loaded) {
    return Error{"customer " + state.customer_id,
                 "its stored state cannot be loaded (" + loaded.error().to_string() + ")"};
  }
  return {};
}

Result<std::optional<std::string>> ViewsOnRead::receivable(std::string_view invoice_id) const {
  auto state = store_.receivable_owner_state(invoice_id);
  if (!state) return state.error();
  if (!state->has_value()) return std::optional<std::string>();
  const core::Timestamp now = clock_.now();
  Engine engine(options_);
  if (auto loaded = load(engine, **state, now); !loaded) return loaded.error();
  const core::engine::Receivable* found = engine.find_receivable(invoice_id);
  // The snapshot held the receivable's row, and load() keeps every receivable it is given.
  RELANCE_ASSERT(found != nullptr && "a loaded receivable is missing from its customer's engine");
  const core::Date today = core::utc_date(now);
  return std::optional<std::string>(
      view_text(core::engine::receivable_view(engine, *found, today), today));
}

Result<std::optional<std::string>> ViewsOnRead::customer(std::string_view customer_id) const {
  auto state = store_.customer_state(customer_id);
  if (!state) return state.error();
  if (!state->customer) return std::optional<std::string>();
  const core::Timestamp now = clock_.now();
  Engine engine(options_);
  if (auto loaded = load(engine, *state, now); !loaded) return loaded.error();
  const core::engine::Customer* found = engine.find_customer(customer_id);
  RELANCE_ASSERT(found != nullptr && "a loaded customer is missing from its engine");
  const core::Date today = core::utc_date(now);
  json::object view = core::engine::customer_view(engine, *found, today);
  view["as_of"] = core::format_date(today);
  json::array receivables;
  receivables.reserve(found->receivables.size());
  // Engine::load keeps a customer's receivables in natural order of their ids ("INV-9" before
  // "INV-10").
  for (const std::uint32_t r : found->receivables) {
    json::object item = core::engine::receivable_view(engine, engine.receivable(r), today);
    item["as_of"] = view.at("as_of");
    receivables.emplace_back(std::move(item));
  }
  view["receivables"] = std::move(receivables);
  return std::optional<std::string>(json::serialize(view));
}

}  // namespace relance::state
