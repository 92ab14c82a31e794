#include "store_contract.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <thread>

#include "test_events.hpp"

namespace relance::store::testing {

void expect_migrations_are_the_files_of(std::span<const Migration> migrations,
                                        const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".sql") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(migrations.size(), files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i) + 1);
    EXPECT_EQ(migrations[i].name, files[i].stem().string());
    std::ifstream in(files[i], std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(migrations[i].sql, text) << files[i];
  }
}

namespace {

const core::Timestamp t0 = core::Timestamp(std::chrono::seconds(1'767'225'600));  // 2026-01-01

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
  auto put = [&](const char* owner, const char* blob, const char* view) {
    in_transaction(store, [&](Transaction& t) {
      auto row = receivable_row("INV-1", owner, blob);
      row.view_json = view;
      expect_ok(t.put_state(row));
    });
  };
  in_transaction(store,
                 [](Transaction& t) { expect_ok(t.put_state(receivable_row("INV-1", "", "v1"))); });
  put("C-9", "v2", R"({"v":2})");
  EXPECT_EQ(state_blobs(store, StateKind::receivable), Strings{"v2"});
  EXPECT_EQ(*expect_ok(store.find_state_view(StateKind::receivable, "INV-1")), R"({"v":2})");
  // The owner moved too: the row is listed under its new customer only.
  EXPECT_TRUE(expect_ok(store.customer_state("")).receivables.empty());
  EXPECT_EQ(expect_ok(store.customer_state("C-9")).receivables, Strings{"v2"});
  // Rewritten with the same owner (the writer's common case).
  put("C-9", "v3", R"({"v":3})");
  EXPECT_EQ(state_blobs(store, StateKind::receivable), Strings{"v3"});
  EXPECT_EQ(*expect_ok(store.find_state_view(StateKind::receivable, "INV-1")), R"({"v":3})");
  EXPECT_EQ(expect_ok(store.customer_state("C-9")).receivables, Strings{"v3"});
  // Only the owner moved: the row follows it all the same.
  put("C-7", "v3", R"({"v":3})");
  EXPECT_TRUE(expect_ok(store.customer_state("C-9")).receivables.empty());
  EXPECT_EQ(expect_ok(store.customer_state("C-7")).receivables, Strings{"v3"});
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

TEST_P(StoreContract, dunning_and_contacts_rows_are_kinds_of_their_own) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) {
    expect_ok(t.put_state(receivable_row("INV-1", "C-1", "r1")));
    expect_ok(t.put_state(StateRow{StateKind::dunning, "INV-1", "C-1", "d1", R"({"level":1})"}));
    expect_ok(t.put_state(StateRow{StateKind::contacts, "C-1", "C-1", "k1", "{}"}));
  });
  EXPECT_EQ(state_blobs(store, StateKind::receivable), Strings{"r1"});
  EXPECT_EQ(state_blobs(store, StateKind::dunning), Strings{"d1"});
  EXPECT_EQ(state_blobs(store, StateKind::contacts), Strings{"k1"});
  EXPECT_EQ(*expect_ok(store.find_state_view(StateKind::dunning, "INV-1")), R"({"level":1})");
  // A customer's receivables are the engine's rows only.
  EXPECT_EQ(expect_ok(store.customer_state("C-1")).receivables, Strings{"r1"});
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

TEST_P(StoreContract, customer_state_reads_the_customer_and_its_receivables_blobs) {
  Store& store = open_store();
  std::string binary("\x00\x01\xff c\x00", 7);
  in_transaction(store, [&](Transaction& t) {
    expect_ok(t.put_state(receivable_row("INV-B", "C-1", "b")));
    expect_ok(t.put_state(receivable_row("INV-A", "C-1", "a")));
    expect_ok(t.put_state(receivable_row("INV-C", "C-2", "c")));
    expect_ok(t.put_state(StateRow{StateKind::customer, "C-1", "C-1", binary, ""}));
    expect_ok(t.put_state(StateRow{StateKind::customer, "C-3", "C-3", "c3", ""}));
  });
  const CustomerState one = expect_ok(store.customer_state("C-1"));
  EXPECT_EQ(one.customer_id, "C-1");
  EXPECT_EQ(one.customer, std::optional<std::string>(binary));
  EXPECT_EQ(one.receivables, (Strings{"a", "b"}));
  // Receivables without a customer row, a customer without receivables, nothing at all.
  const CustomerState two = expect_ok(store.customer_state("C-2"));
  EXPECT_FALSE(two.customer.has_value());
  EXPECT_EQ(two.receivables, Strings{"c"});
  const CustomerState three = expect_ok(store.customer_state("C-3"));
  EXPECT_EQ(three.customer, std::optional<std::string>("c3"));
  EXPECT_TRUE(three.receivables.empty());
  const CustomerState none = expect_ok(store.customer_state("C-404"));
  EXPECT_EQ(none.customer_id, "C-404");
  EXPECT_FALSE(none.customer.has_value());
  EXPECT_TRUE(none.receivables.empty());
}

// Records (payments, credit notes...) are rows of their own, keyed by their identity, read with
// their customer's state; a record filed under the unassigned bucket ("") moves to its customer.
TEST_P(StoreContract, customer_state_reads_the_records_of_the_customer_wherever_they_were_filed) {
  auto record_row = [](const std::string& identity, const std::string& owner,
                       const std::string& blob) {
    return StateRow{StateKind::record, identity, owner, blob, ""};
  };
  {
    Store& store = open_store();
    in_transaction(store, [&](Transaction& t) {
      expect_ok(t.put_state(record_row("payment\x1fP-2", "C-1", "p2")));
      expect_ok(t.put_state(record_row("payment\x1fP-1", "C-1", "p1")));
      expect_ok(t.put_state(record_row("payment\x1fP-3", "", "p3")));
      expect_ok(t.put_state(receivable_row("INV-A", "C-1", "a")));
    });
    EXPECT_EQ(expect_ok(store.customer_state("C-1")).records, (Strings{"p1", "p2"}));
    EXPECT_EQ(expect_ok(store.customer_state("C-1")).receivables, Strings{"a"});
    EXPECT_EQ(expect_ok(store.customer_state("")).records, Strings{"p3"});
    EXPECT_EQ(state_blobs(store, StateKind::record), (Strings{"p1", "p2", "p3"}));
    in_transaction(store, [&](Transaction& t) {
      expect_ok(t.put_state(record_row("payment\x1fP-3", "C-1", "p3 placed")));
    });
    EXPECT_EQ(expect_ok(store.customer_state("C-1")).records, (Strings{"p1", "p2", "p3 placed"}));
    EXPECT_TRUE(expect_ok(store.customer_state("")).records.empty());
    close_store();
  }
  Store& store = open_store();
  EXPECT_EQ(expect_ok(store.customer_state("C-1")).records, (Strings{"p1", "p2", "p3 placed"}));
  auto owner = expect_ok(store.receivable_owner_state("INV-A"));
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->records, (Strings{"p1", "p2", "p3 placed"}));
  // A record's identity is not an invoice id.
  EXPECT_FALSE(expect_ok(store.receivable_owner_state("payment\x1fP-1")).has_value());
}

TEST_P(StoreContract, customer_state_survives_closing_and_reopening) {
  {
    Store& store = open_store();
    in_transaction(store, [&](Transaction& t) {
      expect_ok(t.put_state(receivable_row("INV-B", "C-1", "b")));
      expect_ok(t.put_state(receivable_row("INV-A", "C-1", "a")));
      expect_ok(t.put_state(receivable_row("INV-C", "C-2", "c")));
    });
    in_transaction(store, [&](Transaction& t) {  // a new owner
      expect_ok(t.put_state(receivable_row("INV-C", "C-1", "c2")));
    });
    close_store();
  }
  Store& store = open_store();
  EXPECT_EQ(expect_ok(store.customer_state("C-1")).receivables, (Strings{"a", "b", "c2"}));
  EXPECT_TRUE(expect_ok(store.customer_state("C-2")).receivables.empty());
  auto owner = expect_ok(store.receivable_owner_state("INV-C"));
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->customer_id, "C-1");
  in_transaction(store, [&](Transaction& t) {
    expect_ok(t.put_state(receivable_row("INV-0", "C-1", "zero")));
  });
  EXPECT_EQ(expect_ok(store.customer_state("C-1")).receivables, (Strings{"zero", "a", "b", "c2"}));
}

TEST_P(StoreContract, receivable_owner_state_follows_the_receivable_to_its_customer) {
  Store& store = open_store();
  in_transaction(store, [](Transaction& t) {
    expect_ok(t.put_state(receivable_row("INV-A", "C-1", "a")));
    expect_ok(t.put_state(receivable_row("INV-B", "C-1", "b")));
    expect_ok(t.put_state(StateRow{StateKind::customer, "C-1", "C-1", "c1", ""}));
    expect_ok(t.put_state(StateRow{StateKind::customer, "C-2", "C-2", "c2", ""}));
  });
  auto owner = expect_ok(store.receivable_owner_state("INV-B"));
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->customer_id, "C-1");
  EXPECT_EQ(owner->customer, std::optional<std::string>("c1"));
  EXPECT_EQ(owner->receivables, (Strings{"a", "b"}));
  // A customer id is not an invoice id.
  EXPECT_FALSE(expect_ok(store.receivable_owner_state("C-1")).has_value());
  EXPECT_FALSE(expect_ok(store.receivable_owner_state("INV-404")).has_value());

  // Moved to another customer: read from there.
  in_transaction(
      store, [](Transaction& t) { expect_ok(t.put_state(receivable_row("INV-B", "C-2", "b2"))); });
  owner = expect_ok(store.receivable_owner_state("INV-B"));
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->customer_id, "C-2");
  EXPECT_EQ(owner->customer, std::optional<std::string>("c2"));
  EXPECT_EQ(owner->receivables, Strings{"b2"});
  EXPECT_EQ(expect_ok(store.customer_state("C-1")).receivables, Strings{"a"});
}

TEST_P(StoreContract, customer_state_does_not_see_an_uncommitted_transaction) {
  Store& store = open_store();
  in_transaction(
      store, [](Transaction& t) { expect_ok(t.put_state(receivable_row("INV-A", "C-1", "a"))); });
  auto transaction = expect_ok(store.begin());
  expect_ok(transaction->put_state(receivable_row("INV-B", "C-1", "b")));
  expect_ok(transaction->put_state(receivable_row("INV-A", "C-1", "a2")));
  EXPECT_EQ(expect_ok(store.customer_state("C-1")).receivables, Strings{"a"});
  EXPECT_FALSE(expect_ok(store.receivable_owner_state("INV-B")).has_value());
  expect_ok(transaction->commit());
  EXPECT_EQ(expect_ok(store.customer_state("C-1")).receivables, (Strings{"a2", "b"}));
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

OutboxEntry outbox_entry(const std::string& key, core::Timestamp due_at = t0,
                         const std::string& sink = "crm.rest") {
  OutboxEntry entry;
  entry.idempotency_key = key;
  entry.sink = sink;
  entry.customer_id = "C-1";
  entry.invoice_ids = {"F-1", "F-\"2\""};
  entry.payload = R"({"idempotency_key":")" + key + R"(","content":{"é":1}})";
  entry.due_at = due_at;
  entry.created_at = t0 - std::chrono::hours(1);
  return entry;
}

void enqueue_all(Store& store, const std::vector<OutboxEntry>& entries) {
  auto transaction = expect_ok(store.begin());
  for (const auto& entry : entries) expect_ok(transaction->enqueue(entry));
  expect_ok(transaction->commit());
}

std::vector<std::int64_t> outbox_ids(const std::vector<OutboxRow>& rows) {
  std::vector<std::int64_t> ids;
  for (const auto& row : rows) ids.push_back(row.id);
  return ids;
}

using Ids = std::vector<std::int64_t>;

TEST_P(StoreContract, enqueued_action_is_pending_with_what_was_enqueued) {
  Store& store = open_store();
  const OutboxEntry entry = outbox_entry("R-1/step-1/2026-01-01");
  enqueue_all(store, {entry});
  const auto rows = expect_ok(store.list_outbox(std::nullopt, 0, 10));
  ASSERT_EQ(rows.size(), 1u);
  const OutboxRow& row = rows[0];
  EXPECT_GE(row.id, 1);
  EXPECT_EQ(row.idempotency_key, entry.idempotency_key);
  EXPECT_EQ(row.sink, "crm.rest");
  EXPECT_EQ(row.customer_id, "C-1");
  EXPECT_EQ(row.invoice_ids, entry.invoice_ids);
  EXPECT_EQ(row.payload, entry.payload);
  EXPECT_EQ(row.due_at, t0);
  EXPECT_EQ(row.status, OutboxStatus::pending);
  EXPECT_EQ(row.attempts, 0);
  EXPECT_EQ(row.next_attempt_at, t0);
  EXPECT_EQ(row.last_error, "");
  EXPECT_EQ(row.created_at, entry.created_at);
  EXPECT_EQ(row.updated_at, entry.created_at);
  const auto found = expect_ok(store.find_outbox(row.id));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->payload, entry.payload);
  EXPECT_FALSE(expect_ok(store.find_outbox(row.id + 1000)).has_value());
}

TEST_P(StoreContract, enqueuing_a_key_again_is_a_no_op_in_the_same_or_a_later_transaction) {
  Store& store = open_store();
  OutboxEntry first = outbox_entry("K-1");
  OutboxEntry again = outbox_entry("K-1", t0 + std::chrono::hours(5), "email.smtp");
  again.payload = "{}";
  enqueue_all(store, {first, again, outbox_entry("K-2")});
  enqueue_all(store, {again});
  const auto rows = expect_ok(store.list_outbox(std::nullopt, 0, 10));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].idempotency_key, "K-1");
  EXPECT_EQ(rows[0].payload, first.payload);
  EXPECT_EQ(rows[0].sink, "crm.rest");
  EXPECT_EQ(rows[1].idempotency_key, "K-2");
  EXPECT_LT(rows[0].id, rows[1].id);
  // Even once delivered, the key stays taken.
  auto claimed = expect_ok(store.claim_outbox(t0, 10));
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_TRUE(expect_ok(store.mark_outbox_delivered(rows[0].id, t0)));
  enqueue_all(store, {first});
  EXPECT_EQ(expect_ok(store.list_outbox(std::nullopt, 0, 10)).size(), 2u);
}

TEST_P(StoreContract, enqueued_actions_move_only_with_their_transaction) {
  Store& store = open_store();
  {
    auto transaction = expect_ok(store.begin());
    expect_ok(transaction->enqueue(outbox_entry("K-1")));
    EXPECT_TRUE(expect_ok(store.list_outbox(std::nullopt, 0, 10)).empty());
  }  // rolled back
  EXPECT_TRUE(expect_ok(store.list_outbox(std::nullopt, 0, 10)).empty());
  enqueue_all(store, {outbox_entry("K-1")});
  close_store();
  Store& reopened = open_store();
  EXPECT_EQ(expect_ok(reopened.list_outbox(std::nullopt, 0, 10)).size(), 1u);
}

TEST_P(StoreContract, claim_takes_due_pending_rows_earliest_first_up_to_a_limit) {
  Store& store = open_store();
  using std::chrono::minutes;
  enqueue_all(store, {outbox_entry("late", t0 + minutes(10)), outbox_entry("b", t0),
                      outbox_entry("a", t0 - minutes(5)), outbox_entry("c", t0)});
  const auto all = expect_ok(store.list_outbox(std::nullopt, 0, 10));
  ASSERT_EQ(all.size(), 4u);
  const std::int64_t late = all[0].id, b = all[1].id, a = all[2].id, c = all[3].id;
  const core::Timestamp now = t0 + std::chrono::seconds(1);
  const auto first = expect_ok(store.claim_outbox(now, 2));
  EXPECT_EQ(outbox_ids(first), (Ids{a, b}));
  for (const auto& row : first) {
    EXPECT_EQ(row.status, OutboxStatus::sending);
    EXPECT_EQ(row.updated_at, now);
  }
  EXPECT_EQ(outbox_ids(expect_ok(store.claim_outbox(now, 10))), (Ids{c}));
  EXPECT_TRUE(expect_ok(store.claim_outbox(now, 10)).empty());  // already sending
  EXPECT_EQ(outbox_ids(expect_ok(store.claim_outbox(t0 + minutes(10), 10))), (Ids{late}));
  EXPECT_EQ(expect_ok(store.find_outbox(a))->status, OutboxStatus::sending);
}

TEST_P(StoreContract, concurrent_claims_never_return_the_same_row) {
  Store& store = open_store();
  std::vector<OutboxEntry> entries;
  for (int i = 0; i < 60; ++i) entries.push_back(outbox_entry("K-" + std::to_string(i)));
  enqueue_all(store, entries);
  std::vector<std::int64_t> claimed[3];
  std::vector<std::thread> threads;
  for (auto& mine : claimed) {
    threads.emplace_back([&store, &mine] {
      while (true) {
        auto rows = store.claim_outbox(t0, 4);
        if (!rows) {
          ADD_FAILURE() << rows.error().to_string();
          return;
        }
        if (rows->empty()) return;
        for (const auto& row : *rows) mine.push_back(row.id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<std::int64_t> every;
  for (const auto& mine : claimed) every.insert(every.end(), mine.begin(), mine.end());
  std::sort(every.begin(), every.end());
  EXPECT_EQ(every.size(), 60u);
  EXPECT_EQ(std::adjacent_find(every.begin(), every.end()), every.end());
}

TEST_P(StoreContract, settling_records_each_outcome_of_a_row_in_sending) {
  Store& store = open_store();
  enqueue_all(store, {outbox_entry("ok"), outbox_entry("retry"), outbox_entry("drop"),
                      outbox_entry("dead"), outbox_entry("wait")});
  const Ids ids = outbox_ids(expect_ok(store.claim_outbox(t0, 10)));
  ASSERT_EQ(ids.size(), 5u);
  const core::Timestamp at = t0 + std::chrono::seconds(3);
  const core::Timestamp later = t0 + std::chrono::minutes(2);
  EXPECT_TRUE(expect_ok(store.mark_outbox_delivered(ids[0], at)));
  EXPECT_TRUE(expect_ok(store.mark_outbox_retry(ids[1], later, "HTTP 503", at)));
  EXPECT_TRUE(expect_ok(store.mark_outbox_dropped(ids[2], "receivable paid", at)));
  EXPECT_TRUE(expect_ok(store.mark_outbox_dead(ids[3], "HTTP 400 bad body", at)));
  // Postponed without a send (the sink's circuit is open): no attempt counted.
  EXPECT_TRUE(expect_ok(
      store.settle_outbox(ids[4], {OutboxStatus::pending, false, later, "circuit open", at})));

  const auto ok = *expect_ok(store.find_outbox(ids[0]));
  EXPECT_EQ(ok.status, OutboxStatus::delivered);
  EXPECT_EQ(ok.attempts, 1);
  EXPECT_EQ(ok.updated_at, at);
  EXPECT_EQ(ok.next_attempt_at, t0);
  const auto retry = *expect_ok(store.find_outbox(ids[1]));
  EXPECT_EQ(retry.status, OutboxStatus::pending);
  EXPECT_EQ(retry.attempts, 1);
  EXPECT_EQ(retry.next_attempt_at, later);
  EXPECT_EQ(retry.last_error, "HTTP 503");
  const auto drop = *expect_ok(store.find_outbox(ids[2]));
  EXPECT_EQ(drop.status, OutboxStatus::dropped);
  EXPECT_EQ(drop.attempts, 0);
  EXPECT_EQ(drop.last_error, "receivable paid");
  const auto dead = *expect_ok(store.find_outbox(ids[3]));
  EXPECT_EQ(dead.status, OutboxStatus::dead);
  EXPECT_EQ(dead.attempts, 1);
  EXPECT_EQ(dead.last_error, "HTTP 400 bad body");
  const auto wait = *expect_ok(store.find_outbox(ids[4]));
  EXPECT_EQ(wait.status, OutboxStatus::pending);
  EXPECT_EQ(wait.attempts, 0);
  EXPECT_EQ(wait.next_attempt_at, later);

  // Only a row in sending can be settled.
  EXPECT_FALSE(expect_ok(store.mark_outbox_delivered(ids[1], at)));
  EXPECT_FALSE(expect_ok(store.mark_outbox_delivered(ids[0], at)));
  EXPECT_FALSE(expect_ok(store.mark_outbox_delivered(ids[4] + 1000, at)));
  EXPECT_EQ(expect_ok(store.find_outbox(ids[1]))->status, OutboxStatus::pending);

  // The retried row comes back when due, its attempts kept.
  EXPECT_TRUE(expect_ok(store.claim_outbox(later - std::chrono::seconds(1), 10)).empty());
  const auto again = expect_ok(store.claim_outbox(later, 10));
  EXPECT_EQ(outbox_ids(again), (Ids{ids[1], ids[4]}));
  EXPECT_EQ(again[0].attempts, 1);
}

TEST_P(StoreContract, rows_left_in_sending_are_requeued_and_others_are_not) {
  Store& store = open_store();
  enqueue_all(store, {outbox_entry("a"), outbox_entry("b"), outbox_entry("c")});
  const Ids first = outbox_ids(expect_ok(store.claim_outbox(t0, 1)));
  const Ids second = outbox_ids(expect_ok(store.claim_outbox(t0 + std::chrono::seconds(10), 1)));
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  close_store();  // a crash between claim and settle
  Store& reopened = open_store();
  const core::Timestamp restart = t0 + std::chrono::seconds(20);
  // Only rows claimed at or before the given instant: another daemon's fresh claim stays.
  EXPECT_EQ(expect_ok(reopened.requeue_outbox_sending(t0 + std::chrono::seconds(5), restart)), 1);
  const auto requeued = *expect_ok(reopened.find_outbox(first[0]));
  EXPECT_EQ(requeued.status, OutboxStatus::pending);
  EXPECT_EQ(requeued.next_attempt_at, restart);
  EXPECT_EQ(requeued.attempts, 0);
  EXPECT_EQ(expect_ok(reopened.find_outbox(second[0]))->status, OutboxStatus::sending);
  EXPECT_EQ(expect_ok(reopened.requeue_outbox_sending(restart, restart)), 1);
  EXPECT_EQ(expect_ok(reopened.requeue_outbox_sending(restart, restart)), 0);
  EXPECT_EQ(expect_ok(reopened.claim_outbox(restart, 10)).size(), 3u);
}

TEST_P(StoreContract, retry_puts_a_dead_row_back_to_pending_and_refuses_others) {
  Store& store = open_store();
  enqueue_all(store, {outbox_entry("dead"), outbox_entry("pending")});
  const auto claimed = expect_ok(store.claim_outbox(t0, 1));
  ASSERT_EQ(claimed.size(), 1u);
  const std::int64_t dead = claimed[0].id;
  EXPECT_TRUE(expect_ok(store.mark_outbox_retry(dead, t0, "HTTP 500", t0)));
  ASSERT_EQ(outbox_ids(expect_ok(store.claim_outbox(t0, 1))), (Ids{dead}));
  EXPECT_TRUE(expect_ok(store.mark_outbox_dead(dead, "HTTP 500 again", t0)));
  EXPECT_EQ(expect_ok(store.find_outbox(dead))->attempts, 2);
  const std::int64_t pending = dead + 1;

  const core::Timestamp at = t0 + std::chrono::hours(2);
  EXPECT_EQ(expect_ok(store.retry_outbox(pending, at)), OutboxRetryOutcome::not_dead);
  EXPECT_EQ(expect_ok(store.retry_outbox(dead + 1000, at)), OutboxRetryOutcome::unknown);
  EXPECT_EQ(expect_ok(store.retry_outbox(dead, at)), OutboxRetryOutcome::retried);
  const auto row = *expect_ok(store.find_outbox(dead));
  EXPECT_EQ(row.status, OutboxStatus::pending);
  EXPECT_EQ(row.attempts, 0);
  EXPECT_EQ(row.next_attempt_at, at);
  EXPECT_EQ(row.last_error, "HTTP 500 again");  // the history of why it died stays visible
  EXPECT_EQ(expect_ok(store.retry_outbox(dead, at)), OutboxRetryOutcome::not_dead);
}

TEST_P(StoreContract, list_outbox_filters_by_status_and_pages_by_id_and_depth_counts) {
  Store& store = open_store();
  std::vector<OutboxEntry> entries;
  for (int i = 0; i < 6; ++i) entries.push_back(outbox_entry("K-" + std::to_string(i)));
  enqueue_all(store, entries);
  const Ids ids = outbox_ids(expect_ok(store.list_outbox(std::nullopt, 0, 100)));
  ASSERT_EQ(ids.size(), 6u);
  const Ids claimed = outbox_ids(expect_ok(store.claim_outbox(t0, 4)));
  ASSERT_EQ(claimed, (Ids{ids[0], ids[1], ids[2], ids[3]}));
  EXPECT_TRUE(expect_ok(store.mark_outbox_dead(ids[0], "x", t0)));
  EXPECT_TRUE(expect_ok(store.mark_outbox_dead(ids[2], "x", t0)));
  EXPECT_TRUE(expect_ok(store.mark_outbox_delivered(ids[1], t0)));

  EXPECT_EQ(outbox_ids(expect_ok(store.list_outbox(OutboxStatus::dead, 0, 100))),
            (Ids{ids[0], ids[2]}));
  EXPECT_EQ(outbox_ids(expect_ok(store.list_outbox(OutboxStatus::dead, ids[0], 100))),
            (Ids{ids[2]}));
  EXPECT_EQ(outbox_ids(expect_ok(store.list_outbox(OutboxStatus::pending, 0, 1))), (Ids{ids[4]}));
  EXPECT_EQ(outbox_ids(expect_ok(store.list_outbox(OutboxStatus::pending, ids[4], 1))),
            (Ids{ids[5]}));
  EXPECT_EQ(outbox_ids(expect_ok(store.list_outbox(std::nullopt, ids[1], 2))),
            (Ids{ids[2], ids[3]}));
  EXPECT_TRUE(expect_ok(store.list_outbox(OutboxStatus::dropped, 0, 100)).empty());

  const OutboxDepth depth = expect_ok(store.outbox_depth());
  EXPECT_EQ(depth[OutboxStatus::pending], 2);
  EXPECT_EQ(depth[OutboxStatus::sending], 1);
  EXPECT_EQ(depth[OutboxStatus::delivered], 1);
  EXPECT_EQ(depth[OutboxStatus::dropped], 0);
  EXPECT_EQ(depth[OutboxStatus::dead], 2);
}

}  // namespace relance::store::testing
