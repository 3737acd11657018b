// Symbol visibility. The library is built with -fvisibility=hidden; only what is
// marked CUMLP_API is exported from libcumlp.so.
#pragma once

#if defined(CUMLP_BUILDING_LIBRARY)
#define CUMLP_API __attribute__((visibility("default")))
#else
#define CUMLP_API
#endif
