// Waiting for positions (reference §8, docs/add-node.md): spock.wait_for_sync_event(), by
// origin node id and by name, waits until this node's subscription from that node has applied
// everything up to a sync event's LSN; spock.wait_slot_confirm_lsn() waits until replication
// slots on this node have confirmed a position. Both poll every 100 ms and are interrupted by
// statement_timeout and query cancel; wait_for_sync_event also takes a timeout of its own.
#include "spock/catalog/local_node.hpp"
#include "spock/catalog/node.hpp"
#include "spock/catalog/values.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/waits.hpp"

extern "C" {
#include <access/xact.h>
#include <access/xlog.h>
#include <miscadmin.h>
#include <replication/origin.h>
#include <replication/slot.h>
#include <storage/lwlock.h>
#include <storage/spin.h>
#include <utils/pg_lsn.h>
#include <utils/timestamp.h>
}

using namespace spock;

namespace {

constexpr long kPollMs = 100;

void require_fresh_snapshots(const char* function) {
    if (pg::pg_call([] { return IsolationUsesXactSnapshot(); })) {
        throw core::Error("25001",
                          std::string(function) +
                              " cannot run in a transaction whose isolation level keeps one "
                              "snapshot",
                          {}, "Call it in READ COMMITTED, the default.");
    }
}

XLogRecPtr lsn_arg(FunctionCallInfo fcinfo, int n, const char* argname) {
    pg::require_arg(fcinfo, n, argname);
    return PG_GETARG_LSN(n);
}

// How far the subscription's origin (named like its slot) has applied: 0 when it has none yet.
XLogRecPtr origin_progress(const std::string& origin_name) {
    const char* name = origin_name.c_str();
    return pg::pg_call([name] {
        RepOriginId id = replorigin_by_name(name, true);
        return id == InvalidRepOriginId ? InvalidXLogRecPtr : replorigin_get_progress(id, false);
    });
}

// The body of both wait_for_sync_event overloads. CALL passes the input arguments only (the
// placeholder for the OUT argument `result` is not one of them): origin is argument 0.
Datum wait_for_sync_event(FunctionCallInfo fcinfo, core::NodeId origin) {
    XLogRecPtr lsn = lsn_arg(fcinfo, 1, "lsn");
    int timeout_s = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);
    bool wait_if_disabled = pg::opt_bool_arg(fcinfo, 3).value_or(false);
    if (timeout_s < 0) {
        throw core::Error(core::sqlstate::kInvalidParameterValue, "timeout must not be negative",
                          "It is " + std::to_string(timeout_s) + ".",
                          "Give the seconds to wait, or 0 to wait without a limit.");
    }
    require_fresh_snapshots("spock.wait_for_sync_event()");
    TimestampTz start = GetCurrentTimestamp();
    for (;;) {
        pg::spi_connect();
        catalog::LocalNode local = catalog::require_local_node();
        std::vector<pg::SqlRow> rows = pg::spi_query(
            "SELECT sub_name, sub_enabled, sub_slot_name FROM spock.subscription "
            "WHERE sub_origin = $1::oid AND sub_target = $2::oid",
            {catalog::to_text(origin), catalog::to_text(local.node.id)});
        pg::spi_finish();
        if (rows.empty()) {
            if (!wait_if_disabled) {
                throw core::Error(core::sqlstate::kUndefinedObject,
                                  "no subscription from node " + std::to_string(origin) +
                                      " to the local node \"" + local.node.name + "\"",
                                  {},
                                  "Create the subscription first, or pass "
                                  "wait_if_disabled => true to wait for it.");
            }
        } else if (!catalog::to_bool(rows[0][1])) {
            if (!wait_if_disabled) {
                throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                                  "subscription \"" + rows[0][0].value_or("") + "\" is disabled",
                                  "A disabled subscription does not apply the sync event.",
                                  "Enable it with spock.sub_enable(), or pass "
                                  "wait_if_disabled => true to wait until it is.");
            }
        } else if (origin_progress(rows[0][2].value_or("")) >= lsn) {
            return pg::record_result(fcinfo, {std::string("t")});
        }
        long waited = TimestampDifferenceMilliseconds(start, GetCurrentTimestamp());
        if (timeout_s > 0 && waited >= timeout_s * 1000L) {
            return pg::record_result(fcinfo, {std::string("f")});
        }
        long left = timeout_s > 0 ? timeout_s * 1000L - waited : kPollMs;
        pg::sleep_on_latch(std::max(1L, std::min(kPollMs, left)));
    }
}

// The oldest position the matching slots have confirmed (for a physical slot: what the standby
// has flushed). Sets *found when a slot matched. name: one slot, or nullptr for every logical
// spock_output slot of this database.
XLogRecPtr oldest_confirmed(const char* name, bool* found) {
    return pg::pg_call([name, found] {
        XLogRecPtr oldest = InvalidXLogRecPtr;
        *found = false;
        LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
        for (int i = 0; i < max_replication_slots; i++) {
            ReplicationSlot* s = &ReplicationSlotCtl->replication_slots[i];
            if (!s->in_use) {
                continue;
            }
            SpinLockAcquire(&s->mutex);
            bool logical = SlotIsLogical(s);
            bool match = name != nullptr ? strcmp(NameStr(s->data.name), name) == 0
                                         : logical && s->data.database == MyDatabaseId &&
                                               strcmp(NameStr(s->data.plugin), "spock_output") == 0;
            XLogRecPtr pos = logical ? s->data.confirmed_flush : s->data.restart_lsn;
            SpinLockRelease(&s->mutex);
            if (!match) {
                continue;
            }
            *found = true;
            if (pos != InvalidXLogRecPtr && (oldest == InvalidXLogRecPtr || pos < oldest)) {
                oldest = pos;
            }
        }
        LWLockRelease(ReplicationSlotControlLock);
        return oldest;
    });
}

}  // namespace

SPOCK_PG_FUNCTION(spock_wait_for_sync_event_id) {
    Oid origin = pg::oid_arg(fcinfo, 0, "origin_id");
    return wait_for_sync_event(fcinfo, origin);
}

SPOCK_PG_FUNCTION(spock_wait_for_sync_event_name) {
    std::string name = pg::name_arg(fcinfo, 0, "origin");
    pg::spi_connect();
    catalog::Node node = catalog::require_node(name);
    pg::spi_finish();
    return wait_for_sync_event(fcinfo, node.id);
}

// spock.wait_slot_confirm_lsn(slotname, target): NULL slotname means every spock slot of this
// database, NULL target the end of this session's last commit (or the current WAL insert
// position when it has none).
SPOCK_PG_FUNCTION(spock_wait_slot_confirm_lsn) {
    pg::SqlValue slot;
    if (!PG_ARGISNULL(0)) {
        slot = std::string(NameStr(*PG_GETARG_NAME(0)));
    }
    XLogRecPtr target = PG_ARGISNULL(1) ? (XactLastCommitEnd != InvalidXLogRecPtr
                                               ? XactLastCommitEnd
                                               : pg::pg_call([] { return GetXLogInsertRecPtr(); }))
                                        : PG_GETARG_LSN(1);
    const char* name = slot ? slot->c_str() : nullptr;
    for (;;) {
        bool found = false;
        XLogRecPtr oldest = oldest_confirmed(name, &found);
        if (!found) {
            if (name != nullptr) {
                throw core::Error(core::sqlstate::kUndefinedObject,
                                  "replication slot \"" + *slot + "\" does not exist", {},
                                  "See pg_replication_slots for the slots of this server.");
            }
            PG_RETURN_VOID();  // no spock slot: nobody to wait for
        }
        if (oldest != InvalidXLogRecPtr && oldest >= target) {
            PG_RETURN_VOID();
        }
        pg::sleep_on_latch(kPollMs);
    }
}
