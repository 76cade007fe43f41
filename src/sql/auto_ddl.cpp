// Automatic DDL replication: the ProcessUtility hook behind spock.enable_ddl_replication,
// spock.include_ddl_repset, spock.allow_ddl_from_functions and spock.deny_all_ddl (reference
// §10.5; docs/ddl.md "Automatic DDL").
//
// Before a DDL statement runs, the hook refuses it under deny_all_ddl, and collects what the
// decision needs (core::decide_auto_ddl): the context, temporary objects, objects of schema
// spock, database-level commands, and for ALTER TABLE / RENAME the fingerprint of the table as
// it is before the statement. After the statement ran (an error skips this), it re-checks the
// relations the statement created (a view over a temporary table is temporary too), then
// either warns that the statement is not replicated, or queues it as a 'D' message of set
// ddl_sql in spock.queue ("SET search_path TO ...; <the one statement>", role = current user),
// and with include_ddl_repset puts created or altered tables into default or
// default_insert_only. The repset step also runs for replicated DDL (replicate_ddl here, queued
// DDL applied by a subscriber), which is never queued again.
//
// The hook itself is plain glue: the work before and after the statement runs under guarded(),
// and nothing with a destructor lives across the call of the next hook.
#include "spock/sql/auto_ddl.hpp"

#include <string>
#include <vector>

#include "spock/core/auto_ddl.hpp"
#include "spock/core/names.hpp"
#include "spock/pg/ddl_exec.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/internal_write.hpp"
#include "spock/pg/postgres.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/table_shape.hpp"

extern "C" {
#include <access/xact.h>
#include <catalog/namespace.h>
#include <catalog/pg_class.h>
#include <catalog/pg_type.h>
#include <commands/extension.h>
#include <commands/tablecmds.h>
#include <executor/spi.h>
#include <miscadmin.h>
#include <nodes/makefuncs.h>
#include <nodes/parsenodes.h>
#include <replication/origin.h>
#include <tcop/cmdtag.h>
#include <tcop/utility.h>
#include <utils/builtins.h>
#include <utils/guc.h>
#include <utils/lsyscache.h>
}

namespace spock::sql {
namespace {

ProcessUtility_hook_type previous_hook = nullptr;

// What the hook carries from before the statement to after it. palloc'd; trivially copyable.
struct Capture {
    core::AutoDdlFacts facts;
    const char* tag;
    const char* text;  // the message, when the statement may be queued
    const char* role;
    List* created;  // RangeVars of relations the statement creates
    List* tables;   // RangeVars whose replication sets include_ddl_repset fixes
};

// ----- plain glue: facts of the parse tree ------------------------------------------------------

struct TreeFacts {
    bool temporary;
    bool spock_object;
    bool cluster_level;
    bool prepared_statement;
    bool spock_trigger;
    List* targets;  // RangeVars of existing relations the statement changes or drops
    List* created;
    List* tables;
    RangeVar* fingerprint_target;
    LOCKMODE fingerprint_lock;  // the lock the statement takes on it
};

bool is_spock(const char* name) {
    return name != nullptr && strcmp(name, "spock") == 0;
}

// A qualified name (list of String) in schema spock.
bool in_spock(List* names) {
    return list_length(names) >= 2 && IsA(linitial(names), String) &&
           is_spock(strVal(linitial(names)));
}

void created(TreeFacts* f, RangeVar* rv, bool table) {
    if (rv == nullptr) {
        return;
    }
    f->created = lappend(f->created, rv);
    if (table) {
        f->tables = lappend(f->tables, rv);
    }
    if (rv->relpersistence == RELPERSISTENCE_TEMP) {
        f->temporary = true;
    }
}

void target(TreeFacts* f, RangeVar* rv) {
    if (rv != nullptr) {
        f->targets = lappend(f->targets, rv);
    }
}

void gather_drop(DropStmt* s, TreeFacts* f) {
    ListCell* lc;
    foreach (lc, s->objects) {
        Node* obj = static_cast<Node*>(lfirst(lc));
        switch (s->removeType) {
            case OBJECT_TABLE:
            case OBJECT_SEQUENCE:
            case OBJECT_VIEW:
            case OBJECT_MATVIEW:
            case OBJECT_INDEX:
            case OBJECT_FOREIGN_TABLE:
                target(f, makeRangeVarFromNameList(castNode(List, obj)));
                break;
            case OBJECT_TRIGGER: {
                // (schema.)table.trigger; spock's own is spock_deleted_keys.
                List* names = castNode(List, obj);
                f->spock_trigger |= strcmp(strVal(llast(names)), "spock_deleted_keys") == 0;
                break;
            }
            case OBJECT_SCHEMA:
            case OBJECT_EXTENSION:
                f->spock_object |= IsA(obj, String) && is_spock(strVal(obj));
                break;
            default:
                if (IsA(obj, List)) {
                    f->spock_object |= in_spock(castNode(List, obj));
                } else if (IsA(obj, ObjectWithArgs)) {
                    f->spock_object |= in_spock(castNode(ObjectWithArgs, obj)->objname);
                }
                break;
        }
    }
}

void gather_tree(Node* n, TreeFacts* f) {
    switch (nodeTag(n)) {
        case T_CreateStmt:
            created(f, castNode(CreateStmt, n)->relation, true);
            break;
        case T_CreateTableAsStmt: {
            auto* s = castNode(CreateTableAsStmt, n);
            if (s->into != nullptr) {
                created(f, s->into->rel, s->objtype == OBJECT_TABLE);
            }
            // EXECUTE as the raw parser leaves it, or wrapped in a utility Query by analysis.
            Node* q = s->query;
            if (q != nullptr && IsA(q, Query) && castNode(Query, q)->utilityStmt != nullptr) {
                q = castNode(Query, q)->utilityStmt;
            }
            f->prepared_statement = q != nullptr && IsA(q, ExecuteStmt);
            break;
        }
        case T_ViewStmt:
            created(f, castNode(ViewStmt, n)->view, false);
            break;
        case T_CreateSeqStmt:
            created(f, castNode(CreateSeqStmt, n)->sequence, false);
            break;
        case T_AlterSeqStmt:
            target(f, castNode(AlterSeqStmt, n)->sequence);
            break;
        case T_AlterTableStmt: {
            auto* s = castNode(AlterTableStmt, n);
            target(f, s->relation);
            if (s->objtype == OBJECT_TABLE) {
                f->tables = lappend(f->tables, s->relation);
                f->fingerprint_target = s->relation;
                f->fingerprint_lock = AlterTableGetLockLevel(s->cmds);
            }
            break;
        }
        case T_IndexStmt:
            target(f, castNode(IndexStmt, n)->relation);
            break;
        case T_CreateTrigStmt:
            target(f, castNode(CreateTrigStmt, n)->relation);
            f->spock_trigger |= in_spock(castNode(CreateTrigStmt, n)->funcname);
            break;
        case T_RuleStmt:
            target(f, castNode(RuleStmt, n)->relation);
            break;
        case T_CreatePolicyStmt:
            target(f, castNode(CreatePolicyStmt, n)->table);
            break;
        case T_AlterPolicyStmt:
            target(f, castNode(AlterPolicyStmt, n)->table);
            break;
        case T_RenameStmt: {
            auto* s = castNode(RenameStmt, n);
            target(f, s->relation);
            if (s->renameType == OBJECT_DATABASE || s->renameType == OBJECT_SUBSCRIPTION) {
                f->cluster_level = true;
            }
            if (s->renameType == OBJECT_SCHEMA) {
                f->spock_object |= is_spock(s->subname) || is_spock(s->newname);
            }
            if ((s->renameType == OBJECT_TABLE || s->renameType == OBJECT_COLUMN) &&
                s->relation != nullptr) {
                f->fingerprint_target = s->relation;
                f->fingerprint_lock = AccessExclusiveLock;
            }
            break;
        }
        case T_AlterObjectSchemaStmt: {
            auto* s = castNode(AlterObjectSchemaStmt, n);
            target(f, s->relation);
            f->spock_object |= is_spock(s->newschema);
            if (s->object != nullptr && IsA(s->object, List)) {
                f->spock_object |= in_spock(castNode(List, s->object));
            }
            break;
        }
        case T_AlterOwnerStmt: {
            auto* s = castNode(AlterOwnerStmt, n);
            target(f, s->relation);
            if (s->objectType == OBJECT_DATABASE || s->objectType == OBJECT_SUBSCRIPTION) {
                f->cluster_level = true;
            }
            break;
        }
        case T_GrantStmt: {
            auto* s = castNode(GrantStmt, n);
            if (s->targtype != ACL_TARGET_OBJECT) {
                break;
            }
            ListCell* lc;
            foreach (lc, s->objects) {
                Node* obj = static_cast<Node*>(lfirst(lc));
                if (IsA(obj, RangeVar)) {
                    target(f, castNode(RangeVar, obj));
                } else if (IsA(obj, String)) {
                    f->spock_object |= s->objtype == OBJECT_SCHEMA && is_spock(strVal(obj));
                }
            }
            break;
        }
        case T_DropStmt:
            gather_drop(castNode(DropStmt, n), f);
            break;
        case T_CreateSchemaStmt: {
            auto* s = castNode(CreateSchemaStmt, n);
            f->spock_object |= is_spock(s->schemaname);
            ListCell* lc;
            foreach (lc, s->schemaElts) {
                Node* e = static_cast<Node*>(lfirst(lc));
                if (IsA(e, CreateStmt) && s->schemaname != nullptr) {
                    auto* rv =
                        static_cast<RangeVar*>(copyObjectImpl(castNode(CreateStmt, e)->relation));
                    rv->schemaname = pstrdup(s->schemaname);
                    f->tables = lappend(f->tables, rv);
                }
            }
            break;
        }
        case T_CreateExtensionStmt:
            f->spock_object |= is_spock(castNode(CreateExtensionStmt, n)->extname);
            break;
        case T_AlterExtensionStmt:
            f->spock_object |= is_spock(castNode(AlterExtensionStmt, n)->extname);
            break;
        case T_AlterExtensionContentsStmt:
            f->spock_object |= is_spock(castNode(AlterExtensionContentsStmt, n)->extname);
            break;
        case T_CreateFunctionStmt:
            f->spock_object |= in_spock(castNode(CreateFunctionStmt, n)->funcname);
            break;
        case T_DefineStmt:
            f->spock_object |= in_spock(castNode(DefineStmt, n)->defnames);
            break;
        case T_CompositeTypeStmt:
            f->spock_object |= is_spock(castNode(CompositeTypeStmt, n)->typevar->schemaname);
            break;
        case T_CreateEnumStmt:
            f->spock_object |= in_spock(castNode(CreateEnumStmt, n)->typeName);
            break;
        case T_CreatedbStmt:
        case T_DropdbStmt:
        case T_AlterDatabaseStmt:
        case T_AlterDatabaseSetStmt:
        case T_AlterDatabaseRefreshCollStmt:
        case T_AlterSystemStmt:
        case T_CreateSubscriptionStmt:
        case T_AlterSubscriptionStmt:
        case T_DropSubscriptionStmt:
            f->cluster_level = true;
            break;
        default:
            break;
    }
}

// Whether a RangeVar names (or, for one not there yet, would name) a temporary relation or one
// of schema spock. Resolved without a lock, as the statement itself takes the right one.
void check_relation(RangeVar* rv, bool* temporary, bool* spock_object) {
    if (rv->relpersistence == RELPERSISTENCE_TEMP ||
        (rv->schemaname != nullptr && strcmp(rv->schemaname, "pg_temp") == 0)) {
        *temporary = true;
    }
    if (is_spock(rv->schemaname)) {
        *spock_object = true;
    }
    Oid relid = RangeVarGetRelid(rv, NoLock, true);
    if (!OidIsValid(relid)) {
        return;
    }
    if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP) {
        *temporary = true;
    }
    char* nsp = get_namespace_name(get_rel_namespace(relid));
    if (is_spock(nsp)) {
        *spock_object = true;
    }
}

void gather(Node* n, TreeFacts* f) {
    gather_tree(n, f);
    ListCell* lc;
    foreach (lc, f->targets) {
        check_relation(static_cast<RangeVar*>(lfirst(lc)), &f->temporary, &f->spock_object);
    }
}

bool spock_installed() {
    return IsTransactionState() && OidIsValid(get_extension_oid("spock", true));
}

// ----- the message ------------------------------------------------------------------------------

struct TargetName {
    bool found;
    Oid relid;
    char* nspname;
    char* relname;
};

// Takes the statement's own lock first (for the owner only, as ALTER TABLE does), so that the
// fingerprint is the table as the statement will find it, after any concurrent ALTER of this
// node (an apply worker's, say) has committed.
void resolve_target(RangeVar* rv, LOCKMODE lock, TargetName* out) {
    out->relid =
        RangeVarGetRelidExtended(rv, lock, RVR_MISSING_OK, RangeVarCallbackOwnsRelation, nullptr);
    out->found = OidIsValid(out->relid);
    if (out->found) {
        out->nspname = get_namespace_name(get_rel_namespace(out->relid));
        out->relname = get_rel_name(out->relid);
        out->found = out->nspname != nullptr && out->relname != nullptr;
    }
}

// The text queued for subscribers: the fingerprint note of the table the statement changes
// (if any), the search_path, the one statement of `query` this is.
std::string message_text(PlannedStmt* pstmt, const char* query, const char* tag,
                         RangeVar* fingerprint_target, LOCKMODE lock) {
    std::string stmt =
        core::statement_text(query != nullptr ? query : "", pstmt->stmt_location, pstmt->stmt_len);
    std::string text = stmt;
    if (core::ddl_needs_search_path(tag)) {
        const char* path = pg::pg_call([] { return GetConfigOption("search_path", false, false); });
        text =
            core::queued_ddl_text(core::split_identifier_list(path != nullptr ? path : ""), stmt);
    }
    if (fingerprint_target != nullptr) {
        TargetName t{false, InvalidOid, nullptr, nullptr};
        TargetName* out = &t;
        pg::pg_call(
            [fingerprint_target, lock, out] { resolve_target(fingerprint_target, lock, out); });
        std::optional<std::vector<core::ColumnShape>> shape;
        if (t.found) {
            shape = pg::table_shape(t.relid);
        }
        if (shape) {
            core::DdlTargetNote note{t.nspname, t.relname, core::table_fingerprint(*shape),
                                     core::table_shape_text(*shape)};
            text = core::ddl_target_comment(note) + text;
        }
    }
    return text;
}

core::DdlContext context_of(ProcessUtilityContext c) {
    switch (c) {
        case PROCESS_UTILITY_TOPLEVEL:
            return core::DdlContext::TopLevel;
        case PROCESS_UTILITY_SUBCOMMAND:
            return core::DdlContext::Subcommand;
        default:
            return core::DdlContext::Function;
    }
}

Capture* before(PlannedStmt* pstmt, const char* query, ProcessUtilityContext context) {
    Node* stmt = pstmt->utilityStmt;
    core::StatementClass cls = pg::classify_parsed(stmt);
    const char* tag = GetCommandTagName(CreateCommandTag(stmt));
    const bool replicated = pg::running_replicated_ddl();
    const bool worker = IsBackgroundWorker || replorigin_session_origin != InvalidRepOriginId;
    if (std::optional<core::Error> e =
            core::deny_ddl_error(cls, tag, gucs::deny_all_ddl, worker && replicated)) {
        throw *e;
    }
    const bool fix_sets_possible = gucs::include_ddl_repset;
    if (!gucs::enable_ddl_replication && !(fix_sets_possible && replicated)) {
        return nullptr;
    }
    if (context == PROCESS_UTILITY_SUBCOMMAND || cls == core::StatementClass::NotDdl ||
        !pg::pg_call([] { return spock_installed(); })) {
        return nullptr;
    }
    TreeFacts tf{};
    TreeFacts* tfp = &tf;
    pg::pg_call([stmt, tfp] { gather(stmt, tfp); });

    core::AutoDdlFacts f;
    f.cls = cls;
    f.context = context_of(context);
    f.enabled = gucs::enable_ddl_replication;
    f.allow_from_functions = gucs::allow_ddl_from_functions;
    f.in_extension_script = creating_extension;
    f.replicated_ddl = replicated;
    f.replication_process = worker;
    f.repair_mode = gucs::replication_repair_mode;
    f.temporary = tf.temporary;
    f.spock_object = tf.spock_object;
    f.cluster_level = tf.cluster_level;
    f.prepared_statement = tf.prepared_statement;
    f.spock_trigger = tf.spock_trigger;
    core::AutoDdlDecision d = core::decide_auto_ddl(f);
    const bool fix_sets = fix_sets_possible && tf.tables != NIL &&
                          (d.action == core::AutoDdlAction::Queue || replicated);
    if (d.action == core::AutoDdlAction::Ignore && !fix_sets) {
        return nullptr;
    }
    std::string text;
    if (d.action == core::AutoDdlAction::Queue) {
        text = message_text(pstmt, query, tag, tf.fingerprint_target, tf.fingerprint_lock);
    }
    const char* t = text.c_str();
    Capture* cap = pg::pg_call([t] {
        auto* c = static_cast<Capture*>(palloc0(sizeof(Capture)));
        c->text = pstrdup(t);
        c->role = GetUserNameFromId(GetUserId(), false);
        return c;
    });
    cap->facts = f;
    cap->tag = tag;
    cap->created = tf.created;
    cap->tables = fix_sets ? tf.tables : NIL;
    return cap;
}

// ----- after the statement ----------------------------------------------------------------------

// Plain glue: queues the message when this database is a spock node. Returns whether it did.
bool queue_message(const Capture* cap) {
    Oid nsp = get_namespace_oid("spock", true);
    if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("queue", nsp))) {
        return false;
    }
    // The user need not be able to write spock.queue.
    pg::InternalWrite w;
    pg::begin_internal_write(&w);
    int rc = SPI_execute("SELECT 1 FROM spock.local_node", true, 1);
    bool node = rc == SPI_OK_SELECT && SPI_processed > 0;
    if (node) {
        Oid types[2] = {TEXTOID, TEXTOID};
        Datum values[2] = {CStringGetTextDatum(cap->role), CStringGetTextDatum(cap->text)};
        rc = SPI_execute_with_args(
            "INSERT INTO spock.queue (queued_at, role, replication_sets, message_type, message) "
            "VALUES (pg_catalog.now(), $1::name, ARRAY['ddl_sql'], 'D', "
            "pg_catalog.to_json($2::text))",
            2, types, values, nullptr, false, 0);
        if (rc != SPI_OK_INSERT) {
            elog(ERROR, "could not queue DDL statement: %s", SPI_result_code_string(rc));
        }
    }
    pg::end_internal_write(&w);
    return node;
}

// Puts one created or altered table into the set core::plan_ddl_repset() names.
void fix_sets(RangeVar* rv) {
    Oid relid = pg::pg_call([rv] { return RangeVarGetRelid(rv, NoLock, true); });
    if (!OidIsValid(relid)) {
        return;
    }
    const std::string rel = std::to_string(relid);
    pg::InternalWrite w;
    pg::InternalWrite* wp = &w;
    pg::pg_call([wp] { pg::begin_internal_write(wp); });
    std::vector<pg::SqlRow> rows = pg::spi_query(
        "SELECT c.relkind::text, c.relpersistence::text, c.relispartition::text, "
        "  EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisvalid "
        "          AND ((c.relreplident IN ('d', 'f') AND i.indisprimary) OR "
        "               (c.relreplident = 'i' AND i.indisreplident)))::text, "
        "  s.sets::text[] @> '{default}', s.sets::text[] @> '{default_insert_only}', "
        "  cardinality(s.sets) > 0 "
        "FROM pg_catalog.pg_class c, LATERAL (SELECT coalesce(array_agg(rs.set_name), '{}') "
        "  AS sets FROM spock.replication_set_table t "
        "  JOIN spock.replication_set rs ON rs.set_id = t.set_id "
        "  JOIN spock.local_node l ON l.node_id = rs.set_nodeid "
        "  WHERE t.set_reloid = c.oid) s WHERE c.oid = $1::oid",
        {rel});
    if (!rows.empty()) {
        const pg::SqlRow& r = rows[0];
        auto yes = [](const pg::SqlValue& v) { return v && (*v == "t" || *v == "true"); };
        core::TableForSets t;
        t.relkind = (*r[0])[0];
        t.persistence = (*r[1])[0];
        t.is_partition = yes(r[2]);
        t.has_identity = yes(r[3]);
        t.in_default = yes(r[4]);
        t.in_default_insert_only = yes(r[5]);
        t.in_any_set = yes(r[6]);
        core::RepsetPlan plan = core::plan_ddl_repset(t);
        const char* remove =
            "SELECT spock.repset_remove_table(rs.set_name, $1::oid::regclass, true) "
            "FROM spock.replication_set rs "
            "JOIN spock.local_node l ON l.node_id = rs.set_nodeid "
            "JOIN spock.replication_set_table t ON t.set_id = rs.set_id "
            "WHERE t.set_reloid = $1::oid AND ($2::name IS NULL OR rs.set_name = $2::name)";
        if (plan.remove_from_all) {
            pg::spi_query(remove, {rel, std::nullopt});
        }
        for (const std::string& s : plan.remove_from) {
            pg::spi_query(remove, {rel, s});
        }
        if (plan.add_to) {
            pg::spi_query(
                "SELECT spock.repset_add_table(rs.set_name, $1::oid::regclass, false, NULL, "
                "NULL, true) FROM spock.replication_set rs "
                "JOIN spock.local_node l ON l.node_id = rs.set_nodeid "
                "WHERE rs.set_name = $2::name",
                {rel, *plan.add_to});
        }
    }
    pg::pg_call([wp] { pg::end_internal_write(wp); });
}

void after(Capture* cap) {
    // A relation created here may turn out temporary (a view over a temporary table) or in
    // schema spock (through the search_path).
    ListCell* lc;
    foreach (lc, cap->created) {
        auto* rv = static_cast<RangeVar*>(lfirst(lc));
        core::AutoDdlFacts* f = &cap->facts;
        pg::pg_call([rv, f] { check_relation(rv, &f->temporary, &f->spock_object); });
    }
    core::AutoDdlDecision d = core::decide_auto_ddl(cap->facts);
    bool sets_ok = !cap->facts.temporary && !cap->facts.spock_object;
    if (sets_ok) {
        foreach (lc, cap->tables) {
            fix_sets(static_cast<RangeVar*>(lfirst(lc)));
        }
    }
    if (d.action == core::AutoDdlAction::Skip) {
        const char* tag = cap->tag;
        const char* why = d.reason.c_str();
        pg::pg_call([tag, why] {
            ereport(WARNING,
                    (errmsg("%s statement will not be replicated", tag), errdetail("%s", why),
                     errhint("Run it on the other nodes as well if they need it; docs/ddl.md "
                             "lists what automatic DDL replication leaves out.")));
        });
    } else if (d.action == core::AutoDdlAction::Queue) {
        const Capture* c = cap;
        bool queued = pg::pg_call([c] { return queue_message(c); });
        if (queued) {
            pg::pg_call([] { ereport(INFO, (errmsg("DDL statement replicated"))); });
        }
    }
}

void process_utility(PlannedStmt* pstmt, const char* query, bool read_only_tree,
                     ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* env,
                     DestReceiver* dest, QueryCompletion* qc) {
    Capture* cap = nullptr;
    // Everything that is not DDL passes with this one test.
    if (GetCommandLogLevel(pstmt->utilityStmt) == LOGSTMT_DDL) {
        pg::guarded([&cap, pstmt, query, context] { cap = before(pstmt, query, context); });
    }
    if (previous_hook != nullptr) {
        previous_hook(pstmt, query, read_only_tree, context, params, env, dest, qc);
    } else {
        standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
    }
    if (cap != nullptr) {
        pg::guarded([cap] { after(cap); });
    }
}

}  // namespace

void install_auto_ddl_hook() {
    previous_hook = ProcessUtility_hook;
    ProcessUtility_hook = process_utility;
}

}  // namespace spock::sql
