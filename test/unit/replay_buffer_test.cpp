#include "spock/core/error.hpp"
#include "spock/core/replay_buffer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace spock::test {
long allocation_count() noexcept;  // alloc_count.cpp: calls of operator new so far
}

namespace spock::core {
namespace {

namespace fs = std::filesystem;

// Compares two message lists, reporting the first difference briefly (messages can be MBs).
::testing::AssertionResult same(const std::vector<std::string>& got,
                                const std::vector<std::string>& want) {
    for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
        if (got[i] != want[i]) {
            return ::testing::AssertionFailure() << "message " << i << " differs: " << got[i].size()
                                                 << " bytes, expected " << want[i].size();
        }
    }
    if (got.size() != want.size()) {
        return ::testing::AssertionFailure() << got.size() << " messages, expected " << want.size();
    }
    return ::testing::AssertionSuccess();
}

class ReplayBufferTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/spock-replay-test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ::chmod(dir_.c_str(), 0700);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::vector<std::string> files() const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(dir_)) {
            out.push_back(e.path().filename().string());
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    static std::vector<std::string> replay(const ReplayBuffer& buf) {
        std::vector<std::string> out;
        auto r = buf.reader();
        std::string_view m;
        while (r.next(m)) {
            out.emplace_back(m);
        }
        return out;
    }

    // A message whose content depends on its number, of a given size.
    static std::string message(std::size_t i, std::size_t size) {
        std::string s(size, '\0');
        for (std::size_t k = 0; k < size; ++k) {
            s[k] = static_cast<char>((i * 131 + k * 7) & 0xff);
        }
        return s;
    }

    static std::string expect_error(const ReplayBuffer& buf, std::string_view state) {
        try {
            replay(buf);
        } catch (const Error& e) {
            EXPECT_EQ(e.sqlstate(), state) << e.message() << " / " << e.detail();
            return e.detail();
        }
        ADD_FAILURE() << "no error raised";
        return {};
    }

    std::string dir_;
};

TEST(Crc32c, KnownValues) {
    EXPECT_EQ(crc32c(""), 0u);
    EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
    EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
    std::string s = "The quick brown fox jumps over the lazy dog, many times over";
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
        std::string_view v(s);
        EXPECT_EQ(crc32c(v.substr(cut), crc32c(v.substr(0, cut))), crc32c(v));
    }
}

TEST(Crc32c, HardwareAndPortableAgree) {
    std::printf("[ crc32c ] hardware: %s\n", detail::crc32c_uses_hardware() ? "yes" : "no");
    std::string s;
    for (int i = 0; i < 5000; ++i) {
        s.push_back(static_cast<char>((i * 2654435761u) >> 13));
    }
    for (std::size_t off = 0; off < 9; ++off) {
        for (std::size_t len : {0, 1, 7, 8, 9, 63, 64, 65, 1000, 4991}) {
            std::string_view v = std::string_view(s).substr(off, len);
            ASSERT_EQ(crc32c(v), detail::crc32c_portable(v, 0)) << off << " " << len;
            ASSERT_EQ(crc32c(v, 0x12345678u), detail::crc32c_portable(v, 0x12345678u));
        }
    }
    EXPECT_EQ(detail::crc32c_portable("123456789", 0), 0xE3069283u);
}

TEST_F(ReplayBufferTest, RejectsBadStem) {
    for (const char* stem : {"", "a/b"}) {
        try {
            ReplayBuffer buf(dir_, stem);
            ADD_FAILURE() << "accepted stem " << stem;
        } catch (const Error& e) {
            EXPECT_EQ(e.sqlstate(), "22023");
        }
    }
}

TEST_F(ReplayBufferTest, EmptyTransaction) {
    ReplayBuffer buf(dir_, "sub_1");
    EXPECT_EQ(buf.count(), 0u);
    EXPECT_EQ(buf.total_bytes(), 0u);
    EXPECT_FALSE(buf.spilled());
    EXPECT_TRUE(buf.spill_path().empty());
    EXPECT_TRUE(replay(buf).empty());
    buf.clear();
    EXPECT_TRUE(replay(buf).empty());
    buf.set_memory_limit(0);
    EXPECT_TRUE(replay(buf).empty());
    EXPECT_TRUE(files().empty());
}

TEST_F(ReplayBufferTest, SmallTransactionsStayInMemory) {
    ReplayBuffer buf(dir_, "sub_1");
    std::vector<std::string> msgs = {"B" + std::string(20, 'x'), "I-row-1", "U-row-2", "C"};
    for (int tx = 0; tx < 3; ++tx) {
        buf.clear();
        for (const auto& m : msgs) {
            buf.append(m);
        }
        EXPECT_EQ(buf.count(), msgs.size());
        EXPECT_EQ(buf.total_bytes(), 21u + 7 + 7 + 1);
        EXPECT_FALSE(buf.spilled());
        EXPECT_EQ(buf.spilled_bytes(), 0u);
        EXPECT_TRUE(same(replay(buf), msgs));
    }
    EXPECT_TRUE(files().empty());
    EXPECT_LE(buf.memory_bytes(), 70u * 1024);
}

TEST_F(ReplayBufferTest, SteadyStateAllocatesNothing) {
    ReplayBuffer buf(dir_, "sub_1");
    std::string row(120, 'r');
    auto tx = [&] {
        buf.clear();
        buf.append("BEGIN");
        for (int i = 0; i < 5; ++i) {
            buf.append(row);
        }
        buf.append("COMMIT");
    };
    tx();  // first transaction allocates the first chunk and the index
    long before = spock::test::allocation_count();
    for (int i = 0; i < 10000; ++i) {
        tx();
    }
    EXPECT_EQ(spock::test::allocation_count(), before);

    // after a large transaction, clear() falls back to the retained size
    buf.clear();
    for (int i = 0; i < 100000; ++i) {
        buf.append(row);
    }
    EXPECT_GT(buf.memory_bytes(), 10u * 1024 * 1024);
    tx();
    EXPECT_LE(buf.memory_bytes(), 256u * 1024);
    tx();
    before = spock::test::allocation_count();
    for (int i = 0; i < 1000; ++i) {
        tx();
    }
    EXPECT_EQ(spock::test::allocation_count(), before);
}

TEST_F(ReplayBufferTest, MemoryBoundIsRespected) {
    for (std::size_t limit :
         {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{1000},
          std::size_t{64 * 1024}, std::size_t{70000}, std::size_t{1024 * 1024}}) {
        SCOPED_TRACE(limit);
        ReplayBuffer buf(dir_, "sub_1");
        buf.set_memory_limit(limit);
        std::vector<std::string> in;
        for (std::size_t i = 0; i < 3000; ++i) {
            in.push_back(message(i, (i * 37) % 1500));
            buf.append(in.back());
            ASSERT_LE(buf.memory_bytes(), limit);
        }
        EXPECT_EQ(buf.count(), in.size());
        EXPECT_EQ(buf.spilled(), limit < 4u * 1024 * 1024);
        EXPECT_TRUE(same(replay(buf), in));
        // the next transaction starts within the limit too
        buf.clear();
        ASSERT_LE(buf.memory_bytes(), limit);
        buf.append("x");
        ASSERT_LE(buf.memory_bytes(), limit);
        EXPECT_EQ(buf.spilled(), limit < 100);  // one index entry and one byte fit in 100
    }
}

TEST_F(ReplayBufferTest, LimitZeroSpillsEverything) {
    ReplayBuffer buf(dir_, "sub_1");
    buf.set_memory_limit(0);
    buf.append("a");
    EXPECT_TRUE(buf.spilled());
    EXPECT_EQ(buf.memory_bytes(), 0u);
    EXPECT_EQ(buf.spilled_bytes(), 16u + 8 + 1);
    EXPECT_TRUE(same(replay(buf), std::vector<std::string>{"a"}));
    EXPECT_EQ(files().size(), 1u);
    EXPECT_EQ(fs::path(buf.spill_path()).parent_path(), fs::path(dir_));
    struct stat st;
    ASSERT_EQ(::stat(buf.spill_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ReplayBufferTest, SpillPreservesOrderAcrossTheBoundaryAndReplaysTwice) {
    ReplayBuffer buf(dir_, "sub_1");
    buf.set_memory_limit(100 * 1024);
    std::vector<std::string> in;
    for (std::size_t i = 0; i < 10000; ++i) {
        in.push_back(message(i, 50 + i % 13));
        buf.append(in.back());
    }
    EXPECT_TRUE(buf.spilled());
    EXPECT_GT(buf.memory_bytes(), 50u * 1024);
    EXPECT_LE(buf.memory_bytes(), 100u * 1024);
    std::uint64_t total = 0;
    for (const auto& m : in) {
        total += m.size();
    }
    EXPECT_EQ(buf.total_bytes(), total);
    EXPECT_LT(buf.spilled_bytes(), total + 8 * in.size() + 16);
    EXPECT_TRUE(same(replay(buf), in));
    EXPECT_TRUE(same(replay(buf), in));

    // a reader abandoned half-way does not disturb the next one
    {
        auto r = buf.reader();
        std::string_view m;
        for (int i = 0; i < 9000; ++i) {
            ASSERT_TRUE(r.next(m));
        }
        EXPECT_EQ(m, in[8999]);
    }
    EXPECT_TRUE(same(replay(buf), in));

    // appending after a replay (the file was flushed and read) continues the same record
    for (std::size_t i = 10000; i < 10100; ++i) {
        in.push_back(message(i, 3000));
        buf.append(in.back());
    }
    EXPECT_TRUE(same(replay(buf), in));
}

TEST_F(ReplayBufferTest, ReaderSeesOnlyWhatWasAppendedBeforeIt) {
    ReplayBuffer buf(dir_, "sub_1");
    buf.set_memory_limit(2000);
    std::vector<std::string> in;
    for (std::size_t i = 0; i < 100; ++i) {
        in.push_back(message(i, 100));
        buf.append(in.back());
    }
    auto r = buf.reader();
    buf.append("later");
    std::vector<std::string> out;
    std::string_view m;
    while (r.next(m)) {
        out.emplace_back(m);
    }
    EXPECT_EQ(out, in);
    in.push_back("later");
    EXPECT_TRUE(same(replay(buf), in));
}

TEST_F(ReplayBufferTest, ClearRemovesTheFile) {
    ReplayBuffer buf(dir_, "sub_1");
    buf.set_memory_limit(0);
    buf.append("one");
    std::string path = buf.spill_path();
    EXPECT_TRUE(fs::exists(path));
    buf.clear();
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(buf.spilled());
    EXPECT_TRUE(buf.spill_path().empty());
    EXPECT_EQ(buf.count(), 0u);
    EXPECT_EQ(buf.spilled_bytes(), 0u);
    EXPECT_EQ(buf.total_bytes(), 0u);
    EXPECT_TRUE(files().empty());
    buf.append("two");  // the next transaction spills to a new file
    EXPECT_TRUE(buf.spilled());
    EXPECT_TRUE(same(replay(buf), std::vector<std::string>{"two"}));
}

TEST_F(ReplayBufferTest, DestructorRemovesTheFile) {
    std::string path;
    {
        ReplayBuffer buf(dir_, "sub_1");
        buf.set_memory_limit(10);
        for (int i = 0; i < 1000; ++i) {
            buf.append(message(i, 500));
        }
        path = buf.spill_path();
        EXPECT_TRUE(fs::exists(path));
    }
    EXPECT_FALSE(fs::exists(path));
    EXPECT_TRUE(files().empty());
}

TEST_F(ReplayBufferTest, TwoBuffersWithTheSameStemUseDifferentFiles) {
    ReplayBuffer a(dir_, "sub_1"), b(dir_, "sub_1");
    a.set_memory_limit(0);
    b.set_memory_limit(0);
    a.append("a");
    b.append("b");
    EXPECT_NE(a.spill_path(), b.spill_path());
    EXPECT_TRUE(same(replay(a), std::vector<std::string>{"a"}));
    EXPECT_TRUE(same(replay(b), std::vector<std::string>{"b"}));
}

TEST_F(ReplayBufferTest, RemoveStaleRemovesOnlyThisStemsSpillFiles) {
    for (const char* name :
         {"sub_1_0.spill", "sub_1_17.spill", "sub_12_3.spill", "sub_1_x.spill", "sub_1.spill",
          "sub_1_.spill", "other_1.spill", "sub_1_5.spill.bak", "xsub_1_5.spill"}) {
        std::ofstream(fs::path(dir_) / name) << "junk";
    }
    ReplayBuffer::remove_stale(dir_, "sub_1");
    EXPECT_EQ(files(), (std::vector<std::string>{"other_1.spill", "sub_1.spill", "sub_12_3.spill",
                                                 "sub_1_.spill", "sub_1_5.spill.bak",
                                                 "sub_1_x.spill", "xsub_1_5.spill"}));
    // a leftover of a real buffer is found
    {
        ReplayBuffer buf(dir_, "sub_12");
        buf.set_memory_limit(0);
        buf.append("x");
        ReplayBuffer::remove_stale(dir_, "sub_12");
        EXPECT_FALSE(fs::exists(buf.spill_path()));
    }
    try {
        ReplayBuffer::remove_stale(dir_ + "/missing", "sub_1");
        ADD_FAILURE() << "no error for a missing directory";
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "58030");
        EXPECT_NE(e.detail().find("missing"), std::string::npos);
    }
}

TEST_F(ReplayBufferTest, LimitChangesBetweenTransactions) {
    ReplayBuffer buf(dir_, "sub_1");
    buf.set_memory_limit(8 * 1024 * 1024);
    for (int i = 0; i < 20000; ++i) {
        buf.append(message(i, 200));
    }
    EXPECT_FALSE(buf.spilled());
    EXPECT_GT(buf.memory_bytes(), 4u * 1024 * 1024);

    // lowered mid-transaction: later messages spill, memory is released at clear()
    buf.set_memory_limit(10 * 1024);
    buf.append("after");
    EXPECT_TRUE(buf.spilled());
    buf.clear();
    EXPECT_LE(buf.memory_bytes(), 10u * 1024);
    std::vector<std::string> in;
    for (int i = 0; i < 1000; ++i) {
        in.push_back(message(i, 100));
        buf.append(in.back());
        ASSERT_LE(buf.memory_bytes(), 10u * 1024);
    }
    EXPECT_TRUE(buf.spilled());
    EXPECT_TRUE(same(replay(buf), in));

    // raised: the same transaction fits in memory
    buf.clear();
    buf.set_memory_limit(1024 * 1024);
    for (const auto& m : in) {
        buf.append(m);
    }
    EXPECT_FALSE(buf.spilled());
    EXPECT_TRUE(same(replay(buf), in));
}

TEST_F(ReplayBufferTest, HugeMessages) {
    ReplayBuffer buf(dir_, "sub_1");
    buf.set_memory_limit(1024 * 1024);
    std::vector<std::string> in = {"small",
                                   message(1, 3 * 1024 * 1024),
                                   "after",
                                   message(2, 100 * 1024),
                                   message(3, 300 * 1024),
                                   ""};
    for (const auto& m : in) {
        buf.append(m);
    }
    EXPECT_TRUE(buf.spilled());
    EXPECT_TRUE(same(replay(buf), in));
    EXPECT_TRUE(same(replay(buf), in));

    // within the limit a message larger than a chunk stays in memory
    buf.clear();
    buf.set_memory_limit(64 * 1024 * 1024);
    in = {"a", message(4, 20 * 1024 * 1024), "b"};
    for (const auto& m : in) {
        buf.append(m);
    }
    EXPECT_FALSE(buf.spilled());
    EXPECT_LE(buf.memory_bytes(), 64u * 1024 * 1024);
    EXPECT_TRUE(same(replay(buf), in));
}

TEST_F(ReplayBufferTest, MessageOf4GiBIsRefused) {
    if (sizeof(std::size_t) < 8) {
        GTEST_SKIP();
    }
    ReplayBuffer buf(dir_, "sub_1");
    char c = 0;
    try {
        // never read: the size is checked first
        buf.append(std::string_view(&c, std::size_t{1} << 32));
        ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "54000");
    }
    EXPECT_EQ(buf.count(), 0u);
    EXPECT_THROW(buf.append("x"), Error);  // the record has a hole now
    buf.clear();
    buf.append("x");
    EXPECT_TRUE(same(replay(buf), {"x"}));
}

TEST_F(ReplayBufferTest, MissingSpillDirectoryIsAnError) {
    ReplayBuffer buf(dir_ + "/missing", "sub_1");
    buf.set_memory_limit(0);
    try {
        buf.append(std::string(1000, 'x'));
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "58030");
        EXPECT_NE(e.detail().find("/missing/sub_1_"), std::string::npos) << e.detail();
    }
    try {
        buf.append("more");
        ADD_FAILURE() << "appended after a failed append";
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "55000");
    }
    EXPECT_THROW(buf.reader(), Error);
    buf.set_memory_limit(1000);  // a configuration reload does not forget the failure
    EXPECT_THROW(buf.append("more"), Error);
    buf.clear();
    buf.append("again");
    EXPECT_TRUE(same(replay(buf), {"again"}));
}

TEST_F(ReplayBufferTest, ZeroLengthPayloads) {
    for (std::size_t limit : {std::size_t{0}, std::size_t{200}, std::size_t{1} << 20}) {
        ReplayBuffer buf(dir_, "sub_1");
        buf.set_memory_limit(limit);
        std::vector<std::string> in;
        for (int i = 0; i < 50; ++i) {
            in.push_back(i % 3 == 0 ? message(i, 10) : std::string());
            buf.append(in.back());
        }
        EXPECT_EQ(buf.count(), 50u);
        EXPECT_TRUE(same(replay(buf), in));
    }
}

TEST_F(ReplayBufferTest, HundredThousandMessages) {
    for (std::size_t limit : {std::size_t{1024 * 1024}, std::size_t{64 * 1024 * 1024}}) {
        ReplayBuffer buf(dir_, "sub_1");
        buf.set_memory_limit(limit);
        std::vector<std::string> in;
        for (std::size_t i = 0; i < 100000; ++i) {
            in.push_back(message(i, i % 97));
            buf.append(in.back());
        }
        EXPECT_EQ(buf.count(), 100000u);
        EXPECT_EQ(buf.spilled(), limit == 1024 * 1024);
        EXPECT_TRUE(same(replay(buf), in));
        EXPECT_TRUE(same(replay(buf), in));
    }
}

TEST_F(ReplayBufferTest, RandomTransactionsOnOneBuffer) {
    std::mt19937 rng(12345);
    ReplayBuffer buf(dir_, "sub_1");
    const std::size_t limits[] = {0, 50, 300, 5000, 70000, 300000, 4u << 20};
    for (int tx = 0; tx < 300; ++tx) {
        if (tx % 7 == 0) {
            buf.set_memory_limit(limits[rng() % std::size(limits)]);
        }
        buf.clear();
        ASSERT_LE(buf.memory_bytes(), buf.memory_limit());
        std::vector<std::string> in;
        const std::size_t n = rng() % 4 == 0 ? rng() % 3000 : rng() % 10;
        for (std::size_t i = 0; i < n; ++i) {
            std::size_t size = rng() % 64 == 0 ? rng() % 300000 : rng() % 200;
            in.push_back(message(i + tx, size));
            buf.append(in.back());
            ASSERT_LE(buf.memory_bytes(), buf.memory_limit());
        }
        ASSERT_EQ(buf.count(), in.size());
        ASSERT_TRUE(same(replay(buf), in)) << "transaction " << tx;
        if (tx % 5 == 0) {
            ASSERT_TRUE(same(replay(buf), in)) << "transaction " << tx << ", second replay";
        }
    }
    buf.clear();
    EXPECT_TRUE(files().empty());
}

// ---- damaged spill files ---------------------------------------------------------------------

class DamagedSpillFile : public ReplayBufferTest {
  protected:
    void SetUp() override {
        ReplayBufferTest::SetUp();
        buf_ = std::make_unique<ReplayBuffer>(dir_, "sub_1");
        buf_->set_memory_limit(0);
        for (std::size_t i = 0; i < 100; ++i) {
            buf_->append(message(i, 40));
        }
        replay(*buf_);  // flushes
        ASSERT_EQ(fs::file_size(buf_->spill_path()), buf_->spilled_bytes());
        ASSERT_EQ(buf_->spilled_bytes(), 16u + 100 * 48);
    }
    void poke(std::uint64_t offset) {
        int fd = ::open(buf_->spill_path().c_str(), O_RDWR);
        ASSERT_GE(fd, 0);
        char c;
        ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(offset)), 1);
        c = static_cast<char>(c ^ 0x10);
        ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(offset)), 1);
        ::close(fd);
    }
    std::unique_ptr<ReplayBuffer> buf_;
};

TEST_F(DamagedSpillFile, TruncatedInsideARecord) {
    fs::resize_file(buf_->spill_path(), buf_->spilled_bytes() - 5);
    expect_error(*buf_, "XX001");
}

TEST_F(DamagedSpillFile, TruncatedAtARecordBoundary) {
    fs::resize_file(buf_->spill_path(), buf_->spilled_bytes() - 48);
    std::string detail = expect_error(*buf_, "XX001");
    EXPECT_NE(detail.find(buf_->spill_path()), std::string::npos);
}

TEST_F(DamagedSpillFile, TruncatedToNothing) {
    fs::resize_file(buf_->spill_path(), 0);
    expect_error(*buf_, "XX001");
}

TEST_F(DamagedSpillFile, CorruptedPayloadByte) {
    poke(16 + 50 * 48 + 8 + 17);
    expect_error(*buf_, "XX001");
}

TEST_F(DamagedSpillFile, CorruptedLength) {
    poke(16 + 20 * 48 + 1);  // length 40 becomes 4136
    expect_error(*buf_, "XX001");
    poke(16 + 20 * 48 + 1);
    poke(16 + 20 * 48);  // length 40 becomes 56: the checksum catches it
    expect_error(*buf_, "XX001");
}

TEST_F(DamagedSpillFile, CorruptedChecksumOrHeader) {
    poke(16 + 99 * 48 + 4);
    expect_error(*buf_, "XX001");
    poke(16 + 99 * 48 + 4);
    EXPECT_EQ(replay(*buf_).size(), 100u);  // repaired
    poke(0);
    expect_error(*buf_, "XX001");
    poke(0);
    poke(8);  // version
    expect_error(*buf_, "XX001");
}

TEST_F(DamagedSpillFile, StandaloneReaderAcceptsAnyLengthFile) {
    int fd = ::open(buf_->spill_path().c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    SpillReader r(fd, buf_->spill_path());
    std::string_view m;
    int n = 0;
    while (r.next(m)) {
        EXPECT_EQ(m, message(static_cast<std::size_t>(n), 40));
        ++n;
    }
    EXPECT_EQ(n, 100);
    ::close(fd);
}

TEST_F(ReplayBufferTest, WriteFailureIsAnErrorAndTheBufferRecovers) {
    // RLIMIT_FSIZE turns writes beyond 1 MiB into EFBIG (with SIGXFSZ ignored)
    struct rlimit old;
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = old;
    lim.rlim_cur = 1024 * 1024;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);

    ReplayBuffer buf(dir_, "sub_1");
    buf.set_memory_limit(0);
    bool raised = false;
    try {
        for (int i = 0; i < 1000; ++i) {
            buf.append(message(i, 10000));
        }
    } catch (const Error& e) {
        raised = true;
        EXPECT_EQ(e.sqlstate(), "58030");
        EXPECT_NE(e.detail().find(buf.spill_path()), std::string::npos) << e.detail();
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    ASSERT_TRUE(raised);
    EXPECT_THROW(buf.append("x"), Error);
    EXPECT_THROW(buf.reader(), Error);
    buf.clear();
    buf.append("x");
    EXPECT_TRUE(same(replay(buf), std::vector<std::string>{"x"}));
}

// ---- cost of append ---------------------------------------------------------------------------
// Prints figures; never fails on time.
TEST_F(ReplayBufferTest, AppendCost) {
    using Clock = std::chrono::steady_clock;
    const std::string msg(100, 'm');
    constexpr int kMessages = 1000000;
    ReplayBuffer buf(dir_, "sub_1");
    buf.set_memory_limit(512 * 1024 * 1024);

    auto t0 = Clock::now();
    for (int i = 0; i < kMessages; ++i) {
        buf.append(msg);
    }
    auto t1 = Clock::now();
    EXPECT_EQ(buf.count(), static_cast<std::size_t>(kMessages));

    // small transactions: BEGIN + 3 rows + COMMIT, clear() in between
    for (int i = 0; i < kMessages / 5; ++i) {
        buf.clear();
        for (int k = 0; k < 5; ++k) {
            buf.append(msg);
        }
    }
    auto t2 = Clock::now();

    buf.clear();
    buf.set_memory_limit(0);
    for (int i = 0; i < kMessages; ++i) {
        buf.append(msg);
    }
    auto r = buf.reader();  // includes the final flush
    auto t3 = Clock::now();
    std::string_view m;
    std::size_t n = 0;
    while (r.next(m)) {
        ++n;
    }
    auto t4 = Clock::now();
    EXPECT_EQ(n, static_cast<std::size_t>(kMessages));

    auto ns = [](Clock::duration d) {
        return static_cast<double>(
                   std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) /
               kMessages;
    };
    std::printf("[ append cost ] 1M x 100 B, one transaction in memory: %.1f ns/append\n",
                ns(t1 - t0));
    std::printf("[ append cost ] 1M x 100 B, 5-message transactions with clear(): %.1f ns/append\n",
                ns(t2 - t1));
    std::printf("[ append cost ] 1M x 100 B, all spilled: %.1f ns/append, %.1f ns/read\n",
                ns(t3 - t2), ns(t4 - t3));
}

}  // namespace
}  // namespace spock::core

namespace spock::core {
namespace {

// Seeds for test/fuzz/spill_corpus (see test/fuzz/spill_fuzz.cpp for the input format: a flag
// byte, then the file).
TEST_F(ReplayBufferTest, SpillFuzzCorpusWhenRequested) {
    const char* out = std::getenv("SPOCK_WRITE_SPILL_CORPUS");
    if (out == nullptr || *out == '\0') {
        GTEST_SKIP() << "set SPOCK_WRITE_SPILL_CORPUS=<dir> to write the seed corpus";
    }
    fs::create_directories(out);
    auto spill_file = [&](const std::vector<std::string>& msgs) {
        ReplayBuffer buf(dir_, "seed");
        buf.set_memory_limit(0);
        for (const auto& m : msgs) {
            buf.append(m);
        }
        replay(buf);  // flushes
        std::ifstream f(buf.spill_path(), std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(f), {});
    };
    auto write = [&](const std::string& name, char flags, const std::string& file) {
        std::ofstream f(fs::path(out) / (name + ".bin"), std::ios::binary | std::ios::trunc);
        f << flags << file;
        ASSERT_TRUE(f.good()) << name;
    };
    const std::vector<std::string> tx = {"B-begin-of-transaction", "I-insert-row", "",
                                         message(3, 300), "C-commit"};
    const std::string file = spill_file(tx);
    write("spill_valid", 0x04, file);
    write("spill_valid_limit_128", 0x04 | (2 << 3), file);
    write("spill_records_only", 0x01 | 0x02 | 0x04 | (31 << 3), file.substr(16));
    write("spill_header_only", 0x00, file.substr(0, 16));
    write("spill_zero_lengths", 0x06, spill_file({"", "", "x", ""}));
}

}  // namespace
}  // namespace spock::core
