// The spill file writer shared by the replay buffer and the stream spool: creation, records read
// back, cutting back, the broken state after a failed write, removal.
#include "spock/core/spill_file.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spock/core/error.hpp"

namespace spock::core {
namespace {

class SpillWriterTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/spock_spill_writer_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    static std::vector<std::string> read_all(SpillWriter& w) {
        std::vector<std::string> out;
        auto r = w.reader();
        std::string_view p;
        while (r->next(p)) {
            out.emplace_back(p);
        }
        return out;
    }
    std::string dir_;
};

TEST_F(SpillWriterTest, WritesRecordsThatReadBackInOrder) {
    SpillWriter w("the test file", "Free some space.");
    EXPECT_FALSE(w.is_open());
    const std::string path = dir_ + "/a.spill";
    ASSERT_TRUE(w.create(path));
    EXPECT_TRUE(w.is_open());
    EXPECT_EQ(w.path(), path);
    EXPECT_EQ(w.size(), 16U);
    std::string big(300 * 1024, 'x');  // larger than the write buffer
    w.append("one");
    w.append("");
    w.append(big);
    w.append("four");
    EXPECT_EQ(w.records(), 4U);
    EXPECT_EQ(w.size(), 16U + 4 * 8 + 3 + 0 + big.size() + 4);
    EXPECT_EQ(read_all(w), (std::vector<std::string>{"one", "", big, "four"}));
    EXPECT_EQ(std::filesystem::file_size(path), w.size());
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);
}

TEST_F(SpillWriterTest, CreateRefusesAnExistingFile) {
    const std::string path = dir_ + "/b.spill";
    SpillWriter first("the test file", "");
    ASSERT_TRUE(first.create(path));
    SpillWriter second("the test file", "");
    EXPECT_FALSE(second.create(path));
    EXPECT_FALSE(second.is_open());
    try {
        SpillWriter third("the test file", "");
        third.create(dir_ + "/no/such/dir.spill");
        FAIL() << "created a file in a missing directory";
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "58030");
        EXPECT_NE(std::string(e.what()).find("could not create the test file"), std::string::npos);
    }
}

TEST_F(SpillWriterTest, TruncateCutsBackToARecordBoundary) {
    SpillWriter w("the test file", "");
    ASSERT_TRUE(w.create(dir_ + "/c.spill"));
    w.append("keep");
    const std::uint64_t bytes = w.size(), records = w.records();
    w.append("drop 1");
    w.append("drop 2");
    w.truncate(bytes, records);
    EXPECT_EQ(w.records(), 1U);
    w.append("after");
    EXPECT_EQ(read_all(w), (std::vector<std::string>{"keep", "after"}));
    EXPECT_EQ(std::filesystem::file_size(w.path()), w.size());
}

TEST_F(SpillWriterTest, CloseUnlinksAndTheDestructorToo) {
    const std::string a = dir_ + "/d.spill", b = dir_ + "/e.spill";
    {
        SpillWriter w("the test file", "");
        ASSERT_TRUE(w.create(a));
        w.append("x");
        w.close_and_unlink();
        EXPECT_FALSE(w.is_open());
        EXPECT_FALSE(std::filesystem::exists(a));
        EXPECT_EQ(w.size(), 0U);
        EXPECT_EQ(w.records(), 0U);
        ASSERT_TRUE(w.create(b));  // usable again
        w.append("y");
    }
    EXPECT_FALSE(std::filesystem::exists(b));
}

TEST_F(SpillWriterTest, AFailedWriteBreaksTheWriterUntilClosed) {
    if (!std::filesystem::exists("/dev/full")) {
        GTEST_SKIP() << "no /dev/full";
    }
    // Writing to /dev/full fails with ENOSPC: a disk-full error with the hint, then 55000.
    SpillWriter w("the test file", "Free some space.");
    ASSERT_TRUE(w.create(dir_ + "/f.spill"));
    // Swap the descriptor's file for /dev/full behind the writer's back.
    int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(full, 0);
    ASSERT_GE(::dup2(full, w.fd()), 0);
    ::close(full);
    try {
        w.append(std::string(400 * 1024, 'z'));  // larger than the buffer: written at once
        FAIL() << "the write to /dev/full succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "53100");
        EXPECT_EQ(e.hint(), "Free some space.");
    }
    EXPECT_TRUE(w.broken());
    try {
        w.append("more");
        FAIL() << "a broken writer took another record";
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "55000");
    }
    EXPECT_THROW(w.reader(), Error);
    w.close_and_unlink();
    EXPECT_FALSE(w.broken());
}

}  // namespace
}  // namespace spock::core
