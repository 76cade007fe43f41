// Replaces the global operator new of the unit test binary with one that counts calls, so that
// tests can check that a hot path allocates nothing (see replay_buffer_test.cpp). It lives in a
// translation unit of its own so that the compiler never sees it inlined next to a delete.
#include <atomic>
#include <cstdlib>
#include <new>

namespace spock::test {
namespace {
std::atomic<long> g_allocations{0};
}
long allocation_count() noexcept {
    return g_allocations.load(std::memory_order_relaxed);
}
}  // namespace spock::test

void* operator new(std::size_t n) {
    spock::test::g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}

void operator delete(void* p) noexcept {
    std::free(p);
}

void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
