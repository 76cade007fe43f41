// Payloads of the "Spock" logical WAL messages (reference §5.6), written with
// LogLogicalMessage("Spock", payload, size, transactional) and forwarded inside 'M' messages.
//
// Unlike the protocol messages these are C structs copied as they are, so the integers are in
// the writer's native byte order (peers are assumed to share it, as Spock assumes):
//   REPAIR_MODE_ON / REPAIR_MODE_OFF: int32 mtype                                  =  4 bytes
//   SYNC_EVENT: int32 mtype, Oid eorigin, NameData ename (64 bytes, zero-padded)   = 72 bytes
// Readings chosen: the payload size must be exactly 4 or 72 for its type; ename must hold a NUL
// within its 64 bytes, and the bytes after the first NUL are ignored (Spock zeroes them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "spock/core/names.hpp"

namespace spock::core {

inline constexpr std::string_view kSpockMessagePrefix = "Spock";

enum class WalMessageType : std::int32_t {
    RepairModeOn = 1,
    RepairModeOff = 2,
    SyncEvent = 3,
};

inline constexpr std::size_t kRepairModeMessageSize = 4;
inline constexpr std::size_t kSyncEventMessageSize = 72;

struct RepairMode {
    bool on = false;

    bool operator==(const RepairMode&) const = default;
};

struct SyncEvent {
    NodeId origin = 0;  // eorigin: node id of the node that wrote the event
    std::string name;   // ename: at most 63 bytes, empty in everything Spock writes

    bool operator==(const SyncEvent&) const = default;
};

using WalMessage = std::variant<RepairMode, SyncEvent>;

// The payload bytes. A name longer than 63 bytes or containing NUL raises core::Error XX000.
std::string encode_wal_message(const WalMessage& msg);

// Raises core::Error 08P01 for an unknown mtype or a payload of the wrong size.
WalMessage decode_wal_message(std::string_view payload);

// The sync event a "Spock" message payload holds; nothing when it holds another message type
// or cannot be read (*problem, when given, then says why for an unreadable one).
std::optional<SyncEvent> sync_event_in(std::string_view payload, std::string* problem = nullptr);

// Repair mode messages written by spock.repair_mode() carry a tag after the 4 bytes above:
// HMAC-SHA-256 under the cluster's secret key (a file in the data directory) over a label,
// the top-level transaction id of the writer (native byte order) and the body. The output
// plugin obeys only messages whose tag it can verify with the same key and the transaction
// id it decodes, so a role that can call pg_logical_emit_message() but not repair_mode()
// cannot forge one, nor replay one seen in another transaction. Such messages are consumed
// by the provider's own output plugin and never sent to peers, so Spock 5 peers see no
// change. Sync events are not tagged (they are forwarded to peers as they are).
inline constexpr std::size_t kWalMessageTagSize = 32;

std::string wal_message_tag(std::string_view key, std::string_view body, std::uint32_t xid);

struct TaggedPayload {
    std::string_view body;
    std::string_view tag;  // empty when the payload has none
};
// A repair mode payload (mtype 1 or 2) of 4 + 32 bytes is split into body and tag; anything
// else is all body.
TaggedPayload split_wal_message_tag(std::string_view payload);

}  // namespace spock::core
