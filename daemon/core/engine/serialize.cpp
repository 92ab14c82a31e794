// Compact binary blobs of receivables and customers: varints, length-prefixed strings, dates as
// day numbers, records named by their identity (never by an in-memory index), lists in canonical
// order. Equal states give equal bytes, whatever order the events arrived in.
//
// A receivable's blob holds the facts (the winning invoice version) and what the fold derived
// from them (amounts, status, timeline) so that the store has the whole state of each invoice.
// A customer's blob holds its profile; each record of its history (a payment, a credit note...)
// has a blob of its own with its facts and its place (the customer whose history holds it):
// a new payment then writes one small row, where a blob of all the customer's records grew with
// its history and was written again at each of them. load() reads the facts and re-folds them:
// a change of options (a write-off tolerance) then applies at the next start, and derived state
// cannot drift.

#include <algorithm>

#include "core/engine/engine.hpp"
#include "core/engine/engine_impl.hpp"
#include "core/engine/references.hpp"

namespace relance::core::engine {
namespace {

constexpr std::uint8_t receivable_format = 1;
constexpr std::uint8_t record_format = 1;
// The customer's profile. Formats 1 to 3 held the customer's records after it, each with what
// its fold derived (load() reads them, and skips the rest):
// 3: without the aggregates (exposure, unapplied cash, behaviour) that format 2 wrote after the
// records: they changed with every invoice, so every event rewrote its customer's row.
// 2: without the list of the customer's invoice ids that format 1 wrote before the aggregates
// (it made each customer row grow with its invoice count).
constexpr std::uint8_t customer_format = 4;
constexpr std::uint8_t customer_format_with_records = 3;
constexpr std::uint8_t customer_format_with_aggregates = 2;
constexpr std::uint8_t customer_format_with_invoice_list = 1;

class Writer {
 public:
  void u(std::uint64_t value) {
    while (value >= 0x80) {
      out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
      value >>= 7;
    }
    out_.push_back(static_cast<char>(value));
  }
  void i(std::int64_t value) {
    u((static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63));
  }
  void b(bool value) { out_.push_back(value ? 1 : 0); }
  void s(std::string_view text) {
    u(text.size());
    out_.append(text);
  }
  void date(Date d) {
    if (!d.ok()) {
      u(0);
      return;
    }
    u(1);
    i(to_sys_days(d).time_since_epoch().count());
  }
  void time(Timestamp t) { i(t.time_since_epoch().count()); }
  void currency(Currency c) { s(c.code()); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool failed() const { return failed_; }
  bool done() const { return pos_ == in_.size(); }

  std::uint64_t u() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      auto byte = static_cast<std::uint8_t>(in_[pos_++]);
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
    return fail();
  }
  std::int64_t i() {
    std::uint64_t z = u();
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  bool b() {
    if (pos_ >= in_.size()) return fail();
    return in_[pos_++] != 0;
  }
  std::string s() {
    std::uint64_t n = u();
    if (n > in_.size() - pos_) return fail(), std::string();
    std::string out(in_.substr(pos_, n));
    pos_ += n;
    return out;
  }
  Date date() {
    if (u() == 0) return Date{};
    return Date(std::chrono::sys_days(Days(i())));
  }
  Timestamp time() { return Timestamp(std::chrono::microseconds(i())); }
  Currency currency() {
    std::string code = s();
    if (code == "XXX") return Currency{};  // a record without an amount
    auto c = Currency::from_code(code);
    if (!c) return fail(), Currency{};
    return *c;
  }
  // A count of elements that cannot exceed what remains (each takes at least a byte).
  std::size_t count() {
    std::uint64_t n = u();
    if (n > in_.size() - pos_) return fail();
    return n;
  }

 private:
  std::uint64_t fail() {
    failed_ = true;
    pos_ = in_.size();
    return 0;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

void write_record_facts(Writer& w, const Record& r) {
  w.u(static_cast<std::uint8_t>(r.kind));
  w.date(r.date);
  w.s(r.identity);
  w.s(r.source_id);
  w.time(r.time);
  w.s(r.key);
  w.s(r.customer_id);
  w.b(r.has_amount);
  w.i(r.amount.minor_units);
  w.currency(r.amount.currency);
  w.date(r.promised_date);
  w.s(r.note);
  w.u(r.invoices.size());
  for (const std::string& id : r.invoices) w.s(id);
  w.u(r.amounts.size());
  for (std::int64_t a : r.amounts) w.i(a);
  w.u(r.dates.size());
  for (Date d : r.dates) w.date(d);
  w.u(r.references.size());
  for (const std::string& key : r.references) w.s(key);
  w.b(r.structured_reference);
}

// What write_record_facts() wrote; `field` names the blob in errors.
Result<Record> read_record_facts(Reader& in, const std::string& field) {
  Record r;
  r.kind = static_cast<RecordKind>(in.u());
  if (static_cast<int>(r.kind) > static_cast<int>(RecordKind::invoice_written_off)) {
    return Error{field, "unknown record kind"};
  }
  r.date = in.date();
  r.identity = in.s();
  r.source_id = in.s();
  r.time = in.time();
  r.key = in.s();
  r.customer_id = in.s();
  r.has_amount = in.b();
  r.amount.minor_units = in.i();
  r.amount.currency = in.currency();
  r.promised_date = in.date();
  r.note = in.s();
  for (std::size_t j = 0, m = in.count(); j < m; ++j) r.invoices.push_back(in.s());
  for (std::size_t j = 0, m = in.count(); j < m; ++j) r.amounts.push_back(in.i());
  for (std::size_t j = 0, m = in.count(); j < m; ++j) r.dates.push_back(in.date());
  for (std::size_t j = 0, m = in.count(); j < m; ++j) r.references.push_back(in.s());
  r.structured_reference = in.b();
  if (in.failed()) return Error{field, "truncated or corrupt blob"};
  if (r.invoices.size() != r.amounts.size() && r.kind != RecordKind::promise &&
      r.kind != RecordKind::payment_plan && r.kind != RecordKind::invoice_cancelled &&
      r.kind != RecordKind::invoice_written_off && r.kind != RecordKind::dispute_opened &&
      r.kind != RecordKind::dispute_resolved) {
    return Error{field, "record " + r.identity + " has allocations without amounts"};
  }
  return r;
}

// What the fold derived, after a record's facts in customer blobs of formats 1 to 3.
void skip_derived(Reader& in) {
  for (std::size_t j = 0, m = in.count(); j < m; ++j) in.s(), in.i(), in.i();
  for (std::size_t j = 0, m = in.count(); j < m; ++j) in.u(), in.i(), in.s(), in.s();
  for (int list = 0; list < 4; ++list) {
    for (std::size_t j = 0, m = in.count(); j < m; ++j) in.s();
  }
  in.i();
  for (int flag = 0; flag < 5; ++flag) in.b();
}

}  // namespace

std::string Engine::serialize_receivable(const Receivable& r) const {
  const Impl& impl = *impl_;
  auto identity = [&](std::uint32_t rec) {
    return rec == no_index ? std::string_view() : std::string_view(impl.records[rec].identity);
  };
  Writer w;
  w.u(receivable_format);
  // Facts.
  w.s(r.invoice_id);
  w.s(r.number);
  w.s(impl.customers[r.customer].id);
  w.currency(r.currency);
  w.i(r.original);
  w.date(r.issue_date);
  w.date(r.due_date);
  w.i(r.version);
  w.time(r.version_time);
  w.u(r.version_tiebreak);
  w.b(r.version_from_update);
  w.u(r.dunning_level);
  // Derived.
  w.b(r.folded);
  w.b(r.cancelled);
  w.b(r.written_off);
  w.u(r.open_disputes);
  w.u(static_cast<std::uint8_t>(r.base_status));
  w.u(static_cast<std::uint8_t>(r.status));
  w.i(r.open);
  w.s(identity(r.promise));
  w.s(identity(r.plan));
  w.date(r.settled_date);
  w.u(r.timeline.size());
  for (const TimelineEntry& e : r.timeline) {
    w.date(e.date);
    w.u(static_cast<std::uint8_t>(e.kind));
    w.i(e.amount);
    w.s(identity(e.record));
  }
  return w.take();
}

std::string Engine::serialize_record(const Record& r) const {
  Writer w;
  w.u(record_format);
  w.s(impl_->customers[r.customer].id);
  write_record_facts(w, r);
  return w.take();
}

std::string Engine::serialize_customer(const Customer& c) const {
  Writer w;
  w.u(customer_format);
  w.s(c.id);
  const CustomerProfile& p = c.profile;
  w.b(p.known);
  w.s(p.name);
  w.u(p.emails.size());
  for (const std::string& e : p.emails) w.s(e);
  w.s(p.language);
  w.s(p.timezone);
  w.s(p.segment);
  w.s(p.crm_id);
  w.b(p.credit_limit.has_value());
  if (p.credit_limit) {
    w.i(p.credit_limit->minor_units);
    w.currency(p.credit_limit->currency);
  }
  w.time(p.time);
  w.u(p.tiebreak);
  return w.take();
}

Result<void> Engine::load(std::span<const std::string> customer_blobs,
                          std::span<const std::string> receivable_blobs,
                          std::span<const std::string> record_blobs, Timestamp now) {
  Impl& impl = *impl_;
  if (!impl.receivables.empty() || !impl.records.empty() || impl.customers.size() > 1) {
    return Error{"", "load() needs an empty engine"};
  }
  Step step;
  impl.current_step = &step;
  auto place = [&](Record r, std::uint32_t c, const std::string& field) -> Result<void> {
    if (impl.find_record(r.identity) != no_index) {
      return Error{field, "record " + r.identity + " is stored twice"};
    }
    auto rec = static_cast<std::uint32_t>(impl.records.size());
    impl.identity_index.insert(r.identity, rec);
    r.customer = c;
    impl.records.push_back(std::move(r));
    impl.add_dependencies(rec);
    impl.customers[c].history.push_back({rec, false});
    return {};
  };
  for (std::size_t n = 0; n < customer_blobs.size(); ++n) {
    const std::string field = "customers[" + std::to_string(n) + "]";
    Reader in(customer_blobs[n]);
    const std::uint64_t format = in.u();
    if (format != customer_format && format != customer_format_with_records &&
        format != customer_format_with_aggregates && format != customer_format_with_invoice_list) {
      return Error{field, "unknown format"};
    }
    const std::uint32_t c = impl.customer_of(in.s());
    CustomerProfile& p = impl.customers[c].profile;
    p.known = in.b();
    p.name = in.s();
    for (std::size_t i = 0, k = in.count(); i < k; ++i) p.emails.push_back(in.s());
    p.language = in.s();
    p.timezone = in.s();
    p.segment = in.s();
    p.crm_id = in.s();
    if (in.b()) {
      Money limit;
      limit.minor_units = in.i();
      limit.currency = in.currency();
      p.credit_limit = limit;
    }
    p.time = in.time();
    p.tiebreak = in.u();
    if (format != customer_format) {
      impl.loaded_records_inline = true;
      for (std::size_t i = 0, k = in.count(); i < k && !in.failed(); ++i) {
        auto record = read_record_facts(in, field);
        if (!record) return record.error();
        skip_derived(in);
        if (in.failed()) break;
        if (auto placed = place(std::move(*record), c, field); !placed) return placed;
      }
    }
    if (in.failed()) return Error{field, "truncated or corrupt blob"};
  }
  for (std::size_t n = 0; n < record_blobs.size(); ++n) {
    const std::string field = "records[" + std::to_string(n) + "]";
    Reader in(record_blobs[n]);
    if (in.u() != record_format) return Error{field, "unknown format"};
    const std::string owner = in.s();
    auto record = read_record_facts(in, field);
    if (!record) return record.error();
    if (auto placed = place(std::move(*record), impl.customer_of(owner), field); !placed) {
      return placed;
    }
  }
  for (std::size_t n = 0; n < receivable_blobs.size(); ++n) {
    const std::string field = "receivables[" + std::to_string(n) + "]";
    Reader in(receivable_blobs[n]);
    if (in.u() != receivable_format) return Error{field, "unknown format"};
    std::string invoice_id = in.s();
    if (impl.find_invoice(invoice_id) != no_index) {
      return Error{field, "invoice " + invoice_id + " is stored twice"};
    }
    auto r = static_cast<std::uint32_t>(impl.receivables.size());
    Receivable& rv = impl.receivables.emplace_back();
    rv.invoice_id = std::move(invoice_id);
    rv.number = in.s();
    rv.customer = impl.customer_of(in.s());
    rv.currency = in.currency();
    rv.original = in.i();
    rv.issue_date = in.date();
    rv.due_date = in.date();
    rv.version = in.i();
    rv.version_time = in.time();
    rv.version_tiebreak = in.u();
    rv.version_from_update = in.b();
    rv.dunning_level = static_cast<std::uint8_t>(in.u());
    if (in.failed()) return Error{field, "truncated or corrupt blob"};
    impl.invoice_index.insert(rv.invoice_id, r);
    impl.scratch_keys.compute(rv.invoice_id, rv.number);
    impl.index_invoice(r, impl.scratch_keys);
    Customer& cu = impl.customers[rv.customer];
    cu.receivables.push_back(r);
    cu.history.push_back({r, true});
  }
  for (std::uint32_t c = 0; c < impl.customers.size(); ++c) {
    Customer& cu = impl.customers[c];
    std::sort(cu.receivables.begin(), cu.receivables.end(),
              [&](std::uint32_t a, std::uint32_t b) { return impl.invoice_less(a, b); });
    std::sort(cu.history.begin(), cu.history.end(),
              [&](HistoryItem a, HistoryItem b) { return impl.item_less(a, b); });
    impl.sync_tails(cu);
    impl.mark_dirty(step, c);
  }
  impl.advance_to(step, utc_date(now));
  (void)impl.finish(step);
  impl.current_step = nullptr;
  return {};
}

bool Engine::loaded_records_inline() const { return impl_->loaded_records_inline; }

}  // namespace relance::core::engine
