/* memlimit.c — ulimit -v and cgroup memory limits, read from getrlimit, /proc and /sys (see
 * memlimit.h). */
#include "memlimit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MIB (1024.0 * 1024.0)

/* a number in a one-line file; -1 when missing or "max" */
static double read_number(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[64] = "";
    double v = -1;
    if (fgets(line, sizeof line, f) && line[0] >= '0' && line[0] <= '9')
        v = strtod(line, NULL);
    fclose(f);
    return v;
}

/* VmSize of this process in bytes (0 when /proc cannot be read) */
static double vm_size(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    double v = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmSize:", 7) == 0) {
            v = strtod(line + 7, NULL) * 1024.0;
            break;
        }
    fclose(f);
    return v;
}

/* The smallest limit file `limit_name` along the cgroup directory `root``path` and its parents;
 * the usage file `used_name` read next to it. v1 reports "no limit" as a huge number. */
static void walk(const char *root, const char *path, const char *limit_name,
                 const char *used_name, memlimit *m)
{
    char p[1024], dir[900];
    snprintf(dir, sizeof dir, "%s", path);
    for (;;) {
        snprintf(p, sizeof p, "%s%s/%s", root, dir, limit_name);
        double lim = read_number(p);
        if (lim > 0 && lim < 1e18 && (m->cg_limit == 0 || lim < m->cg_limit)) {
            m->cg_limit = lim;
            snprintf(p, sizeof p, "%s%s/%s", root, dir, used_name);
            double u = read_number(p);
            m->cg_used = u > 0 ? u : 0;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || dir[0] == '\0')
            break;
        *slash = '\0';   /* "/a/b" -> "/a" -> "" (the root) */
    }
}

static void read_cgroup(memlimit *m)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *ctrl = c1 + 1, *path = c2 + 1;
        if (strcmp(path, "/") == 0)
            path = "";
        if (strcmp(line, "0") == 0 && ctrl[0] == '\0') {   /* v2 */
            walk("/sys/fs/cgroup", path, "memory.max", "memory.current", m);
            walk("/sys/fs/cgroup/unified", path, "memory.max", "memory.current", m);
        } else {   /* v1: the line of the memory controller */
            char list[256];
            snprintf(list, sizeof list, ",%s,", ctrl);
            if (strstr(list, ",memory,"))
                walk("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes",
                     "memory.usage_in_bytes", m);
        }
    }
    fclose(f);
}

void memlimit_read(memlimit *m)
{
    memset(m, 0, sizeof *m);
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        m->as_limit = (double)rl.rlim_cur;
    m->as_used = vm_size();
    read_cgroup(m);
}

int memlimit_check(double as_need, double used_need, const char *what, char *err, size_t errlen)
{
    memlimit m;
    memlimit_read(&m);
    if (m.as_limit > 0 && m.as_used + as_need > m.as_limit) {
        snprintf(err, errlen,
                 "memory limit: %s needs about %.0f MiB more address space, but the address-space "
                 "limit (ulimit -v) is %.0f MiB and %.0f MiB of it are in use (%.0f MiB left)",
                 what, as_need / MIB, m.as_limit / MIB, m.as_used / MIB,
                 m.as_limit > m.as_used ? (m.as_limit - m.as_used) / MIB : 0.0);
        return -1;
    }
    if (m.cg_limit > 0 && m.cg_used + used_need > m.cg_limit) {
        snprintf(err, errlen,
                 "memory limit: %s needs about %.0f MiB more memory, but the cgroup memory limit "
                 "is %.0f MiB and %.0f MiB of it are in use (%.0f MiB left)",
                 what, used_need / MIB, m.cg_limit / MIB, m.cg_used / MIB,
                 m.cg_limit > m.cg_used ? (m.cg_limit - m.cg_used) / MIB : 0.0);
        return -1;
    }
    return 0;
}
