// See ddl_rules.hpp.
#include "spock/core/ddl_rules.hpp"

#include <algorithm>

#include "spock/core/names.hpp"

namespace spock::core {
namespace {

constexpr std::string_view kActiveSqlTransaction = "25001";

std::string tag_list(std::span<const ClassifiedStatement> stmts) {
    std::string out;
    for (const ClassifiedStatement& s : stmts) {
        if (!out.empty()) {
            out += ", ";
        }
        out += s.tag;
    }
    return out;
}

}  // namespace

std::optional<Error> check_ddl_statements(std::span<const ClassifiedStatement> stmts) {
    if (stmts.empty()) {
        return Error(sqlstate::kInvalidParameterValue,
                     "spock.replicate_ddl() was given no statement to run",
                     "The command is empty or holds only comments.",
                     "Pass one DDL statement, for example 'CREATE TABLE t (id int PRIMARY KEY)'.");
    }
    if (stmts.size() > 1) {
        return Error(sqlstate::kFeatureNotSupported,
                     "spock.replicate_ddl() runs one statement per command",
                     "The command holds " + std::to_string(stmts.size()) +
                         " statements: " + tag_list(stmts) + ".",
                     "Pass the statements one by one, or as an array: "
                     "spock.replicate_ddl(ARRAY['...', '...']).");
    }
    const ClassifiedStatement& s = stmts.front();
    const std::string message = "spock.replicate_ddl() cannot execute " + s.tag + " statement";
    switch (s.cls) {
        case StatementClass::Ddl:
            return std::nullopt;
        case StatementClass::TransactionControl:
            return Error(sqlstate::kFeatureNotSupported, message,
                         "Transaction control cannot be replicated: the command runs inside the "
                         "caller's transaction here, and inside the transaction that carries it "
                         "on each subscriber.",
                         "Leave out BEGIN, COMMIT and the like; to group statements, call "
                         "spock.replicate_ddl() several times in one transaction.");
        case StatementClass::NotInTransaction:
            return Error(kActiveSqlTransaction, message,
                         s.tag +
                             " cannot run inside a transaction block, and replicated DDL "
                             "always runs in one, here and on every subscriber.",
                         "Run the statement on each node by hand; docs/ddl.md describes a safe "
                         "order.");
        case StatementClass::NotDdl:
            return Error(sqlstate::kFeatureNotSupported, message,
                         "Only schema changes (DDL) are queued by spock.replicate_ddl(); rows "
                         "replicate through replication sets.",
                         "Run the statement directly; add its table to a replication set so "
                         "that its rows replicate.");
    }
    return std::nullopt;
}

std::string queued_ddl_text(std::span<const std::string> search_path, std::string_view command) {
    std::string out = "SET search_path TO ";
    if (search_path.empty()) {
        out += "''";
    } else {
        for (size_t i = 0; i < search_path.size(); i++) {
            if (i > 0) {
                out += ", ";
            }
            out += quote_identifier(search_path[i]);
        }
    }
    out += "; ";
    out += command;
    return out;
}

MissingColumnAction missing_column_action(bool value_is_null, MissingColumnPolicy policy) {
    if (value_is_null) {
        return MissingColumnAction::IgnoreNull;
    }
    return policy == MissingColumnPolicy::Error ? MissingColumnAction::Error
                                                : MissingColumnAction::DropValueLogged;
}

ColumnDiff diff_columns(std::span<const std::string> before, std::span<const std::string> after) {
    ColumnDiff d;
    for (const std::string& a : after) {
        if (std::find(before.begin(), before.end(), a) == before.end()) {
            d.added.push_back(a);
        }
    }
    for (const std::string& b : before) {
        if (std::find(after.begin(), after.end(), b) == after.end()) {
            d.removed.push_back(b);
        }
    }
    return d;
}

std::string column_list_text(std::span<const std::string> names) {
    if (names.empty()) {
        return "(none)";
    }
    std::string out;
    for (const std::string& n : names) {
        if (!out.empty()) {
            out += ", ";
        }
        out += n;
    }
    return out;
}

}  // namespace spock::core
