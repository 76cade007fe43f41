// Shipping sequence values through spock.queue. See include/spock/catalog/sequences.hpp and
// docs/sequences.md.
#include <string>

#include "spock/catalog/sequences.hpp"
#include "spock/core/names.hpp"
#include "spock/core/sequence_sync.hpp"
#include "spock/core/text_array.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"

using namespace spock;

namespace spock::catalog {
namespace {

std::int64_t to_i64(const pg::SqlValue& v) {
    return std::stoll(*v);
}

}  // namespace

bool ship_sequence(Oid seqoid, ShipWhen when) {
    std::string oid = std::to_string(seqoid);
    auto shape_rows = pg::spi_query(
        "SELECT n.nspname::text, c.relname::text, s.seqincrement, s.seqmin, s.seqmax "
        "FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE s.seqrelid = $1::oid",
        {oid});
    if (shape_rows.empty()) {
        pg::SqlValue name = pg::spi_value("SELECT $1::oid::regclass::text", {oid});
        throw core::Error("42809", "\"" + name.value_or(oid) + "\" is not a sequence", {},
                          "spock.sync_seq() takes a sequence of a replication set.");
    }
    const pg::SqlRow& sr = shape_rows[0];
    std::string qualified = core::quote_qualified_identifier(*sr[0], *sr[1]);
    core::SequenceShape shape{to_i64(sr[2]), to_i64(sr[3]), to_i64(sr[4])};
    auto sets = pg::spi_query(
        "SELECT rs.set_name::text FROM spock.replication_set_seq q "
        "JOIN spock.replication_set rs USING (set_id) "
        "WHERE q.set_seqoid::oid = $1::oid ORDER BY rs.set_name",
        {oid});
    auto state = pg::spi_query(
        "SELECT cache_size, last_value FROM spock.sequence_state WHERE seqoid = $1::oid "
        "FOR UPDATE",
        {oid});
    if (sets.empty() || state.empty()) {
        throw core::Error("55000", "sequence " + qualified + " is not in any replication set",
                          "Only sequences of a replication set are synchronised.",
                          "Add it with spock.repset_add_seq().");
    }
    std::int64_t margin = to_i64(state[0][0]);
    std::int64_t mark = to_i64(state[0][1]);
    std::int64_t last = to_i64(pg::spi_value(("SELECT last_value FROM " + qualified).c_str()));
    if (when == ShipWhen::IfAdvanced && !core::periodic_sync_due(last, mark, shape)) {
        return false;
    }
    std::int64_t shipped = core::shipped_sequence_value(last, margin, shape);
    pg::spi_exec("UPDATE spock.sequence_state SET last_value = $2::bigint WHERE seqoid = $1::oid",
                 {oid, std::to_string(shipped)});
    std::vector<core::OptionalText> names;
    for (const pg::SqlRow& r : sets) {
        names.push_back(*r[0]);
    }
    pg::spi_exec(
        "INSERT INTO spock.queue (queued_at, role, replication_sets, message_type, message) "
        "VALUES (pg_catalog.now(), current_user, $1::text[], 'S', "
        "        pg_catalog.json_build_object('schema_name', $2::text, 'sequence_name', $3::text, "
        "                                     'last_value', $4::text))",
        {core::to_array_literal(names), *sr[0], *sr[1], std::to_string(shipped)});
    return true;
}

}  // namespace spock::catalog
