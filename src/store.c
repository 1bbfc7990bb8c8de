/* store.c — the results store of a running sweep: results file + staged cell files, hash
 * index, consolidation policy (see store.h). */
#include "store.h"
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "h5out.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const char *key_at(const void *ctx, int pos)
{
    return ((const store *)ctx)->recs[pos].key;
}

const cell_record *store_find(const store *s, const char *key)
{
    int at = keyindex_find(&s->ix, key, key_at, s);
    return at >= 0 ? &s->recs[at] : NULL;
}

void store_staged_path(const store *s, const char *key, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s.h5", s->staging, key);
}

static const char *end_time(const cell_record *r)
{
    return kv_str(&r->provenance, "end_time", "");
}

/* Take a copy of r: replaces the record of its key unless that one is newer. 0 / -1 (memory). */
static int upsert(store *s, const cell_record *r, int *at_out)
{
    int at = keyindex_find(&s->ix, r->key, key_at, s);
    if (at >= 0) {
        if (at_out)
            *at_out = at;
        if (strcmp(end_time(r), end_time(&s->recs[at])) < 0)
            return 0;   /* the record we have is newer */
        cell_record c;
        if (record_copy(&c, r) != 0)
            return -1;
        record_free(&s->recs[at]);
        s->recs[at] = c;
        return 0;
    }
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 256;
        cell_record *p = realloc(s->recs, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        s->recs = p;
        s->cap = cap;
    }
    if (record_copy(&s->recs[s->n], r) != 0)
        return -1;
    if (keyindex_add(&s->ix, r->key, s->n, key_at, s) != 0) {
        record_free(&s->recs[s->n]);
        return -1;
    }
    if (at_out)
        *at_out = s->n;
    s->n++;
    return 0;
}

static int note_staged(store *s, const char *key)
{
    if (s->nstaged == s->capstaged) {
        int cap = s->capstaged ? 2 * s->capstaged : 256;
        char (*p)[17] = realloc(s->staged, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        s->staged = p;
        s->capstaged = cap;
    }
    snprintf(s->staged[s->nstaged++], 17, "%s", key);
    return 0;
}

static int is_staged_name(const char *name, char *key)
{
    size_t l = strlen(name);
    if (l < 4 || l > 19 || strcmp(name + l - 3, ".h5") != 0)
        return 0;
    snprintf(key, 17, "%.*s", (int)(l - 3), name);
    return 1;
}

int store_open(store *s, const char *path, int *folded, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    keyindex_init(&s->ix);
    s->min_batch = STORE_MIN_BATCH;
    s->max_lag = STORE_MAX_LAG;
    s->max_overhead = STORE_MAX_OVERHEAD;
    s->last_flush = now_seconds();
    *folded = 0;
    size_t pl = strlen(path);
    s->path = strdup(path);
    s->staging = malloc(pl + 8);
    if (!s->path || !s->staging) {
        seterr(err, errlen, "out of memory");
        return -2;
    }
    snprintf(s->staging, pl + 8, "%s.cells", path);
    struct stat st;
    if (stat(path, &st) == 0) {
        cell_record *r = NULL;
        int n = 0;
        if (h5out_read(path, &r, &n, err, errlen) != 0)
            return -1;
        s->recs = r;
        s->n = s->cap = n;
        for (int k = 0; k < n; k++)
            if (keyindex_find(&s->ix, r[k].key, key_at, s) < 0 &&
                keyindex_add(&s->ix, r[k].key, k, key_at, s) != 0) {
                seterr(err, errlen, "out of memory");
                return -2;
            }
        s->in_file = n;
        s->file_current = 1;
    }
    DIR *dd = opendir(s->staging);
    if (!dd)
        return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(dd))) {
        char key[17];
        if (!is_staged_name(e->d_name, key))
            continue;
        char p[4200], msg[1024];
        snprintf(p, sizeof p, "%s/%s", s->staging, e->d_name);
        cell_record *r = NULL;
        int n = 0;
        if (h5out_read(p, &r, &n, msg, sizeof msg) != 0) {
            if (!s->ignored++)
                snprintf(s->note, sizeof s->note, "%s", msg);
            continue;
        }
        for (int k = 0; k < n && rc == 0; k++)
            if (upsert(s, &r[k], NULL) != 0)
                rc = -2;
        if (rc == 0 && n > 0 && note_staged(s, key) != 0)
            rc = -2;
        if (n > 0) {
            (*folded)++;
            s->file_current = 0;
        }
        h5out_free_records(r, n);
    }
    closedir(dd);
    if (rc)
        seterr(err, errlen, "out of memory");
    return rc;
}

void store_close(store *s)
{
    h5out_free_records(s->recs, s->n);
    keyindex_free(&s->ix);
    free(s->staged);
    free(s->path);
    free(s->staging);
    memset(s, 0, sizeof *s);
}

int store_make_staging(store *s, char *err, size_t errlen)
{
    if (mkdir(s->staging, 0777) != 0 && errno != EEXIST) {
        seterr(err, errlen, "cannot create %s: %s", s->staging, strerror(errno));
        return -1;
    }
    return 0;
}

int store_flush(store *s, int force, char *err, size_t errlen)
{
    if (s->file_current && !force)
        return 0;
    double t0 = now_seconds();
    if (h5out_write(s->path, s->recs, s->n, err, errlen) != 0) {
        s->seconds += now_seconds() - t0;
        return -1;
    }
    /* the file (renamed into place and synced) now holds every staged cell */
    for (int k = 0; k < s->nstaged; k++) {
        char p[4200];
        store_staged_path(s, s->staged[k], p, sizeof p);
        unlink(p);
    }
    s->nstaged = 0;
    s->in_file = s->n;
    s->file_current = 1;
    double t1 = now_seconds();
    s->flush_cost = t1 - t0;
    s->last_flush = t1;
    s->seconds += t1 - t0;
    s->flushes++;
    return 0;
}

static int flush_if_due(store *s, char *err, size_t errlen)
{
    int batch = s->in_file > s->min_batch ? s->in_file : s->min_batch;
    double since = now_seconds() - s->last_flush;
    int due = s->nstaged >= batch ||
              (s->nstaged > 0 && since >= s->max_lag && since >= s->max_overhead * s->flush_cost);
    if (due && store_flush(s, 0, err, errlen) != 0)
        return -2;
    return 0;
}

int store_put(store *s, const cell_record *r, char *err, size_t errlen)
{
    double t0 = now_seconds();
    char p[4200];
    store_staged_path(s, r->key, p, sizeof p);
    int rc = 0;
    if (h5out_write(p, r, 1, err, errlen) != 0) {
        rc = -1;
    } else if (upsert(s, r, NULL) != 0 || note_staged(s, r->key) != 0) {
        /* the staged file is on disk: the next run folds it in */
        seterr(err, errlen, "out of memory storing cell %s (its file %s is kept)", r->key, p);
        rc = -1;
    } else {
        s->file_current = 0;
    }
    s->seconds += now_seconds() - t0;
    return rc ? rc : flush_if_due(s, err, errlen);
}

int store_take(store *s, const char *key, const cell_record **rec, char *err, size_t errlen)
{
    double t0 = now_seconds();
    char p[4200];
    store_staged_path(s, key, p, sizeof p);
    cell_record *r = NULL;
    int n = 0, at = -1, rc = 0;
    if (h5out_read_opts(p, 1, &r, &n, err, errlen) != 0) {
        rc = -1;
    } else if (n != 1 || strcmp(r[0].key, key) != 0) {
        seterr(err, errlen, "%s: holds %d records, expected the one of cell %s", p, n, key);
        rc = -1;
    } else if (upsert(s, &r[0], &at) != 0 || note_staged(s, key) != 0) {
        seterr(err, errlen, "out of memory storing cell %s (its file %s is kept)", key, p);
        rc = -1;
    } else {
        s->file_current = 0;
    }
    h5out_free_records(r, n);
    if (rec)
        *rec = at >= 0 ? &s->recs[at] : NULL;
    s->seconds += now_seconds() - t0;
    return rc ? rc : flush_if_due(s, err, errlen);
}

/* Remove dir/BASE.tmp.PID files whose PID is not running. */
static void remove_stale_temps(const char *dir, const char *base)
{
    DIR *dd = opendir(dir);
    if (!dd)
        return;
    struct dirent *e;
    size_t bl = strlen(base);
    while ((e = readdir(dd))) {
        const char *t = strstr(e->d_name + bl, ".tmp.");
        if (strncmp(e->d_name, base, bl) != 0 || !t || (bl && t != e->d_name + bl))
            continue;
        long pid = strtol(t + 5, NULL, 10);
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
            continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(dd);
}

void store_cleanup(store *s)
{
    char dir[4096];
    const char *slash = strrchr(s->path, '/'), *base = s->path;
    if (slash) {
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - s->path), s->path);
        if (!*dir)
            snprintf(dir, sizeof dir, "/");
        base = slash + 1;
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    remove_stale_temps(dir, base);
    remove_stale_temps(s->staging, "");
    rmdir(s->staging);   /* only when empty */
}
