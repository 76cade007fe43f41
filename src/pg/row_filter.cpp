#include "spock/pg/row_filter.hpp"

#include "spock/pg/guard.hpp"

extern "C" {
#include <access/table.h>
#include <lib/stringinfo.h>
#include <nodes/nodeFuncs.h>
#include <parser/parse_coerce.h>
#include <parser/parse_collate.h>
#include <parser/parse_expr.h>
#include <parser/parse_relation.h>
#include <parser/parser.h>
#include <utils/builtins.h>
#include <utils/lsyscache.h>
#include <utils/rel.h>
}

namespace spock::pg {
namespace {

void reject(const char* what) {
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid row filter: %s", what),
             errhint("A row filter is a boolean expression over the table's columns, "
                     "such as 'amount > 100 AND region = ''eu'''.")));
}

// Plain PostgreSQL code, run inside pg_call: it owns no C++ objects.
char* compile(Oid relid, const char* filter) {
    Relation rel = table_open(relid, AccessShareLock);
    // The expression is parsed as the target of a SELECT; only that target is used, and it is
    // resolved against this table alone, so whatever else the text contains cannot widen it.
    StringInfoData sql;
    initStringInfo(&sql);
    appendStringInfo(&sql, "SELECT %s FROM %s", filter,
                     quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
                                                RelationGetRelationName(rel)));
    List* parsed = raw_parser(sql.data, RAW_PARSE_DEFAULT);
    if (list_length(parsed) != 1) {
        reject("it must be a single expression");
    }
    Node* stmt = linitial_node(RawStmt, parsed)->stmt;
    if (!IsA(stmt, SelectStmt)) {
        reject("it must be a single expression");
    }
    auto* select = reinterpret_cast<SelectStmt*>(stmt);
    if (select->op != SETOP_NONE || list_length(select->targetList) != 1 ||
        select->whereClause != nullptr || select->groupClause != NIL ||
        select->havingClause != nullptr || select->windowClause != NIL ||
        select->sortClause != NIL || select->limitCount != nullptr ||
        select->limitOffset != nullptr || select->distinctClause != NIL ||
        select->intoClause != nullptr || select->withClause != nullptr ||
        select->lockingClause != NIL || list_length(select->fromClause) != 1) {
        reject("it must be a single expression without clauses of its own");
    }
    auto* target = linitial_node(ResTarget, select->targetList);
    if (target->name != nullptr) {
        reject("it must not carry an alias");
    }

    ParseState* pstate = make_parsestate(nullptr);
    pstate->p_sourcetext = sql.data;
    ParseNamespaceItem* item =
        addRangeTableEntryForRelation(pstate, rel, AccessShareLock, nullptr, false, false);
    addNSItemToQuery(pstate, item, true, true, true);
    Node* expr = transformExpr(pstate, target->val, EXPR_KIND_CHECK_CONSTRAINT);
    expr = coerce_to_boolean(pstate, expr, "row_filter");
    assign_expr_collations(pstate, expr);
    if (list_length(pstate->p_rtable) != 1) {
        reject("it may refer only to the table itself");
    }
    char* out = nodeToString(expr);
    free_parsestate(pstate);
    table_close(rel, NoLock);
    return out;
}

}  // namespace

std::string compile_row_filter(Oid relid, const std::string& filter) {
    const char* text = filter.c_str();
    char* tree = pg_call([relid, text] { return compile(relid, text); });
    std::string out(tree);
    pfree(tree);
    return out;
}

}  // namespace spock::pg
