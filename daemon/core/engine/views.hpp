#pragma once
// JSON documents of the engine's state, as the HTTP API serves them (GET /v1/receivables/{id},
// GET /v1/customers/{id}, GET /v1/alerts). Amounts are exact decimal strings with the currency's
// number of decimals ("1234.50"); dates are "YYYY-MM-DD".

#include <boost/json/object.hpp>

#include "core/date.hpp"
#include "core/engine/engine.hpp"

namespace relance::core::engine {

// invoice_id, customer_id, number, currency, original_amount, open_amount, issue_date, due_date,
// status, dunning_level, days_past_due (while owed) or days_late (once settled), payments (the
// money each payment or credit note applied), timeline.
boost::json::object receivable_view(const Engine& engine, const Receivable& receivable, Date today);
// customer_id, profile, exposure and unapplied cash per currency, oldest_overdue, aging
// buckets per currency, behaviour (average days late, promises kept and broken), invoice_ids.
boost::json::object customer_view(const Engine& engine, const Customer& customer, Date today);
// id, kind, severity, customer_id, invoice_ids, payment_id, amount, currency, message.
boost::json::object alert_view(const Alert& alert);

}  // namespace relance::core::engine
