#include "store/postgres/migrate.hpp"

#include <string>

namespace relance::store::postgres {

namespace {

// pg_advisory_xact_lock key: "relance" in ASCII. Advisory locks are per database, so daemons
// on other databases of the same server do not wait for each other.
constexpr const char* migration_lock_sql = "SELECT pg_advisory_xact_lock(32199650929516389)";

// One migration step, inside a transaction holding the lock: returns the version reached.
Result<std::int64_t> step(Connection& connection, std::span<const Migration> migrations) {
  const auto latest = static_cast<std::int64_t>(migrations.size());
  // Migrations may rewrite large tables: no statement timeout for them.
  if (auto set = connection.exec("SET LOCAL statement_timeout = 0", "starting a migration"); !set) {
    return set.error();
  }
  if (auto locked = connection.exec(migration_lock_sql, "waiting for the migration lock");
      !locked) {
    return locked.error();
  }
  // Read under the lock: another daemon may have migrated while we waited.
  auto found = connection.query(
      std::string("SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
                  "AND tablename = '") +
          schema_version_table +
          "'), (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
          "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')), "
          "current_schema() IS NULL",
      "reading the schema");
  if (!found) return found.error();
  const bool versioned = get_int64(found->get(), 0, 0) == 1;
  const std::int64_t relations = get_int64(found->get(), 0, 1);
  if (std::string(PQgetvalue(found->get(), 0, 2)) == "t") {
    return Error{"", connection.describe() +
                         ": no schema to create tables in; check search_path in the connection "
                         "options"};
  }
  std::int64_t version = 0;
  if (versioned) {
    auto read = connection.query(
        std::string("SELECT coalesce(max(version), 0) FROM ") + schema_version_table,
        "reading the schema version");
    if (!read) return read.error();
    version = get_int64(read->get(), 0, 0);
  } else if (relations != 0) {
    return Error{"",
                 connection.describe() + ": the schema already has tables but no " +
                     schema_version_table +
                     " table, so it is not a relance database; point store.postgres.url at a new "
                     "database or schema"};
  } else {
    auto created = connection.exec(std::string("CREATE TABLE ") + schema_version_table +
                                       " (version integer PRIMARY KEY, name text NOT NULL, "
                                       "applied_at timestamptz NOT NULL DEFAULT now())",
                                   "creating the schema version table");
    if (!created) return created.error();
  }
  if (version > latest) {
    return Error{"",
                 connection.describe() + ": schema version " + std::to_string(version) +
                     ", newer than the " + std::to_string(latest) +
                     " this relanced knows; run a relanced at least as new as the one that last "
                     "wrote it"};
  }
  if (version == latest) return version;
  const Migration& next = migrations[static_cast<std::size_t>(version)];
  if (auto applied = connection.exec(next.sql, "applying migration " + std::string(next.name));
      !applied) {
    return applied.error();
  }
  const Param params[] = {Param::integer(next.version), Param::text(next.name)};
  auto recorded = connection.query_params(
      std::string("INSERT INTO ") + schema_version_table + " (version, name) VALUES ($1, $2)",
      params, "recording the schema version");
  if (!recorded) return recorded.error();
  return version + 1;
}

}  // namespace

Result<int> migrate(Connection& connection, std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    RELANCE_ASSERT(migrations[i].version == static_cast<int>(i) + 1);
  }
  const auto latest = static_cast<std::int64_t>(migrations.size());
  while (true) {
    if (auto begun = connection.exec("BEGIN", "starting a migration"); !begun) {
      return begun.error();
    }
    auto reached = step(connection, migrations);
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

}  // namespace relance::store::postgres
