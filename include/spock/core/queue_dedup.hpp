// Queue messages that reach a node twice (docs/ddl.md, "In a mesh that forwards all origins").
// With forward_origins '{all}' in a mesh, a spock.queue row queued on n1 reaches n3 from n1 and
// again from n2, which applied it and forwards it. The row's identity is what the origin
// queued: queued_at (the queuing transaction's start, to the microsecond), role,
// message_type, replication_sets and message; the copy applied first leaves that row in the
// local spock.queue, so a second copy finds it there and is skipped: each DDL statement,
// sequence value and table copy request acts once per node.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace spock::core {

// What a message_type is, for log lines: "DDL statement", "sequence value", ...
const char* queue_message_kind(char type) noexcept;

// The LOG line for a copy that is skipped because the message was applied here already.
std::string repeated_queue_message_line(char type, std::uint32_t origin_node,
                                        std::string_view queued_at);

}  // namespace spock::core
