#include "store/postgres/connection.hpp"

#include <cstdlib>

namespace relance::store::postgres {

namespace {

// Statements sent before reading their answers. The answers of a chunk (a few bytes each) must
// fit in the socket buffers, since libpq in blocking mode does not read while it sends.
constexpr std::size_t pipeline_chunk_statements_max = 256;

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  // libpq's messages span lines ("ERROR:  ...\nDETAIL:  ...", "\n\tIs the server running");
  // a log line wants one, with single spaces.
  std::string line;
  for (const char c : text) {
    const char out = c == '\n' || c == '\t' ? ' ' : c;
    if (out == ' ' && !line.empty() && line.back() == ' ') continue;
    line += out;
  }
  return line;
}

}  // namespace

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = other.conn_;
    other.conn_ = nullptr;
  }
  return *this;
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Result<Connection> Connection::open(const ConnectOptions& options,
                                    std::span<const StatementSpec> statements) {
  const std::string connect_timeout = std::to_string(options.connect_timeout.count());
  // libpq applies keywords in order, the URL expanded where `dbname` stands: the defaults
  // before it can be overridden by the URL, client_encoding after it cannot (the store sends
  // and expects UTF-8).
  const char* keywords[] = {"connect_timeout", "application_name",    "keepalives",
                            "keepalives_idle", "keepalives_interval", "keepalives_count",
                            "dbname",          "client_encoding",     nullptr};
  const char* values[] = {connect_timeout.c_str(), "relanced", "1",    "30", "10", "3",
                          options.url.c_str(),     "UTF8",     nullptr};
  Connection connection(PQconnectdbParams(keywords, values, 1));
  if (connection.conn_ == nullptr) {
    return Error{"store.postgres.url", "PostgreSQL: out of memory while connecting"};
  }
  if (PQstatus(connection.conn_) != CONNECTION_OK) {
    Error error = connection.error("connecting");
    error.field = "store.postgres.url";
    return error;
  }
  const std::string settings =
      "SET statement_timeout = " + std::to_string(options.statement_timeout.count());
  if (auto set = connection.exec(settings, "configuring the session"); !set) return set.error();
  if (auto prepared = connection.prepare(statements); !prepared) return prepared.error();
  return connection;
}

Result<void> Connection::prepare(std::span<const StatementSpec> statements) {
  for (const StatementSpec& statement : statements) {
    PgResult prepared(PQprepare(conn_, statement.name, statement.sql, 0, nullptr));
    auto checked = check(*this, std::move(prepared), std::string("preparing ") + statement.name);
    if (!checked) return checked.error();
  }
  return {};
}

bool Connection::in_transaction() const {
  return conn_ != nullptr && PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

std::string Connection::describe() const {
  std::string where = "PostgreSQL database";
  if (conn_ != nullptr) {
    const char* db = PQdb(conn_);
    const char* host = PQhost(conn_);
    const char* port = PQport(conn_);
    if (db != nullptr && *db != '\0') where += std::string(" ") + db;
    if (host != nullptr && *host != '\0') {
      where +=
          std::string(" on ") + host + (port != nullptr && *port ? std::string(":") + port : "");
    }
  }
  return where;
}

Error Connection::error(std::string_view doing, const PGresult* result) const {
  std::string message;
  if (result != nullptr) {
    message = trimmed(PQresultErrorMessage(result));
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (state != nullptr && message.find(state) == std::string::npos) {
      message += std::string(" [SQLSTATE ") + state + "]";
    }
  }
  if (message.empty() && conn_ != nullptr) message = trimmed(PQerrorMessage(conn_));
  if (message.empty()) message = "unknown error";
  return Error{"", describe() + ": " + message + " (while " + std::string(doing) + ")"};
}

Result<PgResult> check(const Connection& connection, PgResult result, std::string_view doing) {
  if (!result) return connection.error(doing);
  const ExecStatusType status = PQresultStatus(result.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  return connection.error(doing, result.get());
}

Result<void> Connection::exec(std::string_view sql, std::string_view doing) {
  auto result = query(sql, doing);
  if (!result) return result.error();
  return {};
}

Result<PgResult> Connection::query(std::string_view sql, std::string_view doing) {
  const std::string text(sql);
  return check(*this, PgResult(PQexec(conn_, text.c_str())), doing);
}

namespace {

struct ParamArrays {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;

  explicit ParamArrays(std::span<const Param> params) {
    values.reserve(params.size());
    lengths.reserve(params.size());
    formats.reserve(params.size());
    for (const Param& param : params) {
      values.push_back(param.null ? nullptr : param.value.c_str());
      lengths.push_back(static_cast<int>(param.value.size()));
      formats.push_back(param.format == Param::Format::binary ? 1 : 0);
    }
  }
};

}  // namespace

Result<PgResult> Connection::query_params(std::string_view sql, std::span<const Param> params,
                                          std::string_view doing) {
  ParamArrays arrays(params);
  const std::string text(sql);
  PgResult result(PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                               arrays.values.data(), arrays.lengths.data(), arrays.formats.data(),
                               0));
  return check(*this, std::move(result), doing);
}

Result<PgResult> Connection::exec_prepared(const char* name, std::span<const Param> params,
                                           std::string_view doing, ResultFormat format) {
  ParamArrays arrays(params);
  PgResult result(PQexecPrepared(conn_, name, static_cast<int>(params.size()), arrays.values.data(),
                                 arrays.lengths.data(), arrays.formats.data(),
                                 static_cast<int>(format)));
  return check(*this, std::move(result), doing);
}

namespace {

constexpr std::size_t array_header_bytes = 20;  // ndim, has-null flag, element OID, size, lbound

void write32(char* at, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<char>((value >> (24 - 8 * i)) & 0xFF);
}

}  // namespace

BinaryArray::BinaryArray(Element element) : element_(element) { data_.resize(array_header_bytes); }

void BinaryArray::put32(std::uint32_t value) {
  char bytes[4];
  write32(bytes, value);
  data_.append(bytes, 4);
}

void BinaryArray::add(std::string_view value) {
  RELANCE_ASSERT(element_ != Element::int8);
  put32(static_cast<std::uint32_t>(value.size()));
  data_.append(value);
  ++count_;
}

void BinaryArray::add(std::int64_t value) {
  RELANCE_ASSERT(element_ == Element::int8);
  put32(8);
  const auto bits = static_cast<std::uint64_t>(value);
  put32(static_cast<std::uint32_t>(bits >> 32));
  put32(static_cast<std::uint32_t>(bits & 0xFFFFFFFFu));
  ++count_;
}

Param BinaryArray::take() {
  // An empty array is written with no dimensions at all, as the server itself sends it.
  char* header = data_.data();
  write32(header, count_ == 0 ? 0 : 1);
  write32(header + 4, 0);  // no NULL element
  write32(header + 8, static_cast<std::uint32_t>(element_));
  write32(header + 12, static_cast<std::uint32_t>(count_));
  write32(header + 16, 1);  // lower bound
  if (count_ == 0) data_.resize(12);
  Param param{std::move(data_), Param::Format::binary, false};
  data_.assign(array_header_bytes, '\0');
  count_ = 0;
  return param;
}

Result<std::vector<PgResult>> Connection::exec_pipeline(std::span<const Pipelined> statements) {
  std::vector<PgResult> results;
  results.reserve(statements.size());
  if (statements.empty()) return results;
  if (PQenterPipelineMode(conn_) != 1) return error("entering pipeline mode");
  Result<void> outcome;
  for (std::size_t first = 0; first < statements.size() && outcome;
       first += pipeline_chunk_statements_max) {
    const std::size_t end = std::min(statements.size(), first + pipeline_chunk_statements_max);
    for (std::size_t i = first; i < end && outcome; ++i) {
      const Pipelined& statement = statements[i];
      ParamArrays arrays(statement.params);
      if (PQsendQueryPrepared(conn_, statement.name, static_cast<int>(statement.params.size()),
                              arrays.values.data(), arrays.lengths.data(), arrays.formats.data(),
                              0) != 1) {
        outcome = error(statement.doing);
      }
    }
    if (!outcome) break;  // nothing sent can be trusted; the caller drops the connection
    if (PQpipelineSync(conn_) != 1) {
      outcome = error("sending a pipeline");
      break;
    }
    // Each statement gives one result then a null; the chunk ends with the sync's result.
    // A statement after a failed one comes back PGRES_PIPELINE_ABORTED.
    std::size_t index = first;
    int nulls_in_a_row = 0;
    while (true) {
      PgResult result(PQgetResult(conn_));
      if (!result) {
        if (broken() || ++nulls_in_a_row > 1) {
          outcome = error("reading pipeline results");
          break;
        }
        continue;
      }
      nulls_in_a_row = 0;
      const ExecStatusType status = PQresultStatus(result.get());
      if (status == PGRES_PIPELINE_SYNC) break;
      const std::string_view doing =
          index < end ? std::string_view(statements[index].doing) : "a pipelined statement";
      ++index;
      if (status == PGRES_PIPELINE_ABORTED) continue;  // the failure before it is reported
      if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        if (outcome) outcome = error(doing, result.get());
        continue;
      }
      results.push_back(std::move(result));
    }
    if (outcome && index != end) outcome = error("reading pipeline results: count mismatch");
  }
  if (broken()) return outcome ? error("running a pipeline") : outcome.error();
  if (PQexitPipelineMode(conn_) != 1 && outcome) outcome = error("leaving pipeline mode");
  if (!outcome) return outcome.error();
  return results;
}

std::int64_t get_int64(const PGresult* result, int row, int column) {
  return std::strtoll(PQgetvalue(result, row, column), nullptr, 10);
}

}  // namespace relance::store::postgres
