// The spool of a streamed transaction; see stream_spool.hpp.
#include "spock/core/stream_spool.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "spock/core/error.hpp"

namespace spock::core {

namespace {

constexpr std::size_t kWriteBuffer = 256 * 1024;
constexpr std::size_t kHeaderSize = 16;
constexpr std::size_t kRecordHeader = 8;
// The replay buffer's spill file header (replay_buffer.cpp), so SpillReader reads the spool.
constexpr char kMagic[8] = {'S', 'P', 'K', 'R', 'P', 'L', 'Y', '\0'};
constexpr std::uint32_t kVersion = 1;

void put_le32(char* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
}

[[noreturn]] void throw_io(const std::string& what, const std::string& path, int err) {
    const bool full = err == ENOSPC || err == EDQUOT;
    throw Error(full ? sqlstate::kDiskFull : sqlstate::kIoError,
                fmt::format("could not {} the spool file of a streamed transaction", what),
                fmt::format("File \"{}\": {}.", path, std::strerror(err)),
                full ? "Free disk space under the spill directory, or set "
                       "spock.stream_in_progress = off."
                     : std::string());
}

}  // namespace

// ----- SubxactMarks ---------------------------------------------------------------------------

void SubxactMarks::note(TransactionId subxid, Position pos) {
    for (const auto& m : marks_) {
        if (m.first == subxid) {
            return;
        }
    }
    marks_.emplace_back(subxid, pos);
}

std::optional<SubxactMarks::Position> SubxactMarks::abort(TransactionId subxid) {
    auto it = std::find_if(marks_.begin(), marks_.end(),
                           [subxid](const auto& m) { return m.first == subxid; });
    if (it == marks_.end()) {
        return std::nullopt;
    }
    Position cut = it->second;
    // Marks are in position order: everything from this one on is cut away.
    std::erase_if(marks_, [&cut](const auto& m) { return m.second.bytes >= cut.bytes; });
    return cut;
}

// ----- StreamSpool ----------------------------------------------------------------------------

StreamSpool::StreamSpool(std::string dir, std::string stem, TransactionId xid)
    : dir_(std::move(dir)), stem_(std::move(stem)), xid_(xid), current_(xid) {}

StreamSpool::~StreamSpool() {
    if (fd_ >= 0) {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
}

std::string StreamSpool::file_name(std::string_view stem, TransactionId xid) {
    return fmt::format("{}_{}.spill", stem, xid);
}

void StreamSpool::check_usable() const {
    if (broken_) {
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    fmt::format("the spool of streamed transaction {} is incomplete", xid_),
                    "An earlier write to it failed.");
    }
}

void StreamSpool::open_file() {
    std::string path = fmt::format("{}/{}", dir_, file_name(stem_, xid_));
    // A file of the same name is a leftover of this worker's earlier life (removed at start)
    // or of a stream the provider started again: either way nothing in it counts.
    ::unlink(path.c_str());
    int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
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
    size_ = kHeaderSize;
}

void StreamSpool::write_all(const char* p, std::size_t n) {
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

void StreamSpool::flush() {
    if (fd_ >= 0 && wbuf_used_ > 0) {
        write_all(wbuf_.get(), wbuf_used_);
        wbuf_used_ = 0;
    }
}

void StreamSpool::set_subxact(TransactionId subxid) {
    current_ = subxid;
}

void StreamSpool::append(std::string_view payload) {
    check_usable();
    if (payload.size() > 0xFFFFFFFFu - 1) {
        broken_ = true;
        throw Error("54000", "a streamed message is too large to spool",
                    fmt::format("The message has {} bytes.", payload.size()));
    }
    if (fd_ < 0) {
        open_file();
    }
    if (current_ != xid_) {
        marks_.note(current_, SubxactMarks::Position{size_, records_});
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
        write_all(payload.data(), payload.size());
    }
    size_ += kRecordHeader + payload.size();
    ++records_;
}

bool StreamSpool::abort_subxact(TransactionId subxid) {
    check_usable();
    std::optional<SubxactMarks::Position> cut = marks_.abort(subxid);
    if (!cut) {
        return false;
    }
    flush();
    if (::ftruncate(fd_, static_cast<off_t>(cut->bytes)) != 0) {
        broken_ = true;
        throw_io("truncate", path_, errno);
    }
    written_ = cut->bytes;
    size_ = cut->bytes;
    records_ = cut->records;
    return true;
}

std::unique_ptr<SpillReader> StreamSpool::reader() {
    check_usable();
    if (fd_ < 0) {
        return nullptr;  // nothing was spooled
    }
    flush();
    return std::make_unique<SpillReader>(fd_, path_, size_, records_);
}

}  // namespace spock::core
