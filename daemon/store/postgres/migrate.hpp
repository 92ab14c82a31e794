#pragma once
// Applies schemas/sql/postgres migrations at open. Several daemons may start at once against
// the same database: each migration runs in its own transaction under an advisory lock, and
// the version is re-read under that lock, so each migration runs exactly once.

#include <span>

#include "core/result.hpp"
#include "store/migrations.hpp"
#include "store/postgres/connection.hpp"

namespace relance::store::postgres {

// The table that records applied migrations, one row per version.
inline constexpr const char* schema_version_table = "relance_schema_version";

// Brings the database to the last of `migrations` (versions 1..n in order) and returns that
// version. Refuses a database written by a newer relanced, or one that has tables but no
// version table (it belongs to something else).
Result<int> migrate(Connection& connection, std::span<const Migration> migrations);

}  // namespace relance::store::postgres
