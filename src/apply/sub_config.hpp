// What the apply worker knows about its subscription, read from the catalog.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spock/core/lsn.hpp"
#include "spock/core/names.hpp"
#include "spock/pg/postgres.hpp"

namespace spock::apply {

// Re-read when the catalog changes; a change in anything but the skip LSN restarts the worker.
struct SubConfig {
    Oid id = InvalidOid;
    std::string name;
    bool enabled = false;
    std::string slot_name;
    core::NodeId provider = 0;
    core::NodeId local = 0;
    std::string provider_dsn;
    std::string local_dsn;
    std::vector<std::string> sets;
    std::vector<std::string> forward_origins;
    std::vector<std::string> skip_schema;
    long apply_delay_ms = 0;
    bool force_text = false;
    core::Lsn skip_lsn;
    char sync_kind = 'i';
    char sync_status = 'r';
    core::Lsn sync_lsn;  // sync_statuslsn of the subscription-level status row

    bool same_stream(const SubConfig& o) const {
        return enabled == o.enabled && slot_name == o.slot_name && provider == o.provider &&
               provider_dsn == o.provider_dsn && sets == o.sets &&
               forward_origins == o.forward_origins && apply_delay_ms == o.apply_delay_ms &&
               force_text == o.force_text;
    }
};

// Reads the subscription in a transaction of its own; nullopt when it is gone.
std::optional<SubConfig> load_config(Oid subid);

}  // namespace spock::apply
