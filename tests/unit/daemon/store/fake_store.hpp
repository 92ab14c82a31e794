#pragma once
// The Store test double: an in-memory journal with the same contract as the real backends (it
// passes the same contract suite), plus hooks that let a test count transactions, hold a commit
// or make it fail.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/store.hpp"

namespace relance::store::testing {

// What survives a "close and reopen": share one FakeDatabase between successive FakeStores.
struct FakeDatabase {
  std::mutex mutex;
  std::vector<StoredEvent> journal;
  std::map<std::pair<std::string, std::string>, std::size_t> index;  // (source, id) -> journal
  std::map<std::pair<StateKind, std::string>, StateRow> state;       // (kind, key)
  std::map<std::string, AlertRow> alerts;                            // by id
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> offsets;
  std::map<std::int64_t, OutboxRow> outbox;         // by id
  std::map<std::string, std::int64_t> outbox_keys;  // idempotency_key -> id
  std::int64_t outbox_last_id = 0;
};

class FakeStore final : public Store {
 public:
  explicit FakeStore(std::shared_ptr<FakeDatabase> database = std::make_shared<FakeDatabase>())
      : database_(std::move(database)) {}

  Result<std::unique_ptr<Transaction>> begin() override;
  Result<std::optional<StoredEvent>> find_event(std::string_view source,
                                                std::string_view id) override;
  Result<std::int64_t> journal_size() override;
  Result<std::vector<StoredEvent>> read_journal(std::int64_t after, std::size_t limit) override;
  Result<void> for_each_state(
      StateKind kind, const std::function<Result<void>(std::string_view blob)>& visit) override;
  Result<std::optional<std::string>> find_state_view(StateKind kind, std::string_view key) override;
  Result<CustomerState> customer_state(std::string_view customer_id) override;
  Result<std::optional<CustomerState>> receivable_owner_state(std::string_view invoice_id) override;
  Result<std::vector<AlertRow>> list_alerts(std::optional<AlertStatus> status,
                                            std::string_view after_id, std::size_t limit) override;
  Result<std::vector<SourceOffset>> source_offsets(std::string_view source) override;
  Result<std::vector<OutboxRow>> claim_outbox(core::Timestamp now, std::size_t limit) override;
  Result<bool> settle_outbox(std::int64_t id, const OutboxSettlement& settlement) override;
  Result<std::int64_t> requeue_outbox_sending(core::Timestamp claimed_before,
                                              core::Timestamp at) override;
  Result<OutboxRetryOutcome> retry_outbox(std::int64_t id, core::Timestamp at) override;
  Result<std::optional<OutboxRow>> find_outbox(std::int64_t id) override;
  Result<std::vector<OutboxRow>> list_outbox(std::optional<OutboxStatus> status,
                                             std::int64_t after_id, std::size_t limit) override;
  Result<OutboxDepth> outbox_depth() override;
  Result<void> ping() override;

  // Called at the start of each commit(), on the writer thread, before anything is applied; a
  // test can block there or return an error to make the commit fail.
  void set_commit_hook(std::function<Result<void>()> hook);

  int transactions_begun() const;
  int transactions_committed() const;
  int transactions_failed() const;  // commit hook said no
  // Events per committed transaction, in commit order.
  std::vector<std::size_t> committed_batch_sizes() const;

 private:
  friend class FakeTransaction;
  std::shared_ptr<FakeDatabase> database_;
  mutable std::mutex stats_mutex_;
  std::function<Result<void>()> commit_hook_;
  int begun_ = 0;
  int committed_ = 0;
  int failed_ = 0;
  std::vector<std::size_t> batch_sizes_;
  bool transaction_open_ = false;
};

}  // namespace relance::store::testing
