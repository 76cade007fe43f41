// "Spock" logical WAL message payloads (reference §5.6), in native byte order.
#include "spock/core/wal_message.hpp"

#include <fmt/format.h>

#include <cstring>

#include "spock/core/error.hpp"
#include "spock/core/sha256.hpp"

namespace spock::core {

namespace {

void put_native_i32(std::string& out, std::int32_t v) {
    char buf[sizeof v];
    std::memcpy(buf, &v, sizeof v);
    out.append(buf, sizeof buf);
}

void put_native_u32(std::string& out, std::uint32_t v) {
    char buf[sizeof v];
    std::memcpy(buf, &v, sizeof v);
    out.append(buf, sizeof buf);
}

template <typename T>
T get_native(const char* p) noexcept {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

[[noreturn]] void malformed(std::string_view what) {
    throw Error(sqlstate::kProtocolViolation, fmt::format("malformed Spock message: {}", what));
}

}  // namespace

std::string encode_wal_message(const WalMessage& msg) {
    std::string out;
    if (const auto* repair = std::get_if<RepairMode>(&msg)) {
        put_native_i32(out, static_cast<std::int32_t>(repair->on ? WalMessageType::RepairModeOn
                                                                 : WalMessageType::RepairModeOff));
        return out;
    }
    const auto& event = std::get<SyncEvent>(msg);
    if (event.name.size() >= kNameDataLen || event.name.find('\0') != std::string::npos) {
        throw Error(sqlstate::kInternalError,
                    "cannot encode sync event: name must have fewer than 64 bytes and no NUL");
    }
    out.reserve(kSyncEventMessageSize);
    put_native_i32(out, static_cast<std::int32_t>(WalMessageType::SyncEvent));
    put_native_u32(out, event.origin);
    out.append(event.name);
    out.append(kNameDataLen - event.name.size(), '\0');
    return out;
}

WalMessage decode_wal_message(std::string_view payload) {
    if (payload.size() < sizeof(std::int32_t)) {
        malformed(
            fmt::format("payload of {} bytes is too short for the message type", payload.size()));
    }
    const auto mtype = get_native<std::int32_t>(payload.data());
    auto expect_size = [&](std::size_t size) {
        if (payload.size() != size) {
            malformed(fmt::format("message type {} needs a payload of {} bytes, got {}", mtype,
                                  size, payload.size()));
        }
    };
    switch (static_cast<WalMessageType>(mtype)) {
        case WalMessageType::RepairModeOn:
        case WalMessageType::RepairModeOff:
            expect_size(kRepairModeMessageSize);
            return RepairMode{mtype == static_cast<std::int32_t>(WalMessageType::RepairModeOn)};
        case WalMessageType::SyncEvent: {
            expect_size(kSyncEventMessageSize);
            SyncEvent event;
            event.origin = get_native<std::uint32_t>(payload.data() + 4);
            std::string_view ename = payload.substr(8, kNameDataLen);
            const std::size_t nul = ename.find('\0');
            if (nul == std::string_view::npos) {
                malformed("sync event name is not NUL-terminated within 64 bytes");
            }
            event.name = std::string(ename.substr(0, nul));
            return event;
        }
    }
    malformed(fmt::format("unknown message type {}", mtype));
}

std::optional<SyncEvent> sync_event_in(std::string_view payload, std::string* problem) {
    try {
        WalMessage msg = decode_wal_message(split_wal_message_tag(payload).body);
        if (const auto* event = std::get_if<SyncEvent>(&msg)) {
            return *event;
        }
    } catch (const Error& e) {
        if (problem != nullptr) {
            *problem = e.message();
        }
    }
    return std::nullopt;
}

std::string wal_message_tag(std::string_view key, std::string_view body, std::uint32_t xid) {
    std::string input = "spock control message v1";
    input.push_back('\0');
    put_native_u32(input, xid);
    input.append(body);
    Sha256Digest mac = hmac_sha256(key, input);
    return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

TaggedPayload split_wal_message_tag(std::string_view payload) {
    if (payload.size() == kRepairModeMessageSize + kWalMessageTagSize) {
        const auto mtype = get_native<std::int32_t>(payload.data());
        if (mtype != static_cast<std::int32_t>(WalMessageType::RepairModeOn) &&
            mtype != static_cast<std::int32_t>(WalMessageType::RepairModeOff)) {
            return {payload, {}};
        }
        return {payload.substr(0, kRepairModeMessageSize), payload.substr(kRepairModeMessageSize)};
    }
    return {payload, {}};
}

}  // namespace spock::core
