#pragma once
// The Kafka sink: publishes each delivery to a topic, keyed by customer id (so one customer's
// actions stay in order on one partition), with the idempotent producer (acks=all), and answers
// only once the brokers acknowledged it or the deadline passed.
//
// The value is a CloudEvents 1.0 envelope in structured mode (see delivery_envelope below); the
// headers carry `content-type: application/cloudevents+json` and `idempotency-key` (the
// delivery's key, also the envelope's id), so that a consumer drops a second copy.
//
// Answers: acknowledged -> delivered; a transient broker or transport error, a full local queue
// or a deadline passed -> retry (the idempotency key makes a copy that did arrive harmless);
// a message the brokers will never take (too large, invalid record, not authorized) ->
// rejected. A fatal producer error (the idempotent producer lost its guarantees) replaces the
// producer and answers retry: the delivery was not at fault.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "connectors/sink.hpp"
#include "core/result.hpp"

namespace relance::connectors {

struct KafkaSinkOptions {
  std::string brokers;  // bootstrap.servers
  std::string topic;
  // librdkafka properties (security.protocol, sasl.*, partitioner...), applied after the
  // defaults and before the settings the sink depends on (idempotence, acks).
  std::map<std::string, std::string> client;
  // From deliver() to the brokers' acknowledgement (librdkafka's message.timeout.ms).
  std::chrono::milliseconds delivery_timeout{30000};
  std::string event_source = "relanced";  // the envelope's CloudEvents `source`
  std::string name = "kafka";             // the registered name the sink answers to
};

Result<std::unique_ptr<Sink>> make_kafka_sink(const KafkaSinkOptions& options);

// The published value:
//   {"specversion": "1.0", "id": <idempotency key>, "source": <event_source>,
//    "type": "relance.action.email" | "relance.action.crm_task" | "relance.action.crm_note"
//            | "relance.alert.open" | "relance.alert.resolved",
//    "subject": <customer id>, "datacontenttype": "application/json",
//    "data": {"customer_id", "email": {from, reply_to, to, cc, subject, text, html, date}}
//         | {"customer_id", "crm": {kind, customer_id, customer_name, crm_id, subject, body,
//                                   due_date (YYYY-MM-DD or null), invoice_ids}}
//         | {"customer_id", "alert": {id, kind, severity, status, customer_id, invoice_ids,
//                                     message, at}}}
std::string delivery_envelope(const Delivery& delivery, const std::string& event_source);

}  // namespace relance::connectors
