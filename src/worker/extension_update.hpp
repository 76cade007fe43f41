// The manager's check of the extension's version (docs/upgrading.md): a database whose
// extension spock is at a Spock 5.0.x version (spock.so replaced under a database Spock made)
// is updated with ALTER EXTENSION spock UPDATE before any worker starts, as Spock's manager
// updates its extension (reference §1.3).
#pragma once

#include <string>

namespace spock::worker {

class ExtensionUpdate {
  public:
    // True when the extension is missing (the caller finds that out) or at the library's
    // version, after updating it from 5.0.x if need be. False while it is at a version this
    // library cannot run with: the manager then starts no worker and asks again later. A
    // failed or impossible update is a WARNING, repeated only when the version changes.
    // Opens transactions of its own.
    bool ready();

  private:
    std::string warned_;  // the version last warned about
};

}  // namespace spock::worker
