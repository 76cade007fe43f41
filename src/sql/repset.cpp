// Replication sets and their tables and sequences (reference §3.3).
//
// The catalog queries compare regclass columns as oid and schema-qualify polymorphic functions:
// an operator or function with exactly matching argument types in any schema on the caller's
// search_path would otherwise win over pg_catalog's and run with the caller's rights.
#include <algorithm>

#include "spock/catalog/local_node.hpp"
#include "spock/catalog/replication_set.hpp"
#include "spock/catalog/values.hpp"
#include "spock/core/names.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/row_filter.hpp"
#include "spock/pg/spi.hpp"
#include "spock/sql/deleted_key_trigger.hpp"

extern "C" {
#include <catalog/pg_type.h>
#include <storage/lmgr.h>
#include <utils/inval.h>
}

using namespace spock;
using catalog::to_text;
using pg::spi_exec;
using pg::spi_query;
using pg::spi_value;
using pg::SqlRow;
using pg::SqlValue;

namespace {

SqlValue bool_text(bool v) {
    return std::string(v ? "t" : "f");
}

// What the repset functions need to know about a relation.
struct RelInfo {
    Oid oid;
    std::string nspname;
    std::string relname;
    char relkind;
    char persistence;
    bool is_partition;
    bool has_identity;  // a replica identity index, or REPLICA IDENTITY FULL with a primary key
    std::string display() const { return core::quote_qualified_identifier(nspname, relname); }
};

// Locks the relation first: DROP and the ALTER TABLE forms that change its replica identity or
// its columns wait for our transaction, so what we check and record stays true until commit.
RelInfo rel_info(Oid relid) {
    pg::pg_call([relid] { LockRelationOid(relid, AccessShareLock); });
    auto rows = spi_query(
        "SELECT n.nspname, c.relname, c.relkind, c.relpersistence, c.relispartition, "
        "  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisvalid AND "
        "          ((c.relreplident IN ('d', 'f') AND i.indisprimary) OR "
        "           (c.relreplident = 'i' AND i.indisreplident))) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::oid",
        {to_text(relid)});
    if (rows.empty()) {
        throw core::Error("42P01", "relation with OID " + to_text(relid) + " does not exist");
    }
    const SqlRow& r = rows[0];
    return RelInfo{relid,
                   *r[0],
                   *r[1],
                   (*r[2])[0],
                   (*r[3])[0],
                   catalog::to_bool(r[4]),
                   catalog::to_bool(r[5])};
}

bool in_system_schema(const RelInfo& rel) {
    return rel.nspname == "pg_catalog" || rel.nspname == "information_schema" ||
           rel.nspname == "spock" || rel.nspname.rfind("pg_toast", 0) == 0 ||
           rel.nspname.rfind("pg_temp", 0) == 0;
}

void check_table(const RelInfo& rel, const catalog::ReplicationSet& set) {
    if (rel.relkind != 'r' && rel.relkind != 'p') {
        throw core::Error(
            "42809", rel.display() + " is not a table", {},
            rel.relkind == 'S' ? "Use spock.repset_add_seq() for sequences." : std::string());
    }
    if (rel.persistence != 'p') {
        throw core::Error(core::sqlstate::kFeatureNotSupported,
                          "unlogged and temporary tables cannot be replicated",
                          "Table " + rel.display() + " is " +
                              (rel.persistence == 'u' ? "unlogged." : "temporary."));
    }
    if (in_system_schema(rel)) {
        throw core::Error(core::sqlstate::kFeatureNotSupported,
                          "system and spock tables cannot be replicated",
                          "Table " + rel.display() + " is in schema \"" + rel.nspname + "\".");
    }
    if ((set.replicate_update || set.replicate_delete) && !rel.has_identity) {
        throw core::Error(
            core::sqlstate::kObjectNotInPrerequisiteState,
            "table " + rel.display() + " cannot be added to replication set \"" + set.name + "\"",
            "The table has no primary key or replica identity index, and the set "
            "replicates UPDATEs or DELETEs.",
            "Add a primary key, set REPLICA IDENTITY USING INDEX, or use a set "
            "that replicates only INSERT and TRUNCATE such as "
            "default_insert_only.");
    }
}

// Validates a column list: every column exists, none twice, every key column included.
std::vector<std::string> check_columns(const RelInfo& rel, const std::vector<std::string>& cols) {
    if (cols.empty()) {
        // Stored as NULL, an empty list would silently mean "every column".
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          "column list of table " + rel.display() + " is empty", {},
                          "Pass NULL to replicate every column.");
    }
    std::vector<std::string> out;
    for (const std::string& c : cols) {
        auto found = spi_value(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1::oid AND attname = $2::name "
            "AND attnum > 0 AND NOT attisdropped",
            {to_text(rel.oid), c});
        if (!found) {
            throw core::Error("42703",
                              "column \"" + c + "\" of table " + rel.display() + " does not exist");
        }
        if (std::find(out.begin(), out.end(), c) != out.end()) {
            throw core::Error("42701", "column \"" + c + "\" appears twice in the column list");
        }
        out.push_back(c);
    }
    auto keys = spi_query(
        "SELECT a.attname FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey) "
        "WHERE c.oid = $1::oid AND i.indisvalid AND "
        "  ((c.relreplident IN ('d', 'f') AND i.indisprimary) OR "
        "   (c.relreplident = 'i' AND i.indisreplident)) ORDER BY a.attnum",
        {to_text(rel.oid)});
    for (const SqlRow& k : keys) {
        if (std::find(out.begin(), out.end(), *k[0]) == out.end()) {
            throw core::Error(core::sqlstate::kInvalidParameterValue,
                              "column list of table " + rel.display() +
                                  " must include replica identity column \"" + *k[0] + "\"",
                              "Subscribers find rows by the replica identity.");
        }
    }
    return out;
}

bool is_member(core::SetId set, Oid relid) {
    return spi_value(
               "SELECT 1 FROM spock.replication_set_table WHERE set_id = $1::oid AND "
               "set_reloid::oid = $2::oid",
               {to_text(set), to_text(relid)})
        .has_value();
}

void record_dependency(core::SetId set, Oid relid) {
    spi_exec(
        "INSERT INTO spock.depend (classid, objid, objsubid, refclassid, refobjid, "
        "refobjsubid, deptype) VALUES ('spock.replication_set_table'::regclass, $1::oid, "
        "$2::int, 'pg_class'::regclass, $2::oid, 0, 'n')",
        {to_text(set), to_text(relid)});
}

void forget_dependency(core::SetId set, Oid relid) {
    spi_exec(
        "DELETE FROM spock.depend WHERE classid = 'spock.replication_set_table'::regclass "
        "AND objid = $1::oid AND objsubid = $2::int",
        {to_text(set), to_text(relid)});
}

void invalidate(Oid relid) {
    pg::pg_call([relid] { CacheInvalidateRelcacheByRelid(relid); });
}

// Partition exclusions (docs/replication.md, "Partitions"): a partition without a row of its
// own is in every set an ancestor is in, unless excluded from it here.
void include_partition(core::SetId set, Oid relid) {
    spi_exec(
        "DELETE FROM spock.replication_set_partition_exclusion WHERE set_id = $1::oid AND "
        "set_reloid::oid = $2::oid",
        {to_text(set), to_text(relid)});
}

// True when the exclusion is new.
bool exclude_partition(core::SetId set, Oid relid) {
    // (ON CONFLICT is not available on a user catalog table.)
    bool added = spi_exec(
                     "INSERT INTO spock.replication_set_partition_exclusion (set_id, set_reloid) "
                     "SELECT $1::oid, $2::oid WHERE NOT EXISTS (SELECT 1 FROM "
                     "spock.replication_set_partition_exclusion WHERE set_id = $1::oid AND "
                     "set_reloid::oid = $2::oid)",
                     {to_text(set), to_text(relid)}) > 0;
    invalidate(relid);
    return added;
}

// Inserts one membership row. `columns` empty means all columns; `filter` is a node tree.
void insert_member(const catalog::ReplicationSet& set, const RelInfo& rel,
                   const std::vector<std::string>& columns, const SqlValue& filter) {
    pg::spi_exec_typed(
        "INSERT INTO spock.replication_set_table (set_id, set_reloid, set_att_list, "
        "set_row_filter) VALUES ($1::oid, $2::oid, $3::text[], $4)",
        {{to_text(set.id), TEXTOID},
         {to_text(rel.oid), TEXTOID},
         {catalog::array_or_null(columns), TEXTOID},
         {filter, PG_NODE_TREEOID}});
    record_dependency(set.id, rel.oid);
    sql::place_deleted_key_trigger(rel.oid);
    invalidate(rel.oid);
}

void queue_message(const std::string& set_name, char type, const std::string& json) {
    spi_exec(
        "INSERT INTO spock.queue (queued_at, role, replication_sets, message_type, message) "
        "VALUES (pg_catalog.now(), current_user, $1::text[], $2::\"char\", $3::json)",
        {core::to_array_literal({set_name}), std::string(1, type), json});
}

std::string json_string(const std::string& s) {
    auto v = spi_value("SELECT pg_catalog.to_json($1::text)::text", {s});
    return *v;
}

void queue_table_sync(const std::string& set_name, const RelInfo& rel) {
    queue_message(set_name, 'A',
                  "{\"schema_name\": " + json_string(rel.nspname) +
                      ", \"table_name\": " + json_string(rel.relname) + "}");
}

std::vector<Oid> partitions_of(Oid parent) {
    std::vector<Oid> out;
    for (const SqlRow& r : spi_query("SELECT relid::oid FROM pg_catalog.pg_partition_tree($1::oid) "
                                     "WHERE relid::oid <> $1::oid ORDER BY level, relid::oid",
                                     {to_text(parent)})) {
        out.push_back(catalog::to_u32(r[0]));
    }
    return out;
}

std::vector<Oid> relations_in_schemas(const std::vector<std::string>& schemas, const char* kinds) {
    std::vector<Oid> out;
    for (const std::string& nsp : schemas) {
        if (!spi_value("SELECT 1 FROM pg_namespace WHERE nspname = $1::name", {nsp})) {
            throw core::Error("3F000", "schema \"" + nsp + "\" does not exist");
        }
        for (const SqlRow& r : spi_query(
                 "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE n.nspname = $1::name AND c.relkind = ANY (pg_catalog.string_to_array($2, "
                 "',')::\"char\"[]) "
                 "AND c.relpersistence = 'p' ORDER BY c.relname",
                 {nsp, std::string(kinds)})) {
            out.push_back(catalog::to_u32(r[0]));
        }
    }
    return out;
}

// Adds a sequence to a set, creating its sequence_state row; with `sync`, queues its value.
void add_sequence(const catalog::ReplicationSet& set, const RelInfo& rel, bool sync) {
    spi_exec("INSERT INTO spock.replication_set_seq (set_id, set_seqoid) VALUES ($1::oid, $2::oid)",
             {to_text(set.id), to_text(rel.oid)});
    std::string qualified = rel.display();
    std::string last = *spi_value(("SELECT last_value::text FROM " + qualified).c_str());
    // A sequence in several sets shares one state row. (ON CONFLICT is not available on a
    // user catalog table.)
    spi_exec(
        "INSERT INTO spock.sequence_state (seqoid, cache_size, last_value) "
        "SELECT $1::oid, 1000, $2::bigint WHERE NOT EXISTS "
        "  (SELECT 1 FROM spock.sequence_state WHERE seqoid = $1::oid)",
        {to_text(rel.oid), last});
    record_dependency(set.id, rel.oid);
    if (sync) {
        queue_message(set.name, 'S',
                      "{\"schema_name\": " + json_string(rel.nspname) + ", \"sequence_name\": " +
                          json_string(rel.relname) + ", \"last_value\": \"" + last + "\"}");
    }
}

// Drops the sequence_state row of a sequence that no set contains any more.
void forget_unused_sequence_state(Oid seqoid) {
    spi_exec(
        "DELETE FROM spock.sequence_state WHERE seqoid = $1::oid AND NOT EXISTS "
        "  (SELECT 1 FROM spock.replication_set_seq WHERE set_seqoid::oid = $1::oid)",
        {to_text(seqoid)});
}

void check_sequence(const RelInfo& rel) {
    if (rel.relkind != 'S') {
        throw core::Error("42809", rel.display() + " is not a sequence", {},
                          "Use spock.repset_add_table() for tables.");
    }
    if (rel.persistence != 'p') {
        throw core::Error(core::sqlstate::kFeatureNotSupported,
                          "unlogged and temporary sequences cannot be replicated",
                          "Sequence " + rel.display() + " is " +
                              (rel.persistence == 'u' ? "unlogged." : "temporary."));
    }
    if (in_system_schema(rel)) {
        throw core::Error(core::sqlstate::kFeatureNotSupported,
                          "system and spock sequences cannot be replicated",
                          "Sequence " + rel.display() + " is in schema \"" + rel.nspname + "\".");
    }
}

// The partitions repset_add_partition / repset_remove_partition act on: `partition` when
// given (it must belong to `parent`), else all of them. nullopt when `parent` is not a
// partitioned table, which both functions answer with 0.
std::optional<std::vector<Oid>> selected_partitions(Oid parent, std::optional<Oid> partition,
                                                    const char* table_function) {
    RelInfo prel = rel_info(parent);
    if (prel.relkind != 'p') {
        throw core::Error(
            core::sqlstate::kWrongObjectType, prel.display() + " is not a partitioned table", {},
            std::string("Use spock.") + table_function + "() for a table that is not partitioned.");
    }
    std::vector<Oid> parts = partitions_of(parent);
    if (partition) {
        if (std::find(parts.begin(), parts.end(), *partition) == parts.end()) {
            throw core::Error(
                core::sqlstate::kInvalidParameterValue,
                rel_info(*partition).display() + " is not a partition of " + prel.display());
        }
        parts = {*partition};
    }
    return parts;
}

}  // namespace

SPOCK_PG_FUNCTION(spock_repset_create) {
    std::string name = pg::name_arg(fcinfo, 0, "set_name");
    bool ins = pg::bool_arg(fcinfo, 1, "replicate_insert");
    bool upd = pg::bool_arg(fcinfo, 2, "replicate_update");
    bool del = pg::bool_arg(fcinfo, 3, "replicate_delete");
    bool trunc = pg::bool_arg(fcinfo, 4, "replicate_truncate");
    if (name.empty()) {
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          "replication set name cannot be empty");
    }
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    if (catalog::find_replication_set(local.node.id, name)) {
        throw core::Error(core::sqlstate::kDuplicateObject,
                          "replication set \"" + name + "\" already exists");
    }
    core::SetId id = core::set_id(local.node.id, name);
    if (spi_value("SELECT set_name FROM spock.replication_set WHERE set_id = $1::oid",
                  {to_text(id)})) {
        throw core::Error(core::sqlstate::kDuplicateObject,
                          "replication set id " + to_text(id) + " of \"" + name +
                              "\" collides with an existing set",
                          {}, "Choose another set name.");
    }
    spi_exec(
        "INSERT INTO spock.replication_set (set_id, set_nodeid, set_name, replicate_insert, "
        "replicate_update, replicate_delete, replicate_truncate) "
        "VALUES ($1::oid, $2::oid, $3::name, $4::bool, $5::bool, $6::bool, $7::bool)",
        {to_text(id), to_text(local.node.id), name, bool_text(ins), bool_text(upd), bool_text(del),
         bool_text(trunc)});
    pg::spi_finish();
    return ObjectIdGetDatum(id);
}

SPOCK_PG_FUNCTION(spock_repset_alter) {
    std::string name = pg::name_arg(fcinfo, 0, "set_name");
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    catalog::ReplicationSet set = catalog::require_replication_set(local.node.id, name);
    bool ins = pg::opt_bool_arg(fcinfo, 1).value_or(set.replicate_insert);
    bool upd = pg::opt_bool_arg(fcinfo, 2).value_or(set.replicate_update);
    bool del = pg::opt_bool_arg(fcinfo, 3).value_or(set.replicate_delete);
    bool trunc = pg::opt_bool_arg(fcinfo, 4).value_or(set.replicate_truncate);
    if ((upd && !set.replicate_update) || (del && !set.replicate_delete)) {
        for (const SqlRow& r : spi_query("SELECT set_reloid::oid FROM spock.replication_set_table "
                                         "WHERE set_id = $1::oid",
                                         {to_text(set.id)})) {
            RelInfo rel = rel_info(catalog::to_u32(r[0]));
            if (!rel.has_identity) {
                throw core::Error(
                    core::sqlstate::kObjectNotInPrerequisiteState,
                    "replication set \"" + name + "\" cannot replicate UPDATEs or DELETEs",
                    "Member table " + rel.display() +
                        " has no primary key or replica identity index.",
                    "Add a primary key to the table or remove it from the set.");
            }
        }
    }
    spi_exec(
        "UPDATE spock.replication_set SET replicate_insert = $2::bool, "
        "replicate_update = $3::bool, replicate_delete = $4::bool, "
        "replicate_truncate = $5::bool WHERE set_id = $1::oid",
        {to_text(set.id), bool_text(ins), bool_text(upd), bool_text(del), bool_text(trunc)});
    for (const SqlRow& r : spi_query("SELECT set_reloid::oid FROM spock.replication_set_table "
                                     "WHERE set_id = $1::oid",
                                     {to_text(set.id)})) {
        invalidate(catalog::to_u32(r[0]));
    }
    pg::spi_finish();
    return ObjectIdGetDatum(set.id);
}

SPOCK_PG_FUNCTION(spock_repset_drop) {
    std::string name = pg::name_arg(fcinfo, 0, "set_name");
    bool ifexists = pg::bool_arg(fcinfo, 1, "ifexists");
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    auto set = catalog::find_replication_set(local.node.id, name);
    if (!set) {
        if (!ifexists) {
            throw core::Error(core::sqlstate::kUndefinedObject,
                              "replication set \"" + name + "\" not found", {},
                              "Use ifexists := true to ignore a missing set.");
        }
        pg::spi_finish();
        PG_RETURN_BOOL(false);
    }
    if (name == "default" || name == "default_insert_only" || name == "ddl_sql") {
        // Allowed, as in Spock, but rarely meant: subscriptions ask for these sets by default.
        pg::pg_call([&name] {
            ereport(WARNING,
                    (errmsg("dropping built-in replication set \"%s\"", name.c_str()),
                     errdetail("Subscriptions to this node use the sets \"default\", "
                               "\"default_insert_only\" and \"ddl_sql\" unless told "
                               "otherwise; they no longer receive the tables of this set, and "
                               "new subscriptions that name it are refused."),
                     errhint("Recreate it with spock.repset_create('%s') if this was not "
                             "intended.",
                             name.c_str())));
        });
    }
    std::string id = to_text(set->id);
    auto members = spi_query(
        "DELETE FROM spock.replication_set_table WHERE set_id = $1::oid RETURNING set_reloid::oid",
        {id});
    auto seqs = spi_query(
        "DELETE FROM spock.replication_set_seq WHERE set_id = $1::oid RETURNING set_seqoid::oid",
        {id});
    spi_exec("DELETE FROM spock.replication_set_partition_exclusion WHERE set_id = $1::oid", {id});
    for (const SqlRow& r : seqs) {
        forget_unused_sequence_state(catalog::to_u32(r[0]));
    }
    spi_exec(
        "DELETE FROM spock.depend WHERE classid = 'spock.replication_set_table'::regclass "
        "AND objid = $1::oid",
        {id});
    spi_exec("DELETE FROM spock.replication_set WHERE set_id = $1::oid", {id});
    for (const SqlRow& r : members) {
        sql::drop_deleted_key_trigger(catalog::to_u32(r[0]));
        invalidate(catalog::to_u32(r[0]));
    }
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_repset_add_table) {
    std::string set_name = pg::name_arg(fcinfo, 0, "set_name");
    Oid relid = pg::oid_arg(fcinfo, 1, "relation");
    bool sync = pg::bool_arg(fcinfo, 2, "synchronize_data");
    auto columns = pg::opt_text_array_arg(fcinfo, 3, "columns");
    SqlValue filter_text = pg::opt_text_arg(fcinfo, 4);
    bool include_partitions = pg::bool_arg(fcinfo, 5, "include_partitions");

    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    catalog::ReplicationSet set = catalog::require_replication_set(local.node.id, set_name);
    RelInfo rel = rel_info(relid);
    check_table(rel, set);
    if (is_member(set.id, relid)) {
        throw core::Error(core::sqlstate::kDuplicateObject,
                          "table " + rel.display() + " is already a member of replication set \"" +
                              set_name + "\"");
    }
    std::vector<std::string> cols;
    if (columns) {
        cols = check_columns(rel, *columns);
    }
    SqlValue filter;
    if (filter_text) {
        filter = pg::compile_row_filter(relid, *filter_text);
    }
    insert_member(set, rel, cols, filter);
    if (rel.relkind == 'p' && !include_partitions) {
        // Partitions created or attached later still join (they inherit the parent's
        // membership); the existing ones stay out, as asked.
        for (Oid part : partitions_of(relid)) {
            exclude_partition(set.id, part);
        }
    }
    if (rel.relkind == 'p' && include_partitions) {
        for (Oid part : partitions_of(relid)) {
            RelInfo prel = rel_info(part);
            include_partition(set.id, part);
            if (is_member(set.id, part)) {
                continue;
            }
            check_table(prel, set);
            SqlValue pfilter;
            if (filter_text) {
                pfilter = pg::compile_row_filter(part, *filter_text);
            }
            insert_member(set, prel, columns ? check_columns(prel, *columns) : cols, pfilter);
        }
    }
    if (sync) {
        queue_table_sync(set_name, rel);
    }
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_repset_add_all_tables) {
    std::string set_name = pg::name_arg(fcinfo, 0, "set_name");
    std::vector<std::string> schemas = pg::text_array_arg(fcinfo, 1, "schema_names");
    bool sync = pg::bool_arg(fcinfo, 2, "synchronize_data");
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    catalog::ReplicationSet set = catalog::require_replication_set(local.node.id, set_name);
    for (Oid relid : relations_in_schemas(schemas, "r,p")) {
        RelInfo rel = rel_info(relid);
        if (is_member(set.id, relid)) {
            continue;
        }
        check_table(rel, set);
        insert_member(set, rel, {}, std::nullopt);
        if (sync && !rel.is_partition) {
            queue_table_sync(set_name, rel);
        }
    }
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_repset_remove_table) {
    std::string set_name = pg::name_arg(fcinfo, 0, "set_name");
    Oid relid = pg::oid_arg(fcinfo, 1, "relation");
    bool include_partitions = pg::bool_arg(fcinfo, 2, "include_partitions");
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    catalog::ReplicationSet set = catalog::require_replication_set(local.node.id, set_name);
    RelInfo rel = rel_info(relid);
    if (!is_member(set.id, relid)) {
        throw core::Error(
            core::sqlstate::kUndefinedObject,
            "table " + rel.display() + " is not a member of replication set \"" + set_name + "\"");
    }
    std::vector<Oid> remove = {relid};
    if (rel.relkind == 'p' && include_partitions) {
        for (Oid part : partitions_of(relid)) {
            remove.push_back(part);
        }
    }
    for (Oid r : remove) {
        spi_exec(
            "DELETE FROM spock.replication_set_table WHERE set_id = $1::oid AND "
            "set_reloid::oid = $2::oid",
            {to_text(set.id), to_text(r)});
        include_partition(set.id, r);
        forget_dependency(set.id, r);
        sql::drop_deleted_key_trigger(r);
        invalidate(r);
    }
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_repset_add_seq) {
    std::string set_name = pg::name_arg(fcinfo, 0, "set_name");
    Oid relid = pg::oid_arg(fcinfo, 1, "relation");
    bool sync = pg::bool_arg(fcinfo, 2, "synchronize_data");
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    catalog::ReplicationSet set = catalog::require_replication_set(local.node.id, set_name);
    RelInfo rel = rel_info(relid);
    check_sequence(rel);
    if (spi_value("SELECT 1 FROM spock.replication_set_seq WHERE set_id = $1::oid AND "
                  "set_seqoid::oid = $2::oid",
                  {to_text(set.id), to_text(relid)})) {
        throw core::Error(core::sqlstate::kDuplicateObject,
                          "sequence " + rel.display() +
                              " is already a member of replication set \"" + set_name + "\"");
    }
    add_sequence(set, rel, sync);
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_repset_add_all_seqs) {
    std::string set_name = pg::name_arg(fcinfo, 0, "set_name");
    std::vector<std::string> schemas = pg::text_array_arg(fcinfo, 1, "schema_names");
    bool sync = pg::bool_arg(fcinfo, 2, "synchronize_data");
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    catalog::ReplicationSet set = catalog::require_replication_set(local.node.id, set_name);
    for (Oid relid : relations_in_schemas(schemas, "S")) {
        if (spi_value("SELECT 1 FROM spock.replication_set_seq WHERE set_id = $1::oid AND "
                      "set_seqoid::oid = $2::oid",
                      {to_text(set.id), to_text(relid)})) {
            continue;
        }
        RelInfo rel = rel_info(relid);
        check_sequence(rel);
        add_sequence(set, rel, sync);
    }
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_repset_remove_seq) {
    std::string set_name = pg::name_arg(fcinfo, 0, "set_name");
    Oid relid = pg::oid_arg(fcinfo, 1, "relation");
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    catalog::ReplicationSet set = catalog::require_replication_set(local.node.id, set_name);
    RelInfo rel = rel_info(relid);
    if (spi_exec("DELETE FROM spock.replication_set_seq WHERE set_id = $1::oid AND "
                 "set_seqoid::oid = $2::oid",
                 {to_text(set.id), to_text(relid)}) == 0) {
        throw core::Error(core::sqlstate::kUndefinedObject,
                          "sequence " + rel.display() + " is not a member of replication set \"" +
                              set_name + "\"");
    }
    forget_dependency(set.id, relid);
    forget_unused_sequence_state(relid);
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_repset_add_partition) {
    Oid parent = pg::oid_arg(fcinfo, 0, "parent");
    std::optional<Oid> partition = pg::opt_oid_arg(fcinfo, 1);
    SqlValue filter_text = pg::opt_text_arg(fcinfo, 2);
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    std::optional<std::vector<Oid>> selected =
        selected_partitions(parent, partition, "repset_add_table");
    if (!selected) {
        pg::spi_finish();
        PG_RETURN_INT32(0);
    }
    std::vector<Oid> parts = *selected;
    int added = 0;
    auto sets = spi_query(
        "SELECT s.set_name, t.set_att_list, t.set_row_filter IS NOT NULL, "
        "       pg_catalog.pg_get_expr(t.set_row_filter, t.set_reloid::oid) "
        "FROM spock.replication_set_table t JOIN spock.replication_set s USING (set_id) "
        "WHERE t.set_reloid::oid = $1::oid AND s.set_nodeid = $2::oid ORDER BY s.set_name",
        {to_text(parent), to_text(local.node.id)});
    for (const SqlRow& s : sets) {
        catalog::ReplicationSet set = catalog::require_replication_set(local.node.id, *s[0]);
        std::vector<std::string> cols = catalog::array_values(s[1]);
        for (Oid part : parts) {
            if (is_member(set.id, part)) {
                continue;
            }
            include_partition(set.id, part);
            RelInfo rel = rel_info(part);
            check_table(rel, set);
            SqlValue filter;
            if (filter_text) {
                filter = pg::compile_row_filter(part, *filter_text);
            } else if (catalog::to_bool(s[2])) {
                // The parent's filter was compiled against the parent; partitions may number
                // their columns differently, so recompile it from its source text.
                filter = pg::compile_row_filter(part, *s[3]);
            }
            insert_member(set, rel, cols.empty() ? cols : check_columns(rel, cols), filter);
            added++;
        }
    }
    pg::spi_finish();
    PG_RETURN_INT32(added);
}

SPOCK_PG_FUNCTION(spock_repset_remove_partition) {
    Oid parent = pg::oid_arg(fcinfo, 0, "parent");
    std::optional<Oid> partition = pg::opt_oid_arg(fcinfo, 1);
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    std::optional<std::vector<Oid>> selected =
        selected_partitions(parent, partition, "repset_remove_table");
    if (!selected) {
        pg::spi_finish();
        PG_RETURN_INT32(0);
    }
    std::vector<Oid> parts = *selected;
    // The sets that hold the parent, by a row of its own or of one of its ancestors
    // (pg_partition_ancestors lists the parent itself too).
    auto sets = spi_query(
        "SELECT DISTINCT t.set_id FROM spock.replication_set_table t "
        "JOIN spock.replication_set s USING (set_id) WHERE s.set_nodeid = $1::oid "
        "AND t.set_reloid::oid IN (SELECT relid FROM pg_catalog.pg_partition_ancestors($2::oid)) "
        "ORDER BY 1",
        {to_text(local.node.id), to_text(parent)});
    int removed = 0;
    for (Oid part : parts) {
        for (const SqlRow& r : sets) {
            core::SetId set = catalog::to_u32(r[0]);
            bool had_row = spi_exec(
                               "DELETE FROM spock.replication_set_table WHERE set_id = $1::oid "
                               "AND set_reloid::oid = $2::oid",
                               {to_text(set), to_text(part)}) > 0;
            if (had_row) {
                forget_dependency(set, part);
            }
            // Without the exclusion the partition would inherit the parent's membership.
            bool newly_excluded = exclude_partition(set, part);
            if (had_row || newly_excluded) {
                removed++;
            }
        }
        invalidate(part);
    }
    pg::spi_finish();
    PG_RETURN_INT32(removed);
}

SPOCK_PG_FUNCTION(spock_repset_show_table) {
    Oid relid = pg::oid_arg(fcinfo, 0, "relation");
    std::vector<std::string> repsets = pg::text_array_arg(fcinfo, 1, "repsets");
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    RelInfo rel = rel_info(relid);
    std::string sets =
        core::to_array_literal(std::vector<core::OptionalText>(repsets.begin(), repsets.end()));
    // As in Spock, every named set must exist here.
    if (SqlValue missing =
            spi_value("SELECT n FROM pg_catalog.unnest($1::text[]) n WHERE NOT EXISTS ("
                      "  SELECT 1 FROM spock.replication_set s "
                      "  WHERE s.set_nodeid = $2::oid AND s.set_name = n) LIMIT 1",
                      {sets, to_text(local.node.id)})) {
        throw core::Error(core::sqlstate::kUndefinedObject,
                          "replication set \"" + *missing + "\" not found");
    }
    // A set without a column list publishes every column, so it widens the union of lists
    // (Spock ignores it, reference §14 item 11). A partition without a row of its own in a set
    // takes the nearest ancestor's row there unless it was excluded from the set, as the
    // output plugin does (core/partition_membership.hpp); column lists are by name.
    auto rows = spi_query(
        "WITH anc AS (SELECT $1::oid AS relid, 1::bigint AS depth UNION ALL "
        "             SELECT a.relid, a.depth FROM pg_catalog.pg_partition_ancestors($1::oid) "
        "             WITH ORDINALITY a(relid, depth) WHERE a.depth > 1), "
        "m AS (SELECT DISTINCT ON (t.set_id) t.set_att_list, t.set_row_filter "
        "      FROM spock.replication_set_table t "
        "      JOIN spock.replication_set s USING (set_id) "
        "      JOIN anc ON anc.relid = t.set_reloid::oid "
        "      WHERE s.set_nodeid = $2::oid AND s.set_name = ANY ($3::text[]) "
        "        AND (anc.depth = 1 OR NOT EXISTS ("
        "             SELECT 1 FROM spock.replication_set_partition_exclusion x "
        "             WHERE x.set_id = t.set_id AND x.set_reloid::oid = $1::oid)) "
        "      ORDER BY t.set_id, anc.depth) "
        "SELECT (SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attnum) "
        "        FROM pg_attribute a "
        "        WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
        "          AND (NOT EXISTS (SELECT 1 FROM m) OR EXISTS (SELECT 1 FROM m WHERE "
        "               m.set_att_list IS NULL OR a.attname = ANY (m.set_att_list)))), "
        "       EXISTS (SELECT 1 FROM m WHERE m.set_row_filter IS NOT NULL)",
        {to_text(relid), to_text(local.node.id), sets});
    pg::spi_finish();
    pg::SqlRow result = {to_text(relid),
                         rel.nspname,
                         rel.relname,
                         rows.at(0)[0],
                         rows.at(0)[1],
                         std::string(1, rel.relkind),
                         std::string(rel.is_partition ? "t" : "f")};
    return pg::record_result(fcinfo, result);
}
