// Dunning inside the writer's transaction, with the shipped policies, templates and rates, an
// injected time and a real SQLite store: what the scheduler decides lands in the outbox with the
// state that caused it, once, and survives a restart.

#include "state/dunning_applier.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include "config/config.hpp"
#include "outbox/dispatcher.hpp"
#include "outbox/payload.hpp"
#include "outbox/recheck.hpp"
#include "state/alert_topic.hpp"
#include "state/dunning_setup.hpp"
#include "state/views_on_read.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "temp_dir.hpp"

namespace relance::state {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using store::OutboxRow;
using store::OutboxStatus;

const std::string config_dir = std::string(RELANCE_SOURCE_DIR) + "/config";

core::Date date(const char* text) { return core::parse_date(text).value(); }
core::Timestamp at(const char* text) { return core::parse_timestamp(text).value(); }
core::Money eur(std::int64_t minor) {
  return core::Money{minor, core::Currency::from_code("EUR").value()};
}

core::Event encoded(core::EventData data, core::EventType type, std::string id,
                    core::Timestamp time) {
  core::Event event;
  event.id = std::move(id);
  event.source = "erp/test";
  event.type = type;
  event.time = time;
  event.data = std::move(data);
  core::encode_event(event);
  return event;
}

core::Event customer(const std::string& id, std::vector<std::string> emails, core::Timestamp time,
                     const std::string& event_id = "") {
  core::CustomerUpserted d;
  d.customer_id = id;
  d.name = "Lefèvre & Fils";
  d.emails = std::move(emails);
  d.language = "fr";
  return encoded(d, core::EventType::customer_upserted, event_id.empty() ? "cust-" + id : event_id,
                 time);
}

core::InvoiceData invoice_data(const std::string& id, const std::string& customer_id,
                               std::int64_t amount, const char* issued, const char* due) {
  core::InvoiceData d;
  d.invoice_id = id;
  d.customer_id = customer_id;
  d.amount = eur(amount);
  d.issue_date = date(issued);
  d.due_date = date(due);
  d.number = "FA-" + id;
  return d;
}

core::Event invoice(const std::string& id, const std::string& customer_id, std::int64_t amount,
                    const char* issued, const char* due, core::Timestamp time) {
  return encoded(invoice_data(id, customer_id, amount, issued, due),
                 core::EventType::invoice_issued, "inv-" + id, time);
}

// The invoice's second version, as the ERP corrects it.
core::Event invoice_update(const std::string& id, const std::string& customer_id,
                           std::int64_t amount, const char* issued, const char* due,
                           core::Timestamp time) {
  return encoded(invoice_data(id, customer_id, amount, issued, due),
                 core::EventType::invoice_updated, "inv-" + id + "-v2", time);
}

core::Event payment(const std::string& id, const std::string& invoice_id, std::int64_t amount,
                    const char* received, core::Timestamp time) {
  core::PaymentReceived d;
  d.payment_id = id;
  d.amount = eur(amount);
  d.received_date = date(received);
  d.allocations = {{invoice_id, eur(amount)}};
  return encoded(d, core::EventType::payment_received, "pay-" + id, time);
}

core::Event promise(const std::string& invoice_id, std::int64_t amount, const char* promised,
                    core::Timestamp time) {
  core::PromiseToPayRecorded d;
  d.invoice_ids = {invoice_id};
  d.amount = eur(amount);
  d.promised_date = date(promised);
  d.promise_id = "PR-" + invoice_id;
  return encoded(d, core::EventType::promise_to_pay_recorded, "promise-" + invoice_id, time);
}

config::Config shipped_config() {
  config::Config config;
  config.dunning.policies_directory = config_dir + "/policies";
  config.dunning.templates_directory = config_dir + "/templates";
  config.dunning.rates_directory = config_dir + "/rates";
  config.dunning.company_name = "Exemple SAS";
  config.dunning.company_iban = "FR76 3000 6000 0112 3456 7890 189";
  config.dunning.company_bic = "AGRIFRPP";
  config.dunning.company_email = "compta@exemple.fr";
  config.email.from = "Exemple SAS <relances@exemple.fr>";
  config.email.reply_to = "compta@exemple.fr";
  return config;
}

// The writer's part, driven by hand: one transaction per call, at the time given.
class Harness {
 public:
  explicit Harness(config::Config config = shipped_config(),
                   std::function<void(DunningSetup&)> tune_setup = {})
      : config_(std::move(config)), tune_setup_(std::move(tune_setup)) {
    open();
  }
  // A second daemon on the database of `other` (several daemons on one store).
  explicit Harness(const Harness& other)
      : config_(other.config_), tune_setup_(other.tune_setup_), path_(other.path()) {
    open();
  }

  std::string path() const { return path_.empty() ? dir_.file("relance.db") : path_; }

  void open() {
    auto opened = store::open_sqlite_store({path()});
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    store_ = std::move(opened).value();
    auto options = engine_options(config_.engine);
    ASSERT_TRUE(options.ok());
    auto engine = EngineApplier::open(*store_, *options);
    ASSERT_TRUE(engine.ok()) << engine.error().to_string();
    engine_ = std::move(engine).value();
    auto setup = load_dunning_setup(config_);
    ASSERT_TRUE(setup.ok()) << setup.error().to_string();
    auto tuned = std::make_shared<DunningSetup>(**setup);
    if (tune_setup_) tune_setup_(*tuned);
    auto dunning = DunningApplier::open(*store_, *engine_, std::move(tuned));
    ASSERT_TRUE(dunning.ok()) << dunning.error().to_string();
    dunning_ = std::move(dunning).value();
  }
  // A restart: everything in memory is gone, the database stays.
  void restart() {
    dunning_.reset();
    engine_.reset();
    store_.reset();
    open();
  }

  void write(std::vector<core::Event> events, core::Timestamp now) {
    commit([&](store::Transaction& tx) -> Result<void> {
      for (const core::Event& event : events) {
        auto appended = tx.append(event, now);
        if (!appended) return appended.error();
        if (*appended != store::AppendOutcome::appended) continue;
        if (auto applied = dunning_->apply(tx, event, now); !applied) return applied;
      }
      return {};
    });
  }
  // What the writer does when idle: a transaction only when the applier says time changed
  // something.
  void advance(core::Timestamp now) {
    if (!dunning_->advance_due(now)) return;
    commit([&](store::Transaction& tx) { return dunning_->advance(tx, now); });
  }

  std::vector<OutboxRow> outbox() {
    auto rows = store_->list_outbox(std::nullopt, 0, 1000);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<OutboxRow>{};
  }
  std::vector<store::AlertRow> alerts(std::optional<store::AlertStatus> status) {
    auto rows = store_->list_alerts(status, "", 1000);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<store::AlertRow>{};
  }

  store::Store& store() { return *store_; }
  DunningApplier& dunning() { return *dunning_; }
  EngineApplier& engine() { return *engine_; }
  const config::Config& config() const { return config_; }

 private:
  void commit(const std::function<Result<void>(store::Transaction&)>& work) {
    const Result<void> done = [&]() -> Result<void> {
      auto tx = store_->begin();
      if (!tx) return tx.error();
      if (auto worked = work(**tx); !worked) return worked;
      if (auto flushed = dunning_->before_commit(**tx); !flushed) return flushed;
      return (*tx)->commit();
    }();
    if (done) {
      dunning_->committed();
    } else {
      dunning_->rolled_back();
      ADD_FAILURE() << done.error().to_string();
    }
  }

  config::Config config_;
  std::function<void(DunningSetup&)> tune_setup_;  // after loading, before opening
  store::testing::TempDir dir_;
  std::string path_;  // another harness's database
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<EngineApplier> engine_;
  std::unique_ptr<DunningApplier> dunning_;
};

connectors::EmailMessage email_of(const OutboxRow& row) {
  auto delivery = outbox::delivery_from_json(row.payload);
  EXPECT_TRUE(delivery.ok()) << row.payload;
  if (!delivery.ok()) return {};
  const auto* email = std::get_if<connectors::EmailMessage>(&delivery->content);
  EXPECT_NE(email, nullptr) << row.payload;
  return email != nullptr ? *email : connectors::EmailMessage{};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Customer C-1 (French, one address) and invoice I-1 of 1,234.56 EUR due Tuesday 31 March 2026.
void one_open_invoice(Harness& harness) {
  harness.write(
      {customer("C-1", {"compta@client.fr"}, at("2026-03-02T09:00:00Z")),
       invoice("I-1", "C-1", 123'456, "2026-03-02", "2026-03-31", at("2026-03-02T09:00:00Z"))},
      at("2026-03-02T09:00:00Z"));
}

TEST(DunningApplier, courtesy_reminder_goes_out_five_days_before_the_due_date_in_the_window) {
  Harness harness;
  one_open_invoice(harness);
  EXPECT_TRUE(harness.outbox().empty());
  // due-5d is Thursday 26 March; the send window opens at 09:00 in Paris (08:00 UTC in winter).
  harness.advance(at("2026-03-26T07:59:00Z"));
  EXPECT_TRUE(harness.outbox().empty());
  EXPECT_TRUE(harness.dunning().advance_due(at("2026-03-26T08:00:00Z")));
  harness.advance(at("2026-03-26T08:00:00Z"));
  const auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 1u);
  const OutboxRow& row = rows.front();
  EXPECT_EQ(row.sink, "email.file");
  EXPECT_EQ(row.customer_id, "C-1");
  EXPECT_EQ(row.invoice_ids, std::vector<std::string>{"I-1"});
  EXPECT_TRUE(row.idempotency_key.starts_with("dunning/C-1/courtesy/2026-03-26/"))
      << row.idempotency_key;
  EXPECT_EQ(row.due_at, at("2026-03-26T08:00:00Z"));
  const connectors::EmailMessage email = email_of(row);
  EXPECT_EQ(email.to, std::vector<std::string>{"compta@client.fr"});
  EXPECT_EQ(email.from, "Exemple SAS <relances@exemple.fr>");
  EXPECT_EQ(email.reply_to, "compta@exemple.fr");
  EXPECT_TRUE(contains(email.text, "FA-I-1")) << email.text;
  EXPECT_TRUE(contains(email.text, "1\u202f234,56\u00a0EUR")) << email.text;
  EXPECT_TRUE(contains(email.text, "Lefèvre & Fils")) << email.text;
  EXPECT_TRUE(contains(email.html, "Lefèvre &amp; Fils")) << email.html;
  // The step reached is stored and shown in the receivable's document.
  auto progress = harness.store().find_state_view(store::StateKind::dunning, "I-1");
  ASSERT_TRUE(progress.ok() && progress->has_value());
  EXPECT_EQ(json::parse(**progress).at("level").as_int64(), 1);
  // Nothing more is due before the first reminder (due+3d, Friday 3 April, 07:00 UTC in summer).
  EXPECT_EQ(harness.dunning().glue().scheduler().scheduled_at("I-1"), at("2026-04-03T07:00:00Z"));
  harness.advance(at("2026-03-26T08:30:00Z"));
  EXPECT_EQ(harness.outbox().size(), 1u);
}

TEST(DunningApplier, a_transaction_of_many_invoices_is_scheduled_whole_and_its_levels_stored) {
  // 1,500 receivables changed: the scheduler takes them in on a thread of its own while the
  // engine's rows are written; the tick of the same transaction must still see every one.
  Harness harness;
  const core::Timestamp now = at("2026-04-07T08:00:00Z");  // Tuesday, 10:00 in Paris
  std::vector<core::Event> events;
  for (int c = 0; c < 300; ++c) {
    const std::string id = "C-" + std::to_string(c);
    events.push_back(customer(id, {"compta@" + std::to_string(c) + ".fr"}, now));
  }
  for (int i = 0; i < 1500; ++i) {
    events.push_back(invoice("I-" + std::to_string(i), "C-" + std::to_string(i % 300), 10'000 + i,
                             "2026-02-02", "2026-03-04", now));
  }
  harness.write(std::move(events), now);
  const auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 300u);
  std::size_t listed = 0;
  for (const OutboxRow& row : rows) listed += row.invoice_ids.size();
  EXPECT_EQ(listed, 1500u);
  // The level each reached was written with the receivable's row: a restart loads it.
  const auto levels = [&] {
    std::vector<int> out;
    for (int i = 0; i < 1500; ++i) {
      const core::engine::Receivable* receivable =
          harness.engine().engine().find_receivable("I-" + std::to_string(i));
      out.push_back(receivable == nullptr ? -1 : receivable->dunning_level);
    }
    return out;
  };
  const std::vector<int> reached = levels();
  EXPECT_TRUE(std::all_of(reached.begin(), reached.end(), [](int level) { return level > 0; }));
  harness.restart();
  EXPECT_EQ(levels(), reached);
}

TEST(DunningApplier, invoices_arriving_in_a_burst_wait_for_the_next_tick_and_make_one_message) {
  Harness harness;  // dunning.tick_interval: 30 s
  ASSERT_EQ(harness.config().dunning.tick_interval, 30s);
  // Tuesday 7 April 2026, 10:00 in Paris: in the send window. C-1's overdue invoice ticks at once.
  harness.write(
      {customer("C-1", {"compta@un.fr"}, at("2026-04-07T08:00:00Z")),
       invoice("I-1", "C-1", 10'000, "2026-02-02", "2026-03-04", at("2026-04-07T08:00:00Z"))},
      at("2026-04-07T08:00:00Z"));
  ASSERT_EQ(harness.outbox().size(), 1u);
  // C-2's two overdue invoices come 10 s and 20 s later: no transaction of events ticks again
  // before 30 s have passed...
  harness.write(
      {customer("C-2", {"compta@deux.fr"}, at("2026-04-07T08:00:10Z")),
       invoice("I-2", "C-2", 20'000, "2026-02-02", "2026-03-04", at("2026-04-07T08:00:10Z"))},
      at("2026-04-07T08:00:10Z"));
  harness.write(
      {invoice("I-3", "C-2", 30'000, "2026-02-03", "2026-03-05", at("2026-04-07T08:00:20Z"))},
      at("2026-04-07T08:00:20Z"));
  EXPECT_EQ(harness.outbox().size(), 1u);
  // ...and the writer's timer (every tick_interval) finds both: one message, not one per
  // transaction (the second would have waited 48 h for contact pressure).
  EXPECT_TRUE(harness.dunning().advance_due(at("2026-04-07T08:00:25Z")));
  harness.advance(at("2026-04-07T08:00:25Z"));
  auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].customer_id, "C-2");
  EXPECT_EQ(rows[1].invoice_ids, (std::vector<std::string>{"I-2", "I-3"}));
  // Once the last tick is 30 s old, a transaction of events ticks again by itself.
  harness.write(
      {customer("C-3", {"compta@trois.fr"}, at("2026-04-07T08:00:54Z")),
       invoice("I-4", "C-3", 40'000, "2026-02-02", "2026-03-04", at("2026-04-07T08:00:54Z"))},
      at("2026-04-07T08:00:54Z"));
  EXPECT_EQ(harness.outbox().size(), 2u);
  harness.write(
      {invoice("I-5", "C-3", 50'000, "2026-02-02", "2026-03-04", at("2026-04-07T08:00:55Z"))},
      at("2026-04-07T08:00:55Z"));
  rows = harness.outbox();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].invoice_ids, (std::vector<std::string>{"I-4", "I-5"}));
}

TEST(DunningApplier, a_backlog_goes_out_in_parts_in_transactions_that_follow_at_once) {
  Harness harness(shipped_config(), [](DunningSetup& setup) { setup.tick_receivables_max = 1; });
  // Three customers' overdue invoices in one transaction (a ledger imported): one per tick.
  std::vector<core::Event> events;
  for (const std::string n : {"1", "2", "3"}) {
    events.push_back(customer("C-" + n, {"compta@" + n + ".fr"}, at("2026-04-07T08:00:00Z")));
    events.push_back(invoice("I-" + n, "C-" + n, 10'000, "2026-02-02", "2026-03-04",
                             at("2026-04-07T08:00:00Z")));
  }
  harness.write(events, at("2026-04-07T08:00:00Z"));
  EXPECT_EQ(harness.outbox().size(), 1u);
  // The writer comes back at once (not after tick_interval)...
  EXPECT_TRUE(harness.dunning().backlog());
  harness.advance(at("2026-04-07T08:00:00Z"));
  EXPECT_EQ(harness.outbox().size(), 2u);
  // ...and a transaction of events 1 s later takes the next part too.
  harness.write({payment("P-9", "I-9", 100, "2026-04-07", at("2026-04-07T08:00:01Z"))},
                at("2026-04-07T08:00:01Z"));
  EXPECT_EQ(harness.outbox().size(), 3u);
  EXPECT_FALSE(harness.dunning().backlog());
  std::set<std::string> customers;
  for (const OutboxRow& row : harness.outbox()) customers.insert(row.customer_id);
  EXPECT_EQ(customers, (std::set<std::string>{"C-1", "C-2", "C-3"}));
}

class RecordingSink final : public connectors::Sink {
 public:
  std::string_view name() const override { return "email.file"; }
  connectors::SinkAnswer deliver(const connectors::Delivery& delivery) override {
    std::lock_guard lock(mutex_);
    keys_.push_back(delivery.idempotency_key);
    return {};
  }
  std::vector<std::string> keys() const {
    std::lock_guard lock(mutex_);
    return keys_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> keys_;
};

class FixedClock final : public core::Clock {
 public:
  explicit FixedClock(core::Timestamp now) : now_(now) {}
  core::Timestamp now() const override { return now_; }

 private:
  core::Timestamp now_;
};

TEST(DunningApplier, payment_between_scheduling_and_sending_makes_the_dispatcher_drop_it) {
  Harness harness;
  one_open_invoice(harness);
  harness.advance(at("2026-03-26T08:00:00Z"));
  ASSERT_EQ(harness.outbox().size(), 1u);
  // Paid in full before the dispatcher got to the row.
  harness.write({payment("P-1", "I-1", 123'456, "2026-03-26", at("2026-03-26T08:00:30Z"))},
                at("2026-03-26T08:00:30Z"));

  const FixedClock clock(at("2026-03-26T08:01:00Z"));
  auto options = engine_options(harness.config().engine);
  ASSERT_TRUE(options.ok());
  ViewsOnRead views(harness.store(), *options, clock);
  RecordingSink sink;
  outbox::Dispatcher dispatcher(
      harness.store(), clock, {{"email.file", &sink}},
      outbox::recheck_from_views([&views](std::string_view id) { return views.receivable(id); }),
      outbox::DispatcherOptions{});
  auto claimed = dispatcher.run_once();
  ASSERT_TRUE(claimed.ok()) << claimed.error().to_string();
  EXPECT_EQ(*claimed, 1u);
  EXPECT_TRUE(sink.keys().empty());
  const auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.front().status, OutboxStatus::dropped);
  EXPECT_TRUE(contains(rows.front().last_error, "I-1")) << rows.front().last_error;
  // And the paid invoice is out of the schedule: nothing more is queued for it.
  EXPECT_FALSE(harness.dunning().glue().scheduler().scheduled_at("I-1").has_value());
  harness.advance(at("2026-04-20T08:00:00Z"));
  EXPECT_EQ(harness.outbox().size(), 1u);
}

TEST(DunningApplier, a_broken_promise_resumes_dunning_at_the_step_that_was_next) {
  Harness harness;
  one_open_invoice(harness);
  // Downtime until the first reminder: the courtesy step, before the due date, is skipped.
  harness.advance(at("2026-04-03T07:00:00Z"));
  auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(contains(rows[0].idempotency_key, "/first_reminder/2026-04-03/"))
      << rows[0].idempotency_key;
  // Promised for 20 April; with the 3 days of grace dunning is paused through 23 April.
  harness.write({promise("I-1", 123'456, "2026-04-20", at("2026-04-07T10:00:00Z"))},
                at("2026-04-07T10:00:00Z"));
  // The second reminder (due+15d, 15 April) does not go out while the promise holds.
  for (const char* when :
       {"2026-04-15T07:00:00Z", "2026-04-20T07:00:00Z", "2026-04-23T15:00:00Z"}) {
    harness.advance(at(when));
    EXPECT_EQ(harness.outbox().size(), 1u) << when;
  }
  // 24 April: the money has not come, the promise is broken, the second reminder goes out.
  harness.advance(at("2026-04-24T07:00:00Z"));
  rows = harness.outbox();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(contains(rows[1].idempotency_key, "/second_reminder/2026-04-24/"))
      << rows[1].idempotency_key;
  const auto open_alerts = harness.alerts(store::AlertStatus::open);
  EXPECT_TRUE(std::any_of(open_alerts.begin(), open_alerts.end(),
                          [](const store::AlertRow& a) { return a.kind == "promise.broken"; }));
}

TEST(DunningApplier, a_restart_resumes_the_schedule_without_sending_again) {
  Harness harness;
  one_open_invoice(harness);
  harness.advance(at("2026-03-26T08:00:00Z"));
  ASSERT_EQ(harness.outbox().size(), 1u);

  harness.restart();
  EXPECT_EQ(harness.dunning().glue().progress("I-1").level, 1);
  EXPECT_EQ(harness.dunning().glue().scheduler().scheduled_at("I-1"), at("2026-04-03T07:00:00Z"));
  harness.advance(at("2026-03-26T08:00:00Z"));
  harness.advance(at("2026-03-27T08:00:00Z"));
  EXPECT_EQ(harness.outbox().size(), 1u);
  // The receivable's document shows the step reached.
  const FixedClock clock(at("2026-03-27T08:00:00Z"));
  ViewsOnRead views(harness.store(), core::engine::EngineOptions{}, clock);
  auto view = views.receivable("I-1");
  ASSERT_TRUE(view.ok() && view->has_value());
  EXPECT_EQ(json::parse(**view).at("dunning_level").as_int64(), 1);

  harness.advance(at("2026-04-03T07:00:00Z"));
  const auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(contains(rows[1].idempotency_key, "/first_reminder/")) << rows[1].idempotency_key;
  // Contact pressure remembered across the restart too.
  harness.restart();
  // (The one of 26 March is more than a week old on 3 April: it no longer matters.)
  EXPECT_EQ(harness.dunning().glue().contacts("C-1"),
            (std::vector<core::Timestamp>{at("2026-04-03T07:00:00Z")}));
}

TEST(DunningApplier, formal_notice_claims_late_interest_and_the_40_euro_indemnity) {
  Harness harness;
  harness.write(
      {customer("C-1", {"compta@client.fr"}, at("2026-01-02T09:00:00Z")),
       invoice("I-1", "C-1", 100'000, "2025-12-16", "2026-01-15", at("2026-01-02T09:00:00Z"))},
      at("2026-01-02T09:00:00Z"));
  // due+30d is Saturday 14 February: Monday 16 February, 09:00 in Paris. The daemon was down
  // since the start of January: only the formal notice goes out, the earlier steps are skipped.
  harness.advance(at("2026-02-16T08:00:00Z"));
  const auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(contains(rows[0].idempotency_key, "/formal_notice/2026-02-16/"))
      << rows[0].idempotency_key;
  const connectors::EmailMessage email = email_of(rows[0]);
  // 1,000.00 EUR, 32 days late (16 January to 16 February inclusive) at 12.15 % (ECB 2.15 % on
  // 1 January 2026 plus 10 points), actual/365: 1000 x 0.1215 x 32 / 365 = 10.652... -> 10.65.
  EXPECT_TRUE(contains(email.text, "32 jours de retard")) << email.text;
  EXPECT_TRUE(contains(email.text, "pénalités de retard 10,65\u00a0EUR")) << email.text;
  EXPECT_TRUE(contains(email.text, "40,00\u00a0EUR pour 1 facture(s)")) << email.text;
  // 1,000.00 + 10.65 + 40.00
  EXPECT_TRUE(contains(email.text, "total réclamé : 1\u202f050,65\u00a0EUR")) << email.text;
  EXPECT_TRUE(contains(email.text, "au plus tard le 24/02/2026")) << email.text;
  EXPECT_TRUE(contains(email.subject, "Mise en demeure")) << email.subject;
}

// The shipped rate tables with the ECB one declared complete up to `known_until` only.
void write_rates(const store::testing::TempDir& dir, const std::string& known_until) {
  std::ifstream ecb_in(config_dir + "/rates/ecb_main_refinancing.yaml");
  std::ostringstream ecb;
  for (std::string line; std::getline(ecb_in, line);) {
    ecb << (line.starts_with("known_until:") ? "known_until: " + known_until : line) << "\n";
  }
  std::ofstream(dir.file("ecb_main_refinancing.yaml")) << ecb.str();
  std::filesystem::copy_file(config_dir + "/rates/taux_legal_professionnels.yaml",
                             dir.file("taux_legal_professionnels.yaml"),
                             std::filesystem::copy_options::overwrite_existing);
}

std::vector<store::AlertRow> of_kind(const std::vector<store::AlertRow>& alerts,
                                     std::string_view kind) {
  std::vector<store::AlertRow> found;
  for (const store::AlertRow& alert : alerts) {
    if (alert.kind == kind) found.push_back(alert);
  }
  return found;
}

TEST(DunningApplier, a_rate_missing_for_the_period_holds_the_formal_notice_until_it_is_added) {
  store::testing::TempDir rates;
  write_rates(rates, "2026-06-30");  // nothing known for the second half of 2026
  config::Config config = shipped_config();
  config.dunning.rates_directory = rates.path().string();
  Harness harness(config);
  harness.write(
      {customer("C-1", {"compta@client.fr"}, at("2026-06-01T09:00:00Z")),
       invoice("I-1", "C-1", 100'000, "2026-06-01", "2026-07-01", at("2026-06-01T09:00:00Z")),
       customer("C-2", {"ap@other.fr"}, at("2026-06-01T09:00:00Z")),
       invoice("I-2", "C-2", 50'000, "2026-07-01", "2026-08-05", at("2026-06-01T09:00:00Z"))},
      at("2026-06-01T09:00:00Z"));
  harness.advance(at("2026-07-31T07:00:00Z"));  // I-1: formal notice; I-2: courtesy
  auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].idempotency_key.starts_with("dunning/C-2/courtesy/2026-07-31/"))
      << rows[0].idempotency_key;
  auto failed = of_kind(harness.alerts(store::AlertStatus::open), "dunning.action_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].customer_id, "C-1");
  EXPECT_TRUE(contains(failed[0].json, "formal_notice")) << failed[0].json;
  EXPECT_TRUE(contains(failed[0].json, "I-1")) << failed[0].json;
  // The alert names the half-year whose rate is missing.
  EXPECT_TRUE(contains(failed[0].json, "2026-H2")) << failed[0].json;
  // Not passed: I-1 keeps its level (nothing sent since the due date), tried again in an hour.
  EXPECT_EQ(harness.dunning().glue().progress("I-1").level, 0);
  EXPECT_EQ(harness.dunning().glue().scheduler().scheduled_at("I-1"), at("2026-07-31T08:00:00Z"));
  harness.advance(at("2026-07-31T08:00:00Z"));
  EXPECT_EQ(harness.outbox().size(), 1u);
  EXPECT_EQ(of_kind(harness.alerts(store::AlertStatus::open), "dunning.action_failed").size(), 1u);

  // The operator checks the ECB page, moves known_until and restarts: the notice goes out, once.
  write_rates(rates, "2026-07-31");
  harness.restart();
  EXPECT_EQ(harness.dunning().glue().progress("I-1").level, 0);
  harness.advance(at("2026-07-31T08:30:00Z"));
  rows = harness.outbox();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[1].idempotency_key.starts_with("dunning/C-1/formal_notice/"))
      << rows[1].idempotency_key;
  EXPECT_TRUE(contains(email_of(rows[1]).text, "pénalités de retard")) << email_of(rows[1]).text;
  EXPECT_EQ(harness.dunning().glue().progress("I-1").level, 4);
  EXPECT_TRUE(of_kind(harness.alerts(store::AlertStatus::open), "dunning.action_failed").empty());
  EXPECT_EQ(of_kind(harness.alerts(store::AlertStatus::resolved), "dunning.action_failed").size(),
            1u);
  harness.advance(at("2026-07-31T09:30:00Z"));
  harness.advance(at("2026-08-03T07:00:00Z"));
  EXPECT_EQ(harness.outbox().size(), 2u);
}

// C-1 without an address, I-1 of 100.00 EUR due Tuesday 31 March 2026: the courtesy reminder of
// Thursday 26 March cannot be addressed.
void invoice_of_a_customer_without_address(Harness& harness) {
  harness.write(
      {customer("C-1", {}, at("2026-03-02T09:00:00Z")),
       invoice("I-1", "C-1", 10'000, "2026-03-02", "2026-03-31", at("2026-03-02T09:00:00Z"))},
      at("2026-03-02T09:00:00Z"));
  harness.advance(at("2026-03-26T08:00:00Z"));
}

// kafka.alerts_topic: the dunning alert raised for the missing address, then resolved when the
// address comes, each enqueued once for kafka.alerts, keyed by the customer.
TEST(DunningApplier, dunning_alerts_go_to_the_alerts_sink_when_enabled) {
  Harness harness;
  harness.engine().publish_alerts_to(std::string(alerts_sink_name));
  invoice_of_a_customer_without_address(harness);
  harness.write({customer("C-1", {"compta@client.fr"}, at("2026-03-27T09:00:00Z"), "cust-C-1-v2")},
                at("2026-03-27T09:00:00Z"));
  std::vector<OutboxRow> alerts;
  for (const OutboxRow& row : harness.outbox()) {
    if (row.sink == alerts_sink_name) alerts.push_back(row);
  }
  ASSERT_EQ(alerts.size(), 2u);
  const char* statuses[] = {"open", "resolved"};
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    SCOPED_TRACE(statuses[i]);
    EXPECT_EQ(alerts[i].customer_id, "C-1");
    auto delivery = outbox::delivery_from_json(alerts[i].payload);
    ASSERT_TRUE(delivery) << delivery.error().to_string();
    EXPECT_EQ(delivery->customer_id, "C-1");
    const auto& notice = std::get<connectors::AlertNotice>(delivery->content);
    EXPECT_EQ(notice.kind, "dunning.no_email_address");
    EXPECT_EQ(notice.status, statuses[i]);
    EXPECT_TRUE(
        alerts[i].idempotency_key.starts_with("alert:" + notice.alert_id + ":" + statuses[i] + ":"))
        << alerts[i].idempotency_key;
  }
  // The reminder itself still goes to the email sink only.
  EXPECT_EQ(harness.outbox().size(), 3u);
}

TEST(DunningApplier, missing_address_holds_the_step_with_an_alert_until_one_is_given) {
  Harness harness;
  invoice_of_a_customer_without_address(harness);
  EXPECT_TRUE(harness.outbox().empty());
  auto open_alerts = harness.alerts(store::AlertStatus::open);
  ASSERT_EQ(open_alerts.size(), 1u);
  EXPECT_EQ(open_alerts[0].kind, "dunning.no_email_address");
  EXPECT_EQ(open_alerts[0].customer_id, "C-1");
  EXPECT_TRUE(contains(open_alerts[0].json, "customer C-1 has no e-mail address"))
      << open_alerts[0].json;
  // The step is not passed: the receivable stays at level 0, in memory and in the store.
  EXPECT_EQ(harness.dunning().glue().progress("I-1").level, 0);
  auto stored = harness.store().find_state_view(store::StateKind::dunning, "I-1");
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(!stored->has_value() || json::parse(**stored).at("level").as_int64() == 0);
  // Tried again an hour later (no spinning), still without an address: nothing, one alert.
  EXPECT_FALSE(harness.dunning().advance_due(at("2026-03-26T08:59:00Z")));
  harness.advance(at("2026-03-26T09:00:00Z"));
  EXPECT_TRUE(harness.outbox().empty());
  EXPECT_EQ(harness.alerts(store::AlertStatus::open).size(), 1u);

  // The ERP sends the address: the held courtesy reminder goes out in that same transaction.
  harness.write({customer("C-1", {"compta@client.fr"}, at("2026-03-27T09:00:00Z"), "cust-C-1-v2")},
                at("2026-03-27T09:00:00Z"));
  auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].idempotency_key.starts_with("dunning/C-1/courtesy/2026-03-26/"))
      << rows[0].idempotency_key;
  EXPECT_EQ(email_of(rows[0]).to, std::vector<std::string>{"compta@client.fr"});
  EXPECT_TRUE(harness.alerts(store::AlertStatus::open).empty());
  EXPECT_EQ(
      of_kind(harness.alerts(store::AlertStatus::resolved), "dunning.no_email_address").size(), 1u);
  EXPECT_EQ(harness.dunning().glue().progress("I-1").level, 1);
  // Never twice: later ticks move on to the next step only.
  harness.advance(at("2026-03-27T10:00:00Z"));
  harness.advance(at("2026-03-30T08:00:00Z"));
  EXPECT_EQ(harness.outbox().size(), 1u);
  harness.advance(at("2026-04-03T07:00:00Z"));
  rows = harness.outbox();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(contains(rows[1].idempotency_key, "/first_reminder/")) << rows[1].idempotency_key;
}

TEST(DunningApplier, invoices_of_a_customer_without_address_wait_with_its_held_step) {
  Harness harness;
  invoice_of_a_customer_without_address(harness);  // I-1's courtesy step held at 08:00 UTC
  const auto alert_before = harness.alerts(store::AlertStatus::open);
  ASSERT_EQ(alert_before.size(), 1u);
  // I-2 comes, its courtesy step due at once: it waits for the address too, until the retry at
  // 09:00 UTC (an hour later, in the window), without a run of its own.
  harness.write(
      {invoice("I-2", "C-1", 20'000, "2026-03-02", "2026-03-30", at("2026-03-26T08:10:00Z"))},
      at("2026-03-26T08:10:00Z"));
  EXPECT_TRUE(harness.outbox().empty());
  EXPECT_EQ(harness.dunning().glue().scheduler().scheduled_at("I-2"), at("2026-03-26T09:00:00Z"));
  const auto alert_after = harness.alerts(store::AlertStatus::open);
  ASSERT_EQ(alert_after.size(), 1u);
  EXPECT_EQ(alert_after[0].json, alert_before[0].json);  // not raised again for I-2
  // The address comes: one statement for both.
  harness.write({customer("C-1", {"compta@client.fr"}, at("2026-03-26T08:20:00Z"), "cust-C-1-v2")},
                at("2026-03-26T08:20:00Z"));
  const auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].invoice_ids, (std::vector<std::string>{"I-2", "I-1"}));
}

TEST(DunningApplier, a_step_held_for_want_of_an_address_stays_pending_across_a_restart) {
  Harness harness;
  invoice_of_a_customer_without_address(harness);
  ASSERT_TRUE(harness.outbox().empty());

  harness.restart();
  EXPECT_EQ(harness.dunning().glue().progress("I-1").level, 0);
  // Due again at once after the start (a corrected config would let it go now); still no address.
  EXPECT_TRUE(harness.dunning().advance_due(at("2026-03-26T08:30:00Z")));
  harness.advance(at("2026-03-26T08:30:00Z"));
  EXPECT_TRUE(harness.outbox().empty());
  EXPECT_EQ(harness.alerts(store::AlertStatus::open).size(), 1u);
  EXPECT_EQ(harness.dunning().glue().progress("I-1").level, 0);

  harness.restart();
  harness.write({customer("C-1", {"compta@client.fr"}, at("2026-03-27T09:00:00Z"), "cust-C-1-v2")},
                at("2026-03-27T09:00:00Z"));
  ASSERT_EQ(harness.outbox().size(), 1u);
  // The alert opened before the restarts is resolved by the step going out.
  EXPECT_TRUE(harness.alerts(store::AlertStatus::open).empty());

  harness.restart();
  EXPECT_EQ(harness.dunning().glue().progress("I-1").level, 1);
  harness.advance(at("2026-03-27T10:00:00Z"));
  EXPECT_EQ(harness.outbox().size(), 1u);
}

TEST(DunningApplier, an_alert_for_a_held_step_is_resolved_when_its_invoice_is_paid) {
  Harness harness;
  invoice_of_a_customer_without_address(harness);
  ASSERT_EQ(of_kind(harness.alerts(store::AlertStatus::open), "dunning.no_email_address").size(),
            1u);
  // A second invoice of C-1, due in May: nothing due for it now, so nothing keeps the alert.
  harness.write(
      {invoice("I-2", "C-1", 5'000, "2026-03-26", "2026-05-29", at("2026-03-26T08:10:00Z"))},
      at("2026-03-26T08:10:00Z"));
  EXPECT_EQ(harness.alerts(store::AlertStatus::open).size(), 1u);

  // Paid in full before anyone found the address: nothing is held any more, the alert goes.
  harness.write({payment("P-1", "I-1", 10'000, "2026-03-26", at("2026-03-26T08:20:00Z"))},
                at("2026-03-26T08:20:00Z"));
  EXPECT_TRUE(harness.alerts(store::AlertStatus::open).empty());
  EXPECT_EQ(
      of_kind(harness.alerts(store::AlertStatus::resolved), "dunning.no_email_address").size(), 1u);
  // And nothing goes out for I-1, at the hour's retry or later; the alert stays resolved.
  harness.advance(at("2026-03-26T09:20:00Z"));
  harness.advance(at("2026-04-10T08:00:00Z"));
  EXPECT_TRUE(harness.outbox().empty());
  EXPECT_TRUE(harness.alerts(store::AlertStatus::open).empty());
  // I-2's own steps, still without an address, raise it again when they come (late May).
  harness.advance(at("2026-05-26T08:00:00Z"));
  EXPECT_TRUE(harness.outbox().empty());
  auto reopened = of_kind(harness.alerts(store::AlertStatus::open), "dunning.no_email_address");
  ASSERT_EQ(reopened.size(), 1u);
  EXPECT_TRUE(contains(reopened[0].json, "I-2")) << reopened[0].json;
}

// The ERP corrects the invoice's due date: its step is no longer due, so nothing is held.
TEST(DunningApplier, an_alert_for_a_held_step_is_resolved_when_the_erp_moves_its_due_date_later) {
  Harness harness;
  invoice_of_a_customer_without_address(harness);  // I-1, due 31 March: its courtesy step held
  ASSERT_EQ(of_kind(harness.alerts(store::AlertStatus::open), "dunning.no_email_address").size(),
            1u);
  // Due 30 April (59 days: within the legal cap).
  harness.write({invoice_update("I-1", "C-1", 10'000, "2026-03-02", "2026-04-30",
                                at("2026-03-26T08:20:00Z"))},
                at("2026-03-26T08:20:00Z"));
  // Its courtesy step is now late in April: nothing waits for an address.
  const auto open = harness.alerts(store::AlertStatus::open);
  EXPECT_TRUE(open.empty()) << open[0].kind << ": " << open[0].json;
  EXPECT_EQ(
      of_kind(harness.alerts(store::AlertStatus::resolved), "dunning.no_email_address").size(), 1u);
}

TEST(DunningApplier, an_alert_held_across_a_restart_is_resolved_when_its_invoice_is_paid) {
  Harness harness;
  invoice_of_a_customer_without_address(harness);
  harness.restart();
  // Reloaded by id only: still held (the step is due again), so still open.
  EXPECT_FALSE(harness.dunning().glue().has_notices());
  EXPECT_EQ(harness.alerts(store::AlertStatus::open).size(), 1u);

  harness.write({payment("P-1", "I-1", 10'000, "2026-03-26", at("2026-03-26T08:20:00Z"))},
                at("2026-03-26T08:20:00Z"));
  EXPECT_TRUE(harness.alerts(store::AlertStatus::open).empty());
  EXPECT_EQ(
      of_kind(harness.alerts(store::AlertStatus::resolved), "dunning.no_email_address").size(), 1u);
  harness.restart();
  harness.advance(at("2026-04-10T08:00:00Z"));
  EXPECT_TRUE(harness.outbox().empty());
  EXPECT_TRUE(harness.alerts(store::AlertStatus::open).empty());
}

TEST(DunningApplier, an_alert_for_a_step_held_by_a_missing_rate_goes_when_the_invoice_is_paid) {
  store::testing::TempDir rates;
  write_rates(rates, "2026-06-30");
  config::Config config = shipped_config();
  config.dunning.rates_directory = rates.path().string();
  Harness harness(config);
  harness.write(
      {customer("C-1", {"compta@client.fr"}, at("2026-06-01T09:00:00Z")),
       invoice("I-1", "C-1", 100'000, "2026-06-01", "2026-07-01", at("2026-06-01T09:00:00Z"))},
      at("2026-06-01T09:00:00Z"));
  harness.advance(at("2026-07-31T07:00:00Z"));  // the formal notice, its rate unknown
  ASSERT_EQ(of_kind(harness.alerts(store::AlertStatus::open), "dunning.action_failed").size(), 1u);
  harness.restart();
  harness.write({payment("P-1", "I-1", 100'000, "2026-07-31", at("2026-07-31T07:30:00Z"))},
                at("2026-07-31T07:30:00Z"));
  EXPECT_TRUE(of_kind(harness.alerts(store::AlertStatus::open), "dunning.action_failed").empty());
  harness.advance(at("2026-07-31T08:00:00Z"));
  harness.advance(at("2026-08-20T08:00:00Z"));
  EXPECT_TRUE(harness.outbox().empty());
}

TEST(DunningApplier, payment_terms_beyond_the_legal_caps_raise_an_alert_at_ingest) {
  Harness harness;
  // Issued 2 March, due 15 May: 74 days, beyond 60 days (1 May) and 45 days end of month
  // (30 April). I-2, 30 days, is within the caps.
  harness.write(
      {customer("C-1", {"compta@client.fr"}, at("2026-03-02T09:00:00Z")),
       invoice("I-1", "C-1", 10'000, "2026-03-02", "2026-05-15", at("2026-03-02T09:00:00Z")),
       invoice("I-2", "C-1", 10'000, "2026-03-02", "2026-04-01", at("2026-03-02T09:00:00Z"))},
      at("2026-03-02T09:00:00Z"));
  auto terms =
      of_kind(harness.alerts(store::AlertStatus::open), "dunning.payment_terms_beyond_cap");
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_EQ(terms[0].customer_id, "C-1");
  EXPECT_TRUE(contains(terms[0].json, "I-1")) << terms[0].json;
  EXPECT_TRUE(contains(terms[0].json, "L441-10")) << terms[0].json;
  // A restart neither raises it twice nor loses it.
  harness.restart();
  harness.advance(at("2026-03-03T09:00:00Z"));
  EXPECT_EQ(of_kind(harness.alerts(std::nullopt), "dunning.payment_terms_beyond_cap").size(), 1u);
  // The ERP corrects the due date: resolved.
  harness.write({invoice_update("I-1", "C-1", 10'000, "2026-03-02", "2026-04-30",
                                at("2026-03-03T10:00:00Z"))},
                at("2026-03-03T10:00:00Z"));
  EXPECT_TRUE(of_kind(harness.alerts(store::AlertStatus::open), "dunning.payment_terms_beyond_cap")
                  .empty());
}

TEST(DunningApplier, escalation_without_a_crm_is_mailed_to_the_company) {
  Harness harness;
  harness.write(
      {customer("C-1", {"compta@client.fr"}, at("2026-01-02T09:00:00Z")),
       invoice("I-1", "C-1", 100'000, "2025-12-16", "2026-01-15", at("2026-01-02T09:00:00Z"))},
      at("2026-01-02T09:00:00Z"));
  harness.advance(at("2026-02-16T08:00:00Z"));  // formal notice
  harness.advance(at("2026-03-02T08:00:00Z"));  // due+45d, 1 March is a Sunday: escalation
  const auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(contains(rows[1].idempotency_key, "/escalation/")) << rows[1].idempotency_key;
  EXPECT_EQ(rows[1].sink, "email.file");
  EXPECT_EQ(email_of(rows[1]).to, std::vector<std::string>{"compta@exemple.fr"});
}

TEST(DunningApplier, escalation_with_a_crm_is_a_crm_task_on_the_customer) {
  config::Config config = shipped_config();
  config.crm.enabled = true;
  Harness harness(config);
  harness.write(
      {customer("C-1", {"compta@client.fr"}, at("2026-01-02T09:00:00Z")),
       invoice("I-1", "C-1", 100'000, "2025-12-16", "2026-01-15", at("2026-01-02T09:00:00Z"))},
      at("2026-01-02T09:00:00Z"));
  harness.advance(at("2026-03-02T08:00:00Z"));
  const auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].sink, "crm.rest");
  auto delivery = outbox::delivery_from_json(rows[0].payload);
  ASSERT_TRUE(delivery.ok());
  const auto* task = std::get_if<connectors::CrmActivity>(&delivery->content);
  ASSERT_NE(task, nullptr);
  EXPECT_EQ(task->kind, connectors::CrmActivity::Kind::task);
  EXPECT_EQ(task->customer_id, "C-1");
  EXPECT_EQ(task->invoice_ids, std::vector<std::string>{"I-1"});
  EXPECT_EQ(task->due_date, date("2026-03-02"));
}

TEST(DunningApplier, only_the_customers_this_daemon_owns_are_scheduled) {
  Harness harness;
  harness.write(
      {customer("C-1", {"compta@client.fr"}, at("2026-03-02T09:00:00Z")),
       invoice("I-1", "C-1", 10'000, "2026-03-02", "2026-03-31", at("2026-03-02T09:00:00Z")),
       customer("C-2", {"ap@other.fr"}, at("2026-03-02T09:00:00Z")),
       invoice("I-2", "C-2", 10'000, "2026-03-02", "2026-03-31", at("2026-03-02T09:00:00Z"))},
      at("2026-03-02T09:00:00Z"));
  // A rebalance gave this daemon C-2's partition only.
  harness.dunning().set_ownership(
      [](std::string_view customer_id) { return customer_id == "C-2"; });
  EXPECT_TRUE(harness.dunning().advance_due(at("2026-03-02T09:01:00Z")));
  harness.advance(at("2026-03-26T08:00:00Z"));
  const auto rows = harness.outbox();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].customer_id, "C-2");
  EXPECT_FALSE(harness.dunning().glue().scheduler().scheduled_at("I-1").has_value());
}

TEST(DunningApplier, setup_errors_name_the_key_and_the_folder) {
  config::Config config = shipped_config();
  config.dunning.policies_directory = "/nonexistent/policies";
  auto setup = load_dunning_setup(config);
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.error().field, "dunning.policies_directory");
  EXPECT_TRUE(contains(setup.error().message, "/nonexistent/policies")) << setup.error().message;

  config::EngineConfig engine;
  engine.write_off_tolerance = {{"EUR", "1.005"}};
  auto options = engine_options(engine);
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.error().field, "engine.write_off_tolerance.EUR");
}

}  // namespace
}  // namespace relance::state

namespace relance::state {
namespace {

// Two daemons on one store: B is stale for C-1 while A applies its events and dunning; when
// C-1's partition moves to B, B's next transaction starts from what A stored.
TEST(DunningApplier, partitions_moved_here_are_refreshed_from_the_store_before_the_next_event) {
  Harness a;
  Harness b(a);  // opened now: it knows nothing of C-1
  b.dunning().set_ownership([](std::string_view) { return false; });
  b.engine().set_ownership([](std::string_view) { return false; });
  b.advance(at("2026-03-02T08:00:00Z"));  // applies the ownership: B schedules no one

  // A: C-1 with two invoices, the courtesy reminder of I-1 (due 31 March) goes out on 26 March,
  // then I-2 is paid.
  a.write({customer("C-1", {"compta@client.fr"}, at("2026-03-02T09:00:00Z")),
           invoice("I-1", "C-1", 123'456, "2026-03-02", "2026-03-31", at("2026-03-02T09:00:00Z")),
           invoice("I-2", "C-1", 50'000, "2026-03-02", "2026-04-30", at("2026-03-02T09:00:00Z"))},
          at("2026-03-02T09:00:00Z"));
  a.advance(at("2026-03-26T08:00:00Z"));
  ASSERT_EQ(a.outbox().size(), 1u);
  a.write({payment("P-2", "I-2", 50'000, "2026-03-26", at("2026-03-26T10:00:00Z"))},
          at("2026-03-26T10:00:00Z"));
  EXPECT_EQ(b.engine().engine().find_receivable("I-1"), nullptr);

  // The rebalance: C-1's partition now belongs to B (A let it go).
  bool b_owns = false;
  b.dunning().set_ownership([&](std::string_view id) { return b_owns && id == "C-1"; });
  b.engine().set_ownership([&](std::string_view id) { return b_owns && id == "C-1"; });
  b_owns = true;
  const int reloads = b.engine().reloads();
  b.dunning().ownership_changed();
  EXPECT_TRUE(b.engine().refresh_pending());

  // B's next event for C-1 (a partial payment of I-1) applies on top of A's state.
  b.write({payment("P-1", "I-1", 23'456, "2026-03-26", at("2026-03-26T11:00:00Z"))},
          at("2026-03-26T11:00:00Z"));
  EXPECT_EQ(b.engine().reloads(), reloads + 1);
  EXPECT_FALSE(b.engine().refresh_pending());
  const core::engine::Receivable* i1 = b.engine().engine().find_receivable("I-1");
  const core::engine::Receivable* i2 = b.engine().engine().find_receivable("I-2");
  ASSERT_NE(i1, nullptr);
  ASSERT_NE(i2, nullptr);
  EXPECT_EQ(i1->open, 100'000);  // 1,234.56 - 234.56: A's invoice, B's payment
  EXPECT_EQ(i2->open, 0);        // paid at A
  // The stored rows are B's, computed from A's: a third daemon reads the same.
  Harness c(a);
  const core::engine::Receivable* stored = c.engine().engine().find_receivable("I-1");
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->open, 100'000);

  // B continues A's schedule: the courtesy step A sent is not sent again, the first reminder
  // (due+3d, 3 April) is B's.
  EXPECT_EQ(b.dunning().glue().progress("I-1").level, 1);
  b.advance(at("2026-03-27T08:00:00Z"));
  EXPECT_EQ(b.dunning().enqueued_total(), 0u);
  b.advance(at("2026-04-03T07:00:00Z"));
  EXPECT_EQ(b.dunning().enqueued_total(), 1u);
  const auto rows = b.outbox();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(contains(rows[1].idempotency_key, "/first_reminder/")) << rows[1].idempotency_key;
}

// Without the refresh B would have scheduled C-1 from its empty memory; and while it does not
// own C-1, its time-only changes of C-1 are not written over A's.
TEST(DunningApplier, time_alone_writes_only_the_customers_this_daemon_owns) {
  Harness a;
  a.write({customer("C-1", {"compta@client.fr"}, at("2026-03-02T09:00:00Z")),
           invoice("I-1", "C-1", 10'000, "2026-03-02", "2026-03-31", at("2026-03-02T09:00:00Z"))},
          at("2026-03-02T09:00:00Z"));
  Harness b(a);  // knows I-1 as open, not yet due
  b.dunning().set_ownership([](std::string_view) { return false; });
  b.engine().set_ownership([](std::string_view) { return false; });
  // A: I-1 paid on 1 April.
  a.write({payment("P-1", "I-1", 10'000, "2026-04-01", at("2026-04-01T10:00:00Z"))},
          at("2026-04-01T10:00:00Z"));
  // B's day changes: in its memory I-1 goes overdue; the store keeps A's paid I-1.
  b.advance(at("2026-04-02T08:00:00Z"));
  EXPECT_EQ(b.dunning().enqueued_total(), 0u);
  Harness c(a);
  const core::engine::Receivable* stored = c.engine().engine().find_receivable("I-1");
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->open, 0);
}

}  // namespace
}  // namespace relance::state
