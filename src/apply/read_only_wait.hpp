// spock.readonly = all in the apply worker (docs/configuration.md, "Read-only mode"): before
// each remote transaction the worker waits while the mode is `all`, so it writes nothing and
// loses nothing; it applies again from the same place once the mode is lowered.
#pragma once

#include <functional>

namespace spock::apply {

// Returns at once unless spock.readonly is `all`. Otherwise waits, rereading the
// configuration on SIGHUP and calling `keepalive` every few seconds so that the provider keeps
// the connection; logs when it starts and stops waiting. Returns false when the worker was
// asked to shut down meanwhile.
bool wait_while_read_only(const std::function<void()>& keepalive);

}  // namespace spock::apply
