// The spool of a streamed transaction: subtransaction marks, the file, cuts at a
// subtransaction abort, reading back, and removal.
#include "spock/core/stream_spool.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "spock/core/error.hpp"
#include "spock/core/replay_buffer.hpp"

namespace spock::core {
namespace {

using Pos = SubxactMarks::Position;

TEST(SubxactMarks, FirstNoteCountsAndAbortCutsFromThere) {
    SubxactMarks m;
    m.note(501, Pos{100, 2});
    m.note(501, Pos{200, 4});  // later changes of 501: its start stays at 100
    m.note(502, Pos{300, 6});
    m.note(503, Pos{400, 8});
    EXPECT_EQ(m.size(), 3U);
    // 502 aborts: it and 503, which started after it, are cut; 501 stays.
    auto cut = m.abort(502);
    ASSERT_TRUE(cut.has_value());
    EXPECT_EQ(*cut, (Pos{300, 6}));
    EXPECT_EQ(m.size(), 1U);
    EXPECT_FALSE(m.abort(503).has_value());  // already cut with 502
    EXPECT_FALSE(m.abort(999).has_value());  // never sent anything
    ASSERT_TRUE(m.abort(501).has_value());
    EXPECT_EQ(m.size(), 0U);
}

TEST(SubxactMarks, ParentAbortAfterChildAbortCutsFurther) {
    // SAVEPOINT p; change; SAVEPOINT s; change; RELEASE s; change; ROLLBACK TO p: the abort
    // record lists s and p; each is reported, s first.
    SubxactMarks m;
    m.note(10, Pos{16, 0});
    m.note(11, Pos{40, 1});
    EXPECT_EQ(m.abort(11), (Pos{40, 1}));
    EXPECT_EQ(m.abort(10), (Pos{16, 0}));
}

class StreamSpoolTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/spock_stream_spool_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    static std::vector<std::string> read_all(StreamSpool& s) {
        std::vector<std::string> out;
        auto r = s.reader();
        if (!r) {
            return out;
        }
        std::string_view p;
        while (r->next(p)) {
            out.emplace_back(p);
        }
        return out;
    }

    std::size_t files() const {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) {
            ++n;
        }
        return n;
    }

    std::string dir_;
};

TEST_F(StreamSpoolTest, NothingCreatedUntilTheFirstChange) {
    StreamSpool s(dir_, "stream_sub_1", 700);
    EXPECT_TRUE(s.reader() == nullptr);
    EXPECT_EQ(files(), 0U);
    s.append("I1");
    EXPECT_EQ(files(), 1U);
    EXPECT_EQ(s.path(), dir_ + "/stream_sub_1_700.spill");
    struct stat st {};
    ASSERT_EQ(::stat(s.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);
}

TEST_F(StreamSpoolTest, ReadsBackInOrderAndRemovesItsFile) {
    std::string path;
    {
        StreamSpool s(dir_, "stream_sub_1", 700);
        std::vector<std::string> want;
        for (int i = 0; i < 20000; ++i) {
            want.push_back("change " + std::to_string(i) + std::string(i % 97, 'x'));
            s.append(want.back());
        }
        s.append(std::string(300 * 1024, 'b'));  // larger than the write buffer
        want.push_back(std::string(300 * 1024, 'b'));
        EXPECT_EQ(s.records(), want.size());
        EXPECT_EQ(read_all(s), want);
        EXPECT_EQ(read_all(s), want);  // twice
        path = s.path();
    }
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(StreamSpoolTest, SubtransactionAbortCutsItsChangesOnly) {
    StreamSpool s(dir_, "stream_sub_1", 700);
    s.append("top 1");
    s.set_subxact(701);
    s.append("sub 701 a");
    s.set_subxact(700);
    s.append("top 2");  // 701 released, then a change of the top transaction
    s.set_subxact(702);
    s.append("sub 702 a");
    s.set_subxact(703);
    s.append("sub 703 a");  // nested in 702
    s.set_subxact(702);
    s.append("sub 702 b");
    EXPECT_FALSE(s.abort_subxact(704));  // nothing of it was sent
    EXPECT_TRUE(s.abort_subxact(702));   // ROLLBACK TO 702: 702 and 703 go
    EXPECT_FALSE(s.abort_subxact(703));
    EXPECT_EQ(read_all(s), (std::vector<std::string>{"top 1", "sub 701 a", "top 2"}));
    // Appends after the cut continue at the cut.
    s.set_subxact(705);
    s.append("sub 705 a");
    s.set_subxact(700);
    s.append("top 3");
    EXPECT_EQ(read_all(s),
              (std::vector<std::string>{"top 1", "sub 701 a", "top 2", "sub 705 a", "top 3"}));
    EXPECT_EQ(s.records(), 5U);
    EXPECT_EQ(std::filesystem::file_size(s.path()), s.bytes());
}

TEST_F(StreamSpoolTest, CutOfEverythingLeavesAnEmptyTransaction) {
    StreamSpool s(dir_, "stream_sub_1", 700);
    s.set_subxact(701);
    for (int i = 0; i < 5000; ++i) {
        s.append(std::string(100, 'r'));  // spans several write buffers
    }
    EXPECT_TRUE(s.abort_subxact(701));
    EXPECT_EQ(s.records(), 0U);
    EXPECT_TRUE(read_all(s).empty());
}

TEST_F(StreamSpoolTest, StaleFilesGoWithTheReplayBufferCleanup) {
    {
        StreamSpool s(dir_, "stream_sub_1", 700);
        s.append("x");
        // A crash leaves the file: simulate by linking it elsewhere in the directory.
        ASSERT_EQ(::link(s.path().c_str(), (dir_ + "/stream_sub_1_9.spill").c_str()), 0);
    }
    StreamSpool other(dir_, "stream_sub_2", 5);
    other.append("y");
    ReplayBuffer::remove_stale(dir_, "stream_sub_1");
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/stream_sub_1_9.spill"));
    EXPECT_TRUE(std::filesystem::exists(other.path()));  // another subscription's
}

TEST_F(StreamSpoolTest, UnwritableDirectoryIsAnIoError) {
    StreamSpool s(dir_ + "/missing", "stream_sub_1", 700);
    try {
        s.append("x");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "58030");
        EXPECT_NE(std::string(e.what()).find("spool file"), std::string::npos);
    }
}

}  // namespace
}  // namespace spock::core
