// Streamed in-progress transactions on the subscriber; see streamed_txns.hpp.
#include "spock/core/streamed_txns.hpp"

#include <fmt/format.h>

#include "spock/core/error.hpp"
#include "spock/core/replay_buffer.hpp"

namespace spock::core {

namespace {

constexpr std::uint64_t kTickEvery = 2000;  // messages applied between two ticks

[[noreturn]] void out_of_place(std::string_view what, std::string detail) {
    throw Error(sqlstate::kProtocolViolation,
                fmt::format("unexpected {} in the replication stream", what), std::move(detail),
                "The apply worker restarts and receives the transactions again.");
}

}  // namespace

void StreamedTxns::open_directory(std::string dir) {
    dir_ = std::move(dir);
    ReplayBuffer::remove_stale(dir_, stem_);
}

bool StreamedTxns::is_stream_message(const ProtocolMessage& msg) {
    return std::holds_alternative<StreamStart>(msg) || std::holds_alternative<StreamXid>(msg) ||
           std::holds_alternative<StreamStop>(msg) || std::holds_alternative<StreamCommit>(msg) ||
           std::holds_alternative<StreamAbort>(msg);
}

bool StreamedTxns::handle(std::string_view payload, const ProtocolMessage& msg, const Apply& apply,
                          const std::function<void()>& tick) {
    if (const auto* s = std::get_if<StreamStart>(&msg)) {
        if (block_ != nullptr) {
            out_of_place("STREAM START",
                         fmt::format("Transaction {} started a block inside the block of {}.",
                                     s->xid, block_->xid()));
        }
        auto it = spools_.find(s->xid);
        if (s->first_segment) {
            if (dir_.empty()) {
                throw Error(sqlstate::kInternalError,
                            "streamed transactions have no spool directory yet");
            }
            // A first block for a known xid: whatever was spooled for it no longer counts.
            spools_[s->xid] = std::make_unique<StreamSpool>(dir_, stem_, s->xid);
            it = spools_.find(s->xid);
        } else if (it == spools_.end()) {
            out_of_place(
                "STREAM START",
                fmt::format("A later block of transaction {} arrived, but not its first.", s->xid));
        }
        block_ = it->second.get();
        block_->set_subxact(s->xid);
        return true;
    }
    if (const auto* x = std::get_if<StreamXid>(&msg)) {
        if (block_ == nullptr) {
            out_of_place("STREAM XID",
                         fmt::format("Subtransaction {} outside a stream block.", x->xid));
        }
        block_->set_subxact(x->xid);
        return true;
    }
    if (std::holds_alternative<StreamStop>(msg)) {
        if (block_ == nullptr) {
            out_of_place("STREAM STOP", "No stream block was open.");
        }
        block_ = nullptr;
        return true;
    }
    if (const auto* c = std::get_if<StreamCommit>(&msg)) {
        if (block_ != nullptr) {
            out_of_place("STREAM COMMIT",
                         fmt::format("Transaction {} committed inside the block of {}.", c->xid,
                                     block_->xid()));
        }
        apply_commit(*c, apply, tick);
        return true;
    }
    if (const auto* a = std::get_if<StreamAbort>(&msg)) {
        if (block_ != nullptr) {
            out_of_place("STREAM ABORT",
                         fmt::format("Transaction {} aborted inside the block of {}.", a->xid,
                                     block_->xid()));
        }
        auto it = spools_.find(a->xid);
        if (it == spools_.end()) {
            return true;  // nothing of it reached us (or it was removed already)
        }
        if (a->subxid == a->xid) {
            spools_.erase(it);  // unlinks the file
        } else {
            it->second->abort_subxact(a->subxid);
        }
        return true;
    }
    if (block_ == nullptr) {
        return false;  // a message of a whole transaction
    }
    if (std::holds_alternative<Relation>(msg) || std::holds_alternative<Insert>(msg) ||
        std::holds_alternative<Update>(msg) || std::holds_alternative<Delete>(msg) ||
        std::holds_alternative<Truncate>(msg) || std::holds_alternative<LogicalMessage>(msg)) {
        block_->append(payload);
        return true;
    }
    out_of_place(
        message_type_name(message_type(msg)),
        fmt::format("It arrived inside the stream block of transaction {}.", block_->xid()));
}

void StreamedTxns::apply_commit(const StreamCommit& c, const Apply& apply,
                                const std::function<void()>& tick) {
    auto it = spools_.find(c.xid);
    if (it == spools_.end()) {
        out_of_place(
            "STREAM COMMIT",
            fmt::format("Transaction {} committed, but none of its changes arrived.", c.xid));
    }
    // Taken out of the map first: whatever happens below, the spool is gone afterwards (an
    // error ends the worker, and the provider sends the transaction again).
    std::unique_ptr<StreamSpool> spool = std::move(it->second);
    spools_.erase(it);
    if (elsewhere_ && elsewhere_(c)) {
        return;
    }

    const Begin begin{c.commit_lsn, c.commit_time, c.xid};
    apply(encode_message(begin), begin);
    const Origin origin{c.origin_lsn, c.origin_id};
    apply(encode_message(origin), origin);
    if (std::unique_ptr<SpillReader> reader = spool->reader()) {
        std::string_view payload;
        std::uint64_t n = 0;
        while (reader->next(payload)) {
            apply(payload, decode_message(payload));
            if (++n % kTickEvery == 0 && tick) {
                tick();
            }
        }
    }
    const Commit commit{c.commit_lsn, c.end_lsn, c.commit_time, c.remote_insert_lsn};
    apply(encode_message(commit), commit);
}

}  // namespace spock::core
