/* version.c — the one definition of the code version string (see version.h). */
#include "version.h"
#if __has_include("t2rec_version.inc")
#include "t2rec_version.inc"     /* generated: #define T2REC_VERSION_STR "..." */
#endif
#ifndef T2REC_VERSION_STR
#define T2REC_VERSION_STR "unknown"
#endif

const char t2rec_version[] = T2REC_VERSION_STR;
