#pragma once
// kafka.alerts_topic: each alert raised (or whose content changed) and each alert resolved is
// enqueued, in the writer's transaction that records it, for the sink "kafka.alerts" (a Kafka
// sink on that topic), keyed by customer. The engine's alerts (reconciliation) and the dunning
// alerts go through the one function below; the daemon turns it on with
// EngineApplier::publish_alerts_to(alerts_sink_name).
//
// Idempotency key: "alert:<id>:<open|resolved>:<epoch micros of the change>" — deterministic and
// one per change, so a retried transaction enqueues nothing twice and a later change of the same
// alert is a new message. A notice without a customer (an alert about no customer, or a resolve
// whose customer is not known) is keyed by the alert id instead.

#include <string_view>

#include "connectors/sink.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace relance::state {

// The outbox sink name of alert notices (daemon/sinks.cpp registers a Kafka sink under it).
inline constexpr std::string_view alerts_sink_name = "kafka.alerts";

// The notice of an alert raised, from the row the writer stores (its status is "open").
connectors::AlertNotice opened_notice(const store::AlertRow& row,
                                      std::vector<std::string> invoice_ids, std::string message);

// Enqueues `notice` for `sink` in `transaction` (due at once).
Result<void> enqueue_alert(store::Transaction& transaction, std::string_view sink,
                           const connectors::AlertNotice& notice);

}  // namespace relance::state
