// Who may write under spock.readonly (reference §10.1, docs/configuration.md). Pure decision;
// src/pg/read_only.cpp (user sessions) and the apply worker carry it out.
#pragma once

namespace spock::core {

// The values of spock.readonly. `user` is Spock's name; `local` is accepted for it.
enum class ReadOnlyMode { Off, User, All };

// Which process is asking.
enum class Writer {
    Session,      // a client backend, or any process that is not a spock worker
    Replication,  // a spock apply worker (and the initial sync it runs)
    Manager,      // the spock manager (periodic sequence sync)
};

// Whether `who` may write under `mode`: `user` stops sessions only, `all` stops everyone.
// A replication worker under `all` does not fail: it waits before each remote transaction
// until the mode is lowered, so nothing is lost or skipped (see replication_waits()).
constexpr bool read_only_allows(ReadOnlyMode mode, Writer who) noexcept {
    switch (mode) {
        case ReadOnlyMode::Off:
            return true;
        case ReadOnlyMode::User:
            return who != Writer::Session;
        case ReadOnlyMode::All:
            return false;
    }
    return false;
}

// Whether an apply worker holds back the next remote transaction.
constexpr bool replication_waits(ReadOnlyMode mode) noexcept {
    return !read_only_allows(mode, Writer::Replication);
}

}  // namespace spock::core
