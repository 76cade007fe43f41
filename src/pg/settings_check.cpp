#include "spock/pg/settings_check.hpp"

#include "spock/pg/postgres.hpp"

extern "C" {
#include <access/commit_ts.h>
#include <access/xlog.h>
#include <lib/stringinfo.h>
}

namespace spock::pg {
namespace {

// Appends one sentence per wrong setting to `problems`; returns how many there were.
int describe_problems(StringInfo problems) {
    int count = 0;
    if (wal_level < WAL_LEVEL_LOGICAL) {
        appendStringInfoString(problems, "wal_level must be \"logical\".");
        count++;
    }
    if (!track_commit_timestamp) {
        if (count > 0) {
            appendStringInfoChar(problems, ' ');
        }
        appendStringInfoString(problems,
                               "track_commit_timestamp must be on (conflict resolution compares "
                               "commit timestamps).");
        count++;
    }
    return count;
}

constexpr const char* kHint =
    "Set wal_level = logical and track_commit_timestamp = on in postgresql.conf and restart the "
    "server.";

}  // namespace

void require_replication_settings() {
    StringInfoData problems;
    initStringInfo(&problems);
    if (describe_problems(&problems) > 0) {
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("server settings do not allow spock replication"),
                        errdetail_internal("%s", problems.data), errhint("%s", kHint)));
    }
    pfree(problems.data);
}

void warn_about_replication_settings() {
    StringInfoData problems;
    initStringInfo(&problems);
    if (describe_problems(&problems) > 0) {
        ereport(WARNING,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("spock is loaded but the server settings do not allow replication"),
                 errdetail_internal("%s", problems.data), errhint("%s", kHint)));
    }
    pfree(problems.data);
}

}  // namespace spock::pg
