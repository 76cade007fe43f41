// Pure decisions of automatic DDL replication (spock.enable_ddl_replication and its companions,
// docs/ddl.md "Automatic DDL"): which statements are queued for subscribers, which are left
// out with a WARNING saying why, which are refused (spock.deny_all_ddl), the text queued, which
// replication sets a created or altered table joins (spock.include_ddl_repset), and the table
// fingerprint that lets a subscriber notice that its table had already diverged from the
// provider's (concurrent or manual DDL).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spock/core/ddl_rules.hpp"
#include "spock/core/error.hpp"

namespace spock::core {

// ----- which statements are replicated --------------------------------------------------------

// Where the statement runs, as the ProcessUtility hook sees it.
enum class DdlContext {
    TopLevel,    // typed by a client (PROCESS_UTILITY_TOPLEVEL)
    Function,    // inside a function, procedure or DO block (PROCESS_UTILITY_QUERY*)
    Subcommand,  // part of another statement (PROCESS_UTILITY_SUBCOMMAND): replicated with it
};

// What the glue found out about one statement before it runs.
struct AutoDdlFacts {
    StatementClass cls = StatementClass::NotDdl;
    DdlContext context = DdlContext::TopLevel;
    bool enabled = false;               // spock.enable_ddl_replication
    bool allow_from_functions = false;  // spock.allow_ddl_from_functions
    bool in_extension_script = false;   // CREATE / ALTER / DROP EXTENSION runs it
    bool replicated_ddl = false;        // run by replicate_ddl() or as queued DDL here
    bool replication_process = false;   // a spock worker, or under a replication origin
    bool repair_mode = false;           // spock.replication_repair_mode
    bool temporary = false;             // creates, alters or drops a temporary object
    bool spock_object = false;          // names an object of schema spock, or spock itself
    bool cluster_level = false;         // database, system, subscription commands
    bool prepared_statement = false;    // CREATE TABLE AS EXECUTE: exists in this session only
    bool spock_trigger = false;         // creates or drops spock's own trigger (the DELETE trigger
                                        // that the repset functions place)
};

enum class AutoDdlAction {
    Ignore,  // not DDL, replication off, or not this statement's job: nothing, silently
    Skip,    // DDL that is not replicated: a WARNING with the reason after it ran
    Queue,   // queued as a 'D' message after it ran
};

struct AutoDdlDecision {
    AutoDdlAction action = AutoDdlAction::Ignore;
    std::string reason;  // for Skip: why, one sentence for the WARNING's detail
};

AutoDdlDecision decide_auto_ddl(const AutoDdlFacts& f);

// The error spock.deny_all_ddl raises for a DDL statement (before it runs), or nothing. Queued
// DDL applied by a spock worker is not refused: it was allowed where it was written, and
// refusing it here would leave this node behind.
std::optional<Error> deny_ddl_error(StatementClass cls, std::string_view tag, bool deny_all_ddl,
                                    bool replicated_by_worker);

// Whether the queued text starts with "SET search_path TO ...;". Statements about objects that
// live in no schema (tablespaces, roles, databases) do not need it.
bool ddl_needs_search_path(std::string_view tag);

// The one statement `query` holds at [location, location + length) (length 0: to the end; a
// negative location: the whole string), without surrounding white space and trailing ';'.
std::string statement_text(std::string_view query, int location, int length);

// The replication set auto DDL queues its 'D' messages for.
inline constexpr std::string_view kAutoDdlSet = "ddl_sql";

// ----- spock.include_ddl_repset -----------------------------------------------------------------

struct TableForSets {
    char relkind = 'r';      // pg_class.relkind
    char persistence = 'p';  // pg_class.relpersistence
    bool is_partition = false;
    bool has_identity = false;  // primary key or replica identity index
    bool in_default = false;
    bool in_default_insert_only = false;
    bool in_any_set = false;
};

struct RepsetPlan {
    bool remove_from_all = false;
    std::vector<std::string> remove_from;
    std::optional<std::string> add_to;
    bool changes() const { return remove_from_all || !remove_from.empty() || add_to; }
};

// A table with a key belongs in `default`, one without in `default_insert_only`; unlogged
// tables in none; partitions follow their parent; sets the user chose otherwise are left alone.
RepsetPlan plan_ddl_repset(const TableForSets& t);

// ----- table fingerprints for concurrent-DDL detection ----------------------------------------

struct ColumnShape {
    std::string name;
    std::string type;  // format_type(atttypid, atttypmod)
    bool not_null = false;
};

// "id bigint NOT NULL, v text", in attnum order; "(no columns)" for none.
std::string table_shape_text(std::span<const ColumnShape> cols);

// 16 hex digits of SHA-256 over the shape text.
std::string table_fingerprint(std::span<const ColumnShape> cols);

// The table a queued statement changes, as the provider saw it before running it.
struct DdlTargetNote {
    std::string nspname;
    std::string relname;
    std::string fingerprint;
    std::string shape;
    bool operator==(const DdlTargetNote&) const = default;
};

// A leading SQL comment carrying the note:
//   /* spock:ddl_target nsp=public;rel=t;fp=0123456789abcdef;cols=id bigint NOT NULL */
// Values are percent-encoded outside [A-Za-z0-9 _.,()\[\]"-], so that no name can end the
// comment. Readers that do not know it (Spock, older spock) run the text unchanged: a comment.
std::string ddl_target_comment(const DdlTargetNote& note);

// The note at the start of `text`, if any (malformed notes are none).
std::optional<DdlTargetNote> parse_ddl_target_comment(std::string_view text);

}  // namespace spock::core
