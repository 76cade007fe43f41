// Memory behaviour of spock's long-running apply processes.
#pragma once

namespace spock::pg {

// Keeps memory the process frees for reuse instead of handing it back to the kernel at once.
// An apply worker builds and frees megabytes per remote transaction (buffered rows, the
// transaction's replay record); with glibc's defaults those blocks are unmapped or trimmed on
// every free and faulted in again, zeroed, on the next transaction (a quarter of the worker's
// CPU for 4 MB transactions of TOASTed rows). The peak resident size is unchanged; what was
// freed is kept up to that peak. Call once at process start.
void keep_freed_memory();

}  // namespace spock::pg
