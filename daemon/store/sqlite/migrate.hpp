#pragma once

#include <span>

#include "core/result.hpp"
#include "store/migrations.hpp"
#include "store/sqlite/connection.hpp"

namespace relance::store::sqlite {

// PRAGMA application_id of a relance database ("RLNC"), so that pointing relanced at some other
// application's SQLite file is refused instead of migrated.
inline constexpr std::int64_t relance_application_id = 0x524C4E43;

// Brings the database to the last of `migrations` (versions 1..N in order): each pending one in
// its own IMMEDIATE transaction that also sets PRAGMA user_version, so that a failure leaves the
// database at the previous version and two processes opening it at once do not both migrate.
// Refuses a database newer than N, or one that holds tables but is not a relance database.
// Returns the version reached.
Result<int> migrate(Connection& connection, std::span<const Migration> migrations);

}  // namespace relance::store::sqlite
