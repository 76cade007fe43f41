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
constexpr std::string_view kSuffix = ".spill";

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
    if (count() == 0 && !file_.is_open() && !broken_) {
        clear();  // trims what is retained to the new limit (a failed append is not forgotten)
    } else if (memory_bytes() > limit_) {
        spilling_ = true;
        cur_free_ = 0;
    }
}

void ReplayBuffer::clear() noexcept {
    file_.close_and_unlink();
    broken_ = false;
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
        throw Error(
            sqlstate::kObjectNotInPrerequisiteState,
            "the replay buffer is unusable after a failed append",
            file_.path().empty() ? std::string() : fmt::format("Spill file \"{}\".", file_.path()),
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

void ReplayBuffer::spill(std::string_view payload) {
    if (!file_.is_open()) {
        std::string path;
        bool made = false;
        for (int attempt = 0; attempt < 1000 && !made; ++attempt) {
            path = fmt::format("{}/{}_{}{}", dir_, stem_, g_file_counter.fetch_add(1), kSuffix);
            made = file_.create(path);
        }
        if (!made) {
            throw Error(sqlstate::kIoError, "could not create the replay spill file",
                        fmt::format("File \"{}\" and 999 before it exist already.", path));
        }
    }
    file_.append(payload);
    total_bytes_ += payload.size();
}

ReplayBuffer::Reader ReplayBuffer::reader() const {
    check_usable();
    file_.flush();
    return Reader(this);
}

ReplayBuffer::Reader::Reader(const ReplayBuffer* buf)
    : buf_(buf),
      mem_count_(buf->idx_size_),
      spill_size_(buf->file_.size()),
      spill_records_(buf->file_.records()) {}

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
        spill_ = std::make_unique<SpillReader>(buf_->file_.fd(), buf_->file_.path(), spill_size_,
                                               spill_records_);
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
        throw Error(sqlstate::kIoError, "could not remove a stale replay spill file",
                    fmt::format("File \"{}\": {}.", failed, std::strerror(failed_errno)));
    }
}

}  // namespace spock::core
