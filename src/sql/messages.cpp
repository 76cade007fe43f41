// Functions that write "Spock" logical WAL messages (reference §5.6): sync events, which the
// output plugin forwards to subscribers, and repair mode, which keeps a transaction's changes
// out of replication.
#include "spock/catalog/local_node.hpp"
#include "spock/core/wal_message.hpp"
#include "spock/pg/control_key.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"

extern "C" {
#include <access/xact.h>
#include <miscadmin.h>
#include <replication/message.h>
#include <utils/guc.h>
#include <utils/pg_lsn.h>
}

using namespace spock;

namespace {

XLogRecPtr log_message(const std::string& payload, bool transactional) {
    const char* prefix = core::kSpockMessagePrefix.data();
    const char* data = payload.data();
    size_t size = payload.size();
    return pg::pg_call([prefix, data, size, transactional] {
        return LogLogicalMessage(prefix, data, size, transactional);
    });
}

}  // namespace

// Writes a sync event of the local node and returns its LSN. A subscriber that has applied up
// to this LSN has everything the node committed before it.
SPOCK_PG_FUNCTION(spock_sync_event) {
    bool transactional = pg::bool_arg(fcinfo, 0, "transactional");
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    pg::spi_finish();
    std::string payload = core::encode_wal_message(core::SyncEvent{local.node.id, ""});
    return LSNGetDatum(log_message(payload, transactional));
}

// Turns repair mode on or off for the rest of the current transaction: while on, the output
// plugin sends none of the transaction's changes to subscribers. Superuser only: hiding
// changes from every subscriber is not for ordinary roles. The message carries a tag that
// only this cluster can compute (see core/wal_message.hpp), so that a message of the same
// type written with pg_logical_emit_message() is not obeyed.
SPOCK_PG_FUNCTION(spock_repair_mode) {
    bool enabled = pg::bool_arg(fcinfo, 0, "enabled");
    if (!pg::pg_call([] { return superuser(); })) {
        throw core::Error(core::sqlstate::kInsufficientPrivilege,
                          "permission denied to change repair mode",
                          "Only superusers may call spock.repair_mode().");
    }
    std::string body = core::encode_wal_message(core::RepairMode{enabled});
    TransactionId xid = pg::pg_call([] { return GetTopTransactionId(); });
    std::string payload = body + core::wal_message_tag(pg::control_message_key(), body, xid);
    XLogRecPtr lsn = log_message(payload, true);
    pg::pg_call([enabled] {
        set_config_option("spock.replication_repair_mode", enabled ? "on" : "off", PGC_INTERNAL,
                          PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
    });
    return LSNGetDatum(lsn);
}
