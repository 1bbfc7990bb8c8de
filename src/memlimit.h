/* memlimit.h — the memory limits a process runs under (ulimit -v, the cgroup memory limit) and
 * a check of a planned allocation against them, so that work that cannot fit is refused with
 * the numbers instead of failing (or, inside OpenBLAS, spinning) half way. */
#ifndef MEMLIMIT_H
#define MEMLIMIT_H

#include <stddef.h>

typedef struct {
    double as_limit;     /* RLIMIT_AS soft limit in bytes (ulimit -v); 0 = none */
    double as_used;      /* this process's address space now (VmSize) */
    double cg_limit;     /* cgroup memory limit (v2 memory.max or v1 memory.limit_in_bytes,
                          * the smallest along the path); 0 = none */
    double cg_used;      /* the cgroup's memory in use (memory.current / usage_in_bytes) */
} memlimit;

/* Read the limits and the current use. Never fails: what cannot be read is 0 (no limit). */
void memlimit_read(memlimit *m);

/* Can `as_need` more bytes of address space be mapped (ulimit -v) and `used_need` more bytes be
 * used (cgroup: counts only pages touched)? 0 when they fit (or no limit applies); -1 with a
 * message naming the limit, the need and what is left, in MiB ("what" says what needs it). */
int memlimit_check(double as_need, double used_need, const char *what, char *err, size_t errlen);

#endif
