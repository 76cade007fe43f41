// spock.get_lsn_from_commit_ts(slot_name, commit_ts) (reference §8): the end of the last
// transaction committed on this node, not applied from elsewhere, at or before commit_ts, found
// by reading WAL from the slot's restart point; the restart point itself when there is none.
// Adding a node (docs/add-node.md) uses it to move a slot to where a copy's knowledge of this
// node ends. The slot is acquired while the WAL is read, so that the WAL stays, and released
// unmoved; an active slot is an error.
//
// Commit records carry their commit time and origin, so neither track_commit_timestamp nor
// logical decoding is needed: a plain WAL reader looks at the transaction records only.
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"

extern "C" {
#include <access/xact.h>
#include <access/xlog.h>
#include <access/xlog_internal.h>
#include <access/xlogreader.h>
#include <access/xlogutils.h>
#include <miscadmin.h>
#include <replication/origin.h>
#include <replication/slot.h>
#include <utils/pg_lsn.h>
#include <utils/timestamp.h>
}

using namespace spock;

namespace {

// Only PostgreSQL calls and plain values in here: it runs under one pg_call, and PG_FINALLY
// releases the slot and the reader whichever way it ends.
XLogRecPtr scan_for_commit_ts(const char* slot_name, TimestampTz commit_ts) {
    CheckSlotPermissions();
    ReplicationSlotAcquire(slot_name, true);
    XLogReaderState* volatile reader = nullptr;
    XLogRecPtr result = InvalidXLogRecPtr;
    PG_TRY();
    {
        if (!SlotIsLogical(MyReplicationSlot)) {
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("replication slot \"%s\" is not a logical slot", slot_name)));
        }
        XLogRecPtr start = MyReplicationSlot->data.restart_lsn;
        if (start == InvalidXLogRecPtr) {
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("replication slot \"%s\" has no restart position", slot_name),
                            errdetail("Its WAL was removed, or it was never used.")));
        }
        XLogRecPtr end = GetFlushRecPtr(nullptr);
        result = start;
        XLogReaderRoutine routine = {};
        routine.page_read = read_local_xlog_page;
        routine.segment_open = wal_segment_open;
        routine.segment_close = wal_segment_close;
        reader = XLogReaderAllocate(wal_segment_size, nullptr, &routine, nullptr);
        if (reader == nullptr) {
            ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
                            errdetail("Failed while allocating a WAL reading processor.")));
        }
        XLogRecPtr first = XLogFindNextRecord(reader, start);
        if (first == InvalidXLogRecPtr) {
            ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                            errmsg("could not find a valid WAL record at or after %X/%X",
                                   static_cast<uint32>(start >> 32), static_cast<uint32>(start))));
        }
        XLogBeginRead(reader, first);
        XLogRecPtr next = first;
        while (next < end) {
            char* errm = nullptr;
            XLogRecord* rec = XLogReadRecord(reader, &errm);
            if (rec == nullptr) {
                ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                                errmsg("could not read WAL at %X/%X: %s",
                                       static_cast<uint32>(next >> 32), static_cast<uint32>(next),
                                       errm != nullptr ? errm : "unknown error")));
            }
            next = reader->EndRecPtr;
            CHECK_FOR_INTERRUPTS();
            if (XLogRecGetRmid(reader) != RM_XACT_ID ||
                XLogRecGetOrigin(reader) != InvalidRepOriginId) {
                continue;  // not a transaction record, or a transaction applied from elsewhere
            }
            uint8 info = XLogRecGetInfo(reader) & XLOG_XACT_OPMASK;
            if (info != XLOG_XACT_COMMIT && info != XLOG_XACT_COMMIT_PREPARED) {
                continue;
            }
            xl_xact_parsed_commit parsed;
            ParseCommitRecord(XLogRecGetInfo(reader),
                              reinterpret_cast<xl_xact_commit*>(XLogRecGetData(reader)), &parsed);
            if (parsed.xact_time > commit_ts) {
                break;
            }
            result = reader->EndRecPtr;
        }
    }
    PG_FINALLY();
    {
        if (reader != nullptr) {
            XLogReaderFree(reader);
        }
        ReplicationSlotRelease();
    }
    PG_END_TRY();
    return result;
}

}  // namespace

SPOCK_PG_FUNCTION(spock_get_lsn_from_commit_ts) {
    std::string slot = pg::name_arg(fcinfo, 0, "slot_name");
    pg::require_arg(fcinfo, 1, "commit_ts");
    TimestampTz ts = PG_GETARG_TIMESTAMPTZ(1);
    const char* name = slot.c_str();
    return LSNGetDatum(pg::pg_call([name, ts] { return scan_for_commit_ts(name, ts); }));
}
