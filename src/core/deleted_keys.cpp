// The record of recently deleted keys and the update-versus-delete decisions. See
// deleted_keys.hpp.
#include "spock/core/deleted_keys.hpp"

#include <cstring>
#include <new>

namespace spock::core {
namespace {

constexpr std::uint64_t kMul1 = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio
constexpr std::uint64_t kMul2 = 0xbf58476d1ce4e5b9ULL;
constexpr std::uint64_t kMul3 = 0x94d049bb133111ebULL;

// A strong 64-bit finaliser (the splitmix64 output function): every input bit affects every
// output bit.
std::uint64_t mix64(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * kMul2;
    z = (z ^ (z >> 27)) * kMul3;
    return z ^ (z >> 31);
}

std::uint32_t next_pow2(std::uint64_t n) noexcept {
    std::uint64_t p = 1;
    while (p < n) {
        p <<= 1;
    }
    return static_cast<std::uint32_t>(p);
}

bool same_id(const DeletedKeyId& a, const DeletedKeyId& b) noexcept {
    return a.hash == b.hash && a.db == b.db && a.rel == b.rel;
}

}  // namespace

std::uint64_t deleted_key_hash(std::uint32_t db, std::uint32_t rel,
                               std::span<const std::byte> key_bytes) noexcept {
    // Words of 8 bytes, each folded in with a multiply and the finaliser; the length is mixed
    // in so that trailing zero bytes change the value.
    std::uint64_t h = mix64((static_cast<std::uint64_t>(db) << 32 | rel) ^ kMul1);
    std::size_t n = key_bytes.size();
    const std::byte* p = key_bytes.data();
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = mix64(h ^ (w * kMul1)) + kMul1;
        p += 8;
        n -= 8;
    }
    std::uint64_t tail = 0;
    for (std::size_t i = 0; i < n; i++) {
        tail |= static_cast<std::uint64_t>(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
    }
    h = mix64(h ^ (tail * kMul1) ^ (static_cast<std::uint64_t>(key_bytes.size()) << 56));
    return h == 0 ? 1 : h;
}

std::size_t DeletedKeyTable::size_for(std::uint32_t capacity) noexcept {
    if (capacity == 0) {
        capacity = 1;
    }
    std::uint32_t nslots = next_pow2(static_cast<std::uint64_t>(capacity) * 2);
    return sizeof(DeletedKeyTable) + sizeof(Slot) * nslots + sizeof(RingItem) * capacity;
}

DeletedKeyTable* DeletedKeyTable::create(void* mem, std::uint32_t capacity) noexcept {
    if (capacity == 0) {
        capacity = 1;
    }
    std::memset(mem, 0, size_for(capacity));
    auto* t = new (mem) DeletedKeyTable;
    t->capacity_ = capacity;
    t->nslots_ = next_pow2(static_cast<std::uint64_t>(capacity) * 2);
    t->count_ = 0;
    t->head_ = 0;
    t->tail_ = 0;
    std::memset(t->rel_counts_, 0, sizeof t->rel_counts_);
    return t;
}

std::uint32_t DeletedKeyTable::rel_bucket(std::uint32_t db, std::uint32_t rel) noexcept {
    return static_cast<std::uint32_t>(mix64(static_cast<std::uint64_t>(db) << 32 | rel) %
                                      kRelBuckets);
}

bool DeletedKeyTable::may_have(std::uint32_t db, std::uint32_t rel) const noexcept {
    return rel_counts_[rel_bucket(db, rel)] != 0;
}

bool DeletedKeyTable::lookup(const DeletedKeyId& id, std::uint32_t* index) const noexcept {
    std::uint32_t mask = nslots_ - 1;
    for (std::uint32_t i = static_cast<std::uint32_t>(id.hash) & mask;; i = (i + 1) & mask) {
        const Slot& s = slots()[i];
        if (s.id.hash == 0) {
            *index = i;  // where it would go
            return false;
        }
        if (same_id(s.id, id)) {
            *index = i;
            return true;
        }
    }
}

// Backward-shift deletion: entries after the hole that probed past it move into it, so that
// lookups never need tombstones.
void DeletedKeyTable::remove_at(std::uint32_t index) noexcept {
    std::uint32_t mask = nslots_ - 1;
    rel_counts_[rel_bucket(slots()[index].id.db, slots()[index].id.rel)]--;
    count_--;
    std::uint32_t hole = index;
    for (std::uint32_t j = (hole + 1) & mask;; j = (j + 1) & mask) {
        Slot& s = slots()[j];
        if (s.id.hash == 0) {
            break;
        }
        std::uint32_t home = static_cast<std::uint32_t>(s.id.hash) & mask;
        // s may fill the hole if its home is not in the cyclic range (hole, j].
        bool in_range = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_range) {
            slots()[hole] = s;
            hole = j;
        }
    }
    slots()[hole] = Slot{};
}

void DeletedKeyTable::pop_oldest() noexcept {
    const RingItem& r = ring()[head_ % capacity_];
    std::uint32_t i;
    if (lookup(r.id, &i) && slots()[i].seq == head_) {
        remove_at(i);
    }
    head_++;
}

bool DeletedKeyTable::find(const DeletedKeyId& id, std::int64_t now, std::int64_t retention_us,
                           DeletedKey* out) const noexcept {
    std::uint32_t i;
    if (!lookup(id, &i)) {
        return false;
    }
    const DeletedKey& k = slots()[i].key;
    if (k.recorded_at < now - retention_us) {
        return false;
    }
    *out = k;
    return true;
}

void DeletedKeyTable::record(const DeletedKeyId& id, const DeletedKey& d, std::int64_t now,
                             std::int64_t retention_us) noexcept {
    purge(now, retention_us);
    std::uint32_t i;
    if (lookup(id, &i)) {
        const DeletedKey& old = slots()[i].key;
        if (d.commit_time.value != 0 && old.commit_time.value != 0 &&
            old.commit_time > d.commit_time && old.recorded_at >= now - retention_us) {
            return;  // a later delete of the key is already recorded
        }
    }
    if (tail_ - head_ == capacity_) {
        pop_oldest();
    }
    // Eviction may have moved entries: look again.
    bool found = lookup(id, &i);
    std::uint64_t seq = tail_++;
    ring()[seq % capacity_] = RingItem{id, d.recorded_at};
    Slot& s = slots()[i];
    if (!found) {
        s.id = id;
        count_++;
        rel_counts_[rel_bucket(id.db, id.rel)]++;
    }
    s.key = d;
    s.seq = seq;
}

void DeletedKeyTable::settle(const DeletedKeyId& id, std::uint32_t xid,
                             TimestampUs commit_time) noexcept {
    std::uint32_t i;
    if (lookup(id, &i) && slots()[i].key.xid == xid && slots()[i].key.commit_time.value == 0) {
        slots()[i].key.commit_time = commit_time;
    }
}

void DeletedKeyTable::forget(const DeletedKeyId& id, std::uint32_t xid) noexcept {
    std::uint32_t i;
    if (lookup(id, &i) && slots()[i].key.xid == xid) {
        remove_at(i);
    }
}

void DeletedKeyTable::purge(std::int64_t now, std::int64_t retention_us) noexcept {
    while (head_ != tail_ && ring()[head_ % capacity_].recorded_at < now - retention_us) {
        pop_oldest();
    }
}

// ----- Decisions ---------------------------------------------------------------------------

DeleteOrder order_delete(ChangeStamp del, ChangeStamp change) noexcept {
    if (del.commit_time > change.commit_time) {
        return DeleteOrder::DeleteLater;
    }
    if (del.commit_time < change.commit_time || del.node == change.node) {
        return DeleteOrder::DeleteEarlier;
    }
    return DeleteOrder::NeedTiebreak;
}

DeleteOrder order_from_tiebreak(std::int64_t delete_tiebreaker,
                                std::int64_t change_tiebreaker) noexcept {
    // resolve_tiebreak: the lower tiebreaker wins; equal ones let the remote change win.
    return delete_tiebreaker < change_tiebreaker ? DeleteOrder::DeleteLater
                                                 : DeleteOrder::DeleteEarlier;
}

MissingRowDecision decide_update_missing(ConflictPolicy policy, bool have_delete, DeleteOrder order,
                                         bool full_row) noexcept {
    bool deleted_later = have_delete && order == DeleteOrder::DeleteLater;
    ConflictType type = deleted_later ? ConflictType::UpdateDeleted : ConflictType::UpdateMissing;
    MissingRowAction insert = full_row ? MissingRowAction::Insert : MissingRowAction::Skip;
    switch (policy) {
        case ConflictPolicy::Error:
            return {type, MissingRowAction::Error};
        case ConflictPolicy::KeepLocal:
            return {type, MissingRowAction::KeepLocal};
        case ConflictPolicy::ApplyRemote:
            return {type, insert};
        case ConflictPolicy::LastUpdateWins:
            // The later of delete and update wins; no record counts as an earlier delete.
            return {type, deleted_later ? MissingRowAction::Skip : insert};
        case ConflictPolicy::FirstUpdateWins:
            // The earlier wins: a recorded delete before the update beats it; without a
            // record there is nothing to prefer over the update.
            if (have_delete && !deleted_later) {
                return {type, MissingRowAction::Skip};
            }
            return {type, insert};
    }
    return {type, MissingRowAction::Skip};
}

InsertDecision decide_insert_missing(ConflictPolicy policy, bool have_delete,
                                     DeleteOrder order) noexcept {
    if (!have_delete || order != DeleteOrder::DeleteLater) {
        return {false, MissingRowAction::Insert};
    }
    // A delete committed after the insert deleted this row (or a later one of the same key)
    // on the node it came from, whatever the policy prefers in a race between writers: the
    // insert is its cause, not a competitor. Only apply_remote and error say otherwise.
    switch (policy) {
        case ConflictPolicy::Error:
            return {true, MissingRowAction::Error};
        case ConflictPolicy::ApplyRemote:
            return {true, MissingRowAction::Insert};
        case ConflictPolicy::KeepLocal:
            return {true, MissingRowAction::KeepLocal};
        case ConflictPolicy::LastUpdateWins:
        case ConflictPolicy::FirstUpdateWins:
            break;
    }
    return {true, MissingRowAction::Skip};
}

ConflictType classify_delete_found(const LocalRowState& local,
                                   TimestampUs delete_commit_time) noexcept {
    if (!local.written_by_current_transaction && !local.frozen_or_unknown &&
        local.commit_time > delete_commit_time) {
        return ConflictType::DeleteExists;
    }
    return ConflictType::DeleteOriginDiffers;
}

}  // namespace spock::core
