// The cluster's secret key for authenticating spock's control WAL messages (repair mode).
#pragma once

#include <string_view>

namespace spock::pg {

// 32 random bytes kept in <data directory>/pg_spock/control_message.key (mode 0600), created
// on first use by whichever process needs it first (a new file linked into place, so two
// processes racing agree on one key). Read once per process. Throws core::Error when the
// file cannot be created or read, or is not a private regular file of 32 bytes. Makes
// system calls only.
std::string_view control_message_key();

}  // namespace spock::pg
