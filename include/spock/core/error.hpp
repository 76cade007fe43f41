// The one exception type that crosses from core or glue code to an entry point guard.
//
// It carries everything PostgreSQL's ereport() needs: a five-character SQLSTATE, the primary
// message, and the optional detail and hint. Core code knows SQLSTATEs only as strings, so it
// stays free of PostgreSQL headers.
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace spock::core {

// SQLSTATE codes we raise, by the names PostgreSQL's errcodes.txt gives them.
namespace sqlstate {
inline constexpr std::string_view kInternalError = "XX000";
inline constexpr std::string_view kOutOfMemory = "53200";
inline constexpr std::string_view kFeatureNotSupported = "0A000";
inline constexpr std::string_view kInvalidParameterValue = "22023";
inline constexpr std::string_view kNullValueNotAllowed = "22004";
inline constexpr std::string_view kUndefinedObject = "42704";
inline constexpr std::string_view kDuplicateObject = "42710";
inline constexpr std::string_view kInvalidName = "42602";
inline constexpr std::string_view kObjectNotInPrerequisiteState = "55000";
inline constexpr std::string_view kInsufficientPrivilege = "42501";
inline constexpr std::string_view kWrongObjectType = "42809";
inline constexpr std::string_view kConnectionException = "08000";
inline constexpr std::string_view kConnectionFailure = "08006";
inline constexpr std::string_view kProtocolViolation = "08P01";
inline constexpr std::string_view kDataCorrupted = "XX001";
inline constexpr std::string_view kIoError = "58030";
inline constexpr std::string_view kDiskFull = "53100";
inline constexpr std::string_view kProgramLimitExceeded = "54000";
}  // namespace sqlstate

// True when s is five characters from [0-9A-Z], the shape of every SQLSTATE.
bool is_valid_sqlstate(std::string_view s) noexcept;

class Error : public std::exception {
  public:
    Error(std::string_view sqlstate, std::string message, std::string detail = {},
          std::string hint = {});

    const char* what() const noexcept override { return message_.c_str(); }
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    const std::string& message() const noexcept { return message_; }
    const std::string& detail() const noexcept { return detail_; }
    const std::string& hint() const noexcept { return hint_; }

  private:
    std::string sqlstate_;
    std::string message_;
    std::string detail_;
    std::string hint_;
};

}  // namespace spock::core
