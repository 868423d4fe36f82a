// The functions are static inline in include/cmalloc.h; SwiftPM wants a source file in a C target.
#include "cmalloc.h"
