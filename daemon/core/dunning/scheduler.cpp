#include "core/dunning/scheduler.hpp"

#include <date/tz.h>

#include <boost/unordered/unordered_flat_set.hpp>

#include <algorithm>
#include <array>
#include <set>
#include <unordered_map>
#include <utility>

#include "core/dunning/contact_pressure.hpp"
#include "core/dunning/send_window.hpp"
#include "core/natural_order.hpp"
#include "core/stable_vector.hpp"
#include "core/string_map.hpp"

namespace relance::core::dunning {

std::string_view standing_name(Standing standing) {
  switch (standing) {
    case Standing::active:
      return "active";
    case Standing::disputed:
      return "disputed";
    case Standing::promised:
      return "promised";
    case Standing::payment_plan:
      return "payment_plan";
    case Standing::closed:
      return "closed";
  }
  return "?";
}

std::string_view skip_reason_name(SkipReason reason) {
  switch (reason) {
    case SkipReason::superseded:
      return "superseded";
    case SkipReason::conditions:
      return "conditions";
    case SkipReason::past_due:
      return "past_due";
  }
  return "?";
}

namespace {

using namespace std::chrono;

constexpr std::uint32_t none = 0xffffffffu;
// Contacts older than this cannot matter to contact pressure (a week, or the interval if longer).
microseconds contact_memory(const ContactPressure& pressure) {
  return std::max<microseconds>(days(7), pressure.contact_interval_min);
}

constexpr std::size_t channel_count = static_cast<std::size_t>(Channel::escalate) + 1;

struct CustomerState {
  std::string id;
  CustomerSnapshot profile;  // recent_contacts moved into `contacts`
  const date::time_zone* zone = nullptr;
  const Policy* policy = nullptr;
  std::uint32_t calendar = 0;
  std::vector<Timestamp> contacts;  // sorted
  std::vector<std::uint32_t> receivables;
  // The last run that produced actions and how many of them are not held: when hold() takes
  // the last one back, that run was no contact.
  Timestamp run_at{};
  int run_actions = 0;
  // Per channel (index: Channel), until when its steps wait (HoldScope::channel); past: none.
  std::array<Timestamp, channel_count> channel_held_until{};
};

struct Entry {
  ReceivableSnapshot snapshot;
  std::uint32_t customer = none;
  std::optional<Timestamp> moment;  // its key in the queue
  Timestamp not_before{};           // deferred by contact pressure, or held until then
  bool held = false;                // not_before is a hold's retry: new data lifts it
  // What hold() restores: the progress before the run of `run_at` moved this receivable.
  std::optional<DunningProgress> before_run;
  Timestamp run_at{};
  bool live = false;
};

// The entries by invoice id. Each element is an entry's slot and the hash of its id: the index
// keeps no copy of the id (the entry has it), and a rehash reads no entry. A lookup by id
// compares it with the entries of the slots whose hash matches.
class EntryIndex {
 public:
  explicit EntryIndex(const StableVector<Entry>& entries) : slots_(0, Hash{}, Equal{&entries}) {}

  // The slot of the entry of `invoice_id`; `none` if there is none.
  std::uint32_t find(std::string_view invoice_id) const {
    const auto found = slots_.find(invoice_id);
    return found == slots_.end() ? none : found->slot;
  }
  // `invoice_id` is the id of the entry in `slot`, and of no other entry.
  void insert(std::uint32_t slot, std::string_view invoice_id) {
    slots_.insert(Keyed{hash_of(invoice_id), slot});
  }
  // Before the entry that holds `invoice_id` is cleared.
  void erase(std::string_view invoice_id) { slots_.erase(invoice_id); }
  std::size_t size() const { return slots_.size(); }

 private:
  struct Keyed {
    std::uint32_t hash;
    std::uint32_t slot;
  };
  static std::uint32_t hash_of(std::string_view invoice_id) {
    return static_cast<std::uint32_t>(std::hash<std::string_view>()(invoice_id));
  }
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(const Keyed& keyed) const { return keyed.hash; }
    std::size_t operator()(std::string_view invoice_id) const { return hash_of(invoice_id); }
  };
  struct Equal {
    using is_transparent = void;
    const StableVector<Entry>* entries;
    bool operator()(const Keyed& a, const Keyed& b) const { return a.slot == b.slot; }
    bool operator()(const Keyed& keyed, std::string_view invoice_id) const {
      return (*entries)[keyed.slot].snapshot.invoice_id == invoice_id;
    }
    bool operator()(std::string_view invoice_id, const Keyed& keyed) const {
      return (*this)(keyed, invoice_id);
    }
  };
  boost::unordered_flat_set<Keyed, Hash, Equal> slots_;
};

// One step (or instalment) of a receivable as the schedule stands.
struct Item {
  int index = 0;       // policy step or instalment index
  Date policy_date{};  // step: before shift and business-day move
  Date planned{};      // after shift and business-day move
  Timestamp moment{};  // when it may go out (send window), before contact pressure
};

struct WindowKey {
  int day;
  const date::time_zone* zone;
  std::uint32_t calendar;
  bool operator==(const WindowKey&) const = default;
};
struct WindowKeyHash {
  std::size_t operator()(const WindowKey& key) const {
    auto h = std::hash<int>()(key.day);
    h ^= std::hash<const void*>()(key.zone) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= std::hash<std::uint32_t>()(key.calendar) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
  }
};

// One receivable's outcome within a customer's run.
struct Reached {
  std::uint32_t slot;
  bool instalment;
  Item item;
};

}  // namespace

struct Scheduler::Impl {
  PolicySet policies;
  std::vector<BusinessCalendar> calendars;
  std::map<std::string, std::uint32_t, std::less<>> calendar_index;
  SchedulerOptions options;
  const date::time_zone* default_zone = nullptr;

  std::vector<CustomerState> customers;
  StringMap<std::uint32_t> customer_index;
  // A new entry moves none of the others (a vector's growth copied every snapshot); blocks of
  // 1024 in huge pages, where a deque allocated each (large) entry on its own.
  StableVector<Entry> entries;
  std::vector<std::uint32_t> free_slots;
  EntryIndex entry_index{entries};
  std::set<std::pair<Timestamp, std::uint32_t>> queue;
  std::unordered_map<WindowKey, Timestamp, WindowKeyHash> window_cache;
  // The last answer of send_after(): the steps a tick holds all ask for the same retry instant.
  struct SendAfter {
    Timestamp instant;
    const date::time_zone* zone;
    std::uint32_t calendar;
    Timestamp open;
  };
  mutable std::optional<SendAfter> last_send_after;

  Impl(PolicySet set, SchedulerOptions opts) : policies(std::move(set)), options(std::move(opts)) {}

  const BusinessCalendar& calendar_of(const CustomerState& customer) const {
    return calendars[customer.calendar];
  }

  TimeZone zone_of(const CustomerState& customer) const { return TimeZone::of(*customer.zone); }

  Date local_date(const CustomerState& customer, Timestamp instant) const {
    return zone_of(customer).local_date(instant);
  }

  // The first instant on or after the local start of `day` when a message may reach the
  // customer. Cached: most moments are the opening of some day's window.
  Timestamp window_open(const CustomerState& customer, Date day) {
    const WindowKey key{static_cast<int>(sys_days(day).time_since_epoch().count()), customer.zone,
                        customer.calendar};
    if (auto found = window_cache.find(key); found != window_cache.end()) return found->second;
    const Timestamp start = time_point_cast<microseconds>(customer.zone->to_sys(
        date::local_days(sys_days(day).time_since_epoch()), date::choose::earliest));
    const Timestamp open = send_after(customer, start);
    window_cache.emplace(key, open);
    return open;
  }

  Timestamp send_after(const CustomerState& customer, Timestamp instant) const {
    if (last_send_after && last_send_after->instant == instant &&
        last_send_after->zone == customer.zone && last_send_after->calendar == customer.calendar) {
      return last_send_after->open;
    }
    auto open = next_send_instant(instant, zone_of(customer), policies.delivery().send_window,
                                  calendar_of(customer));
    // create() checked that the window opens; a window that never opens is a bug here.
    RELANCE_ASSERT(open.ok());
    last_send_after = SendAfter{instant, customer.zone, customer.calendar, *open};
    return *open;
  }

  // The policy step `index` of a receivable, its predecessor having passed on `last` (policy
  // time: its actual date minus the shift of the time).
  std::optional<Item> policy_item(const Entry& entry, const CustomerState& customer, int index,
                                  std::optional<Date> last) {
    const auto& steps = customer.policy->steps;
    if (index < 0 || static_cast<std::size_t>(index) >= steps.size()) return std::nullopt;
    const BusinessCalendar& calendar = calendar_of(customer);
    auto date =
        step_date(steps[static_cast<std::size_t>(index)], entry.snapshot.due_date, last, calendar);
    if (!date) {
      // A prev-anchored first step has no predecessor: count from the due date.
      date = step_date(steps[static_cast<std::size_t>(index)], entry.snapshot.due_date,
                       entry.snapshot.due_date, calendar);
    }
    Item item;
    item.index = index;
    item.policy_date = *date;
    item.planned = calendar.first_business_day_on_or_after(
        add_days(*date, entry.snapshot.progress.shift_days));
    item.moment = window_open(customer, item.planned);
    return item;
  }

  // The policy steps of a receivable that have come (`come(item)`), each counted from its
  // predecessor as if it had passed, and the one that goes out: the latest whose conditions
  // hold, courtesy steps (before the due date) being pointless once it has passed. The others
  // are skipped, for the reason given.
  struct DueSteps {
    std::vector<Item> items;
    std::vector<std::optional<SkipReason>> reasons;  // per item; none for the chosen one
    std::optional<std::size_t> chosen;
  };
  template <class Come>
  DueSteps due_steps(const Entry& entry, const CustomerState& customer, Date today, Come come) {
    DueSteps due;
    const DunningProgress& progress = entry.snapshot.progress;
    std::optional<Date> last = progress.last_step_date;
    for (auto item = policy_item(entry, customer, progress.level, last); item && come(*item);) {
      due.items.push_back(*item);
      last = item->policy_date;
      item = policy_item(entry, customer, item->index + 1, last);
    }
    const std::optional<std::string> segment =
        customer.profile.segment.empty() ? std::nullopt
                                         : std::optional<std::string>(customer.profile.segment);
    due.reasons.resize(due.items.size());
    for (std::size_t i = due.items.size(); i-- > 0;) {
      const PolicyStep& step = customer.policy->steps[static_cast<std::size_t>(due.items[i].index)];
      const bool before_due = step.at.anchor == StepOffset::Anchor::due_date && step.at.count < 0;
      if (!step.when.matches(segment, entry.snapshot.open)) {
        due.reasons[i] = SkipReason::conditions;
      } else if (before_due && today > entry.snapshot.due_date) {
        due.reasons[i] = SkipReason::past_due;
      } else if (due.chosen) {
        due.reasons[i] = SkipReason::superseded;
      } else {
        due.chosen = i;
      }
    }
    return due;
  }

  std::optional<Item> instalment_item(const Entry& entry, const CustomerState& customer, int from) {
    const auto& instalments = entry.snapshot.instalments;
    for (auto i = static_cast<std::size_t>(std::max(from, 0)); i < instalments.size(); ++i) {
      if (instalments[i].open.minor_units <= 0) continue;
      Item item;
      item.index = static_cast<int>(i);
      item.policy_date = instalments[i].due_date;
      item.planned = calendar_of(customer).first_business_day_on_or_after(
          add_days(instalments[i].due_date, options.instalment_reminder_offset_days));
      item.moment = window_open(customer, item.planned);
      return item;
    }
    return std::nullopt;
  }

  std::optional<Timestamp> compute_moment(Entry& entry) {
    const CustomerState& customer = customers[entry.customer];
    std::optional<Timestamp> moment;
    switch (entry.snapshot.standing) {
      case Standing::closed:
      case Standing::disputed:
        return std::nullopt;
      case Standing::payment_plan:
        if (auto item =
                instalment_item(entry, customer, entry.snapshot.progress.instalments_passed)) {
          moment = item->moment;
        }
        break;
      case Standing::active:
      case Standing::promised: {
        const DunningProgress& progress = entry.snapshot.progress;
        if (auto item = policy_item(entry, customer, progress.level, progress.last_step_date)) {
          moment = item->moment;
          if (entry.snapshot.standing == Standing::promised && entry.snapshot.paused_through) {
            moment = std::max(*moment,
                              window_open(customer, add_days(*entry.snapshot.paused_through, 1)));
          }
        }
        break;
      }
    }
    if (moment) moment = std::max(*moment, entry.not_before);
    return moment;
  }

  // New data (the receivable or its customer changed): a held step may now go out.
  static void lift_hold(Entry& entry) {
    if (!entry.held) return;
    entry.held = false;
    entry.not_before = {};
  }

  void unqueue(std::uint32_t slot) {
    Entry& entry = entries[slot];
    if (entry.moment) queue.erase({*entry.moment, slot});
    entry.moment.reset();
  }

  void reschedule(std::uint32_t slot) {
    unqueue(slot);
    Entry& entry = entries[slot];
    entry.moment = compute_moment(entry);
    if (entry.moment) queue.emplace(*entry.moment, slot);
  }

  // Moves the rest of the schedule so that the next step is not planned before `resume`.
  void shift_to(Entry& entry, Date resume) {
    if (entry.snapshot.standing == Standing::payment_plan) return;
    const CustomerState& customer = customers[entry.customer];
    DunningProgress& progress = entry.snapshot.progress;
    auto item = policy_item(entry, customer, progress.level, progress.last_step_date);
    if (!item) return;
    const Date effective = add_days(item->policy_date, progress.shift_days);
    if (effective < resume) progress.shift_days += days_between(effective, resume);
  }

  Result<std::uint32_t> customer_slot(const std::string& id) {
    if (auto found = customer_index.find(id); found != customer_index.end()) return found->second;
    CustomerState customer;
    customer.id = id;
    customer.profile.customer_id = id;
    customer.zone = default_zone;
    auto assigned = assign(customer);
    if (!assigned) return assigned.error();
    const auto slot = static_cast<std::uint32_t>(customers.size());
    customers.push_back(std::move(customer));
    customer_index.emplace(id, slot);
    return slot;
  }

  Result<void> assign(CustomerState& customer) const {
    const std::optional<std::string> segment =
        customer.profile.segment.empty() ? std::nullopt
                                         : std::optional<std::string>(customer.profile.segment);
    customer.policy = &policies.policy_for(customer.id, segment);
    const auto found = calendar_index.find(customer.policy->calendar);
    if (found == calendar_index.end()) {
      return Error{"calendar", "policy '" + customer.policy->name + "' uses calendar '" +
                                   customer.policy->calendar + "', which is not loaded"};
    }
    customer.calendar = found->second;
    return {};
  }

  void forget(std::uint32_t slot) {
    unqueue(slot);
    Entry& entry = entries[slot];
    auto& list = customers[entry.customer].receivables;
    list.erase(std::remove(list.begin(), list.end(), slot), list.end());
    entry_index.erase(entry.snapshot.invoice_id);
    entry = Entry{};
    free_slots.push_back(slot);
  }

  TickResult tick(Timestamp now, std::size_t receivables_max);
  void run_customer(std::uint32_t customer_slot, const std::vector<std::uint32_t>& due,
                    Timestamp now, TickResult& result);
};

namespace {

void add_total(std::vector<Money>& totals, const Money& amount, std::int64_t sign) {
  for (Money& total : totals) {
    if (total.currency == amount.currency) {
      total.minor_units += sign * amount.minor_units;
      return;
    }
  }
  totals.push_back(Money{sign * amount.minor_units, amount.currency});
}

// (customer, step, date) and which invoices the run moved: two runs of the same step on the same
// planned date for different invoices (one deferred by contact pressure) must not share a key,
// while a run repeated after a restart (the same invoices) gets the same one.
std::string key_of(std::string_view customer, std::string_view step, Date date,
                   std::vector<std::string_view> invoices) {
  std::sort(invoices.begin(), invoices.end());
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64
  for (const std::string_view id : invoices) {
    for (const char c : id) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    hash = (hash ^ 0x1fu) * 0x100000001b3ull;  // separator: ("ab","c") != ("a","bc")
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string key = "dunning/";
  key += customer;
  key += '/';
  key += step;
  key += '/';
  key += format_date(date);
  key += '/';
  for (int shift = 60; shift >= 0; shift -= 4) key += hex[(hash >> shift) & 0xfu];
  return key;
}

}  // namespace

void Scheduler::Impl::run_customer(std::uint32_t customer_slot,
                                   const std::vector<std::uint32_t>& due, Timestamp now,
                                   TickResult& result) {
  CustomerState& customer = customers[customer_slot];
  const ContactPressure& pressure = policies.delivery().contact_pressure;
  // Contact pressure: the whole run is one contact, or none.
  const auto horizon = now - contact_memory(pressure);
  customer.contacts.erase(
      customer.contacts.begin(),
      std::lower_bound(customer.contacts.begin(), customer.contacts.end(), horizon));
  if (!is_contact_allowed(customer.contacts, now, pressure)) {
    auto allowed = earliest_contact_instant(customer.contacts, now, pressure);
    RELANCE_ASSERT(allowed.ok());  // contacts are trimmed to a week; the budget checked at create
    const Timestamp later = send_after(customer, *allowed);
    for (const std::uint32_t slot : due) {
      entries[slot].not_before = later;
      entries[slot].held = false;
      reschedule(slot);
    }
    return;
  }

  const Date today = local_date(customer, now);
  const auto& steps = customer.policy->steps;
  std::vector<Reached> reached;
  for (const std::uint32_t slot : due) {
    Entry& entry = entries[slot];
    DunningProgress& progress = entry.snapshot.progress;
    const DunningProgress before = progress;
    const std::size_t skipped_before = result.skipped.size();
    const auto skip = [&](const Item& item, SkipReason reason, bool instalment) {
      result.skipped.push_back({customer.id, entry.snapshot.invoice_id,
                                instalment ? "instalment" : steps[item.index].name,
                                instalment ? 0 : item.index + 1, item.planned, reason});
    };
    if (entry.snapshot.standing == Standing::payment_plan) {
      // The latest instalment reminder due goes out; the earlier ones are superseded.
      std::vector<Item> items;
      for (auto item = instalment_item(entry, customer, progress.instalments_passed);
           item && item->moment <= now; item = instalment_item(entry, customer, item->index + 1)) {
        items.push_back(*item);
      }
      for (std::size_t i = 0; i + 1 < items.size(); ++i) {
        skip(items[i], SkipReason::superseded, true);
      }
      if (!items.empty()) {
        reached.push_back({slot, true, items.back()});
        progress.instalments_passed = items.back().index + 1;
      }
    } else {
      const auto [items, reasons, chosen] =
          due_steps(entry, customer, today, [&](const Item& item) { return item.moment <= now; });
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (reasons[i]) skip(items[i], *reasons[i], false);
      }
      if (!items.empty()) {
        progress.level = items.back().index + 1;
        // Policy time: what a prev-anchored step counts from, before the shift is added back.
        progress.last_step_date = chosen && *chosen + 1 == items.size()
                                      ? add_days(today, -progress.shift_days)
                                      : items.back().policy_date;
      }
      if (chosen) reached.push_back({slot, false, items[*chosen]});
    }
    if (!reached.empty() && reached.back().slot == slot) {
      const Reached& mine = reached.back();
      const Channel channel = mine.instalment
                                  ? options.instalment_channel
                                  : steps[static_cast<std::size_t>(mine.item.index)].channel;
      const Timestamp held_until = customer.channel_held_until[static_cast<std::size_t>(channel)];
      if (held_until > now) {
        // The customer's channel is held (HoldScope::channel): this step waits with it, and
        // nothing before it is skipped yet.
        reached.pop_back();
        result.skipped.erase(result.skipped.begin() + static_cast<std::ptrdiff_t>(skipped_before),
                             result.skipped.end());
        progress = before;
        entry.not_before = held_until;
        entry.held = true;
        entry.before_run.reset();
        continue;
      }
    }
    entry.not_before = {};
    entry.held = false;
    if (!reached.empty() && reached.back().slot == slot) {
      entry.before_run = before;
      entry.run_at = now;
    } else {
      entry.before_run.reset();
    }
    if (progress != before) {
      result.progress.push_back({entry.snapshot.invoice_id, progress});
    }
  }

  if (!reached.empty()) {
    const auto as_invoice = [&](const Entry& entry) {
      ActionInvoice line;
      line.invoice_id = entry.snapshot.invoice_id;
      line.number =
          entry.snapshot.number.empty() ? entry.snapshot.invoice_id : entry.snapshot.number;
      line.issue_date = entry.snapshot.issue_date;
      line.due_date = entry.snapshot.due_date;
      line.original = entry.snapshot.original;
      line.open = entry.snapshot.open;
      line.days_late = std::max(0, days_between(entry.snapshot.due_date, today));
      return line;
    };
    const auto base_action = [&](Channel channel) {
      Action action;
      action.at = now;
      action.as_of = today;
      action.customer_id = customer.id;
      action.policy = customer.policy->name;
      action.channel = channel;
      action.language = customer.profile.language;
      return action;
    };
    // By due date, then as people count ids: "INV-9" before "INV-10".
    const auto sort_lines = [](std::vector<ActionInvoice>& lines) {
      std::sort(lines.begin(), lines.end(), [](const ActionInvoice& a, const ActionInvoice& b) {
        if (a.due_date != b.due_date) return a.due_date < b.due_date;
        return natural_less(a.invoice_id, b.invoice_id);
      });
    };

    // The statement: every e-mail step reached, and every other overdue (or soon-due) invoice
    // of the customer still under dunning.
    std::vector<const Reached*> emails;
    std::map<int, std::vector<const Reached*>> others;  // by step index
    std::vector<const Reached*> instalments;
    for (const Reached& r : reached) {
      if (r.instalment) {
        instalments.push_back(&r);
      } else if (steps[static_cast<std::size_t>(r.item.index)].channel == Channel::email) {
        emails.push_back(&r);
      } else {
        others[r.item.index].push_back(&r);
      }
    }
    if (!emails.empty()) {
      const Reached* top =
          *std::max_element(emails.begin(), emails.end(), [](const Reached* a, const Reached* b) {
            return std::pair(a->item.index, a->item.planned) <
                   std::pair(b->item.index, b->item.planned);
          });
      const PolicyStep& step = steps[static_cast<std::size_t>(top->item.index)];
      Action action = base_action(Channel::email);
      action.step = step.name;
      action.step_number = top->item.index + 1;
      action.template_name = step.template_name;
      action.claim = step.claim;
      if (step.pay_within_days) action.pay_by = add_days(today, *step.pay_within_days);
      Date key_date = top->item.planned;
      for (const Reached* r : emails) {
        if (r->item.index == top->item.index) key_date = std::max(key_date, r->item.planned);
      }
      std::vector<std::string_view> moved;
      for (const Reached* r : emails) moved.push_back(entries[r->slot].snapshot.invoice_id);
      action.idempotency_key = key_of(customer.id, step.name, key_date, std::move(moved));
      const Date listed_until = add_days(today, options.statement_soon_due_days);
      for (const std::uint32_t slot : customer.receivables) {
        const Entry& entry = entries[slot];
        const auto mine = std::find_if(emails.begin(), emails.end(),
                                       [&](const Reached* r) { return r->slot == slot; });
        const bool listed =
            mine != emails.end() ||
            (entry.snapshot.standing == Standing::active && entry.snapshot.open.minor_units > 0 &&
             (entry.snapshot.due_date < today ||
              (options.statement_soon_due_days > 0 && entry.snapshot.due_date <= listed_until)));
        if (!listed) continue;
        ActionInvoice line = as_invoice(entry);
        if (mine != emails.end()) line.step_reached = (*mine)->item.index + 1;
        add_total(action.totals, line.open, 1);
        action.invoices.push_back(std::move(line));
      }
      sort_lines(action.invoices);
      for (const CreditLine& credit : customer.profile.credits) {
        action.credits.push_back(credit);
        add_total(action.totals, credit.amount, -1);
      }
      std::sort(action.totals.begin(), action.totals.end(),
                [](const Money& a, const Money& b) { return a.currency < b.currency; });
      result.actions.push_back(std::move(action));
    }
    for (const auto& [index, group] : others) {
      const PolicyStep& step = steps[static_cast<std::size_t>(index)];
      Action action = base_action(step.channel);
      action.step = step.name;
      action.step_number = index + 1;
      action.template_name = step.template_name;
      action.claim = step.claim;
      if (step.pay_within_days) action.pay_by = add_days(today, *step.pay_within_days);
      Date key_date = group.front()->item.planned;
      for (const Reached* r : group) {
        key_date = std::max(key_date, r->item.planned);
        ActionInvoice line = as_invoice(entries[r->slot]);
        line.step_reached = index + 1;
        add_total(action.totals, line.open, 1);
        action.invoices.push_back(std::move(line));
      }
      sort_lines(action.invoices);
      std::sort(action.totals.begin(), action.totals.end(),
                [](const Money& a, const Money& b) { return a.currency < b.currency; });
      std::vector<std::string_view> moved;
      for (const Reached* r : group) moved.push_back(entries[r->slot].snapshot.invoice_id);
      action.idempotency_key = key_of(customer.id, step.name, key_date, std::move(moved));
      result.actions.push_back(std::move(action));
    }
    if (!instalments.empty()) {
      Action action = base_action(options.instalment_channel);
      action.step = "instalment";
      action.template_name = options.instalment_template;
      Date key_date = instalments.front()->item.policy_date;
      for (const Reached* r : instalments) {
        const Entry& entry = entries[r->slot];
        key_date = std::max(key_date, r->item.policy_date);
        ActionInvoice line = as_invoice(entry);
        line.instalment = r->item.policy_date;
        line.open = entry.snapshot.instalments[static_cast<std::size_t>(r->item.index)].open;
        line.days_late = std::max(0, days_between(r->item.policy_date, today));
        add_total(action.totals, line.open, 1);
        action.invoices.push_back(std::move(line));
      }
      sort_lines(action.invoices);
      std::sort(action.totals.begin(), action.totals.end(),
                [](const Money& a, const Money& b) { return a.currency < b.currency; });
      std::vector<std::string_view> moved;
      for (const Reached* r : instalments) moved.push_back(entries[r->slot].snapshot.invoice_id);
      action.idempotency_key = key_of(customer.id, "instalment", key_date, std::move(moved));
      result.actions.push_back(std::move(action));
    }
    customer.contacts.push_back(now);
    customer.run_at = now;
    customer.run_actions = static_cast<int>(emails.empty() ? 0 : 1) +
                           static_cast<int>(others.size()) +
                           static_cast<int>(instalments.empty() ? 0 : 1);
  }
  for (const std::uint32_t slot : due) reschedule(slot);
}

TickResult Scheduler::Impl::tick(Timestamp now, std::size_t receivables_max) {
  TickResult result;
  // The customer of the first step due, with every step of it due, and so on until the budget
  // is spent; grouped per customer.
  std::map<std::string_view, std::pair<std::uint32_t, std::vector<std::uint32_t>>> by_customer;
  std::size_t taken = 0;
  while (!queue.empty() && queue.begin()->first <= now) {
    if (taken >= receivables_max) {
      result.unfinished = true;
      break;
    }
    const std::uint32_t customer_slot = entries[queue.begin()->second].customer;
    auto& group = by_customer[customers[customer_slot].id];
    group.first = customer_slot;
    const std::size_t taken_before = taken;
    for (const std::uint32_t slot : customers[customer_slot].receivables) {
      const Entry& entry = entries[slot];
      if (!entry.moment || *entry.moment > now) continue;
      unqueue(slot);
      group.second.push_back(slot);
      ++taken;
    }
    // A queued entry is in its customer's list: the first step due went with the others.
    RELANCE_ASSERT(taken > taken_before);
  }
  for (auto& [id, group] : by_customer) {
    std::sort(group.second.begin(), group.second.end(), [&](std::uint32_t a, std::uint32_t b) {
      return entries[a].snapshot.invoice_id < entries[b].snapshot.invoice_id;
    });
    run_customer(group.first, group.second, now, result);
  }
  std::sort(
      result.progress.begin(), result.progress.end(),
      [](const ProgressChange& a, const ProgressChange& b) { return a.invoice_id < b.invoice_id; });
  return result;
}

Result<Scheduler> Scheduler::create(PolicySet policies, std::vector<BusinessCalendar> calendars,
                                    SchedulerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(policies), std::move(options));
  for (BusinessCalendar& calendar : calendars) {
    impl->calendar_index[calendar.name()] = static_cast<std::uint32_t>(impl->calendars.size());
    impl->calendars.push_back(std::move(calendar));
  }
  for (const auto& [name, policy] : impl->policies.policies()) {
    if (impl->calendar_index.contains(policy.calendar)) continue;
    auto builtin = builtin_calendar(policy.calendar);
    if (!builtin) {
      return Error{"policies." + name + ".calendar",
                   "calendar '" + policy.calendar + "' is neither built in nor loaded"};
    }
    impl->calendar_index[policy.calendar] = static_cast<std::uint32_t>(impl->calendars.size());
    impl->calendars.push_back(std::move(*builtin));
  }
  auto zone = TimeZone::find(impl->options.default_timezone);
  if (!zone) return zone.error().within("default_timezone");
  impl->default_zone = &zone->zone();
  const Delivery& delivery = impl->policies.delivery();
  if (delivery.contact_pressure.contacts_per_week_max < 1) {
    return Error{"delivery.contacts_per_week_max", "must be at least 1"};
  }
  for (const BusinessCalendar& calendar : impl->calendars) {
    auto open = next_send_instant(Timestamp{}, *zone, delivery.send_window, calendar);
    if (!open) return open.error().within("delivery");
  }
  return Scheduler(std::move(impl));
}

Scheduler::Scheduler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Scheduler::~Scheduler() = default;
Scheduler::Scheduler(Scheduler&&) noexcept = default;
Scheduler& Scheduler::operator=(Scheduler&&) noexcept = default;

Result<void> Scheduler::update_customer(const CustomerSnapshot& snapshot) {
  const date::time_zone* zone = impl_->default_zone;
  if (!snapshot.timezone.empty()) {
    auto found = TimeZone::find(snapshot.timezone);
    if (!found)
      return Error{"customers." + snapshot.customer_id + ".timezone", found.error().message};
    zone = &found->zone();
  }
  auto slot = impl_->customer_slot(snapshot.customer_id);
  if (!slot) return slot.error();
  CustomerSnapshot profile = snapshot;
  profile.recent_contacts.clear();
  // Every event changes a customer's exposure, which is none of the scheduler's business: a
  // profile seen before leaves the schedule (and its holds) as they are. Checked before the
  // customer's state (its list of receivables) is copied.
  const CustomerState& known = impl_->customers[*slot];
  const auto contact_known = [&](Timestamp contact) {
    return std::binary_search(known.contacts.begin(), known.contacts.end(), contact);
  };
  if (profile == known.profile && zone == known.zone &&
      std::all_of(snapshot.recent_contacts.begin(), snapshot.recent_contacts.end(),
                  contact_known)) {
    return {};
  }
  CustomerState candidate = known;
  candidate.profile = std::move(profile);
  candidate.zone = zone;
  if (auto assigned = impl_->assign(candidate); !assigned) return assigned.error();
  CustomerState& customer = impl_->customers[*slot];
  customer.profile = std::move(candidate.profile);
  customer.zone = candidate.zone;
  customer.policy = candidate.policy;
  customer.calendar = candidate.calendar;
  customer.channel_held_until = {};  // what was missing may have come
  for (const Timestamp contact : snapshot.recent_contacts) customer.contacts.push_back(contact);
  std::sort(customer.contacts.begin(), customer.contacts.end());
  customer.contacts.erase(std::unique(customer.contacts.begin(), customer.contacts.end()),
                          customer.contacts.end());
  for (const std::uint32_t receivable : customer.receivables) {
    impl_->lift_hold(impl_->entries[receivable]);
    impl_->reschedule(receivable);
  }
  return {};
}

Result<DunningProgress> Scheduler::update(ReceivableSnapshot snapshot, Timestamp now) {
  if (snapshot.standing == Standing::closed) {
    DunningProgress progress = snapshot.progress;
    if (const std::uint32_t slot = impl_->entry_index.find(snapshot.invoice_id); slot != none) {
      progress = impl_->entries[slot].snapshot.progress;
      impl_->forget(slot);
    }
    return progress;
  }
  auto customer = impl_->customer_slot(snapshot.customer_id);
  if (!customer) return customer.error();

  std::uint32_t slot = impl_->entry_index.find(snapshot.invoice_id);
  const bool added = slot == none;
  std::optional<Standing> previous;
  DunningProgress progress = snapshot.progress;
  if (!added) {
    Entry& entry = impl_->entries[slot];
    previous = entry.snapshot.standing;
    // In process the scheduler's progress is the newest; the snapshot's counts after a restart.
    progress = entry.snapshot.progress;
    if (entry.customer != *customer) {
      impl_->unqueue(slot);
      auto& list = impl_->customers[entry.customer].receivables;
      list.erase(std::remove(list.begin(), list.end(), slot), list.end());
      impl_->customers[*customer].receivables.push_back(slot);
    }
  } else {
    if (impl_->free_slots.empty()) {
      slot = static_cast<std::uint32_t>(impl_->entries.size());
      impl_->entries.emplace_back();
    } else {
      slot = impl_->free_slots.back();
      impl_->free_slots.pop_back();
    }
    impl_->customers[*customer].receivables.push_back(slot);
  }
  Entry& entry = impl_->entries[slot];
  entry.snapshot = std::move(snapshot);
  if (added) impl_->entry_index.insert(slot, entry.snapshot.invoice_id);
  entry.snapshot.progress = progress;
  entry.customer = *customer;
  entry.live = true;
  entry.before_run.reset();
  impl_->lift_hold(entry);
  // A pause's end moves the rest of the schedule: the step that was next goes first.
  const ReceivableSnapshot& now_known = entry.snapshot;
  if (now_known.standing == Standing::promised && now_known.paused_through) {
    impl_->shift_to(entry, add_days(*now_known.paused_through, 1));
  } else if (now_known.standing == Standing::active && previous && *previous != Standing::active) {
    impl_->shift_to(entry, impl_->local_date(impl_->customers[*customer], now));
  }
  impl_->reschedule(slot);
  return entry.snapshot.progress;
}

void Scheduler::remove(std::string_view invoice_id) {
  if (const std::uint32_t slot = impl_->entry_index.find(invoice_id); slot != none) {
    impl_->forget(slot);
  }
}

TickResult Scheduler::tick(Timestamp now, std::size_t receivables_max) {
  return impl_->tick(now, receivables_max);
}

std::vector<ProgressChange> Scheduler::hold(const Action& action, Timestamp retry_at,
                                            HoldScope scope) {
  std::vector<ProgressChange> restored;
  const auto found_customer = impl_->customer_index.find(action.customer_id);
  if (found_customer == impl_->customer_index.end()) return restored;
  CustomerState& customer = impl_->customers[found_customer->second];
  const Timestamp retry = impl_->send_after(customer, std::max(retry_at, action.at));
  if (scope == HoldScope::channel) {
    customer.channel_held_until[static_cast<std::size_t>(action.channel)] = retry;
  }
  for (const ActionInvoice& line : action.invoices) {
    // A statement also lists invoices whose step did not move in this run: they stay as they are.
    if (!line.step_reached && !line.instalment) continue;
    const std::uint32_t slot = impl_->entry_index.find(line.invoice_id);
    if (slot == none) continue;
    Entry& entry = impl_->entries[slot];
    if (!entry.before_run || entry.run_at != action.at) continue;
    entry.snapshot.progress = *std::exchange(entry.before_run, std::nullopt);
    entry.not_before = retry;
    entry.held = true;
    impl_->reschedule(slot);
    restored.push_back({entry.snapshot.invoice_id, entry.snapshot.progress});
  }
  if (!restored.empty() && customer.run_at == action.at && customer.run_actions > 0 &&
      --customer.run_actions == 0) {
    const auto contact =
        std::lower_bound(customer.contacts.begin(), customer.contacts.end(), action.at);
    if (contact != customer.contacts.end() && *contact == action.at) {
      customer.contacts.erase(contact);
    }
  }
  std::sort(restored.begin(), restored.end(), [](const ProgressChange& a, const ProgressChange& b) {
    return a.invoice_id < b.invoice_id;
  });
  return restored;
}

bool Scheduler::step_waiting(std::string_view customer_id, Channel channel, Timestamp now) {
  const auto found_customer = impl_->customer_index.find(customer_id);
  if (found_customer == impl_->customer_index.end()) return false;
  const CustomerState& customer = impl_->customers[found_customer->second];
  const Date today = impl_->local_date(customer, now);
  for (const std::uint32_t slot : customer.receivables) {
    const Entry& entry = impl_->entries[slot];
    if (!entry.live || !entry.moment) continue;
    const Standing standing = entry.snapshot.standing;
    if (standing == Standing::promised && entry.snapshot.paused_through &&
        *entry.snapshot.paused_through >= today) {
      continue;
    }
    const DunningProgress& progress = entry.snapshot.progress;
    if (standing == Standing::payment_plan) {
      if (impl_->options.instalment_channel != channel) continue;
      const auto item = impl_->instalment_item(entry, customer, progress.instalments_passed);
      if (item && item->planned <= today) return true;
      continue;
    }
    // The step a run would send now, whatever its channel's earlier steps skipped.
    const auto due = impl_->due_steps(entry, customer, today,
                                      [&](const Item& item) { return item.planned <= today; });
    if (due.chosen &&
        customer.policy->steps[static_cast<std::size_t>(due.items[*due.chosen].index)].channel ==
            channel) {
      return true;
    }
  }
  return false;
}

std::optional<Timestamp> Scheduler::next_moment() const {
  if (impl_->queue.empty()) return std::nullopt;
  return impl_->queue.begin()->first;
}

std::optional<Timestamp> Scheduler::scheduled_at(std::string_view invoice_id) const {
  const std::uint32_t slot = impl_->entry_index.find(invoice_id);
  if (slot == none) return std::nullopt;
  return impl_->entries[slot].moment;
}

std::optional<DunningProgress> Scheduler::progress(std::string_view invoice_id) const {
  const std::uint32_t slot = impl_->entry_index.find(invoice_id);
  if (slot == none) return std::nullopt;
  return impl_->entries[slot].snapshot.progress;
}

std::size_t Scheduler::receivable_count() const { return impl_->entry_index.size(); }
std::size_t Scheduler::scheduled_count() const { return impl_->queue.size(); }

}  // namespace relance::core::dunning
