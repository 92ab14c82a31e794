#include "core/dunning/scheduler.hpp"

#include <gtest/gtest.h>

#include "core/dunning/simulate.hpp"

namespace relance::core::dunning {
namespace {

using namespace std::chrono;

Date d(int y, unsigned m, unsigned day) { return year{y} / month{m} / std::chrono::day{day}; }
Timestamp at(const char* text) { return parse_timestamp(text).value(); }
Money eur(const char* amount) { return parse_money(amount, "EUR").value(); }
std::string text(std::optional<Timestamp> instant) {
  return instant ? format_timestamp(*instant) : "(nothing scheduled)";
}

PolicyStep step(std::string name, const char* offset, Channel channel = Channel::email,
                std::string template_name = "reminder") {
  PolicyStep s;
  s.name = std::move(name);
  s.at = parse_step_offset(offset).value();
  s.channel = channel;
  s.template_name = std::move(template_name);
  return s;
}

// courtesy due-5bd, first due+3d, second due+15d, notice due+30d, escalation due+45d (CRM).
Policy standard_policy() {
  Policy policy;
  policy.name = "standard";
  policy.calendar = "fr";
  policy.steps = {step("courtesy", "due-5bd", Channel::email, "courtesy"), step("first", "due+3d"),
                  step("second", "due+15d", Channel::email, "statement"),
                  step("notice", "due+30d", Channel::email, "formal_notice"),
                  step("escalation", "due+45d", Channel::crm_task, "escalation_task")};
  policy.steps[3].claim = Claim::interest_and_indemnity;
  policy.steps[3].pay_within_days = 8;
  return policy;
}

PolicySet policies(Policy policy = standard_policy(), SendWindow window = {},
                   ContactPressure pressure = {}) {
  Assignment assignment;
  assignment.default_policy = policy.name;
  std::map<std::string, Policy> map;
  map.emplace(policy.name, std::move(policy));
  return PolicySet(std::move(map), assignment, Delivery{std::move(window), pressure});
}

Scheduler make(PolicySet set = policies(), SchedulerOptions options = {}) {
  auto scheduler = Scheduler::create(std::move(set), {}, std::move(options));
  EXPECT_TRUE(scheduler.ok()) << scheduler.error().to_string();
  return std::move(scheduler).value();
}

ReceivableSnapshot invoice(std::string id, std::string customer, Date due,
                           const char* amount = "1000.00") {
  ReceivableSnapshot r;
  r.invoice_id = std::move(id);
  r.customer_id = std::move(customer);
  r.original = eur(amount);
  r.open = eur(amount);
  r.issue_date = add_days(due, -30);
  r.due_date = due;
  return r;
}

CustomerSnapshot customer(std::string id, std::string timezone = "Europe/Paris") {
  CustomerSnapshot c;
  c.customer_id = std::move(id);
  c.name = "Client " + c.customer_id;
  c.timezone = std::move(timezone);
  c.language = "fr";
  return c;
}

void add(Scheduler& scheduler, const ReceivableSnapshot& r, Timestamp now) {
  auto progress = scheduler.update(r, now);
  ASSERT_TRUE(progress.ok()) << progress.error().to_string();
}

TEST(Scheduler, courtesy_reminder_five_business_days_before_a_due_date_after_french_holidays) {
  // Due Friday 15 May 2026: Ascension is Thursday 14 May, 8 May (Victoire 1945) a Friday. Five
  // business days back: 13, 12, 11, 7, 6 May. A count that ignores holidays would say 8 May.
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  add(scheduler, invoice("INV-1", "C1", d(2026, 5, 15)), at("2026-04-15T10:00:00Z"));
  // 09:00 in Paris (UTC+2 in May).
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-05-06T07:00:00Z");
  EXPECT_TRUE(scheduler.tick(at("2026-05-06T06:59:59Z")).actions.empty());
  const TickResult result = scheduler.tick(at("2026-05-06T07:00:00Z"));
  ASSERT_EQ(result.actions.size(), 1u);
  const Action& action = result.actions[0];
  EXPECT_EQ(action.step, "courtesy");
  EXPECT_EQ(action.step_number, 1);
  EXPECT_EQ(action.template_name, "courtesy");
  EXPECT_EQ(action.as_of, d(2026, 5, 6));
  ASSERT_EQ(action.invoices.size(), 1u);
  EXPECT_EQ(action.invoices[0].invoice_id, "INV-1");
  EXPECT_EQ(action.invoices[0].days_late, 0);
  EXPECT_EQ(action.invoices[0].step_reached, 1);
  EXPECT_TRUE(result.skipped.empty());
  ASSERT_EQ(result.progress.size(), 1u);
  EXPECT_EQ(result.progress[0].progress.level, 1);
  // Next: first reminder due+3d = Monday 18 May, 09:00 Paris.
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-05-18T07:00:00Z");
}

TEST(Scheduler, a_backlog_is_taken_in_parts_of_whole_customers_the_earliest_first) {
  Policy policy;
  policy.name = "one";
  policy.steps = {step("first", "due+3d")};
  Scheduler scheduler = make(policies(policy));
  // Steps on Monday 2 March (C), Thursday 5 March (A, two invoices) and Friday 6 March (B).
  add(scheduler, invoice("C-1", "C", d(2026, 2, 27)), at("2026-02-01T00:00:00Z"));
  add(scheduler, invoice("A-1", "A", d(2026, 3, 2)), at("2026-02-01T00:00:00Z"));
  add(scheduler, invoice("A-2", "A", d(2026, 3, 2)), at("2026-02-01T00:00:00Z"));
  add(scheduler, invoice("B-1", "B", d(2026, 3, 3)), at("2026-02-01T00:00:00Z"));
  // A week of downtime, then ticks of at most one receivable each.
  const Timestamp now = at("2026-03-10T10:00:00Z");
  const TickResult first = scheduler.tick(now, 1);
  ASSERT_EQ(first.actions.size(), 1u);
  EXPECT_EQ(first.actions[0].customer_id, "C");
  EXPECT_TRUE(first.unfinished);
  // A's two invoices go together: a customer's run is never cut.
  const TickResult second = scheduler.tick(now, 1);
  ASSERT_EQ(second.actions.size(), 1u);
  EXPECT_EQ(second.actions[0].customer_id, "A");
  EXPECT_EQ(second.actions[0].invoices.size(), 2u);
  EXPECT_TRUE(second.unfinished);
  const TickResult third = scheduler.tick(now, 1);
  ASSERT_EQ(third.actions.size(), 1u);
  EXPECT_EQ(third.actions[0].customer_id, "B");
  EXPECT_FALSE(third.unfinished);
  EXPECT_FALSE(scheduler.next_moment());
}

TEST(Scheduler, quiet_hours_apply_in_the_customers_time_zone) {
  SendWindow window;
  window.hours = {parse_local_time_range("08:00-20:00").value()};
  window.quiet_hours = {parse_local_time_range("19:00-10:00").value()};
  Policy policy;
  policy.name = "one";
  policy.steps = {step("first", "due+3d")};
  Scheduler scheduler = make(policies(policy, window));
  ASSERT_TRUE(scheduler.update_customer(customer("NY", "America/New_York")).ok());
  ASSERT_TRUE(scheduler.update_customer(customer("PA", "Europe/Paris")).ok());
  // Due Monday 2 March 2026: step on Thursday 5 March, from 10:00 local (quiet until then).
  add(scheduler, invoice("INV-NY", "NY", d(2026, 3, 2)), at("2026-03-01T00:00:00Z"));
  add(scheduler, invoice("INV-PA", "PA", d(2026, 3, 2)), at("2026-03-01T00:00:00Z"));
  EXPECT_EQ(text(scheduler.scheduled_at("INV-PA")), "2026-03-05T09:00:00Z");  // 10:00 UTC+1
  EXPECT_EQ(text(scheduler.scheduled_at("INV-NY")), "2026-03-05T15:00:00Z");  // 10:00 UTC-5
  // 14:00Z is 09:00 in New York: inside the hours but in quiet time there.
  const TickResult early = scheduler.tick(at("2026-03-05T14:00:00Z"));
  ASSERT_EQ(early.actions.size(), 1u);
  EXPECT_EQ(early.actions[0].customer_id, "PA");
  const TickResult later = scheduler.tick(at("2026-03-05T15:00:00Z"));
  ASSERT_EQ(later.actions.size(), 1u);
  EXPECT_EQ(later.actions[0].customer_id, "NY");
  EXPECT_EQ(later.actions[0].as_of, d(2026, 3, 5));
}

TEST(Scheduler, broken_promise_resumes_at_the_step_it_was) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  ReceivableSnapshot r = invoice("INV-1", "C1", d(2026, 1, 15));
  add(scheduler, r, at("2026-01-01T00:00:00Z"));
  (void)scheduler.tick(at("2026-01-08T12:00:00Z"));  // courtesy
  // First reminder: due+3d is Sunday 18 January, so Monday 19.
  const TickResult first = scheduler.tick(at("2026-01-19T08:00:00Z"));
  ASSERT_EQ(first.actions.size(), 1u);
  EXPECT_EQ(first.actions[0].step, "first");
  // Promise on 20 January to pay on 10 February, grace 3 days: paused through 13 February.
  r.standing = Standing::promised;
  r.paused_through = d(2026, 2, 13);
  auto progress = scheduler.update(r, at("2026-01-20T10:00:00Z"));
  ASSERT_TRUE(progress.ok());
  EXPECT_EQ(progress->level, 2);
  // The second reminder (due+15d, 30 January) waits for the day after: Saturday 14 February,
  // so Monday 16, 09:00 Paris. Nothing goes out in between.
  EXPECT_EQ(text(scheduler.next_moment()), "2026-02-16T08:00:00Z");
  EXPECT_TRUE(scheduler.tick(at("2026-02-15T23:00:00Z")).actions.empty());
  // The engine reports the promise broken: the schedule does not move again.
  r.standing = Standing::active;
  r.paused_through.reset();
  ASSERT_TRUE(scheduler.update(r, at("2026-02-14T00:00:00Z")).ok());
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-02-16T08:00:00Z");
  const TickResult resumed = scheduler.tick(at("2026-02-16T08:00:00Z"));
  ASSERT_EQ(resumed.actions.size(), 1u);
  EXPECT_EQ(resumed.actions[0].step, "second");
  EXPECT_EQ(resumed.actions[0].invoices[0].step_reached, 3);
  EXPECT_TRUE(resumed.skipped.empty());
  // The notice keeps its 15 days after the second reminder: 14 Feb + 15 = 1 March (Sunday) -> 2.
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-03-02T08:00:00Z");
  EXPECT_EQ(scheduler.progress("INV-1")->shift_days, 15);
}

TEST(Scheduler, dispute_pauses_the_invoice_and_resolution_resumes_it) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  ReceivableSnapshot r = invoice("INV-1", "C1", d(2026, 1, 15));
  r.progress.level = 2;  // courtesy and first reminder already sent (a restart)
  r.progress.last_step_date = d(2026, 1, 19);
  add(scheduler, r, at("2026-01-20T00:00:00Z"));
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-01-30T08:00:00Z");
  r.standing = Standing::disputed;
  add(scheduler, r, at("2026-01-22T10:00:00Z"));
  EXPECT_FALSE(scheduler.scheduled_at("INV-1").has_value());
  EXPECT_EQ(scheduler.scheduled_count(), 0u);
  EXPECT_TRUE(scheduler.tick(at("2026-02-19T12:00:00Z")).actions.empty());
  // Resolved on Friday 20 February: the second reminder goes out that day, not the notice.
  r.standing = Standing::active;
  auto progress = scheduler.update(r, at("2026-02-20T10:00:00Z"));
  ASSERT_TRUE(progress.ok());
  EXPECT_EQ(progress->shift_days, 21);
  const TickResult result = scheduler.tick(at("2026-02-20T10:00:00Z"));
  ASSERT_EQ(result.actions.size(), 1u);
  EXPECT_EQ(result.actions[0].step, "second");
  EXPECT_TRUE(result.skipped.empty());
  // Notice: 14 February + 21 days = Saturday 7 March -> Monday 9.
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-03-09T08:00:00Z");
}

TEST(Scheduler, payment_between_scheduling_and_tick_sends_nothing) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  ReceivableSnapshot r = invoice("INV-1", "C1", d(2026, 1, 15));
  r.progress.level = 1;
  add(scheduler, r, at("2026-01-10T00:00:00Z"));
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-01-19T08:00:00Z");
  r.standing = Standing::closed;
  r.open = eur("0.00");
  add(scheduler, r, at("2026-01-19T07:59:00Z"));
  const TickResult result = scheduler.tick(at("2026-01-19T08:00:00Z"));
  EXPECT_TRUE(result.actions.empty());
  EXPECT_TRUE(result.skipped.empty());
  EXPECT_EQ(scheduler.scheduled_count(), 0u);
  EXPECT_EQ(scheduler.receivable_count(), 0u);
  EXPECT_FALSE(scheduler.next_moment().has_value());
}

TEST(Scheduler, three_overdue_invoices_of_one_customer_make_one_statement) {
  Policy policy;
  policy.name = "one";
  policy.steps = {step("first", "due+3d")};
  Scheduler scheduler = make(policies(policy));
  CustomerSnapshot c = customer("C1");
  c.credits.push_back({CreditLine::Kind::credit_note, "AV-7", d(2026, 1, 2), eur("100.00")});
  c.credits.push_back({CreditLine::Kind::unapplied_cash, "VIR-9", d(2026, 1, 3), eur("50.00")});
  ASSERT_TRUE(scheduler.update_customer(c).ok());
  ASSERT_TRUE(scheduler.update_customer(customer("C2")).ok());
  const Timestamp start = at("2026-01-01T00:00:00Z");
  add(scheduler, invoice("A", "C1", d(2026, 1, 5), "100.00"), start);
  add(scheduler, invoice("B", "C1", d(2026, 1, 9), "200.00"), start);
  add(scheduler, invoice("C", "C1", d(2026, 1, 12), "300.00"), start);
  add(scheduler, invoice("D", "C1", d(2026, 2, 20), "400.00"), start);  // not due yet
  add(scheduler, invoice("E", "C2", d(2026, 1, 12), "500.00"), start);
  const TickResult result = scheduler.tick(at("2026-01-16T10:00:00Z"));
  ASSERT_EQ(result.actions.size(), 2u);
  const Action& statement = result.actions[0];
  EXPECT_EQ(statement.customer_id, "C1");
  EXPECT_EQ(statement.channel, Channel::email);
  ASSERT_EQ(statement.invoices.size(), 3u);
  EXPECT_EQ(statement.invoices[0].invoice_id, "A");
  EXPECT_EQ(statement.invoices[1].invoice_id, "B");
  EXPECT_EQ(statement.invoices[2].invoice_id, "C");
  EXPECT_EQ(statement.invoices[0].days_late, 11);
  for (const ActionInvoice& line : statement.invoices) EXPECT_EQ(line.step_reached, 1);
  ASSERT_EQ(statement.credits.size(), 2u);
  ASSERT_EQ(statement.totals.size(), 1u);
  EXPECT_EQ(statement.totals[0], eur("450.00"));  // 600 open - 100 credit note - 50 cash
  // The latest step date of the run names it: C's 15 January.
  EXPECT_EQ(statement.idempotency_key.rfind("dunning/C1/first/2026-01-15/", 0), 0u)
      << statement.idempotency_key;
  EXPECT_EQ(result.actions[1].customer_id, "C2");
  EXPECT_EQ(result.progress.size(), 4u);
}

TEST(Scheduler, a_statement_lists_invoices_due_the_same_day_in_natural_order_of_their_ids) {
  Policy policy;
  policy.name = "one";
  policy.steps = {step("first", "due+3d")};
  Scheduler scheduler = make(policies(policy));
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  const Timestamp start = at("2026-01-01T00:00:00Z");
  for (const char* id : {"INV-10", "INV-9", "INV-100"}) {
    add(scheduler, invoice(id, "C1", d(2026, 1, 5), "100.00"), start);
  }
  add(scheduler, invoice("INV-11", "C1", d(2026, 1, 2), "100.00"), start);
  const TickResult result = scheduler.tick(at("2026-01-16T10:00:00Z"));
  ASSERT_EQ(result.actions.size(), 1u);
  std::vector<std::string> listed;
  for (const ActionInvoice& line : result.actions[0].invoices) listed.push_back(line.invoice_id);
  EXPECT_EQ(listed, (std::vector<std::string>{"INV-11", "INV-9", "INV-10", "INV-100"}));
}

TEST(Scheduler, statement_lists_soon_due_invoices_when_asked) {
  Policy policy;
  policy.name = "one";
  policy.steps = {step("first", "due+3d")};
  SchedulerOptions options;
  options.statement_soon_due_days = 7;
  Scheduler scheduler = make(policies(policy), options);
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  const Timestamp start = at("2026-01-01T00:00:00Z");
  add(scheduler, invoice("LATE", "C1", d(2026, 1, 12)), start);
  add(scheduler, invoice("SOON", "C1", d(2026, 1, 20)), start);   // within 7 days of the 15th
  add(scheduler, invoice("LATER", "C1", d(2026, 1, 30)), start);  // beyond
  const TickResult result = scheduler.tick(at("2026-01-15T10:00:00Z"));
  ASSERT_EQ(result.actions.size(), 1u);
  ASSERT_EQ(result.actions[0].invoices.size(), 2u);
  EXPECT_EQ(result.actions[0].invoices[1].invoice_id, "SOON");
  EXPECT_EQ(result.actions[0].invoices[1].days_late, 0);
  EXPECT_FALSE(result.actions[0].invoices[1].step_reached.has_value());
}

TEST(Scheduler, a_customer_moving_segment_changes_policy_and_schedule) {
  Policy standard = standard_policy();
  Policy key;
  key.name = "key_accounts";
  key.steps = {step("call", "due+1d", Channel::crm_task, "task")};
  Assignment assignment;
  assignment.default_policy = "standard";
  assignment.by_segment["key"] = "key_accounts";
  std::map<std::string, Policy> map;
  map.emplace("standard", standard);
  map.emplace("key_accounts", key);
  Scheduler scheduler = make(PolicySet(std::move(map), assignment, Delivery{}));
  CustomerSnapshot c = customer("C1");
  ASSERT_TRUE(scheduler.update_customer(c).ok());
  ReceivableSnapshot r = invoice("INV-1", "C1", d(2026, 1, 15));
  r.progress.level = 1;
  add(scheduler, r, at("2026-01-10T00:00:00Z"));
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-01-19T08:00:00Z");
  c.segment = "key";
  ASSERT_TRUE(scheduler.update_customer(c).ok());
  // Level 1 of a one-step policy: nothing left for this invoice.
  EXPECT_FALSE(scheduler.scheduled_at("INV-1").has_value());
  ReceivableSnapshot fresh = invoice("INV-2", "C1", d(2026, 1, 15));
  add(scheduler, fresh, at("2026-01-10T00:00:00Z"));
  EXPECT_EQ(text(scheduler.scheduled_at("INV-2")), "2026-01-16T08:00:00Z");
  const TickResult result = scheduler.tick(at("2026-01-16T08:00:00Z"));
  ASSERT_EQ(result.actions.size(), 1u);
  EXPECT_EQ(result.actions[0].policy, "key_accounts");
  EXPECT_EQ(result.actions[0].channel, Channel::crm_task);
}

TEST(Scheduler, contact_pressure_defers_a_second_run_within_the_interval) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  const Timestamp start = at("2026-01-01T00:00:00Z");
  ReceivableSnapshot a = invoice("A", "C1", d(2026, 1, 15));
  a.progress.level = 1;
  ReceivableSnapshot b = invoice("B", "C1", d(2026, 1, 16));
  b.progress.level = 1;
  add(scheduler, a, start);
  add(scheduler, b, start);
  // A's first reminder Monday 19 January; B's due+3d is also Monday 19 (Sunday 18 moved): one run.
  // Then C with a step on Tuesday 20, within 48 hours of that contact.
  ReceivableSnapshot c = invoice("C", "C1", d(2026, 1, 17));  // +3 = Tuesday 20
  c.progress.level = 1;
  add(scheduler, c, start);
  EXPECT_EQ(scheduler.tick(at("2026-01-19T08:00:00Z")).actions.size(), 1u);
  EXPECT_TRUE(scheduler.tick(at("2026-01-20T08:00:00Z")).actions.empty());
  EXPECT_EQ(text(scheduler.scheduled_at("C")), "2026-01-21T08:00:00Z");
  const TickResult deferred = scheduler.tick(at("2026-01-21T08:00:00Z"));
  ASSERT_EQ(deferred.actions.size(), 1u);
  // The statement lists every overdue invoice of the customer, only C moved a step.
  ASSERT_EQ(deferred.actions[0].invoices.size(), 3u);
  EXPECT_FALSE(deferred.actions[0].invoices[0].step_reached.has_value());
  EXPECT_EQ(deferred.actions[0].invoices[2].step_reached, 2);
}

TEST(Scheduler, a_held_action_keeps_its_step_and_is_tried_again_at_the_retry_time) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  add(scheduler, invoice("INV-1", "C1", d(2026, 5, 15)), at("2026-04-15T10:00:00Z"));
  const TickResult first = scheduler.tick(at("2026-05-06T07:00:00Z"));
  ASSERT_EQ(first.actions.size(), 1u);
  ASSERT_EQ(first.progress.size(), 1u);
  EXPECT_EQ(first.progress[0].progress.level, 1);

  // The caller could not send it: the courtesy step is not passed.
  const std::vector<ProgressChange> restored =
      scheduler.hold(first.actions[0], at("2026-05-06T08:00:00Z"));
  ASSERT_EQ(restored.size(), 1u);
  EXPECT_EQ(restored[0].invoice_id, "INV-1");
  EXPECT_EQ(restored[0].progress, DunningProgress{});
  EXPECT_EQ(scheduler.progress("INV-1")->level, 0);
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-05-06T08:00:00Z");
  // Holding it twice, or an action of another tick, changes nothing.
  EXPECT_TRUE(scheduler.hold(first.actions[0], at("2026-05-07T08:00:00Z")).empty());
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-05-06T08:00:00Z");

  EXPECT_TRUE(scheduler.tick(at("2026-05-06T07:59:59Z")).actions.empty());
  const TickResult retried = scheduler.tick(at("2026-05-06T08:00:00Z"));
  ASSERT_EQ(retried.actions.size(), 1u);
  EXPECT_EQ(retried.actions[0].step, "courtesy");
  // The same step on the same planned date: the same key, so a sink sees it once at most.
  EXPECT_EQ(retried.actions[0].idempotency_key, first.actions[0].idempotency_key);
  EXPECT_EQ(scheduler.progress("INV-1")->level, 1);
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-05-18T07:00:00Z");
}

TEST(Scheduler, a_held_step_retries_in_the_send_window_and_at_once_when_its_data_changes) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  add(scheduler, invoice("INV-1", "C1", d(2026, 5, 15)), at("2026-04-15T10:00:00Z"));
  const TickResult first = scheduler.tick(at("2026-05-06T07:00:00Z"));
  ASSERT_EQ(first.actions.size(), 1u);
  // A retry asked for 20:00 in Paris goes to the next opening of the window, 09:00 on Thursday.
  ASSERT_EQ(scheduler.hold(first.actions[0], at("2026-05-06T18:00:00Z")).size(), 1u);
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-05-07T07:00:00Z");
  // The same profile again (the customer's exposure moved, nothing the step needs): still held.
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-05-07T07:00:00Z");
  // The customer's profile changed (an address given): the held step is due again at once.
  CustomerSnapshot addressed = customer("C1");
  addressed.emails = {"ap@c1.example"};
  ASSERT_TRUE(scheduler.update_customer(addressed).ok());
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-05-06T07:00:00Z");
  const TickResult after_customer = scheduler.tick(at("2026-05-06T09:00:00Z"));
  ASSERT_EQ(after_customer.actions.size(), 1u);
  EXPECT_EQ(after_customer.actions[0].idempotency_key, first.actions[0].idempotency_key);

  // Held again, then the receivable itself changes (a partial payment): due again at once.
  ASSERT_EQ(scheduler.hold(after_customer.actions[0], at("2026-05-08T07:00:00Z")).size(), 1u);
  ReceivableSnapshot paid_part = invoice("INV-1", "C1", d(2026, 5, 15));
  paid_part.open = eur("400.00");
  add(scheduler, paid_part, at("2026-05-06T10:00:00Z"));
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-05-06T07:00:00Z");
}

TEST(Scheduler, a_channel_held_for_the_customer_keeps_its_later_steps_waiting_until_it_changes) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  add(scheduler, invoice("INV-1", "C1", d(2026, 5, 15)), at("2026-04-15T10:00:00Z"));
  const TickResult first = scheduler.tick(at("2026-05-06T07:00:00Z"));
  ASSERT_EQ(first.actions.size(), 1u);
  // No address: the customer's e-mail channel is held until Thursday 09:00.
  ASSERT_EQ(
      scheduler.hold(first.actions[0], at("2026-05-06T18:00:00Z"), Scheduler::HoldScope::channel)
          .size(),
      1u);
  // A second invoice comes, its courtesy step due at once: it waits with the first, passed by
  // nothing (no step reached, none skipped), even when it changes.
  add(scheduler, invoice("INV-2", "C1", d(2026, 5, 12)), at("2026-05-06T08:00:00Z"));
  const TickResult during = scheduler.tick(at("2026-05-06T08:00:00Z"));
  EXPECT_TRUE(during.actions.empty());
  EXPECT_TRUE(during.skipped.empty());
  EXPECT_TRUE(during.progress.empty());
  EXPECT_EQ(text(scheduler.scheduled_at("INV-2")), "2026-05-07T07:00:00Z");
  ReceivableSnapshot changed = invoice("INV-2", "C1", d(2026, 5, 12), "900.00");
  add(scheduler, changed, at("2026-05-06T09:00:00Z"));
  EXPECT_TRUE(scheduler.tick(at("2026-05-06T09:00:00Z")).actions.empty());
  EXPECT_EQ(text(scheduler.scheduled_at("INV-2")), "2026-05-07T07:00:00Z");
  // The address comes: one e-mail for both, at once.
  CustomerSnapshot addressed = customer("C1");
  addressed.emails = {"ap@c1.example"};
  ASSERT_TRUE(scheduler.update_customer(addressed).ok());
  const TickResult after = scheduler.tick(at("2026-05-06T10:00:00Z"));
  ASSERT_EQ(after.actions.size(), 1u);
  ASSERT_EQ(after.actions[0].invoices.size(), 2u);
  EXPECT_EQ(after.actions[0].invoices[0].invoice_id, "INV-2");
  EXPECT_EQ(after.actions[0].invoices[1].invoice_id, "INV-1");
}

TEST(Scheduler, a_step_held_for_its_invoices_alone_lets_the_customers_other_steps_go) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  add(scheduler, invoice("INV-1", "C1", d(2026, 5, 15)), at("2026-04-15T10:00:00Z"));
  const TickResult first = scheduler.tick(at("2026-05-06T07:00:00Z"));
  ASSERT_EQ(first.actions.size(), 1u);
  ASSERT_EQ(scheduler.hold(first.actions[0], at("2026-05-06T18:00:00Z")).size(), 1u);
  // No contact was made (the run was held): the second invoice's step goes out at once.
  add(scheduler, invoice("INV-2", "C1", d(2026, 5, 12)), at("2026-05-06T08:00:00Z"));
  const TickResult during = scheduler.tick(at("2026-05-06T08:00:00Z"));
  ASSERT_EQ(during.actions.size(), 1u);
  EXPECT_EQ(during.actions[0].invoices.front().invoice_id, "INV-2");
}

TEST(Scheduler, a_held_step_waits_on_its_channel_until_its_invoice_is_settled) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  add(scheduler, invoice("INV-1", "C1", d(2026, 5, 15)), at("2026-04-15T10:00:00Z"));
  // Not due yet: nothing waits.
  EXPECT_FALSE(scheduler.step_waiting("C1", Channel::email, at("2026-04-20T10:00:00Z")));
  const TickResult first = scheduler.tick(at("2026-05-06T07:00:00Z"));
  ASSERT_EQ(first.actions.size(), 1u);
  ASSERT_EQ(first.actions[0].channel, Channel::email);
  // Gone out: nothing waits any more.
  EXPECT_FALSE(scheduler.step_waiting("C1", Channel::email, at("2026-05-06T07:00:00Z")));
  ASSERT_EQ(scheduler.hold(first.actions[0], at("2026-05-06T18:00:00Z")).size(), 1u);
  // Held: it waits, also outside the send window and the day after, on its channel only.
  EXPECT_TRUE(scheduler.step_waiting("C1", Channel::email, at("2026-05-06T19:00:00Z")));
  EXPECT_TRUE(scheduler.step_waiting("C1", Channel::email, at("2026-05-07T05:00:00Z")));
  EXPECT_FALSE(scheduler.step_waiting("C1", Channel::crm_task, at("2026-05-06T19:00:00Z")));
  EXPECT_FALSE(scheduler.step_waiting("C2", Channel::email, at("2026-05-06T19:00:00Z")));
  // Paid: no step waits, though none went out.
  ReceivableSnapshot paid = invoice("INV-1", "C1", d(2026, 5, 15));
  paid.standing = Standing::closed;
  add(scheduler, paid, at("2026-05-06T19:00:00Z"));
  EXPECT_FALSE(scheduler.step_waiting("C1", Channel::email, at("2026-05-06T19:00:00Z")));
}

TEST(Scheduler, a_held_step_that_skipped_earlier_steps_waits_on_its_own_channel) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  // Two months late when it arrives: the escalation (CRM) goes out, the e-mails before it are
  // skipped (courtesy past due, the others superseded).
  add(scheduler, invoice("INV-1", "C1", d(2026, 3, 2)), at("2026-05-04T07:00:00Z"));
  const TickResult first = scheduler.tick(at("2026-05-04T07:00:00Z"));
  ASSERT_EQ(first.actions.size(), 1u);
  ASSERT_EQ(first.actions[0].channel, Channel::crm_task);
  ASSERT_EQ(scheduler.hold(first.actions[0], at("2026-05-04T08:00:00Z")).size(), 1u);
  // Held back to level 0: what waits is still the escalation, not the courtesy e-mail.
  EXPECT_TRUE(scheduler.step_waiting("C1", Channel::crm_task, at("2026-05-04T07:30:00Z")));
  EXPECT_FALSE(scheduler.step_waiting("C1", Channel::email, at("2026-05-04T07:30:00Z")));
}

TEST(Scheduler, a_run_whose_every_action_is_held_is_no_contact) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  const Timestamp start = at("2026-01-01T00:00:00Z");
  ReceivableSnapshot a = invoice("A", "C1", d(2026, 1, 16));  // +3 = Monday 19 January
  a.progress.level = 1;
  ReceivableSnapshot c = invoice("C", "C1", d(2026, 1, 17));  // +3 = Tuesday 20 January
  c.progress.level = 1;
  add(scheduler, a, start);
  add(scheduler, c, start);
  const TickResult monday = scheduler.tick(at("2026-01-19T08:00:00Z"));
  ASSERT_EQ(monday.actions.size(), 1u);
  ASSERT_EQ(scheduler.hold(monday.actions[0], at("2026-01-26T08:00:00Z")).size(), 1u);
  // Nothing reached the customer on Monday: Tuesday's step is not deferred by contact pressure
  // (contact_pressure_defers_a_second_run_within_the_interval shows it would be otherwise).
  const TickResult tuesday = scheduler.tick(at("2026-01-20T08:00:00Z"));
  ASSERT_EQ(tuesday.actions.size(), 1u);
  ASSERT_EQ(tuesday.actions[0].invoices.size(), 2u);
  EXPECT_FALSE(tuesday.actions[0].invoices[0].step_reached.has_value());  // A, still held
  EXPECT_EQ(tuesday.actions[0].invoices[1].invoice_id, "C");
  EXPECT_EQ(tuesday.actions[0].invoices[1].step_reached, 2);
  EXPECT_EQ(scheduler.progress("A")->level, 1);
  EXPECT_EQ(scheduler.progress("C")->level, 2);
}

TEST(Scheduler, after_downtime_only_the_latest_step_goes_out_and_the_others_are_skipped) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  add(scheduler, invoice("INV-1", "C1", d(2026, 1, 15)), at("2026-01-01T00:00:00Z"));
  // Down from 1 January to 20 February: courtesy, first, second and notice have all come due.
  const TickResult result = scheduler.tick(at("2026-02-20T10:00:00Z"));
  ASSERT_EQ(result.actions.size(), 1u);
  EXPECT_EQ(result.actions[0].step, "notice");
  EXPECT_EQ(result.actions[0].step_number, 4);
  EXPECT_EQ(result.actions[0].claim, Claim::interest_and_indemnity);
  EXPECT_EQ(result.actions[0].pay_by, d(2026, 2, 28));
  ASSERT_EQ(result.skipped.size(), 3u);
  EXPECT_EQ(result.skipped[0].step, "courtesy");
  EXPECT_EQ(result.skipped[0].reason, SkipReason::past_due);
  EXPECT_EQ(result.skipped[1].step, "first");
  EXPECT_EQ(result.skipped[1].reason, SkipReason::superseded);
  EXPECT_EQ(result.skipped[2].step, "second");
  EXPECT_EQ(result.skipped[2].planned, d(2026, 1, 30));
  EXPECT_EQ(scheduler.progress("INV-1")->level, 4);
  // Escalation, due+45d = 1 March (Sunday) -> Monday 2, by CRM task.
  const TickResult escalation = scheduler.tick(at("2026-03-02T08:00:00Z"));
  ASSERT_EQ(escalation.actions.size(), 1u);
  EXPECT_EQ(escalation.actions[0].channel, Channel::crm_task);
  EXPECT_EQ(escalation.actions[0].step, "escalation");
  EXPECT_FALSE(scheduler.scheduled_at("INV-1").has_value());
}

TEST(Scheduler, idempotency_keys_are_stable_across_runs_and_restarts) {
  const auto run = [](Timestamp tick_at, DunningProgress progress) {
    Scheduler scheduler = make();
    EXPECT_TRUE(scheduler.update_customer(customer("C1")).ok());
    ReceivableSnapshot r = invoice("INV-1", "C1", d(2026, 1, 15));
    r.progress = progress;
    EXPECT_TRUE(scheduler.update(r, at("2026-01-10T00:00:00Z")).ok());
    TickResult result = scheduler.tick(tick_at);
    EXPECT_EQ(result.actions.size(), 1u);
    return result.actions.empty() ? std::string() : result.actions[0].idempotency_key;
  };
  DunningProgress after_courtesy;
  after_courtesy.level = 1;
  after_courtesy.last_step_date = d(2026, 1, 8);
  const std::string key = run(at("2026-01-19T08:00:00Z"), after_courtesy);
  EXPECT_EQ(key.rfind("dunning/C1/first/2026-01-19/", 0), 0u) << key;
  EXPECT_EQ(key.size(), std::string("dunning/C1/first/2026-01-19/").size() + 16);
  // A restart that ticks later (the action was not marked sent) produces the same key.
  EXPECT_EQ(run(at("2026-01-19T15:30:00Z"), after_courtesy), key);
  EXPECT_EQ(run(at("2026-01-20T08:00:00Z"), after_courtesy), key);
}

TEST(Scheduler, same_step_and_date_for_other_invoices_gets_another_key) {
  // A and B both reach "first" planned on Monday 19 January; B is known only after A's run, so
  // its run is deferred by contact pressure: the outbox must not take it for A's.
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  ReceivableSnapshot a = invoice("A", "C1", d(2026, 1, 16));
  a.progress.level = 1;
  add(scheduler, a, at("2026-01-10T00:00:00Z"));
  const TickResult first = scheduler.tick(at("2026-01-19T08:00:00Z"));
  ASSERT_EQ(first.actions.size(), 1u);
  ReceivableSnapshot b = invoice("B", "C1", d(2026, 1, 16));
  b.progress.level = 1;
  add(scheduler, b, at("2026-01-19T09:00:00Z"));
  (void)scheduler.tick(at("2026-01-19T09:00:00Z"));
  const TickResult second = scheduler.tick(at("2026-01-21T08:00:00Z"));
  ASSERT_EQ(second.actions.size(), 1u);
  EXPECT_EQ(second.actions[0].step, "first");
  EXPECT_NE(second.actions[0].idempotency_key, first.actions[0].idempotency_key);
}

TEST(Scheduler, payment_plan_reminds_the_unpaid_instalments_instead_of_the_steps) {
  Scheduler scheduler = make();
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  ReceivableSnapshot r = invoice("INV-1", "C1", d(2026, 1, 15));
  r.standing = Standing::payment_plan;
  r.instalments = {{d(2026, 2, 10), eur("0.00")},  // already paid
                   {d(2026, 3, 10), eur("500.00")}};
  add(scheduler, r, at("2026-01-20T00:00:00Z"));
  // Three days before 10 March (Saturday 7) -> Monday 9.
  EXPECT_EQ(text(scheduler.scheduled_at("INV-1")), "2026-03-09T08:00:00Z");
  const TickResult result = scheduler.tick(at("2026-03-09T08:00:00Z"));
  ASSERT_EQ(result.actions.size(), 1u);
  EXPECT_EQ(result.actions[0].step, "instalment");
  EXPECT_EQ(result.actions[0].template_name, "instalment_reminder");
  EXPECT_EQ(result.actions[0].invoices[0].instalment, d(2026, 3, 10));
  EXPECT_EQ(result.actions[0].totals[0], eur("500.00"));
  EXPECT_EQ(result.actions[0].idempotency_key.rfind("dunning/C1/instalment/2026-03-10/", 0), 0u);
  EXPECT_FALSE(scheduler.scheduled_at("INV-1").has_value());
}

TEST(Scheduler, step_conditions_skip_what_does_not_apply) {
  Policy policy;
  policy.name = "p";
  policy.steps = {step("first", "due+3d"), step("call", "due+10d", Channel::crm_task, "task")};
  policy.steps[1].when.min_open_amount = eur("5000.00");
  Scheduler scheduler = make(policies(policy));
  ASSERT_TRUE(scheduler.update_customer(customer("C1")).ok());
  ReceivableSnapshot r = invoice("INV-1", "C1", d(2026, 1, 15), "100.00");
  r.progress.level = 1;
  add(scheduler, r, at("2026-01-10T00:00:00Z"));
  const TickResult result = scheduler.tick(at("2026-01-26T10:00:00Z"));
  EXPECT_TRUE(result.actions.empty());
  ASSERT_EQ(result.skipped.size(), 1u);
  EXPECT_EQ(result.skipped[0].reason, SkipReason::conditions);
  EXPECT_FALSE(scheduler.scheduled_at("INV-1").has_value());
}

TEST(Scheduler, refuses_an_unknown_time_zone_and_calendar) {
  Scheduler scheduler = make();
  const auto refused = scheduler.update_customer(customer("C1", "Europe/Atlantis"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "customers.C1.timezone");
  Policy policy = standard_policy();
  policy.calendar = "mars";
  const auto created = Scheduler::create(policies(policy));
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().message.find("mars"), std::string::npos);
}

TEST(Simulate, replays_invoices_and_payments_over_a_period) {
  SimulationInput input;
  input.customers = {customer("C1")};
  input.invoices = {invoice("PAID", "C1", d(2026, 1, 15)), invoice("LATE", "C1", d(2026, 1, 15))};
  // PAID is paid on 16 January, before its first reminder; LATE pays on 10 February.
  input.events = {
      {at("2026-01-16T12:00:00Z"), SimulatedEvent::Kind::payment, "PAID", eur("1000.00"), {}},
      {at("2026-02-10T12:00:00Z"), SimulatedEvent::Kind::payment, "LATE", eur("1000.00"), {}}};
  input.from = at("2026-01-01T00:00:00Z");
  input.to = at("2026-12-31T23:59:59Z");
  const auto result = simulate(policies(), {}, {}, input);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  // Courtesy (both invoices, one message), first and second reminders for LATE only.
  ASSERT_EQ(result->actions.size(), 3u);
  EXPECT_EQ(format_timestamp(result->actions[0].at), "2026-01-08T08:00:00Z");
  EXPECT_EQ(result->actions[0].invoices.size(), 2u);
  EXPECT_EQ(result->actions[1].step, "first");
  ASSERT_EQ(result->actions[1].invoices.size(), 1u);
  EXPECT_EQ(result->actions[1].invoices[0].invoice_id, "LATE");
  EXPECT_EQ(format_timestamp(result->actions[2].at), "2026-01-30T08:00:00Z");
  EXPECT_EQ(result->actions[2].step, "second");
  EXPECT_TRUE(result->skipped.empty());
}

TEST(Simulate, refuses_an_event_for_an_unknown_invoice) {
  SimulationInput input;
  input.events = {
      {at("2026-01-16T12:00:00Z"), SimulatedEvent::Kind::payment, "NOPE", eur("1.00"), {}}};
  input.from = at("2026-01-01T00:00:00Z");
  input.to = at("2026-02-01T00:00:00Z");
  const auto result = simulate(policies(), {}, {}, input);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "events[0].invoice_id");
}

}  // namespace
}  // namespace relance::core::dunning
