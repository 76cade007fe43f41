// Sequence synchronisation decisions (docs/sequences.md), on plain integers. Pure logic;
// src/sql/sequences.cpp, src/worker/sequence_watch.cpp and src/apply/sequence_apply.cpp carry
// them out.
//
// A provider ships "its last value plus a margin" (the margin is sequence_state.cache_size
// steps of the sequence); a subscriber moves its own sequence forward to at least that value,
// never backwards, and keeps its own residue modulo the increment so that step/offset schemes
// (node 1 hands out 1, 4, 7, ..., node 2 hands out 2, 5, 8, ...) survive a sync.
#pragma once

#include <cstdint>
#include <optional>

namespace spock::core {

struct SequenceShape {
    std::int64_t increment = 1;  // never 0; negative for a descending sequence
    std::int64_t min_value = 1;
    std::int64_t max_value = INT64_MAX;
};

// The value a provider ships for a sequence whose last value is `last_value`: `margin` steps
// further in the sequence's direction, clamped to its bounds. A negative margin counts as 0.
std::int64_t shipped_sequence_value(std::int64_t last_value, std::int64_t margin,
                                    const SequenceShape& shape) noexcept;

// Whether the manager's periodic sync ships the sequence: only when it has gone beyond
// `high_water`, the last value this node shipped or received for it (so a value received from
// a peer is not shipped back, and an idle sequence costs nothing). No mark: ship.
bool periodic_sync_due(std::int64_t last_value, std::optional<std::int64_t> high_water,
                       const SequenceShape& shape) noexcept;

// The value a subscriber passes to setval(seq, value, true) for a value `remote` received from
// a provider, or nullopt when its sequence is already at or beyond it (never backwards).
// `local_last` / `local_is_called` are the subscriber sequence's own last_value and is_called.
// The result is the first value at or beyond `remote` that has the local sequence's residue
// modulo the increment, clamped to the sequence's bounds.
std::optional<std::int64_t> sequence_forward_target(std::int64_t local_last, bool local_is_called,
                                                    std::int64_t remote,
                                                    const SequenceShape& shape) noexcept;

// The new high-water mark after `value` was shipped or received: the further of the two.
std::int64_t sequence_high_water(std::optional<std::int64_t> old_mark, std::int64_t value,
                                 const SequenceShape& shape) noexcept;

// The mark a subscriber keeps after applying `applied` (the value it moved to, or the remote
// value when it did not move). `local_last` is its sequence's last value before the message.
// When the sequence had gone beyond the old mark (values handed out here that no peer has
// heard of yet), the old mark stays, so the next periodic pass still ships this node's advance
// (the peers may be behind the values it handed out); otherwise the mark moves to the further
// of the two, so a received value is not shipped back.
std::optional<std::int64_t> sequence_mark_after_receipt(std::int64_t local_last,
                                                        std::optional<std::int64_t> old_mark,
                                                        std::int64_t applied,
                                                        const SequenceShape& shape) noexcept;

}  // namespace spock::core
