// Streamed in-progress transactions on the subscriber (docs/protocol.md, "Streamed
// transactions"): the apply worker's stream loop (src/apply/stream.cpp) hands every message
// here first. STREAM START .. STREAM STOP
// blocks go to a spool file per transaction (core/stream_spool.hpp) in the worker's private
// spill directory; blocks of several transactions may interleave with each other and with
// whole transactions. A STREAM ABORT removes the transaction's file, or cuts a subtransaction's
// changes out of it. A STREAM COMMIT applies the spooled transaction through the ordinary
// Applier path, as BEGIN, ORIGIN, the spooled messages and COMMIT built from the commit's
// fields, so conflict resolution, exception handling and replay work unchanged.
//
// RELATION messages inside a stream are spooled with the changes and take effect when the
// transaction is applied: the provider describes relations for a stream apart from
// transactions sent whole (output/streaming.hpp), so a whole transaction that arrives while a
// stream is open is read with the description it was sent with.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "spock/core/protocol.hpp"
#include "spock/core/stream_spool.hpp"

namespace spock::core {

class StreamedTxns {
  public:
    using Apply = std::function<void(std::string_view payload, const ProtocolMessage& msg)>;

    // stem names the spool files of one subscription ("stream_sub_<id>").
    explicit StreamedTxns(std::string stem) : stem_(std::move(stem)) {}

    // At worker start, before any message: the private directory of the spool files; the
    // files an earlier life of the worker left there are removed (the provider sends every
    // unconfirmed transaction again, from its start). Throws Error 58030 when it cannot read
    // the directory.
    void open_directory(std::string dir);

    // Whether msg is one of the stream messages (E, Y, Z, c, A).
    static bool is_stream_message(const ProtocolMessage& msg);

    // Takes msg when it belongs to streaming: a stream message, or any message inside a
    // stream block. Returns false for the messages of whole transactions, which the caller
    // applies. At a STREAM COMMIT, `apply` receives the transaction's messages in order and
    // `tick` is called every few thousand messages (to keep the provider informed). A stream
    // message out of place raises core::Error 08P01 (the worker restarts and receives the
    // transactions again).
    bool handle(std::string_view payload, const ProtocolMessage& msg, const Apply& apply,
                const std::function<void()>& tick);

    // Asked at each STREAM COMMIT before the spool is applied: true when the transaction was
    // committed another way (early apply, docs/architecture.md); its spool is then dropped.
    using CommittedElsewhere = std::function<bool(const StreamCommit&)>;
    void set_committed_elsewhere(CommittedElsewhere fn) { elsewhere_ = std::move(fn); }

    bool in_block() const noexcept { return block_ != nullptr; }
    std::size_t open_transactions() const noexcept { return spools_.size(); }

  private:
    void apply_commit(const StreamCommit& c, const Apply& apply, const std::function<void()>& tick);

    std::string stem_;
    std::string dir_;
    std::map<TransactionId, std::unique_ptr<StreamSpool>> spools_;
    StreamSpool* block_ = nullptr;  // the transaction of the open block
    CommittedElsewhere elsewhere_;
};

}  // namespace spock::core
