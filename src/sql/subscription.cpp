// Subscriptions, catalog side (reference §3.2). The apply worker that acts on them comes with
// the apply issue; until then an enabled subscription shows as "down".
#include <algorithm>

#include "spock/catalog/interface.hpp"
#include "spock/catalog/local_node.hpp"
#include "spock/catalog/node.hpp"
#include "spock/catalog/progress.hpp"
#include "spock/catalog/subscription.hpp"
#include "spock/catalog/values.hpp"
#include "spock/core/names.hpp"
#include "spock/core/origin_names.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/remote.hpp"
#include "spock/pg/settings_check.hpp"
#include "spock/pg/spi.hpp"
#include "spock/worker/notify.hpp"
#include "spock/worker/status.hpp"

extern "C" {
#include <access/xact.h>
#include <catalog/pg_type.h>
#include <commands/dbcommands.h>
#include <miscadmin.h>
#include <replication/origin.h>
#include <utils/pg_lsn.h>
}

using namespace spock;
using catalog::to_text;
using pg::spi_exec;
using pg::spi_query;
using pg::spi_value;
using pg::SqlRow;
using pg::SqlValue;

namespace spock::sql {
core::NodeId create_node_row(const std::string& name, const std::string& dsn,
                             const SqlValue& location, const SqlValue& country,
                             const SqlValue& info);
void delete_node_rows(core::NodeId id);
}  // namespace spock::sql

namespace {

// What the provider says about itself through spock.node_info().
struct ProviderInfo {
    core::NodeId id;
    std::string name;
    std::string sysid;
    std::string dbname;
    SqlValue location;
    SqlValue country;
    SqlValue info;
    std::vector<std::string> sets;  // the provider's own replication sets
};

// The names of the replication sets of the provider's local node (Spock 5 has the same
// catalog).
std::vector<std::string> provider_sets(pg::RemoteConnection& conn) {
    std::vector<std::string> out;
    for (const SqlRow& r : conn.query("SELECT s.set_name FROM spock.replication_set s "
                                      "JOIN spock.local_node l ON l.node_id = s.set_nodeid "
                                      "ORDER BY s.set_name")) {
        if (r[0]) {
            out.push_back(*r[0]);
        }
    }
    return out;
}

// Rejects empty set names (NULL elements are refused when the array is read).
void check_set_names(const std::vector<std::string>& sets) {
    for (const std::string& s : sets) {
        if (s.empty()) {
            throw core::Error(core::sqlstate::kInvalidParameterValue,
                              "replication set name cannot be empty");
        }
    }
}

// Every wanted set must exist on the provider: a misspelt set would otherwise only show up
// as a warning in the provider's log, while nothing is replicated.
void check_sets_exist(const std::vector<std::string>& wanted, const std::vector<std::string>& have,
                      const std::string& provider) {
    for (const std::string& w : wanted) {
        if (std::find(have.begin(), have.end(), w) != have.end()) {
            continue;
        }
        std::string list;
        for (const std::string& h : have) {
            list += (list.empty() ? "" : ", ") + core::quote_identifier(h);
        }
        throw core::Error(
            core::sqlstate::kUndefinedObject,
            "replication set \"" + w + "\" does not exist on provider node \"" + provider + "\"",
            have.empty() ? "The provider has no replication sets."
                         : "The provider has the replication sets " + list + ".",
            "Create the set on the provider with spock.repset_create() first.");
    }
}

ProviderInfo read_provider(const std::string& dsn, const std::string& sub_name) {
    pg::RemoteConnection conn(dsn, sub_name, "create", false);
    std::vector<SqlRow> rows;
    try {
        rows = conn.query(
            "SELECT node_id, node_name, sysid, dbname, location, country, info "
            "FROM spock.node_info()");
    } catch (const core::Error& e) {
        throw core::Error(core::sqlstate::kConnectionException,
                          "provider is not a usable spock node",
                          e.message() + (e.detail().empty() ? "" : " " + e.detail()) +
                              " (connection string: " + core::mask_password(dsn) + ")",
                          "Install the spock extension on the provider and create its node "
                          "with spock.node_create().");
    }
    if (rows.size() != 1 || !rows[0][0] || !rows[0][1]) {
        throw core::Error(core::sqlstate::kConnectionException,
                          "provider returned no spock node information",
                          "The connection string was: " + core::mask_password(dsn) + ".");
    }
    const SqlRow& r = rows[0];
    return ProviderInfo{
        catalog::to_u32(r[0]), *r[1], r[2].value_or(""), r[3].value_or(""), r[4], r[5], r[6],
        provider_sets(conn)};
}

// Opens and closes a replication connection: the provider must accept one for the apply
// worker (pg_hba.conf "replication" entries, max_wal_senders, a role with REPLICATION).
void check_replication_connection(const std::string& dsn, const std::string& sub_name) {
    pg::RemoteConnection conn(dsn, sub_name, "create", true);
    conn.query("IDENTIFY_SYSTEM");
}

bool overlaps(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    return std::any_of(a.begin(), a.end(), [&](const std::string& x) {
        return std::find(b.begin(), b.end(), x) != b.end();
    });
}

void validate_forward_origins(const std::vector<std::string>& origins) {
    for (const std::string& o : origins) {
        if (o != "all") {
            throw core::Error(core::sqlstate::kInvalidParameterValue,
                              "invalid value \"" + o + "\" in forward_origins",
                              "The only accepted element is \"all\".",
                              "Use '{}' to receive only changes made on the provider, or "
                              "'{all}' to forward changes from every origin.");
        }
    }
}

void create_origin(const std::string& name) {
    const char* n = name.c_str();
    pg::pg_call([n] {
        if (replorigin_by_name(n, true) == InvalidRepOriginId) {
            replorigin_create(n);
        }
    });
}

void drop_origin(const std::string& name) {
    const char* n = name.c_str();
    pg::pg_call([n] { replorigin_drop_by_name(n, true, false); });
}

// replicating: a worker runs and the subscription is synchronised; initializing: a worker
// runs and synchronises it; down: enabled but no worker (starting, or failing and waiting to
// be restarted); disabled.
std::string status_of(const catalog::Subscription& sub) {
    if (!sub.enabled) {
        return "disabled";
    }
    if (!worker::apply_worker_running(MyDatabaseId, sub.id)) {
        return "down";
    }
    auto status = spi_value(
        "SELECT sync_status FROM spock.local_sync_status WHERE sync_subid = $1::oid "
        "AND sync_nspname IS NULL AND sync_relname IS NULL",
        {to_text(sub.id)});
    if (!status) {
        return "unknown";
    }
    return *status == "r" ? "replicating" : "initializing";
}

}  // namespace

SPOCK_PG_FUNCTION(spock_sub_create) {
    std::string name = pg::name_arg(fcinfo, 0, "subscription_name");
    std::string dsn = pg::text_arg(fcinfo, 1, "provider_dsn");
    std::vector<std::string> sets = pg::text_array_arg(fcinfo, 2, "replication_sets");
    bool sync_structure = pg::bool_arg(fcinfo, 3, "synchronize_structure");
    bool sync_data = pg::bool_arg(fcinfo, 4, "synchronize_data");
    std::vector<std::string> forward = pg::text_array_arg(fcinfo, 5, "forward_origins");
    SqlValue apply_delay = pg::arg_as_text(fcinfo, 6, INTERVALOID);
    pg::require_arg(fcinfo, 6, "apply_delay");
    bool force_text = pg::bool_arg(fcinfo, 7, "force_text_transfer");
    bool enabled = pg::bool_arg(fcinfo, 8, "enabled");
    std::vector<std::string> skip_schema = pg::text_array_arg(fcinfo, 9, "skip_schema");

    if (!core::is_valid_subscription_name(name)) {
        throw core::Error(core::sqlstate::kInvalidName,
                          "invalid subscription name \"" + name + "\"",
                          "Subscription names may contain only lower-case letters, digits and "
                          "underscores, and must be shorter than 64 bytes.");
    }
    if (!enabled && (sync_structure || sync_data)) {
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          "a disabled subscription cannot synchronize structure or data",
                          "Initial synchronisation runs when the subscription's worker starts.",
                          "Create the subscription enabled, or without synchronisation.");
    }
    validate_forward_origins(forward);
    check_set_names(sets);
    pg::check_dsn(dsn, "provider_dsn");
    pg::pg_call([] { pg::require_replication_settings(); });

    pg::spi_connect();
    if (spi_value("SELECT 1 WHERE $1::interval < '0'::interval", {apply_delay})) {
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          "apply_delay must not be negative");
    }
    spi_exec("LOCK TABLE spock.local_node IN SHARE MODE");
    catalog::LocalNode local = catalog::require_local_node();
    if (catalog::find_subscription(name)) {
        throw core::Error(core::sqlstate::kDuplicateObject,
                          "subscription \"" + name + "\" already exists");
    }
    core::SubscriptionId sub_id = core::subscription_id(name);
    if (sub_id == 0) {
        // 0 means "no subscription" in sub_drop's result and the statistics views.
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          "subscription name \"" + name + "\" hashes to the invalid id 0", {},
                          "Choose another subscription name.");
    }
    if (auto clash = spi_value("SELECT sub_name FROM spock.subscription WHERE sub_id = $1::oid",
                               {to_text(sub_id)})) {
        throw core::Error(core::sqlstate::kDuplicateObject,
                          "subscription id " + to_text(sub_id) + " of \"" + name +
                              "\" collides with subscription \"" + *clash + "\"",
                          {}, "Choose another subscription name.");
    }

    // The checks of reference §3.2 step 2: the provider is a spock node, accepts a replication
    // connection, and our own interface is reachable (the provider's sync connects back).
    ProviderInfo provider = read_provider(dsn, name);
    check_sets_exist(sets, provider.sets, provider.name);
    check_replication_connection(dsn, name);
    { pg::RemoteConnection self(local.interface.dsn, name, "create", false); }

    if (provider.id == local.node.id) {
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          "a node cannot subscribe to itself",
                          "The provider connection string leads to node \"" + provider.name +
                              "\", the local node.");
    }
    auto origin = catalog::find_node(provider.name);
    core::InterfaceId origin_if;
    if (origin) {
        if (origin->id != provider.id) {
            throw core::Error(core::sqlstate::kDuplicateObject,
                              "node \"" + provider.name + "\" already exists with another id",
                              "The local catalog has id " + to_text(origin->id) +
                                  ", the provider reports " + to_text(provider.id) + ".");
        }
        auto iface = catalog::find_interface(origin->id, provider.name);
        if (!iface) {
            throw core::Error(core::sqlstate::kUndefinedObject,
                              "node \"" + provider.name + "\" has no interface named after it");
        }
        if (iface->dsn != dsn) {
            throw core::Error(
                core::sqlstate::kDuplicateObject,
                "node \"" + provider.name + "\" is already known with another connection string",
                "Known: " + core::mask_password(iface->dsn) + " Given: " + core::mask_password(dsn),
                "Use the same connection string, or add an interface with "
                "spock.node_add_interface() and switch to it with "
                "spock.sub_alter_interface().");
        }
        origin_if = iface->id;
        for (const SqlRow& r : spi_query("SELECT sub_name, sub_replication_sets FROM "
                                         "spock.subscription WHERE sub_origin = $1::oid",
                                         {to_text(origin->id)})) {
            if (overlaps(sets, catalog::array_values(r[1]))) {
                pg::pg_call([&r, &name] {
                    ereport(WARNING, (errmsg("subscription \"%s\" and existing subscription \"%s\" "
                                             "share replication sets of the same provider",
                                             name.c_str(), r[0]->c_str()),
                                      errdetail("Tables in both sets would be applied twice.")));
                });
            }
        }
    } else {
        if (provider.id != core::node_id(provider.name)) {
            throw core::Error(core::sqlstate::kInvalidParameterValue,
                              "provider node \"" + provider.name + "\" reports id " +
                                  to_text(provider.id) + ", not the id its name hashes to");
        }
        sql::create_node_row(provider.name, dsn, provider.location, provider.country,
                             provider.info);
        origin_if = core::interface_id(provider.id, provider.name);
    }

    char* dbname = pg::pg_call([] { return get_database_name(MyDatabaseId); });
    std::string slot = core::gen_slot_name(dbname, provider.name, name);
    spi_exec(
        "INSERT INTO spock.subscription (sub_id, sub_name, sub_origin, sub_target, "
        "sub_origin_if, sub_target_if, sub_enabled, sub_slot_name, sub_replication_sets, "
        "sub_forward_origins, sub_apply_delay, sub_force_text_transfer, sub_skip_lsn, "
        "sub_skip_schema, sub_created_at) VALUES ($1::oid, $2::name, $3::oid, $4::oid, "
        "$5::oid, $6::oid, $7::bool, $8::name, $9::text[], $10::text[], $11::interval, "
        "$12::bool, '0/0', $13::text[], now())",
        {to_text(sub_id), name, to_text(provider.id), to_text(local.node.id), to_text(origin_if),
         to_text(local.interface.id), std::string(enabled ? "t" : "f"), slot,
         catalog::array_or_null(sets), catalog::array_or_null(forward), apply_delay,
         std::string(force_text ? "t" : "f"), catalog::array_or_null(skip_schema)});
    catalog::create_progress(local.node.id, provider.id);
    std::string kind = sync_structure && sync_data ? "f"
                       : sync_structure            ? "s"
                       : sync_data                 ? "d"
                                                   : "i";
    std::string status = enabled ? "i" : "r";
    spi_exec(
        "INSERT INTO spock.local_sync_status (sync_kind, sync_subid, sync_nspname, "
        "sync_relname, sync_status, sync_statuslsn) "
        "VALUES ($1::\"char\", $2::oid, NULL, NULL, $3::\"char\", '0/0')",
        {kind, to_text(sub_id), status});
    worker::notify_at_commit(sub_id);
    if (!enabled) {
        // A disabled subscription starts streaming from the origin's position when enabled
        // (the zero-downtime add-node path sets that position first).
        create_origin(slot);
    }
    pg::spi_finish();
    return ObjectIdGetDatum(sub_id);
}

SPOCK_PG_FUNCTION(spock_sub_drop) {
    std::string name = pg::name_arg(fcinfo, 0, "subscription_name");
    bool ifexists = pg::bool_arg(fcinfo, 1, "ifexists");
    pg::spi_connect();
    auto sub = catalog::find_subscription(name);
    if (!sub) {
        if (!ifexists) {
            throw core::Error(core::sqlstate::kUndefinedObject,
                              "subscription \"" + name + "\" not found", {},
                              "Use ifexists := true to ignore a missing subscription.");
        }
        pg::spi_finish();
        return ObjectIdGetDatum(InvalidOid);
    }
    // The worker streams from the slot; it has to let go of it before the slot can be dropped.
    Oid subid = sub->id;
    bool stopped =
        pg::pg_call([subid] { return worker::stop_apply_worker(MyDatabaseId, subid, 30000L); });
    if (!stopped) {
        throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                          "the apply worker of subscription \"" + name + "\" did not stop", {},
                          "Try again; check the server log for what the worker is doing.");
    }
    worker::notify_at_commit(sub->id);
    spi_exec("DELETE FROM spock.local_sync_status WHERE sync_subid = $1::oid", {to_text(sub->id)});
    spi_exec("DELETE FROM spock.subscription WHERE sub_id = $1::oid", {to_text(sub->id)});
    auto local = catalog::find_local_node();
    if (!local || sub->origin != local->node.id) {
        auto origin_if = catalog::find_interface_by_id(sub->origin_if);
        // The provider's node row goes when no other subscription needs it.
        if (!spi_value("SELECT 1 FROM spock.subscription WHERE sub_origin = $1::oid OR "
                       "sub_target = $1::oid",
                       {to_text(sub->origin)})) {
            sql::delete_node_rows(sub->origin);
        }
        // Drop the slot on the provider; the provider being unreachable is not fatal, the DBA
        // is told which slot to drop by hand.
        if (origin_if) {
            try {
                pg::RemoteConnection conn(origin_if->dsn, name, "cleanup", false);
                conn.query(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    "WHERE slot_name = $1",
                    {sub->slot_name});
            } catch (const core::Error& e) {
                std::string msg = e.message();
                std::string slot = sub->slot_name;
                pg::pg_call([&msg, &slot] {
                    ereport(WARNING,
                            (errmsg("could not drop slot \"%s\" on the provider", slot.c_str()),
                             errdetail_internal("%s", msg.c_str()),
                             errhint("Drop it on the provider with "
                                     "pg_drop_replication_slot('%s') once it is reachable.",
                                     slot.c_str())));
                });
            }
        }
        // The subscription's own origin and those of the nodes whose changes it forwarded
        // ("<slot>:n<id>"), and those of parallel apply processes ("...:w<K>"); see
        // include/spock/core/origin_names.hpp.
        drop_origin(sub->slot_name);
        for (const SqlRow& r : spi_query("SELECT roname FROM pg_catalog.pg_replication_origin "
                                         "WHERE starts_with(roname, $1)",
                                         {sub->slot_name})) {
            if (*r[0] != sub->slot_name && core::is_subscription_origin(sub->slot_name, *r[0])) {
                drop_origin(*r[0]);
            }
        }
    }
    pg::spi_finish();
    // Spock declares oid but returns 1/0 (§14 item 5); we return the dropped subscription's
    // id, which is non-zero exactly when Spock would return 1.
    return ObjectIdGetDatum(sub->id);
}

namespace {

catalog::Subscription sub_for_update(FunctionCallInfo fcinfo) {
    std::string name = pg::name_arg(fcinfo, 0, "subscription_name");
    pg::spi_connect();
    return catalog::require_subscription(name);
}

void set_enabled(FunctionCallInfo fcinfo, bool enabled) {
    catalog::Subscription sub = sub_for_update(fcinfo);
    bool immediate = pg::bool_arg(fcinfo, 1, "immediate");
    if (immediate) {
        const char* what = enabled ? "spock.sub_enable(immediate := true)"
                                   : "spock.sub_disable(immediate := true)";
        pg::pg_call([what] { PreventInTransactionBlock(true, what); });
    }
    spi_exec("UPDATE spock.subscription SET sub_enabled = $2::bool WHERE sub_id = $1::oid",
             {to_text(sub.id), std::string(enabled ? "t" : "f")});
    worker::notify_at_commit(sub.id);
    pg::spi_finish();
    if (immediate && !enabled) {
        // Outside a transaction block (checked above): the update is about to commit.
        Oid subid = sub.id;
        pg::pg_call([subid] { worker::stop_apply_worker(MyDatabaseId, subid, 30000L); });
    }
}

// Writes a subscription's replication sets back and tells its worker at commit.
void store_replication_sets(const catalog::Subscription& sub) {
    spi_exec(
        "UPDATE spock.subscription SET sub_replication_sets = $2::text[] "
        "WHERE sub_id = $1::oid",
        {to_text(sub.id), catalog::array_or_null(sub.replication_sets)});
    worker::notify_at_commit(sub.id);
}

}  // namespace

SPOCK_PG_FUNCTION(spock_sub_enable) {
    set_enabled(fcinfo, true);
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_sub_disable) {
    set_enabled(fcinfo, false);
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_sub_alter_interface) {
    catalog::Subscription sub = sub_for_update(fcinfo);
    std::string if_name = pg::name_arg(fcinfo, 1, "interface_name");
    auto iface = catalog::find_interface(sub.origin, if_name);
    if (!iface) {
        auto node = catalog::find_node_by_id(sub.origin);
        throw core::Error(core::sqlstate::kUndefinedObject,
                          "interface \"" + if_name + "\" of node \"" +
                              (node ? node->name : to_text(sub.origin)) + "\" not found",
                          {}, "Add it with spock.node_add_interface().");
    }
    bool changed = iface->id != sub.origin_if;
    if (changed) {
        spi_exec("UPDATE spock.subscription SET sub_origin_if = $2::oid WHERE sub_id = $1::oid",
                 {to_text(sub.id), to_text(iface->id)});
        worker::notify_at_commit(sub.id);
    }
    pg::spi_finish();
    PG_RETURN_BOOL(changed);
}

SPOCK_PG_FUNCTION(spock_sub_add_repset) {
    catalog::Subscription sub = sub_for_update(fcinfo);
    std::string set = pg::name_arg(fcinfo, 1, "replication_set");
    check_set_names({set});
    auto& sets = sub.replication_sets;
    if (std::find(sets.begin(), sets.end(), set) != sets.end()) {
        pg::spi_finish();
        PG_RETURN_BOOL(false);
    }
    // The set must exist on the provider, when the provider can be asked; when it cannot,
    // the set is added all the same (the provider's log warns about unknown sets).
    auto iface = catalog::find_interface_by_id(sub.origin_if);
    auto origin = catalog::find_node_by_id(sub.origin);
    if (iface && origin) {
        std::vector<std::string> have;
        bool asked = false;
        try {
            pg::RemoteConnection conn(iface->dsn, sub.name, "repset", false);
            have = provider_sets(conn);
            asked = true;
        } catch (const pg::PgError&) {
            throw;  // a local error (a cancel, say): the transaction must abort
        } catch (const core::Error& e) {
            std::string why = e.message();
            pg::pg_call([&why, &set] {
                ereport(WARNING,
                        (errcode(ERRCODE_CONNECTION_EXCEPTION),
                         errmsg("could not check that replication set \"%s\" exists on the "
                                "provider",
                                set.c_str()),
                         errdetail("%s", why.c_str())));
            });
        }
        if (asked) {
            check_sets_exist({set}, have, origin->name);
        }
    }
    sets.push_back(set);
    store_replication_sets(sub);
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_sub_remove_repset) {
    catalog::Subscription sub = sub_for_update(fcinfo);
    std::string set = pg::name_arg(fcinfo, 1, "replication_set");
    auto& sets = sub.replication_sets;
    auto it = std::find(sets.begin(), sets.end(), set);
    if (it == sets.end()) {
        throw core::Error(
            core::sqlstate::kUndefinedObject,
            "replication set \"" + set + "\" not found in subscription \"" + sub.name + "\"");
    }
    sets.erase(it);
    store_replication_sets(sub);
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_sub_alter_skiplsn) {
    catalog::Subscription sub = sub_for_update(fcinfo);
    SqlValue lsn = pg::arg_as_text(fcinfo, 1, PG_LSNOID);
    pg::require_arg(fcinfo, 1, "lsn");
    spi_exec("UPDATE spock.subscription SET sub_skip_lsn = $2::pg_lsn WHERE sub_id = $1::oid",
             {to_text(sub.id), lsn});
    worker::notify_at_commit(sub.id);
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_sub_show_status) {
    std::optional<std::string> only;
    if (!PG_ARGISNULL(0)) {
        only = NameStr(*PG_GETARG_NAME(0));
    }
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    std::vector<std::string> names;
    if (only) {
        names.push_back(catalog::require_subscription(*only).name);
    } else {
        for (const SqlRow& r : spi_query("SELECT sub_name FROM spock.subscription "
                                         "WHERE sub_target = $1::oid ORDER BY sub_name",
                                         {to_text(local.node.id)})) {
            names.push_back(*r[0]);
        }
    }
    std::vector<SqlRow> out;
    for (const std::string& n : names) {
        catalog::Subscription sub = catalog::require_subscription(n);
        auto rows = spi_query(
            "SELECT n.node_name, i.if_dsn, s.sub_replication_sets, s.sub_forward_origins "
            "FROM spock.subscription s JOIN spock.node n ON n.node_id = s.sub_origin "
            "JOIN spock.node_interface i ON i.if_id = s.sub_origin_if WHERE s.sub_id = $1::oid",
            {to_text(sub.id)});
        const SqlRow& r = rows.at(0);
        // The provider DSN without its password, as in error messages: anyone may call this.
        std::optional<std::string> dsn;
        if (r[1]) {
            dsn = core::mask_password(*r[1]);
        }
        out.push_back({sub.name, status_of(sub), r[0], dsn, sub.slot_name, r[2], r[3]});
    }
    pg::spi_finish();
    return pg::rows_result(fcinfo, out);
}

SPOCK_PG_FUNCTION(spock_sub_show_table) {
    std::string name = pg::name_arg(fcinfo, 0, "subscription_name");
    Oid relid = pg::oid_arg(fcinfo, 1, "relation");
    pg::spi_connect();
    catalog::Subscription sub = catalog::require_subscription(name);
    auto rows = spi_query(
        "SELECT n.nspname, c.relname, "
        "  CASE s.sync_status WHEN 'i' THEN 'sync_init' WHEN 's' THEN 'sync_structure' "
        "    WHEN 'd' THEN 'sync_data' WHEN 'c' THEN 'sync_constraints' "
        "    WHEN 'w' THEN 'sync_waiting' WHEN 'u' THEN 'catchup' "
        "    WHEN 'y' THEN 'synchronized' WHEN 'r' THEN 'replicating' ELSE 'unknown' END "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN spock.local_sync_status s ON s.sync_subid = $2::oid "
        "  AND s.sync_nspname = n.nspname AND s.sync_relname = c.relname "
        "WHERE c.oid = $1::oid",
        {to_text(relid), to_text(sub.id)});
    pg::spi_finish();
    if (rows.empty()) {
        throw core::Error("42P01", "relation with OID " + to_text(relid) + " does not exist");
    }
    return pg::record_result(fcinfo, rows[0]);
}
