#pragma once
// The writer's WAL writes, gathered. SQLite writes each WAL frame with two calls (its 24-byte
// header, then the page), so a commit of 2,000 pages made 4,000 pwrite calls, about a tenth of
// the writer's time in the Kafka bench. A VFS over the default one buffers a WAL file's writes
// while they follow each other and hands them to the file in large blocks: at the commit's sync,
// and whenever the buffer is full or a write, read or resize goes elsewhere. Same bytes at the
// same offsets, synced at the same moments: what a commit makes durable does not change.
//
// Data left in the buffer outside a commit belongs to a transaction that rolled back; another
// connection may write over those offsets next, so a rollback hook drops it at once, never
// written late. Files other than WALs go straight to the default VFS.

#include <sqlite3.h>

#include <string>

#include "core/result.hpp"
#include "store/sqlite/connection.hpp"

namespace relance::store::sqlite {

// The VFS's name, registered on the first call (not as the default); nullptr when it could not
// be, in which case the default VFS serves (same data, one write per frame).
const char* wal_buffer_vfs();

// A read-write connection on wal_buffer_vfs(), with the rollback hook that drops what its WAL
// buffer holds (the connection's only rollback hook: another one would replace it).
Result<Connection> open_buffered_writer(const std::string& path, int busy_timeout_ms);

}  // namespace relance::store::sqlite
