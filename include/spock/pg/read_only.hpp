// spock.readonly (reference §10.1, docs/configuration.md "Read-only mode"): an ExecutorStart
// hook refuses plans that write to a permanent relation, and a ProcessUtility hook refuses
// utility statements that change anything, in sessions. Spock's own workers are not refused by
// the hooks: under `all` the apply worker waits before each remote transaction and the manager
// skips its sequence sync (read_only_allows() decides both).
#pragma once

#include "spock/core/read_only.hpp"

namespace spock::pg {

// Installs the two hooks (chained to any previous ones). Called once from _PG_init.
void install_read_only_hooks();

// Which writer this process is; sessions are the default. Spock workers set it at attach.
void set_process_writer(core::Writer who) noexcept;

// The current value of spock.readonly.
core::ReadOnlyMode read_only_mode() noexcept;

}  // namespace spock::pg
