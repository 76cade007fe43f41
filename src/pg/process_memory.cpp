#include "spock/pg/process_memory.hpp"

#include <malloc.h>

namespace spock::pg {

void keep_freed_memory() {
#ifdef M_TRIM_THRESHOLD
    // Blocks up to this size come from the heap (not a mapping of their own), and the heap's
    // free top is only given back once it passes the same size. Fixing both also stops glibc's
    // own threshold adjustment. The calls can only fail on an invalid value; then the defaults
    // stay, which is merely slower.
    constexpr int kKeep = 32 * 1024 * 1024;
    mallopt(M_MMAP_THRESHOLD, kKeep);
    mallopt(M_TRIM_THRESHOLD, kKeep);
#endif
}

}  // namespace spock::pg
