#include "store/sqlite/wal_buffer.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace relance::store::sqlite {

namespace {

constexpr char vfs_name[] = "relance-wal-buffer";
// Handed to the file in writes of at most this size: the default (unix) VFS writes at most
// 128 KiB - 1 per call, and a longer write ends short, as on a full disk.
constexpr sqlite3_int64 write_bytes_max = 124 * 1024;
// One per writer connection.
constexpr sqlite3_int64 buffer_bytes = 16 * write_bytes_max;

// A WAL file: the default VFS's file right after this header, and the bytes not yet written to
// it, which stand at [start, start + used) in the file. `data` is null for a file left unbuffered
// (buffering_open): its writes go straight through.
struct BufferedFile {
  sqlite3_file base;  // base.pMethods: buffered_methods
  sqlite3_file* file;
  char* data;
  sqlite3_int64 start;
  sqlite3_int64 used;
};

sqlite3_vfs* default_vfs = nullptr;
sqlite3_vfs buffering_vfs;

BufferedFile* buffered(sqlite3_file* file) { return reinterpret_cast<BufferedFile*>(file); }
sqlite3_file* inner(sqlite3_file* file) { return buffered(file)->file; }

int flush(BufferedFile* f) {
  int rc = SQLITE_OK;
  for (sqlite3_int64 done = 0; done < f->used && rc == SQLITE_OK; done += write_bytes_max) {
    const sqlite3_int64 bytes = std::min(write_bytes_max, f->used - done);
    rc = f->file->pMethods->xWrite(f->file, f->data + done, static_cast<int>(bytes),
                                   f->start + done);
  }
  f->used = 0;  // written, or failed: the transaction fails and rolls back either way
  return rc;
}

bool overlaps(const BufferedFile* f, sqlite3_int64 offset, sqlite3_int64 bytes) {
  return f->used != 0 && offset < f->start + f->used && f->start < offset + bytes;
}

int buffered_write(sqlite3_file* file, const void* bytes, int amount, sqlite3_int64 offset) {
  BufferedFile* f = buffered(file);
  if (f->data == nullptr) return f->file->pMethods->xWrite(f->file, bytes, amount, offset);
  const sqlite3_int64 end = f->start + f->used;
  if (f->used != 0 && offset >= f->start && offset + amount <= end) {
    // A frame rewritten in the same transaction (a page spilled, then changed again).
    std::memcpy(f->data + (offset - f->start), bytes, static_cast<std::size_t>(amount));
    return SQLITE_OK;
  }
  if (f->used == 0 || offset != end || f->used + amount > buffer_bytes) {
    if (const int rc = flush(f); rc != SQLITE_OK) return rc;
    if (amount > buffer_bytes) return f->file->pMethods->xWrite(f->file, bytes, amount, offset);
    f->start = offset;
  }
  std::memcpy(f->data + f->used, bytes, static_cast<std::size_t>(amount));
  f->used += amount;
  return SQLITE_OK;
}

int buffered_read(sqlite3_file* file, void* bytes, int amount, sqlite3_int64 offset) {
  BufferedFile* f = buffered(file);
  if (overlaps(f, offset, amount)) {
    if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  }
  return f->file->pMethods->xRead(f->file, bytes, amount, offset);
}

int buffered_sync(sqlite3_file* file, int flags) {
  BufferedFile* f = buffered(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->file->pMethods->xSync(f->file, flags);
}

int buffered_truncate(sqlite3_file* file, sqlite3_int64 size) {
  BufferedFile* f = buffered(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->file->pMethods->xTruncate(f->file, size);
}

int buffered_file_size(sqlite3_file* file, sqlite3_int64* size) {
  BufferedFile* f = buffered(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->file->pMethods->xFileSize(f->file, size);
}

int buffered_close(sqlite3_file* file) {
  BufferedFile* f = buffered(file);
  std::free(f->data);  // uncommitted: a commit has synced (and so written) its frames
  f->data = nullptr;
  f->used = 0;
  return f->file->pMethods->xClose(f->file);
}

// The rest goes to the default VFS's file as it is.
int pass_lock(sqlite3_file* file, int lock) {
  return inner(file)->pMethods->xLock(inner(file), lock);
}
int pass_unlock(sqlite3_file* file, int lock) {
  return inner(file)->pMethods->xUnlock(inner(file), lock);
}
int pass_check_reserved_lock(sqlite3_file* file, int* out) {
  return inner(file)->pMethods->xCheckReservedLock(inner(file), out);
}
int pass_file_control(sqlite3_file* file, int op, void* arg) {
  return inner(file)->pMethods->xFileControl(inner(file), op, arg);
}
int pass_sector_size(sqlite3_file* file) { return inner(file)->pMethods->xSectorSize(inner(file)); }
int pass_device_characteristics(sqlite3_file* file) {
  return inner(file)->pMethods->xDeviceCharacteristics(inner(file));
}

// Version 1: a WAL file is never memory-mapped nor given shared memory by SQLite.
const sqlite3_io_methods buffered_methods = {
    1,
    buffered_close,
    buffered_read,
    buffered_write,
    buffered_truncate,
    buffered_sync,
    buffered_file_size,
    pass_lock,
    pass_unlock,
    pass_check_reserved_lock,
    pass_file_control,
    pass_sector_size,
    pass_device_characteristics,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

constexpr int header_bytes = (static_cast<int>(sizeof(BufferedFile)) + 7) / 8 * 8;

int buffering_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags,
                   int* out_flags) {
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    // Opened in place: SQLite then calls the default VFS's own methods on it.
    return default_vfs->xOpen(default_vfs, name, file, flags, out_flags);
  }
  BufferedFile* f = buffered(file);
  f->base.pMethods = nullptr;  // until opened: SQLite closes only a file whose open succeeded
  f->file = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + header_bytes);
  f->start = 0;
  f->used = 0;
  f->data = static_cast<char*>(std::malloc(static_cast<std::size_t>(buffer_bytes)));
  if (f->data == nullptr) return SQLITE_NOMEM;
  const int rc = default_vfs->xOpen(default_vfs, name, f->file, flags, out_flags);
  if (rc != SQLITE_OK) {
    std::free(f->data);
    return rc;
  }
  f->base.pMethods = &buffered_methods;
  // Without it, SQLite pads a commit to the sector's end and writes the padding's tail after the
  // sync: that write would sit in the buffer while readers see the commit. Unbuffered then.
  if ((f->file->pMethods->xDeviceCharacteristics(f->file) & SQLITE_IOCAP_POWERSAFE_OVERWRITE) ==
      0) {
    std::free(f->data);
    f->data = nullptr;
  }
  return SQLITE_OK;
}

void drop_wal_buffer(void* connection) {
  sqlite3_file* wal = nullptr;
  if (sqlite3_file_control(static_cast<sqlite3*>(connection), "main", SQLITE_FCNTL_JOURNAL_POINTER,
                           &wal) != SQLITE_OK ||
      wal == nullptr || wal->pMethods != &buffered_methods) {
    return;
  }
  buffered(wal)->used = 0;
}

}  // namespace

const char* wal_buffer_vfs() {
  static std::once_flag registered;
  static bool ok = false;
  std::call_once(registered, [] {
    default_vfs = sqlite3_vfs_find(nullptr);
    if (default_vfs == nullptr) return;
    // The default VFS's functions, but for the size of a file and the opening of one. Those
    // forwarded as they are receive this VFS, which carries the default one's fields.
    buffering_vfs = *default_vfs;
    buffering_vfs.pNext = nullptr;
    buffering_vfs.zName = vfs_name;
    buffering_vfs.szOsFile = header_bytes + default_vfs->szOsFile;
    buffering_vfs.xOpen = buffering_open;
    ok = sqlite3_vfs_register(&buffering_vfs, 0) == SQLITE_OK;
  });
  return ok ? vfs_name : nullptr;
}

Result<Connection> open_buffered_writer(const std::string& path, int busy_timeout_ms) {
  auto db = Connection::open(path, Connection::Access::read_write_create, busy_timeout_ms,
                             wal_buffer_vfs());
  if (db) sqlite3_rollback_hook(db->get(), drop_wal_buffer, db->get());
  return db;
}

}  // namespace relance::store::sqlite
