// The record of the remote transaction being applied, kept so that a failed apply can be
// replayed in the same process without asking the provider again.
//
// The apply worker calls append() with the payload of every protocol message of the remote
// transaction (BEGIN .. COMMIT), and clear() when a new transaction starts. When applying fails
// it replays the messages with reader(), as many times as it needs.
//
// Memory. Payloads are copied into a chunked arena (chunks of 64 KiB growing geometrically up to
// 8 MiB, or one chunk of exactly the message size for bigger messages) and described by a
// compact index of (pointer, length) entries, so append() allocates nothing per message.
// clear() keeps the first chunks (up to 256 KiB, never more than the limit) and a small index,
// so a worker applying small transactions allocates nothing at steady state, and it touches the
// filesystem only when the transaction spilled.
//
// The memory limit. memory_bytes() is what the buffer really holds on the heap for payloads:
// the capacities of the arena chunks plus the capacity of the index (the 256 KiB write buffer
// of a spilling transaction and the small bookkeeping vectors are not counted). The guarantee:
// memory_bytes() <= memory_limit() at all times, except after the limit is lowered during a
// transaction: then every later message of it spills, and the memory is released at the next
// clear() (between transactions, set_memory_limit() releases it at once). A message that cannot be
// held within the limit (the chunk or index growth it needs would exceed it) goes to the spill
// file, and so does every later message of the transaction, so the order is memory part first, then
// file. Limit 0: everything spills.
//
// The spill file. Created on the first spill in spill_dir as "<stem>_<n>.spill" with
// O_CREAT|O_EXCL|O_RDWR|O_CLOEXEC and mode 0600, written through a 256 KiB buffer with pwrite.
// Layout and writer: spill_file.hpp (a SpillWriter; SpillReader reads it back). The file is
// unlinked by clear(), by the destructor and by remove_stale().
//
// Errors are spock::core::Error: XX001 (data_corrupted) for a spill file that is truncated or
// fails a check (header, record length, CRC, record count); 53100 (disk_full) for ENOSPC/EDQUOT;
// 58030 (io_error) for other I/O failures, with the path in the detail; 54000 for a message longer
// than 4 GiB - 1. When append() throws (any error, bad_alloc included) the message is not recorded,
// and the buffer refuses further append() and reader() calls (Error 55000) until clear(): a record
// with a hole must never be replayed.
//
// Not thread-safe; one buffer belongs to one worker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spock/core/spill_file.hpp"

namespace spock::core {

class ReplayBuffer {
  public:
    static constexpr std::size_t kDefaultMemoryLimit = 64 * 1024 * 1024;

    // spill_dir: an existing private directory (the caller creates it 0700). stem: names this
    // worker's spill files (e.g. "sub_16384"); non-empty, no '/'. Throws Error (22023) on a bad
    // stem. Nothing is allocated or created until the first append().
    ReplayBuffer(std::string spill_dir, std::string stem);
    ~ReplayBuffer();  // closes and unlinks the spill file; never throws
    ReplayBuffer(const ReplayBuffer&) = delete;
    ReplayBuffer& operator=(const ReplayBuffer&) = delete;

    // The memory budget in bytes (default 64 MiB); may change at any time. Between transactions
    // (nothing appended since clear()) memory beyond the new limit is released at once. During
    // a transaction holding more than the new limit, every later message of it spills.
    void set_memory_limit(std::size_t bytes) noexcept;
    std::size_t memory_limit() const noexcept { return limit_; }

    // Starts a new transaction: forgets every message, closes and unlinks the spill file (only
    // if there is one), releases memory beyond the retained amount. Never throws.
    void clear() noexcept;

    // Copies one message. Throws Error on a spill file failure (53100, 58030) or a message of
    // 4 GiB or more (54000); bad_alloc when memory is short. After a throw, see above.
    void append(std::string_view payload) {
        // cur_free_ is 0 once the transaction spills, so the strict < sends every later
        // message (even an empty one) to the slow path
        if (payload.size() < cur_free_ && idx_size_ < idx_cap_) [[likely]] {
            if (!payload.empty()) {
                std::memcpy(cur_, payload.data(), payload.size());
            }
            idx_[idx_size_++] = Entry{cur_, payload.size()};
            cur_ += payload.size();
            cur_free_ -= payload.size();
            total_bytes_ += payload.size();
            return;
        }
        append_slow(payload);
    }

    std::size_t count() const noexcept {
        return idx_size_ + static_cast<std::size_t>(file_.records());
    }
    std::size_t memory_bytes() const noexcept { return chunk_bytes_ + idx_cap_ * sizeof(Entry); }
    std::uint64_t spilled_bytes() const noexcept { return file_.size(); }  // header + records
    std::uint64_t spilled_count() const noexcept { return file_.records(); }
    std::uint64_t total_bytes() const noexcept { return total_bytes_; }  // payload bytes
    bool spilled() const noexcept { return file_.is_open(); }
    const std::string& spill_path() const noexcept { return file_.path(); }  // empty: no file

    // A forward reader over all messages in append order: the memory part, then the file.
    // Readers may be used one after another (replay twice); reading changes nothing. A reader
    // sees the messages appended before it was made and is valid until clear() or destruction.
    class Reader {
      public:
        // The next payload; false at the end. out stays valid until the next call. Throws
        // Error (XX001, 58030) when the spill file cannot be read back intact.
        bool next(std::string_view& out);

      private:
        friend class ReplayBuffer;
        explicit Reader(const ReplayBuffer* buf);
        const ReplayBuffer* buf_;
        std::size_t mem_pos_ = 0, mem_count_ = 0;
        std::uint64_t spill_size_ = 0, spill_records_ = 0;
        std::unique_ptr<SpillReader> spill_;
    };
    // Flushes buffered spill writes first, so it may throw Error (53100, 58030).
    Reader reader() const;

    // At worker start: unlinks every "<stem>_<n>.spill" in spill_dir (leftovers of a crash),
    // and nothing else. Throws Error (58030) when the directory cannot be read.
    static void remove_stale(const std::string& spill_dir, const std::string& stem);

  private:
    struct Entry {
        const char* data;
        std::size_t size;
    };
    struct Chunk {
        std::unique_ptr<char[]> data;
        std::size_t cap;
    };

    void append_slow(std::string_view payload);
    bool append_to_memory(std::string_view payload);
    void spill(std::string_view payload);
    void check_usable() const;

    std::string dir_, stem_;
    std::size_t limit_ = kDefaultMemoryLimit;

    // arena: chunks_[cur_chunk_] is being filled; cur_ is its next free byte
    std::vector<Chunk> chunks_;
    std::size_t cur_chunk_ = 0;
    char* cur_ = nullptr;
    std::size_t cur_free_ = 0;
    std::size_t chunk_bytes_ = 0;  // sum of chunk capacities
    std::size_t next_chunk_size_ = 0;

    // index of the messages held in memory
    std::unique_ptr<Entry[]> idx_;
    std::size_t idx_size_ = 0, idx_cap_ = 0;

    std::uint64_t total_bytes_ = 0;
    bool spilling_ = false;  // every further message goes to the file

    bool broken_ = false;  // an append failed: unusable until clear()
    // the spill file (mutable: reader() flushes its write buffer)
    mutable SpillWriter file_{"the replay spill file",
                              "Free disk space, or raise the memory budget of the apply worker."};
};

}  // namespace spock::core
