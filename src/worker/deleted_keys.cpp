// The record of recently deleted keys in shared memory. See spock/worker/deleted_keys.hpp.
#include "spock/worker/deleted_keys.hpp"

#include <cerrno>
#include <cstdio>
#include <string>

#include "spock/core/delete_race.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/private_dir.hpp"

extern "C" {
#include <access/commit_ts.h>
#include <access/transam.h>
#include <access/xact.h>
#include <catalog/pg_index.h>
#include <fmgr.h>
#include <lib/stringinfo.h>
#include <miscadmin.h>
#include <port/atomics.h>
#include <storage/ipc.h>
#include <storage/lmgr.h>
#include <storage/lwlock.h>
#include <storage/procarray.h>
#include <storage/shmem.h>
#include <utils/lsyscache.h>
#include <utils/rel.h>
#include <utils/syscache.h>
}

namespace spock::worker {
namespace {

struct Shared {
    LWLock* lock;
    core::DeletedKeyTable* table;  // nullptr: the record is off
};

Shared* shared = nullptr;
shmem_request_hook_type prev_request_hook = nullptr;
shmem_startup_hook_type prev_startup_hook = nullptr;

constexpr const char* kFileName = "deleted_keys";
constexpr uint32 kFileMagic = 0x53444b31;  // "SDK1"

Size table_size() {
    return gucs::deleted_keys_max > 0
               ? core::DeletedKeyTable::size_for(static_cast<uint32>(gucs::deleted_keys_max))
               : 0;
}

void request_shmem() {
    if (prev_request_hook != nullptr) {
        prev_request_hook();
    }
    RequestAddinShmemSpace(add_size(MAXALIGN(sizeof(Shared)), table_size()));
    RequestNamedLWLockTranche("spock_deleted_keys", 1);
}

int64 retention_us() {
    return static_cast<int64>(gucs::deleted_keys_retention) * USECS_PER_SEC;
}

std::string file_path() {
    try {
        return pg::spock_private_dir("") + "/" + kFileName;
    } catch (...) {
        return std::string();
    }
}

// Postmaster exit: a clean shutdown writes the record out (a crash does not get here with
// code 0, and the record is lost then, as documented).
void save_file(int code, Datum) {
    if (code != 0 || shared == nullptr || shared->table == nullptr) {
        return;
    }
    std::string path = file_path();
    if (path.empty()) {
        return;
    }
    std::string tmp = path + ".tmp";
    FILE* f = fopen(tmp.c_str(), PG_BINARY_W);
    if (f == nullptr) {
        elog(LOG, "could not write the record of deleted keys to \"%s\": %m", tmp.c_str());
        return;
    }
    uint32 header[2] = {kFileMagic, shared->table->size()};
    bool ok = fwrite(header, sizeof header, 1, f) == 1;
    shared->table->for_each([&](const core::DeletedKeyId& id, const core::DeletedKey& k) {
        ok = ok && fwrite(&id, sizeof id, 1, f) == 1 && fwrite(&k, sizeof k, 1, f) == 1;
    });
    ok = ok && fwrite(&kFileMagic, sizeof kFileMagic, 1, f) == 1;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
        elog(LOG, "could not write the record of deleted keys to \"%s\": %m", path.c_str());
        unlink(tmp.c_str());
    }
}

// Startup: loads a saved record and removes the file (so that a later crash restart does not
// load it again).
void load_file() {
    std::string path = file_path();
    if (path.empty()) {
        return;
    }
    FILE* f = fopen(path.c_str(), PG_BINARY_R);
    if (f == nullptr) {
        if (errno != ENOENT) {
            elog(LOG, "could not read the record of deleted keys from \"%s\": %m", path.c_str());
        }
        return;
    }
    uint32 header[2];
    bool ok = fread(header, sizeof header, 1, f) == 1 && header[0] == kFileMagic;
    uint32 loaded = 0;
    TimestampTz now = GetCurrentTimestamp();
    for (uint32 i = 0; ok && i < header[1]; i++) {
        core::DeletedKeyId id;
        core::DeletedKey k;
        ok = fread(&id, sizeof id, 1, f) == 1 && fread(&k, sizeof k, 1, f) == 1 && id.hash != 0;
        if (ok) {
            shared->table->record(id, k, now, retention_us());
            loaded++;
        }
    }
    uint32 trailer = 0;
    ok = ok && fread(&trailer, sizeof trailer, 1, f) == 1 && trailer == kFileMagic;
    fclose(f);
    unlink(path.c_str());
    if (!ok) {
        elog(LOG, "the saved record of deleted keys in \"%s\" is damaged; %u entries loaded",
             path.c_str(), loaded);
    }
}

void startup_shmem() {
    if (prev_startup_hook != nullptr) {
        prev_startup_hook();
    }
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found;
    shared = static_cast<Shared*>(ShmemInitStruct(
        "spock_deleted_keys", add_size(MAXALIGN(sizeof(Shared)), table_size()), &found));
    if (!found) {
        shared->lock = &(GetNamedLWLockTranche("spock_deleted_keys"))->lock;
        shared->table = nullptr;
        if (gucs::deleted_keys_max > 0) {
            shared->table = core::DeletedKeyTable::create(
                reinterpret_cast<char*>(shared) + MAXALIGN(sizeof(Shared)),
                static_cast<uint32>(gucs::deleted_keys_max));
            load_file();
        }
    }
    LWLockRelease(AddinShmemInitLock);
    if (!IsUnderPostmaster) {
        on_shmem_exit(save_file, (Datum)0);
    }
}

// The index whose columns identify a row: the replica identity index, else the primary key
// (the apply worker's lookup index, relation_map.cpp).
Oid key_index_of(Relation rel) {
    Oid key = RelationGetReplicaIndex(rel);
    return OidIsValid(key) ? key : RelationGetPrimaryKeyIndex(rel);
}

}  // namespace

void install_deleted_keys_hooks() {
    prev_request_hook = shmem_request_hook;
    shmem_request_hook = request_shmem;
    prev_startup_hook = shmem_startup_hook;
    shmem_startup_hook = startup_shmem;
}

bool deleted_keys_may_have(Oid relid) {
    if (shared == nullptr || shared->table == nullptr) {
        return false;
    }
    // The counters are only ever read here without the lock: a stale zero can only hide an
    // entry recorded by a transaction that has not committed before ours looked, which does not
    // count anyway (lookup_deleted_key ignores deletes in progress).
    pg_read_barrier();
    return shared->table->may_have(MyDatabaseId, relid);
}

bool deleted_keys_may_have_ordered(Oid relid) {
    if (shared == nullptr || shared->table == nullptr) {
        return false;
    }
    LWLockAcquire(shared->lock, LW_SHARED);
    bool may = shared->table->may_have(MyDatabaseId, relid);
    LWLockRelease(shared->lock);
    return may;
}

DeletedKeyShape* deleted_key_shape(Relation rel, MemoryContext cxt) {
    if (shared == nullptr || shared->table == nullptr) {
        return nullptr;
    }
    Oid index = key_index_of(rel);
    if (!OidIsValid(index)) {
        return nullptr;
    }
    HeapTuple ixtup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
    if (!HeapTupleIsValid(ixtup)) {
        elog(ERROR, "cache lookup failed for index %u", index);
    }
    auto* ix = reinterpret_cast<Form_pg_index>(GETSTRUCT(ixtup));
    auto* shape =
        static_cast<DeletedKeyShape*>(MemoryContextAllocZero(cxt, sizeof(DeletedKeyShape)));
    shape->relid = RelationGetRelid(rel);
    shape->nkeys = ix->indnkeyatts;
    for (int k = 0; k < shape->nkeys; k++) {
        shape->atts[k] = ix->indkey.values[k];
    }
    ReleaseSysCache(ixtup);
    TupleDesc desc = RelationGetDescr(rel);
    for (int k = 0; k < shape->nkeys; k++) {
        if (shape->atts[k] <= 0) {
            return nullptr;  // an expression index: no identity
        }
        Oid typid = TupleDescAttr(desc, shape->atts[k] - 1)->atttypid;
        Oid fn;
        bool varlena;
        getTypeBinaryOutputInfo(typid, &fn, &varlena);
        shape->binary[k] = OidIsValid(fn);
        if (!shape->binary[k]) {
            getTypeOutputInfo(typid, &fn, &varlena);
        }
        fmgr_info_cxt(fn, &shape->out[k], cxt);
    }
    return shape;
}

bool deleted_key_from_shape(const DeletedKeyShape* shape, TupleTableSlot* slot,
                            core::DeletedKeyId* out) {
    // Small keys are built on the stack; larger ones in a palloc'd buffer.
    char local[256];
    char* buf = local;
    size_t cap = sizeof local;
    size_t used = 0;
    auto append = [&](const void* data, size_t len) {
        if (used + len > cap) {
            size_t ncap = Max(cap * 2, used + len);
            char* nbuf = static_cast<char*>(palloc(ncap));
            memcpy(nbuf, buf, used);
            if (buf != local) {
                pfree(buf);
            }
            buf = nbuf;
            cap = ncap;
        }
        memcpy(buf + used, data, len);
        used += len;
    };
    for (int k = 0; k < shape->nkeys; k++) {
        int a = shape->atts[k] - 1;
        slot_getsomeattrs(slot, a + 1);
        if (slot->tts_isnull[a]) {
            if (buf != local) {
                pfree(buf);
            }
            return false;  // a NULL key: no identity
        }
        // fmgr calls take a non-const FmgrInfo; the cache is only ever read here.
        FmgrInfo* fn = const_cast<FmgrInfo*>(&shape->out[k]);
        uint32 len;
        if (shape->binary[k]) {
            bytea* b = SendFunctionCall(fn, slot->tts_values[a]);
            len = VARSIZE(b) - VARHDRSZ;
            append(&len, sizeof len);
            append(VARDATA(b), len);
            pfree(b);
        } else {
            char* text = OutputFunctionCall(fn, slot->tts_values[a]);
            len = static_cast<uint32>(strlen(text));
            append(&len, sizeof len);
            append(text, len);
            pfree(text);
        }
    }
    out->db = MyDatabaseId;
    out->rel = shape->relid;
    out->hash = core::deleted_key_hash(
        out->db, out->rel,
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(buf), used));
    if (buf != local) {
        pfree(buf);
    }
    return true;
}

bool deleted_key_of(Relation rel, TupleTableSlot* slot, core::DeletedKeyId* out) {
    DeletedKeyShape* shape = deleted_key_shape(rel, CurrentMemoryContext);
    if (shape == nullptr) {
        return false;
    }
    bool ok = deleted_key_from_shape(shape, slot, out);
    pfree(shape);
    return ok;
}

namespace {

// The entry of the key, as far as it counts: a delete within the retention whose transaction
// committed. A local delete's commit time is read from the commit timestamp record of its xid
// and remembered in the entry (settle); an aborted one is removed (forget). A delete in
// progress, or one of the current transaction, does not count (yet).
bool resolve_entry(const core::DeletedKeyId& id, core::DeletedKey* k) {
    LWLockAcquire(shared->lock, LW_SHARED);
    bool found = shared->table->find(id, GetCurrentTimestamp(), retention_us(), k);
    LWLockRelease(shared->lock);
    if (!found) {
        return false;
    }
    TransactionId xid = k->xid;
    if (!TransactionIdIsNormal(xid) || TransactionIdIsCurrentTransactionId(xid) ||
        TransactionIdIsInProgress(xid)) {
        return false;
    }
    // Too old for the commit log: older than anything the retention could mean.
    if (TransactionIdPrecedes(xid, ShmemVariableCache->oldestClogXid)) {
        return false;
    }
    if (!TransactionIdDidCommit(xid)) {
        LWLockAcquire(shared->lock, LW_EXCLUSIVE);
        shared->table->forget(id, xid);
        LWLockRelease(shared->lock);
        return false;
    }
    if (k->commit_time.value == 0) {
        TimestampTz ts = 0;
        RepOriginId origin;
        if (!track_commit_timestamp || !TransactionIdGetCommitTsData(xid, &ts, &origin) ||
            ts == 0) {
            return false;
        }
        k->commit_time = core::TimestampUs{ts};
        LWLockAcquire(shared->lock, LW_EXCLUSIVE);
        shared->table->settle(id, xid, k->commit_time);
        LWLockRelease(shared->lock);
    }
    return true;
}

}  // namespace

void record_deleted_key(const core::DeletedKeyId& id, Oid node, TimestampTz commit_time,
                        TimestampTz now) {
    if (shared == nullptr || shared->table == nullptr) {
        return;
    }
    if (commit_time != 0) {
        // A local delete recorded earlier has no commit time in the entry yet: settle it first,
        // so that the newest delete wins (an older remote delete must not replace it).
        core::DeletedKey existing;
        resolve_entry(id, &existing);
    }
    core::DeletedKey d;
    d.xid = GetCurrentTransactionId();
    d.node = node;
    d.commit_time = core::TimestampUs{commit_time};
    d.recorded_at = now;
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    shared->table->record(id, d, now, retention_us());
    LWLockRelease(shared->lock);
}

bool lookup_deleted_key(const core::DeletedKeyId& id, DeletedKeyInfo* out) {
    if (shared == nullptr || shared->table == nullptr) {
        return false;
    }
    core::DeletedKey k;
    if (!resolve_entry(id, &k)) {
        return false;
    }
    out->commit_time = k.commit_time.value;
    out->node = k.node;
    return true;
}

bool lookup_deleted_key_waiting(const core::DeletedKeyId& id, DeletedKeyInfo* out) {
    if (shared == nullptr || shared->table == nullptr) {
        return false;
    }
    for (;;) {
        core::DeletedKey k;
        LWLockAcquire(shared->lock, LW_SHARED);
        bool found = shared->table->find(id, GetCurrentTimestamp(), retention_us(), &k);
        LWLockRelease(shared->lock);
        core::RecordedDelete state = core::RecordedDelete::None;
        if (found && TransactionIdIsNormal(k.xid)) {
            if (TransactionIdIsCurrentTransactionId(k.xid)) {
                state = core::RecordedDelete::Own;
            } else if (TransactionIdIsInProgress(k.xid)) {
                state = core::RecordedDelete::InProgress;
            } else {
                state = core::RecordedDelete::Committed;  // or aborted: resolve_entry tells
            }
        }
        switch (core::recheck_step(state)) {
            case core::RecheckStep::Keep:
                return false;
            case core::RecheckStep::WaitForDeleter:
                // Waits as a row lock would (the deadlock detector sees it), then looks again.
                XactLockTableWait(k.xid, nullptr, nullptr, XLTW_None);
                CHECK_FOR_INTERRUPTS();
                continue;
            case core::RecheckStep::Forget:
            case core::RecheckStep::Decide:
                break;
        }
        return lookup_deleted_key(id, out);  // settles a commit, forgets an abort
    }
}

}  // namespace spock::worker
