#include "spock/core/failover_slots.hpp"

#include <algorithm>

#include "spock/core/error.hpp"

namespace spock::core {

namespace {

constexpr std::string_view kNamePrefix = "name:";
constexpr std::string_view kNameLikePrefix = "name_like:";
constexpr std::string_view kPluginPrefix = "plugin:";

}  // namespace

std::vector<SlotFilter> parse_slot_filters(const std::vector<std::string>& items) {
    std::vector<SlotFilter> out;
    for (const std::string& item : items) {
        std::string_view text = item;
        SlotFilter f;
        std::string_view value;
        if (text.starts_with(kNameLikePrefix)) {
            f.kind = SlotFilter::Kind::NameLike;
            value = text.substr(kNameLikePrefix.size());
        } else if (text.starts_with(kNamePrefix)) {
            f.kind = SlotFilter::Kind::Name;
            value = text.substr(kNamePrefix.size());
        } else if (text.starts_with(kPluginPrefix)) {
            f.kind = SlotFilter::Kind::Plugin;
            value = text.substr(kPluginPrefix.size());
        } else {
            throw Error(sqlstate::kInvalidParameterValue,
                        "invalid entry \"" + item + "\" in spock.synchronize_slot_names",
                        "Entry \"" + item + "\" starts with none of name:, name_like: or plugin:.",
                        "For example: name_like:spk_%, plugin:spock_output.");
        }
        if (value.empty()) {
            throw Error(sqlstate::kInvalidParameterValue,
                        "invalid entry \"" + item + "\" in spock.synchronize_slot_names",
                        "Entry \"" + item + "\" names no slot, pattern or plugin after its prefix.",
                        "For example: name_like:spk_%, plugin:spock_output.");
        }
        f.value = std::string(value);
        out.push_back(std::move(f));
    }
    return out;
}

bool like_match(std::string_view pattern, std::string_view text) noexcept {
    // Iterative matching with one backtrack point for the last '%', linear in practice.
    std::size_t p = 0, t = 0;
    std::size_t star_p = std::string_view::npos, star_t = 0;
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p] == '%') {
            star_p = ++p;
            star_t = t;
            continue;
        }
        if (p < pattern.size()) {
            char pc = pattern[p];
            std::size_t step = 1;
            bool any = pc == '_';
            if (pc == '\\' && p + 1 < pattern.size()) {
                pc = pattern[p + 1];
                step = 2;
                any = false;
            }
            if (any || pc == text[t]) {
                p += step;
                ++t;
                continue;
            }
        }
        if (star_p == std::string_view::npos) {
            return false;
        }
        p = star_p;
        t = ++star_t;
    }
    while (p < pattern.size() && pattern[p] == '%') {
        ++p;
    }
    return p == pattern.size();
}

bool slot_matches(const std::vector<SlotFilter>& filters, std::string_view name,
                  std::string_view plugin) noexcept {
    return std::any_of(filters.begin(), filters.end(), [&](const SlotFilter& f) {
        switch (f.kind) {
            case SlotFilter::Kind::Name:
                return f.value == name;
            case SlotFilter::Kind::NameLike:
                return like_match(f.value, name);
            case SlotFilter::Kind::Plugin:
                return f.value == plugin;
        }
        return false;
    });
}

bool may_create_copy(const SlotPosition& remote, Lsn replayed) noexcept {
    return remote.restart_lsn.is_valid() && remote.catalog_xmin.is_valid() &&
           replayed >= remote.restart_lsn;
}

SlotPosition initial_copy(const SlotPosition& remote, Lsn replayed) noexcept {
    SlotPosition out = remote;
    out.confirmed_flush = std::max(std::min(remote.confirmed_flush, replayed), remote.restart_lsn);
    return out;
}

std::optional<SlotPosition> advance_copy(const SlotPosition& local, const SlotPosition& remote,
                                         Lsn replayed) noexcept {
    SlotPosition next = local;
    if (remote.restart_lsn.is_valid() && replayed >= remote.restart_lsn &&
        remote.restart_lsn >= local.restart_lsn) {
        next.restart_lsn = remote.restart_lsn;
        // The catalog_xmin belongs to the restart_lsn it came with; it only moves forward.
        if (remote.catalog_xmin.is_valid() &&
            (!local.catalog_xmin.is_valid() ||
             xid_precedes_or_equals(local.catalog_xmin, remote.catalog_xmin))) {
            next.catalog_xmin = remote.catalog_xmin;
        }
    }
    Lsn confirmed = std::min(remote.confirmed_flush, replayed);
    next.confirmed_flush = std::max({local.confirmed_flush, confirmed, next.restart_lsn});
    if (next.restart_lsn == local.restart_lsn && next.confirmed_flush == local.confirmed_flush &&
        next.catalog_xmin.value == local.catalog_xmin.value) {
        return std::nullopt;
    }
    return next;
}

bool copy_catalog_safe(Xid copy_catalog_xmin, Xid physical_slot_catalog_xmin) noexcept {
    return copy_catalog_xmin.is_valid() && physical_slot_catalog_xmin.is_valid() &&
           xid_precedes_or_equals(physical_slot_catalog_xmin, copy_catalog_xmin);
}

std::optional<Lsn> standby_confirmed_lsn(const std::vector<std::optional<Lsn>>& confirmed,
                                         int min_confirmed) {
    if (confirmed.empty()) {
        return std::nullopt;
    }
    std::size_t need = confirmed.size();
    if (min_confirmed >= 0) {
        need = std::min(need, static_cast<std::size_t>(min_confirmed));
    }
    if (need == 0) {
        return std::nullopt;
    }
    std::vector<Lsn> have;
    for (const auto& c : confirmed) {
        have.push_back(c.value_or(kInvalidLsn));
    }
    // The need-th highest position: that many standbys have confirmed at least that much.
    std::sort(have.begin(), have.end(), [](Lsn a, Lsn b) { return a > b; });
    return have[need - 1];
}

}  // namespace spock::core
