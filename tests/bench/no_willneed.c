/* LD_PRELOAD shim for tests/bench/bench_load.sh: turns madvise(MADV_WILLNEED) into a no-op, so the
   same peft-studio-cli binary can be timed with and without the safetensors reader's read-ahead. */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int madvise(void* addr, size_t len, int advice) {
    if (advice == MADV_WILLNEED) return 0;
    return (int)syscall(SYS_madvise, addr, len, advice);
}
