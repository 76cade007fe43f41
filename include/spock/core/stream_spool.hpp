// The spool of one streamed (in-progress) transaction on the subscriber: the wire form of every
// change the provider streamed for it, kept in a file until its STREAM COMMIT (applied from the
// file) or STREAM ABORT (forgotten). See docs/protocol.md, "Streamed transactions".
//
// The file. "<stem>_<xid>.spill" in the worker's private spill directory, created with
// O_CREAT|O_EXCL|O_RDWR|O_CLOEXEC, mode 0600, on the first append, in the spill file format of
// the replay buffer (spill_file.hpp: a SpillWriter writes it, SpillReader reads it back), and
// removed at worker start by ReplayBuffer::remove_stale(dir, stem). The destructor closes and
// unlinks it.
//
// Subtransactions. STREAM XID says which (sub)transaction the following changes belong to;
// the spool remembers where each subtransaction's first change starts (SubxactMarks). When a
// subtransaction aborts, the file is cut back to that point. Why that is right: the provider
// streams a transaction's changes, its subtransactions' included, in LSN order (reorderbuffer.c
// merges them with a binary heap in ReorderBufferIterTXNInit, and each later block only holds
// changes newer than the previous one), and the abort is decoded at its own WAL record, after
// every change streamed so far. A change written after the first change of subtransaction S and
// before S's abort record was made while S was open, so by S or a subtransaction nested in it;
// or S had already been released into its parent P, and then S can only abort together with P,
// whose abort (same record, reported right after) cuts at P's first change, no later than S's.
// Either way everything from S's first change on goes.
//
// Errors are core::Error: 53100 (disk full), 58030 (other I/O); after one the spool refuses
// further use (55000): a transaction with a hole in it must never be applied.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spock/core/protocol.hpp"
#include "spock/core/spill_file.hpp"

namespace spock::core {

// Where each subtransaction's changes start in a spool; pure bookkeeping.
class SubxactMarks {
  public:
    struct Position {
        std::uint64_t bytes = 0;    // file size before the subtransaction's first change
        std::uint64_t records = 0;  // messages before it
        bool operator==(const Position&) const = default;
    };

    // Changes of subxid start at pos. Only the first note of a subxid counts; positions must
    // not go backwards (they are the spool's size).
    void note(TransactionId subxid, Position pos);
    // subxid aborted: the position to cut the spool back to, and every mark at or after it
    // is forgotten; nullopt when subxid has no mark (none of its changes were sent, or an
    // earlier cut already removed them).
    std::optional<Position> abort(TransactionId subxid);
    std::size_t size() const noexcept { return marks_.size(); }

  private:
    std::vector<std::pair<TransactionId, Position>> marks_;  // in order of position
};

class StreamSpool {
  public:
    // dir: an existing private directory; stem: names the worker's files (no '/').
    StreamSpool(std::string dir, std::string stem, TransactionId xid);
    ~StreamSpool();  // closes and unlinks the file; never throws
    StreamSpool(const StreamSpool&) = delete;
    StreamSpool& operator=(const StreamSpool&) = delete;

    TransactionId xid() const noexcept { return xid_; }
    // The changes appended from now on belong to subxid (STREAM XID).
    void set_subxact(TransactionId subxid);
    // Appends one message of the current (sub)transaction.
    void append(std::string_view payload);
    // A subtransaction aborted: cuts its changes (and the later ones, see above). Returns
    // whether anything was cut.
    bool abort_subxact(TransactionId subxid);

    std::uint64_t records() const noexcept { return file_.records(); }
    std::uint64_t bytes() const noexcept { return file_.size(); }  // file size once flushed
    const std::string& path() const noexcept { return file_.path(); }

    // Flushes and returns a reader over every message, in order. Valid while the spool lives.
    std::unique_ptr<SpillReader> reader();

    // "<stem>_<xid>.spill"; for tests and messages.
    static std::string file_name(std::string_view stem, TransactionId xid);

  private:
    std::string dir_, stem_;
    TransactionId xid_;
    TransactionId current_;  // the (sub)transaction of the next append
    SpillWriter file_;
    SubxactMarks marks_;
};

}  // namespace spock::core
