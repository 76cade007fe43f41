// Version numbers of the extension and of the native protocol it speaks.
#pragma once

namespace spock::core {

inline constexpr const char* kVersion = "5.1.0";
inline constexpr int kVersionNum = 50100;

// Native protocol versions we accept from peers (reference §5.1).
inline constexpr int kMinProtoVersion = 3;
inline constexpr int kMaxProtoVersion = 4;

}  // namespace spock::core
