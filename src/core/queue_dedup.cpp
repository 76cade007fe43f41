// Queue messages that reach a node twice. See queue_dedup.hpp.
#include "spock/core/queue_dedup.hpp"

namespace spock::core {

const char* queue_message_kind(char type) noexcept {
    switch (type) {
        case 'Q':
        case 'D':
            return "DDL statement";
        case 'S':
            return "sequence value";
        case 'A':
            return "table copy request";
        default:
            return "message";
    }
}

std::string repeated_queue_message_line(char type, std::uint32_t origin_node,
                                        std::string_view queued_at) {
    std::string line = "spock.queue ";
    line += queue_message_kind(type);
    line += " queued at ";
    line += queued_at;
    line += " on node ";
    line += std::to_string(origin_node);
    line += " was applied here already; this copy is skipped";
    return line;
}

}  // namespace spock::core
