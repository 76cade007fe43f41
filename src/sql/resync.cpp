// Per-table resynchronisation requests (reference §3.2 sub_resync_table, sub_alter_sync; §7.3).
//
// These functions only record what to copy: a local_sync_status row per table (kind 'd',
// status 'i') committed together with a wake-up of the subscription's apply worker. The
// apply worker does the copy itself, between remote transactions (see resync_tables() in
// src/apply/apply_worker.cpp for the design). The table is emptied inside the worker's copy
// transaction, never here: a TRUNCATE in this session would carry no replication origin and
// would be replicated to every node that subscribes to this one.
#include "spock/catalog/interface.hpp"
#include "spock/catalog/subscription.hpp"
#include "spock/catalog/values.hpp"
#include "spock/core/text_array.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/remote.hpp"
#include "spock/pg/spi.hpp"
#include "spock/worker/notify.hpp"

using namespace spock;

namespace {

using pg::SqlRow;
using pg::SqlValue;

struct TableName {
    std::string nspname;
    std::string relname;
};

std::string sets_literal(const std::vector<std::string>& sets) {
    return core::to_array_literal(std::vector<core::OptionalText>(sets.begin(), sets.end()));
}

// The tables the provider publishes in the subscription's replication sets.
std::vector<TableName> provider_tables(const catalog::Subscription& sub) {
    auto iface = catalog::find_interface_by_id(sub.origin_if);
    if (!iface) {
        throw core::Error(core::sqlstate::kUndefinedObject,
                          "interface of subscription \"" + sub.name + "\" not found");
    }
    pg::RemoteConnection conn(iface->dsn, sub.name, "resync", false);
    std::vector<SqlRow> rows = conn.query(
        "SELECT DISTINCT nspname, relname FROM spock.tables "
        "WHERE set_name = ANY ($1::text[]) ORDER BY 1, 2",
        {sets_literal(sub.replication_sets)});
    std::vector<TableName> out;
    for (const SqlRow& r : rows) {
        if (r[0] && r[1]) {
            out.push_back({*r[0], *r[1]});
        }
    }
    return out;
}

// Asks the apply worker to copy the table again: status 'i' (sync_init), kind 'd' (data).
void request_copy(const catalog::Subscription& sub, const TableName& t) {
    pg::spi_exec(
        "INSERT INTO spock.local_sync_status (sync_kind, sync_subid, sync_nspname, "
        "sync_relname, sync_status, sync_statuslsn) "
        "VALUES ('d', $1::oid, $2::name, $3::name, 'i', '0/0') "
        "ON CONFLICT (sync_subid, sync_nspname, sync_relname) DO UPDATE "
        "SET sync_kind = 'd', sync_status = 'i', sync_statuslsn = '0/0'",
        {catalog::to_text(sub.id), t.nspname, t.relname});
}

}  // namespace

// spock.sub_resync_table(subscription_name, relation, truncate): the table's contents are
// replaced by the provider's. `truncate` is accepted for compatibility; the copy always
// empties the table first, in the same local transaction, because rows left in place would
// be doubled or collide with the copied ones.
SPOCK_PG_FUNCTION(spock_sub_resync_table) {
    std::string name = pg::name_arg(fcinfo, 0, "subscription_name");
    Oid relid = pg::oid_arg(fcinfo, 1, "relation");
    (void)pg::opt_bool_arg(fcinfo, 2);
    pg::spi_connect();
    catalog::Subscription sub = catalog::require_subscription(name);
    std::vector<SqlRow> rel = pg::spi_query(
        "SELECT n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::oid",
        {catalog::to_text(relid)});
    if (rel.empty()) {
        throw core::Error(core::sqlstate::kUndefinedObject,
                          "relation with OID " + std::to_string(relid) + " does not exist");
    }
    TableName t{*rel[0][0], *rel[0][1]};
    std::string qualified = t.nspname + "." + t.relname;
    if (*rel[0][2] != "r" && *rel[0][2] != "p") {
        throw core::Error("42809", "\"" + qualified + "\" is not a table");
    }
    // Lock the status rows of the subscription against a concurrent request.
    pg::spi_exec("LOCK TABLE spock.local_sync_status IN SHARE ROW EXCLUSIVE MODE");
    SqlValue status = pg::spi_value(
        "SELECT sync_status::text FROM spock.local_sync_status WHERE sync_subid = $1::oid "
        "AND sync_nspname = $2::name AND sync_relname = $3::name",
        {catalog::to_text(sub.id), t.nspname, t.relname});
    if (status && *status != "r" && *status != "y") {
        throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                          "table " + qualified +
                              " is already being synchronised by subscription \"" + sub.name + "\"",
                          "Its synchronisation status is '" + *status + "'.",
                          "Wait for it with spock.table_wait_for_sync().");
    }
    bool published = false;
    for (const TableName& p : provider_tables(sub)) {
        published = published || (p.nspname == t.nspname && p.relname == t.relname);
    }
    if (!published) {
        throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                          "table " + qualified +
                              " is not in the replication sets of subscription \"" + sub.name +
                              "\" on the provider");
    }
    request_copy(sub, t);
    worker::notify_at_commit(sub.id);
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

// spock.sub_alter_sync(subscription_name, truncate): copies the tables the provider now
// publishes to the subscription and that have no synchronisation status here yet; forgets
// the status of tables no longer published. Like sub_resync_table, the copy empties each table
// first, whatever `truncate` says.
SPOCK_PG_FUNCTION(spock_sub_alter_sync) {
    std::string name = pg::name_arg(fcinfo, 0, "subscription_name");
    (void)pg::bool_arg(fcinfo, 1, "truncate");
    pg::spi_connect();
    catalog::Subscription sub = catalog::require_subscription(name);
    std::vector<TableName> published = provider_tables(sub);
    pg::spi_exec("LOCK TABLE spock.local_sync_status IN SHARE ROW EXCLUSIVE MODE");
    std::vector<SqlRow> known = pg::spi_query(
        "SELECT sync_nspname::text, sync_relname::text FROM spock.local_sync_status "
        "WHERE sync_subid = $1::oid AND sync_relname IS NOT NULL",
        {catalog::to_text(sub.id)});
    auto is_known = [&known](const TableName& t) {
        for (const SqlRow& k : known) {
            if (*k[0] == t.nspname && *k[1] == t.relname) {
                return true;
            }
        }
        return false;
    };
    for (const TableName& t : published) {
        if (is_known(t)) {
            continue;
        }
        SqlValue exists = pg::spi_value(
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
            {t.nspname, t.relname});
        if (!exists) {
            throw core::Error(
                "42P01",
                "table " + t.nspname + "." + t.relname + " is published to subscription \"" +
                    sub.name + "\" but does not exist here",
                {}, "Create it on this node, then call spock.sub_alter_sync() again.");
        }
        request_copy(sub, t);
    }
    for (const SqlRow& k : known) {
        bool still = false;
        for (const TableName& t : published) {
            still = still || (t.nspname == *k[0] && t.relname == *k[1]);
        }
        if (!still) {
            pg::spi_exec(
                "DELETE FROM spock.local_sync_status WHERE sync_subid = $1::oid "
                "AND sync_nspname = $2::name AND sync_relname = $3::name",
                {catalog::to_text(sub.id), *k[0], *k[1]});
        }
    }
    worker::notify_at_commit(sub.id);
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}
