// spock.readonly enforcement and the ProcessUtility hook it shares with the spock.* setting
// check. See include/spock/pg/read_only.hpp.
//
// Both hooks are plain glue (no C++ objects): they run for every statement, and with
// spock.readonly = off they only compare one integer before chaining on.
#include "spock/pg/read_only.hpp"

#include "spock/pg/gucs.hpp"
#include "spock/pg/postgres.hpp"
#include "spock/pg/setting_typos.hpp"

extern "C" {
#include <catalog/namespace.h>
#include <executor/executor.h>
#include <nodes/parsenodes.h>
#include <tcop/cmdtag.h>
#include <tcop/utility.h>
#include <utils/lsyscache.h>
}

namespace spock::pg {
namespace {

ExecutorStart_hook_type prev_executor_start = nullptr;
ProcessUtility_hook_type prev_process_utility = nullptr;
core::Writer process_writer = core::Writer::Session;

const char* mode_name(core::ReadOnlyMode mode) {
    return mode == core::ReadOnlyMode::All ? "all" : "user";
}

// Only sessions get errors. Spock's workers are held back where they start work instead (the
// apply worker before a remote transaction, the manager before its sequence sync), so that
// their own bookkeeping never fails halfway.
bool writes_refused() {
    return process_writer == core::Writer::Session &&
           !core::read_only_allows(read_only_mode(), core::Writer::Session);
}

[[noreturn]] void refuse(const char* what) {
    const char* mode = mode_name(read_only_mode());
    ereport(
        ERROR,
        (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
         errmsg("cannot execute %s while spock.readonly is \"%s\"", what, mode),
         errdetail("This spock node accepts no writes from sessions (spock.readonly = %s).", mode),
         errhint("A superuser can make the node writable again with "
                 "ALTER SYSTEM SET spock.readonly = off and SELECT pg_reload_conf().")));
    pg_unreachable();
}

// The same test PostgreSQL applies in a read-only transaction: a plan that needs more than
// SELECT on a relation that is not temporary writes (INSERT, UPDATE, DELETE, MERGE, SELECT
// FOR UPDATE, and data-modifying CTEs).
bool plan_writes(const QueryDesc* qd) {
    if (qd->plannedstmt->hasModifyingCTE) {
        return true;
    }
    ListCell* lc;
    foreach (lc, qd->plannedstmt->rtable) {
        RangeTblEntry* rte = lfirst_node(RangeTblEntry, lc);
        if (rte->rtekind != RTE_RELATION || (rte->requiredPerms & ~ACL_SELECT) == 0) {
            continue;
        }
        if (!isTempNamespace(get_rel_namespace(rte->relid))) {
            return true;
        }
    }
    return false;
}

void read_only_executor_start(QueryDesc* qd, int eflags) {
    if (gucs::readonly != gucs::kReadOnlyOff && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 &&
        writes_refused() && plan_writes(qd)) {
        refuse(GetCommandTagName(CreateCommandTag(reinterpret_cast<Node*>(qd->plannedstmt))));
    }
    if (prev_executor_start != nullptr) {
        prev_executor_start(qd, eflags);
    } else {
        standard_ExecutorStart(qd, eflags);
    }
}

// Utility statements that change nothing in the database, or whose writes go through the
// executor hook anyway (EXPLAIN ANALYZE, EXECUTE, DO, CALL, cursors).
bool utility_allowed(Node* stmt) {
    switch (nodeTag(stmt)) {
        case T_TransactionStmt:
        case T_VariableSetStmt:
        case T_VariableShowStmt:
        case T_AlterSystemStmt:
        case T_PrepareStmt:
        case T_ExecuteStmt:
        case T_DeallocateStmt:
        case T_ExplainStmt:
        case T_DeclareCursorStmt:
        case T_FetchStmt:
        case T_ClosePortalStmt:
        case T_DoStmt:
        case T_CallStmt:
        case T_ListenStmt:
        case T_UnlistenStmt:
        case T_NotifyStmt:
        case T_LoadStmt:
        case T_DiscardStmt:
        case T_LockStmt:
        case T_CheckPointStmt:
        case T_ConstraintsSetStmt:
            return true;
        case T_CopyStmt:
            return !castNode(CopyStmt, stmt)->is_from;
        default:
            return false;
    }
}

void read_only_process_utility(PlannedStmt* pstmt, const char* query, bool readOnlyTree,
                               ProcessUtilityContext context, ParamListInfo params,
                               QueryEnvironment* queryEnv, DestReceiver* dest,
                               QueryCompletion* qc) {
    Node* stmt = pstmt->utilityStmt;
    if (gucs::readonly != gucs::kReadOnlyOff && writes_refused() && !utility_allowed(stmt)) {
        refuse(GetCommandTagName(CreateCommandTag(stmt)));
    }
    check_setting_statement(stmt);
    if (prev_process_utility != nullptr) {
        prev_process_utility(pstmt, query, readOnlyTree, context, params, queryEnv, dest, qc);
    } else {
        standard_ProcessUtility(pstmt, query, readOnlyTree, context, params, queryEnv, dest, qc);
    }
}

}  // namespace

core::ReadOnlyMode read_only_mode() noexcept {
    switch (gucs::readonly) {
        case gucs::kReadOnlyUser:
            return core::ReadOnlyMode::User;
        case gucs::kReadOnlyAll:
            return core::ReadOnlyMode::All;
        default:
            return core::ReadOnlyMode::Off;
    }
}

void set_process_writer(core::Writer who) noexcept {
    process_writer = who;
}

void install_read_only_hooks() {
    prev_executor_start = ExecutorStart_hook;
    ExecutorStart_hook = read_only_executor_start;
    prev_process_utility = ProcessUtility_hook;
    ProcessUtility_hook = read_only_process_utility;
}

}  // namespace spock::pg
