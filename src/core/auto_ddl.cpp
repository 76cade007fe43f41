// See auto_ddl.hpp.
#include "spock/core/auto_ddl.hpp"

#include <cctype>

#include "spock/core/hex.hpp"
#include "spock/core/sha256.hpp"

namespace spock::core {

AutoDdlDecision decide_auto_ddl(const AutoDdlFacts& f) {
    auto ignore = [] { return AutoDdlDecision{AutoDdlAction::Ignore, {}}; };
    auto skip = [](std::string why) {
        return AutoDdlDecision{AutoDdlAction::Skip, std::move(why)};
    };

    if (!f.enabled || f.cls == StatementClass::NotDdl ||
        f.cls == StatementClass::TransactionControl) {
        return ignore();
    }
    // Never captured again: queued DDL being applied, replicate_ddl()'s own statement (it
    // queued it already), what a spock worker does, the parts of a statement replicated whole,
    // an extension's script (CREATE EXTENSION itself is replicated), repair mode.
    if (f.replicated_ddl || f.replication_process || f.context == DdlContext::Subcommand ||
        f.in_extension_script || f.repair_mode) {
        return ignore();
    }
    // Spock's SQL functions place and remove their triggers on each node by themselves.
    if (f.spock_trigger && f.context == DdlContext::Function) {
        return ignore();
    }
    if (f.context == DdlContext::Function && !f.allow_from_functions) {
        return skip(
            "It ran inside a function, procedure or DO block and spock.allow_ddl_from_functions "
            "is off.");
    }
    if (f.temporary) {
        return skip(
            "It creates, changes or drops a temporary object, which exists only in "
            "this session.");
    }
    if (f.prepared_statement) {
        return skip(
            "It is CREATE TABLE AS EXECUTE, and the prepared statement exists only in "
            "this session.");
    }
    if (f.spock_object || f.spock_trigger) {
        return skip(
            "It changes spock itself or an object in schema spock, which each node "
            "manages for itself.");
    }
    if (f.cluster_level) {
        return skip("Database, system-wide and subscription commands are not replicated.");
    }
    if (f.cls == StatementClass::NotInTransaction) {
        return skip(
            "It cannot run inside a transaction block, and replicated DDL runs inside "
            "the transaction that carries it on each subscriber.");
    }
    return AutoDdlDecision{AutoDdlAction::Queue, {}};
}

std::optional<Error> deny_ddl_error(StatementClass cls, std::string_view tag, bool deny_all_ddl,
                                    bool replicated_by_worker) {
    if (!deny_all_ddl || replicated_by_worker || cls == StatementClass::NotDdl ||
        cls == StatementClass::TransactionControl) {
        return std::nullopt;
    }
    return Error(sqlstate::kInsufficientPrivilege,
                 "cannot execute " + std::string(tag) + " while spock.deny_all_ddl is on",
                 "This node refuses schema changes (DDL) from sessions.",
                 "A superuser can allow DDL again with SET spock.deny_all_ddl = off, or for the "
                 "whole node with ALTER SYSTEM SET spock.deny_all_ddl = off and "
                 "SELECT pg_reload_conf().");
}

bool ddl_needs_search_path(std::string_view tag) {
    return tag.find("TABLESPACE") == std::string_view::npos &&
           tag.find("ROLE") == std::string_view::npos &&
           tag.find("DATABASE") == std::string_view::npos;
}

std::string statement_text(std::string_view query, int location, int length) {
    std::string_view s = query;
    if (location >= 0 && static_cast<size_t>(location) <= query.size()) {
        s = query.substr(static_cast<size_t>(location));
        if (length > 0 && static_cast<size_t>(length) < s.size()) {
            s = s.substr(0, static_cast<size_t>(length));
        }
    }
    auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (space(s.back()) || s.back() == ';')) {
        s.remove_suffix(1);
    }
    return std::string(s);
}

RepsetPlan plan_ddl_repset(const TableForSets& t) {
    RepsetPlan p;
    if ((t.relkind != 'r' && t.relkind != 'p') || t.persistence == 't' || t.is_partition) {
        return p;
    }
    if (t.persistence == 'u') {
        p.remove_from_all = t.in_any_set;
        return p;
    }
    if (t.has_identity) {
        if (!t.in_default) {
            if (t.in_default_insert_only) {
                p.remove_from.emplace_back("default_insert_only");
            }
            p.add_to = "default";
        }
        return p;
    }
    if (t.in_default) {
        p.remove_from.emplace_back("default");
    }
    if (!t.in_default_insert_only) {
        p.add_to = "default_insert_only";
    }
    return p;
}

std::string table_shape_text(std::span<const ColumnShape> cols) {
    if (cols.empty()) {
        return "(no columns)";
    }
    std::string out;
    for (const ColumnShape& c : cols) {
        if (!out.empty()) {
            out += ", ";
        }
        out += c.name;
        out += ' ';
        out += c.type;
        if (c.not_null) {
            out += " NOT NULL";
        }
    }
    return out;
}

std::string table_fingerprint(std::span<const ColumnShape> cols) {
    // Names and types are hashed with their lengths, so no two shapes share an input.
    Sha256 h;
    for (const ColumnShape& c : cols) {
        for (const std::string* part : {&c.name, &c.type}) {
            std::string len = std::to_string(part->size()) + ":";
            h.update(len);
            h.update(*part);
        }
        h.update(c.not_null ? "N" : "-");
    }
    Sha256Digest d = h.finish();
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < 8; i++) {
        out += kHex[d[i] >> 4];
        out += kHex[d[i] & 0xf];
    }
    return out;
}

namespace {

constexpr std::string_view kNoteStart = "/* spock:ddl_target ";
constexpr std::string_view kNoteEnd = " */";

bool plain_char(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 || c == ' ' || c == '_' || c == '.' || c == ',' || c == '(' ||
           c == ')' || c == '[' || c == ']' || c == '"' || c == '-';
}

std::string encode(std::string_view v) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : v) {
        if (plain_char(c)) {
            out += c;
        } else {
            unsigned char u = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 0xf];
        }
    }
    return out;
}

std::optional<std::string> decode(std::string_view v) {
    std::string out;
    for (size_t i = 0; i < v.size(); i++) {
        if (v[i] != '%') {
            if (!plain_char(v[i])) {
                return std::nullopt;
            }
            out += v[i];
            continue;
        }
        if (i + 2 >= v.size()) {
            return std::nullopt;
        }
        int hi = hex_digit_value(v[i + 1]);
        int lo = hex_digit_value(v[i + 2]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

}  // namespace

std::string ddl_target_comment(const DdlTargetNote& note) {
    std::string out(kNoteStart);
    out += "nsp=" + encode(note.nspname);
    out += ";rel=" + encode(note.relname);
    out += ";fp=" + encode(note.fingerprint);
    out += ";cols=" + encode(note.shape);
    out += kNoteEnd;
    out += ' ';
    return out;
}

std::optional<DdlTargetNote> parse_ddl_target_comment(std::string_view text) {
    if (text.substr(0, kNoteStart.size()) != kNoteStart) {
        return std::nullopt;
    }
    text.remove_prefix(kNoteStart.size());
    size_t end = text.find(kNoteEnd);
    if (end == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view body = text.substr(0, end);
    DdlTargetNote note;
    std::string* fields[] = {&note.nspname, &note.relname, &note.fingerprint, &note.shape};
    const std::string_view keys[] = {"nsp=", "rel=", "fp=", "cols="};
    for (size_t i = 0; i < 4; i++) {
        size_t semi = i < 3 ? body.find(';') : body.size();
        if (semi == std::string_view::npos) {
            return std::nullopt;
        }
        std::string_view item = body.substr(0, semi);
        if (item.substr(0, keys[i].size()) != keys[i]) {
            return std::nullopt;
        }
        std::optional<std::string> v = decode(item.substr(keys[i].size()));
        if (!v) {
            return std::nullopt;
        }
        *fields[i] = std::move(*v);
        body.remove_prefix(i < 3 ? semi + 1 : semi);
    }
    if (note.nspname.empty() || note.relname.empty() || note.fingerprint.empty()) {
        return std::nullopt;
    }
    return note;
}

}  // namespace spock::core
