#pragma once
// Schema migrations embedded at build time from schemas/sql/<backend>/NNNN_name.sql.

#include <span>
#include <string_view>

namespace relance::store {

struct Migration {
  int version = 0;        // NNNN; versions run 1, 2, 3... without gaps
  std::string_view name;  // "0001_journal"
  std::string_view sql;
};

// In version order.
std::span<const Migration> sqlite_migrations();
std::span<const Migration> postgres_migrations();

}  // namespace relance::store
