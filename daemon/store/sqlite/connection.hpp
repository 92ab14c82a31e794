#pragma once
// Thin RAII wrappers over the SQLite C API, private to store/sqlite.

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.hpp"

namespace relance::store::sqlite {

// One SQLite connection. Each is used by one thread at a time (opened with SQLITE_OPEN_NOMUTEX).
class Connection {
 public:
  enum class Access { read_write_create, read_only };

  Connection() = default;
  ~Connection();
  Connection(Connection&& other) noexcept : db_(other.db_), path_(std::move(other.path_)) {
    other.db_ = nullptr;
  }
  Connection& operator=(Connection&& other) noexcept {
    std::swap(db_, other.db_);
    std::swap(path_, other.path_);
    return *this;
  }
  Connection(const Connection&) = delete;

  // `vfs`: a registered VFS's name; nullptr for the default one.
  static Result<Connection> open(const std::string& path, Access access, int busy_timeout_ms,
                                 const char* vfs = nullptr);

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }
  // Runs one or more statements that return no rows the caller needs.
  Result<void> exec(std::string_view sql, std::string_view doing);
  // The single integer an SQL statement such as "PRAGMA user_version" returns.
  Result<std::int64_t> query_int(const char* sql, std::string_view doing);
  // "SQLite database /var/lib/relance/relance.db: disk I/O error (while committing)".
  Error error(std::string_view doing) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A prepared statement, compiled once and reused: reset() after each use.
class Statement {
 public:
  Statement() = default;
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&& other) noexcept {
    std::swap(stmt_, other.stmt_);
    return *this;
  }
  Statement(const Statement&) = delete;

  static Result<Statement> prepare(Connection& connection, std::string_view sql);

  // Text is bound without copying: it must outlive the step() that uses it.
  void bind(int index, std::string_view text) {
    RELANCE_ASSERT(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                                     SQLITE_STATIC) == SQLITE_OK);
  }
  void bind(int index, std::int64_t value) {
    RELANCE_ASSERT(sqlite3_bind_int64(stmt_, index, value) == SQLITE_OK);
  }
  // Bytes that may hold NULs; not copied either.
  void bind_blob(int index, std::string_view bytes) {
    // A zero-length blob with a null pointer would bind NULL; a valid empty one must stay a blob.
    static const char empty = 0;
    RELANCE_ASSERT(sqlite3_bind_blob(stmt_, index, bytes.empty() ? &empty : bytes.data(),
                                     static_cast<int>(bytes.size()), SQLITE_STATIC) == SQLITE_OK);
  }
  void bind_null(int index) { RELANCE_ASSERT(sqlite3_bind_null(stmt_, index) == SQLITE_OK); }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  // Ends the statement's read transaction too; bindings are cleared so none dangles.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::int64_t column_int64(int index) const { return sqlite3_column_int64(stmt_, index); }
  bool column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }
  // Borrowed: valid until the next step() or reset().
  std::string_view column_blob(int index) const {
    const void* bytes = sqlite3_column_blob(stmt_, index);
    return bytes ? std::string_view(static_cast<const char*>(bytes),
                                    static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)))
                 : std::string_view();
  }
  std::string column_text(int index) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
    return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)))
                : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when the scope ends, whatever path leaves it.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& statement) : statement_(statement) {}
  ~ResetOnExit() { statement_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& statement_;
};

}  // namespace relance::store::sqlite
