#ifndef HADRON_CMALLOC_H
#define HADRON_CMALLOC_H

/// glibc's malloc tuning (`mallopt`), which the Glibc module does not export: <malloc.h> is not in its module map.
#include <malloc.h>

static inline int hadron_malloc_set_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
static inline int hadron_malloc_set_trim_threshold(int bytes) { return mallopt(M_TRIM_THRESHOLD, bytes); }

#endif
