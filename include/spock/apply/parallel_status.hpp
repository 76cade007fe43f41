// What the parallel apply processes of the running apply workers are doing, for
// spock.get_parallel_apply_status() (docs/functions.md). Read from each leader's segment
// (src/apply/parallel_shared.hpp), which the SQL function cannot see itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spock/pg/postgres.hpp"

namespace spock::apply {

struct ParallelProcessStatus {
    int leader_pid;
    Oid dboid;
    Oid subid;
    int process;  // 1-based, as in the origin name "<origin>:w<K>"
    int pid;      // 0 while it starts
    std::string state;
    std::uint64_t xacts;  // transactions it committed
};

// Every parallel apply process of every apply worker of the server. Call inside a
// transaction (the segments are attached under its resource owner).
std::vector<ParallelProcessStatus> parallel_apply_status();

}  // namespace spock::apply
