// Transactions and subtransactions for C++ frames (background workers, replay).
//
// Every function goes through pg_call(), so callers may own C++ objects. A PostgreSQL error
// inside arrives as a PgError; the (sub)transaction is then in need of an abort, which
// abort_xact() or rollback_subxact() provide without ending the process.
#pragma once

#include "spock/pg/postgres.hpp"

extern "C" {
#include <utils/palloc.h>
#include <utils/resowner.h>
}

namespace spock::pg {

// Starts a transaction with a snapshot pushed, and commits it (popping the snapshot).
void begin_xact();
void commit_xact();

// Aborts whatever transaction and subtransactions the process has open after an error was
// caught (the error state must already be flushed, as pg_call does), releases locks, buffer
// pins and SPI, and leaves the process, its memory and its connections usable. Safe to call
// when no transaction is open.
void abort_xact();

// What a subtransaction must put back when it ends.
struct Subxact {
    MemoryContext cxt = nullptr;
    ResourceOwner owner = nullptr;
};

// BeginInternalSubTransaction, keeping the caller's memory context current.
Subxact begin_subxact();
// Commits the subtransaction into its parent and restores the caller's context and owner.
void release_subxact(const Subxact& s);
// Rolls it back (after an error was caught and flushed) and restores context and owner.
void rollback_subxact(const Subxact& s);

}  // namespace spock::pg
