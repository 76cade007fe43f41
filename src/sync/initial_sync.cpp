// Subscription-level initial synchronisation (reference §7.1). The order of the steps is what
// makes it consistent: the slot is created first and exports a snapshot; the schema dump and
// the data copy both read the provider in that snapshot; streaming then starts at the slot's
// consistent point, the first change the snapshot does not see.
#include "spock/sync/initial_sync.hpp"

#include <optional>

#include "copy_data.hpp"
#include "dump_restore.hpp"
#include "spock/catalog/interface.hpp"
#include "spock/catalog/progress.hpp"
#include "spock/catalog/subscription.hpp"
#include "spock/catalog/values.hpp"
#include "spock/core/error.hpp"
#include "spock/core/names.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/remote.hpp"
#include "spock/pg/spi.hpp"

extern "C" {
#include <access/xact.h>
#include <replication/origin.h>
#include <utils/guc.h>
#include <utils/snapmgr.h>
}

namespace spock::sync {
namespace {

using pg::pg_call;

// Names the subscription and the step a failure happened in, in front of the original message
// (or instead of it, with `replace`). Cancels and shutdowns pass unchanged.
[[noreturn]] void rethrow_in_step(const std::string& prefix, bool replace = false) {
    try {
        throw;
    } catch (const pg::PgError& e) {
        if (e.sqlstate().rfind("57", 0) == 0) {
            throw;
        }
        throw pg::PgError(e.sqlerrcode(), replace ? prefix : prefix + ": " + e.message(),
                          e.detail(), e.hint(), e.context());
    } catch (const core::Error& e) {
        throw core::Error(e.sqlstate(), replace ? prefix : prefix + ": " + e.message(), e.detail(),
                          e.hint());
    }
}

// Rolls back whatever transaction is open after a failure. Never throws: the original error
// is what the caller must see.
void abort_quietly() {
    try {
        pg_call([] { AbortCurrentTransaction(); });
    } catch (...) {
    }
}

template <typename F>
void in_transaction(F&& body) {
    pg_call([] {
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
    });
    try {
        body();
        pg_call([] {
            PopActiveSnapshot();
            CommitTransactionCommand();
        });
    } catch (...) {
        abort_quietly();
        throw;
    }
}

bool is_valid_slot_name(const std::string& s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return true;
}

struct Slot {
    core::Lsn consistent_point;
    std::string snapshot;
};

// CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT on a replication connection. A slot of the same
// name can only be the leftover of an earlier attempt of this subscription (the name hashes
// the database, provider and subscription names): it is dropped and created again. A slot in
// use by a walsender cannot be dropped, and that error is reported.
Slot create_slot(pg::RemoteConnection& repl, const std::string& name) {
    std::string create =
        "CREATE_REPLICATION_SLOT \"" + name + "\" LOGICAL spock_output EXPORT_SNAPSHOT";
    std::vector<pg::SqlRow> rows;
    try {
        rows = repl.query(create);
    } catch (const pg::PgError&) {
        throw;
    } catch (const core::Error& e) {
        if (e.sqlstate() != "42710") {
            throw;
        }
        pg_call([&name] {
            ereport(LOG, (errmsg("dropping replication slot \"%s\" on the provider, left over "
                                 "by an earlier synchronisation attempt",
                                 name.c_str())));
        });
        repl.query("DROP_REPLICATION_SLOT \"" + name + "\"");
        rows = repl.query(create);
    }
    // slot_name, consistent_point, snapshot_name, output_plugin
    if (rows.size() != 1 || rows[0].size() < 3 || !rows[0][1] || !rows[0][2]) {
        throw core::Error(core::sqlstate::kProtocolViolation,
                          "unexpected result from CREATE_REPLICATION_SLOT");
    }
    return Slot{core::Lsn::parse(*rows[0][1]), *rows[0][2]};
}

// Best effort, after a failure: the slot would otherwise hold WAL on the provider until the
// next attempt drops it.
void drop_slot_quietly(std::optional<pg::RemoteConnection>& repl, const SyncRequest& req) {
    try {
        if (!repl) {
            repl.emplace(req.provider_dsn, req.subscription_name, "cleanup", true);
        }
        repl->query("DROP_REPLICATION_SLOT \"" + req.slot_name + "\"");
    } catch (...) {
    }
}

void set_local(const char* name, const char* value) {
    pg_call([name, value] {
        (void)set_config_option(name, value, PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0,
                                false);
    });
}

// Copies the data in one local transaction whose commit carries the subscription's
// replication origin, so that the walsenders of this node do not send the copied rows back
// to the provider (or on to nodes that do not forward), and whose commit timestamp is the
// Unix epoch, so that any later change to a copied row wins a last-update-wins conflict.
void copy_data(const SyncRequest& req, const Slot& slot) {
    pg::RemoteConnection conn(req.provider_dsn, req.subscription_name, "copy", false);
    prepare_copy_session(conn);
    begin_snapshot_transaction(conn, slot.snapshot);
    std::vector<ProviderTable> tables =
        list_provider_tables(conn, req.replication_sets, req.skip_schemas);
    // How far the provider had applied each third node's changes as of the snapshot: the copy
    // holds those changes, so this node has them too (used when adding a node, §9).
    std::vector<pg::SqlRow> progress =
        catalog::read_progress_of_others(conn, req.provider_node_id, req.local_node_id);

    bool origin_set = false;
    auto reset_origin = [&origin_set] {
        if (origin_set) {
            origin_set = false;
            pg_call([] {
                replorigin_session_reset();
                replorigin_session_origin = InvalidRepOriginId;
                replorigin_session_origin_lsn = InvalidXLogRecPtr;
                replorigin_session_origin_timestamp = 0;
            });
        }
    };
    pg_call([] {
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
    });
    try {
        set_local("session_replication_role", "replica");
        set_local("DateStyle", "ISO");
        set_local("IntervalStyle", "postgres");
        const char* origin_name = req.slot_name.c_str();
        TimestampTz epoch = core::timestamp_from_unix_us(0).value;
        pg_call([origin_name, epoch] {
            RepOriginId origin = replorigin_by_name(origin_name, true);
            if (origin == InvalidRepOriginId) {
                origin = replorigin_create(origin_name);
            }
            replorigin_session_setup(origin);
            replorigin_session_origin = origin;
            replorigin_session_origin_lsn = InvalidXLogRecPtr;
            replorigin_session_origin_timestamp = epoch;
        });
        origin_set = true;

        pg::spi_connect();
        std::uint64_t total = 0;
        for (const ProviderTable& t : tables) {
            std::uint64_t rows = copy_table(conn, t);
            total += rows;
            pg_call([&t, rows] {
                CommandCounterIncrement();
                ereport(DEBUG1, (errmsg("copied %llu rows of table %s.%s",
                                        static_cast<unsigned long long>(rows), t.nspname.c_str(),
                                        t.relname.c_str())));
            });
            pg::spi_exec(
                "INSERT INTO spock.local_sync_status (sync_kind, sync_subid, sync_nspname, "
                "sync_relname, sync_status, sync_statuslsn) "
                "VALUES ('f', $1::oid, $2::name, $3::name, 'r', $4::pg_lsn) "
                "ON CONFLICT (sync_subid, sync_nspname, sync_relname) DO UPDATE "
                "SET sync_kind = EXCLUDED.sync_kind, sync_status = EXCLUDED.sync_status, "
                "sync_statuslsn = EXCLUDED.sync_statuslsn",
                {catalog::to_text(req.subscription_id), t.nspname, t.relname,
                 slot.consistent_point.to_string()});
        }
        // In the same transaction as the rows: the data is in, as of the slot's consistent
        // point. A restart after this commit finishes the synchronisation from here ('y', or
        // 'c' when post-data is still to come); one before it finds 'd' and copies again.
        pg::spi_exec(
            "UPDATE spock.local_sync_status SET sync_status = $2::\"char\", "
            "sync_statuslsn = $3::pg_lsn "
            "WHERE sync_subid = $1::oid AND sync_nspname IS NULL AND sync_relname IS NULL",
            {catalog::to_text(req.subscription_id), std::string(req.structure ? "c" : "y"),
             slot.consistent_point.to_string()});
        for (const pg::SqlRow& p : progress) {
            catalog::store_progress(req.local_node_id, p);
        }
        pg::spi_finish();
        pg_call([] {
            PopActiveSnapshot();
            CommitTransactionCommand();
        });
        reset_origin();
        std::size_t ntables = tables.size();
        const char* sub = req.subscription_name.c_str();
        pg_call([sub, ntables, total] {
            ereport(LOG, (errmsg("initial synchronisation of subscription \"%s\" copied %llu rows "
                                 "of %zu tables",
                                 sub, static_cast<unsigned long long>(total), ntables)));
        });
    } catch (...) {
        abort_quietly();
        try {
            reset_origin();
        } catch (...) {
        }
        throw;
    }
}

}  // namespace

core::Lsn synchronize_subscription(const SyncRequest& req) {
    if (pg_call([] { return IsTransactionState(); })) {
        throw core::Error("25001", "initial synchronisation cannot run inside a transaction");
    }
    if (!is_valid_slot_name(req.slot_name)) {
        throw core::Error(core::sqlstate::kInvalidName, "invalid slot name \"" + req.slot_name +
                                                            "\" for initial synchronisation");
    }
    const std::string who =
        "initial synchronisation of subscription \"" + req.subscription_name + "\"";
    auto status = [&req](char s) {
        if (req.on_status) {
            req.on_status(s);
        }
    };

    // A schema named snowflake on this node is the snowflake extension's: never overwrite it.
    bool local_snowflake = false;
    if (req.structure) {
        in_transaction([&local_snowflake] {
            pg::spi_connect();
            local_snowflake = pg::spi_value(
                                  "SELECT 1 FROM pg_catalog.pg_namespace "
                                  "WHERE nspname = 'snowflake'")
                                  .has_value();
            pg::spi_finish();
        });
    }

    // The dump file first: a directory unfit for it fails the attempt before anything that
    // cannot be resumed, so the sync is tried again once the setting is corrected.
    std::optional<DumpFile> dump;
    if (req.structure) {
        dump.emplace();
    }

    std::optional<pg::RemoteConnection> repl;
    Slot slot;
    try {
        repl.emplace(req.provider_dsn, req.subscription_name, "snap", true);
    } catch (...) {
        rethrow_in_step(who + ": could not connect to the provider", true);
    }
    try {
        slot = create_slot(*repl, req.slot_name);
    } catch (...) {
        rethrow_in_step(who + ": could not create replication slot \"" + req.slot_name +
                        "\" on the provider");
    }

    std::string step = who;
    try {
        if (req.structure) {
            status('s');
            dump_schema(req.provider_dsn, slot.snapshot, req.skip_schemas, local_snowflake, *dump);
            restore_section(req.local_dsn, "pre-data", *dump);
        }
        if (req.data) {
            status('d');
            step = who + ": could not copy the data";
            copy_data(req, slot);
        }
        // The exported snapshot is no longer needed: end it, so that the provider's vacuum is
        // not held back while indexes are built here.
        repl.reset();
        if (req.structure) {
            if (!req.data) {
                status('c');  // with data, the copy's commit said so
            }
            step = who;
            restore_section(req.local_dsn, "post-data", *dump);
        }
    } catch (...) {
        drop_slot_quietly(repl, req);
        rethrow_in_step(step);
    }
    return slot.consistent_point;
}

SyncRequest sync_request_for(const std::string& name, bool structure, bool data) {
    pg::spi_connect();
    catalog::Subscription sub = catalog::require_subscription(name);
    auto origin_if = catalog::find_interface_by_id(sub.origin_if);
    auto target_if = catalog::find_interface_by_id(sub.target_if);
    pg::SqlValue skip =
        pg::spi_value("SELECT sub_skip_schema FROM spock.subscription WHERE sub_id = $1::oid",
                      {catalog::to_text(sub.id)});
    pg::spi_finish();
    if (!origin_if || !target_if) {
        throw core::Error(core::sqlstate::kUndefinedObject,
                          "interface of subscription \"" + name + "\" not found");
    }
    SyncRequest req;
    req.subscription_id = sub.id;
    req.subscription_name = sub.name;
    req.slot_name = sub.slot_name;
    req.provider_dsn = origin_if->dsn;
    req.local_dsn = target_if->dsn;
    req.provider_node_id = sub.origin;
    req.local_node_id = sub.target;
    req.replication_sets = sub.replication_sets;
    req.skip_schemas = catalog::array_values(skip);
    req.structure = structure;
    req.data = data;
    return req;
}

}  // namespace spock::sync

// C entry point for the test module (test/modules/spock_test): synchronises subscription
// `name` as an apply worker would, from a background worker outside any transaction, and
// returns the consistent point. Errors are raised as ERROR. Not reachable from SQL.
extern "C" SPOCK_EXPORT XLogRecPtr spock_initial_sync_by_name(const char* name, bool structure,
                                                              bool data) {
    return spock::pg::guarded([&]() -> XLogRecPtr {
        spock::sync::SyncRequest req;
        spock::pg::pg_call([] {
            StartTransactionCommand();
            PushActiveSnapshot(GetTransactionSnapshot());
        });
        req = spock::sync::sync_request_for(name, structure, data);
        spock::pg::pg_call([] {
            PopActiveSnapshot();
            CommitTransactionCommand();
        });
        return spock::sync::synchronize_subscription(req).value;
    });
}
