#include "state/dunning_glue.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <map>

#include "state/snapshot.hpp"

namespace relance::state {

namespace json = boost::json;
using core::dunning::DunningProgress;
using core::engine::Engine;

namespace {

// Alert ids are stable hashes, as the engine's ("al_" + FNV-1a), in a space of their own.
std::string notice_id(std::string_view kind, std::string_view subject) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const std::string_view part : {kind, std::string_view("\x1f"), subject}) {
    for (const char c : part) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "al_dunning_";
  for (int shift = 60; shift >= 0; shift -= 4) id += hex[(hash >> shift) & 0xfu];
  return id;
}

constexpr std::string_view no_address_kind = "dunning.no_email_address";
constexpr std::string_view failed_kind = "dunning.action_failed";
constexpr std::string_view profile_kind = "dunning.customer_profile";
constexpr std::string_view terms_kind = "dunning.payment_terms_beyond_cap";

// Contacts older than this cannot change when the next one may go out.
std::chrono::microseconds contact_memory(const core::dunning::PolicySet& policies) {
  return std::max<std::chrono::microseconds>(
      std::chrono::days(7), policies.delivery().contact_pressure.contact_interval_min);
}

}  // namespace

Result<std::unique_ptr<DunningGlue>> DunningGlue::create(std::shared_ptr<const DunningSetup> setup,
                                                         Ownership owns) {
  auto scheduler =
      core::dunning::Scheduler::create(setup->policies, setup->calendars, setup->scheduler);
  if (!scheduler) return scheduler.error();
  return std::unique_ptr<DunningGlue>(
      new DunningGlue(std::move(setup), std::move(owns), std::move(scheduler).value()));
}

Result<void> DunningGlue::rebuild(
    const Engine& engine, core::Timestamp now, core::StringMap<DunningProgress> progress,
    std::unordered_map<std::string, std::vector<core::Timestamp>> contacts,
    std::set<std::string> open_alerts) {
  auto scheduler =
      core::dunning::Scheduler::create(setup_->policies, setup_->calendars, setup_->scheduler);
  if (!scheduler) return scheduler.error();
  scheduler_ = std::move(scheduler).value();
  progress_ = std::move(progress);
  contacts_ = std::move(contacts);
  open_alerts_.clear();
  for (const std::string& id : open_alerts) open_alerts_.emplace(id, std::string());
  held_alerts_.clear();
  for (std::size_t c = 0; c < engine.customer_count(); ++c) {
    const core::engine::Customer& customer = engine.customer(static_cast<std::uint32_t>(c));
    if (customer.id.empty() || !owned(customer.id)) continue;
    sync_customer(engine, customer);
    if (open_alerts_.empty()) continue;
    // Only ids were stored: those of this customer's held-step alerts are found by computing
    // them (the hold itself is gone; the step is due again and waits as it did).
    const std::string no_address_id = notice_id(no_address_kind, customer.id);
    if (open_alerts_.contains(no_address_id)) {
      watch_held(customer.id, no_address_id, no_address_kind, core::dunning::Channel::email);
    }
    for (const core::dunning::Channel channel :
         {core::dunning::Channel::email, core::dunning::Channel::crm_task,
          core::dunning::Channel::crm_note, core::dunning::Channel::escalate}) {
      const std::string failed_id = notice_id(
          failed_kind, customer.id + "/" + std::string(core::dunning::channel_name(channel)));
      if (open_alerts_.contains(failed_id))
        watch_held(customer.id, failed_id, failed_kind, channel);
    }
  }
  for (std::size_t r = 0; r < engine.receivable_count(); ++r) {
    sync_receivable(engine, engine.receivable(static_cast<std::uint32_t>(r)), now);
  }
  // Held before the restart, and since paid (or the like): nothing waits any more.
  std::vector<std::string> watched;
  for (const auto& [customer_id, alerts] : held_alerts_) watched.push_back(customer_id);
  for (const std::string& customer_id : watched) settle_held(customer_id, now);
  return {};
}

void DunningGlue::sync(const Engine& engine, std::span<const std::uint32_t> receivables,
                       std::span<const std::uint32_t> customers, core::Timestamp now) {
  for (const std::uint32_t c : customers) {
    const core::engine::Customer& customer = engine.customer(c);
    if (!customer.id.empty() && owned(customer.id)) sync_customer(engine, customer);
  }
  // Customers whose held steps may have stopped waiting: those of a receivable the scheduler
  // had (paid, cancelled, disputed, moved... since). A new receivable only adds steps.
  std::vector<std::uint32_t> changed_schedules;
  for (const std::uint32_t r : receivables) {
    const core::engine::Receivable& receivable = engine.receivable(r);
    if (sync_receivable(engine, receivable, now) == Scheduled::before) {
      changed_schedules.push_back(receivable.customer);
    }
  }
  if (held_alerts_.empty()) return;
  // A held step's invoices paid, cancelled, disputed...: its alert goes if nothing else waits.
  // Each customer once.
  for (const std::uint32_t c : customers) settle_held(engine.customer(c).id, now);
  std::sort(changed_schedules.begin(), changed_schedules.end());
  changed_schedules.erase(std::unique(changed_schedules.begin(), changed_schedules.end()),
                          changed_schedules.end());
  for (const std::uint32_t c : changed_schedules) {
    if (!std::binary_search(customers.begin(), customers.end(), c)) {
      settle_held(engine.customer(c).id, now);
    }
  }
}

void DunningGlue::sync_customer(const Engine& engine, const core::engine::Customer& customer) {
  const auto known = contacts_.find(customer.id);
  auto updated = scheduler_.update_customer(customer_snapshot(
      engine, customer, known == contacts_.end() ? std::vector<core::Timestamp>{} : known->second));
  const std::string profile_id = notice_id(profile_kind, customer.id);
  if (!updated) {
    // The scheduler keeps the profile it had (or the default one): dunning goes on.
    raise(profile_id, profile_kind, "warning", customer.id, {},
          "customer " + customer.id + ": " + updated.error().to_string() +
              "; its reminders follow the default profile until it is corrected");
  } else {
    resolve(profile_id, profile_kind, customer.id);
  }
  // The e-mail held for want of an address is due again (update_customer lifted the hold).
  if (!customer.profile.emails.empty()) {
    resolve(notice_id(no_address_kind, customer.id), no_address_kind, customer.id);
  }
}

DunningGlue::Scheduled DunningGlue::sync_receivable(const Engine& engine,
                                                    const core::engine::Receivable& receivable,
                                                    core::Timestamp now) {
  const std::string& customer_id = engine.customer_id(receivable);
  const Scheduled scheduled =
      scheduler_.progress(receivable.invoice_id) ? Scheduled::before : Scheduled::not_before;
  if (!owned(customer_id)) {
    scheduler_.remove(receivable.invoice_id);
    return scheduled;
  }
  check_terms(receivable, customer_id);
  const auto known = progress_.find(receivable.invoice_id);
  const DunningProgress before = known == progress_.end() ? DunningProgress{} : known->second;
  auto updated = scheduler_.update(receivable_snapshot(engine, receivable, before), now);
  const std::string schedule_id = notice_id(failed_kind, receivable.invoice_id);
  if (!updated) {
    raise(schedule_id, failed_kind, "critical", customer_id, {receivable.invoice_id},
          "invoice " + receivable.invoice_id +
              " cannot be scheduled: " + updated.error().to_string());
    return scheduled;
  }
  resolve(schedule_id, failed_kind, customer_id);
  if (*updated != before) {
    progress_[receivable.invoice_id] = *updated;
    changed_progress_.insert(receivable.invoice_id);
  }
  return scheduled;
}

void DunningGlue::check_terms(const core::engine::Receivable& receivable,
                              const std::string& customer_id) {
  const std::string id = notice_id(terms_kind, receivable.invoice_id);
  if (!receivable.issue_date.ok() || !receivable.due_date.ok()) return;  // no invoice yet
  const core::dunning::PaymentTermsCheck check =
      core::dunning::check_payment_terms(receivable.issue_date, receivable.due_date);
  if (check.verdict == core::dunning::TermsVerdict::within_caps || receivable.cancelled) {
    resolve(id, terms_kind, customer_id);
    return;
  }
  // Open since before a restart (message unknown): the same dates give the same alert, and a
  // rebuild must not rewrite every one of them.
  const auto open = open_alerts_.find(id);
  if (open != open_alerts_.end() && open->second.empty()) return;
  raise(id, terms_kind, "warning", customer_id, {receivable.invoice_id},
        "invoice " + receivable.invoice_id + ": " + check.alert);
}

TickOutput DunningGlue::tick(const Engine& engine, core::Timestamp now) {
  core::dunning::TickResult result = scheduler_.tick(now, setup_->tick_receivables_max);
  TickOutput output;
  output.unfinished = result.unfinished;
  // Invoices whose action is held: their progress is the one hold() restored, not the tick's.
  std::vector<std::string> held_invoices;
  std::set<std::string> contacted;
  // Customers whose steps moved: their held-step alerts are checked at the end.
  std::set<std::string> ran;
  for (const core::dunning::SkippedStep& skipped : result.skipped) ran.insert(skipped.customer_id);
  for (core::dunning::Action& action : result.actions) {
    ran.insert(action.customer_id);
    RenderOutcome outcome =
        render_action(action, engine, setup_->templates, setup_->rates, setup_->render);
    // One "action failed" alert per customer and channel: a later step failing the same way
    // updates it rather than opening another, and whichever step goes out resolves it.
    const std::string failed_id =
        notice_id(failed_kind, action.customer_id + "/" +
                                   std::string(core::dunning::channel_name(action.channel)));
    if (!outcome.failure) {
      contacted.insert(action.customer_id);
      resolve(failed_id, failed_kind, action.customer_id);
      if (action.channel == core::dunning::Channel::email) {
        resolve(notice_id(no_address_kind, action.customer_id), no_address_kind,
                action.customer_id);
      }
      output.outgoing.push_back({std::move(action), std::move(outcome)});
      continue;
    }
    ++output.held;
    const auto scope = outcome.failure->about_channel()
                           ? core::dunning::Scheduler::HoldScope::channel
                           : core::dunning::Scheduler::HoldScope::invoices;
    for (core::dunning::ProgressChange& restored :
         scheduler_.hold(action, now + setup_->retry_delay, scope)) {
      held_invoices.push_back(std::move(restored.invoice_id));
    }
    std::vector<std::string> invoice_ids;
    for (const auto& line : action.invoices) invoice_ids.push_back(line.invoice_id);
    const bool no_address = outcome.failure->kind == RenderFailure::Kind::no_address;
    const std::string no_address_id = notice_id(no_address_kind, action.customer_id);
    if (no_address) {
      watch_held(action.customer_id, no_address_id, no_address_kind, action.channel);
    } else {
      watch_held(action.customer_id, failed_id, failed_kind, action.channel);
    }
    const bool reported =
        no_address
            ? raise(no_address_id, no_address_kind, "warning", action.customer_id,
                    std::move(invoice_ids), outcome.failure->reason)
            : raise(
                  failed_id, failed_kind, "critical", action.customer_id, std::move(invoice_ids),
                  outcome.failure->reason + "; the step is held and tried again until it goes out");
    if (reported) output.outgoing.push_back({std::move(action), std::move(outcome)});
  }
  std::sort(held_invoices.begin(), held_invoices.end());
  const auto held = [&](const std::string& invoice_id) {
    return std::binary_search(held_invoices.begin(), held_invoices.end(), invoice_id);
  };
  for (core::dunning::ProgressChange& change : result.progress) {
    if (held(change.invoice_id)) continue;
    progress_[change.invoice_id] = change.progress;
    changed_progress_.insert(std::move(change.invoice_id));
  }
  // One contact per customer and run, whatever the number of actions (as the scheduler), and
  // none when nothing went out.
  const auto horizon = now - contact_memory(setup_->policies);
  for (const std::string& customer_id : contacted) {
    std::vector<core::Timestamp>& contacts = contacts_[customer_id];
    std::erase_if(contacts, [&](core::Timestamp t) { return t < horizon; });
    if (contacts.empty() || contacts.back() != now) contacts.push_back(now);
    changed_contacts_.insert(customer_id);
  }
  for (core::dunning::SkippedStep& skipped : result.skipped) {
    // Not skipped yet: the run that would skip them is held, and is run again.
    if (!held(skipped.invoice_id)) output.skipped.push_back(std::move(skipped));
  }
  for (const std::string& customer_id : ran) settle_held(customer_id, now);
  return output;
}

bool DunningGlue::raise(const std::string& id, std::string_view kind, std::string_view severity,
                        const std::string& customer_id, std::vector<std::string> invoice_ids,
                        std::string message) {
  auto [open, added] = open_alerts_.try_emplace(id, message);
  if (!added && open->second == message) return false;
  open->second = message;
  notice({id, std::string(kind), std::string(severity), customer_id, std::move(invoice_ids),
          std::move(message), false});
  return true;
}

void DunningGlue::resolve(const std::string& id, std::string_view kind,
                          const std::string& customer_id) {
  if (open_alerts_.erase(id) == 0) return;
  notice({id, std::string(kind), "", customer_id, {}, "", true});
}

void DunningGlue::watch_held(const std::string& customer_id, const std::string& id,
                             std::string_view kind, core::dunning::Channel channel) {
  held_alerts_[customer_id].insert_or_assign(id, HeldAlert{kind, channel});
}

void DunningGlue::settle_held(const std::string& customer_id, core::Timestamp now) {
  const auto found = held_alerts_.find(customer_id);
  if (found == held_alerts_.end()) return;
  std::map<std::string, HeldAlert>& alerts = found->second;
  for (auto it = alerts.begin(); it != alerts.end();) {
    const auto& [id, held] = *it;
    // Resolved already (the step went out, an address came): nothing to watch.
    if (!open_alerts_.contains(id)) {
      it = alerts.erase(it);
    } else if (!scheduler_.step_waiting(customer_id, held.channel, now)) {
      resolve(id, held.kind, customer_id);
      it = alerts.erase(it);
    } else {
      ++it;
    }
  }
  if (alerts.empty()) held_alerts_.erase(found);
}

void DunningGlue::notice(DunningNotice notice) { notices_.push_back(std::move(notice)); }

std::set<std::string> DunningGlue::take_changed_progress() {
  return std::exchange(changed_progress_, {});
}
std::set<std::string> DunningGlue::take_changed_contacts() {
  return std::exchange(changed_contacts_, {});
}
std::vector<DunningNotice> DunningGlue::take_notices() { return std::exchange(notices_, {}); }

DunningProgress DunningGlue::progress(const std::string& invoice_id) const {
  const auto found = progress_.find(invoice_id);
  return found == progress_.end() ? DunningProgress{} : found->second;
}

std::vector<core::Timestamp> DunningGlue::contacts(const std::string& customer_id) const {
  const auto found = contacts_.find(customer_id);
  return found == contacts_.end() ? std::vector<core::Timestamp>{} : found->second;
}

// Rows.

std::string progress_json(std::string_view invoice_id, const DunningProgress& progress) {
  json::object out;
  out["invoice_id"] = invoice_id;
  out["level"] = progress.level;
  if (progress.last_step_date) out["last_step_date"] = core::format_date(*progress.last_step_date);
  out["shift_days"] = progress.shift_days;
  out["instalments_passed"] = progress.instalments_passed;
  return json::serialize(out);
}

namespace {

Result<const json::object*> parse_object(std::string_view text, json::value& holder,
                                         std::string_view what) {
  boost::system::error_code failed;
  holder = json::parse(text, failed);
  if (failed || !holder.is_object()) {
    return Error{std::string(what), "the stored row is not a JSON object"};
  }
  return &holder.get_object();
}

Result<std::string> string_member(const json::object& object, std::string_view name,
                                  std::string_view what) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr || !value->is_string()) {
    return Error{std::string(what) + "." + std::string(name), "missing or not a string"};
  }
  return std::string(value->get_string());
}

Result<int> int_member(const json::object& object, std::string_view name, std::string_view what) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr || !value->is_int64()) {
    return Error{std::string(what) + "." + std::string(name), "missing or not an integer"};
  }
  return static_cast<int>(value->get_int64());
}

}  // namespace

Result<std::pair<std::string, DunningProgress>> parse_progress_json(std::string_view text) {
  constexpr std::string_view what = "dunning";
  json::value holder;
  auto object = parse_object(text, holder, what);
  if (!object) return object.error();
  auto id = string_member(**object, "invoice_id", what);
  if (!id) return id.error();
  DunningProgress progress;
  auto level = int_member(**object, "level", what);
  if (!level) return level.error();
  progress.level = *level;
  auto shift = int_member(**object, "shift_days", what);
  if (!shift) return shift.error();
  progress.shift_days = *shift;
  auto passed = int_member(**object, "instalments_passed", what);
  if (!passed) return passed.error();
  progress.instalments_passed = *passed;
  if ((*object)->contains("last_step_date")) {
    auto text_date = string_member(**object, "last_step_date", what);
    if (!text_date) return text_date.error();
    auto date = core::parse_date(*text_date);
    if (!date) return date.error().within(std::string(what) + ".last_step_date");
    progress.last_step_date = *date;
  }
  return std::pair(std::move(*id), progress);
}

std::string contacts_json(std::string_view customer_id,
                          const std::vector<core::Timestamp>& contacts) {
  json::array times;
  for (const core::Timestamp contact : contacts)
    times.emplace_back(core::format_timestamp(contact));
  return json::serialize(
      json::object{{"customer_id", customer_id}, {"contacts", std::move(times)}});
}

Result<std::pair<std::string, std::vector<core::Timestamp>>> parse_contacts_json(
    std::string_view text) {
  constexpr std::string_view what = "contacts";
  json::value holder;
  auto object = parse_object(text, holder, what);
  if (!object) return object.error();
  auto id = string_member(**object, "customer_id", what);
  if (!id) return id.error();
  const json::value* list = (*object)->if_contains("contacts");
  if (list == nullptr || !list->is_array()) {
    return Error{"contacts.contacts", "missing or not an array"};
  }
  std::vector<core::Timestamp> contacts;
  for (const json::value& item : list->get_array()) {
    if (!item.is_string()) return Error{"contacts.contacts", "an item is not a string"};
    auto instant = core::parse_timestamp(item.get_string());
    if (!instant) return instant.error().within("contacts.contacts");
    contacts.push_back(*instant);
  }
  return std::pair(std::move(*id), std::move(contacts));
}

}  // namespace relance::state
