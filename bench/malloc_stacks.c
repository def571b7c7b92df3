// LD_PRELOAD shim for bench/malloc_stacks.py: counts malloc calls per distinct call stack and
// writes the counts, with each frame as "object+offset", to $MALLOC_STACKS_OUT at exit.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH 10
#define SLOTS 65536

extern void* __libc_malloc(size_t size);

typedef struct {
  void* frames[DEPTH];
  unsigned long count;
} Site;

static Site sites[SLOTS];
static __thread int inside;  // backtrace() may allocate: do not count ourselves

void* malloc(size_t size) {
  void* p = __libc_malloc(size);
  if (inside) return p;
  inside = 1;
  void* frames[DEPTH + 1] = {0};
  const int depth = backtrace(frames, DEPTH + 1);
  uint64_t hash = 1469598103934665603ull;
  for (int i = 1; i < depth; ++i) {
    hash = (hash ^ (uint64_t)(uintptr_t)frames[i]) * 1099511628211ull;
  }
  // Open addressing; the frames after malloc itself name the site.
  unsigned slot = (unsigned)(hash % SLOTS);
  for (unsigned probes = 0; probes < SLOTS; ++probes, slot = (slot + 1) % SLOTS) {
    Site* s = &sites[slot];
    if (__atomic_load_n(&s->count, __ATOMIC_RELAXED) == 0) {
      memcpy(s->frames, frames + 1, sizeof(void*) * (size_t)(depth - 1));
      __atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED);
      break;
    }
    if (memcmp(s->frames, frames + 1, sizeof(void*) * (size_t)(depth - 1)) == 0) {
      __atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED);
      break;
    }
  }
  inside = 0;
  return p;
}

__attribute__((destructor)) static void write_counts(void) {
  inside = 1;
  const char* path = getenv("MALLOC_STACKS_OUT");
  FILE* out = fopen(path != NULL ? path : "malloc_stacks.txt", "w");
  if (out == NULL) return;
  for (int i = 0; i < SLOTS; ++i) {
    if (sites[i].count == 0) continue;
    fprintf(out, "%lu", sites[i].count);
    for (int d = 0; d < DEPTH && sites[i].frames[d] != NULL; ++d) {
      Dl_info info;
      if (dladdr(sites[i].frames[d], &info) == 0 || info.dli_fname == NULL) continue;
      const char* name = strrchr(info.dli_fname, '/');
      fprintf(out, " %s+0x%lx", name != NULL ? name + 1 : info.dli_fname,
              (unsigned long)((char*)sites[i].frames[d] - (char*)info.dli_fbase));
    }
    fprintf(out, "\n");
  }
  fclose(out);
}
