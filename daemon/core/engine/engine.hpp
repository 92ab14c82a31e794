#pragma once
// The receivable engine: one state machine per invoice, reconciliation of payments and credit
// notes, typed alerts, customer aggregates. Pure: no I/O, no wall clock, no threads; `now` is an
// argument. The single writer calls apply() for each committed event and persists what the
// returned Changes name, in the same transaction. See README.md in this folder for the design.
//
// Order independence: each customer's state is the fold of its history (invoices and the other
// events about it) in a canonical order (business date, kind, identity), never the order of
// arrival. An event that sorts after everything already folded is folded incrementally; one that
// sorts earlier makes the engine re-fold that customer. Versions (invoice.updated, a payment sent
// again with its allocations) keep only the winner, chosen by a total order.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/date.hpp"
#include "core/engine/transitions.hpp"
#include "core/event.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace relance::core::engine {

struct EngineOptions {
  // A payment that leaves at most this much open on the receivable it settles closes it with a
  // write-off entry (bank fees, rounding). Per currency; a currency not listed has no tolerance.
  std::vector<Money> write_off_tolerance;
  int promise_grace_days = 3;     // a promise holds until promised_date + grace
  int instalment_grace_days = 3;  // an instalment is late after its due date + grace
  // Remittance text can be long and noisy: only the first tokens that look like references count.
  std::size_t references_per_payment_max = 8;
  // Suspended payments of one customer retried when one of its invoices appears; beyond this,
  // the oldest ones wait for an operator (bounds the cost of a customer with a noisy bank feed).
  std::size_t suspense_retry_max = 64;
};

inline constexpr std::uint32_t no_index = 0xffffffffu;

enum class EntryKind : std::uint8_t {
  payment,              // money of a payment applied
  credit_note,          // a credit note netted
  payment_reversed,     // a payment taken back (negative amount)
  released,             // money given back to the customer's credit when the invoice was cancelled
  write_off,            // invoice.written_off
  tolerance_write_off,  // a small short payment closed
  cancelled,
  dispute_opened,
  dispute_resolved,
  promise_recorded,
  promise_kept,
  plan_agreed,
  plan_completed,
};
std::string_view entry_kind_name(EntryKind kind);

// One line of a receivable's history, after its issuance (implicit). `record` is the event that
// caused it (index into Engine::record()), or no_index.
struct TimelineEntry {
  Date date;
  EntryKind kind;
  // Minor units of the receivable's currency settled by it (positive: reduces what is open;
  // negative for a reversal or released money); 0 when not about money.
  std::int64_t amount = 0;
  std::uint32_t record = no_index;
  bool operator==(const TimelineEntry&) const = default;
};

struct Receivable {
  // From the winning version of the invoice.
  std::string invoice_id;
  std::string number;          // printed number; empty when the ERP gave none
  std::uint32_t customer = 0;  // index into Engine::customer()
  Currency currency;
  std::int64_t original = 0;
  Date issue_date;
  Date due_date;
  std::int64_t version = -1;  // -1: none given
  Timestamp version_time{};   // envelope time of the winning version (epoch when absent)
  std::uint64_t version_tiebreak = 0;
  bool version_from_update = false;  // invoice.updated beats invoice.issued at equal version
  std::uint8_t dunning_level = 0;    // set by the dunning part; kept across re-folds
  // Derived by the fold of the customer's history.
  bool folded = false;
  bool cancelled : 1 = false;  // bit-fields: the flags fit the 8 bytes before `open`
  bool written_off : 1 = false;
  // Index bookkeeping (not persisted): another invoice has, or had, the same normalized number.
  // False means none ever did, so the checks of shared numbers skip the lookup.
  bool number_shared : 1 = false;
  std::uint8_t open_disputes = 0;
  Status base_status = Status::open;  // from events alone
  Status status = Status::open;       // base_status as of the evaluation date
  std::int64_t open = 0;              // negative when overpaid; 0 once cancelled
  std::uint32_t promise = no_index;   // record of the promise pausing it
  std::uint32_t plan = no_index;      // record of the payment plan pausing it
  Date settled_date{};                // when open last reached zero (ok() only if settled)
  Date next_boundary{};  // next date at which time alone changes its status (ok() if any)
  std::vector<TimelineEntry> timeline;  // canonical order
};

enum class RecordKind : std::uint8_t {
  credit_note,
  payment,
  payment_reversal,
  dispute_opened,
  dispute_resolved,
  promise,
  payment_plan,
  invoice_cancelled,
  invoice_written_off,
};
std::string_view record_kind_name(RecordKind kind);

// Why money of a payment or credit note is not applied to a receivable.
enum class HoldReason : std::uint8_t {
  unmatched,          // nothing matched: suspense
  ambiguous,          // several open items of that exact amount: no guess
  awaiting_invoice,   // allocated to an invoice this customer does not have (yet)
  currency_mismatch,  // the invoice it names is in another currency
  closed_receivable,  // the invoice it names is cancelled, written off or already paid
  overpayment,        // more than the invoices it pays: credit balance
  credit,             // a credit note that names no invoice, or money released: credit balance
};
std::string_view hold_reason_name(HoldReason reason);

struct Hold {
  HoldReason reason;
  std::int64_t amount = 0;
  std::uint32_t receivable = no_index;  // the invoice concerned, when there is one
  std::string invoice_id;               // awaiting_invoice: the invoice named
  bool operator==(const Hold&) const = default;
};

struct Applied {
  std::uint32_t receivable;
  std::int64_t amount;           // net amount applied
  std::int64_t written_off = 0;  // tolerance write-off it caused on that receivable
  bool operator==(const Applied&) const = default;
};

// A non-invoice event of a customer's history, compact (not JSON). Inputs first, then what the
// fold derived from it.
struct Record {
  RecordKind kind;
  Date date;                // business date: canonical position
  std::string identity;     // dedupe key: kind + entity (payment_id, ...) or the event's source/id
  std::string source_id;    // source '\x1f' id of the winning event
  Timestamp time{};         // its envelope time (epoch when absent): picks the winning version
  std::string key;          // payment_id, credit_note_id, invoice_id (cancel, write-off, dispute),
                            // promise_id or plan_id
  std::string customer_id;  // as the event gave it; empty when it did not
  Money amount;             // payment, credit note, promise, write-off, disputed part
  bool has_amount = false;
  Date promised_date{};
  std::string note;                     // dispute_id, reason, method: shown in the timeline
  std::vector<std::string> invoices;    // allocations, promise/plan invoices, credited invoice
  std::vector<std::int64_t> amounts;    // allocation amounts or instalment amounts
  std::vector<Date> dates;              // instalment due dates
  std::vector<std::string> references;  // normalized reference keys (payments)
  bool structured_reference = false;    // references[0] comes from a valid RF / QR reference
  // Placement, maintained by the engine.
  std::uint32_t customer = 0;  // index of the customer whose history holds it (0: unassigned)

  struct Derived {
    std::vector<Applied> applied;           // payments, credit notes
    std::vector<Hold> holds;                // payments, credit notes: money not applied
    std::vector<std::uint32_t> candidates;  // ambiguous payment: the receivables it could pay
    std::vector<std::uint32_t> covered;     // promise, plan: receivables covered
    std::vector<std::uint32_t> short_on;    // payment: receivables it left short (by reference)
    std::vector<std::uint32_t> reopened;    // reversal: receivables it re-opened
    std::int64_t paid = 0;  // promise / plan: paid towards it (promise: by the deadline)
    bool folded = false;
    bool deferred = false;   // waits for the invoice it names to be folded
    bool reversed = false;   // payment: taken back
    bool by_amount = false;  // payment, credit note: looked for an open item of its amount
    bool open = false;       // dispute: still open
    bool kept = false;       // promise kept / plan completed
    bool operator==(const Derived&) const = default;
  } derived;

  std::int64_t unapplied() const;
  Date deadline(int grace_days) const { return add_days(promised_date, grace_days); }
};

struct CurrencyAmount {
  Currency currency;
  std::int64_t amount = 0;
  bool operator==(const CurrencyAmount&) const = default;
};

struct CustomerProfile {
  bool known = false;  // a customer.upserted was seen
  std::string name;
  std::vector<std::string> emails;
  std::string language;
  std::string timezone;
  std::string segment;
  std::string crm_id;
  std::optional<Money> credit_limit;
  Timestamp time{};  // the winning upsert's envelope time
  std::uint64_t tiebreak = 0;
};

// An item of a customer's history: an invoice (a receivable) or a record.
struct HistoryItem {
  std::uint32_t index;
  bool invoice;
  bool operator==(const HistoryItem&) const = default;
};

// The fields an event reads first (id, the ends of its lists, exposure, the keys of their last
// items) come first, on the same lines; the profile, read only by customer.upserted, alerts and
// views, last.
struct Customer {
  std::string id;  // "" is the unassigned bucket: records whose customer is not known yet
  std::vector<std::uint32_t> receivables;  // indices into the engine's receivables, by invoice id
                                           // in natural order ("INV-9" before "INV-10")
  std::vector<HistoryItem> history;        // canonical order
  std::uint32_t folded = 0;                // history[0, folded) is folded
  // From this many folded items on, only invoices were folded and nothing waited or was in
  // suspense: an invoice that sorts there meets nothing a fold would let it change, and is
  // folded alone instead of the customer being folded again (not persisted, like `folded`).
  std::uint32_t invoices_only_from = 0;
  // history[0, held_money_until) holds every item folded while money waited for an invoice or
  // was in suspense (not persisted either): such an item may have taken it, as an invoice placed
  // before it would have.
  std::uint32_t held_money_until = 0;
  // Aggregates, kept current by apply() and advance().
  std::vector<CurrencyAmount> exposure;  // open amounts still owed, per currency
  // Index bookkeeping (not persisted): the sort keys of the last items of `history` (business
  // day, rank: 0 for an invoice, 1 + record kind) and of `receivables` (its invoice id), so that
  // an event that goes last, the usual case, is placed without reading the item it follows (a
  // cache miss each). Valid only when the list is not empty.
  std::int32_t history_tail_day = 0;
  std::int32_t history_tail_rank = 0;
  std::string last_invoice_id;
  std::vector<CurrencyAmount> unapplied;  // payments and credit notes not allocated
  std::int64_t days_late_sum = 0;         // over receivables settled by payments
  std::uint32_t settled_count = 0;
  std::uint32_t promises_kept = 0;
  std::uint32_t promises_broken = 0;  // as of the evaluation date
  // Fold bookkeeping (rebuilt by a re-fold, not persisted).
  std::vector<std::uint32_t> suspense;  // records with unmatched or ambiguous money
  std::vector<std::uint32_t> waiting;   // records deferred or awaiting an invoice
  CustomerProfile profile;
};

enum class AlertKind : std::uint8_t {
  payment_unmatched,
  payment_ambiguous,
  payment_over,
  payment_short,
  payment_currency_mismatch,
  payment_on_closed_receivable,
  invoice_duplicate_number_conflict,
  payment_reversed,
  credit_limit_exceeded,
  promise_broken,
  payment_plan_instalment_late,
};
enum class Severity : std::uint8_t { info, warning, critical };
std::string_view alert_kind_name(AlertKind kind);  // "payment.unmatched"
std::string_view severity_name(Severity severity);

struct Alert {
  std::string id;  // stable: a hash of kind and the entities, the same on every replay
  AlertKind kind;
  Severity severity;
  std::string customer_id;
  std::vector<std::string> invoice_ids;
  std::string payment_id;  // or credit_note_id, promise_id, plan_id
  std::optional<Money> amount;
  std::string message;
  bool operator==(const Alert&) const = default;
};

enum class ApplyOutcome : std::uint8_t {
  applied,    // the event changed state
  duplicate,  // seen before (same source and id), or a losing version
};

// What one apply() or advance() changed: the writer persists exactly these. Receivables and
// customers are named by their index (Engine::receivable(), Engine::customer()): a reader takes
// them without a lookup by id, and nothing is copied. An index stays valid as long as the engine.
struct Changes {
  ApplyOutcome outcome = ApplyOutcome::applied;
  std::vector<std::uint32_t> receivables;  // ascending
  // Customers that are new, or whose profile or records (or what the records derive: credits,
  // holds) changed, ascending (0 is the unassigned bucket, id ""): dunning reads them again.
  // Aggregates and views, computed from the blobs, are not a reason.
  std::vector<std::uint32_t> customers;
  // Those of `customers` whose blob changed (new, profile), ascending: the writer stores them.
  std::vector<std::uint32_t> customer_rows;
  // Records whose blob changed (new, a new winning version, placed in another customer's
  // history), ascending. What their fold derives is not stored: load() derives it again.
  std::vector<std::uint32_t> records;
  std::vector<Alert> raised;          // new, or whose content changed; by id
  std::vector<std::string> resolved;  // ids of alerts no longer true; sorted
};

struct AgingBuckets {
  Currency currency;
  // not due, 1-30, 31-60, 61-90, > 90 days past due: open amounts in minor units.
  std::int64_t buckets[5] = {0, 0, 0, 0, 0};
  bool operator==(const AgingBuckets&) const = default;
};
inline constexpr std::string_view aging_bucket_names[5] = {"not_due", "1_30", "31_60", "61_90",
                                                           "over_90"};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Applies one committed event as of `now` (first advancing to `now`'s date). Never fails: an
  // event that makes no sense for the state is applied as far as it can be and raises an alert.
  // Events without a business date (disputes, cancellations, promises, plans) take the date of
  // their envelope `time`, else of `now`: a replay must pass the journal's received_at as `now`.
  Changes apply(const Event& event, Timestamp now);
  // What time alone changes (open -> overdue, a broken promise, a late instalment). Time never
  // goes back: an earlier `now` than already seen changes nothing.
  Changes advance(Timestamp now);
  // The dunning part records the level it reached; kept across re-folds.
  Result<void> set_dunning_level(std::string_view invoice_id, std::uint8_t level);

  // Readers.
  const EngineOptions& options() const;
  const Receivable* find_receivable(std::string_view invoice_id) const;
  std::optional<std::uint32_t> receivable_index(std::string_view invoice_id) const;
  const Customer* find_customer(std::string_view customer_id) const;
  const Receivable& receivable(std::uint32_t index) const;
  const Customer& customer(std::uint32_t index) const;
  const Record& record(std::uint32_t index) const;
  const std::string& customer_id(const Receivable& receivable) const;
  std::size_t receivable_count() const;
  std::size_t customer_count() const;
  std::size_t record_count() const;
  // Active alerts, sorted by id.
  std::vector<Alert> alerts() const;
  const Alert* find_alert(std::string_view id) const;
  Date evaluated_on() const;  // the date of the latest `now`

  // Days past due as of `today` (negative: not yet due); days late of a settled receivable
  // (settlement date - due date, 0 when on time); nullopt when not settled by payments.
  static int days_past_due(const Receivable& receivable, Date today);
  static std::optional<int> days_late(const Receivable& receivable);
  std::optional<Date> oldest_overdue(const Customer& customer, Date today) const;
  std::vector<AgingBuckets> aging(const Customer& customer, Date today) const;
  std::vector<AgingBuckets> aging(Date today) const;  // every customer
  // Open receivables still owed money (not closed, open > 0).
  static bool owes(const Receivable& receivable);

  // Compact binary serialization (to persist in the store and load at start). Byte-identical
  // for equal states, whatever order the events arrived in. A customer's blob holds its profile;
  // each of its records has a blob of its own, so that a new payment writes one small row, not
  // the customer's whole history.
  std::string serialize_receivable(const Receivable& receivable) const;
  std::string serialize_customer(const Customer& customer) const;
  std::string serialize_record(const Record& record) const;
  // Loads what serialize_* produced into an empty engine, re-folds each customer from the stored
  // facts (not from the journal) and evaluates as of `now`. Customer blobs of the formats that
  // held the records are read too (their records with them).
  Result<void> load(std::span<const std::string> customers,
                    std::span<const std::string> receivables, std::span<const std::string> records,
                    Timestamp now);
  // load() read customer blobs of a format that held the records: the caller writes every
  // customer and record again, so that the store holds the current format.
  bool loaded_records_inline() const;

  // Approximate heap bytes held (for the memory benchmark and metrics).
  std::size_t index_bytes() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace relance::core::engine
