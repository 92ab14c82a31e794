#include "store_contract.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "test_events.hpp"

namespace relance::store::testing {

namespace {

const core::Timestamp t0 = core::Timestamp(std::chrono::seconds(1'767'225'600));  // 2026-01-01

template <class T>
T expect_ok(Result<T> result) {
  if (!result) ADD_FAILURE() << result.error().to_string();
  RELANCE_ASSERT(result.ok());
  return std::move(result).value();
}

void expect_ok(Result<void> result) {
  if (!result) ADD_FAILURE() << result.error().to_string();
  RELANCE_ASSERT(result.ok());
}

void commit_events(Store& store, const std::vector<core::Event>& events) {
  auto transaction = expect_ok(store.begin());
  for (const auto& event : events) (void)expect_ok(transaction->append(event, t0));
  expect_ok(transaction->commit());
}

StateRow receivable_row(const std::string& key, const std::string& customer_id,
                        const std::string& blob) {
  return StateRow{StateKind::receivable, key, customer_id, blob,
                  R"({"invoice_id":")" + key + R"("})"};
}

AlertRow alert_row(const std::string& id, const std::string& json, core::Timestamp raised_at = t0) {
  AlertRow row;
  row.id = id;
  row.kind = "payment.unmatched";
  row.severity = "warning";
  row.customer_id = "C-1";
  row.json = json;
  row.raised_at = raised_at;
  return row;
}

void in_transaction(Store& store, const std::function<void(Transaction&)>& work) {
  auto transaction = expect_ok(store.begin());
  work(*transaction);
  expect_ok(transaction->commit());
}

std::vector<std::string> state_blobs(Store& store, StateKind kind) {
  std::vector<std::string> blobs;
  expect_ok(store.for_each_state(kind, [&](std::string_view blob) -> Result<void> {
    blobs.emplace_back(blob);
    return {};
  }));
  return blobs;
}

std::vector<std::string> alert_ids(const std::vector<AlertRow>& alerts) {
  std::vector<std::string> ids;
  for (const auto& alert : alerts) ids.push_back(alert.id);
  return ids;
}

using Strings = std::vector<std::string>;

}  // namespace

void StoreContract::SetUp() { database_ = GetParam().make_database(); }

Store& StoreContract::open_store() {
  store_.reset();
  auto opened = database_->open();
  if (!opened) ADD_FAILURE() << "cannot open the store: " << opened.error().to_string();
  RELANCE_ASSERT(opened.ok());
  store_ = std::move(*opened);
  return *store_;
}

TEST_P(StoreContract, fresh_store_has_an_empty_journal_and_answers_ping) {
  Store& store = open_store();
  EXPECT_EQ(expect_ok(store.journal_size()), 0);
  EXPECT_FALSE(expect_ok(store.find_event("erp", "1")).has_value());
  expect_ok(store.ping());
}

TEST_P(StoreContract, committed_event_is_found_with_what_was_received) {
  Store& store = open_store();
  const auto event = make_event("odoo://acme", "evt-1", 300);
  const auto received_at = t0 + std::chrono::microseconds(123'456);
  auto transaction = expect_ok(store.begin());
  EXPECT_EQ(expect_ok(transaction->append(event, received_at)), AppendOutcome::appended);
  expect_ok(transaction->commit());

  const auto found = expect_ok(store.find_event("odoo://acme", "evt-1"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->sequence, 1);
  EXPECT_EQ(found->source, "odoo://acme");
  EXPECT_EQ(found->id, "evt-1");
  EXPECT_EQ(found->type, "invoice.issued");
  EXPECT_EQ(found->received_at, received_at);
  EXPECT_EQ(found->json, event.json);
  EXPECT_EQ(expect_ok(store.journal_size()), 1);
}

TEST_P(StoreContract, sequences_follow_commit_order_from_one_without_gaps) {
  Store& store = open_store();
  commit_events(store, {make_event("erp", "a"), make_event("erp", "b")});
  commit_events(store, {make_event("erp", "c")});
  EXPECT_EQ(expect_ok(store.find_event("erp", "a"))->sequence, 1);
  EXPECT_EQ(expect_ok(store.find_event("erp", "b"))->sequence, 2);
  EXPECT_EQ(expect_ok(store.find_event("erp", "c"))->sequence, 3);
  EXPECT_EQ(expect_ok(store.journal_size()), 3);
}

TEST_P(StoreContract, event_already_in_the_journal_is_duplicate_and_changes_nothing) {
  Store& store = open_store();
  const auto original = make_event("erp", "evt-1");
  commit_events(store, {original});

  auto again = make_event("erp", "evt-1", 400);  // same key, other content: still a duplicate
  auto transaction = expect_ok(store.begin());
  EXPECT_EQ(expect_ok(transaction->append(again, t0 + std::chrono::hours(1))),
            AppendOutcome::duplicate);
  EXPECT_EQ(expect_ok(transaction->append(make_event("erp", "evt-2"), t0)),
            AppendOutcome::appended);
  expect_ok(transaction->commit());

  const auto found = expect_ok(store.find_event("erp", "evt-1"));
  EXPECT_EQ(found->json, original.json);
  EXPECT_EQ(found->received_at, t0);
  EXPECT_EQ(expect_ok(store.find_event("erp", "evt-2"))->sequence, 2);
  EXPECT_EQ(expect_ok(store.journal_size()), 2);
}

TEST_P(StoreContract, event_repeated_within_one_transaction_is_duplicate) {
  Store& store = open_store();
  auto transaction = expect_ok(store.begin());
  EXPECT_EQ(expect_ok(transaction->append(make_event("erp", "x"), t0)), AppendOutcome::appended);
  EXPECT_EQ(expect_ok(transaction->append(make_event("erp", "x", 500), t0)),
            AppendOutcome::duplicate);
  expect_ok(transaction->commit());
  EXPECT_EQ(expect_ok(store.journal_size()), 1);
}

TEST_P(StoreContract, same_id_from_another_source_is_another_event) {
  Store& store = open_store();
  auto transaction = expect_ok(store.begin());
  EXPECT_EQ(expect_ok(transaction->append(make_event("erp", "1"), t0)), AppendOutcome::appended);
  EXPECT_EQ(expect_ok(transaction->append(make_event("bank", "1"), t0)), AppendOutcome::appended);
  expect_ok(transaction->commit());
  EXPECT_EQ(expect_ok(store.journal_size()), 2);
  EXPECT_EQ(expect_ok(store.find_event("bank", "1"))->source, "bank");
}

TEST_P(StoreContract, readers_do_not_see_an_uncommitted_transaction) {
  Store& store = open_store();
  commit_events(store, {make_event("erp", "before")});
  auto transaction = expect_ok(store.begin());
  (void)expect_ok(transaction->append(make_event("erp", "pending"), t0));

  EXPECT_FALSE(expect_ok(store.find_event("erp", "pending")).has_value());
  EXPECT_EQ(expect_ok(store.journal_size()), 1);
  expect_ok(transaction->commit());
  EXPECT_TRUE(expect_ok(store.find_event("erp", "pending")).has_value());
  EXPECT_EQ(expect_ok(store.journal_size()), 2);
}

TEST_P(StoreContract, readers_on_other_threads_are_not_blocked_by_an_open_transaction) {
  Store& store = open_store();
  commit_events(store, {make_event("erp", "committed")});
  auto transaction = expect_ok(store.begin());
  (void)expect_ok(transaction->append(make_event("erp", "pending"), t0));

  // Several reader threads at once, while the writer holds its transaction open.
  std::vector<std::future<bool>> readers;
  for (int i = 0; i < 8; ++i) {
    readers.push_back(std::async(std::launch::async, [&store] {
      for (int n = 0; n < 20; ++n) {
        auto committed = store.find_event("erp", "committed");
        auto pending = store.find_event("erp", "pending");
        auto size = store.journal_size();
        if (!committed || !committed->has_value() || !pending || pending->has_value() || !size ||
            *size != 1) {
          return false;
        }
      }
      return true;
    }));
  }
  for (auto& reader : readers) {
    ASSERT_EQ(reader.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    EXPECT_TRUE(reader.get());
  }
  expect_ok(transaction->commit());
}

TEST_P(StoreContract, destroying_an_uncommitted_transaction_rolls_it_back) {
  Store& store = open_store();
  commit_events(store, {make_event("erp", "kept")});
  {
    auto transaction = expect_ok(store.begin());
    (void)expect_ok(transaction->append(make_event("erp", "dropped"), t0));
  }
  EXPECT_FALSE(expect_ok(store.find_event("erp", "dropped")).has_value());
  EXPECT_EQ(expect_ok(store.journal_size()), 1);

  // The rolled-back key is free again, and the journal stays gap-free.
  auto transaction = expect_ok(store.begin());
  EXPECT_EQ(expect_ok(transaction->append(make_event("erp", "dropped"), t0)),
            AppendOutcome::appended);
  expect_ok(transaction->commit());
  EXPECT_EQ(expect_ok(store.find_event("erp", "dropped"))->sequence, 2);
}

TEST_P(StoreContract, committed_events_survive_closing_and_reopening) {
  {
    Store& store = open_store();
    commit_events(store, {make_event("erp", "a", 300), make_event("erp", "b")});
    close_store();
  }
  Store& store = open_store();
  EXPECT_EQ(expect_ok(store.journal_size()), 2);
  EXPECT_EQ(expect_ok(store.find_event("erp", "b"))->sequence, 2);
  auto transaction = expect_ok(store.begin());
  EXPECT_EQ(expect_ok(transaction->append(make_event("erp", "a"), t0)), AppendOutcome::duplicate);
  EXPECT_EQ(expect_ok(transaction->append(make_event("erp", "c"), t0)), AppendOutcome::appended);
  expect_ok(transaction->commit());
  EXPECT_EQ(expect_ok(store.find_event("erp", "c"))->sequence, 3);
}

TEST_P(StoreContract, json_text_is_kept_byte_for_byte) {
  Store& store = open_store();
  auto event = make_event("erp", "utf8");
  event.json = R"({"id":"utf8","note":"Créance n°42 — 10 000 € \u00e9 \"quoted\" \\ tab	end"})";
  commit_events(store, {event});
  EXPECT_EQ(expect_ok(store.find_event("erp", "utf8"))->json, event.json);
}

TEST_P(StoreContract, large_transaction_commits_every_event) {
  Store& store = open_store();
  std::vector<core::Event> events;
  for (int i = 0; i < 5000; ++i) events.push_back(make_event("erp", std::to_string(i), 300));
  commit_events(store, events);
  EXPECT_EQ(expect_ok(store.journal_size()), 5000);
  EXPECT_EQ(expect_ok(store.find_event("erp", "4999"))->sequence, 5000);
}

// --- Journal replay -------------------------------------------------------------------------

TEST_P(StoreContract, read_journal_returns_events_after_a_sequence_in_order_up_to_a_limit) {
  Store& store = open_store();
  commit_events(store, {make_event("erp", "a"), make_event("erp", "b")});
  commit_events(store, {make_event("bank", "c", 200), make_event("erp", "d")});

  const auto all = expect_ok(store.read_journal(0, 100));
  ASSERT_EQ(all.size(), 4u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].sequence, static_cast<std::int64_t>(i) + 1);
  }
  EXPECT_EQ(all[2].source, "bank");
  EXPECT_EQ(all[2].id, "c");
  EXPECT_EQ(all[2].type, "invoice.issued");
  EXPECT_EQ(all[2].received_at, t0);
  EXPECT_EQ(all[2].json, make_event("bank", "c", 200).json);

  const auto page = expect_ok(store.read_journal(1, 2));
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, "b");
  EXPECT_EQ(page[1].id, "c");
  EXPECT_TRUE(expect_ok(store.read_journal(4, 10)).empty());
  EXPECT_TRUE(expect_ok(store.read_journal(0, 0)).empty());
}

TEST_P(StoreContract, read_journal_does_not_see_an_uncommitted_transaction) {
  Store& store = open_store();
  commit_events(store, {make_event("erp", "a")});
  auto transaction = expect_ok(store.begin());
  (void)expect_ok(transaction->append(make_event("erp", "b"), t0));
  EXPECT_EQ(expect_ok(store.read_journal(0, 10)).size(), 1u);
  expect_ok(transaction->commit());
  EXPECT_EQ(expect_ok(store.read_journal(0, 10)).size(), 2u);
}

// --- Engine state --------------------------------------------------------------------------

TEST_P(StoreContract, committed_state_is_found_by_kind_and_key) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) {
    expect_ok(t.put_state(receivable_row("INV-2", "C-1", "r2")));
    expect_ok(t.put_state(StateRow{StateKind::customer, "C-1", "C-1", "c1", R"({"id":"C-1"})"}));
  });
  EXPECT_EQ(expect_ok(store.find_state_view(StateKind::receivable, "INV-2")),
            std::optional<std::string>(R"({"invoice_id":"INV-2"})"));
  EXPECT_EQ(expect_ok(store.find_state_view(StateKind::customer, "C-1")),
            std::optional<std::string>(R"({"id":"C-1"})"));
  // Kinds are separate key spaces.
  EXPECT_FALSE(expect_ok(store.find_state_view(StateKind::customer, "INV-2")).has_value());
  EXPECT_FALSE(expect_ok(store.find_state_view(StateKind::receivable, "C-1")).has_value());
  EXPECT_FALSE(expect_ok(store.find_state_view(StateKind::receivable, "INV-404")).has_value());
}

TEST_P(StoreContract, put_state_replaces_the_row_of_the_same_kind_and_key) {
  Store& store = open_store();
  in_transaction(store,
                 [](Transaction& t) { expect_ok(t.put_state(receivable_row("INV-1", "", "v1"))); });
  in_transaction(store, [](Transaction& t) {
    auto row = receivable_row("INV-1", "C-9", "v2");
    row.view_json = R"({"v":2})";
    expect_ok(t.put_state(row));
  });
  EXPECT_EQ(state_blobs(store, StateKind::receivable), Strings{"v2"});
  EXPECT_EQ(*expect_ok(store.find_state_view(StateKind::receivable, "INV-1")), R"({"v":2})");
  // The owner moved too: the row is listed under its new customer only.
  EXPECT_TRUE(expect_ok(store.customer_receivable_views("")).empty());
  EXPECT_EQ(expect_ok(store.customer_receivable_views("C-9")).size(), 1u);
}

TEST_P(StoreContract, for_each_state_visits_one_kind_in_key_order) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) {
    expect_ok(t.put_state(receivable_row("INV-3", "C-1", "r3")));
    expect_ok(t.put_state(receivable_row("INV-1", "C-2", "r1")));
    expect_ok(t.put_state(StateRow{StateKind::customer, "C-2", "C-2", "c2", "{}"}));
    expect_ok(t.put_state(receivable_row("INV-2", "C-1", "r2")));
    expect_ok(t.put_state(StateRow{StateKind::customer, "C-1", "C-1", "c1", "{}"}));
  });
  EXPECT_EQ(state_blobs(store, StateKind::receivable), (Strings{"r1", "r2", "r3"}));
  EXPECT_EQ(state_blobs(store, StateKind::customer), (Strings{"c1", "c2"}));
}

TEST_P(StoreContract, for_each_state_stops_at_the_first_error_of_the_visitor) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) {
    for (const char* key : {"INV-1", "INV-2", "INV-3"}) {
      expect_ok(t.put_state(receivable_row(key, "C-1", key)));
    }
  });
  int visits = 0;
  const auto visited =
      store.for_each_state(StateKind::receivable, [&](std::string_view blob) -> Result<void> {
        ++visits;
        if (blob == "INV-2") return Error{"blob", "cannot decode INV-2"};
        return {};
      });
  ASSERT_FALSE(visited.ok());
  EXPECT_EQ(visited.error().message, "cannot decode INV-2");
  EXPECT_EQ(visits, 2);
}

TEST_P(StoreContract, state_blob_is_kept_byte_for_byte_including_nul_bytes) {
  Store& store = open_store();
  std::string blob("\x00\x01\xff binary\x00", 11);
  blob += std::string(70'000, '\x7f');  // larger than a page
  in_transaction(store, [&](Transaction& t) {
    expect_ok(t.put_state(receivable_row("INV-1", "C-1", blob)));
    expect_ok(t.put_state(receivable_row("INV-2", "C-1", "")));
  });
  EXPECT_EQ(state_blobs(store, StateKind::receivable), (Strings{blob, ""}));
}

TEST_P(StoreContract,
       customer_receivable_views_lists_only_that_customers_receivables_in_key_order) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) {
    expect_ok(t.put_state(receivable_row("INV-B", "C-1", "b")));
    expect_ok(t.put_state(receivable_row("INV-A", "C-1", "a")));
    expect_ok(t.put_state(receivable_row("INV-C", "C-2", "c")));
    // A customer row is not one of its receivables.
    expect_ok(t.put_state(StateRow{StateKind::customer, "C-1", "C-1", "c1", R"({"id":"C-1"})"}));
  });
  EXPECT_EQ(expect_ok(store.customer_receivable_views("C-1")),
            (Strings{R"({"invoice_id":"INV-A"})", R"({"invoice_id":"INV-B"})"}));
  EXPECT_EQ(expect_ok(store.customer_receivable_views("C-2")),
            (Strings{R"({"invoice_id":"INV-C"})"}));
  EXPECT_TRUE(expect_ok(store.customer_receivable_views("C-3")).empty());
}

TEST_P(StoreContract, state_is_written_with_the_journal_or_not_at_all) {
  Store& store = open_store();
  {
    auto transaction = expect_ok(store.begin());
    (void)expect_ok(transaction->append(make_event("erp", "a"), t0));
    expect_ok(transaction->put_state(receivable_row("INV-a", "C-1", "dropped")));
    // Not visible before commit...
    EXPECT_FALSE(expect_ok(store.find_state_view(StateKind::receivable, "INV-a")).has_value());
    EXPECT_TRUE(state_blobs(store, StateKind::receivable).empty());
  }  // ...nor after a rollback.
  EXPECT_FALSE(expect_ok(store.find_state_view(StateKind::receivable, "INV-a")).has_value());
  EXPECT_EQ(expect_ok(store.journal_size()), 0);

  in_transaction(store, [](Transaction& t) {
    (void)expect_ok(t.append(make_event("erp", "a"), t0));
    expect_ok(t.put_state(receivable_row("INV-a", "C-1", "kept")));
  });
  EXPECT_EQ(state_blobs(store, StateKind::receivable), Strings{"kept"});
  EXPECT_EQ(expect_ok(store.journal_size()), 1);
}

TEST_P(StoreContract, state_alerts_and_offsets_survive_closing_and_reopening) {
  {
    Store& store = open_store();
    in_transaction(store, [](Transaction& t) {
      expect_ok(t.put_state(receivable_row("INV-1", "C-1", "r1")));
      expect_ok(t.put_state(StateRow{StateKind::customer, "C-1", "C-1", "c1", "{}"}));
      expect_ok(t.raise_alert(alert_row("A-1", "{}")));
      expect_ok(t.put_source_offset(SourceOffset{"kafka:events", 3, 42}));
    });
    close_store();
  }
  Store& store = open_store();
  EXPECT_EQ(state_blobs(store, StateKind::receivable), Strings{"r1"});
  EXPECT_EQ(state_blobs(store, StateKind::customer), Strings{"c1"});
  EXPECT_EQ(alert_ids(expect_ok(store.list_alerts(AlertStatus::open, "", 10))), Strings{"A-1"});
  EXPECT_EQ(expect_ok(store.source_offsets("kafka:events")),
            (std::vector<SourceOffset>{{"kafka:events", 3, 42}}));
}

// --- Alerts --------------------------------------------------------------------------------

TEST_P(StoreContract, raised_alert_is_listed_open_with_what_was_raised) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) {
    auto row = alert_row("A-1", R"({"sentence":"payment P-1 of 120.00 EUR matches nothing"})",
                         t0 + std::chrono::microseconds(7));
    row.kind = "payment.ambiguous";
    row.severity = "critical";
    row.customer_id = "C-7";
    row.status = AlertStatus::resolved;  // ignored: a raised alert is open
    row.resolved_at = t0;
    expect_ok(t.raise_alert(row));
  });
  const auto alerts = expect_ok(store.list_alerts(std::nullopt, "", 10));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].id, "A-1");
  EXPECT_EQ(alerts[0].kind, "payment.ambiguous");
  EXPECT_EQ(alerts[0].severity, "critical");
  EXPECT_EQ(alerts[0].status, AlertStatus::open);
  EXPECT_EQ(alerts[0].customer_id, "C-7");
  EXPECT_EQ(alerts[0].json, R"({"sentence":"payment P-1 of 120.00 EUR matches nothing"})");
  EXPECT_EQ(alerts[0].raised_at, t0 + std::chrono::microseconds(7));
  EXPECT_FALSE(alerts[0].resolved_at.has_value());
}

TEST_P(StoreContract, alert_raised_again_while_open_updates_content_and_keeps_raised_at) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) { expect_ok(t.raise_alert(alert_row("A-1", "v1"))); });
  in_transaction(store, [](Transaction& t) {
    auto row = alert_row("A-1", "v2", t0 + std::chrono::hours(1));
    row.severity = "critical";
    expect_ok(t.raise_alert(row));
  });
  const auto alerts = expect_ok(store.list_alerts(std::nullopt, "", 10));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].json, "v2");
  EXPECT_EQ(alerts[0].severity, "critical");
  EXPECT_EQ(alerts[0].raised_at, t0);
  EXPECT_EQ(alerts[0].status, AlertStatus::open);
}

TEST_P(StoreContract, resolved_alert_records_when_and_a_second_resolve_changes_nothing) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) { expect_ok(t.raise_alert(alert_row("A-1", "{}"))); });
  const auto first = t0 + std::chrono::hours(2);
  in_transaction(store, [&](Transaction& t) { expect_ok(t.resolve_alert("A-1", first)); });
  in_transaction(store, [&](Transaction& t) {
    expect_ok(t.resolve_alert("A-1", first + std::chrono::hours(1)));
    expect_ok(t.resolve_alert("A-unknown", first));  // nothing, and no error
  });
  const auto alerts = expect_ok(store.list_alerts(std::nullopt, "", 10));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].status, AlertStatus::resolved);
  EXPECT_EQ(alerts[0].resolved_at, std::optional<core::Timestamp>(first));
  EXPECT_EQ(alerts[0].raised_at, t0);
}

TEST_P(StoreContract, resolved_alert_raised_again_is_open_from_the_new_time) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) { expect_ok(t.raise_alert(alert_row("A-1", "v1"))); });
  in_transaction(
      store, [](Transaction& t) { expect_ok(t.resolve_alert("A-1", t0 + std::chrono::hours(1))); });
  const auto again = t0 + std::chrono::hours(5);
  in_transaction(store,
                 [&](Transaction& t) { expect_ok(t.raise_alert(alert_row("A-1", "v2", again))); });
  const auto alerts = expect_ok(store.list_alerts(AlertStatus::open, "", 10));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].raised_at, again);
  EXPECT_EQ(alerts[0].json, "v2");
  EXPECT_FALSE(alerts[0].resolved_at.has_value());
  EXPECT_TRUE(expect_ok(store.list_alerts(AlertStatus::resolved, "", 10)).empty());
}

TEST_P(StoreContract, raise_and_resolve_in_one_transaction_apply_in_order) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) {
    expect_ok(t.raise_alert(alert_row("A-1", "{}")));
    expect_ok(t.resolve_alert("A-1", t0 + std::chrono::seconds(1)));
    expect_ok(t.raise_alert(alert_row("A-2", "{}")));
    expect_ok(t.resolve_alert("A-2", t0 + std::chrono::seconds(1)));
    expect_ok(t.raise_alert(alert_row("A-2", "{}", t0 + std::chrono::seconds(2))));
  });
  EXPECT_EQ(alert_ids(expect_ok(store.list_alerts(AlertStatus::resolved, "", 10))), Strings{"A-1"});
  const auto open = expect_ok(store.list_alerts(AlertStatus::open, "", 10));
  ASSERT_EQ(alert_ids(open), Strings{"A-2"});
  EXPECT_EQ(open[0].raised_at, t0 + std::chrono::seconds(2));
}

TEST_P(StoreContract, list_alerts_filters_by_status_and_pages_by_id) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) {
    for (const char* id : {"A-5", "A-1", "A-4", "A-2", "A-3"}) {
      expect_ok(t.raise_alert(alert_row(id, "{}")));
    }
    expect_ok(t.resolve_alert("A-2", t0));
    expect_ok(t.resolve_alert("A-4", t0));
  });
  EXPECT_EQ(alert_ids(expect_ok(store.list_alerts(std::nullopt, "", 10))),
            (Strings{"A-1", "A-2", "A-3", "A-4", "A-5"}));
  EXPECT_EQ(alert_ids(expect_ok(store.list_alerts(AlertStatus::open, "", 10))),
            (Strings{"A-1", "A-3", "A-5"}));
  EXPECT_EQ(alert_ids(expect_ok(store.list_alerts(AlertStatus::resolved, "", 10))),
            (Strings{"A-2", "A-4"}));
  // Pages: the limit counts matching rows, `after` is exclusive.
  EXPECT_EQ(alert_ids(expect_ok(store.list_alerts(AlertStatus::open, "", 2))),
            (Strings{"A-1", "A-3"}));
  EXPECT_EQ(alert_ids(expect_ok(store.list_alerts(AlertStatus::open, "A-3", 2))), (Strings{"A-5"}));
  EXPECT_EQ(alert_ids(expect_ok(store.list_alerts(std::nullopt, "A-2", 2))),
            (Strings{"A-3", "A-4"}));
  EXPECT_TRUE(expect_ok(store.list_alerts(std::nullopt, "A-5", 10)).empty());
  EXPECT_TRUE(expect_ok(store.list_alerts(std::nullopt, "", 0)).empty());
}

TEST_P(StoreContract, alerts_of_a_rolled_back_transaction_are_not_kept) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) { expect_ok(t.raise_alert(alert_row("A-1", "{}"))); });
  {
    auto transaction = expect_ok(store.begin());
    expect_ok(transaction->raise_alert(alert_row("A-2", "{}")));
    expect_ok(transaction->resolve_alert("A-1", t0));
    EXPECT_EQ(alert_ids(expect_ok(store.list_alerts(AlertStatus::open, "", 10))), Strings{"A-1"});
  }
  EXPECT_EQ(alert_ids(expect_ok(store.list_alerts(std::nullopt, "", 10))), Strings{"A-1"});
  EXPECT_EQ(alert_ids(expect_ok(store.list_alerts(AlertStatus::open, "", 10))), Strings{"A-1"});
}

// --- Source offsets ------------------------------------------------------------------------

TEST_P(StoreContract, source_offsets_are_kept_per_source_and_partition_in_partition_order) {
  Store& store = open_store();
  EXPECT_TRUE(expect_ok(store.source_offsets("kafka:events")).empty());
  in_transaction(store, [](Transaction& t) {
    expect_ok(t.put_source_offset({"kafka:events", 2, 10}));
    expect_ok(t.put_source_offset({"kafka:events", 0, 7}));
    expect_ok(t.put_source_offset({"kafka:other", 0, 99}));
  });
  in_transaction(store, [](Transaction& t) {
    expect_ok(t.put_source_offset({"kafka:events", 2, 15}));  // moves on
    expect_ok(t.put_source_offset({"kafka:events", 1, 1'000'000'000'000}));
  });
  EXPECT_EQ(expect_ok(store.source_offsets("kafka:events")),
            (std::vector<SourceOffset>{{"kafka:events", 0, 7},
                                       {"kafka:events", 1, 1'000'000'000'000},
                                       {"kafka:events", 2, 15}}));
  EXPECT_EQ(expect_ok(store.source_offsets("kafka:other")),
            (std::vector<SourceOffset>{{"kafka:other", 0, 99}}));
  EXPECT_TRUE(expect_ok(store.source_offsets("kafka:none")).empty());
}

TEST_P(StoreContract, source_offsets_move_only_with_their_transaction) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) {
    (void)expect_ok(t.append(make_event("erp", "a"), t0));
    expect_ok(t.put_source_offset({"kafka:events", 0, 1}));
  });
  {
    auto transaction = expect_ok(store.begin());
    (void)expect_ok(transaction->append(make_event("erp", "b"), t0));
    expect_ok(transaction->put_source_offset({"kafka:events", 0, 2}));
    EXPECT_EQ(expect_ok(store.source_offsets("kafka:events"))[0].offset, 1);
  }
  EXPECT_EQ(expect_ok(store.source_offsets("kafka:events")),
            (std::vector<SourceOffset>{{"kafka:events", 0, 1}}));
  EXPECT_EQ(expect_ok(store.journal_size()), 1);
}

TEST_P(StoreContract, append_batch_gives_the_outcomes_of_appending_one_by_one) {
  Store& store = open_store();
  commit_events(store, {make_event("erp", "old")});
  const std::vector<core::Event> batch = {make_event("erp", "a"), make_event("erp", "old"),
                                          make_event("erp", "b"), make_event("erp", "a", 400),
                                          make_event("bank", "a")};
  auto transaction = expect_ok(store.begin());
  using enum AppendOutcome;
  EXPECT_EQ(expect_ok(transaction->append_batch(batch, t0)),
            (std::vector<AppendOutcome>{appended, duplicate, appended, duplicate, appended}));
  // Later appends in the same transaction see the batch.
  EXPECT_EQ(expect_ok(transaction->append(make_event("erp", "b"), t0)), duplicate);
  EXPECT_TRUE(expect_ok(transaction->append_batch({}, t0)).empty());
  expect_ok(transaction->commit());
  EXPECT_EQ(expect_ok(store.find_event("erp", "a"))->sequence, 2);
  EXPECT_EQ(expect_ok(store.find_event("erp", "a"))->json, batch[0].json);
  EXPECT_EQ(expect_ok(store.find_event("erp", "b"))->sequence, 3);
  EXPECT_EQ(expect_ok(store.find_event("bank", "a"))->sequence, 4);
  EXPECT_EQ(expect_ok(store.journal_size()), 4);
}

}  // namespace relance::store::testing
