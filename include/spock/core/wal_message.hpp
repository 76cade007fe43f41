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

}  // namespace spock::core
