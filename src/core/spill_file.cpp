// The spill file format; see spill_file.hpp.
#include "spock/core/spill_file.hpp"

#include "spock/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace spock::core {

namespace {

constexpr std::size_t kWriteBuffer = 256 * 1024;
constexpr std::size_t kReadBuffer = 256 * 1024;

constexpr char kMagic[8] = {'S', 'P', 'K', 'R', 'P', 'L', 'Y', '\0'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeaderSize = 16;
constexpr std::size_t kRecordHeader = 8;

// ---- CRC-32C, slice-by-8 over tables computed at compile time -------------------------------
constexpr std::uint32_t kCrcPoly = 0x82F63B78u;  // Castagnoli, reflected

struct CrcTables {
    std::uint32_t t[8][256];
};

constexpr CrcTables make_crc_tables() {
    CrcTables x{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1) ? (c >> 1) ^ kCrcPoly : c >> 1;
        }
        x.t[0][i] = c;
    }
    for (int k = 1; k < 8; ++k) {
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t prev = x.t[k - 1][i];
            x.t[k][i] = (prev >> 8) ^ x.t[0][prev & 0xff];
        }
    }
    return x;
}

constexpr CrcTables kCrc = make_crc_tables();

// ---- little-endian fields --------------------------------------------------------------------
inline void put_le32(char* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
}

inline std::uint32_t get_le32(const char* p) noexcept {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
    return v;
}

inline std::uint64_t get_le64(const unsigned char* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    }
    return v;
}

// ---- errors ----------------------------------------------------------------------------------
[[noreturn]] void throw_read_error(const std::string& path, int err) {
    throw Error(sqlstate::kIoError, "could not read a spill file",
                fmt::format("File \"{}\": {}.", path, std::strerror(err)));
}

[[noreturn]] void throw_write_error(std::string_view what, const std::string& noun,
                                    const std::string& full_hint, const std::string& path,
                                    int err) {
    const bool full = err == ENOSPC || err == EDQUOT;
    throw Error(full ? sqlstate::kDiskFull : sqlstate::kIoError,
                fmt::format("could not {} {}", what, noun),
                fmt::format("File \"{}\": {}.", path, std::strerror(err)),
                full ? full_hint : std::string());
}

}  // namespace

namespace detail {

std::uint32_t crc32c_portable(std::string_view bytes, std::uint32_t crc) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t n = bytes.size();
    crc = ~crc;
    while (n >= 8) {
        std::uint64_t x = get_le64(p) ^ crc;
        crc = kCrc.t[7][x & 0xff] ^ kCrc.t[6][(x >> 8) & 0xff] ^ kCrc.t[5][(x >> 16) & 0xff] ^
              kCrc.t[4][(x >> 24) & 0xff] ^ kCrc.t[3][(x >> 32) & 0xff] ^
              kCrc.t[2][(x >> 40) & 0xff] ^ kCrc.t[1][(x >> 48) & 0xff] ^ kCrc.t[0][x >> 56];
        p += 8;
        n -= 8;
    }
    while (n-- > 0) {
        crc = kCrc.t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SPOCK_CRC32C_HW 1
// The SSE 4.2 crc32 instruction computes exactly this CRC (reflected Castagnoli, no inversion).
__attribute__((target("sse4.2"))) std::uint32_t crc32c_hw(std::string_view bytes,
                                                          std::uint32_t crc) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t n = bytes.size();
    std::uint64_t c = ~crc;
    while (n >= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    auto c32 = static_cast<std::uint32_t>(c);
    while (n-- > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    }
    return ~c32;
}
#endif

bool crc32c_uses_hardware() noexcept {
#ifdef SPOCK_CRC32C_HW
    static const bool hw = __builtin_cpu_supports("sse4.2");
    return hw;
#else
    return false;
#endif
}

}  // namespace detail

std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc) noexcept {
#ifdef SPOCK_CRC32C_HW
    if (detail::crc32c_uses_hardware()) {
        return detail::crc32c_hw(bytes, crc);
    }
#endif
    return detail::crc32c_portable(bytes, crc);
}

// =============================================================================================
// SpillReader

SpillReader::SpillReader(int fd, std::string path, std::optional<std::uint64_t> expected_size,
                         std::optional<std::uint64_t> expected_records)
    : fd_(fd), path_(std::move(path)), expected_records_(expected_records) {
    struct stat st;
    if (::fstat(fd_, &st) != 0) {
        throw_read_error(path_, errno);
    }
    auto actual = static_cast<std::uint64_t>(st.st_size);
    if (expected_size) {
        if (actual < *expected_size) {
            corrupt(fmt::format("the file has {} bytes, {} were written", actual, *expected_size));
        }
        size_ = *expected_size;
    } else {
        size_ = actual;
    }
    if (size_ < kHeaderSize) {
        corrupt(fmt::format("the file has {} bytes, too few for the header", size_));
    }
    buf_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(size_, kReadBuffer)));
    fill(kHeaderSize);
    const char* h = buf_.data() + pos_;
    if (std::memcmp(h, kMagic, sizeof kMagic) != 0) {
        corrupt("bad magic number");
    }
    if (get_le32(h + 8) != kVersion || get_le32(h + 12) != 0) {
        corrupt(fmt::format("unknown format version {}", get_le32(h + 8)));
    }
    pos_ += kHeaderSize;
}

void SpillReader::corrupt(const std::string& what) const {
    throw Error(sqlstate::kDataCorrupted, "spill file is corrupt",
                fmt::format("File \"{}\": {}.", path_, what));
}

void SpillReader::fill(std::size_t need) {
    if (end_ - pos_ >= need) {
        return;
    }
    if (pos_ > 0) {
        std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
        end_ -= pos_;
        pos_ = 0;
    }
    if (buf_.size() < need) {
        buf_.resize(need);
    }
    while (end_ < need) {
        std::size_t want = static_cast<std::size_t>(
            std::min<std::uint64_t>(buf_.size() - end_, size_ - file_off_));
        if (want == 0) {
            corrupt("the file ends inside a record");  // callers check bounds; defensive
        }
        ssize_t r = ::pread(fd_, buf_.data() + end_, want, static_cast<off_t>(file_off_));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_read_error(path_, errno);
        }
        if (r == 0) {
            corrupt(
                fmt::format("the file ends at offset {}, {} bytes were written", file_off_, size_));
        }
        end_ += static_cast<std::size_t>(r);
        file_off_ += static_cast<std::uint64_t>(r);
    }
}

bool SpillReader::next(std::string_view& out) {
    const std::uint64_t at = file_off_ - (end_ - pos_);  // file offset of the next record
    if (at == size_) {
        if (expected_records_ && records_ != *expected_records_) {
            corrupt(
                fmt::format("it holds {} records, {} were written", records_, *expected_records_));
        }
        return false;
    }
    const std::uint64_t remaining = size_ - at;
    if (remaining < kRecordHeader) {
        corrupt(fmt::format("truncated record header at offset {}", at));
    }
    fill(kRecordHeader);
    const std::uint32_t len = get_le32(buf_.data() + pos_);
    const std::uint32_t sum = get_le32(buf_.data() + pos_ + 4);
    if (len > remaining - kRecordHeader) {
        corrupt(fmt::format("record at offset {} has length {}, only {} bytes follow", at, len,
                            remaining - kRecordHeader));
    }
    if (expected_records_ && records_ >= *expected_records_) {
        corrupt(fmt::format("it holds more than the {} records written", *expected_records_));
    }
    pos_ += kRecordHeader;
    fill(len);
    std::string_view payload(buf_.data() + pos_, len);
    if (crc32c(payload) != sum) {
        corrupt(fmt::format("checksum mismatch in record {} at offset {}", records_, at));
    }
    pos_ += len;
    ++records_;
    out = payload;
    return true;
}

// =============================================================================================
// SpillWriter

bool SpillWriter::create(const std::string& path) {
    int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) {
            return false;
        }
        throw_write_error("create", noun_, full_hint_, path, errno);
    }
    try {
        if (!wbuf_) {
            wbuf_.reset(new char[kWriteBuffer]);
        }
        path_ = path;
    } catch (...) {
        ::unlink(path.c_str());
        ::close(fd);
        throw;
    }
    fd_ = fd;
    std::memcpy(wbuf_.get(), kMagic, sizeof kMagic);
    put_le32(wbuf_.get() + 8, kVersion);
    put_le32(wbuf_.get() + 12, 0);
    wbuf_used_ = kHeaderSize;
    written_ = 0;
    size_ = kHeaderSize;
    records_ = 0;
    broken_ = false;
    return true;
}

void SpillWriter::close_and_unlink() noexcept {
    if (fd_ >= 0) {
        ::unlink(path_.c_str());
        ::close(fd_);
        fd_ = -1;
        path_.clear();
        wbuf_.reset();
    }
    wbuf_used_ = 0;
    written_ = 0;
    size_ = 0;
    records_ = 0;
    broken_ = false;
}

void SpillWriter::check_usable() const {
    if (broken_) {
        throw Error(sqlstate::kObjectNotInPrerequisiteState, fmt::format("{} is incomplete", noun_),
                    fmt::format("An earlier write to \"{}\" failed.", path_));
    }
}

void SpillWriter::write_all(const char* p, std::size_t n) {
    while (n > 0) {
        ssize_t r = ::pwrite(fd_, p, n, static_cast<off_t>(written_));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            broken_ = true;
            throw_write_error("write", noun_, full_hint_, path_, r < 0 ? errno : EIO);
        }
        p += r;
        n -= static_cast<std::size_t>(r);
        written_ += static_cast<std::uint64_t>(r);
    }
}

void SpillWriter::flush() {
    if (fd_ >= 0 && wbuf_used_ > 0) {
        write_all(wbuf_.get(), wbuf_used_);
        wbuf_used_ = 0;
    }
}

void SpillWriter::append(std::string_view payload) {
    check_usable();
    if (payload.size() > std::numeric_limits<std::uint32_t>::max()) {
        broken_ = true;
        throw Error(
            sqlstate::kProgramLimitExceeded,
            fmt::format("a message of {} bytes is too large for {}", payload.size(), noun_));
    }
    if (kWriteBuffer - wbuf_used_ < kRecordHeader) {
        flush();
    }
    put_le32(wbuf_.get() + wbuf_used_, static_cast<std::uint32_t>(payload.size()));
    put_le32(wbuf_.get() + wbuf_used_ + 4, crc32c(payload));
    wbuf_used_ += kRecordHeader;
    if (payload.size() <= kWriteBuffer - wbuf_used_) {
        if (!payload.empty()) {
            std::memcpy(wbuf_.get() + wbuf_used_, payload.data(), payload.size());
        }
        wbuf_used_ += payload.size();
    } else {
        flush();
        if (payload.size() < kWriteBuffer) {
            std::memcpy(wbuf_.get(), payload.data(), payload.size());
            wbuf_used_ = payload.size();
        } else {
            write_all(payload.data(), payload.size());
        }
    }
    size_ += kRecordHeader + payload.size();
    ++records_;
}

void SpillWriter::truncate(std::uint64_t bytes, std::uint64_t records) {
    check_usable();
    flush();
    if (::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) {
        broken_ = true;
        throw_write_error("truncate", noun_, full_hint_, path_, errno);
    }
    written_ = bytes;
    size_ = bytes;
    records_ = records;
}

std::unique_ptr<SpillReader> SpillWriter::reader() {
    check_usable();
    flush();
    return std::make_unique<SpillReader>(fd_, path_, size_, records_);
}

}  // namespace spock::core
