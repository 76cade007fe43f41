// The parts of the slot synchronisation worker (src/failover/).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spock/core/failover_slots.hpp"

#include "spock/pg/postgres.hpp"

extern "C" {
#include <access/transam.h>
#include <access/xlogdefs.h>
}

namespace spock::failover {

// A logical slot as the primary's pg_replication_slots shows it.
struct PrimarySlot {
    std::string name;
    std::string plugin;
    Oid database = InvalidOid;
    bool two_phase = false;
    core::SlotPosition position;
};

// What one look at the primary returns: the catalog_xmin of this standby's physical slot there
// (primary_slot_name; invalid without one or before feedback), read first, then its logical
// slots (permanent ones only).
struct PrimaryView {
    core::Xid physical_catalog_xmin;
    bool physical_slot_found = false;
    std::vector<PrimarySlot> slots;
};

// The DSN to reach the primary: spock.primary_dsn, else primary_conninfo with dbname=postgres.
// Empty when neither is set.
std::string primary_dsn();

// Connects and reads. Throws (08xxx and others) when the primary cannot be reached or read.
PrimaryView read_primary(const std::string& dsn);

// The primary's serialized logical decoding snapshot at `lsn` (pg_logical/snapshots), raw
// bytes; std::nullopt when the primary has none there. Throws when it cannot be read.
std::optional<std::string> fetch_snapshot_file(const std::string& dsn, XLogRecPtr lsn);

// ----- local slots (plain glue; errors are PostgreSQL ERRORs) -----

// A local logical slot's name and position; `found` false when there is none of that name.
struct LocalSlot {
    bool found = false;
    bool logical = false;
    bool active = false;
    XLogRecPtr restart_lsn = InvalidXLogRecPtr;
    XLogRecPtr confirmed_flush = InvalidXLogRecPtr;
    TransactionId catalog_xmin = InvalidTransactionId;
};

LocalSlot read_local_slot(const char* name);

// Names of the local logical slots (palloc'd in the current context), at most `max`.
int local_logical_slot_names(char (*names)[NAMEDATALEN], int max);

// Creates an ephemeral copy (acquired by this process until persist_copy or release_copy) at
// the given position. False, with a LOG line, when this standby no longer has the WAL at
// restart_lsn.
bool create_ephemeral_copy(const char* name, const char* plugin, Oid database, bool two_phase,
                           XLogRecPtr restart_lsn, XLogRecPtr confirmed_flush,
                           TransactionId catalog_xmin);
// Moves the acquired ephemeral copy to the given position and makes it persistent.
void persist_copy(XLogRecPtr restart_lsn, XLogRecPtr confirmed_flush, TransactionId catalog_xmin);
// Releases (and so drops) the acquired ephemeral copy, if there is one.
void release_copy();
// Moves a persistent copy forward.
void advance_local_slot(const char* name, XLogRecPtr restart_lsn, XLogRecPtr confirmed_flush,
                        TransactionId catalog_xmin);
// Writes a serialized snapshot under pg_logical/snapshots, durably (temporary file, fsync,
// rename), unless a file for that LSN is there already.
void write_snapshot_file(XLogRecPtr lsn, const char* data, size_t len);
// Drops a local slot that nobody uses; false when it is in use.
bool drop_local_slot(const char* name);

}  // namespace spock::failover
