// libFuzzer target: the reader of replay spill files must never crash, read out of bounds or
// return garbage on an arbitrary file; the only acceptable failure is core::Error XX001.
//
// Input: one flag byte, then the file.
//   bit 0  prepend a valid 16-byte header (so mutations reach the records)
//   bit 1  rewrite the checksum of every record whose length fits (so mutations get past the
//          CRC and reach later records and the length checks)
//   bit 2  append every payload read to a ReplayBuffer and check that it replays them exactly,
//          twice; bits 3-7 choose its memory limit (0 .. 30 x 64 bytes, or 1 MiB for 31)
// The file is written to a memfd and read with SpillReader, as the apply worker reads its file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "spock/core/error.hpp"
#include "spock/core/replay_buffer.hpp"

namespace {

using spock::core::Error;

std::uint32_t le32(const char* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
    return v;
}

void put_le32(char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<char>(v >> (8 * i));
    }
}

std::string g_dir;

void remove_dir() {
    if (!g_dir.empty()) {
        ::rmdir(g_dir.c_str());
    }
}

int memfd() {
    static int fd = [] {
        int f = ::memfd_create("spock_spill_fuzz", MFD_CLOEXEC);
        if (f < 0) {
            std::abort();
        }
        return f;
    }();
    return fd;
}

const std::string& spill_dir() {
    if (g_dir.empty()) {
        char tmpl[] = "/tmp/spock-spill-fuzz.XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) {
            std::abort();
        }
        g_dir = tmpl;
        std::atexit(remove_dir);
    }
    return g_dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::uint8_t flags = data[0];
    std::string file;
    if (flags & 1) {
        file.append("SPKRPLY\0", 8);
        file.append("\x01\0\0\0\0\0\0\0", 8);
    }
    file.append(reinterpret_cast<const char*>(data + 1), size - 1);
    if (flags & 2) {
        std::size_t at = 16;
        while (file.size() >= at + 8) {
            std::uint32_t len = le32(file.data() + at);
            if (len > file.size() - at - 8) {
                break;
            }
            put_le32(file.data() + at + 4,
                     spock::core::crc32c(std::string_view(file.data() + at + 8, len)));
            at += 8 + len;
        }
    }

    const int fd = memfd();
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, file.data(), file.size(), 0) != static_cast<ssize_t>(file.size())) {
        std::abort();
    }

    std::vector<std::string> payloads;
    std::size_t consumed = 16;
    bool complete = false;
    try {
        spock::core::SpillReader reader(fd, "fuzz input");
        std::string_view m;
        while (reader.next(m)) {
            consumed += 8 + m.size();
            if (consumed > file.size()) {
                __builtin_trap();  // a record beyond the end of the file
            }
            payloads.emplace_back(m);
        }
        complete = true;
    } catch (const Error& e) {
        if (e.sqlstate() != "XX001") {
            __builtin_trap();
        }
    }
    if (complete && consumed != file.size()) {
        __builtin_trap();  // accepted a file with bytes it did not read
    }

    if (flags & 4) {
        // what was read must survive a trip through a ReplayBuffer, in memory or spilled
        spock::core::ReplayBuffer buf(spill_dir(), "fuzz");
        const unsigned k = flags >> 3;
        buf.set_memory_limit(k == 31 ? 1024 * 1024 : k * 64);
        for (const auto& p : payloads) {
            buf.append(p);
            if (buf.memory_bytes() > buf.memory_limit()) {
                __builtin_trap();
            }
        }
        for (int round = 0; round < 2; ++round) {
            auto r = buf.reader();
            std::string_view m;
            std::size_t i = 0;
            while (r.next(m)) {
                if (i >= payloads.size() || m != payloads[i]) {
                    __builtin_trap();
                }
                ++i;
            }
            if (i != payloads.size()) {
                __builtin_trap();
            }
        }
    }
    return 0;
}
