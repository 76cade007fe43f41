// libFuzzer target: the protocol decoders must never crash, read out of bounds or invoke
// undefined behaviour on arbitrary bytes. Whatever they accept must encode back to bytes that
// decode to the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "spock/core/error.hpp"
#include "spock/core/protocol.hpp"
#include "spock/core/wal_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace spock::core;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    try {
        ProtocolMessage msg = decode_message(bytes);
        std::string again = encode_message(msg);
        if (!(decode_message(again) == msg)) {
            __builtin_trap();
        }
    } catch (const Error& e) {
        if (e.sqlstate() != "08P01") {
            __builtin_trap();  // a decoded message the encoder refuses is a codec bug
        }
    }

    try {
        WalMessage msg = decode_wal_message(bytes);
        if (!(decode_wal_message(encode_wal_message(msg)) == msg)) {
            __builtin_trap();
        }
    } catch (const Error& e) {
        if (e.sqlstate() != "08P01") {
            __builtin_trap();
        }
    }
    return 0;
}
