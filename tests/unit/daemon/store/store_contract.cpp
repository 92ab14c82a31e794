#include "store_contract.hpp"

#include <atomic>
#include <chrono>
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

}  // namespace relance::store::testing
