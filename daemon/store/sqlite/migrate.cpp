#include "store/sqlite/migrate.hpp"

#include <string>

namespace relance::store::sqlite {

namespace {

Result<void> check_owner(Connection& connection, std::int64_t version) {
  auto application_id = connection.query_int("PRAGMA application_id", "reading application_id");
  if (!application_id) return application_id.error();
  if (*application_id == relance_application_id) return {};
  if (*application_id != 0) {
    return Error{"", "SQLite database " + connection.path() +
                         " belongs to another application (application_id " +
                         std::to_string(*application_id) + "); point the store at a new file"};
  }
  auto objects = connection.query_int("SELECT count(*) FROM sqlite_schema", "reading the schema");
  if (!objects) return objects.error();
  if (version != 0 || *objects != 0) {
    return Error{"", "SQLite database " + connection.path() +
                         " already has tables but is not a relance database; point the store "
                         "at a new file"};
  }
  return {};
}

}  // namespace

Result<int> migrate(Connection& connection, std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    RELANCE_ASSERT(migrations[i].version == static_cast<int>(i) + 1);
  }
  const auto latest = static_cast<std::int64_t>(migrations.size());
  while (true) {
    if (auto begun = connection.exec("BEGIN IMMEDIATE", "starting a migration"); !begun) {
      return begun.error();
    }
    // Read inside the write transaction: another process may have migrated meanwhile.
    auto step = [&]() -> Result<std::int64_t> {
      auto version = connection.query_int("PRAGMA user_version", "reading the schema version");
      if (!version) return version.error();
      if (auto owned = check_owner(connection, *version); !owned) return owned.error();
      if (*version > latest) {
        return Error{"", "SQLite database " + connection.path() + " has schema version " +
                             std::to_string(*version) + ", newer than the " +
                             std::to_string(latest) +
                             " this relanced knows; run a relanced at least as new as the one "
                             "that last wrote it"};
      }
      if (*version == latest) return *version;
      const Migration& next = migrations[static_cast<std::size_t>(*version)];
      if (auto applied = connection.exec(next.sql, "applying migration " + std::string(next.name));
          !applied) {
        return applied.error();
      }
      const std::string record =
          "PRAGMA user_version = " + std::to_string(next.version) +
          "; PRAGMA application_id = " + std::to_string(relance_application_id);
      if (auto recorded = connection.exec(record, "recording the schema version"); !recorded) {
        return recorded.error();
      }
      return *version + 1;
    };
    auto reached = step();
    if (!reached) {
      (void)connection.exec("ROLLBACK", "rolling back a migration");
      return reached.error();
    }
    if (auto committed = connection.exec("COMMIT", "committing a migration"); !committed) {
      (void)connection.exec("ROLLBACK", "rolling back a migration");
      return committed.error();
    }
    if (*reached == latest) return static_cast<int>(latest);
  }
}

}  // namespace relance::store::sqlite
