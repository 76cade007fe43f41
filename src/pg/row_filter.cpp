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

constexpr const char* kSelectPrefix = "SELECT ";
// A newline, so that a "--" comment at the end of the filter ends before our FROM clause.
constexpr const char* kFromPrefix = "\nFROM ";

void reject(const char* what) {
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid row filter: %s", what),
             errhint("A row filter is a boolean expression over the table's columns, "
                     "such as 'amount > 100 AND region = ''eu'''.")));
}

// Names the table in every error raised while its filter is compiled: the parser's own
// messages speak of check constraints, whose rules a row filter follows.
void filter_error_context(void* arg) {
    errcontext("row filter of table %s", static_cast<const char*>(arg));
}

// True when the parsed SELECT is exactly "SELECT <one expression> FROM <our table>": no other
// clause, and the FROM item is the one we appended (its location lies after the filter text),
// so that text such as "true FROM other --" cannot supply a FROM clause of its own.
bool is_plain_expression(const SelectStmt* select, int from_location) {
    if (select->op != SETOP_NONE || select->whereClause != nullptr || select->groupClause != NIL ||
        select->havingClause != nullptr || select->windowClause != NIL ||
        select->sortClause != NIL || select->limitCount != nullptr ||
        select->limitOffset != nullptr || select->distinctClause != NIL ||
        select->intoClause != nullptr || select->withClause != nullptr ||
        select->lockingClause != NIL || select->valuesLists != NIL ||
        list_length(select->fromClause) != 1) {
        return false;
    }
    Node* from = static_cast<Node*>(linitial(select->fromClause));
    return IsA(from, RangeVar) && reinterpret_cast<RangeVar*>(from)->location == from_location;
}

// Plain PostgreSQL code, run inside pg_call: it owns no C++ objects.
char* compile(Oid relid, const char* filter) {
    Relation rel = table_open(relid, AccessShareLock);
    const char* qualified = quote_qualified_identifier(
        get_namespace_name(RelationGetNamespace(rel)), RelationGetRelationName(rel));

    ErrorContextCallback context;
    context.callback = filter_error_context;
    context.arg = const_cast<char*>(qualified);
    context.previous = error_context_stack;
    error_context_stack = &context;

    // The text alone first, so that a syntax error in it is reported as the user wrote it
    // rather than inside our wrapping.
    StringInfoData alone;
    initStringInfo(&alone);
    appendStringInfo(&alone, "%s%s", kSelectPrefix, filter);
    raw_parser(alone.data, RAW_PARSE_DEFAULT);

    // Then as the target of a SELECT from the table; only that target is used, resolved
    // against this table alone. Nothing is ever executed.
    StringInfoData sql;
    initStringInfo(&sql);
    appendStringInfo(&sql, "%s%s%s", kSelectPrefix, filter, kFromPrefix);
    int from_location = sql.len;
    appendStringInfoString(&sql, qualified);
    List* parsed = raw_parser(sql.data, RAW_PARSE_DEFAULT);
    if (list_length(parsed) != 1 || !IsA(linitial_node(RawStmt, parsed)->stmt, SelectStmt)) {
        reject("it must be a single expression");
    }
    auto* select = reinterpret_cast<SelectStmt*>(linitial_node(RawStmt, parsed)->stmt);
    if (select->op == SETOP_NONE && select->targetList == NIL) {
        reject("it is empty");
    }
    if (select->op == SETOP_NONE && list_length(select->targetList) > 1) {
        reject("it must be a single expression");
    }
    if (!is_plain_expression(select, from_location)) {
        reject("it must be a single expression without clauses of its own");
    }
    auto* target = linitial_node(ResTarget, select->targetList);
    if (target->name != nullptr) {
        reject("it must not carry an alias");
    }
    // "*" is only valid in a target list, which expands it before transformExpr ever sees it.
    if (IsA(target->val, ColumnRef) &&
        IsA(llast(reinterpret_cast<ColumnRef*>(target->val)->fields), A_Star)) {
        reject("it must be a single expression, not a column list");
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
    error_context_stack = context.previous;
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
