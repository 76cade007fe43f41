// Names of a subscription's replication origins. See include/spock/core/origin_names.hpp.
#include "spock/core/origin_names.hpp"

namespace spock::core {
namespace {

// A node id in decimal: 1 to 10 digits, no sign, no leading zero, 1..UINT32_MAX.
std::optional<NodeId> parse_node(std::string_view digits) {
    if (digits.empty() || digits.size() > 10 || digits[0] == '0') {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v == 0 || v > 0xFFFFFFFFull) {
        return std::nullopt;
    }
    return static_cast<NodeId>(v);
}

}  // namespace

std::string origin_name(std::string_view slot, NodeId provider, NodeId origin_node) {
    std::string name(slot);
    if (origin_node != 0 && origin_node != provider) {
        name += kForwardedOriginSeparator;
        name += std::to_string(origin_node);
    }
    return name;
}

std::string worker_origin_name(std::string_view origin, std::uint32_t worker) {
    std::string name(origin);
    if (worker != 0) {
        name += kWorkerOriginSeparator;
        name += std::to_string(worker);
    }
    return name;
}

std::uint32_t origin_worker(std::string_view name) {
    size_t at = name.rfind(kWorkerOriginSeparator);
    if (at == std::string_view::npos || at == 0) {
        return 0;
    }
    auto k = parse_node(name.substr(at + kWorkerOriginSeparator.size()));
    return k ? *k : 0;
}

std::string_view without_worker_suffix(std::string_view name) {
    if (origin_worker(name) == 0) {
        return name;
    }
    return name.substr(0, name.rfind(kWorkerOriginSeparator));
}

std::optional<NodeId> forwarded_origin_node(std::string_view slot, std::string_view full_name) {
    std::string_view name = without_worker_suffix(full_name);
    if (name.size() <= slot.size() + kForwardedOriginSeparator.size() ||
        name.substr(0, slot.size()) != slot ||
        name.substr(slot.size(), kForwardedOriginSeparator.size()) != kForwardedOriginSeparator) {
        return std::nullopt;
    }
    return parse_node(name.substr(slot.size() + kForwardedOriginSeparator.size()));
}

bool is_subscription_origin(std::string_view slot, std::string_view name) {
    return without_worker_suffix(name) == slot || forwarded_origin_node(slot, name).has_value();
}

std::optional<std::pair<std::string_view, NodeId>> split_forwarded_origin(
    std::string_view full_name) {
    std::string_view name = without_worker_suffix(full_name);
    size_t at = name.rfind(kForwardedOriginSeparator);
    if (at == std::string_view::npos || at == 0) {
        return std::nullopt;
    }
    auto node = parse_node(name.substr(at + kForwardedOriginSeparator.size()));
    if (!node) {
        return std::nullopt;
    }
    return std::make_pair(name.substr(0, at), *node);
}

}  // namespace spock::core
