// Sync events on the subscriber (reference §8, docs/add-node.md): a "Spock" logical message of
// type SYNC_EVENT written by spock.sync_event() on the provider. Once the subscription's origin
// has reached the event's position, everything the provider committed before it has been
// applied here; spock.wait_for_sync_event() waits for that.
//
// A non-transactional event arrives between transactions: the origin is advanced to its LSN
// at once, by an otherwise empty local transaction whose commit record carries the origin
// position, so the advance is as durable as any applied transaction. A transactional event
// is ordered with its transaction's changes, and that transaction's COMMIT advances the origin
// past it; it is given a transaction id so that the commit is written even when the remote
// transaction changes nothing here (Spock 5 then leaves the origin behind, §14 item 9).
#include "applier.hpp"

#include "spock/core/wal_message.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/xact.hpp"

extern "C" {
#include <access/xact.h>
#include <replication/origin.h>
#include <utils/timestamp.h>
}

namespace spock::apply {

void Applier::on_logical_message(const core::LogicalMessage& m) {
    if (m.prefix != core::kSpockMessagePrefix) {
        return;
    }
    std::string problem;
    std::optional<core::SyncEvent> event = core::sync_event_in(m.payload, &problem);
    if (!event) {
        if (!problem.empty()) {
            std::string lsn = m.lsn.to_string();
            pg::pg_call([&] {
                ereport(WARNING,
                        (errcode(ERRCODE_PROTOCOL_VIOLATION),
                         errmsg("ignoring a spock message at %s of subscription \"%s\" that "
                                "cannot be read",
                                lsn.c_str(), cfg_.name.c_str()),
                         errdetail_internal("%s.", problem.c_str())));
            });
        }
        return;
    }
    if (m.transactional) {
        if (skipping_) {
            return;
        }
        if (!replaying_) {
            ensure_local_txn();
        }
        pg::pg_call([] { (void)GetTopTransactionId(); });
        return;
    }
    advance_to_sync_event(m.lsn);
}

void Applier::advance_to_sync_event(core::Lsn lsn) {
    use_origin(cfg_.provider);
    pg::begin_xact();
    XLogRecPtr at = lsn.value;
    pg::pg_call([at] {
        replorigin_session_origin_lsn = at;
        replorigin_session_origin_timestamp = GetCurrentTimestamp();
        (void)GetTopTransactionId();
    });
    pg::commit_xact();
    flush_.committed(core::Lsn{XactLastCommitEnd}, lsn);
}

}  // namespace spock::apply
