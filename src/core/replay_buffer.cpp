#include "spock/core/replay_buffer.hpp"

#include "spock/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace spock::core {

namespace {

constexpr std::size_t kFirstChunk = 64 * 1024;
constexpr std::size_t kMaxChunk = 8 * 1024 * 1024;
constexpr std::size_t kRetainBytes = 256 * 1024;      // arena + index kept by clear()
constexpr std::size_t kRetainIndexBytes = 16 * 1024;  // of which index at most
constexpr std::size_t kFirstIndexEntries = 64;
constexpr std::size_t kWriteBuffer = 256 * 1024;
constexpr std::size_t kReadBuffer = 256 * 1024;

constexpr char kMagic[8] = {'S', 'P', 'K', 'R', 'P', 'L', 'Y', '\0'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeaderSize = 16;
constexpr std::size_t kRecordHeader = 8;
constexpr std::string_view kSuffix = ".spill";

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
[[noreturn]] void throw_io(const std::string& what, const std::string& path, int err) {
    std::string_view state =
        (err == ENOSPC || err == EDQUOT) ? sqlstate::kDiskFull : sqlstate::kIoError;
    throw Error(state, fmt::format("could not {} the replay spill file", what),
                fmt::format("File \"{}\": {}.", path, std::strerror(err)),
                err == ENOSPC || err == EDQUOT
                    ? "Free disk space, or raise the memory budget of the apply worker."
                    : std::string());
}

bool is_spill_name(std::string_view name, std::string_view stem) {
    // "<stem>_<digits>.spill"
    if (name.size() <= stem.size() + 1 + kSuffix.size() || !name.starts_with(stem) ||
        name[stem.size()] != '_' || !name.ends_with(kSuffix)) {
        return false;
    }
    std::string_view digits =
        name.substr(stem.size() + 1, name.size() - stem.size() - 1 - kSuffix.size());
    return !digits.empty() &&
           std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::atomic<std::uint64_t> g_file_counter{0};

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
        throw_io("read", path_, errno);
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
    throw Error(sqlstate::kDataCorrupted, "replay spill file is corrupt",
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
            throw_io("read", path_, errno);
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
// ReplayBuffer

ReplayBuffer::ReplayBuffer(std::string spill_dir, std::string stem)
    : dir_(std::move(spill_dir)), stem_(std::move(stem)), next_chunk_size_(kFirstChunk) {
    if (stem_.empty() || stem_.find('/') != std::string::npos ||
        stem_.find('\0') != std::string::npos) {
        throw Error(sqlstate::kInvalidParameterValue,
                    fmt::format("invalid replay spill file stem \"{}\"", stem_),
                    "The stem must be non-empty and must not contain \"/\".");
    }
    if (dir_.empty()) {
        throw Error(sqlstate::kInvalidParameterValue, "the replay spill directory is empty");
    }
}

ReplayBuffer::~ReplayBuffer() {
    clear();
}

void ReplayBuffer::set_memory_limit(std::size_t bytes) noexcept {
    if (bytes == limit_) {
        return;  // the apply worker sets it at every BEGIN
    }
    limit_ = bytes;
    if (count() == 0 && fd_ < 0 && !broken_) {
        clear();  // trims what is retained to the new limit (a failed append is not forgotten)
    } else if (memory_bytes() > limit_) {
        spilling_ = true;
        cur_free_ = 0;
    }
}

void ReplayBuffer::clear() noexcept {
    if (fd_ >= 0) {
        ::unlink(path_.c_str());
        ::close(fd_);
        fd_ = -1;
        path_.clear();  // keeps its capacity: no allocation
        wbuf_.reset();
    }
    wbuf_used_ = 0;
    written_ = 0;
    broken_ = false;
    spill_size_ = 0;
    spill_records_ = 0;
    spilling_ = false;
    total_bytes_ = 0;
    idx_size_ = 0;

    // What is retained must fit in min(kRetainBytes, limit): the index first (it is needed by
    // every transaction), then chunks from the front.
    std::size_t budget = std::min(kRetainBytes, limit_);
    const std::size_t idx_bytes = idx_cap_ * sizeof(Entry);
    if (idx_bytes > std::min(kRetainIndexBytes, budget)) {
        idx_.reset();
        idx_cap_ = 0;
    } else {
        budget -= idx_bytes;
    }
    if (chunk_bytes_ > budget) {
        std::size_t keep = 0, kept_bytes = 0;
        while (keep < chunks_.size() && kept_bytes + chunks_[keep].cap <= budget) {
            kept_bytes += chunks_[keep++].cap;
        }
        chunks_.resize(keep);  // frees the rest
        chunk_bytes_ = kept_bytes;
        next_chunk_size_ = kFirstChunk;
        for (const Chunk& c : chunks_) {
            next_chunk_size_ = std::max(next_chunk_size_, std::min(c.cap * 2, kMaxChunk));
        }
    }
    if (chunks_.empty()) {
        cur_chunk_ = 0;
        cur_ = nullptr;
        cur_free_ = 0;
    } else {
        cur_chunk_ = 0;
        cur_ = chunks_[0].data.get();
        cur_free_ = chunks_[0].cap;
    }
}

void ReplayBuffer::check_usable() const {
    if (broken_) {
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "the replay buffer is unusable after a failed append",
                    path_.empty() ? std::string() : fmt::format("Spill file \"{}\".", path_),
                    "The transaction record is incomplete; it must be cleared.");
    }
}

void ReplayBuffer::append_slow(std::string_view payload) {
    check_usable();
    try {
        if (payload.size() > std::numeric_limits<std::uint32_t>::max()) {
            throw Error(sqlstate::kProgramLimitExceeded,
                        fmt::format("replicated message of {} bytes is too large to be kept for "
                                    "replay",
                                    payload.size()));
        }
        if (!spilling_ && append_to_memory(payload)) {
            return;
        }
        spilling_ = true;
        cur_free_ = 0;  // keeps append()'s fast path away from memory until clear()
        spill(payload);
    } catch (...) {
        // The message is not recorded: a record with a hole must never be replayed.
        broken_ = true;
        cur_free_ = 0;
        throw;
    }
}

bool ReplayBuffer::append_to_memory(std::string_view payload) {
    const std::size_t size = payload.size();
    std::size_t used = memory_bytes();
    std::size_t avail = limit_ > used ? limit_ - used : 0;

    // index slot: double the index, or grow it to whatever the budget allows
    std::size_t new_idx_cap = idx_cap_;
    if (idx_size_ == idx_cap_) {
        std::size_t want = std::max(kFirstIndexEntries, idx_cap_ * 2) - idx_cap_;
        std::size_t fit = avail / sizeof(Entry);
        if (fit == 0) {
            return false;
        }
        new_idx_cap = idx_cap_ + std::min(want, fit);
        avail -= (new_idx_cap - idx_cap_) * sizeof(Entry);
    }

    // room for the payload: the rest of the current chunk, the next retained chunk, or a new one
    bool next_retained = false;
    std::size_t new_chunk = 0;
    if (size > cur_free_) {
        // cur_ is null exactly when there is no chunk at all
        std::size_t nxt = cur_ == nullptr ? 0 : cur_chunk_ + 1;
        if (nxt < chunks_.size() && chunks_[nxt].cap >= size) {
            next_retained = true;
        } else {
            if (size > avail) {
                return false;
            }
            new_chunk = std::min(std::max(next_chunk_size_, size), avail);  // >= size >= 1
        }
    }

    // allocate first, commit after: a bad_alloc leaves the buffer as it was
    std::unique_ptr<Entry[]> grown;
    if (new_idx_cap != idx_cap_) {
        grown.reset(new Entry[new_idx_cap]);
    }
    std::unique_ptr<char[]> chunk;
    if (new_chunk != 0) {
        chunk.reset(new char[new_chunk]);
        if (chunks_.capacity() == chunks_.size()) {
            chunks_.reserve(std::max<std::size_t>(4, chunks_.size() * 2));
        }
    }

    if (grown) {
        if (idx_size_ > 0) {
            std::memcpy(grown.get(), idx_.get(), idx_size_ * sizeof(Entry));
        }
        idx_ = std::move(grown);
        idx_cap_ = new_idx_cap;
    }
    if (next_retained) {
        cur_chunk_ = cur_ == nullptr ? 0 : cur_chunk_ + 1;
        cur_ = chunks_[cur_chunk_].data.get();
        cur_free_ = chunks_[cur_chunk_].cap;
    } else if (chunk) {
        std::size_t at = cur_ == nullptr ? 0 : cur_chunk_ + 1;
        chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(at),
                       Chunk{std::move(chunk), new_chunk});
        chunk_bytes_ += new_chunk;
        if (new_chunk >= next_chunk_size_) {
            next_chunk_size_ = std::min(next_chunk_size_ * 2, kMaxChunk);
        }
        cur_chunk_ = at;
        cur_ = chunks_[at].data.get();
        cur_free_ = new_chunk;
    }

    if (size > 0) {
        std::memcpy(cur_, payload.data(), size);
    }
    idx_[idx_size_++] = Entry{cur_, size};
    cur_ += size;
    cur_free_ -= size;
    total_bytes_ += size;
    return true;
}

void ReplayBuffer::open_spill_file() {
    std::string path;
    int fd = -1;
    for (int attempt = 0; attempt < 1000; ++attempt) {
        path = fmt::format("{}/{}_{}{}", dir_, stem_, g_file_counter.fetch_add(1), kSuffix);
        fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST) {
            break;
        }
    }
    if (fd < 0) {
        throw_io("create", path, errno);
    }
    try {
        wbuf_.reset(new char[kWriteBuffer]);
    } catch (...) {
        ::unlink(path.c_str());
        ::close(fd);
        throw;
    }
    fd_ = fd;
    path_ = std::move(path);
    std::memcpy(wbuf_.get(), kMagic, sizeof kMagic);
    put_le32(wbuf_.get() + 8, kVersion);
    put_le32(wbuf_.get() + 12, 0);
    wbuf_used_ = kHeaderSize;
    written_ = 0;
    spill_size_ = kHeaderSize;
}

void ReplayBuffer::write_all(const char* p, std::size_t n) const {
    while (n > 0) {
        ssize_t r = ::pwrite(fd_, p, n, static_cast<off_t>(written_));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            broken_ = true;
            throw_io("write", path_, r < 0 ? errno : EIO);
        }
        p += r;
        n -= static_cast<std::size_t>(r);
        written_ += static_cast<std::uint64_t>(r);
    }
}

void ReplayBuffer::flush() const {
    if (fd_ >= 0 && wbuf_used_ > 0) {
        write_all(wbuf_.get(), wbuf_used_);
        wbuf_used_ = 0;
    }
}

void ReplayBuffer::spill(std::string_view payload) {
    if (fd_ < 0) {
        open_spill_file();
    }
    const auto len = static_cast<std::uint32_t>(payload.size());
    if (kWriteBuffer - wbuf_used_ < kRecordHeader) {
        flush();
    }
    put_le32(wbuf_.get() + wbuf_used_, len);
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
    spill_size_ += kRecordHeader + payload.size();
    ++spill_records_;
    total_bytes_ += payload.size();
}

ReplayBuffer::Reader ReplayBuffer::reader() const {
    check_usable();
    flush();
    return Reader(this);
}

ReplayBuffer::Reader::Reader(const ReplayBuffer* buf)
    : buf_(buf),
      mem_count_(buf->idx_size_),
      spill_size_(buf->spill_size_),
      spill_records_(buf->spill_records_) {}

bool ReplayBuffer::Reader::next(std::string_view& out) {
    if (mem_pos_ < mem_count_) {
        const Entry& e = buf_->idx_[mem_pos_++];
        out = std::string_view(e.data, e.size);
        return true;
    }
    if (spill_records_ == 0) {
        return false;
    }
    if (!spill_) {
        spill_ = std::make_unique<SpillReader>(buf_->fd_, buf_->path_, spill_size_, spill_records_);
    }
    return spill_->next(out);
}

void ReplayBuffer::remove_stale(const std::string& spill_dir, const std::string& stem) {
    DIR* d = ::opendir(spill_dir.c_str());
    if (d == nullptr) {
        int err = errno;
        throw Error(sqlstate::kIoError, "could not open the replay spill directory",
                    fmt::format("Directory \"{}\": {}.", spill_dir, std::strerror(err)));
    }
    int failed_errno = 0;
    std::string failed;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
        std::string_view name(e->d_name);
        if (is_spill_name(name, stem)) {
            if (::unlinkat(::dirfd(d), e->d_name, 0) != 0 && errno != ENOENT && failed_errno == 0) {
                failed_errno = errno;
                failed = fmt::format("{}/{}", spill_dir, name);
            }
        }
        errno = 0;
    }
    int read_errno = errno;
    ::closedir(d);
    if (read_errno != 0) {
        throw Error(sqlstate::kIoError, "could not read the replay spill directory",
                    fmt::format("Directory \"{}\": {}.", spill_dir, std::strerror(read_errno)));
    }
    if (failed_errno != 0) {
        throw_io("remove", failed, failed_errno);
    }
}

}  // namespace spock::core
