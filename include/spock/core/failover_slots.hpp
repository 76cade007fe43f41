// Failover slots (docs/high-availability.md): the decisions of the standby's slot
// synchronisation and of the primary's standby-gated sending, on plain values.
//
// - Which of the primary's logical slots a standby copies (spock.synchronize_slot_names).
// - How far a local copy may move: never beyond what the standby has replayed, never backwards,
//   restart_lsn and catalog_xmin only together.
// - When a new copy is safe to keep (its catalog_xmin is held by the primary through
//   hot_standby_feedback).
// - How far the physical standbys named in spock.pg_standby_slot_names have confirmed WAL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spock/core/lsn.hpp"

namespace spock::core {

// One entry of spock.synchronize_slot_names: `name:<slot>`, `name_like:<LIKE pattern>` or
// `plugin:<output plugin>`.
struct SlotFilter {
    enum class Kind { Name, NameLike, Plugin };
    Kind kind = Kind::Name;
    std::string value;

    bool operator==(const SlotFilter&) const = default;
};

// Parses the items of the list setting (already split at commas and trimmed, as PostgreSQL's
// SplitIdentifierString / SplitGUCList give them). An item without a known prefix or with an
// empty value raises Error 22023 naming it.
std::vector<SlotFilter> parse_slot_filters(const std::vector<std::string>& items);

// SQL LIKE with `%`, `_` and backslash as the escape character, case-sensitive.
bool like_match(std::string_view pattern, std::string_view text) noexcept;

// True when some filter matches the slot. No filters match nothing.
bool slot_matches(const std::vector<SlotFilter>& filters, std::string_view name,
                  std::string_view plugin) noexcept;

// A 32-bit transaction id compared the way PostgreSQL does (modulo 2^32); 0 is invalid.
struct Xid {
    std::uint32_t value = 0;
    constexpr bool is_valid() const noexcept { return value != 0; }
};

// a precedes or equals b (TransactionIdPrecedesOrEquals for normal xids).
constexpr bool xid_precedes_or_equals(Xid a, Xid b) noexcept {
    return static_cast<std::int32_t>(a.value - b.value) <= 0;
}

// What a slot looks like, on the primary or in the standby's copy.
struct SlotPosition {
    Lsn restart_lsn;
    Lsn confirmed_flush;
    Xid catalog_xmin;
};

// May the standby create a copy of a primary slot now? Only once it has replayed the primary
// slot's restart_lsn (the WAL from there on is then on the standby and kept for the copy), and
// only for a slot that has a restart_lsn and catalog_xmin at all.
bool may_create_copy(const SlotPosition& remote, Lsn replayed) noexcept;

// The position a copy starts at: the primary's, with confirmed_flush capped at what the
// standby has replayed (and never below restart_lsn).
SlotPosition initial_copy(const SlotPosition& remote, Lsn replayed) noexcept;

// The next position of an existing copy. restart_lsn and catalog_xmin move together, and only
// when the standby has replayed the primary's restart_lsn; confirmed_flush follows the
// primary's but not beyond what was replayed; nothing moves backwards. std::nullopt when
// nothing changes.
std::optional<SlotPosition> advance_copy(const SlotPosition& local, const SlotPosition& remote,
                                         Lsn replayed) noexcept;

// Is a new copy's catalog_xmin held on the primary? The copy is created ephemeral; the primary
// keeps the catalog rows it needs from the moment the standby's physical slot there carries a
// catalog_xmin (sent by hot_standby_feedback) that is valid and not newer than the copy's.
// Until then the primary may have removed rows the copy's own catalog_xmin needs, so once this
// holds the copy takes the primary slot's position read *after* the physical slot (the primary
// slot held its catalog rows until that read, the physical slot holds them from then on) and
// is made persistent; see docs/high-availability.md.
bool copy_catalog_safe(Xid copy_catalog_xmin, Xid physical_slot_catalog_xmin) noexcept;

// How far the physical standbys of spock.pg_standby_slot_names have confirmed WAL.
// `confirmed` holds one entry per named slot: its restart_lsn, or nullopt for a slot that does
// not exist or is not physical. `min_confirmed` is spock.standby_slots_min_confirmed (-1: all
// of them). The result is the highest position that at least that many have confirmed;
// kInvalidLsn when not enough of them have confirmed anything. No names: std::nullopt (no gate).
std::optional<Lsn> standby_confirmed_lsn(const std::vector<std::optional<Lsn>>& confirmed,
                                         int min_confirmed);

}  // namespace spock::core
