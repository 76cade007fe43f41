// The spill file format shared by the replay buffer (replay_buffer.hpp) and the spool of a
// streamed transaction (stream_spool.hpp): a 16-byte header ("SPKRPLY\0", u32 version 1, u32
// zero, little endian), then one record per message: [u32 payload length][u32 CRC-32C of the
// payload][payload]. SpillWriter writes such a file, SpillReader reads it back.
//
// Errors are spock::core::Error: XX001 (data_corrupted) for a file that is truncated or fails a
// check (header, record length, CRC, record count); 53100 (disk_full) for ENOSPC/EDQUOT; 58030
// (io_error) for other I/O failures, with the path in the detail; 54000 for a message longer
// than 4 GiB - 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spock::core {

// CRC-32C (Castagnoli, reflected, as in iSCSI and PostgreSQL's WAL) of a byte range; pass the
// previous result as crc to continue over more bytes. Uses SSE 4.2 when the CPU has it.
std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc = 0) noexcept;
namespace detail {
std::uint32_t crc32c_portable(std::string_view bytes, std::uint32_t crc) noexcept;  // tables
bool crc32c_uses_hardware() noexcept;
}  // namespace detail

// Reads the records of a spill file through pread, never moving the file offset, so it can read
// a file that is still being appended to. It does not own the descriptor.
class SpillReader {
  public:
    // fd: an open spill file; path: only for error messages. expected_size: the bytes written
    // (a shorter file is truncated; only that many are read, so later appends are not seen);
    // the file's current size when not given. expected_records: the number of records those
    // bytes must hold (not checked when not given). Validates the header; throws Error.
    SpillReader(int fd, std::string path, std::optional<std::uint64_t> expected_size = {},
                std::optional<std::uint64_t> expected_records = {});

    // The next payload; false at the end of the file. out stays valid until the next call.
    // Throws Error (XX001 for a truncated or corrupt file, 58030 for a read error).
    bool next(std::string_view& out);

  private:
    [[noreturn]] void corrupt(const std::string& what) const;
    void fill(std::size_t need);  // make [pos_, pos_ + need) available in buf_

    int fd_;
    std::string path_;
    std::uint64_t size_ = 0;  // file bytes to read
    std::optional<std::uint64_t> expected_records_;
    std::uint64_t records_ = 0;   // records returned so far
    std::uint64_t file_off_ = 0;  // file offset of buf_[end_]
    std::vector<char> buf_;
    std::size_t pos_ = 0, end_ = 0;  // unread window of buf_
};

// Writes one spill file through a 256 KiB buffer with pwrite. Owns the descriptor: the
// destructor (and close_and_unlink()) closes and unlinks the file. After a failed write the
// writer refuses further appends (Error 55000) until it is closed: a file with a hole must never
// be read back as complete. Not thread-safe.
class SpillWriter {
  public:
    // noun names the file in error messages ("the replay spill file"); full_hint is the hint of
    // a disk-full error.
    SpillWriter(std::string noun, std::string full_hint)
        : noun_(std::move(noun)), full_hint_(std::move(full_hint)) {}
    ~SpillWriter() { close_and_unlink(); }
    SpillWriter(const SpillWriter&) = delete;
    SpillWriter& operator=(const SpillWriter&) = delete;

    // Creates path with O_CREAT|O_EXCL|O_RDWR|O_CLOEXEC and mode 0600 and buffers the header.
    // Returns false when path exists already; throws Error for any other failure. Must not be
    // open.
    bool create(const std::string& path);
    bool is_open() const noexcept { return fd_ >= 0; }

    // Appends one record. Throws Error (54000, 53100, 58030); then the writer is broken.
    void append(std::string_view payload);
    // Writes the buffer out. Throws Error (53100, 58030).
    void flush();
    // Cuts the file back to `bytes` (a record boundary) holding `records` records.
    void truncate(std::uint64_t bytes, std::uint64_t records);
    // Closes and unlinks the file, if open; forgets the broken state. Never throws.
    void close_and_unlink() noexcept;

    // Flushes and returns a reader over the records written so far (valid while the file is
    // open and not cut back). Throws Error (55000 when broken, 53100, 58030, XX001).
    std::unique_ptr<SpillReader> reader();

    int fd() const noexcept { return fd_; }
    const std::string& path() const noexcept { return path_; }
    std::uint64_t size() const noexcept { return size_; }  // header + records, once flushed
    std::uint64_t records() const noexcept { return records_; }
    bool broken() const noexcept { return broken_; }
    // Throws Error 55000 after a failed write.
    void check_usable() const;

  private:
    void write_all(const char* p, std::size_t n);

    std::string noun_, full_hint_;
    int fd_ = -1;
    std::string path_;
    std::unique_ptr<char[]> wbuf_;
    std::size_t wbuf_used_ = 0;
    std::uint64_t written_ = 0;  // bytes in the file
    std::uint64_t size_ = 0;
    std::uint64_t records_ = 0;
    bool broken_ = false;
};

}  // namespace spock::core
