// The spool of a streamed transaction; see stream_spool.hpp.
#include "spock/core/stream_spool.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <unistd.h>

#include "spock/core/error.hpp"

namespace spock::core {

// ----- SubxactMarks ---------------------------------------------------------------------------

void SubxactMarks::note(TransactionId subxid, Position pos) {
    for (const auto& m : marks_) {
        if (m.first == subxid) {
            return;
        }
    }
    marks_.emplace_back(subxid, pos);
}

std::optional<SubxactMarks::Position> SubxactMarks::abort(TransactionId subxid) {
    auto it = std::find_if(marks_.begin(), marks_.end(),
                           [subxid](const auto& m) { return m.first == subxid; });
    if (it == marks_.end()) {
        return std::nullopt;
    }
    Position cut = it->second;
    // Marks are in position order: everything from this one on is cut away.
    std::erase_if(marks_, [&cut](const auto& m) { return m.second.bytes >= cut.bytes; });
    return cut;
}

// ----- StreamSpool ----------------------------------------------------------------------------

StreamSpool::StreamSpool(std::string dir, std::string stem, TransactionId xid)
    : dir_(std::move(dir)),
      stem_(std::move(stem)),
      xid_(xid),
      current_(xid),
      file_("the spool file of a streamed transaction",
            "Free disk space under the spill directory, or set spock.stream_in_progress = off.") {}

StreamSpool::~StreamSpool() = default;  // the writer closes and unlinks the file

std::string StreamSpool::file_name(std::string_view stem, TransactionId xid) {
    return fmt::format("{}_{}.spill", stem, xid);
}

void StreamSpool::set_subxact(TransactionId subxid) {
    current_ = subxid;
}

void StreamSpool::append(std::string_view payload) {
    if (!file_.is_open()) {
        std::string path = fmt::format("{}/{}", dir_, file_name(stem_, xid_));
        // A file of the same name is a leftover of this worker's earlier life (removed at
        // start) or of a stream the provider started again: either way nothing in it counts.
        ::unlink(path.c_str());
        if (!file_.create(path)) {
            throw Error(sqlstate::kIoError,
                        "could not create the spool file of a streamed transaction",
                        fmt::format("File \"{}\" exists.", path));
        }
    }
    if (current_ != xid_) {
        marks_.note(current_, SubxactMarks::Position{file_.size(), file_.records()});
    }
    file_.append(payload);
}

bool StreamSpool::abort_subxact(TransactionId subxid) {
    file_.check_usable();
    std::optional<SubxactMarks::Position> cut = marks_.abort(subxid);
    if (!cut) {
        return false;
    }
    file_.truncate(cut->bytes, cut->records);
    return true;
}

std::unique_ptr<SpillReader> StreamSpool::reader() {
    if (!file_.is_open()) {
        return nullptr;  // nothing was spooled
    }
    return file_.reader();
}

}  // namespace spock::core
