/* provenance.c — collect code version, compiler, BLAS core/threads, host and UTC times. */
#include "provenance.h"
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "blas.h"
#include "h5out.h"

#include "version.h"
#ifndef T2REC_CC
#define T2REC_CC "unknown"
#endif

int prov_collect(kvset *p)
{
    char buf[256];
    const char *v = T2REC_VERSION;
    size_t lv = strlen(v);
    int dirty = lv >= 6 && strcmp(v + lv - 6, "-dirty") == 0;
    int rc = 0;
    rc |= kv_set(p, "code_version", v);
    rc |= kv_set(p, "code_dirty", dirty ? "1" : "0");
    rc |= kv_set(p, "compiler", T2REC_CC);
    rc |= kv_set(p, "blas_core", blas_core() ? blas_core() : "unknown");
    snprintf(buf, sizeof buf, "%d", blas_threads());
    rc |= kv_set(p, "blas_threads", buf);
    rc |= kv_set(p, "blas_config", blas_config() ? blas_config() : "unknown");
    if (gethostname(buf, sizeof buf) != 0)
        snprintf(buf, sizeof buf, "unknown");
    buf[sizeof buf - 1] = 0;
    rc |= kv_set(p, "host", buf);
    snprintf(buf, sizeof buf, "%ld", (long)getpid());
    rc |= kv_set(p, "pid", buf);
    snprintf(buf, sizeof buf, "%d", H5OUT_SCHEMA_VERSION);
    rc |= kv_set(p, "t2rec_schema", buf);
    return rc ? -1 : 0;
}

void prov_now_iso(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03ldZ", day, ts.tv_nsec / 1000000L);
}
