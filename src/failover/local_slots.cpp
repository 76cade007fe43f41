// The standby's copies of the primary's logical slots: created, moved and dropped through
// PostgreSQL's slot API, which (checked in PostgreSQL 15's slot.c) does not refuse a logical
// slot's on-disk state during recovery; only decoding from it is refused until promotion.
// Plain glue: errors are PostgreSQL ERRORs, the callers wrap these calls in pg_call().
#include "slot_sync_internal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include <access/xlog.h>
#include <access/xlog_internal.h>
#include <access/transam.h>
#include <miscadmin.h>
#include <replication/slot.h>
#include <storage/fd.h>
#include <storage/lwlock.h>
#include <storage/spin.h>
#include <utils/builtins.h>
}

namespace spock::failover {

namespace {

// Sets a slot's position (the caller has it acquired). catalog_xmin goes to disk before the
// effective value the horizon computation reads, so a crash never leaves the horizon ahead of
// what the saved slot needs.
void set_position(ReplicationSlot* slot, XLogRecPtr restart_lsn, XLogRecPtr confirmed_flush,
                  TransactionId catalog_xmin) {
    SpinLockAcquire(&slot->mutex);
    slot->data.restart_lsn = restart_lsn;
    slot->data.confirmed_flush = confirmed_flush;
    slot->data.catalog_xmin = catalog_xmin;
    SpinLockRelease(&slot->mutex);
    ReplicationSlotMarkDirty();
    ReplicationSlotSave();
    SpinLockAcquire(&slot->mutex);
    slot->effective_catalog_xmin = catalog_xmin;
    SpinLockRelease(&slot->mutex);
    ReplicationSlotsComputeRequiredXmin(false);
    ReplicationSlotsComputeRequiredLSN();
}

}  // namespace

LocalSlot read_local_slot(const char* name) {
    LocalSlot out;
    LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
    for (int i = 0; i < max_replication_slots; i++) {
        ReplicationSlot* s = &ReplicationSlotCtl->replication_slots[i];
        if (!s->in_use || strcmp(NameStr(s->data.name), name) != 0) {
            continue;
        }
        SpinLockAcquire(&s->mutex);
        out.found = true;
        out.logical = s->data.database != InvalidOid;
        out.active = s->active_pid != 0;
        out.restart_lsn = s->data.restart_lsn;
        out.confirmed_flush = s->data.confirmed_flush;
        out.catalog_xmin = s->data.catalog_xmin;
        SpinLockRelease(&s->mutex);
        break;
    }
    LWLockRelease(ReplicationSlotControlLock);
    return out;
}

int local_logical_slot_names(char (*names)[NAMEDATALEN], int max) {
    int n = 0;
    LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
    for (int i = 0; i < max_replication_slots && n < max; i++) {
        ReplicationSlot* s = &ReplicationSlotCtl->replication_slots[i];
        if (s->in_use && s->data.database != InvalidOid && s->data.persistency == RS_PERSISTENT) {
            strlcpy(names[n++], NameStr(s->data.name), NAMEDATALEN);
        }
    }
    LWLockRelease(ReplicationSlotControlLock);
    return n;
}

bool create_ephemeral_copy(const char* name, const char* plugin, Oid database, bool two_phase,
                           XLogRecPtr restart_lsn, XLogRecPtr confirmed_flush,
                           TransactionId catalog_xmin) {
    XLogSegNo segno;
    XLByteToSeg(restart_lsn, segno, wal_segment_size);
    if (segno <= XLogGetLastRemovedSegno()) {
        ereport(LOG, (errmsg("spock cannot copy replication slot \"%s\": this standby no longer "
                             "has the WAL at its restart_lsn %X/%X",
                             name, static_cast<uint32>((restart_lsn) >> 32),
                             static_cast<uint32>(restart_lsn)),
                      errhint("Give the standby a physical slot on the primary "
                              "(primary_slot_name) so that it keeps the WAL.")));
        return false;
    }
    // Not db_specific: this worker is connected to no database; the primary's is set below.
    ReplicationSlotCreate(name, false, RS_EPHEMERAL, two_phase);
    ReplicationSlot* slot = MyReplicationSlot;
    SpinLockAcquire(&slot->mutex);
    slot->data.database = database;
    namestrcpy(&slot->data.plugin, plugin);
    SpinLockRelease(&slot->mutex);
    set_position(slot, restart_lsn, confirmed_flush, catalog_xmin);
    return true;
}

void persist_copy(XLogRecPtr restart_lsn, XLogRecPtr confirmed_flush, TransactionId catalog_xmin) {
    set_position(MyReplicationSlot, restart_lsn, confirmed_flush, catalog_xmin);
    ReplicationSlotPersist();
    ReplicationSlotRelease();
}

void release_copy() {
    if (MyReplicationSlot != nullptr) {
        ReplicationSlotRelease();
    }
}

void advance_local_slot(const char* name, XLogRecPtr restart_lsn, XLogRecPtr confirmed_flush,
                        TransactionId catalog_xmin) {
    ReplicationSlotAcquire(name, true);
    set_position(MyReplicationSlot, restart_lsn, confirmed_flush, catalog_xmin);
    ReplicationSlotRelease();
}

void write_snapshot_file(XLogRecPtr lsn, const char* data, size_t len) {
    char path[MAXPGPATH];
    char tmppath[MAXPGPATH];
    snprintf(path, sizeof path, "pg_logical/snapshots/%X-%X.snap", static_cast<uint32>(lsn >> 32),
             static_cast<uint32>(lsn));
    struct stat st;
    if (stat(path, &st) == 0) {
        return;
    }
    snprintf(tmppath, sizeof tmppath, "%s.spock.%d.tmp", path, MyProcPid);
    int fd = OpenTransientFile(tmppath, O_CREAT | O_TRUNC | O_WRONLY | PG_BINARY);
    if (fd < 0) {
        ereport(ERROR,
                (errcode_for_file_access(), errmsg("could not create file \"%s\": %m", tmppath)));
    }
    errno = 0;
    if (write(fd, data, len) != static_cast<ssize_t>(len)) {
        int save = errno;
        CloseTransientFile(fd);
        unlink(tmppath);
        errno = save ? save : ENOSPC;
        ereport(ERROR,
                (errcode_for_file_access(), errmsg("could not write file \"%s\": %m", tmppath)));
    }
    if (pg_fsync(fd) != 0) {
        int save = errno;
        CloseTransientFile(fd);
        unlink(tmppath);
        errno = save;
        ereport(ERROR,
                (errcode_for_file_access(), errmsg("could not fsync file \"%s\": %m", tmppath)));
    }
    CloseTransientFile(fd);
    durable_rename(tmppath, path, ERROR);
}

bool drop_local_slot(const char* name) {
    if (read_local_slot(name).active) {
        return false;
    }
    ReplicationSlotDrop(name, true);
    return true;
}

}  // namespace spock::failover
