// Streamed transactions on the subscriber: blocks of several transactions interleaved with
// each other and with whole transactions, subtransaction and transaction aborts, the commit
// applied as BEGIN, ORIGIN, the spooled messages and COMMIT, and stream messages out of place.
#include "spock/core/streamed_txns.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "spock/core/error.hpp"

namespace spock::core {
namespace {

Insert row(int v) {
    return Insert{16385, {{{ColumnKind::Text, std::to_string(v)}}}};
}

class StreamedTxnsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/spock_streamed_txns_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        txns_.open_directory(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // Hands one message to the set; what it applies is rendered into applied_.
    bool feed(const ProtocolMessage& msg) {
        std::string payload = encode_message(msg);
        return txns_.handle(
            payload, msg,
            [this](std::string_view p, const ProtocolMessage& m) {
                EXPECT_EQ(decode_message(p), m);  // the wire form goes with the message
                applied_.push_back(render(m));
            },
            [this] { ++ticks_; });
    }

    static std::string render(const ProtocolMessage& m) {
        if (const auto* b = std::get_if<Begin>(&m)) {
            return "B" + std::to_string(b->xid) + "@" + std::to_string(b->final_lsn.value);
        }
        if (const auto* o = std::get_if<Origin>(&m)) {
            return "O" + std::to_string(o->origin_id);
        }
        if (const auto* i = std::get_if<Insert>(&m)) {
            return "I" + i->new_tuple.columns.at(0).bytes;
        }
        if (const auto* c = std::get_if<Commit>(&m)) {
            return "C" + std::to_string(c->end_lsn.value);
        }
        if (std::holds_alternative<Relation>(m)) {
            return "R";
        }
        return "?";
    }

    static StreamCommit commit(TransactionId xid, std::uint64_t lsn) {
        return StreamCommit{xid, Lsn{lsn}, Lsn{lsn + 8}, TimestampUs{1}, Lsn{0}, 7, Lsn{lsn + 100}};
    }

    std::size_t files() const {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) {
            ++n;
        }
        return n;
    }

    void expect_protocol_error(const ProtocolMessage& msg, std::string_view needle) {
        try {
            feed(msg);
            ADD_FAILURE() << "no error; expected: " << needle;
        } catch (const Error& e) {
            EXPECT_EQ(e.sqlstate(), "08P01");
            std::string all = e.message() + " " + e.detail();
            EXPECT_NE(all.find(needle), std::string::npos) << all;
        }
    }

    std::string dir_;
    StreamedTxns txns_{"stream_sub_1"};
    std::vector<std::string> applied_;
    int ticks_ = 0;
};

TEST_F(StreamedTxnsTest, WholeTransactionsPassThrough) {
    EXPECT_FALSE(feed(Begin{Lsn{100}, TimestampUs{1}, 5}));
    EXPECT_FALSE(feed(row(1)));
    EXPECT_FALSE(feed(Commit{}));
    EXPECT_TRUE(applied_.empty());
}

TEST_F(StreamedTxnsTest, InterleavedStreamsAreAppliedAtTheirCommits) {
    EXPECT_TRUE(feed(StreamStart{1, true}));
    EXPECT_TRUE(feed(Relation{16385, "public", "t", {{"v", 25, -1, true}}}));
    EXPECT_TRUE(feed(row(10)));
    EXPECT_TRUE(feed(StreamStop{}));
    // A whole transaction between the blocks is the caller's.
    EXPECT_FALSE(feed(Begin{Lsn{150}, TimestampUs{1}, 9}));
    EXPECT_FALSE(feed(row(90)));
    EXPECT_FALSE(feed(Commit{}));
    EXPECT_TRUE(feed(StreamStart{2, true}));
    EXPECT_TRUE(feed(row(20)));
    EXPECT_TRUE(feed(StreamStop{}));
    EXPECT_TRUE(feed(StreamStart{1, false}));
    EXPECT_TRUE(feed(StreamXid{11}));
    EXPECT_TRUE(feed(row(11)));
    EXPECT_TRUE(feed(StreamStop{}));
    EXPECT_EQ(txns_.open_transactions(), 2U);
    EXPECT_EQ(files(), 2U);
    EXPECT_TRUE(applied_.empty());  // nothing before a commit

    EXPECT_TRUE(feed(commit(2, 300)));
    EXPECT_EQ(applied_, (std::vector<std::string>{"B2@300", "O7", "I20", "C308"}));
    applied_.clear();
    // ROLLBACK TO the savepoint of subtransaction 11: its changes go, the top-level's stay.
    EXPECT_TRUE(feed(StreamAbort{1, 11}));
    EXPECT_TRUE(feed(StreamStart{1, false}));
    EXPECT_TRUE(feed(row(12)));
    EXPECT_TRUE(feed(StreamStop{}));
    EXPECT_TRUE(feed(commit(1, 400)));
    EXPECT_EQ(applied_, (std::vector<std::string>{"B1@400", "O7", "R", "I10", "I12", "C408"}));
    EXPECT_EQ(txns_.open_transactions(), 0U);
    EXPECT_EQ(files(), 0U);
}

TEST_F(StreamedTxnsTest, AbortedTransactionLeavesNothing) {
    feed(StreamStart{3, true});
    feed(row(30));
    feed(StreamStop{});
    EXPECT_EQ(files(), 1U);
    EXPECT_TRUE(feed(StreamAbort{3, 3}));
    EXPECT_EQ(files(), 0U);
    EXPECT_EQ(txns_.open_transactions(), 0U);
    EXPECT_TRUE(feed(StreamAbort{3, 3}));  // again, or of one never seen: nothing to do
    EXPECT_TRUE(feed(StreamAbort{4, 41}));
    expect_protocol_error(commit(3, 500), "none of its changes arrived");
}

TEST_F(StreamedTxnsTest, FirstSegmentAgainStartsOver) {
    feed(StreamStart{5, true});
    feed(row(1));
    feed(StreamStop{});
    feed(StreamStart{5, true});  // the provider started the transaction over
    feed(row(2));
    feed(StreamStop{});
    feed(commit(5, 600));
    EXPECT_EQ(applied_, (std::vector<std::string>{"B5@600", "O7", "I2", "C608"}));
}

TEST_F(StreamedTxnsTest, ProviderHearsFromUsDuringALongApply) {
    feed(StreamStart{6, true});
    for (int i = 0; i < 5000; ++i) {
        feed(row(i));
    }
    feed(StreamStop{});
    feed(commit(6, 700));
    EXPECT_EQ(applied_.size(), 5003U);
    EXPECT_EQ(ticks_, 2);
}

TEST_F(StreamedTxnsTest, MessagesOutOfPlace) {
    expect_protocol_error(StreamStop{}, "No stream block was open");
    expect_protocol_error(StreamXid{8}, "outside a stream block");
    expect_protocol_error(StreamStart{8, false}, "not its first");
    feed(StreamStart{8, true});
    expect_protocol_error(StreamStart{9, true}, "inside the block of 8");
    expect_protocol_error(Begin{}, "BEGIN");
    expect_protocol_error(Commit{}, "COMMIT");
    expect_protocol_error(commit(8, 800), "inside the block of 8");
    expect_protocol_error(StreamAbort{8, 8}, "inside the block of 8");
    EXPECT_TRUE(feed(StreamStop{}));
}

TEST(StreamedTxnsDirectory, LeftoversAreRemovedAtStart) {
    char tmpl[] = "/tmp/spock_streamed_txns_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    std::ofstream(dir + "/stream_sub_1_77.spill") << "left by a crash";
    std::ofstream(dir + "/stream_sub_2_77.spill") << "another subscription's";
    StreamedTxns txns("stream_sub_1");
    txns.open_directory(dir);
    EXPECT_FALSE(std::filesystem::exists(dir + "/stream_sub_1_77.spill"));
    EXPECT_TRUE(std::filesystem::exists(dir + "/stream_sub_2_77.spill"));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spock::core
