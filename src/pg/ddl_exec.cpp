// See ddl_exec.hpp.
#include "spock/pg/ddl_exec.hpp"

#include "spock/pg/guard.hpp"

extern "C" {
#include <commands/defrem.h>
#include <executor/spi.h>
#include <miscadmin.h>
#include <nodes/parsenodes.h>
#include <parser/parser.h>
#include <tcop/cmdtag.h>
#include <tcop/utility.h>
#include <utils/acl.h>
#include <utils/guc.h>
}

namespace spock::pg {
namespace {

bool has_option(List* options, const char* name) {
    ListCell* lc;
    foreach (lc, options) {
        auto* d = static_cast<DefElem*>(lfirst(lc));
        if (strcmp(d->defname, name) == 0) {
            return true;
        }
    }
    return false;
}

// Statements PostgreSQL refuses inside a transaction block (PreventInTransactionBlock).
bool not_in_transaction(Node* n) {
    switch (nodeTag(n)) {
        case T_VacuumStmt:
            return reinterpret_cast<VacuumStmt*>(n)->is_vacuumcmd;
        case T_CreatedbStmt:
        case T_DropdbStmt:
        case T_AlterSystemStmt:
        case T_CreateTableSpaceStmt:
        case T_DropTableSpaceStmt:
        case T_CreateSubscriptionStmt:
        case T_DropSubscriptionStmt:
            return true;
        case T_AlterDatabaseStmt:
            return has_option(reinterpret_cast<AlterDatabaseStmt*>(n)->options, "tablespace");
        case T_IndexStmt:
            return reinterpret_cast<IndexStmt*>(n)->concurrent;
        case T_DropStmt:
            return reinterpret_cast<DropStmt*>(n)->concurrent;
        case T_ReindexStmt: {
            auto* r = reinterpret_cast<ReindexStmt*>(n);
            return r->kind == REINDEX_OBJECT_DATABASE || r->kind == REINDEX_OBJECT_SYSTEM ||
                   has_option(r->params, "concurrently");
        }
        case T_ClusterStmt:
            return reinterpret_cast<ClusterStmt*>(n)->relation == nullptr;
        case T_AlterTableStmt: {
            ListCell* lc;
            foreach (lc, reinterpret_cast<AlterTableStmt*>(n)->cmds) {
                auto* cmd = static_cast<AlterTableCmd*>(lfirst(lc));
                if (cmd->subtype == AT_DetachPartition && cmd->def != nullptr &&
                    reinterpret_cast<PartitionCmd*>(cmd->def)->concurrent) {
                    return true;
                }
            }
            return false;
        }
        default:
            return false;
    }
}

core::StatementClass classify(Node* n) {
    if (IsA(n, TransactionStmt)) {
        return core::StatementClass::TransactionControl;
    }
    if (not_in_transaction(n)) {
        return core::StatementClass::NotInTransaction;
    }
    return GetCommandLogLevel(n) == LOGSTMT_DDL ? core::StatementClass::Ddl
                                                : core::StatementClass::NotDdl;
}

struct Parsed {
    int n;
    int* classes;
    const char** tags;
};

// Plain glue: no C++ objects; raises on a syntax error.
void parse_and_classify(const char* command, Parsed* out) {
    List* stmts = raw_parser(command, RAW_PARSE_DEFAULT);
    out->n = list_length(stmts);
    out->classes = static_cast<int*>(palloc(sizeof(int) * Max(out->n, 1)));
    out->tags = static_cast<const char**>(palloc(sizeof(char*) * Max(out->n, 1)));
    int i = 0;
    ListCell* lc;
    foreach (lc, stmts) {
        Node* stmt = lfirst_node(RawStmt, lc)->stmt;
        out->classes[i] = static_cast<int>(classify(stmt));
        out->tags[i] = GetCommandTagName(CreateCommandTag(stmt));
        i++;
    }
}

bool in_replicated_ddl = false;

// Plain glue: runs the statements as the role; restores the user on every way out.
void run_as(Oid roleid, const char* sql) {
    Oid saved_user;
    int saved_sec;
    GetUserIdAndSecContext(&saved_user, &saved_sec);
    int nest = NewGUCNestLevel();
    SetUserIdAndSecContext(roleid, saved_sec | SECURITY_LOCAL_USERID_CHANGE);
    bool saved_flag = in_replicated_ddl;
    in_replicated_ddl = true;
    PG_TRY();
    {
        if (SPI_connect() != SPI_OK_CONNECT) {
            elog(ERROR, "SPI_connect failed");
        }
        int rc = SPI_execute(sql, false, 0);
        if (rc < 0) {
            ereport(ERROR,
                    (errcode(ERRCODE_INTERNAL_ERROR),
                     errmsg("replicated DDL could not be executed: %s", SPI_result_code_string(rc)),
                     errdetail("Statement: %s", sql)));
        }
        SPI_finish();
    }
    PG_FINALLY();
    {
        in_replicated_ddl = saved_flag;
        SetUserIdAndSecContext(saved_user, saved_sec);
    }
    PG_END_TRY();
    // Settings the statements changed (the queued SET search_path) end with them.
    AtEOXact_GUC(false, nest);
}

}  // namespace

std::vector<core::ClassifiedStatement> classify_statements(const std::string& command) {
    Parsed p{0, nullptr, nullptr};
    Parsed* out = &p;
    const char* cmd = command.c_str();
    pg_call([cmd, out] { parse_and_classify(cmd, out); });
    std::vector<core::ClassifiedStatement> result;
    for (int i = 0; i < p.n; i++) {
        result.push_back({static_cast<core::StatementClass>(p.classes[i]), p.tags[i]});
    }
    return result;
}

Oid ddl_role_oid(const std::string& role, const char* what) {
    const char* name = role.c_str();
    Oid oid = pg_call([name] { return get_role_oid(name, true); });
    if (!OidIsValid(oid)) {
        throw core::Error(core::sqlstate::kUndefinedObject, "role \"" + role + "\" does not exist",
                          std::string("The ") + what + " runs as this role.",
                          "Create the role on every node before replicating DDL that runs as "
                          "it.");
    }
    return oid;
}

bool running_replicated_ddl() noexcept {
    return in_replicated_ddl;
}

core::StatementClass classify_parsed(Node* stmt) {
    return classify(stmt);
}

void execute_ddl_as(Oid roleid, const std::string& sql) {
    const char* text = sql.c_str();
    pg_call([roleid, text] { run_as(roleid, text); });
}

}  // namespace spock::pg
