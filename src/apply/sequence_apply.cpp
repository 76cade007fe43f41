// See sequence_apply.hpp.
#include "sequence_apply.hpp"

#include <optional>

#include "spock/core/sequence_sync.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"

extern "C" {
#include <storage/lmgr.h>
}

namespace spock::apply {
namespace {

std::optional<std::int64_t> parse_i64(const std::string& s) {
    try {
        std::size_t used = 0;
        long long v = std::stoll(s, &used);
        if (used != s.size()) {
            return std::nullopt;
        }
        return static_cast<std::int64_t>(v);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace

void apply_sequence_value(Oid seqoid, const std::string& remote_value) {
    std::optional<std::int64_t> remote = parse_i64(remote_value);
    if (!remote) {
        std::string text = remote_value;
        pg::pg_call([&text] {
            ereport(WARNING, (errmsg("spock.queue SEQUENCE message with last_value \"%s\", "
                                     "not a bigint, ignored",
                                     text.c_str())));
        });
        return;
    }
    // nextval() takes RowExclusiveLock: with SHARE held, nobody moves the sequence between
    // the read below and setval().
    pg::pg_call([seqoid] { LockRelationOid(seqoid, ShareLock); });
    std::string oid = std::to_string(seqoid);
    auto rows = pg::spi_query(
        "SELECT format('%I.%I', n.nspname, c.relname), s.seqincrement, s.seqmin, s.seqmax "
        "FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE s.seqrelid = $1::oid",
        {oid});
    if (rows.empty()) {
        return;
    }
    const std::string& qualified = *rows[0][0];
    core::SequenceShape shape{std::stoll(*rows[0][1]), std::stoll(*rows[0][2]),
                              std::stoll(*rows[0][3])};
    auto now = pg::spi_query(("SELECT last_value, is_called FROM " + qualified).c_str());
    std::int64_t last = std::stoll(*now[0][0]);
    bool is_called = *now[0][1] == "t";
    std::optional<std::int64_t> target =
        core::sequence_forward_target(last, is_called, *remote, shape);
    if (target) {
        pg::spi_query("SELECT pg_catalog.setval($1::regclass, $2::bigint, true)",
                      {qualified, std::to_string(*target)});
    }
    // The mark: what this node now knows the others have reached.
    auto state = pg::spi_query(
        "SELECT last_value FROM spock.sequence_state WHERE seqoid = $1::oid FOR UPDATE", {oid});
    if (!state.empty()) {
        std::int64_t old_mark = std::stoll(*state[0][0]);
        std::int64_t mark =
            *core::sequence_mark_after_receipt(last, old_mark, target ? *target : *remote, shape);
        pg::spi_exec(
            "UPDATE spock.sequence_state SET last_value = $2::bigint WHERE seqoid = $1::oid",
            {oid, std::to_string(mark)});
    }
}

}  // namespace spock::apply
