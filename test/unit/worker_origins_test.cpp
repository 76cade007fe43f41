// Origins of parallel apply processes: "<origin>:w<K>" stands for the same node and belongs to
// the same subscription as <origin> (include/spock/core/origin_names.hpp).
#include "spock/core/origin_names.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace spock::core;

TEST(WorkerOrigins, NamesAndParsing) {
    EXPECT_EQ(worker_origin_name("spk_db_n1_s", 0), "spk_db_n1_s");
    EXPECT_EQ(worker_origin_name("spk_db_n1_s", 3), "spk_db_n1_s:w3");
    EXPECT_EQ(worker_origin_name("spk_db_n1_s:n42", 2), "spk_db_n1_s:n42:w2");
    EXPECT_EQ(origin_worker("spk_db_n1_s:w3"), 3u);
    EXPECT_EQ(origin_worker("spk_db_n1_s:n42:w12"), 12u);
    EXPECT_EQ(origin_worker("spk_db_n1_s"), 0u);
    EXPECT_EQ(origin_worker("spk_db_n1_s:n42"), 0u);
    for (const char* bad : {"s:w", "s:w0", "s:w01", "s:w-1", "s:w1x", "s:w99999999999", ":w1"}) {
        EXPECT_EQ(origin_worker(bad), 0u) << bad;
        EXPECT_EQ(without_worker_suffix(bad), bad) << bad;
    }
    EXPECT_EQ(without_worker_suffix("s:n5:w2"), "s:n5");
    EXPECT_EQ(without_worker_suffix("s:w2"), "s");
}

TEST(WorkerOrigins, StandForTheSameNodeAndSubscription) {
    const std::string s = "spk_db_n1_s";
    EXPECT_TRUE(is_subscription_origin(s, s + ":w1"));
    EXPECT_TRUE(is_subscription_origin(s, s + ":n5:w4"));
    EXPECT_FALSE(is_subscription_origin(s, s + "_x:w1"));
    EXPECT_FALSE(is_subscription_origin(s, s + ":w1:n5"));
    EXPECT_FALSE(is_subscription_origin(s, s + ":w0"));
    EXPECT_EQ(forwarded_origin_node(s, s + ":n5:w4"), NodeId{5});
    EXPECT_EQ(forwarded_origin_node(s, s + ":w4"), std::nullopt);  // the provider's own
    const std::string forwarded = s + ":n17:w2";
    auto split = split_forwarded_origin(forwarded);
    ASSERT_TRUE(split.has_value());
    EXPECT_EQ(split->first, s);
    EXPECT_EQ(split->second, NodeId{17});
    // Every process of a subscription has a name of its own for every node.
    EXPECT_NE(worker_origin_name(origin_name(s, 7, 0), 1),
              worker_origin_name(origin_name(s, 7, 0), 2));
    EXPECT_NE(worker_origin_name(origin_name(s, 7, 5), 1),
              worker_origin_name(origin_name(s, 7, 0), 1));
}

}  // namespace
