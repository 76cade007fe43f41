// What the stream apply processes of the running apply workers did, for
// spock.get_stream_apply_status() (docs/functions.md). Read from each worker's segment
// (src/apply/stream_apply_shared.hpp), which the SQL function cannot see itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spock/pg/postgres.hpp"

namespace spock::apply {

struct StreamApplyStatus {
    int worker_pid;
    Oid dboid;
    Oid subid;
    int pid;  // 0 while it starts
    std::string state;
    std::uint32_t xid;          // the transaction being early-applied (0: none)
    std::uint64_t changes;      // changes applied early since the worker started
    std::uint64_t committed;    // transactions committed early
    std::uint64_t fallbacks;    // transactions applied from the spool after all
    std::string last_fallback;  // why the latest went back to the spool ("" : none)
};

// Every stream apply process of the server. Call inside a transaction.
std::vector<StreamApplyStatus> stream_apply_status();

}  // namespace spock::apply
