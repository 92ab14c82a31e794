#include "fake_store.hpp"

#include <algorithm>
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

  // The other writes are kept as operations and played in order at commit, so that their
  // semantics (raise after resolve, and so on) are those of the committed data.
  Result<void> put_state(const StateRow& row) override {
    RELANCE_ASSERT(!finished_);
    operations_.push_back(
        [row](FakeDatabase& db) { db.state[std::make_pair(row.kind, row.key)] = row; });
    return {};
  }

  Result<void> raise_alert(const AlertRow& row) override {
    RELANCE_ASSERT(!finished_);
    operations_.push_back([row](FakeDatabase& db) {
      auto [found, inserted] = db.alerts.try_emplace(row.id, row);
      AlertRow& stored = found->second;
      const core::Timestamp raised_at =
          !inserted && stored.status == AlertStatus::open ? stored.raised_at : row.raised_at;
      stored = row;
      stored.status = AlertStatus::open;
      stored.raised_at = raised_at;
      stored.resolved_at.reset();
    });
    return {};
  }

  Result<void> resolve_alert(std::string_view id, core::Timestamp at) override {
    RELANCE_ASSERT(!finished_);
    operations_.push_back([id = std::string(id), at](FakeDatabase& db) {
      const auto found = db.alerts.find(id);
      if (found == db.alerts.end() || found->second.status != AlertStatus::open) return;
      found->second.status = AlertStatus::resolved;
      found->second.resolved_at = at;
    });
    return {};
  }

  Result<void> put_source_offset(const SourceOffset& offset) override {
    RELANCE_ASSERT(!finished_);
    operations_.push_back([offset](FakeDatabase& db) {
      db.offsets[std::make_pair(offset.source, offset.partition)] = offset.offset;
    });
    return {};
  }

  Result<void> enqueue(const OutboxEntry& entry) override {
    RELANCE_ASSERT(!finished_);
    operations_.push_back([entry](FakeDatabase& db) {
      if (db.outbox_keys.contains(entry.idempotency_key)) return;
      OutboxRow row;
      row.id = ++db.outbox_last_id;
      row.idempotency_key = entry.idempotency_key;
      row.sink = entry.sink;
      row.customer_id = entry.customer_id;
      row.invoice_ids = entry.invoice_ids;
      row.payload = entry.payload;
      row.due_at = entry.due_at;
      row.status = OutboxStatus::pending;
      row.next_attempt_at = entry.due_at;
      row.created_at = entry.created_at;
      row.updated_at = entry.created_at;
      db.outbox_keys.emplace(entry.idempotency_key, row.id);
      db.outbox.emplace(row.id, std::move(row));
    });
    return {};
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
      for (const auto& operation : operations_) operation(db);
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
  std::vector<std::function<void(FakeDatabase&)>> operations_;
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

Result<std::vector<StoredEvent>> FakeStore::read_journal(std::int64_t after, std::size_t limit) {
  std::lock_guard lock(database_->mutex);
  std::vector<StoredEvent> events;
  const auto& journal = database_->journal;
  for (auto i = static_cast<std::size_t>(std::max<std::int64_t>(after, 0));
       i < journal.size() && events.size() < limit; ++i) {
    events.push_back(journal[i]);
  }
  return events;
}

Result<void> FakeStore::for_each_state(
    StateKind kind, const std::function<Result<void>(std::string_view blob)>& visit) {
  // Copied out first: `visit` may take long, and must not run under the database lock.
  std::vector<std::string> blobs;
  {
    std::lock_guard lock(database_->mutex);
    for (const auto& [key, row] : database_->state) {
      if (key.first == kind) blobs.push_back(row.blob);
    }
  }
  for (const auto& blob : blobs) {
    if (auto visited = visit(blob); !visited) return visited.error();
  }
  return {};
}

Result<std::optional<std::string>> FakeStore::find_state_view(StateKind kind,
                                                              std::string_view key) {
  std::lock_guard lock(database_->mutex);
  const auto found = database_->state.find(std::make_pair(kind, std::string(key)));
  if (found == database_->state.end()) return std::optional<std::string>();
  return std::optional<std::string>(found->second.view_json);
}

namespace {

// Under the database lock. The map is in (kind, key) order, so receivables and records come in
// key order.
CustomerState customer_state_locked(const FakeDatabase& database, std::string_view customer_id) {
  CustomerState state;
  state.customer_id = std::string(customer_id);
  for (const auto& [key, row] : database.state) {
    if (row.customer_id != customer_id) continue;
    if (key.first == StateKind::customer) state.customer = row.blob;
    if (key.first == StateKind::receivable) state.receivables.push_back(row.blob);
    if (key.first == StateKind::record) state.records.push_back(row.blob);
  }
  return state;
}

}  // namespace

Result<CustomerState> FakeStore::customer_state(std::string_view customer_id) {
  std::lock_guard lock(database_->mutex);
  return customer_state_locked(*database_, customer_id);
}

Result<std::optional<CustomerState>> FakeStore::receivable_owner_state(
    std::string_view invoice_id) {
  std::lock_guard lock(database_->mutex);
  const auto found =
      database_->state.find(std::make_pair(StateKind::receivable, std::string(invoice_id)));
  if (found == database_->state.end()) return std::optional<CustomerState>();
  return std::optional<CustomerState>(customer_state_locked(*database_, found->second.customer_id));
}

Result<std::vector<AlertRow>> FakeStore::list_alerts(std::optional<AlertStatus> status,
                                                     std::string_view after_id, std::size_t limit) {
  std::lock_guard lock(database_->mutex);
  std::vector<AlertRow> alerts;
  for (auto it = database_->alerts.upper_bound(std::string(after_id));
       it != database_->alerts.end() && alerts.size() < limit; ++it) {
    if (!status || it->second.status == *status) alerts.push_back(it->second);
  }
  return alerts;
}

Result<std::vector<SourceOffset>> FakeStore::source_offsets(std::string_view source) {
  std::lock_guard lock(database_->mutex);
  std::vector<SourceOffset> offsets;
  for (const auto& [key, offset] : database_->offsets) {
    if (key.first == source) offsets.push_back(SourceOffset{key.first, key.second, offset});
  }
  return offsets;
}

Result<std::vector<OutboxRow>> FakeStore::claim_outbox(core::Timestamp now, std::size_t limit) {
  std::lock_guard lock(database_->mutex);
  std::vector<OutboxRow*> due;
  for (auto& [id, row] : database_->outbox) {
    if (row.status == OutboxStatus::pending && row.next_attempt_at <= now) due.push_back(&row);
  }
  std::stable_sort(due.begin(), due.end(), [](const OutboxRow* a, const OutboxRow* b) {
    return a->next_attempt_at < b->next_attempt_at;  // then id: the map's order, kept
  });
  std::vector<OutboxRow> claimed;
  for (OutboxRow* row : due) {
    if (claimed.size() >= limit) break;
    row->status = OutboxStatus::sending;
    row->updated_at = now;
    claimed.push_back(*row);
  }
  return claimed;
}

Result<bool> FakeStore::settle_outbox(std::int64_t id, const OutboxSettlement& settlement) {
  std::lock_guard lock(database_->mutex);
  const auto found = database_->outbox.find(id);
  if (found == database_->outbox.end() || found->second.status != OutboxStatus::sending) {
    return false;
  }
  OutboxRow& row = found->second;
  row.status = settlement.status;
  if (settlement.attempted) ++row.attempts;
  if (settlement.next_attempt_at) row.next_attempt_at = *settlement.next_attempt_at;
  row.last_error = settlement.last_error;
  row.updated_at = settlement.at;
  return true;
}

Result<std::int64_t> FakeStore::requeue_outbox_sending(core::Timestamp claimed_before,
                                                       core::Timestamp at) {
  std::lock_guard lock(database_->mutex);
  std::int64_t requeued = 0;
  for (auto& [id, row] : database_->outbox) {
    if (row.status == OutboxStatus::sending && row.updated_at <= claimed_before) {
      row.status = OutboxStatus::pending;
      row.next_attempt_at = at;
      row.updated_at = at;
      ++requeued;
    }
  }
  return requeued;
}

Result<OutboxRetryOutcome> FakeStore::retry_outbox(std::int64_t id, core::Timestamp at) {
  std::lock_guard lock(database_->mutex);
  const auto found = database_->outbox.find(id);
  if (found == database_->outbox.end()) return OutboxRetryOutcome::unknown;
  OutboxRow& row = found->second;
  if (row.status != OutboxStatus::dead) return OutboxRetryOutcome::not_dead;
  row.status = OutboxStatus::pending;
  row.attempts = 0;
  row.next_attempt_at = at;
  row.updated_at = at;
  return OutboxRetryOutcome::retried;
}

Result<std::optional<OutboxRow>> FakeStore::find_outbox(std::int64_t id) {
  std::lock_guard lock(database_->mutex);
  const auto found = database_->outbox.find(id);
  if (found == database_->outbox.end()) return std::optional<OutboxRow>();
  return std::optional<OutboxRow>(found->second);
}

Result<std::vector<OutboxRow>> FakeStore::list_outbox(std::optional<OutboxStatus> status,
                                                      std::int64_t after_id, std::size_t limit) {
  std::lock_guard lock(database_->mutex);
  std::vector<OutboxRow> rows;
  for (auto it = database_->outbox.upper_bound(after_id);
       it != database_->outbox.end() && rows.size() < limit; ++it) {
    if (!status || it->second.status == *status) rows.push_back(it->second);
  }
  return rows;
}

Result<OutboxDepth> FakeStore::outbox_depth() {
  std::lock_guard lock(database_->mutex);
  OutboxDepth depth;
  for (const auto& [id, row] : database_->outbox) ++depth[row.status];
  return depth;
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
