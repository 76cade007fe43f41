// Checks of server settings spock depends on.
#pragma once

namespace spock::pg {

// Raises ERROR (55000 object_not_in_prerequisite_state) naming every server setting that keeps
// spock from replicating: wal_level below logical, track_commit_timestamp off. Called before a
// node or a subscription is created.
void require_replication_settings();

// The same check, reported as a WARNING to the server log at startup.
void warn_about_replication_settings();

}  // namespace spock::pg
