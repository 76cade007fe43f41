// Per-(subscription, table) apply counters in shared memory. See channel_stats.hpp.
#include "spock/apply/channel_stats.hpp"

#include "apply_internal.hpp"

extern "C" {
#include <miscadmin.h>
#include <storage/ipc.h>
#include <storage/lwlock.h>
#include <storage/shmem.h>
#include <utils/hsearch.h>
}

namespace spock::apply {
namespace {

struct ChannelKey {
    Oid dboid;
    Oid subid;
    Oid relid;
};

struct ChannelEntry {
    ChannelKey key;  // hash key: first
    std::uint64_t n[core::kChannelCounterCount];
};

struct ChannelShared {
    LWLock* lock;      // protects the hash and everything below
    int64 capacity;    // entries the hash may hold (spock.stats_max_entries)
    bool full_warned;  // a worker warned that the table is full
    uint64 untracked;  // changes not counted because the table was full, since the reset
};

ChannelShared* shared_state = nullptr;
HTAB* table = nullptr;
shmem_request_hook_type prev_request_hook = nullptr;
shmem_startup_hook_type prev_startup_hook = nullptr;
core::ChannelPending* pending = nullptr;  // this process's, made on first use

int64 capacity() {
    return core::channel_stats_capacity(gucs::stats_max_entries, max_worker_processes);
}

// The hash is sized for at least one entry; the capacity is enforced on insert.
long hash_size() {
    int64 n = capacity();
    return static_cast<long>(n < 1 ? 1 : n);
}

void request_shmem() {
    if (prev_request_hook != nullptr) {
        prev_request_hook();
    }
    RequestAddinShmemSpace(add_size(MAXALIGN(sizeof(ChannelShared)),
                                    hash_estimate_size(hash_size(), sizeof(ChannelEntry))));
    RequestNamedLWLockTranche("spock_channel_stats", 1);
}

void startup_shmem() {
    if (prev_startup_hook != nullptr) {
        prev_startup_hook();
    }
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found;
    shared_state = static_cast<ChannelShared*>(
        ShmemInitStruct("spock_channel_stats", sizeof(ChannelShared), &found));
    if (!found) {
        memset(shared_state, 0, sizeof *shared_state);
        shared_state->lock = &(GetNamedLWLockTranche("spock_channel_stats"))->lock;
        shared_state->capacity = capacity();
    }
    HASHCTL info;
    memset(&info, 0, sizeof info);
    info.keysize = sizeof(ChannelKey);
    info.entrysize = sizeof(ChannelEntry);
    table = ShmemInitHash("spock channel stats hash", hash_size(), hash_size(), &info,
                          HASH_ELEM | HASH_BLOBS);
    LWLockRelease(AddinShmemInitLock);
}

}  // namespace

void install_channel_stats_shmem() {
    prev_request_hook = shmem_request_hook;
    shmem_request_hook = request_shmem;
    prev_startup_hook = shmem_startup_hook;
    shmem_startup_hook = startup_shmem;
}

void channel_stats_count(core::RelId remote_relid, core::ChannelCounter counter,
                         std::uint64_t conflicts) {
    const detail::RelMapEntry* e = detail::find_mapped_relation(remote_relid);
    if (e == nullptr || !e->local_valid || !OidIsValid(e->local_relid)) {
        return;
    }
    if (pending == nullptr) {
        pending = new core::ChannelPending();
    }
    pending->add(e->local_relid, counter);
    pending->add(e->local_relid, core::ChannelCounter::Conflict, conflicts);
}

// Called from row apply glue: no C++ exception may leave it, so an allocation failure becomes
// an ERROR after the catch block is left.
void channel_stats_count_delta(Oid relid, std::uint64_t columns) {
    if (!gucs::channel_counters || !OidIsValid(relid)) {
        return;
    }
    bool failed = false;
    try {
        if (pending == nullptr) {
            pending = new core::ChannelPending();
        }
        pending->add(relid, core::ChannelCounter::Delta, columns);
    } catch (...) {
        failed = true;
    }
    if (failed) {
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
                        errdetail("Could not count a delta apply in spock's channel statistics.")));
    }
}

namespace {
std::uint64_t counted_apart = 0;
}

std::uint64_t conflicts_counted_apart() noexcept {
    return counted_apart;
}

void channel_stats_count_conflicts(core::RelId remote_relid, std::uint64_t conflicts) {
    if (!gucs::channel_counters || conflicts == 0) {
        return;
    }
    const detail::RelMapEntry* e = detail::find_mapped_relation(remote_relid);
    if (e == nullptr || !e->local_valid || !OidIsValid(e->local_relid)) {
        return;
    }
    bool failed = false;
    try {
        if (pending == nullptr) {
            pending = new core::ChannelPending();
        }
        pending->add(e->local_relid, core::ChannelCounter::Conflict, conflicts);
        counted_apart += conflicts;
    } catch (...) {
        failed = true;
    }
    if (failed) {
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
                        errdetail("Could not count a conflict in spock's channel statistics.")));
    }
}

void channel_stats_discard() noexcept {
    if (pending != nullptr) {
        pending->clear();
    }
}

void channel_stats_flush(Oid subid) {
    if (pending == nullptr || pending->empty() || table == nullptr) {
        return;
    }
    uint64 lost = 0;
    bool warn = false;
    LWLockAcquire(shared_state->lock, LW_EXCLUSIVE);
    for (const core::ChannelPending::Entry& p : pending->entries()) {
        ChannelKey key{MyDatabaseId, subid, p.relid};
        ChannelEntry* e = static_cast<ChannelEntry*>(hash_search(table, &key, HASH_FIND, nullptr));
        if (e == nullptr && hash_get_num_entries(table) < shared_state->capacity) {
            bool found;
            // HASH_ENTER_NULL: never an ERROR while the lock is held.
            e = static_cast<ChannelEntry*>(hash_search(table, &key, HASH_ENTER_NULL, &found));
            if (e != nullptr && !found) {
                memset(e->n, 0, sizeof e->n);
            }
        }
        if (e == nullptr) {
            lost += p.counts.get(core::ChannelCounter::Insert) +
                    p.counts.get(core::ChannelCounter::Update) +
                    p.counts.get(core::ChannelCounter::Delete);
            continue;
        }
        for (int i = 0; i < core::kChannelCounterCount; i++) {
            e->n[i] += p.counts.n[i];
        }
    }
    if (lost > 0) {
        shared_state->untracked += lost;
        warn = !shared_state->full_warned;
        shared_state->full_warned = true;
    }
    int64 cap = shared_state->capacity;
    LWLockRelease(shared_state->lock);
    pending->clear();
    if (warn) {
        ereport(WARNING,
                (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                 errmsg("spock channel statistics are full: changes to further tables are not "
                        "counted"),
                 errdetail("The table holds spock.stats_max_entries = %lld (subscription, table) "
                           "entries; this warning is not repeated until spock.get_channel_stats() "
                           "or spock.reset_channel_stats() is called.",
                           static_cast<long long>(cap)),
                 errhint("Raise spock.stats_max_entries (takes a restart), or empty the table "
                         "with spock.reset_channel_stats().")));
    }
}

std::vector<ChannelStatsRow> read_channel_stats(Oid dboid, std::uint64_t* untracked,
                                                std::int64_t* cap) {
    std::vector<ChannelStatsRow> rows;
    // Reserved before the lock is taken for the copy: no allocation while it is held. Entries
    // made in between are left for the next call.
    LWLockAcquire(shared_state->lock, LW_SHARED);
    long n = hash_get_num_entries(table);
    LWLockRelease(shared_state->lock);
    rows.reserve(static_cast<size_t>(n) + 16);
    LWLockAcquire(shared_state->lock, LW_EXCLUSIVE);
    HASH_SEQ_STATUS it;
    hash_seq_init(&it, table);
    while (auto* e = static_cast<ChannelEntry*>(hash_seq_search(&it))) {
        if (e->key.dboid != dboid || rows.size() == rows.capacity()) {
            continue;
        }
        ChannelStatsRow r{e->key.subid, e->key.relid, {}};
        for (int i = 0; i < core::kChannelCounterCount; i++) {
            r.counts.n[i] = e->n[i];
        }
        rows.push_back(r);
    }
    shared_state->full_warned = false;
    *untracked = shared_state->untracked;
    *cap = shared_state->capacity;
    LWLockRelease(shared_state->lock);
    return rows;
}

void reset_channel_stats() {
    LWLockAcquire(shared_state->lock, LW_EXCLUSIVE);
    HASH_SEQ_STATUS it;
    hash_seq_init(&it, table);
    while (auto* e = static_cast<ChannelEntry*>(hash_seq_search(&it))) {
        ChannelKey key = e->key;
        hash_search(table, &key, HASH_REMOVE, nullptr);
    }
    shared_state->full_warned = false;
    shared_state->untracked = 0;
    LWLockRelease(shared_state->lock);
}

}  // namespace spock::apply
