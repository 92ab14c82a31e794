#pragma once
// Thin RAII over libpq: one connection, its prepared statements, errors worded with what the
// store was doing and libpq's own message. Not thread-safe: one owner at a time.

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace relance::store::postgres {

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// One statement parameter. Text parameters are sent as text (libpq needs them NUL-terminated,
// hence the copy); binary ones as raw bytes, for bytea.
struct Param {
  enum class Format { text, binary };
  std::string value;
  Format format = Format::text;
  bool null = false;

  static Param text(std::string_view v) { return {std::string(v), Format::text, false}; }
  static Param binary(std::string_view v) { return {std::string(v), Format::binary, false}; }
  static Param integer(std::int64_t v) { return {std::to_string(v), Format::text, false}; }
  static Param null_value() { return {std::string(), Format::text, true}; }
};

enum class ResultFormat { text = 0, binary = 1 };

// A one-dimensional array in PostgreSQL's binary wire format, sent as one binary parameter
// (`$1::text[]`, `$1::bytea[]`, `$1::bigint[]`): a multi-row statement takes one array per
// column, with nothing to escape on our side and nothing to parse on the server's.
class BinaryArray {
 public:
  // The element type's OID, which the server checks against the parameter's declared type.
  enum class Element : std::uint32_t { bytea = 17, int8 = 20, text = 25 };
  explicit BinaryArray(Element element);
  void add(std::string_view value);  // text or bytea
  void add(std::int64_t value);      // int8
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return data_.size(); }
  // The finished parameter; the array is empty again afterwards.
  Param take();

 private:
  void put32(std::uint32_t value);
  Element element_;
  std::string data_;
  std::size_t count_ = 0;
};

// A prepared statement: its name on the connection and its SQL.
struct StatementSpec {
  const char* name;
  const char* sql;
};

struct ConnectOptions {
  std::string url;  // libpq connection string or URI
  std::chrono::seconds connect_timeout{10};
  // Applied to every statement after open; 0 disables it.
  std::chrono::milliseconds statement_timeout{30000};
};

class Connection {
 public:
  // Connects, forces UTF-8 and the statement timeout, and prepares `statements`.
  static Result<Connection> open(const ConnectOptions& options,
                                 std::span<const StatementSpec> statements);
  Connection() = default;
  Connection(Connection&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Connection& operator=(Connection&& other) noexcept;
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  PGconn* get() const { return conn_; }
  Result<void> prepare(std::span<const StatementSpec> statements);
  // The server closed the connection or the network failed: only a new connection helps.
  bool broken() const { return conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD; }
  // Inside a transaction block (or a failed one) rather than idle.
  bool in_transaction() const;

  // Simple-protocol SQL (may hold several statements), for BEGIN, COMMIT and migrations.
  Result<void> exec(std::string_view sql, std::string_view doing);
  // Simple-protocol SQL returning rows.
  Result<PgResult> query(std::string_view sql, std::string_view doing);
  // One statement with parameters, not prepared (for what runs once).
  Result<PgResult> query_params(std::string_view sql, std::span<const Param> params,
                                std::string_view doing);
  // A prepared statement; a result without rows is fine as well.
  Result<PgResult> exec_prepared(const char* name, std::span<const Param> params,
                                 std::string_view doing, ResultFormat format = ResultFormat::text);

  // Runs `statements` in order in pipeline mode: one round trip per chunk instead of one per
  // statement. Stops at the first failure (the server skips the rest of its chunk) and returns
  // it; else every result, in order.
  struct Pipelined {
    const char* name;  // prepared statement
    std::vector<Param> params;
    std::string doing;
  };
  Result<std::vector<PgResult>> exec_pipeline(std::span<const Pipelined> statements);

  // "PostgreSQL database relance on 10.0.0.5:5432", for messages (never the password).
  std::string describe() const;
  // "PostgreSQL database relance on 10.0.0.5:5432: <libpq's message> (while committing)".
  Error error(std::string_view doing, const PGresult* result = nullptr) const;

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  PGconn* conn_ = nullptr;
};

// Checks the status of a result and turns a failure into an Error.
Result<PgResult> check(const Connection& connection, PgResult result, std::string_view doing);

// Reads a column as an integer (text format).
std::int64_t get_int64(const PGresult* result, int row, int column);

}  // namespace relance::store::postgres
