#pragma once
// Private to the engine (engine.cpp, serialize.cpp): the state behind Engine and the fold.

#include <functional>
#include <map>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/engine/engine.hpp"
#include "core/engine/flat_index.hpp"
#include "core/natural_order.hpp"
#include "core/stable_vector.hpp"

namespace relance::core::engine {

// What a fold derives on a receivable (the fields reset_receivable() resets, and the status and
// boundary evaluated from them), but its timeline.
struct FoldFields {
  bool folded;
  bool cancelled;
  bool written_off;
  std::uint8_t open_disputes;
  Status base_status;
  Status status;
  std::int64_t open;
  std::uint32_t promise;
  std::uint32_t plan;
  Date settled_date;
  Date next_boundary;
  bool operator==(const FoldFields&) const = default;
};

// A receivable as it was before a re-fold reset it (its timeline is a range of
// Step::refolded_timelines).
struct FoldedState {
  std::uint32_t receivable;
  FoldFields fields;
  std::size_t timeline_begin;
  std::size_t timeline_end;
};

// What one apply() / advance() touched; turned into Changes at the end.
struct Step {
  std::vector<std::uint32_t> receivables;
  std::vector<std::uint32_t> customers;
  std::vector<std::uint32_t> records;  // whose blob changed (Changes::records)
  std::vector<std::uint32_t> dirty;    // customers to re-fold from scratch
  // Customers whose aggregates and alerts are recomputed from scratch; the others (events that
  // sorted last and touched nothing beyond their own receivables) are updated incrementally.
  std::vector<std::uint32_t> full;
  std::vector<std::uint32_t> folded_records;  // records folded by fold_pending in this step
  std::vector<std::uint32_t> timed;           // receivables whose status the new date alone changed
  // Receivables a re-fold reset that nothing else in the step had touched: those that fold back
  // to the same state are not reported (an invoice sorting before its customer's folded history
  // re-folds all the customer's receivables; most come out as they were).
  std::vector<FoldedState> refolded;
  std::vector<TimelineEntry> refolded_timelines;
  bool changed = false;
  void clear() {
    receivables.clear();
    customers.clear();
    records.clear();
    dirty.clear();
    full.clear();
    folded_records.clear();
    timed.clear();
    refolded.clear();
    refolded_timelines.clear();
    changed = false;
  }
};

// The keys an invoice is indexed under (invoice_reference_keys() and normalized_number()), with
// their hashes: computed once per event, in buffers reused from one event to the next.
struct InvoiceKeys {
  std::string normalized;  // the printed number (or id) normalized; the number index's key
  std::string name;        // "n:<normalized>" unless numeric or empty
  std::string digits;      // "d:<digits>" unless there are none
  bool has_name = false;
  bool has_digits = false;
  bool has_number = false;  // the invoice has a printed number whose normalized form is not empty
  std::uint32_t name_tag = 0;
  std::uint32_t digits_tag = 0;
  std::uint32_t number_tag = 0;
  void compute(std::string_view invoice_id, std::string_view number);
};

struct Engine::Impl {
  explicit Impl(EngineOptions o) : options(std::move(o)) {}

  EngineOptions options;
  StableVector<Receivable> receivables;
  StableVector<Customer> customers;
  StableVector<Record> records;
  Date today{};
  bool has_today = false;

  FlatIndex invoice_index;    // invoice_id -> receivable
  FlatIndex reference_index;  // reference key ("n:..", "d:..") -> receivable
  FlatIndex number_index;     // normalized printed number -> receivable
  FlatIndex customer_index;   // customer id -> customer
  FlatIndex identity_index;   // Record::identity -> record
  // Records whose customer is not given by their event depend on an invoice ("i:<id>"), a
  // reference key ("r:<key>") or a payment ("p:<payment_id>").
  std::unordered_multimap<std::string, std::uint32_t> dependents;
  std::map<std::string, Alert, std::less<>> alerts;       // active, by id
  std::vector<std::vector<std::string>> customer_alerts;  // ids each customer's state raised
  // Time boundaries, min-heaps of (day, index); lazy: an entry whose day is no longer the
  // receivable's next_boundary (or the customer's customer_next) is skipped when popped.
  // Receivables: the day time alone changes its status, so that a new day touches only the
  // receivables whose day came. Customers: days that matter beyond their receivables' (a
  // promise whose invoices are all closed still breaks), for customers evaluated in full.
  using Due = std::pair<std::int32_t, std::uint32_t>;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> receivable_boundaries;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> boundaries;

  std::vector<std::int32_t> customer_next;  // the day pushed for each customer (0: none)
  Step* current_step = nullptr;             // the step apply() / advance() / load() is in

  // Step bookkeeping: flags avoid duplicates in Step's vectors.
  std::vector<std::uint8_t> receivable_touched;
  // 1: touched; 2: its records or what they derive changed; 3: its blob changed too.
  std::vector<std::uint8_t> customer_touched;
  std::vector<std::uint8_t> record_touched;  // its blob changed
  std::vector<std::uint8_t> customer_dirty;
  std::vector<std::uint8_t> customer_full;

  // Incremental evaluation. What each receivable last added to its customer's aggregates
  // (exposure, days late), and customers whose state makes alerts or statuses depend on several
  // entities (short payments, reversals, promises, plans): those are always evaluated in full.
  std::vector<std::int64_t> contrib_open;  // 0: owes nothing
  std::vector<std::int32_t> contrib_late;  // -1: not settled by payments
  std::vector<std::uint8_t> customer_complex;
  Step scratch;  // reused by apply() / advance(): no allocation per event once warm
  InvoiceKeys scratch_keys;
  InvoiceKeys scratch_old_keys;
  std::vector<std::uint32_t> scratch_ids;
  bool loaded_records_inline = false;  // Engine::loaded_records_inline()

  // engine.cpp
  std::uint32_t customer_of(std::string_view id);
  std::uint32_t customer_of(std::string_view id, std::uint32_t tag);
  std::uint32_t find_invoice(std::string_view invoice_id) const;
  std::uint32_t find_invoice(std::string_view invoice_id, std::uint32_t tag) const;
  std::uint32_t find_customer(std::string_view customer_id) const;
  std::uint32_t find_customer(std::string_view customer_id, std::uint32_t tag) const;
  std::uint32_t find_record(std::string_view identity) const;
  std::uint32_t find_record(std::string_view identity, std::uint32_t tag) const;
  void prefetch_keys(const InvoiceKeys& keys) const;
  void prefetch_customer(std::uint32_t c) const;
  // Adds receivable r under its keys and flags the invoices it shares its number with.
  void index_invoice(std::uint32_t r, const InvoiceKeys& keys);
  void unindex_invoice(std::uint32_t r, const InvoiceKeys& keys);
  void touch_receivable(Step& step, std::uint32_t r);
  void touch_customer(Step& step, std::uint32_t c);
  // Its records, or what they derive, changed: the customer is reported in Changes::customers.
  void touch_customer_records(Step& step, std::uint32_t c);
  // It is new, or its profile changed: reported in Changes::customer_rows too.
  void touch_customer_blob(Step& step, std::uint32_t c);
  // The record's blob changed (new, a new version, another customer's history).
  void touch_record(Step& step, std::uint32_t rec);
  void mark_dirty(Step& step, std::uint32_t c);
  void mark_full(Step& step, std::uint32_t c);
  // A customer's receivables: by invoice id, in natural order (core/natural_order.hpp).
  bool invoice_less(std::uint32_t a, std::uint32_t b) const {
    return natural_less(receivables[a].invoice_id, receivables[b].invoice_id);
  }
  // A customer's history: by item_rank, then identity in natural order.
  bool item_less(HistoryItem a, HistoryItem b) const;
  // item_less's key but the identity: (business day, 0 for an invoice or 1 + record kind).
  std::pair<std::int32_t, std::int32_t> item_rank(HistoryItem item) const;
  // Customer::history_tail_* and last_invoice_id from the lists (after a change other than an
  // append).
  void sync_tails(Customer& cu) const;
  void history_insert(Step& step, std::uint32_t c, HistoryItem item);
  // Whether invoice r, just placed at cu.history[offset] before folded items, can be folded
  // alone: what was folded after it would come out the same. Nothing waits or is in suspense,
  // nothing after it was folded while money did (Customer::held_money_until), and each record
  // after it is a payment or credit note whose money all went to invoices it names or whose
  // references it carries, none of them r (not by amount: r could make that ambiguous).
  // Otherwise the customer is folded again.
  bool folds_alone(std::uint32_t c, std::size_t offset, std::uint32_t r) const;
  void history_erase(Step& step, std::uint32_t c, HistoryItem item);

  void on_invoice(Step& step, const Event& event, const InvoiceData& data);
  void on_record(Step& step, Record incoming);
  void on_customer(Step& step, const Event& event, const CustomerUpserted& data);
  void rehome_dependents(const std::string& key);  // within *current_step
  void rehome(Step& step, std::uint32_t rec);
  std::uint32_t compute_home(const Record& rec);
  void add_dependencies(std::uint32_t rec);

  // The fold.
  void refold(Step& step, std::uint32_t c);
  void fold_pending(Step& step, std::uint32_t c);
  void fold_invoice(Step& step, std::uint32_t c, std::uint32_t r);
  void fold_record(Step& step, std::uint32_t c, std::uint32_t rec);
  std::uint32_t folded_invoice(std::uint32_t c, std::string_view invoice_id) const;
  void fold_money(Step& step, std::uint32_t c, std::uint32_t rec);
  void allocate(Step& step, std::uint32_t c, std::uint32_t rec, const std::string& invoice_id,
                std::int64_t amount);
  void match_unallocated(Step& step, std::uint32_t c, std::uint32_t rec, std::int64_t amount);
  bool apply_money(Step& step, std::uint32_t rec, std::uint32_t r, std::int64_t amount);
  void tolerance_check(Step& step, std::uint32_t rec, std::uint32_t r);
  void after_money(Step& step, std::uint32_t r, Date date, std::int64_t amount);
  void keep_promise(Step& step, std::uint32_t p, Date date);
  void complete_plan(Step& step, std::uint32_t p, Date date);
  void fold_reversal(Step& step, std::uint32_t c, std::uint32_t rec);
  bool fold_on_invoice(Step& step, std::uint32_t c, std::uint32_t rec);
  void cover(Step& step, std::uint32_t rec, std::uint32_t r);
  void trigger(std::uint32_t r, Trigger t);
  Status reassess(const Receivable& r, bool ignore_promise) const;
  void add_hold(std::uint32_t c, std::uint32_t rec, Hold hold);

  // Time and aggregates.
  void advance_to(Step& step, Date date);
  void evaluate_receivable(std::uint32_t r);
  void evaluate_customer(Step& step, std::uint32_t c);
  void evaluate_incremental(Step& step, std::uint32_t c);
  void set_contribution(std::uint32_t r);
  void customer_alerts_of(std::uint32_t c, std::vector<Alert>& out) const;
  void record_alerts_of(const Customer& cu, const Record& record, std::vector<Alert>& out) const;
  void receivable_alerts_of(const Customer& cu, std::uint32_t r, std::vector<Alert>& out) const;
  void credit_alerts_of(const Customer& cu, std::vector<Alert>& out) const;
  void incremental_alerts(const Step& step, std::uint32_t c, std::vector<Alert>& fresh,
                          std::vector<std::string>& old_ids);
  Changes finish(Step& step);
  bool promise_expired(const Record& p) const;
  bool instalment_late(const Record& plan, Date today) const;
};

// Helpers shared by engine.cpp and serialize.cpp.
bool answers_to(const Receivable& r, std::string_view key);
std::string normalized_number(std::string_view number);
bool same_normalized(std::string_view number, std::string_view key);  // no allocation
void reset_receivable(Receivable& receivable);  // forget what the fold derived

}  // namespace relance::core::engine
