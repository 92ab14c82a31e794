#pragma once
// Canonical events: CloudEvents 1.0 envelopes whose `data` follows schemas/events/<type>.json.
// Every connector produces these; the engine consumes only these. `source` + `id` is the
// idempotency key.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/date.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace relance::core {

enum class EventType : std::uint8_t {
  invoice_issued,
  invoice_updated,
  invoice_cancelled,
  invoice_written_off,
  credit_note_issued,
  payment_received,
  payment_reversed,
  dispute_opened,
  dispute_resolved,
  promise_to_pay_recorded,
  payment_plan_agreed,
  customer_upserted,
};
inline constexpr int event_type_count = 12;

// "invoice.issued" <-> EventType::invoice_issued.
std::string_view event_type_name(EventType type);
std::optional<EventType> event_type_from_name(std::string_view name);

// invoice.issued, and invoice.updated, which carries the whole invoice as the ERP now has it.
// Between two updates of one invoice, the higher `version` wins; without versions, the later
// envelope `time`.
struct InvoiceData {
  std::string invoice_id;
  std::string customer_id;
  Money amount;
  Date issue_date;
  Date due_date;
  std::optional<std::string> number;         // the number printed on the invoice
  std::optional<std::string> payment_terms;  // free text or a code ("30 days end of month")
  std::optional<std::string> purchase_order;
  std::optional<std::int64_t> version;
};

struct InvoiceCancelled {
  std::string invoice_id;
  std::optional<std::string> reason;
  std::optional<std::int64_t> version;
};

struct InvoiceWrittenOff {
  std::string invoice_id;
  std::optional<Money> amount;  // absent: the whole open amount
  std::optional<std::string> reason;
};

struct CreditNoteIssued {
  std::string credit_note_id;
  std::string customer_id;
  Money amount;
  Date issue_date;
  std::optional<std::string> invoice_id;  // the invoice it credits, when the ERP says
};

struct Allocation {
  std::string invoice_id;
  Money amount;
};

struct PaymentReceived {
  std::string payment_id;
  Money amount;
  Date received_date;
  std::optional<std::string> customer_id;
  std::vector<Allocation> allocations;              // explicit allocation by the ERP, if any
  std::optional<std::string> remittance_info;       // free text from the bank or the payer
  std::optional<std::string> structured_reference;  // RF creditor reference, QR reference...
  std::optional<std::string> method;                // "sepa_credit_transfer", "card", "cheque"...
};

struct PaymentReversed {
  std::string payment_id;
  Date reversed_date;
  std::optional<std::string> reason;  // "chargeback", "returned", "bounced cheque"...
};

struct DisputeOpened {
  std::string invoice_id;
  std::string reason;
  std::optional<std::string> dispute_id;
  std::optional<Money> amount;  // the disputed part; absent: the whole invoice
};

struct DisputeResolved {
  std::string invoice_id;
  std::optional<std::string> dispute_id;
  std::optional<std::string> resolution;
};

struct PromiseToPayRecorded {
  std::vector<std::string> invoice_ids;    // at least one of invoice_ids and customer_id
  std::optional<std::string> customer_id;  // alone: the promise covers the customer's open items
  Money amount;
  Date promised_date;
  std::optional<std::string> promise_id;
};

struct Instalment {
  Date due_date;
  Money amount;
};

struct PaymentPlanAgreed {
  std::string plan_id;
  std::vector<std::string> invoice_ids;
  std::vector<Instalment> instalments;  // in due-date order
};

struct CustomerUpserted {
  std::string customer_id;
  std::string name;
  std::vector<std::string> emails;
  std::optional<std::string> language;  // BCP 47 ("fr", "en-GB")
  std::optional<std::string> timezone;  // IANA ("Europe/Paris")
  std::optional<std::string> segment;
  std::optional<std::string> crm_id;
  std::optional<Money> credit_limit;
};

using EventData = std::variant<InvoiceData, InvoiceCancelled, InvoiceWrittenOff, CreditNoteIssued,
                               PaymentReceived, PaymentReversed, DisputeOpened, DisputeResolved,
                               PromiseToPayRecorded, PaymentPlanAgreed, CustomerUpserted>;

struct Event {
  // CloudEvents attributes.
  std::string id;
  std::string source;
  EventType type{};
  std::optional<Timestamp> time;
  std::optional<std::string> subject;
  EventData data;
  // The envelope as received, serialized as compact JSON, unknown attributes and data fields
  // included: this is what the journal keeps and what GET /v1/events returns.
  std::string json;
};

// Parses and validates one CloudEvents JSON envelope (structured mode). Errors name the field
// ("data.amount.amount: \"12.345\" has 3 decimals; EUR has 2") relative to the envelope.
Result<Event> parse_event(std::string_view json_text);

// Parses a JSON array of envelopes (the CloudEvents batch format). Errors name the index of the
// first bad event: "[3].data.amount.currency: XYZ is not an ISO 4217 currency".
Result<std::vector<Event>> parse_event_batch(std::string_view json_text);

// The JSON envelope of an event built in code (connectors, tests, generators); sets `json`.
// parse_event(event.json) gives the same event back.
void encode_event(Event& event);

}  // namespace relance::core
