// Races between apply workers over the record of deleted keys. See spock/core/delete_race.hpp.
#include "spock/core/delete_race.hpp"

namespace spock::core {

RecheckStep recheck_step(RecordedDelete state) noexcept {
    switch (state) {
        case RecordedDelete::InProgress:
            return RecheckStep::WaitForDeleter;
        case RecordedDelete::Aborted:
            return RecheckStep::Forget;
        case RecordedDelete::Committed:
            return RecheckStep::Decide;
        case RecordedDelete::None:
        case RecordedDelete::Own:
            break;
    }
    return RecheckStep::Keep;
}

WrittenInsertDecision decide_insert_written(ConflictPolicy policy, bool already_reported,
                                            DeleteOrder order) noexcept {
    if (already_reported) {
        // The check before the write decided about a delete of this key and let the insert go
        // ahead (apply_remote); that decision stands, whatever was recorded since.
        return {false, false, MissingRowAction::Insert};
    }
    InsertDecision d = decide_insert_missing(policy, true, order);
    if (!d.conflict) {
        return {false, false, MissingRowAction::Insert};
    }
    bool take_back = d.action == MissingRowAction::Skip || d.action == MissingRowAction::KeepLocal;
    return {true, take_back, d.action};
}

}  // namespace spock::core
