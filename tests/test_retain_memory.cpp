// edm::retain_freed_memory: freed blocks stay in the heap for the next step.
// Each case runs in a child process (a death test's fork), since malloc's
// settings are the whole process's and cannot be undone.
#include <gtest/gtest.h>
#include <malloc.h>
#include <stdlib.h>

#include <cstdlib>
#include <cstring>

#include "edm/core/runtime.h"

namespace {

constexpr size_t kBlock = size_t{96} << 20;  // above glibc's largest mmap threshold (32 MiB)

// Exits 0 where a large block came from the heap (not mmap) and the heap kept
// its pages after the block was freed, 1 where it did not.
void* volatile sink;  // keeps the compiler from eliding the malloc and free

[[noreturn]] void exit_with_heap_kept() {
  const size_t mapped_before = mallinfo2().hblks;  // blocks mmapped by the process so far
  void* p = std::malloc(kBlock);
  std::memset(p, 1, kBlock);  // touched, as a tensor's values are
  sink = p;
  const bool from_heap = mallinfo2().hblks == mapped_before;
  std::free(p);
  const bool kept = mallinfo2().fordblks >= kBlock;  // free bytes still held by the heap
  std::exit(from_heap && kept ? 0 : 1);
}

TEST(RetainFreedMemory, KeepsALargeFreedBlockInTheHeap) {
  EXPECT_EXIT(
      {
        unsetenv("EDM_RETAIN_MEMORY");
        unsetenv("GLIBC_TUNABLES");
        edm::retain_freed_memory();
        exit_with_heap_kept();
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(RetainFreedMemory, LeavesGlibcsDefaultWhenTurnedOff) {
  EXPECT_EXIT(
      {
        setenv("EDM_RETAIN_MEMORY", "0", 1);
        edm::retain_freed_memory();
        exit_with_heap_kept();
      },
      ::testing::ExitedWithCode(1), "");
}

TEST(RetainFreedMemory, LeavesTheUsersMallocTunables) {
  EXPECT_EXIT(
      {
        unsetenv("EDM_RETAIN_MEMORY");
        setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
        edm::retain_freed_memory();
        exit_with_heap_kept();
      },
      ::testing::ExitedWithCode(1), "");
}

}  // namespace
