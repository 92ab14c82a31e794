#include "core/engine/engine.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <tuple>

#include "core/engine/engine_impl.hpp"
#include "core/engine/references.hpp"

namespace relance::core::engine {
namespace {

constexpr char sep = '\x1f';

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::int32_t day_number(Date date) {
  return static_cast<std::int32_t>(to_sys_days(date).time_since_epoch().count());
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// The id of an alert: hex_id(kind + sep + entity), without building the text.
struct AlertId {
  char text[20];
  AlertId(AlertKind kind, std::string_view entity, std::string_view entity2 = {}) {
    std::uint64_t h = fnv1a(alert_kind_name(kind));
    const char separator[1] = {'\x1f'};
    h = fnv1a(std::string_view(separator, 1), h);
    h = fnv1a(entity, h);
    h = fnv1a(entity2, h);
    std::snprintf(text, sizeof text, "al_%016llx", static_cast<unsigned long long>(h));
  }
  std::string_view view() const { return std::string_view(text, 19); }
};

std::string money_text(std::int64_t amount, Currency currency) {
  return format_decimal(Money{amount, currency}) + " " + std::string(currency.code());
}

template <class T>
void push_unique(std::vector<T>& values, const T& value) {
  if (std::find(values.begin(), values.end(), value) == values.end()) values.push_back(value);
}

void add_amount(std::vector<CurrencyAmount>& totals, Currency currency, std::int64_t amount) {
  for (CurrencyAmount& total : totals) {
    if (total.currency == currency) {
      total.amount += amount;
      return;
    }
  }
  totals.push_back({currency, amount});
}

bool is_money(RecordKind kind) {
  return kind == RecordKind::payment || kind == RecordKind::credit_note;
}

// Between two events of the same identity, the winner: a payment that carries allocations beats
// one that does not (the ERP resolved it), then the later envelope time, then the event identity.
std::tuple<int, Timestamp, const std::string&> version_of(const Record& record) {
  int priority = record.kind == RecordKind::payment && !record.invoices.empty() ? 1 : 0;
  return {priority, record.time, record.source_id};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Names.

std::string_view entry_kind_name(EntryKind kind) {
  static constexpr std::array<std::string_view, 13> names = {
      "payment",          "credit_note",         "payment_reversed", "released",
      "write_off",        "tolerance_write_off", "cancelled",        "dispute_opened",
      "dispute_resolved", "promise_recorded",    "promise_kept",     "plan_agreed",
      "plan_completed"};
  return names[static_cast<std::size_t>(kind)];
}

std::string_view record_kind_name(RecordKind kind) {
  static constexpr std::array<std::string_view, 9> names = {
      "credit_note",    "payment",           "payment_reversal",
      "dispute_opened", "dispute_resolved",  "promise_to_pay",
      "payment_plan",   "invoice_cancelled", "invoice_written_off"};
  return names[static_cast<std::size_t>(kind)];
}

std::string_view hold_reason_name(HoldReason reason) {
  static constexpr std::array<std::string_view, 7> names = {
      "unmatched",   "ambiguous", "awaiting_invoice", "currency_mismatch", "closed_receivable",
      "overpayment", "credit"};
  return names[static_cast<std::size_t>(reason)];
}

std::string_view alert_kind_name(AlertKind kind) {
  static constexpr std::array<std::string_view, 11> names = {"payment.unmatched",
                                                             "payment.ambiguous",
                                                             "payment.over",
                                                             "payment.short",
                                                             "payment.currency_mismatch",
                                                             "payment.on_closed_receivable",
                                                             "invoice.duplicate_number_conflict",
                                                             "payment.reversed",
                                                             "credit_limit.exceeded",
                                                             "promise.broken",
                                                             "payment_plan.instalment_late"};
  return names[static_cast<std::size_t>(kind)];
}

std::string_view severity_name(Severity severity) {
  static constexpr std::array<std::string_view, 3> names = {"info", "warning", "critical"};
  return names[static_cast<std::size_t>(severity)];
}

std::int64_t Record::unapplied() const {
  std::int64_t total = 0;
  for (const Hold& hold : derived.holds) total += hold.amount;
  return total;
}

// An invoice answers to the keys invoice_reference_keys() gives; checked without allocating.
bool answers_to(const Receivable& r, std::string_view key) {
  if (key.size() < 2 || key[1] != ':') return false;
  std::string_view printed = r.number.empty() ? std::string_view(r.invoice_id) : r.number;
  std::string_view want = key.substr(2);
  std::size_t i = 0;
  if (key[0] == 'n') {
    bool alpha = false;
    for (char c : printed) {
      if (!is_digit(c) && !is_alpha(c)) continue;
      if (i >= want.size() || want[i] != upper(c)) return false;
      alpha = alpha || is_alpha(c);
      ++i;
    }
    return alpha && i == want.size();
  }
  if (key[0] == 'd') {
    for (char c : printed) {
      if (!is_digit(c) || (i == 0 && c == '0')) continue;
      if (i >= want.size() || want[i] != c) return false;
      ++i;
    }
    return i > 0 && i == want.size();
  }
  return false;
}

std::string normalized_number(std::string_view number) { return normalize_reference(number); }

// normalized_number(number) == key, without allocating.
bool same_normalized(std::string_view number, std::string_view key) {
  std::size_t i = 0;
  for (char c : number) {
    if (!is_digit(c) && !is_alpha(c)) continue;
    if (i >= key.size() || key[i] != upper(c)) return false;
    ++i;
  }
  return i == key.size();
}

// ---------------------------------------------------------------------------------------------
// Bookkeeping.

void InvoiceKeys::compute(std::string_view invoice_id, std::string_view number) {
  // As invoice_reference_keys(invoice_id, number) and normalized_number(number).
  const std::string_view printed = number.empty() ? invoice_id : number;
  normalized.clear();
  digits.assign("d:");
  bool numeric = true;
  for (char c : printed) {
    if (is_digit(c)) {
      normalized.push_back(c);
      if (digits.size() > 2 || c != '0') digits.push_back(c);
    } else if (is_alpha(c)) {
      normalized.push_back(upper(c));
      numeric = false;
    }
  }
  has_name = !normalized.empty() && !numeric;
  if (has_name) {
    name.assign("n:");
    name += normalized;
    name_tag = FlatIndex::tag_of(name);
  }
  has_digits = digits.size() > 2;
  if (has_digits) digits_tag = FlatIndex::tag_of(digits);
  has_number = !number.empty() && !normalized.empty();
  if (has_number) number_tag = FlatIndex::tag_of(normalized);
}

void Engine::Impl::prefetch_keys(const InvoiceKeys& keys) const {
  if (keys.has_name) reference_index.prefetch(keys.name_tag);
  if (keys.has_digits) reference_index.prefetch(keys.digits_tag);
  if (keys.has_number) number_index.prefetch(keys.number_tag);
}

void Engine::Impl::index_invoice(std::uint32_t r, const InvoiceKeys& keys) {
  if (keys.has_name) reference_index.insert_tag(keys.name_tag, r);
  if (keys.has_digits) reference_index.insert_tag(keys.digits_tag, r);
  if (!keys.has_number) return;
  number_index.insert_tag(keys.number_tag, r);
  number_index.for_each_tag(
      keys.number_tag,
      [&](std::uint32_t v) {
        return v != r && same_normalized(receivables[v].number, keys.normalized);
      },
      [&](std::uint32_t v) {
        receivables[v].number_shared = true;
        receivables[r].number_shared = true;
      });
}

void Engine::Impl::unindex_invoice(std::uint32_t r, const InvoiceKeys& keys) {
  if (keys.has_name) reference_index.erase(keys.name, r);
  if (keys.has_digits) reference_index.erase(keys.digits, r);
  if (keys.has_number) number_index.erase(keys.normalized, r);
}

std::uint32_t Engine::Impl::customer_of(std::string_view id) {
  return customer_of(id, FlatIndex::tag_of(id));
}

std::uint32_t Engine::Impl::customer_of(std::string_view id, std::uint32_t tag) {
  if (std::uint32_t c = find_customer(id, tag); c != no_index) {
    prefetch_customer(c);
    return c;
  }
  auto index = static_cast<std::uint32_t>(customers.size());
  customers.emplace_back().id = std::string(id);
  customer_index.insert_tag(tag, index);
  customer_alerts.emplace_back();
  customer_next.push_back(0);
  return index;
}

// An event about customer c reads the ends of its lists (history, receivables: new items mostly
// go last) and its exposure: request those lines together rather than one miss after another.
void Engine::Impl::prefetch_customer(std::uint32_t c) const {
  const Customer& cu = customers[c];
  if (!cu.history.empty()) __builtin_prefetch(&cu.history.back());
  if (!cu.receivables.empty()) __builtin_prefetch(&cu.receivables.back());
  if (!cu.exposure.empty()) __builtin_prefetch(cu.exposure.data());
}

std::uint32_t Engine::Impl::find_customer(std::string_view customer_id) const {
  return find_customer(customer_id, FlatIndex::tag_of(customer_id));
}

std::uint32_t Engine::Impl::find_customer(std::string_view customer_id, std::uint32_t tag) const {
  return customer_index.find_first_tag(
      tag, [&](std::uint32_t v) { return customers[v].id == customer_id; });
}

std::uint32_t Engine::Impl::find_record(std::string_view identity) const {
  return find_record(identity, FlatIndex::tag_of(identity));
}

std::uint32_t Engine::Impl::find_record(std::string_view identity, std::uint32_t tag) const {
  return identity_index.find_first_tag(
      tag, [&](std::uint32_t v) { return records[v].identity == identity; });
}

std::uint32_t Engine::Impl::find_invoice(std::string_view invoice_id) const {
  return find_invoice(invoice_id, FlatIndex::tag_of(invoice_id));
}

std::uint32_t Engine::Impl::find_invoice(std::string_view invoice_id, std::uint32_t tag) const {
  return invoice_index.find_first_tag(
      tag, [&](std::uint32_t v) { return receivables[v].invoice_id == invoice_id; });
}

void Engine::Impl::touch_receivable(Step& step, std::uint32_t r) {
  if (receivable_touched.size() <= r) receivable_touched.resize(receivables.size(), 0);
  if (receivable_touched[r]) return;
  receivable_touched[r] = 1;
  step.receivables.push_back(r);
}

void Engine::Impl::touch_customer(Step& step, std::uint32_t c) {
  if (customer_touched.size() <= c) customer_touched.resize(customers.size(), 0);
  if (customer_touched[c]) return;
  customer_touched[c] = 1;
  step.customers.push_back(c);
}

void Engine::Impl::touch_customer_records(Step& step, std::uint32_t c) {
  touch_customer(step, c);
  customer_touched[c] = std::max<std::uint8_t>(customer_touched[c], 2);
}

void Engine::Impl::touch_customer_blob(Step& step, std::uint32_t c) {
  touch_customer(step, c);
  customer_touched[c] = 3;
}

void Engine::Impl::touch_record(Step& step, std::uint32_t rec) {
  if (record_touched.size() <= rec) record_touched.resize(records.size(), 0);
  if (record_touched[rec]) return;
  record_touched[rec] = 1;
  step.records.push_back(rec);
}

void Engine::Impl::mark_full(Step& step, std::uint32_t c) {
  touch_customer(step, c);
  if (customer_full.size() <= c) customer_full.resize(customers.size(), 0);
  if (customer_full[c]) return;
  customer_full[c] = 1;
  step.full.push_back(c);
}

void Engine::Impl::mark_dirty(Step& step, std::uint32_t c) {
  mark_full(step, c);
  if (customer_dirty.size() <= c) customer_dirty.resize(customers.size(), 0);
  if (customer_dirty[c]) return;
  customer_dirty[c] = 1;
  step.dirty.push_back(c);
}

std::pair<std::int32_t, std::int32_t> Engine::Impl::item_rank(HistoryItem item) const {
  if (item.invoice) return {day_number(receivables[item.index].issue_date), 0};
  const Record& rec = records[item.index];
  return {day_number(rec.date), 1 + static_cast<std::int32_t>(rec.kind)};
}

bool Engine::Impl::item_less(HistoryItem a, HistoryItem b) const {
  const auto rank_a = item_rank(a);
  const auto rank_b = item_rank(b);
  if (rank_a != rank_b) return rank_a < rank_b;
  auto identity = [&](HistoryItem item) {
    return item.invoice ? std::string_view(receivables[item.index].invoice_id)
                        : std::string_view(records[item.index].identity);
  };
  return natural_less(identity(a), identity(b));
}

void Engine::Impl::sync_tails(Customer& cu) const {
  if (!cu.history.empty()) {
    std::tie(cu.history_tail_day, cu.history_tail_rank) = item_rank(cu.history.back());
  }
  if (cu.receivables.empty()) {
    cu.last_invoice_id.clear();
  } else {
    cu.last_invoice_id = receivables[cu.receivables.back()].invoice_id;
  }
}

void Engine::Impl::history_insert(Step& step, std::uint32_t c, HistoryItem item) {
  Customer& cu = customers[c];
  if (cu.history.empty()) touch_customer_blob(step, c);  // its first row
  if (item.invoice) {
    receivables[item.index].folded = false;
  } else {
    records[item.index].derived = {};
    records[item.index].customer = c;
    touch_record(step, item.index);
  }
  // Events mostly come in date order: try the end first, on the cached key of the last item (its
  // identity read only on a tie of day and rank), not log n misses.
  const std::pair<std::int32_t, std::int32_t> rank = item_rank(item);
  const std::pair<std::int32_t, std::int32_t> tail{cu.history_tail_day, cu.history_tail_rank};
  const bool last =
      cu.history.empty() || tail < rank || (tail == rank && item_less(cu.history.back(), item));
  auto pos = last ? cu.history.end()
                  : std::lower_bound(cu.history.begin(), cu.history.end(), item,
                                     [&](HistoryItem a, HistoryItem b) { return item_less(a, b); });
  auto offset = static_cast<std::size_t>(pos - cu.history.begin());
  cu.history.insert(pos, item);
  if (last) std::tie(cu.history_tail_day, cu.history_tail_rank) = rank;
  touch_customer(step, c);
  if (offset >= cu.folded) return;
  // Sorting before something already folded: the fold from that point on is wrong, unless the
  // item is an invoice that nothing folded after it would have met (a new open item changes how a
  // later payment is matched, and may take money in suspense): only invoices after it, or
  // folds_alone().
  const bool refold_due = customer_dirty.size() > c && customer_dirty[c];
  if (item.invoice && !refold_due &&
      (offset >= cu.invoices_only_from || folds_alone(c, offset, item.index))) {
    if (offset < cu.invoices_only_from) ++cu.invoices_only_from;
    ++cu.folded;
    fold_invoice(step, c, item.index);
  } else {
    mark_dirty(step, c);
  }
}

bool Engine::Impl::folds_alone(std::uint32_t c, std::size_t offset, std::uint32_t r) const {
  const Customer& cu = customers[c];
  if (!cu.waiting.empty() || !cu.suspense.empty() || offset < cu.held_money_until) return false;
  const Receivable& rv = receivables[r];
  // The items folded after it: cu.history[offset] is the invoice, the folded part one longer.
  for (std::size_t i = offset + 1; i <= cu.folded; ++i) {
    const HistoryItem item = cu.history[i];
    if (item.invoice) continue;
    const Record& record = records[item.index];
    if (!is_money(record.kind) || !record.derived.holds.empty() || record.derived.by_amount) {
      return false;
    }
    for (const std::string& key : record.references) {
      if (answers_to(rv, key)) return false;
    }
    if (std::find(record.invoices.begin(), record.invoices.end(), rv.invoice_id) !=
        record.invoices.end()) {
      return false;
    }
    for (const Applied& applied : record.derived.applied) {
      if (applied.receivable == r) return false;
    }
  }
  return true;
}

void Engine::Impl::history_erase(Step& step, std::uint32_t c, HistoryItem item) {
  Customer& cu = customers[c];
  auto pos = std::find(cu.history.begin(), cu.history.end(), item);
  RELANCE_ASSERT(pos != cu.history.end());
  cu.history.erase(pos);
  sync_tails(cu);
  if (!item.invoice) touch_customer_records(step, c);
  mark_dirty(step, c);
}

// ---------------------------------------------------------------------------------------------
// Events in.

void Engine::Impl::on_invoice(Step& step, const Event& event, const InvoiceData& data) {
  const bool is_update = event.type == EventType::invoice_updated;
  const std::int64_t version = data.version.value_or(-1);
  const Timestamp time = event.time.value_or(Timestamp{});
  // fnv1a(source + sep + id), without building the text.
  const std::uint64_t tiebreak =
      fnv1a(event.id, fnv1a(std::string_view(&sep, 1), fnv1a(event.source)));
  const std::string_view number = data.number ? std::string_view(*data.number) : std::string_view();
  // Every index slot this event reads, requested at once so that the misses overlap.
  InvoiceKeys& keys = scratch_keys;
  keys.compute(data.invoice_id, number);
  const std::uint32_t invoice_tag = FlatIndex::tag_of(data.invoice_id);
  const std::uint32_t customer_tag = FlatIndex::tag_of(data.customer_id);
  invoice_index.prefetch(invoice_tag);
  customer_index.prefetch(customer_tag);
  prefetch_keys(keys);

  std::uint32_t r_current = no_index;
  auto touch_number_sharing = [&](const InvoiceKeys& k) {
    if (!k.has_number) return;
    const std::uint32_t self_customer = receivables[r_current].customer;
    number_index.for_each_tag(
        k.number_tag,
        [&](std::uint32_t v) { return same_normalized(receivables[v].number, k.normalized); },
        [&](std::uint32_t v) {
          touch_customer(step, receivables[v].customer);
          // Invoices sharing a number: their conflict alerts span customers.
          if (v != r_current) {
            mark_full(step, receivables[v].customer);
            mark_full(step, self_customer);
          }
        });
  };
  auto rehome_invoice_dependents = [&](std::uint32_t r) {
    if (dependents.empty()) return;
    const Receivable& rv = receivables[r];
    rehome_dependents("i:" + rv.invoice_id);
    for (const std::string& key : invoice_reference_keys(rv.invoice_id, rv.number)) {
      rehome_dependents("r:" + key);
    }
  };

  std::uint32_t r = find_invoice(data.invoice_id, invoice_tag);
  r_current = r;
  bool moved = false;
  if (r == no_index) {
    r = static_cast<std::uint32_t>(receivables.size());
    r_current = r;
    receivables.emplace_back().invoice_id = data.invoice_id;
    invoice_index.insert_tag(invoice_tag, r);
  } else {
    const Receivable& old = receivables[r];
    if (std::tie(version, is_update, time, tiebreak) <=
        std::tie(old.version, old.version_from_update, old.version_time, old.version_tiebreak)) {
      return;  // an older or the same version
    }
    moved = true;
    InvoiceKeys& old_keys = scratch_old_keys;
    old_keys.compute(old.invoice_id, old.number);
    touch_number_sharing(old_keys);
    unindex_invoice(r, old_keys);
    history_erase(step, old.customer, {r, true});
    Customer& previous = customers[old.customer];
    previous.receivables.erase(
        std::find(previous.receivables.begin(), previous.receivables.end(), r));
    sync_tails(previous);
  }
  const std::uint32_t c = customer_of(data.customer_id, customer_tag);
  // A new version: what the receivable added to its customer's aggregates is stale.
  if (moved) mark_full(step, c);
  Receivable& rv = receivables[r];
  rv.number = number;
  rv.customer = c;
  rv.currency = data.amount.currency;
  rv.original = data.amount.minor_units;
  rv.issue_date = data.issue_date;
  rv.due_date = data.due_date;
  rv.version = version;
  rv.version_time = time;
  rv.version_tiebreak = tiebreak;
  rv.version_from_update = is_update;
  index_invoice(r, keys);
  Customer& cu = customers[c];
  // ERPs number invoices in sequence: in natural order most go last (one comparison with the
  // cached id of the last one, not log n misses).
  if (cu.receivables.empty() || natural_less(cu.last_invoice_id, rv.invoice_id)) {
    cu.receivables.push_back(r);
    cu.last_invoice_id = rv.invoice_id;
  } else {
    cu.receivables.insert(
        std::lower_bound(cu.receivables.begin(), cu.receivables.end(), r,
                         [&](std::uint32_t a, std::uint32_t b) { return invoice_less(a, b); }),
        r);
  }
  history_insert(step, c, {r, true});
  touch_receivable(step, r);
  touch_number_sharing(keys);
  step.changed = true;
  rehome_invoice_dependents(r);
}

void Engine::Impl::on_customer(Step& step, const Event& event, const CustomerUpserted& data) {
  const Timestamp time = event.time.value_or(Timestamp{});
  const std::uint64_t tiebreak = fnv1a(event.source + sep + event.id);
  const std::uint32_t c = customer_of(data.customer_id);
  CustomerProfile& profile = customers[c].profile;
  if (profile.known && std::tie(time, tiebreak) <= std::tie(profile.time, profile.tiebreak)) {
    return;
  }
  profile.known = true;
  profile.name = data.name;
  profile.emails = data.emails;
  profile.language = data.language.value_or("");
  profile.timezone = data.timezone.value_or("");
  profile.segment = data.segment.value_or("");
  profile.crm_id = data.crm_id.value_or("");
  profile.credit_limit = data.credit_limit;
  profile.time = time;
  profile.tiebreak = tiebreak;
  mark_full(step, c);
  touch_customer_blob(step, c);
  step.changed = true;
}

// What a record's home depends on when its event names no customer.
void Engine::Impl::add_dependencies(std::uint32_t rec) {
  const Record& record = records[rec];
  if (!record.customer_id.empty()) return;
  auto add = [&](std::string key) { dependents.emplace(std::move(key), rec); };
  switch (record.kind) {
    case RecordKind::payment:
      if (!record.invoices.empty()) {
        add("i:" + record.invoices.front());
      } else {
        for (const std::string& key : record.references) add("r:" + key);
      }
      break;
    case RecordKind::payment_reversal:
      add("p:" + record.key);
      break;
    default:
      if (!record.invoices.empty()) add("i:" + record.invoices.front());
      break;
  }
}

std::uint32_t Engine::Impl::compute_home(const Record& record) {
  if (!record.customer_id.empty()) return customer_of(record.customer_id);
  auto customer_of_invoice = [&](std::string_view id) -> std::uint32_t {
    std::uint32_t r = find_invoice(id);
    return r == no_index ? 0 : receivables[r].customer;
  };
  switch (record.kind) {
    case RecordKind::payment: {
      if (!record.invoices.empty()) return customer_of_invoice(record.invoices.front());
      // The first reference that names invoices of exactly one customer; several: unknown.
      for (const std::string& key : record.references) {
        std::uint32_t found = no_index;
        bool several = false;
        reference_index.for_each(
            key, [&](std::uint32_t v) { return answers_to(receivables[v], key); },
            [&](std::uint32_t v) {
              std::uint32_t c = receivables[v].customer;
              if (found != no_index && found != c) several = true;
              found = c;
            });
        if (several) return 0;
        if (found != no_index) return found;
      }
      return 0;
    }
    case RecordKind::payment_reversal: {
      std::uint32_t payment =
          find_record(std::string(record_kind_name(RecordKind::payment)) + sep + record.key);
      return payment == no_index ? 0 : records[payment].customer;
    }
    default:
      return record.invoices.empty() ? 0 : customer_of_invoice(record.invoices.front());
  }
}

void Engine::Impl::rehome_dependents(const std::string& key) {
  if (dependents.empty()) return;
  auto [begin, end] = dependents.equal_range(key);
  if (begin == end) return;
  std::vector<std::uint32_t> affected;
  for (auto it = begin; it != end; ++it) affected.push_back(it->second);
  for (std::uint32_t rec : affected) rehome(*current_step, rec);
}

void Engine::Impl::rehome(Step& step, std::uint32_t rec) {
  std::uint32_t home = compute_home(records[rec]);
  std::uint32_t current = records[rec].customer;
  if (home == current) return;
  history_erase(step, current, {rec, false});
  history_insert(step, home, {rec, false});
  mark_dirty(step, home);
  if (records[rec].kind == RecordKind::payment) rehome_dependents("p:" + records[rec].key);
}

void Engine::Impl::on_record(Step& step, Record incoming) {
  // The index slots this event will read, requested at once so that the misses overlap.
  const std::uint32_t identity_tag = FlatIndex::tag_of(incoming.identity);
  identity_index.prefetch(identity_tag);
  if (!incoming.customer_id.empty()) {
    customer_index.prefetch(FlatIndex::tag_of(incoming.customer_id));
  }
  for (const std::string& key : incoming.references) {
    reference_index.prefetch(FlatIndex::tag_of(key));
  }
  std::uint32_t rec;
  bool reused = false;
  if (std::uint32_t found = find_record(incoming.identity, identity_tag); found != no_index) {
    rec = found;
    reused = true;
    Record& old = records[rec];
    if (version_of(incoming) <= version_of(old)) return;  // a duplicate or a losing version
    history_erase(step, old.customer, {rec, false});
    // Its dependencies were computed from the old inputs.
    for (auto dep = dependents.begin(); dep != dependents.end();) {
      dep = dep->second == rec ? dependents.erase(dep) : std::next(dep);
    }
    old = std::move(incoming);
  } else {
    rec = static_cast<std::uint32_t>(records.size());
    records.push_back(std::move(incoming));
    identity_index.insert_tag(identity_tag, rec);
  }
  add_dependencies(rec);
  const std::uint32_t home = compute_home(records[rec]);
  history_insert(step, home, {rec, false});
  if (reused) mark_full(step, home);  // its old alerts and holds were another fold's
  step.changed = true;
  if (records[rec].kind == RecordKind::payment) rehome_dependents("p:" + records[rec].key);
}

// ---------------------------------------------------------------------------------------------
// The fold.

void reset_receivable(Receivable& rv) {
  rv.folded = false;
  rv.cancelled = false;
  rv.written_off = false;
  rv.open_disputes = 0;
  rv.base_status = Status::open;
  rv.open = rv.original;
  rv.promise = no_index;
  rv.plan = no_index;
  rv.settled_date = Date{};
  rv.timeline.clear();
}

namespace {

FoldFields fold_fields(const Receivable& rv) {
  return FoldFields{rv.folded,      rv.cancelled,    rv.written_off,  rv.open_disputes,
                    rv.base_status, rv.status,       rv.open,         rv.promise,
                    rv.plan,        rv.settled_date, rv.next_boundary};
}

FoldedState folded_state(std::uint32_t r, const Receivable& rv,
                         std::vector<TimelineEntry>& timelines) {
  const std::size_t begin = timelines.size();
  timelines.insert(timelines.end(), rv.timeline.begin(), rv.timeline.end());
  return FoldedState{r, fold_fields(rv), begin, timelines.size()};
}

bool folds_back_to(const Receivable& rv, const FoldedState& before,
                   const std::vector<TimelineEntry>& timelines) {
  return fold_fields(rv) == before.fields &&
         std::equal(rv.timeline.begin(), rv.timeline.end(),
                    timelines.begin() + static_cast<std::ptrdiff_t>(before.timeline_begin),
                    timelines.begin() + static_cast<std::ptrdiff_t>(before.timeline_end));
}

}  // namespace

void Engine::Impl::refold(Step& step, std::uint32_t c) {
  Customer& cu = customers[c];
  for (std::uint32_t r : cu.receivables) {
    // Untouched so far in this step: as stored (the date's changes are in step.timed).
    if (receivable_touched.size() <= r || !receivable_touched[r]) {
      step.refolded.push_back(folded_state(r, receivables[r], step.refolded_timelines));
    }
    reset_receivable(receivables[r]);
    touch_receivable(step, r);
  }
  for (HistoryItem item : cu.history) {
    if (!item.invoice) records[item.index].derived = {};
  }
  cu.suspense.clear();
  cu.waiting.clear();
  cu.folded = 0;
  cu.invoices_only_from = 0;
  cu.held_money_until = 0;
  fold_pending(step, c);
}

void Engine::Impl::fold_pending(Step& step, std::uint32_t c) {
  Customer& cu = customers[c];
  while (cu.folded < cu.history.size()) {
    HistoryItem item = cu.history[cu.folded++];
    // Incremental evaluation knows what folding an invoice or a payment / credit note touches
    // when nothing waits; anything else is evaluated in full.
    // Folding a record, or an invoice that records wait for or whose money may go to it, changes
    // what the customer's records derive (its credits, among others).
    if (!cu.waiting.empty() || !cu.suspense.empty()) {
      mark_full(step, c);
      touch_customer_records(step, c);
    }
    if (item.invoice) {
      fold_invoice(step, c, item.index);
    } else {
      touch_customer_records(step, c);
      if (!is_money(records[item.index].kind)) mark_full(step, c);
      step.folded_records.push_back(item.index);
      fold_record(step, c, item.index);
    }
    if (!cu.waiting.empty() || !cu.suspense.empty()) {
      cu.invoices_only_from = cu.folded + 1;
      cu.held_money_until = cu.invoices_only_from;
    } else if (!item.invoice) {
      cu.invoices_only_from = cu.folded;
    }
  }
}

std::uint32_t Engine::Impl::folded_invoice(std::uint32_t c, std::string_view invoice_id) const {
  std::uint32_t r = find_invoice(invoice_id);
  if (r == no_index) return no_index;
  const Receivable& rv = receivables[r];
  return rv.customer == c && rv.folded ? r : no_index;
}

void Engine::Impl::trigger(std::uint32_t r, Trigger t) {
  Receivable& rv = receivables[r];
  Transition tr = transition(rv.base_status, t);
  if (tr.target == Target::to) rv.base_status = tr.status;
  if (tr.target == Target::reassess) rv.base_status = reassess(rv, false);
}

// The status a receivable's balance and pauses give (leaving a pause or a settled state).
Status Engine::Impl::reassess(const Receivable& r, bool ignore_promise) const {
  if (r.cancelled) return Status::cancelled;
  if (r.written_off) return Status::written_off;
  if (r.open < 0) return Status::overpaid;
  if (r.open == 0) return Status::paid;
  if (r.open_disputes > 0) return Status::disputed;
  if (r.plan != no_index) return Status::payment_plan;
  if (r.promise != no_index && !ignore_promise) return Status::promised;
  return r.open < r.original ? Status::partially_paid : Status::open;
}

void Engine::Impl::add_hold(std::uint32_t c, std::uint32_t rec, Hold hold) {
  if (hold.amount == 0) return;
  Customer& cu = customers[c];
  Record& record = records[rec];
  if (hold.reason == HoldReason::unmatched || hold.reason == HoldReason::ambiguous) {
    push_unique(cu.suspense, rec);
  }
  if (hold.reason == HoldReason::awaiting_invoice) push_unique(cu.waiting, rec);
  for (Hold& existing : record.derived.holds) {
    if (existing.reason == hold.reason && existing.receivable == hold.receivable &&
        existing.invoice_id == hold.invoice_id) {
      existing.amount += hold.amount;
      return;
    }
  }
  record.derived.holds.push_back(std::move(hold));
}

void Engine::Impl::fold_invoice(Step& step, std::uint32_t c, std::uint32_t r) {
  Receivable& rv = receivables[r];
  reset_receivable(rv);
  rv.folded = true;
  touch_receivable(step, r);
  Customer& cu = customers[c];
  // What waited for this invoice, in canonical order (the lists are filled in fold order).
  std::vector<std::uint32_t> waiting = std::move(cu.waiting);
  cu.waiting.clear();
  for (std::uint32_t rec : waiting) {
    if (fold_on_invoice(step, c, rec)) push_unique(cu.waiting, rec);
  }
  // A new open item may place money in suspense (payment before its invoice).
  std::vector<std::uint32_t> suspense = std::move(cu.suspense);
  cu.suspense.clear();
  std::size_t retried = 0;
  for (std::uint32_t rec : suspense) {
    Record& record = records[rec];
    if (retried++ >= options.suspense_retry_max) {
      cu.suspense.push_back(rec);
      continue;
    }
    std::int64_t amount = 0;
    std::erase_if(record.derived.holds, [&](const Hold& hold) {
      bool retry = hold.reason == HoldReason::unmatched || hold.reason == HoldReason::ambiguous;
      if (retry) amount += hold.amount;
      return retry;
    });
    record.derived.candidates.clear();
    if (amount > 0) match_unallocated(step, c, rec, amount);
  }
}

// Records that wait for an invoice get another chance when one is folded; true: still waiting.
bool Engine::Impl::fold_on_invoice(Step& step, std::uint32_t c, std::uint32_t rec) {
  Record& record = records[rec];
  switch (record.kind) {
    case RecordKind::payment:
    case RecordKind::credit_note: {
      std::vector<Hold> ready;
      std::erase_if(record.derived.holds, [&](const Hold& hold) {
        bool now = hold.reason == HoldReason::awaiting_invoice &&
                   folded_invoice(c, hold.invoice_id) != no_index;
        if (now) ready.push_back(hold);
        return now;
      });
      for (const Hold& hold : ready) allocate(step, c, rec, hold.invoice_id, hold.amount);
      return std::any_of(record.derived.holds.begin(), record.derived.holds.end(),
                         [](const Hold& h) { return h.reason == HoldReason::awaiting_invoice; });
    }
    case RecordKind::payment_reversal:
      return record.derived.deferred;  // waits for its payment, not an invoice
    case RecordKind::promise:
    case RecordKind::payment_plan: {
      bool missing = false;
      for (const std::string& id : record.invoices) {
        std::uint32_t r = folded_invoice(c, id);
        if (r == no_index) {
          missing = true;
        } else {
          cover(step, rec, r);
        }
      }
      record.derived.deferred = missing;
      return missing;
    }
    default:
      if (folded_invoice(c, record.invoices.front()) == no_index) return true;
      record.derived.deferred = false;
      fold_record(step, c, rec);
      return record.derived.deferred;
  }
}

void Engine::Impl::fold_record(Step& step, std::uint32_t c, std::uint32_t rec) {
  Record& record = records[rec];
  record.derived.folded = true;
  Customer& cu = customers[c];
  auto target = [&]() -> std::uint32_t {
    std::uint32_t r =
        record.invoices.empty() ? no_index : folded_invoice(c, record.invoices.front());
    if (r == no_index) {
      record.derived.deferred = true;
      push_unique(cu.waiting, rec);
    } else {
      touch_receivable(step, r);
    }
    return r;
  };
  switch (record.kind) {
    case RecordKind::payment:
    case RecordKind::credit_note:
      fold_money(step, c, rec);
      return;
    case RecordKind::payment_reversal:
      fold_reversal(step, c, rec);
      return;
    case RecordKind::promise:
    case RecordKind::payment_plan:
      if (record.kind == RecordKind::promise && record.invoices.empty()) {
        // A promise on the customer covers what it owes at that point.
        for (std::uint32_t r : cu.receivables) {
          if (receivables[r].folded) cover(step, rec, r);
        }
        return;
      }
      fold_on_invoice(step, c, rec);
      if (record.derived.deferred) push_unique(cu.waiting, rec);
      return;
    case RecordKind::invoice_cancelled: {
      std::uint32_t r = target();
      if (r == no_index) return;
      Receivable& rv = receivables[r];
      if (rv.cancelled) return;
      // The money it had received goes back to the customer's credit.
      std::vector<std::uint32_t> payers;
      for (const TimelineEntry& entry : rv.timeline) {
        if (entry.kind == EntryKind::payment || entry.kind == EntryKind::credit_note) {
          push_unique(payers, entry.record);
        }
      }
      for (std::uint32_t payer : payers) {
        Record& p = records[payer];
        auto applied = std::find_if(p.derived.applied.begin(), p.derived.applied.end(),
                                    [&](const Applied& a) { return a.receivable == r; });
        if (applied == p.derived.applied.end() || applied->amount == 0) continue;
        std::int64_t amount = applied->amount;
        p.derived.applied.erase(applied);
        rv.open += amount;
        rv.timeline.push_back({record.date, EntryKind::released, -amount, payer});
        add_hold(c, payer, {HoldReason::credit, amount, r, {}});
      }
      rv.timeline.push_back({record.date, EntryKind::cancelled, rv.open, rec});
      rv.open = 0;
      rv.cancelled = true;
      trigger(r, Trigger::cancelled);
      return;
    }
    case RecordKind::invoice_written_off: {
      std::uint32_t r = target();
      if (r == no_index) return;
      Receivable& rv = receivables[r];
      if (rv.cancelled || rv.written_off || rv.open <= 0) return;
      std::int64_t amount =
          record.has_amount ? std::min(record.amount.minor_units, rv.open) : rv.open;
      rv.open -= amount;
      rv.timeline.push_back({record.date, EntryKind::write_off, amount, rec});
      if (rv.open == 0) {
        rv.written_off = true;
        trigger(r, Trigger::written_off_fully);
      } else {
        trigger(r, Trigger::written_off_partially);
      }
      return;
    }
    case RecordKind::dispute_opened: {
      std::uint32_t r = target();
      if (r == no_index) return;
      Receivable& rv = receivables[r];
      record.derived.open = true;
      ++rv.open_disputes;
      rv.timeline.push_back({record.date, EntryKind::dispute_opened,
                             record.has_amount ? record.amount.minor_units : 0, rec});
      trigger(r, Trigger::dispute_opened);
      return;
    }
    case RecordKind::dispute_resolved: {
      std::uint32_t r = target();
      if (r == no_index) return;
      Receivable& rv = receivables[r];
      int closed = 0;
      for (std::size_t i = 0; i + 1 < cu.folded; ++i) {
        HistoryItem item = cu.history[i];
        if (item.invoice) continue;
        Record& opened = records[item.index];
        if (opened.kind != RecordKind::dispute_opened || !opened.derived.open ||
            opened.invoices.front() != rv.invoice_id) {
          continue;
        }
        if (!record.note.empty() && opened.note != record.note) continue;
        opened.derived.open = false;
        --rv.open_disputes;
        ++closed;
      }
      if (closed == 0) return;
      rv.timeline.push_back({record.date, EntryKind::dispute_resolved, 0, rec});
      if (rv.open_disputes == 0) trigger(r, Trigger::disputes_resolved);
      return;
    }
  }
}

void Engine::Impl::cover(Step& step, std::uint32_t rec, std::uint32_t r) {
  Record& record = records[rec];
  Receivable& rv = receivables[r];
  if (!Engine::owes(rv)) return;
  if (std::find(record.derived.covered.begin(), record.derived.covered.end(), r) !=
      record.derived.covered.end()) {
    return;
  }
  record.derived.covered.push_back(r);
  touch_receivable(step, r);
  if (record.kind == RecordKind::promise) {
    rv.promise = rec;
    rv.timeline.push_back({record.date, EntryKind::promise_recorded, 0, rec});
    trigger(r, Trigger::promise_recorded);
  } else {
    rv.plan = rec;
    rv.timeline.push_back({record.date, EntryKind::plan_agreed, 0, rec});
    trigger(r, Trigger::plan_agreed);
  }
}

void Engine::Impl::fold_money(Step& step, std::uint32_t c, std::uint32_t rec) {
  Record& record = records[rec];
  std::int64_t remaining = record.amount.minor_units;
  if (!record.invoices.empty()) {
    // Explicit allocations (or the invoice a credit note names) first.
    for (std::size_t i = 0; i < record.invoices.size() && remaining > 0; ++i) {
      std::int64_t amount = std::min(record.amounts[i], remaining);
      if (amount <= 0) continue;
      allocate(step, c, rec, record.invoices[i], amount);
      remaining -= amount;
    }
    if (remaining > 0) {
      add_hold(c, rec,
               {record.kind == RecordKind::payment ? HoldReason::overpayment : HoldReason::credit,
                remaining,
                no_index,
                {}});
    }
  } else if (record.kind == RecordKind::credit_note) {
    // A credit note that names no invoice is a credit balance; it is not guessed onto one.
    add_hold(c, rec, {HoldReason::credit, remaining, no_index, {}});
  } else {
    match_unallocated(step, c, rec, remaining);
  }
  if (record.kind != RecordKind::payment) return;
  // A reversal that sorts before its payment (dates out of step) applies right after it.
  Customer& cu = customers[c];
  for (std::uint32_t w : std::vector<std::uint32_t>(cu.waiting)) {
    Record& waiting = records[w];
    if (waiting.kind == RecordKind::payment_reversal && waiting.derived.deferred &&
        waiting.key == record.key) {
      std::erase(cu.waiting, w);
      waiting.derived.deferred = false;
      fold_reversal(step, c, w);
    }
  }
}

void Engine::Impl::allocate(Step& step, std::uint32_t c, std::uint32_t rec,
                            const std::string& invoice_id, std::int64_t amount) {
  Record& record = records[rec];
  const bool payment = record.kind == RecordKind::payment;
  std::uint32_t r = folded_invoice(c, invoice_id);
  if (r == no_index) {
    add_hold(c, rec, {HoldReason::awaiting_invoice, amount, no_index, invoice_id});
    return;
  }
  touch_receivable(step, r);
  if (receivables[r].currency != record.amount.currency) {
    add_hold(c, rec, {HoldReason::currency_mismatch, amount, r, {}});
    return;
  }
  if (!apply_money(step, rec, r, amount)) {
    add_hold(c, rec, {payment ? HoldReason::closed_receivable : HoldReason::credit, amount, r, {}});
    return;
  }
  if (payment) tolerance_check(step, rec, r);
}

void Engine::Impl::match_unallocated(Step& step, std::uint32_t c, std::uint32_t rec,
                                     std::int64_t amount) {
  Record& record = records[rec];
  Customer& cu = customers[c];
  // 1. An invoice number or structured reference in the remittance information.
  std::vector<std::uint32_t> matched;
  for (const std::string& key : record.references) {
    std::vector<std::uint32_t> found;
    reference_index.for_each(
        key,
        [&](std::uint32_t v) {
          const Receivable& rv = receivables[v];
          return rv.customer == c && rv.folded && answers_to(rv, key);
        },
        [&](std::uint32_t v) { found.push_back(v); });
    std::sort(found.begin(), found.end(),
              [&](std::uint32_t a, std::uint32_t b) { return invoice_less(a, b); });
    for (std::uint32_t v : found) push_unique(matched, v);
  }
  if (!matched.empty()) {
    std::vector<std::uint32_t> usable;
    for (std::uint32_t r : matched) {
      const Receivable& rv = receivables[r];
      touch_receivable(step, r);
      if (rv.currency == record.amount.currency && Engine::owes(rv) &&
          transition(rv.base_status, Trigger::settlement_offered).target != Target::refuse) {
        usable.push_back(r);
      }
    }
    if (usable.empty()) {
      auto same = std::find_if(matched.begin(), matched.end(), [&](std::uint32_t r) {
        return receivables[r].currency == record.amount.currency;
      });
      if (same != matched.end()) {
        add_hold(c, rec, {HoldReason::closed_receivable, amount, *same, {}});
      } else {
        add_hold(c, rec, {HoldReason::currency_mismatch, amount, matched.front(), {}});
      }
      return;
    }
    std::int64_t remaining = amount;
    std::uint32_t last = no_index;
    for (std::uint32_t r : usable) {
      if (remaining == 0) break;
      std::int64_t part = std::min(remaining, receivables[r].open);
      apply_money(step, rec, r, part);
      remaining -= part;
      last = r;
    }
    if (record.kind == RecordKind::payment && last != no_index) {
      tolerance_check(step, rec, last);
      if (Engine::owes(receivables[last])) {
        push_unique(record.derived.short_on, last);
        mark_full(step, c);
      }
    }
    if (remaining > 0) add_hold(c, rec, {HoldReason::overpayment, remaining, last, {}});
    return;
  }
  // 2. A unique open item of exactly that amount; several: no guess.
  record.derived.by_amount = true;
  std::vector<std::uint32_t> candidates;
  for (std::uint32_t r : cu.receivables) {
    const Receivable& rv = receivables[r];
    if (rv.currency == record.amount.currency && Engine::owes(rv) && rv.open == amount &&
        transition(rv.base_status, Trigger::settlement_offered).target != Target::refuse) {
      candidates.push_back(r);
    }
  }
  if (candidates.size() == 1) {
    apply_money(step, rec, candidates.front(), amount);
    return;
  }
  // 3. Suspense: the money waits on the customer's account.
  if (candidates.size() > 1) {
    record.derived.candidates = candidates;
    add_hold(c, rec, {HoldReason::ambiguous, amount, no_index, {}});
  } else {
    add_hold(c, rec, {HoldReason::unmatched, amount, no_index, {}});
  }
}

bool Engine::Impl::apply_money(Step& step, std::uint32_t rec, std::uint32_t r,
                               std::int64_t amount) {
  Receivable& rv = receivables[r];
  if (transition(rv.base_status, Trigger::settlement_offered).target == Target::refuse) {
    return false;
  }
  Record& record = records[rec];
  rv.open -= amount;
  rv.timeline.push_back(
      {record.date,
       record.kind == RecordKind::credit_note ? EntryKind::credit_note : EntryKind::payment, amount,
       rec});
  auto applied = std::find_if(record.derived.applied.begin(), record.derived.applied.end(),
                              [&](const Applied& a) { return a.receivable == r; });
  if (applied == record.derived.applied.end()) {
    record.derived.applied.push_back({r, amount, 0});
  } else {
    applied->amount += amount;
  }
  trigger(r, rv.open < 0    ? Trigger::settled_over
             : rv.open == 0 ? Trigger::settled_fully
                            : Trigger::settled_partially);
  if (rv.open <= 0) {
    if (!rv.settled_date.ok()) rv.settled_date = record.date;
  } else {
    rv.settled_date = Date{};
  }
  touch_receivable(step, r);
  after_money(step, r, record.date, amount);
  return true;
}

void Engine::Impl::tolerance_check(Step& step, std::uint32_t rec, std::uint32_t r) {
  Receivable& rv = receivables[r];
  if (!Engine::owes(rv)) return;
  std::int64_t tolerance = 0;
  for (const Money& m : options.write_off_tolerance) {
    if (m.currency == rv.currency) tolerance = m.minor_units;
  }
  if (rv.open > tolerance) return;
  Record& record = records[rec];
  std::int64_t amount = rv.open;
  rv.open = 0;
  rv.timeline.push_back({record.date, EntryKind::tolerance_write_off, amount, rec});
  for (Applied& a : record.derived.applied) {
    if (a.receivable == r) a.written_off += amount;
  }
  trigger(r, Trigger::settled_fully);
  if (!rv.settled_date.ok()) rv.settled_date = record.date;
  touch_receivable(step, r);
  after_money(step, r, record.date, amount);
}

// Money on a receivable counts towards the promise and the plan that cover it.
void Engine::Impl::after_money(Step& step, std::uint32_t r, Date date, std::int64_t amount) {
  Receivable& rv = receivables[r];
  if (rv.promise != no_index || rv.plan != no_index) mark_full(step, rv.customer);
  auto all_settled = [&](const Record& record) {
    return std::none_of(record.derived.covered.begin(), record.derived.covered.end(),
                        [&](std::uint32_t s) { return Engine::owes(receivables[s]); });
  };
  if (rv.promise != no_index) {
    std::uint32_t p = rv.promise;
    Record& promise = records[p];
    if (!promise.derived.kept && date <= promise.deadline(options.promise_grace_days)) {
      promise.derived.paid += amount;
      if (promise.derived.paid >= promise.amount.minor_units || all_settled(promise)) {
        keep_promise(step, p, date);
      }
    }
  }
  if (rv.plan != no_index) {
    std::uint32_t p = rv.plan;
    Record& plan = records[p];
    if (!plan.derived.kept) {
      plan.derived.paid += amount;
      std::int64_t total = 0;
      for (std::int64_t a : plan.amounts) total += a;
      if (plan.derived.paid >= total || all_settled(plan)) complete_plan(step, p, date);
    }
  }
}

void Engine::Impl::keep_promise(Step& step, std::uint32_t p, Date date) {
  Record& promise = records[p];
  promise.derived.kept = true;
  for (std::uint32_t r : promise.derived.covered) {
    Receivable& rv = receivables[r];
    if (rv.promise != p) continue;
    rv.promise = no_index;
    rv.timeline.push_back({date, EntryKind::promise_kept, 0, p});
    trigger(r, Trigger::promise_kept);
    touch_receivable(step, r);
  }
}

void Engine::Impl::complete_plan(Step& step, std::uint32_t p, Date date) {
  Record& plan = records[p];
  plan.derived.kept = true;
  for (std::uint32_t r : plan.derived.covered) {
    Receivable& rv = receivables[r];
    if (rv.plan != p) continue;
    rv.plan = no_index;
    rv.timeline.push_back({date, EntryKind::plan_completed, 0, p});
    trigger(r, Trigger::plan_completed);
    touch_receivable(step, r);
  }
}

void Engine::Impl::fold_reversal(Step& step, std::uint32_t c, std::uint32_t rec) {
  Record& reversal = records[rec];
  Customer& cu = customers[c];
  const std::uint32_t paid_by =
      find_record(std::string(record_kind_name(RecordKind::payment)) + sep + reversal.key);
  if (paid_by == no_index || records[paid_by].customer != c || !records[paid_by].derived.folded) {
    reversal.derived.deferred = true;
    push_unique(cu.waiting, rec);
    return;
  }
  Record& payment = records[paid_by];
  if (payment.derived.reversed) return;
  for (const Applied& a : payment.derived.applied) {
    Receivable& rv = receivables[a.receivable];
    std::int64_t back = a.amount + a.written_off;
    if (back == 0) continue;
    rv.open += back;
    rv.timeline.push_back({reversal.date, EntryKind::payment_reversed, -back, rec});
    trigger(a.receivable, Trigger::settlement_removed);
    if (rv.open > 0) rv.settled_date = Date{};
    if (Engine::owes(rv)) push_unique(reversal.derived.reopened, a.receivable);
    touch_receivable(step, a.receivable);
  }
  payment.derived.reversed = true;
  payment.derived.applied.clear();
  payment.derived.holds.clear();
  payment.derived.candidates.clear();
  payment.derived.short_on.clear();
  std::erase(cu.suspense, paid_by);
  std::erase(cu.waiting, paid_by);
}

// ---------------------------------------------------------------------------------------------
// Time, aggregates, alerts.

bool Engine::Impl::promise_expired(const Record& promise) const {
  return !promise.derived.kept && today > promise.deadline(options.promise_grace_days);
}

bool Engine::Impl::instalment_late(const Record& plan, Date date) const {
  if (plan.derived.kept) return false;
  std::int64_t cumulative = 0;
  for (std::size_t i = 0; i < plan.amounts.size() && i < plan.dates.size(); ++i) {
    cumulative += plan.amounts[i];
    if (plan.derived.paid < cumulative &&
        date > add_days(plan.dates[i], options.instalment_grace_days)) {
      return true;
    }
  }
  return false;
}

void Engine::Impl::evaluate_receivable(std::uint32_t r) {
  Receivable& rv = receivables[r];
  Status s = rv.base_status;
  auto apply = [&](Trigger t, bool ignore_promise) {
    Transition tr = transition(s, t);
    if (tr.target == Target::to) s = tr.status;
    if (tr.target == Target::reassess) s = reassess(rv, ignore_promise);
  };
  if (rv.folded) {
    if (s == Status::promised && rv.promise != no_index && promise_expired(records[rv.promise])) {
      apply(Trigger::promise_expired, true);
    }
    if (s == Status::payment_plan && rv.plan != no_index &&
        instalment_late(records[rv.plan], today)) {
      apply(Trigger::instalment_late, false);
    }
    if (today > rv.due_date) apply(Trigger::due_date_passed, false);
  }
  rv.status = s;
  Date next{};
  auto consider = [&](Date d) {
    if (d > today && (!next.ok() || d < next)) next = d;
  };
  if (rv.folded && !is_closed(rv.base_status)) {
    consider(add_days(rv.due_date, 1));
    if (rv.promise != no_index && !records[rv.promise].derived.kept) {
      consider(add_days(records[rv.promise].deadline(options.promise_grace_days), 1));
    }
    if (rv.plan != no_index && !records[rv.plan].derived.kept) {
      for (Date d : records[rv.plan].dates) {
        consider(add_days(d, options.instalment_grace_days + 1));
      }
    }
  }
  if (next.ok() && next != rv.next_boundary) receivable_boundaries.push({day_number(next), r});
  rv.next_boundary = next;
}

void Engine::Impl::evaluate_customer(Step& step, std::uint32_t c) {
  Customer& cu = customers[c];
  Date next{};
  auto consider = [&](Date d) {
    if (d.ok() && d > today && (!next.ok() || d < next)) next = d;
  };
  cu.exposure.clear();
  cu.unapplied.clear();
  cu.days_late_sum = 0;
  cu.settled_count = 0;
  cu.promises_kept = 0;
  cu.promises_broken = 0;
  bool complex = false;
  for (std::uint32_t r : cu.receivables) {
    Receivable& rv = receivables[r];
    Status before = rv.status;
    evaluate_receivable(r);
    if (rv.status != before) touch_receivable(step, r);
    set_contribution(r);
    if (contrib_open[r] != 0) add_amount(cu.exposure, rv.currency, contrib_open[r]);
    if (contrib_late[r] >= 0) {
      cu.days_late_sum += contrib_late[r];
      ++cu.settled_count;
    }
  }
  for (HistoryItem item : cu.history) {
    if (item.invoice) continue;
    const Record& record = records[item.index];
    // Alerts or statuses that depend on other entities' state.
    complex = complex || !record.derived.short_on.empty() || !record.derived.reopened.empty() ||
              !record.derived.covered.empty();
    if (is_money(record.kind)) {
      for (const Hold& hold : record.derived.holds) {
        add_amount(cu.unapplied, record.amount.currency, hold.amount);
      }
    }
    // A late instalment raises an alert even when what the plan covers is closed meanwhile.
    if (record.kind == RecordKind::payment_plan && !record.derived.covered.empty() &&
        !record.derived.kept) {
      for (Date d : record.dates) consider(add_days(d, options.instalment_grace_days + 1));
    }
    if (record.kind == RecordKind::promise && !record.derived.covered.empty()) {
      if (record.derived.kept) {
        ++cu.promises_kept;
      } else if (promise_expired(record)) {
        ++cu.promises_broken;
      } else {
        consider(add_days(record.deadline(options.promise_grace_days), 1));
      }
    }
  }
  auto by_code = [](const CurrencyAmount& a, const CurrencyAmount& b) {
    return a.currency < b.currency;
  };
  std::sort(cu.exposure.begin(), cu.exposure.end(), by_code);
  std::sort(cu.unapplied.begin(), cu.unapplied.end(), by_code);
  if (next.ok() && day_number(next) != customer_next[c]) {
    customer_next[c] = day_number(next);
    boundaries.push({day_number(next), c});
  }
  if (!next.ok()) customer_next[c] = 0;
  if (customer_complex.size() <= c) customer_complex.resize(customers.size(), 0);
  customer_complex[c] = complex ? 1 : 0;
}

// What receivable r adds to its customer's exposure and days late.
void Engine::Impl::set_contribution(std::uint32_t r) {
  if (contrib_open.size() <= r) {
    contrib_open.resize(receivables.size(), 0);
    contrib_late.resize(receivables.size(), -1);
  }
  const Receivable& rv = receivables[r];
  contrib_open[r] = Engine::owes(rv) ? rv.open : 0;
  std::optional<int> late = Engine::days_late(rv);
  contrib_late[r] = late ? static_cast<std::int32_t>(*late) : -1;
}

// evaluate_customer() for a step that only folded, at the end of c's history, invoices and
// payments / credit notes touching c's own receivables (no promise, plan, reversal, short
// payment or waiting record involved, no time boundary crossed): only the touched receivables
// and the new records can change statuses, aggregates or the next boundary.
void Engine::Impl::evaluate_incremental(Step& step, std::uint32_t c) {
  Customer& cu = customers[c];
  if (contrib_open.size() < receivables.size()) {
    contrib_open.resize(receivables.size(), 0);
    contrib_late.resize(receivables.size(), -1);
  }
  auto by_code = [](const CurrencyAmount& a, const CurrencyAmount& b) {
    return a.currency < b.currency;
  };
  auto add_exposure = [&](Currency currency, std::int64_t amount) {
    auto it = std::lower_bound(cu.exposure.begin(), cu.exposure.end(), CurrencyAmount{currency, 0},
                               by_code);
    if (it == cu.exposure.end() || it->currency != currency) {
      it = cu.exposure.insert(it, CurrencyAmount{currency, 0});
    }
    it->amount += amount;
    // Owed amounts are positive: a currency nothing is owed in has no entry.
    if (it->amount == 0) cu.exposure.erase(it);
  };
  for (std::size_t i = 0; i < step.receivables.size(); ++i) {
    const std::uint32_t r = step.receivables[i];
    Receivable& rv = receivables[r];
    if (rv.customer != c) continue;
    const std::int64_t old_open = contrib_open[r];
    const std::int32_t old_late = contrib_late[r];
    evaluate_receivable(r);  // already touched: a status change needs no more bookkeeping
    set_contribution(r);
    if (old_open != contrib_open[r]) {
      if (old_open != 0) add_exposure(rv.currency, -old_open);
      if (contrib_open[r] != 0) add_exposure(rv.currency, contrib_open[r]);
    }
    if (old_late >= 0) {
      cu.days_late_sum -= old_late;
      --cu.settled_count;
    }
    if (contrib_late[r] >= 0) {
      cu.days_late_sum += contrib_late[r];
      ++cu.settled_count;
    }
  }
  bool added = false;
  for (std::uint32_t rec : step.folded_records) {
    const Record& record = records[rec];
    if (record.customer != c || !is_money(record.kind)) continue;
    for (const Hold& hold : record.derived.holds) {
      std::size_t before = cu.unapplied.size();
      add_amount(cu.unapplied, record.amount.currency, hold.amount);
      added = added || cu.unapplied.size() != before;
    }
  }
  if (added) std::sort(cu.unapplied.begin(), cu.unapplied.end(), by_code);
  // Time boundaries: the receivables' own (evaluate_receivable); a customer with a pending
  // promise is complex, evaluated in full, so customer_next is not this path's.
}

void Engine::Impl::advance_to(Step& step, Date date) {
  if (has_today && date <= today) return;
  today = date;
  has_today = true;
  const std::int32_t day = day_number(date);
  if (customer_complex.size() < customers.size()) customer_complex.resize(customers.size(), 0);
  // A receivable whose day came: its status as of the new date. Its customer's aggregates do not
  // depend on the date (exposure and days late come from the balance), nor do the alerts of a
  // customer that is not complex (no promise, plan, reversal or short payment): re-evaluating
  // that receivable is enough. The customer is still reported (its view has an as-of date:
  // oldest overdue, aging). A complex customer is evaluated in full.
  while (!receivable_boundaries.empty() && receivable_boundaries.top().first <= day) {
    auto [when, r] = receivable_boundaries.top();
    receivable_boundaries.pop();
    Receivable& rv = receivables[r];
    if (!rv.next_boundary.ok() || day_number(rv.next_boundary) != when) continue;  // stale
    const std::uint32_t c = rv.customer;
    if (customer_complex[c]) {
      mark_full(step, c);
      continue;
    }
    const Status before = rv.status;
    evaluate_receivable(r);
    // Touched in finish(), after the check of shared numbers: a status is not part of them.
    if (rv.status != before) step.timed.push_back(r);
    touch_customer(step, c);
  }
  while (!boundaries.empty() && boundaries.top().first <= day) {
    auto [when, c] = boundaries.top();
    boundaries.pop();
    if (customer_next[c] == when) {
      customer_next[c] = 0;
      mark_full(step, c);
    }
  }
}

// Every alert the state of customer c makes true, as of today.
namespace {

Alert& make_alert(std::vector<Alert>& out, const Customer& cu, AlertKind kind, Severity severity,
                  std::string_view entity, std::string_view entity2 = {}) {
  Alert& alert = out.emplace_back();
  alert.id = std::string(AlertId(kind, entity, entity2).view());
  alert.kind = kind;
  alert.severity = severity;
  alert.customer_id = cu.id;
  return alert;
}

std::string who_of(const Customer& cu) {
  return cu.id.empty() ? std::string("an unknown customer") : "customer " + cu.id;
}

}  // namespace

void Engine::Impl::customer_alerts_of(std::uint32_t c, std::vector<Alert>& out) const {
  const Customer& cu = customers[c];
  for (HistoryItem item : cu.history) {
    if (!item.invoice) record_alerts_of(cu, records[item.index], out);
  }
  for (std::uint32_t r : cu.receivables) receivable_alerts_of(cu, r, out);
  credit_alerts_of(cu, out);
}

// The alerts a record of customer cu makes true.
void Engine::Impl::record_alerts_of(const Customer& cu, const Record& record,
                                    std::vector<Alert>& out) const {
  auto make = [&](AlertKind kind, Severity severity, std::string_view entity) -> Alert& {
    return make_alert(out, cu, kind, severity, entity);
  };
  {
    if (!record.derived.folded) return;
    const Currency currency = record.amount.currency;
    if (record.kind == RecordKind::payment && !record.derived.reversed) {
      std::int64_t unmatched = 0, ambiguous = 0, mismatch = 0, closed = 0, over = 0;
      std::vector<std::string> awaiting, mismatch_ids, closed_ids, over_ids;
      for (const Hold& hold : record.derived.holds) {
        switch (hold.reason) {
          case HoldReason::unmatched:
            unmatched += hold.amount;
            break;
          case HoldReason::awaiting_invoice:
            unmatched += hold.amount;
            push_unique(awaiting, hold.invoice_id);
            break;
          case HoldReason::ambiguous:
            ambiguous += hold.amount;
            break;
          case HoldReason::currency_mismatch:
            mismatch += hold.amount;
            push_unique(mismatch_ids, receivables[hold.receivable].invoice_id);
            break;
          case HoldReason::closed_receivable:
            closed += hold.amount;
            push_unique(closed_ids, receivables[hold.receivable].invoice_id);
            break;
          case HoldReason::overpayment:
            over += hold.amount;
            if (hold.receivable != no_index) {
              push_unique(over_ids, receivables[hold.receivable].invoice_id);
            }
            break;
          case HoldReason::credit:
            break;
        }
      }
      const std::string who = unmatched > 0 || over > 0 ? who_of(cu) : std::string();
      if (unmatched > 0) {
        Alert& a = make(AlertKind::payment_unmatched, Severity::warning, record.identity);
        a.payment_id = record.key;
        a.amount = Money{unmatched, currency};
        a.invoice_ids = awaiting;
        a.message = awaiting.empty()
                        ? "payment " + record.key + " of " + money_text(unmatched, currency) +
                              " matches no open invoice of " + who + ": held in suspense"
                        : "payment " + record.key + " allocates " +
                              money_text(unmatched, currency) + " to invoice " + awaiting.front() +
                              ", which " + who + " does not have (yet)";
      }
      if (ambiguous > 0) {
        Alert& a = make(AlertKind::payment_ambiguous, Severity::warning, record.identity);
        a.payment_id = record.key;
        a.amount = Money{ambiguous, currency};
        for (std::uint32_t r : record.derived.candidates) {
          a.invoice_ids.push_back(receivables[r].invoice_id);
        }
        a.message = "payment " + record.key + " of " + money_text(ambiguous, currency) +
                    " could pay " + std::to_string(a.invoice_ids.size()) +
                    " open invoices of that exact amount: allocate it explicitly";
      }
      if (mismatch > 0) {
        Alert& a = make(AlertKind::payment_currency_mismatch, Severity::warning, record.identity);
        a.payment_id = record.key;
        a.amount = Money{mismatch, currency};
        a.invoice_ids = mismatch_ids;
        a.message = "payment " + record.key + " in " + std::string(currency.code()) +
                    " names invoice " + mismatch_ids.front() + " in another currency";
      }
      if (closed > 0) {
        Alert& a =
            make(AlertKind::payment_on_closed_receivable, Severity::warning, record.identity);
        a.payment_id = record.key;
        a.amount = Money{closed, currency};
        a.invoice_ids = closed_ids;
        a.message = "payment " + record.key + " of " + money_text(closed, currency) +
                    " names invoice " + closed_ids.front() +
                    ", which is already closed: kept on the customer's account";
      }
      if (over > 0) {
        Alert& a = make(AlertKind::payment_over, Severity::info, record.identity);
        a.payment_id = record.key;
        a.amount = Money{over, currency};
        a.invoice_ids = over_ids;
        a.message = "payment " + record.key + " exceeds what it pays by " +
                    money_text(over, currency) + ": credit balance on " + who;
      }
      std::vector<std::string> short_ids;
      std::int64_t short_amount = 0;
      for (std::uint32_t r : record.derived.short_on) {
        if (!Engine::owes(receivables[r])) continue;
        short_ids.push_back(receivables[r].invoice_id);
        short_amount += receivables[r].open;
      }
      if (!short_ids.empty()) {
        Alert& a = make(AlertKind::payment_short, Severity::info, record.identity);
        a.payment_id = record.key;
        a.amount = Money{short_amount, currency};
        a.invoice_ids = short_ids;
        a.message = "payment " + record.key + " leaves " + money_text(short_amount, currency) +
                    " open on invoice " + short_ids.front();
      }
    }
    if (record.kind == RecordKind::payment_reversal) {
      std::vector<std::string> ids;
      std::int64_t amount = 0;
      for (std::uint32_t r : record.derived.reopened) {
        if (!Engine::owes(receivables[r])) continue;
        ids.push_back(receivables[r].invoice_id);
        amount += receivables[r].open;
      }
      if (!ids.empty()) {
        Alert& a = make(AlertKind::payment_reversed, Severity::critical, record.identity);
        a.payment_id = record.key;
        a.invoice_ids = ids;
        a.amount = Money{amount, receivables[record.derived.reopened.front()].currency};
        a.message = "payment " + record.key + " was reversed" +
                    (record.note.empty() ? std::string() : " (" + record.note + ")") +
                    ": invoice " + ids.front() + " is open again";
      }
    }
    if (record.kind == RecordKind::promise && !record.derived.covered.empty() &&
        promise_expired(record)) {
      Alert& a = make(AlertKind::promise_broken, Severity::warning, record.identity);
      a.payment_id = record.key;
      a.amount = record.amount;
      for (std::uint32_t r : record.derived.covered) {
        a.invoice_ids.push_back(receivables[r].invoice_id);
      }
      a.message = "the promise to pay " + money_text(record.amount.minor_units, currency) + " by " +
                  format_date(record.promised_date) + " was not kept";
    }
    if (record.kind == RecordKind::payment_plan && !record.derived.covered.empty() &&
        instalment_late(record, today)) {
      Alert& a = make(AlertKind::payment_plan_instalment_late, Severity::warning, record.identity);
      a.payment_id = record.key;
      for (std::uint32_t r : record.derived.covered) {
        a.invoice_ids.push_back(receivables[r].invoice_id);
      }
      a.message = "an instalment of payment plan " + record.key + " is late";
    }
  }
}

// The alerts a receivable of customer cu makes true (a conflict of numbers is reported by the
// smaller invoice id of the pair).
void Engine::Impl::receivable_alerts_of(const Customer& cu, std::uint32_t r,
                                        std::vector<Alert>& out) const {
  {
    const Receivable& rv = receivables[r];
    if (!rv.folded) return;
    if (rv.open < 0 && !rv.cancelled) {
      Alert& a = make_alert(out, cu, AlertKind::payment_over, Severity::info,
                            std::string_view("invoice\x1f", 8), rv.invoice_id);
      a.invoice_ids = {rv.invoice_id};
      a.amount = Money{-rv.open, rv.currency};
      a.message =
          "invoice " + rv.invoice_id + " is overpaid by " + money_text(-rv.open, rv.currency);
    }
    if (rv.number.empty() || rv.cancelled || !rv.number_shared) return;
    std::string key = normalized_number(rv.number);
    if (key.empty()) return;
    std::vector<std::uint32_t> others;
    number_index.for_each(
        key, [&](std::uint32_t v) { return v != r && same_normalized(receivables[v].number, key); },
        [&](std::uint32_t v) { others.push_back(v); });
    std::sort(others.begin(), others.end(), [&](std::uint32_t a, std::uint32_t b) {
      return receivables[a].invoice_id < receivables[b].invoice_id;
    });
    for (std::uint32_t v : others) {
      const Receivable& other = receivables[v];
      // The pair is reported once, by its smaller invoice id.
      if (other.cancelled || !(rv.invoice_id < other.invoice_id)) continue;
      if (other.original == rv.original && other.currency == rv.currency &&
          other.customer == rv.customer) {
        continue;
      }
      Alert& a = make_alert(out, cu, AlertKind::invoice_duplicate_number_conflict,
                            Severity::critical, rv.invoice_id + sep + other.invoice_id);
      a.invoice_ids = {rv.invoice_id, other.invoice_id};
      a.message = "invoices " + rv.invoice_id + " and " + other.invoice_id +
                  " carry the same number " + rv.number + " with a different " +
                  (other.customer != rv.customer ? "customer" : "amount");
    }
  }
}

void Engine::Impl::credit_alerts_of(const Customer& cu, std::vector<Alert>& out) const {
  if (cu.profile.credit_limit) {
    const Money limit = *cu.profile.credit_limit;
    for (const CurrencyAmount& exposure : cu.exposure) {
      if (exposure.currency != limit.currency || exposure.amount <= limit.minor_units) continue;
      Alert& a = make_alert(out, cu, AlertKind::credit_limit_exceeded, Severity::warning, cu.id);
      a.amount = Money{exposure.amount, exposure.currency};
      a.message = who_of(cu) + " owes " + money_text(exposure.amount, exposure.currency) +
                  ", above the credit limit of " + money_text(limit.minor_units, limit.currency);
    }
  }
}

// The alerts of customer c that an incremental step can change: those of the receivables it
// touched, of the records it folded (new: they had none) and the credit limit's.
void Engine::Impl::incremental_alerts(const Step& step, std::uint32_t c, std::vector<Alert>& fresh,
                                      std::vector<std::string>& old_ids) {
  const Customer& cu = customers[c];
  std::vector<std::string>& owned = customer_alerts[c];
  auto retire = [&](const AlertId& id) {
    auto it = std::find(owned.begin(), owned.end(), id.view());
    if (it == owned.end()) return;
    old_ids.push_back(std::move(*it));
    owned.erase(it);
  };
  const std::size_t first = fresh.size();
  for (std::uint32_t r : step.receivables) {
    const Receivable& rv = receivables[r];
    if (rv.customer != c) continue;
    if (!owned.empty()) {
      retire(AlertId(AlertKind::payment_over, std::string_view("invoice\x1f", 8), rv.invoice_id));
    }
    receivable_alerts_of(cu, r, fresh);
  }
  for (std::uint32_t rec : step.folded_records) {
    const Record& record = records[rec];
    if (record.customer == c) record_alerts_of(cu, record, fresh);
  }
  if (cu.profile.credit_limit) {
    if (!owned.empty()) retire(AlertId(AlertKind::credit_limit_exceeded, cu.id));
    credit_alerts_of(cu, fresh);
  }
  for (std::size_t i = first; i < fresh.size(); ++i) owned.push_back(fresh[i].id);
}

Changes Engine::Impl::finish(Step& step) {
  // Fold what the events changed: from scratch where something sorted before the folded part.
  for (std::size_t i = 0; i < step.customers.size(); ++i) {
    std::uint32_t c = step.customers[i];
    if (customer_dirty.size() > c && customer_dirty[c]) {
      refold(step, c);
    } else {
      fold_pending(step, c);
    }
  }
  // A conflict of invoice numbers is reported by one of the customers concerned: both see
  // a change of the other (cancelled, amount). Both are evaluated in full.
  for (std::size_t i = 0; i < step.receivables.size(); ++i) {
    const std::uint32_t r = step.receivables[i];
    const Receivable& rv = receivables[r];
    if (rv.number.empty() || !rv.number_shared) continue;
    std::string key = normalized_number(rv.number);
    if (key.empty()) continue;
    number_index.for_each(
        key, [&](std::uint32_t v) { return v != r && same_normalized(receivables[v].number, key); },
        [&](std::uint32_t v) {
          mark_full(step, receivables[v].customer);
          mark_full(step, receivables[r].customer);
        });
  }
  for (std::size_t i = 0; i < step.customers.size(); ++i) {
    const std::uint32_t c = step.customers[i];
    fold_pending(step, c);
    const bool full = (customer_full.size() > c && customer_full[c]) ||
                      (customer_complex.size() > c && customer_complex[c]);
    if (full) {
      evaluate_customer(step, c);
    } else {
      evaluate_incremental(step, c);
    }
  }

  Changes changes;
  changes.outcome = step.changed ? ApplyOutcome::applied : ApplyOutcome::duplicate;
  std::vector<std::string> old_ids;
  std::vector<Alert> fresh;
  for (std::uint32_t c : step.customers) {
    const bool full = (customer_full.size() > c && customer_full[c]) ||
                      (customer_complex.size() > c && customer_complex[c]);
    if (!full) {
      incremental_alerts(step, c, fresh, old_ids);
      continue;
    }
    std::size_t first = fresh.size();
    customer_alerts_of(c, fresh);
    for (std::string& id : customer_alerts[c]) old_ids.push_back(std::move(id));
    customer_alerts[c].clear();
    for (std::size_t i = first; i < fresh.size(); ++i) customer_alerts[c].push_back(fresh[i].id);
  }
  std::sort(fresh.begin(), fresh.end(), [](const Alert& a, const Alert& b) { return a.id < b.id; });
  std::sort(old_ids.begin(), old_ids.end());
  for (const std::string& id : old_ids) {
    bool still = std::binary_search(
        fresh.begin(), fresh.end(), id,
        Overloaded{[](const Alert& a, const std::string& b) { return a.id < b; },
                   [](const std::string& a, const Alert& b) { return a < b.id; }});
    if (!still) {
      alerts.erase(id);
      changes.resolved.push_back(id);
    }
  }
  for (Alert& alert : fresh) {
    auto it = alerts.find(alert.id);
    if (it != alerts.end() && it->second == alert) continue;
    changes.raised.push_back(alert);
    alerts.insert_or_assign(alert.id, std::move(alert));
  }

  // Receivables whose status only the date changed (advance_to re-evaluated them) are reported,
  // nothing more: neither their alerts nor their share of the customer's aggregates depend on it.
  // A re-folded receivable that folded back to what it was has not changed (flag 2), unless the
  // date changed its status.
  for (const FoldedState& before : step.refolded) {
    if (folds_back_to(receivables[before.receivable], before, step.refolded_timelines)) {
      receivable_touched[before.receivable] = 2;
    }
  }
  for (std::uint32_t r : step.timed) {
    if (receivable_touched.size() > r && receivable_touched[r] == 2) {
      receivable_touched[r] = 1;
    } else {
      touch_receivable(step, r);
    }
  }
  changes.receivables.reserve(step.receivables.size());
  changes.customers.reserve(step.customers.size());
  for (std::uint32_t r : step.receivables) {
    if (receivable_touched[r] == 1) changes.receivables.push_back(r);
    receivable_touched[r] = 0;
  }
  for (std::uint32_t c : step.customers) {
    if (customer_touched[c] >= 2) changes.customers.push_back(c);
    if (customer_touched[c] == 3) changes.customer_rows.push_back(c);
    customer_touched[c] = 0;
  }
  changes.records = step.records;
  for (std::uint32_t rec : step.records) record_touched[rec] = 0;
  for (std::uint32_t c : step.dirty) customer_dirty[c] = 0;
  for (std::uint32_t c : step.full) customer_full[c] = 0;
  std::sort(changes.receivables.begin(), changes.receivables.end());
  std::sort(changes.customers.begin(), changes.customers.end());
  std::sort(changes.customer_rows.begin(), changes.customer_rows.end());
  std::sort(changes.records.begin(), changes.records.end());
  return changes;
}

// ---------------------------------------------------------------------------------------------
// Engine.

Engine::Engine(EngineOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->customer_of("");  // index 0: the unassigned bucket
}

Engine::~Engine() = default;

namespace {

Record make_record(RecordKind kind, const Event& event, Timestamp now, Date date,
                   std::string entity) {
  Record record;
  record.kind = kind;
  record.date = date;
  record.source_id = event.source + sep + event.id;
  record.time = event.time.value_or(Timestamp{});
  record.identity = std::string(record_kind_name(kind)) + sep + std::move(entity);
  (void)now;
  return record;
}

}  // namespace

Changes Engine::apply(const Event& event, Timestamp now) {
  Impl& impl = *impl_;
  Step& step = impl.scratch;  // its vectors keep their capacity from one event to the next
  step.clear();
  impl.current_step = &step;
  impl.advance_to(step, utc_date(now));
  const Date event_date = utc_date(event.time.value_or(now));
  // Built only by the events that need it (not invoices: an allocation each).
  auto source_id = [&] { return event.source + sep + event.id; };
  std::visit(
      Overloaded{
          [&](const InvoiceData& d) { impl.on_invoice(step, event, d); },
          [&](const CustomerUpserted& d) { impl.on_customer(step, event, d); },
          [&](const InvoiceCancelled& d) {
            Record r =
                make_record(RecordKind::invoice_cancelled, event, now, event_date, d.invoice_id);
            r.key = d.invoice_id;
            r.invoices = {d.invoice_id};
            r.note = d.reason.value_or("");
            impl.on_record(step, std::move(r));
          },
          [&](const InvoiceWrittenOff& d) {
            Record r = make_record(RecordKind::invoice_written_off, event, now, event_date,
                                   d.invoice_id + sep + source_id());
            r.key = d.invoice_id;
            r.invoices = {d.invoice_id};
            r.note = d.reason.value_or("");
            if (d.amount) {
              r.amount = *d.amount;
              r.has_amount = true;
            }
            impl.on_record(step, std::move(r));
          },
          [&](const CreditNoteIssued& d) {
            Record r =
                make_record(RecordKind::credit_note, event, now, d.issue_date, d.credit_note_id);
            r.key = d.credit_note_id;
            r.customer_id = d.customer_id;
            r.amount = d.amount;
            r.has_amount = true;
            if (d.invoice_id) {
              r.invoices = {*d.invoice_id};
              r.amounts = {d.amount.minor_units};
            }
            impl.on_record(step, std::move(r));
          },
          [&](const PaymentReceived& d) {
            Record r = make_record(RecordKind::payment, event, now, d.received_date, d.payment_id);
            r.key = d.payment_id;
            r.customer_id = d.customer_id.value_or("");
            r.amount = d.amount;
            r.has_amount = true;
            for (const Allocation& a : d.allocations) {
              r.invoices.push_back(a.invoice_id);
              r.amounts.push_back(a.amount.minor_units);
            }
            References refs = extract_references(d.remittance_info, d.structured_reference,
                                                 impl.options.references_per_payment_max);
            r.references = std::move(refs.keys);
            r.structured_reference = refs.structured;
            r.note = d.method.value_or("");
            impl.on_record(step, std::move(r));
          },
          [&](const PaymentReversed& d) {
            Record r = make_record(RecordKind::payment_reversal, event, now, d.reversed_date,
                                   d.payment_id);
            r.key = d.payment_id;
            r.note = d.reason.value_or("");
            impl.on_record(step, std::move(r));
          },
          [&](const DisputeOpened& d) {
            Record r = make_record(RecordKind::dispute_opened, event, now, event_date,
                                   d.invoice_id + sep + d.dispute_id.value_or(source_id()));
            r.key = d.invoice_id;
            r.invoices = {d.invoice_id};
            r.note = d.dispute_id.value_or("");
            if (d.amount) {
              r.amount = *d.amount;
              r.has_amount = true;
            }
            impl.on_record(step, std::move(r));
          },
          [&](const DisputeResolved& d) {
            Record r = make_record(RecordKind::dispute_resolved, event, now, event_date,
                                   d.invoice_id + sep + d.dispute_id.value_or(source_id()));
            r.key = d.invoice_id;
            r.invoices = {d.invoice_id};
            r.note = d.dispute_id.value_or("");
            impl.on_record(step, std::move(r));
          },
          [&](const PromiseToPayRecorded& d) {
            Record r = make_record(RecordKind::promise, event, now, event_date,
                                   d.promise_id.value_or(source_id()));
            r.key = d.promise_id.value_or("");
            r.customer_id = d.customer_id.value_or("");
            r.invoices = d.invoice_ids;
            r.amount = d.amount;
            r.has_amount = true;
            r.promised_date = d.promised_date;
            impl.on_record(step, std::move(r));
          },
          [&](const PaymentPlanAgreed& d) {
            Record r = make_record(RecordKind::payment_plan, event, now, event_date, d.plan_id);
            r.key = d.plan_id;
            r.invoices = d.invoice_ids;
            std::int64_t total = 0;
            for (const Instalment& i : d.instalments) {
              r.dates.push_back(i.due_date);
              r.amounts.push_back(i.amount.minor_units);
              total += i.amount.minor_units;
              r.amount.currency = i.amount.currency;
            }
            r.amount.minor_units = total;
            r.has_amount = true;
            impl.on_record(step, std::move(r));
          },
      },
      event.data);
  Changes changes = impl.finish(step);
  impl.current_step = nullptr;
  return changes;
}

Changes Engine::advance(Timestamp now) {
  Impl& impl = *impl_;
  Step& step = impl.scratch;  // its vectors keep their capacity from one event to the next
  step.clear();
  impl.current_step = &step;
  impl.advance_to(step, utc_date(now));
  Changes changes = impl.finish(step);
  changes.outcome = ApplyOutcome::applied;
  impl.current_step = nullptr;
  return changes;
}

Result<void> Engine::set_dunning_level(std::string_view invoice_id, std::uint8_t level) {
  std::uint32_t r = impl_->find_invoice(invoice_id);
  if (r == no_index) {
    return Error{"invoice_id", std::string(invoice_id) + " is not a known invoice"};
  }
  impl_->receivables[r].dunning_level = level;
  return {};
}

const EngineOptions& Engine::options() const { return impl_->options; }

const Receivable* Engine::find_receivable(std::string_view invoice_id) const {
  std::uint32_t r = impl_->find_invoice(invoice_id);
  return r == no_index ? nullptr : &impl_->receivables[r];
}

std::optional<std::uint32_t> Engine::receivable_index(std::string_view invoice_id) const {
  std::uint32_t r = impl_->find_invoice(invoice_id);
  return r == no_index ? std::nullopt : std::optional<std::uint32_t>(r);
}

const Customer* Engine::find_customer(std::string_view customer_id) const {
  std::uint32_t c = impl_->find_customer(customer_id);
  return c == no_index ? nullptr : &impl_->customers[c];
}

const Receivable& Engine::receivable(std::uint32_t index) const {
  return impl_->receivables[index];
}
const Customer& Engine::customer(std::uint32_t index) const { return impl_->customers[index]; }
const Record& Engine::record(std::uint32_t index) const { return impl_->records[index]; }
const std::string& Engine::customer_id(const Receivable& receivable) const {
  return impl_->customers[receivable.customer].id;
}
std::size_t Engine::receivable_count() const { return impl_->receivables.size(); }
std::size_t Engine::customer_count() const { return impl_->customers.size(); }
std::size_t Engine::record_count() const { return impl_->records.size(); }

std::vector<Alert> Engine::alerts() const {
  std::vector<Alert> out;
  out.reserve(impl_->alerts.size());
  for (const auto& [id, alert] : impl_->alerts) out.push_back(alert);
  return out;
}

const Alert* Engine::find_alert(std::string_view id) const {
  auto it = impl_->alerts.find(id);
  return it == impl_->alerts.end() ? nullptr : &it->second;
}

Date Engine::evaluated_on() const { return impl_->today; }

int Engine::days_past_due(const Receivable& receivable, Date today) {
  return days_between(receivable.due_date, today);
}

std::optional<int> Engine::days_late(const Receivable& receivable) {
  if (!receivable.folded || !receivable.settled_date.ok() || receivable.cancelled ||
      receivable.written_off || receivable.open > 0) {
    return std::nullopt;
  }
  return std::max(0, days_between(receivable.due_date, receivable.settled_date));
}

bool Engine::owes(const Receivable& receivable) {
  return receivable.folded && !is_closed(receivable.base_status) && receivable.open > 0;
}

std::optional<Date> Engine::oldest_overdue(const Customer& customer, Date today) const {
  std::optional<Date> oldest;
  for (std::uint32_t r : customer.receivables) {
    const Receivable& rv = impl_->receivables[r];
    if (!owes(rv) || !(today > rv.due_date)) continue;
    if (!oldest || rv.due_date < *oldest) oldest = rv.due_date;
  }
  return oldest;
}

namespace {
void add_aging(std::vector<AgingBuckets>& out, const Receivable& rv, Date today) {
  int days = Engine::days_past_due(rv, today);
  int bucket = days <= 0 ? 0 : days <= 30 ? 1 : days <= 60 ? 2 : days <= 90 ? 3 : 4;
  auto it = std::find_if(out.begin(), out.end(),
                         [&](const AgingBuckets& b) { return b.currency == rv.currency; });
  if (it == out.end()) {
    out.push_back(AgingBuckets{rv.currency, {0, 0, 0, 0, 0}});
    it = out.end() - 1;
  }
  it->buckets[bucket] += rv.open;
}
}  // namespace

std::vector<AgingBuckets> Engine::aging(const Customer& customer, Date today) const {
  std::vector<AgingBuckets> out;
  for (std::uint32_t r : customer.receivables) {
    const Receivable& rv = impl_->receivables[r];
    if (owes(rv)) add_aging(out, rv, today);
  }
  std::sort(out.begin(), out.end(),
            [](const AgingBuckets& a, const AgingBuckets& b) { return a.currency < b.currency; });
  return out;
}

std::vector<AgingBuckets> Engine::aging(Date today) const {
  std::vector<AgingBuckets> out;
  for (std::size_t r = 0; r < impl_->receivables.size(); ++r) {
    const Receivable& rv = impl_->receivables[r];
    if (owes(rv)) add_aging(out, rv, today);
  }
  std::sort(out.begin(), out.end(),
            [](const AgingBuckets& a, const AgingBuckets& b) { return a.currency < b.currency; });
  return out;
}

std::size_t Engine::index_bytes() const {
  return impl_->invoice_index.bytes() + impl_->reference_index.bytes() +
         impl_->number_index.bytes() + impl_->customer_index.bytes() +
         impl_->identity_index.bytes();
}

}  // namespace relance::core::engine
