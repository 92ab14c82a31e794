#include "store/sqlite/connection.hpp"

namespace relance::store::sqlite {

Connection::~Connection() {
  // sqlite3_close_v2 defers the close until every statement is finalized, whatever the order of
  // member destruction in the owner.
  sqlite3_close_v2(db_);
}

Result<Connection> Connection::open(const std::string& path, Access access, int busy_timeout_ms,
                                    const char* vfs) {
  Connection connection;
  connection.path_ = path;
  const int flags = SQLITE_OPEN_NOMUTEX |
                    (access == Access::read_only ? SQLITE_OPEN_READONLY
                                                 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  const int rc = sqlite3_open_v2(path.c_str(), &connection.db_, flags, vfs);
  if (rc != SQLITE_OK) {
    if (connection.db_ == nullptr) {
      return Error{"", "SQLite database " + path + ": " + sqlite3_errstr(rc) + " (while opening)"};
    }
    return connection.error("opening");
  }
  sqlite3_extended_result_codes(connection.db_, 1);
  sqlite3_busy_timeout(connection.db_, busy_timeout_ms);
  return connection;
}

Error Connection::error(std::string_view doing) const {
  std::string message = "SQLite database " + path_ + ": " + sqlite3_errmsg(db_);
  message += " (while ";
  message += doing;
  message += ')';
  return Error{"", std::move(message)};
}

Result<void> Connection::exec(std::string_view sql, std::string_view doing) {
  const std::string text(sql);  // sqlite3_exec wants a NUL-terminated string
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return error(doing);
  }
  return {};
}

Result<std::int64_t> Connection::query_int(const char* sql, std::string_view doing) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) return error(doing);
  const int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    Result<std::int64_t> failed = error(doing);
    sqlite3_finalize(stmt);
    return failed;
  }
  const std::int64_t value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return value;
}

Result<Statement> Statement::prepare(Connection& connection, std::string_view sql) {
  Statement statement;
  if (sqlite3_prepare_v3(connection.get(), sql.data(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &statement.stmt_, nullptr) != SQLITE_OK) {
    return connection.error("preparing " + std::string(sql));
  }
  return statement;
}

}  // namespace relance::store::sqlite
