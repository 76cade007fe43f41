// Log lines for queue messages that reach a node twice (docs/ddl.md).
#include <gtest/gtest.h>

#include "spock/core/queue_dedup.hpp"

using namespace spock::core;

TEST(QueueDedup, Kinds) {
    EXPECT_STREQ(queue_message_kind('Q'), "DDL statement");
    EXPECT_STREQ(queue_message_kind('D'), "DDL statement");
    EXPECT_STREQ(queue_message_kind('S'), "sequence value");
    EXPECT_STREQ(queue_message_kind('A'), "table copy request");
    EXPECT_STREQ(queue_message_kind('x'), "message");
}

TEST(QueueDedup, Line) {
    EXPECT_EQ(repeated_queue_message_line('Q', 4001, "2026-01-02 03:04:05.123456+00"),
              "spock.queue DDL statement queued at 2026-01-02 03:04:05.123456+00 on node 4001 "
              "was applied here already; this copy is skipped");
}
