#include "fake_store.hpp"

#include <set>

namespace relance::store::testing {

class FakeTransaction final : public Transaction {
 public:
  explicit FakeTransaction(FakeStore& store) : store_(store) {}
  ~FakeTransaction() override { store_.transaction_open_ = false; }

  Result<AppendOutcome> append(const core::Event& event, core::Timestamp received_at) override {
    RELANCE_ASSERT(!finished_);
    auto key = std::make_pair(event.source, event.id);
    {
      std::lock_guard lock(store_.database_->mutex);
      if (store_.database_->index.contains(key)) return AppendOutcome::duplicate;
    }
    if (!keys_.insert(key).second) return AppendOutcome::duplicate;
    StoredEvent stored;
    stored.source = event.source;
    stored.id = event.id;
    stored.type = std::string(core::event_type_name(event.type));
    stored.received_at = received_at;
    stored.json = event.json;
    pending_.push_back(std::move(stored));
    return AppendOutcome::appended;
  }

  Result<void> commit() override {
    RELANCE_ASSERT(!finished_);
    finished_ = true;
    std::function<Result<void>()> hook;
    {
      std::lock_guard lock(store_.stats_mutex_);
      hook = store_.commit_hook_;
    }
    if (hook) {
      if (auto allowed = hook(); !allowed) {
        std::lock_guard lock(store_.stats_mutex_);
        ++store_.failed_;
        return allowed.error();
      }
    }
    {
      std::lock_guard lock(store_.database_->mutex);
      auto& db = *store_.database_;
      for (auto& stored : pending_) {
        stored.sequence = static_cast<std::int64_t>(db.journal.size()) + 1;
        db.index.emplace(std::make_pair(stored.source, stored.id), db.journal.size());
        db.journal.push_back(std::move(stored));
      }
    }
    std::lock_guard lock(store_.stats_mutex_);
    ++store_.committed_;
    store_.batch_sizes_.push_back(pending_.size());
    return {};
  }

 private:
  FakeStore& store_;
  std::set<std::pair<std::string, std::string>> keys_;
  std::vector<StoredEvent> pending_;
  bool finished_ = false;
};

Result<std::unique_ptr<Transaction>> FakeStore::begin() {
  RELANCE_ASSERT(!transaction_open_ && "one transaction at a time");
  transaction_open_ = true;
  std::lock_guard lock(stats_mutex_);
  ++begun_;
  return std::unique_ptr<Transaction>(std::make_unique<FakeTransaction>(*this));
}

Result<std::optional<StoredEvent>> FakeStore::find_event(std::string_view source,
                                                         std::string_view id) {
  std::lock_guard lock(database_->mutex);
  const auto found = database_->index.find(std::make_pair(std::string(source), std::string(id)));
  if (found == database_->index.end()) return std::optional<StoredEvent>();
  return std::optional<StoredEvent>(database_->journal[found->second]);
}

Result<std::int64_t> FakeStore::journal_size() {
  std::lock_guard lock(database_->mutex);
  return static_cast<std::int64_t>(database_->journal.size());
}

Result<void> FakeStore::ping() { return {}; }

void FakeStore::set_commit_hook(std::function<Result<void>()> hook) {
  std::lock_guard lock(stats_mutex_);
  commit_hook_ = std::move(hook);
}

int FakeStore::transactions_begun() const {
  std::lock_guard lock(stats_mutex_);
  return begun_;
}

int FakeStore::transactions_committed() const {
  std::lock_guard lock(stats_mutex_);
  return committed_;
}

int FakeStore::transactions_failed() const {
  std::lock_guard lock(stats_mutex_);
  return failed_;
}

std::vector<std::size_t> FakeStore::committed_batch_sizes() const {
  std::lock_guard lock(stats_mutex_);
  return batch_sizes_;
}

}  // namespace relance::store::testing
