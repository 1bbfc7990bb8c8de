/* version.h — the code version of this build ("git describe --always --dirty", or "unknown").
 *
 * The string lives in one object, src/version.c, compiled against a generated
 * BUILD/gen/t2rec_version.inc that the Makefile rewrites whenever the git state changes (and
 * only then): editing a source file makes the next `make` record "-dirty", committing makes it
 * record the new hash, and nothing else is rebuilt for it.
 */
#ifndef T2REC_VERSION_H
#define T2REC_VERSION_H

extern const char t2rec_version[];
#define T2REC_VERSION t2rec_version

#endif
