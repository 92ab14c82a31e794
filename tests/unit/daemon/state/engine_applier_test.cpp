// The engine behind the writer: what it stores equals what a replay of the journal computes, a
// restart resumes from the stored state, and a failed commit leaves no trace in memory.

#include "state/engine_applier.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <condition_variable>
#include <mutex>
#include <random>

#include "core/engine/views.hpp"
#include "fake_store.hpp"
#include "ingest/writer.hpp"
#include "outbox/payload.hpp"
#include "state/alert_topic.hpp"
#include "state/views_on_read.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "temp_dir.hpp"

namespace relance::state {
namespace {

namespace json = boost::json;
using core::engine::Engine;
using namespace std::chrono_literals;

constexpr auto wait_max = 30s;

core::Date day(int offset) {  // days after 2026-01-05
  return core::add_days(core::parse_date("2026-01-05").value(), offset);
}
core::Timestamp noon(int offset) {
  return core::Timestamp(std::chrono::sys_days(day(offset)).time_since_epoch()) + 12h;
}
core::Money eur(std::int64_t minor) {
  return core::Money{minor, core::Currency::from_code("EUR").value()};
}

core::Event encoded(core::EventType type, core::EventData data, std::string id, int date) {
  core::Event event;
  event.id = std::move(id);
  event.source = "erp/test";
  event.type = type;
  event.time = noon(date);
  event.data = std::move(data);
  core::encode_event(event);
  return event;
}

core::Event customer(int c) {
  core::CustomerUpserted d;
  d.customer_id = "C-" + std::to_string(c);
  d.name = "Customer " + std::to_string(c);
  d.emails = {"ap" + std::to_string(c) + "@example.com"};
  if (c % 3 == 0) d.credit_limit = eur(150'000);
  return encoded(core::EventType::customer_upserted, d, "cust-" + std::to_string(c), 0);
}

std::string invoice_id(int i) { return "INV-2026-" + std::to_string(1000 + i); }

core::Event invoice(int i, int c, std::int64_t amount, int issued) {
  core::InvoiceData d;
  d.invoice_id = invoice_id(i);
  d.customer_id = "C-" + std::to_string(c);
  d.amount = eur(amount);
  d.issue_date = day(issued);
  d.due_date = day(issued + 30);
  d.number = invoice_id(i);
  return encoded(core::EventType::invoice_issued, d, "inv-" + std::to_string(i), issued);
}

core::Event payment(const std::string& id, std::int64_t amount, int date, std::optional<int> c,
                    std::vector<core::Allocation> allocations,
                    std::optional<std::string> remittance) {
  core::PaymentReceived d;
  d.payment_id = id;
  d.amount = eur(amount);
  d.received_date = day(date);
  if (c) d.customer_id = "C-" + std::to_string(*c);
  d.allocations = std::move(allocations);
  d.remittance_info = std::move(remittance);
  return encoded(core::EventType::payment_received, d, "pay-" + id, date);
}

core::Event credit_note(const std::string& id, int c, std::int64_t amount, int date,
                        std::optional<std::string> invoice) {
  core::CreditNoteIssued d;
  d.credit_note_id = id;
  d.customer_id = "C-" + std::to_string(c);
  d.amount = eur(amount);
  d.issue_date = day(date);
  d.invoice_id = std::move(invoice);
  return encoded(core::EventType::credit_note_issued, d, "cn-" + id, date);
}

core::Event dispute(int i, int date) {
  core::DisputeOpened d;
  d.invoice_id = invoice_id(i);
  d.reason = "goods damaged";
  d.dispute_id = "D-" + std::to_string(i);
  return encoded(core::EventType::dispute_opened, d, "dispute-" + std::to_string(i), date);
}

// A realistic mix over about three months, in requests of one day each: invoices, payments
// found by reference, by allocation over several invoices, by unique amount, unmatched ones,
// payments before their invoice, credit notes, disputes, and events sent twice.
std::vector<std::vector<core::Event>> daily_requests(unsigned seed) {
  std::mt19937 random(seed);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  constexpr int days = 90;
  constexpr int customers = 12;
  constexpr int invoices = 240;
  std::vector<std::vector<core::Event>> by_day(days + 45);
  for (int c = 0; c < customers; ++c) by_day[0].push_back(customer(c));
  for (int i = 0; i < invoices; ++i) {
    const int c = pick(customers);
    const std::int64_t amount = 10'000 + 100 * pick(900);
    const int issued = pick(days);
    const core::Event issued_event = invoice(i, c, amount, issued);
    const std::string pay_id = "P-" + std::to_string(i);
    const int paid = issued + 5 + pick(40);
    switch (i % 8) {
      case 0:
      case 1:  // paid in full, invoice number in the remittance text
        by_day[issued].push_back(issued_event);
        by_day[paid].push_back(
            payment(pay_id, amount, paid, c, {}, "Payment of invoice " + invoice_id(i)));
        break;
      case 2:  // partly paid by reference, partly credited
        by_day[issued].push_back(issued_event);
        by_day[paid].push_back(payment(pay_id, amount / 2, paid, c, {}, invoice_id(i)));
        by_day[paid + 1].push_back(
            credit_note("CN-" + std::to_string(i), c, amount / 4, paid + 1, invoice_id(i)));
        break;
      case 3:  // the payment arrives before the invoice
        by_day[issued].push_back(
            payment(pay_id, amount, issued, c, {{invoice_id(i), eur(amount)}}, std::nullopt));
        by_day[issued + 2].push_back(issued_event);
        break;
      case 4:  // unmatched money: an alert
        by_day[issued].push_back(issued_event);
        by_day[paid].push_back(payment(pay_id, 777, paid, c, {}, "thanks"));
        break;
      case 5:  // disputed, never paid
        by_day[issued].push_back(issued_event);
        by_day[std::min(issued + 35, days + 40)].push_back(dispute(i, issued + 35));
        break;
      default:  // left open: goes overdue with time
        by_day[issued].push_back(issued_event);
        break;
    }
  }
  // One payment over two invoices of the same customer, by explicit allocation.
  by_day[days].push_back(invoice(invoices, 1, 20'000, days - 10));
  by_day[days].push_back(invoice(invoices + 1, 1, 30'000, days - 10));
  by_day[days + 1].push_back(
      payment("P-split", 50'000, days + 1, 1,
              {{invoice_id(invoices), eur(20'000)}, {invoice_id(invoices + 1), eur(30'000)}},
              std::nullopt));
  // Duplicates: some requests are sent again later, whole.
  for (int d = 0; d < 20; ++d) {
    const auto again = by_day[static_cast<std::size_t>(d * 3)];
    by_day[static_cast<std::size_t>(d * 3 + 5)].insert(
        by_day[static_cast<std::size_t>(d * 3 + 5)].end(), again.begin(), again.end());
  }
  return by_day;
}

class SettableClock final : public core::Clock {
 public:
  core::Timestamp now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void set(core::Timestamp now) {
    std::lock_guard lock(mutex_);
    now_ = now;
  }

 private:
  mutable std::mutex mutex_;
  core::Timestamp now_ = noon(0);
};

// Submits one request and waits for its outcome.
ingest::WriteOutcome write(ingest::Writer& writer, std::vector<core::Event> events) {
  std::mutex mutex;
  std::condition_variable done;
  std::optional<ingest::WriteOutcome> outcome;
  const auto admission = writer.submit(std::move(events), [&](ingest::WriteOutcome result) {
    std::lock_guard lock(mutex);
    outcome = std::move(result);
    done.notify_all();
  });
  RELANCE_ASSERT(admission == ingest::Admission::queued);
  std::unique_lock lock(mutex);
  RELANCE_ASSERT(done.wait_for(lock, wait_max, [&] { return outcome.has_value(); }));
  return std::move(*outcome);
}

std::vector<std::string> stored_blobs(store::Store& store, store::StateKind kind) {
  std::vector<std::string> blobs;
  auto read = store.for_each_state(kind, [&](std::string_view blob) -> Result<void> {
    blobs.emplace_back(blob);
    return {};
  });
  EXPECT_TRUE(read) << read.error().to_string();
  return blobs;
}

// The blobs an engine would store, in the store's key order. The engine always has the bucket of
// records whose customer is not known yet (id ""); it is stored once something went there.
std::vector<std::string> engine_blobs(const Engine& engine, store::StateKind kind,
                                      store::Store& store) {
  const auto unassigned = store.find_state_view(store::StateKind::customer, "");
  const bool with_unassigned = unassigned.ok() && unassigned->has_value();
  std::vector<std::pair<std::string, std::string>> rows;
  if (kind == store::StateKind::receivable) {
    for (std::uint32_t r = 0; r < engine.receivable_count(); ++r) {
      rows.emplace_back(engine.receivable(r).invoice_id,
                        engine.serialize_receivable(engine.receivable(r)));
    }
  } else if (kind == store::StateKind::record) {
    for (std::uint32_t rec = 0; rec < engine.record_count(); ++rec) {
      rows.emplace_back(engine.record(rec).identity, engine.serialize_record(engine.record(rec)));
    }
  } else {
    for (std::uint32_t c = 0; c < engine.customer_count(); ++c) {
      if (engine.customer(c).id.empty() && !with_unassigned) continue;
      rows.emplace_back(engine.customer(c).id, engine.serialize_customer(engine.customer(c)));
    }
  }
  std::sort(rows.begin(), rows.end());
  std::vector<std::string> blobs;
  for (auto& row : rows) blobs.push_back(std::move(row.second));
  return blobs;
}

std::int64_t stored_clock(store::Store& store) {
  auto offsets = store.source_offsets(clock_source);
  RELANCE_ASSERT(offsets.ok() && offsets->size() == 1);
  return offsets->front().offset;
}

// The document GET /v1/receivables/{id} serves, computed from the stored blobs as of `at`.
std::string stored_view(store::Store& store, const std::string& invoice_id, core::Timestamp at) {
  SettableClock clock;
  clock.set(at);
  const ViewsOnRead views(store, {}, clock);
  auto view = views.receivable(invoice_id);
  EXPECT_TRUE(view) << view.error().to_string();
  RELANCE_ASSERT(view.ok());
  EXPECT_TRUE(view->has_value()) << invoice_id;
  return view->value_or("{}");
}

class EngineApplierTest : public ::testing::Test {
 protected:
  void SetUp() override { open_store(); }
  void open_store() {
    store_.reset();
    auto opened = store::open_sqlite_store({.path = dir_.file("relance.db")});
    ASSERT_TRUE(opened) << opened.error().to_string();
    store_ = std::move(*opened);
  }
  std::unique_ptr<EngineApplier> open_applier() {
    auto applier = EngineApplier::open(*store_, {});
    EXPECT_TRUE(applier) << applier.error().to_string();
    RELANCE_ASSERT(applier.ok());
    return std::move(*applier);
  }

  // Writes every day's request through a writer with the engine applier, the clock at that
  // day's noon; then lets `idle_days` pass with the writer idle, so that it advances alone.
  void run_days(EngineApplier& applier, const std::vector<std::vector<core::Event>>& days,
                int idle_days) {
    SettableClock clock;
    metrics::Registry registry;
    ingest::Writer writer(*store_, {.advance_interval = 1ms}, registry, &clock, &applier);
    for (std::size_t d = 0; d < days.size(); ++d) {
      clock.set(noon(static_cast<int>(d)));
      if (days[d].empty()) continue;
      const auto outcome = write(writer, days[d]);
      ASSERT_TRUE(outcome) << outcome.error().to_string();
    }
    const core::Timestamp later = noon(static_cast<int>(days.size()) + idle_days);
    clock.set(later);
    const auto deadline = std::chrono::steady_clock::now() + wait_max;
    while (stored_clock(*store_) != later.time_since_epoch().count() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    writer.stop();
    ASSERT_EQ(stored_clock(*store_), later.time_since_epoch().count())
        << "the writer never advanced";
  }

  store::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(EngineApplierTest, replay_of_the_journal_gives_the_stored_blobs_byte_for_byte) {
  auto applier = open_applier();
  run_days(*applier, daily_requests(42), 20);

  const auto stored_receivables = stored_blobs(*store_, store::StateKind::receivable);
  const auto stored_customers = stored_blobs(*store_, store::StateKind::customer);
  const auto stored_records = stored_blobs(*store_, store::StateKind::record);
  ASSERT_EQ(stored_receivables.size(), 242u);
  ASSERT_GE(stored_customers.size(), 12u);
  ASSERT_GE(stored_records.size(), 100u);
  // What the live engine holds is what was stored.
  EXPECT_EQ(engine_blobs(applier->engine(), store::StateKind::receivable, *store_),
            stored_receivables);
  EXPECT_EQ(engine_blobs(applier->engine(), store::StateKind::customer, *store_), stored_customers);
  EXPECT_EQ(engine_blobs(applier->engine(), store::StateKind::record, *store_), stored_records);

  // A fresh engine fed the journal, each event as of when it was received, then brought to the
  // same time, computes the same bytes.
  Engine replayed;
  auto last = replay_journal(*store_, replayed);
  ASSERT_TRUE(last) << last.error().to_string();
  (void)replayed.advance(core::Timestamp(std::chrono::microseconds(stored_clock(*store_))));
  EXPECT_EQ(engine_blobs(replayed, store::StateKind::receivable, *store_), stored_receivables);
  EXPECT_EQ(engine_blobs(replayed, store::StateKind::customer, *store_), stored_customers);
  EXPECT_EQ(engine_blobs(replayed, store::StateKind::record, *store_), stored_records);

  // And the same documents: computed on read from the stored blobs of one customer alone, as
  // of the same day, they are what the replayed engine (every customer at once) shows.
  const core::Timestamp at(std::chrono::microseconds(stored_clock(*store_)));
  const core::Date today = replayed.evaluated_on();
  for (std::uint32_t r = 0; r < replayed.receivable_count(); ++r) {
    const auto& receivable = replayed.receivable(r);
    EXPECT_EQ(stored_view(*store_, receivable.invoice_id, at),
              view_text(core::engine::receivable_view(replayed, receivable, today), today));
  }
  SettableClock clock;
  clock.set(at);
  const ViewsOnRead views(*store_, {}, clock);
  for (std::uint32_t c = 0; c < replayed.customer_count(); ++c) {
    const auto& customer = replayed.customer(c);
    if (customer.id.empty()) continue;  // the unassigned bucket is no customer
    json::object expected = core::engine::customer_view(replayed, customer, today);
    expected["as_of"] = core::format_date(today);
    json::array receivables;
    for (const std::uint32_t r : customer.receivables) {
      json::object item = core::engine::receivable_view(replayed, replayed.receivable(r), today);
      item["as_of"] = core::format_date(today);
      receivables.emplace_back(std::move(item));
    }
    expected["receivables"] = std::move(receivables);
    const auto read = views.customer(customer.id);
    ASSERT_TRUE(read && read->has_value()) << customer.id;
    EXPECT_EQ(**read, json::serialize(expected)) << customer.id;
  }
  // The open alerts stored are the engine's.
  std::vector<std::string> engine_alerts;
  for (const auto& alert : replayed.alerts()) engine_alerts.push_back(alert.id);
  std::vector<std::string> open_alerts;
  const auto listed = store_->list_alerts(store::AlertStatus::open, "", 100000);
  ASSERT_TRUE(listed);
  for (const auto& alert : *listed) {
    open_alerts.push_back(alert.id);
  }
  EXPECT_FALSE(open_alerts.empty());
  EXPECT_EQ(open_alerts, engine_alerts);
}

TEST_F(EngineApplierTest, time_alone_moves_receivables_overdue_in_the_store) {
  auto applier = open_applier();
  run_days(*applier, {{customer(1), invoice(1, 1, 12'000, 0)}}, 0);
  std::string view = stored_view(*store_, invoice_id(1), noon(1));
  EXPECT_EQ(json::parse(view).at("status"), "open");

  run_days(*applier, {}, 45);  // due on day 30; the writer advances while idle
  // The stored blobs are the engine's, which moved it overdue; a document read that day says so.
  EXPECT_EQ(stored_blobs(*store_, store::StateKind::receivable),
            std::vector<std::string>{applier->engine().serialize_receivable(
                *applier->engine().find_receivable(invoice_id(1)))});
  EXPECT_EQ(applier->engine().find_receivable(invoice_id(1))->status,
            core::engine::Status::overdue);
  view = stored_view(*store_, invoice_id(1), noon(45));
  const json::object document = json::parse(view).as_object();
  EXPECT_EQ(document.at("status"), "overdue") << view;
  EXPECT_EQ(document.at("as_of").as_string(), core::format_date(day(45)));
  // A document is as of the day it is read, whatever day the writer last wrote: read on day 10
  // from the same blobs, the invoice was not due yet.
  EXPECT_EQ(json::parse(stored_view(*store_, invoice_id(1), noon(10))).at("status"), "open");
}

TEST_F(EngineApplierTest, restart_loads_the_stored_state_without_replaying) {
  std::vector<std::string> receivables;
  std::vector<std::string> customers;
  std::vector<std::string> records;
  {
    auto applier = open_applier();
    run_days(*applier, daily_requests(7), 3);
    receivables = stored_blobs(*store_, store::StateKind::receivable);
    customers = stored_blobs(*store_, store::StateKind::customer);
    records = stored_blobs(*store_, store::StateKind::record);
  }
  open_store();
  auto applier = open_applier();
  EXPECT_EQ(applier->engine().receivable_count(), receivables.size());
  EXPECT_EQ(applier->engine().record_count(), records.size());
  EXPECT_EQ(engine_blobs(applier->engine(), store::StateKind::receivable, *store_), receivables);
  EXPECT_EQ(engine_blobs(applier->engine(), store::StateKind::customer, *store_), customers);
  EXPECT_EQ(engine_blobs(applier->engine(), store::StateKind::record, *store_), records);
  EXPECT_EQ(stored_blobs(*store_, store::StateKind::record), records);  // not written again

  // And it goes on from there: a new payment settles a stored invoice.
  const core::engine::Receivable* open_one = nullptr;
  for (std::uint32_t r = 0; r < applier->engine().receivable_count() && !open_one; ++r) {
    if (Engine::owes(applier->engine().receivable(r))) open_one = &applier->engine().receivable(r);
  }
  ASSERT_NE(open_one, nullptr);
  const std::string id = open_one->invoice_id;
  const auto owed = open_one->open;
  std::vector<std::vector<core::Event>> more(140);
  more[139] = {payment("P-late", owed, 139, std::nullopt, {{id, eur(owed)}}, std::nullopt)};
  run_days(*applier, more, 0);
  const std::string view = stored_view(*store_, id, noon(140));
  EXPECT_EQ(json::parse(view).at("status"), "paid") << view;
}

TEST_F(EngineApplierTest, alert_is_stored_open_then_resolved_when_it_stops_being_true) {
  auto applier = open_applier();
  // A payment naming an invoice that does not exist yet: money waits, an alert says so.
  run_days(*applier, {{customer(1), payment("P-1", 12'000, 0, 1, {}, "Invoice " + invoice_id(5))}},
           0);
  const auto open = *store_->list_alerts(store::AlertStatus::open, "", 100);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].customer_id, "C-1");
  const json::object alert = json::parse(open[0].json).as_object();
  EXPECT_EQ(alert.at("id").as_string(), open[0].id);
  EXPECT_EQ(alert.at("kind").as_string(), open[0].kind);

  std::vector<std::vector<core::Event>> later(2);
  later[1] = {invoice(5, 1, 12'000, 1)};
  run_days(*applier, later, 0);
  EXPECT_TRUE(store_->list_alerts(store::AlertStatus::open, "", 100)->empty());
  const auto resolved = *store_->list_alerts(store::AlertStatus::resolved, "", 100);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].id, open[0].id);
  EXPECT_TRUE(resolved[0].resolved_at.has_value());
  const std::string view = stored_view(*store_, invoice_id(5), noon(2));
  EXPECT_EQ(json::parse(view).at("status"), "paid") << view;
}

// kafka.alerts_topic: an alert raised then resolved enqueues one outbox row each for the sink,
// keyed by customer (the resolve too), in the transactions that record them; none when off.
TEST_F(EngineApplierTest, alerts_go_to_the_outbox_for_the_alerts_sink_only_when_enabled) {
  for (const bool enabled : {false, true}) {
    SCOPED_TRACE(enabled ? "enabled" : "disabled");
    store_.reset();  // a fresh store per run
    auto opened = store::open_sqlite_store({.path = dir_.file(enabled ? "on.db" : "off.db")});
    ASSERT_TRUE(opened) << opened.error().to_string();
    store_ = std::move(*opened);
    auto applier = open_applier();
    if (enabled) applier->publish_alerts_to(std::string(alerts_sink_name));
    run_days(*applier,
             {{customer(1), payment("P-1", 12'000, 0, 1, {}, "Invoice " + invoice_id(5))}}, 0);
    std::vector<std::vector<core::Event>> later(2);
    later[1] = {invoice(5, 1, 12'000, 1)};
    run_days(*applier, later, 0);
    const auto alerts = *store_->list_alerts(store::AlertStatus::resolved, "", 100);
    ASSERT_EQ(alerts.size(), 1u);
    const auto rows = *store_->list_outbox(std::nullopt, 0, 100);
    if (!enabled) {
      EXPECT_TRUE(rows.empty());
      continue;
    }
    ASSERT_EQ(rows.size(), 2u);
    const char* statuses[] = {"open", "resolved"};
    for (std::size_t i = 0; i < rows.size(); ++i) {
      SCOPED_TRACE(statuses[i]);
      EXPECT_EQ(rows[i].sink, "kafka.alerts");
      EXPECT_EQ(rows[i].customer_id, "C-1");
      EXPECT_TRUE(
          rows[i].idempotency_key.starts_with("alert:" + alerts[0].id + ":" + statuses[i] + ":"))
          << rows[i].idempotency_key;
      auto delivery = outbox::delivery_from_json(rows[i].payload);
      ASSERT_TRUE(delivery) << delivery.error().to_string();
      EXPECT_EQ(delivery->idempotency_key, rows[i].idempotency_key);
      EXPECT_EQ(delivery->customer_id, "C-1");
      const auto& notice = std::get<connectors::AlertNotice>(delivery->content);
      EXPECT_EQ(notice.alert_id, alerts[0].id);
      EXPECT_EQ(notice.kind, alerts[0].kind);
      EXPECT_EQ(notice.severity, alerts[0].severity);
      EXPECT_EQ(notice.status, statuses[i]);
      EXPECT_EQ(notice.customer_id, "C-1");
    }
    EXPECT_FALSE(
        std::get<connectors::AlertNotice>(outbox::delivery_from_json(rows[0].payload)->content)
            .message.empty());
    EXPECT_EQ(rows[0].due_at, alerts[0].raised_at);
    EXPECT_EQ(rows[1].due_at, *alerts[0].resolved_at);
    EXPECT_NE(rows[0].idempotency_key, rows[1].idempotency_key);
  }
}

TEST_F(EngineApplierTest, journal_without_state_is_rebuilt_at_open) {
  const auto days = daily_requests(3);
  {
    // A relanced without the engine journaled these.
    SettableClock clock;
    metrics::Registry registry;
    ingest::Writer writer(*store_, {}, registry, &clock);
    for (std::size_t d = 0; d < days.size(); ++d) {
      clock.set(noon(static_cast<int>(d)));
      if (!days[d].empty()) {
        ASSERT_TRUE(write(writer, days[d]));
      }
    }
  }
  ASSERT_TRUE(stored_blobs(*store_, store::StateKind::receivable).empty());
  auto applier = open_applier();
  Engine replayed;
  ASSERT_TRUE(replay_journal(*store_, replayed));
  EXPECT_EQ(stored_blobs(*store_, store::StateKind::receivable),
            engine_blobs(replayed, store::StateKind::receivable, *store_));
  EXPECT_EQ(stored_blobs(*store_, store::StateKind::customer),
            engine_blobs(replayed, store::StateKind::customer, *store_));
  EXPECT_EQ(stored_blobs(*store_, store::StateKind::record),
            engine_blobs(replayed, store::StateKind::record, *store_));
  EXPECT_EQ(engine_blobs(applier->engine(), store::StateKind::receivable, *store_),
            engine_blobs(replayed, store::StateKind::receivable, *store_));
  EXPECT_FALSE(store_->list_alerts(store::AlertStatus::open, "", 10)->empty());
}

// A customer blob as relanced wrote them before records had rows of their own (customer format
// 3): the profile, then the count of records, each as its facts (what its blob holds now after
// its format and owner) and what its fold derived (here nothing: load() derives it again).
std::string with_records_inline(const Engine& engine, const core::engine::Customer& customer) {
  std::string blob = engine.serialize_customer(customer);
  blob[0] = 3;
  std::vector<std::string> facts;
  for (const core::engine::HistoryItem item : customer.history) {
    if (item.invoice) continue;
    const std::string record = engine.serialize_record(engine.record(item.index));
    // Format (1 byte), the owner's id (its length in 1 byte, below 128 here), then the facts.
    const std::size_t facts_at = 2 + static_cast<unsigned char>(record[1]);
    facts.push_back(record.substr(facts_at) + std::string(12, '\0'));
  }
  RELANCE_ASSERT(facts.size() < 128);
  blob.push_back(static_cast<char>(facts.size()));
  for (const std::string& f : facts) blob += f;
  return blob;
}

// Upgrade: the store of a relanced that kept the records in the customer rows. The applier loads
// them and writes everything again at open: records in rows of their own, customers without them.
TEST_F(EngineApplierTest, customer_rows_that_hold_their_records_are_written_again_at_open) {
  std::unique_ptr<EngineApplier> live = open_applier();
  run_days(*live, daily_requests(5), 3);
  const Engine& engine = live->engine();
  store::testing::TempDir old_dir;
  auto opened = store::open_sqlite_store({.path = old_dir.file("old.db")});
  ASSERT_TRUE(opened) << opened.error().to_string();
  store::Store& old_store = **opened;
  {
    auto transaction = old_store.begin();
    ASSERT_TRUE(transaction);
    for (std::uint32_t r = 0; r < engine.receivable_count(); ++r) {
      ASSERT_TRUE((*transaction)->put_state(receivable_row(engine, engine.receivable(r))));
    }
    for (std::uint32_t c = 0; c < engine.customer_count(); ++c) {
      store::StateRow row = customer_row(engine, engine.customer(c));
      row.blob = with_records_inline(engine, engine.customer(c));
      ASSERT_TRUE((*transaction)->put_state(row));
    }
    ASSERT_TRUE((*transaction)
                    ->put_source_offset(
                        store::SourceOffset{std::string(clock_source), 0, stored_clock(*store_)}));
    ASSERT_TRUE((*transaction)->commit());
  }
  ASSERT_TRUE(stored_blobs(old_store, store::StateKind::record).empty());

  auto upgraded = EngineApplier::open(old_store, {});
  ASSERT_TRUE(upgraded) << upgraded.error().to_string();
  EXPECT_EQ(stored_blobs(old_store, store::StateKind::record),
            stored_blobs(*store_, store::StateKind::record));
  // Every customer, the unassigned bucket too (as a rebuild from the journal writes them).
  EXPECT_EQ(stored_blobs(old_store, store::StateKind::customer),
            engine_blobs(engine, store::StateKind::customer, old_store));
  EXPECT_EQ(stored_blobs(old_store, store::StateKind::receivable),
            stored_blobs(*store_, store::StateKind::receivable));
  EXPECT_EQ(engine_blobs((*upgraded)->engine(), store::StateKind::record, old_store),
            stored_blobs(*store_, store::StateKind::record));
  // Loaded again from what it wrote: the current formats, nothing more to rewrite.
  upgraded->reset();
  auto again = EngineApplier::open(old_store, {});
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_FALSE((*again)->engine().loaded_records_inline());
}

TEST(EngineApplier, failed_commit_drops_what_it_applied_and_reloads_the_stored_state) {
  store::testing::FakeStore store;
  std::atomic<bool> fail{false};
  store.set_commit_hook([&]() -> Result<void> {
    if (fail) return Error{"", "disk full"};
    return {};
  });
  auto opened = EngineApplier::open(store, {});
  ASSERT_TRUE(opened) << opened.error().to_string();
  EngineApplier& applier = **opened;
  SettableClock clock;
  metrics::Registry registry;
  ingest::Writer writer(store, {}, registry, &clock, &applier);
  ASSERT_TRUE(write(writer, {customer(1), invoice(1, 1, 10'000, 0)}));

  fail = true;
  const auto failed =
      write(writer, {invoice(2, 1, 5'000, 0), payment("P-1", 10'000, 0, 1, {}, invoice_id(1))});
  ASSERT_FALSE(failed);
  fail = false;
  // The failed batch left nothing in the store, and nothing in the engine either.
  EXPECT_EQ(applier.reloads(), 1);
  EXPECT_EQ(applier.engine().find_receivable(invoice_id(2)), nullptr);
  ASSERT_NE(applier.engine().find_receivable(invoice_id(1)), nullptr);
  EXPECT_EQ(applier.engine().find_receivable(invoice_id(1))->open, 10'000);

  // Sent again, the same events apply once.
  ASSERT_TRUE(
      write(writer, {invoice(2, 1, 5'000, 0), payment("P-1", 10'000, 0, 1, {}, invoice_id(1))}));
  writer.stop();
  EXPECT_EQ(applier.engine().find_receivable(invoice_id(1))->open, 0);
  EXPECT_EQ(engine_blobs(applier.engine(), store::StateKind::receivable, store),
            stored_blobs(store, store::StateKind::receivable));
}

}  // namespace
}  // namespace relance::state
