/* sweep.c — the sweep driver (see sweep.h). */
#include "sweep.h"
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "blas.h"
#include "cellrun.h"
#include "config.h"
#include "h5out.h"
#include "provenance.h"

void sweep_shard_path(const char *out, int i, int n, char *buf, size_t len)
{
    const char *dot = strrchr(out, '.');
    const char *slash = strrchr(out, '/');
    if (!dot || (slash && dot < slash))
        dot = out + strlen(out);
    snprintf(buf, len, "%.*s.shard-%d-of-%d%s", (int)(dot - out), out, i, n,
             *dot ? dot : ".h5");
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* ---- the in-memory view of the results file ---- */

typedef struct {
    const char *path;
    cell_record *recs;
    int n;
} store;

static const cell_record *store_find(const store *s, const char *key)
{
    for (int k = 0; k < s->n; k++)
        if (strcmp(s->recs[k].key, key) == 0)
            return &s->recs[k];
    return NULL;
}

static int store_add(store *s, const cell_record *r, int count)
{
    return h5out_merge(&s->recs, &s->n, r, count);
}

static int store_save(store *s)
{
    char err[1024];
    if (h5out_write(s->path, s->recs, s->n, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec run: %s\n", err);
        return -1;
    }
    return 0;
}

/* ---- output checks ---- */

static int check_output_dir(const char *out)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(out, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == out)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - out), out);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "t2rec run: %s: output directory '%s' %s\n", out, dir,
                stat(dir, &st) == 0 ? "is not a directory" : "does not exist");
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "t2rec run: %s: output directory '%s' is not writable\n", out, dir);
        return -1;
    }
    if (access(out, F_OK) == 0 && access(out, W_OK) != 0) {
        fprintf(stderr, "t2rec run: %s: results file is not writable\n", out);
        return -1;
    }
    return 0;
}

/* Remove temp files a killed writer left next to path (name.tmp.PID with PID gone). */
static void remove_stale_temps(const char *dir, const char *base)
{
    DIR *dd = opendir(dir);
    if (!dd)
        return;
    struct dirent *e;
    size_t bl = strlen(base);
    while ((e = readdir(dd))) {
        if (strncmp(e->d_name, base, bl) != 0 || strncmp(e->d_name + bl, ".tmp.", 5) != 0)
            continue;
        long pid = strtol(e->d_name + bl + 5, NULL, 10);
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(dd);
}

static void split_path(const char *path, char *dir, size_t dl, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (slash) {
        snprintf(dir, dl, "%.*s", (int)(slash - path), path);
        if (!*dir)
            snprintf(dir, dl, "/");
        *base = slash + 1;
    } else {
        snprintf(dir, dl, ".");
        *base = path;
    }
}

/* Fold the cell files a killed run left in STAGING into the store; remove them. */
static int fold_staged(store *s, const char *staging, int *folded)
{
    *folded = 0;
    DIR *dd = opendir(staging);
    if (!dd)
        return 0;
    remove_stale_temps(staging, "");
    struct dirent *e;
    while ((e = readdir(dd))) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 3, ".h5") != 0)
            continue;
        char p[PATH_MAX + 300], err[1024];
        snprintf(p, sizeof p, "%s/%s", staging, e->d_name);
        cell_record *r = NULL;
        int n = 0;
        if (h5out_read(p, &r, &n, err, sizeof err) == 0) {
            if (store_add(s, r, n) != 0) {
                h5out_free_records(r, n);
                closedir(dd);
                return -1;
            }
            (*folded)++;
            h5out_free_records(r, n);
        } else {
            fprintf(stderr, "t2rec run: note: ignoring unreadable cell file %s (%s)\n", p, err);
        }
    }
    closedir(dd);
    return 0;
}

static void clear_staging(const char *staging)
{
    DIR *dd = opendir(staging);
    if (!dd)
        return;
    struct dirent *e;
    while ((e = readdir(dd))) {
        if (e->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", staging, e->d_name);
        unlink(p);
    }
    closedir(dd);
    rmdir(staging);
}

/* ---- progress ---- */

typedef struct {
    int on, total, done, failed;
    double t0;
} progress;

static void fmt_secs(double s, char *buf, size_t n)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
    else if (t >= 60)
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, n, "%lds", t);
}

static void progress_show(progress *p, const cfg_cell *cell, const char *what)
{
    if (!p->on)
        return;
    char eta[32] = "?";
    if (p->done > 0)
        fmt_secs((now_seconds() - p->t0) / p->done * (p->total - p->done), eta, sizeof eta);
    const char *nobs = kv_get(&cell->data, "n_obs");
    fprintf(stderr, "\r\033[K[%d/%d] %s %s %s%s%s rep %d%s | ETA %s", p->done, p->total,
            what, cell->key, cell->method, nobs ? " n_obs=" : "", nobs ? nobs : "",
            cell->replicate, p->failed ? " (some failed)" : "", eta);
    fflush(stderr);
}

/* ---- workers ---- */

typedef struct {
    int index;     /* cell index in the todo list */
    int status;    /* 0 record written, -1 could not */
} worker_msg;

static int write_cell_file(const char *staging, const cell_record *r, char *err, size_t errlen)
{
    char p[PATH_MAX + 300];
    snprintf(p, sizeof p, "%s/%s.h5", staging, r->key);
    return h5out_write(p, r, 1, err, errlen);
}

static void worker_main(const cfg *c, cfg_cell *cells, int *todo, int cmd_fd, int res_fd,
                        const char *staging, int threads)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    blas_set_threads(threads);
    cellrun_cache cache;
    cellrun_cache_init(&cache);
    int idx;
    while (read(cmd_fd, &idx, sizeof idx) == (ssize_t)sizeof idx && idx >= 0) {
        cell_record rec;
        record_init(&rec);
        worker_msg msg = {idx, -1};
        char err[1024];
        if (cellrun_run(c, &cells[todo[idx]], &cache, threads, &rec) == 0 &&
            write_cell_file(staging, &rec, err, sizeof err) == 0)
            msg.status = 0;
        else
            fprintf(stderr, "t2rec run: worker: cell %s: %s\n", cells[todo[idx]].key, err);
        record_free(&rec);
        if (write(res_fd, &msg, sizeof msg) != (ssize_t)sizeof msg)
            break;
    }
    cellrun_cache_free(&cache);
    _exit(0);
}

static void record_worker_death(store *s, const cfg_cell *cell, int status)
{
    cell_record rec;
    record_init(&rec);
    memcpy(rec.key, cell->key, sizeof rec.key);
    rec.replicate = cell->replicate;
    rec.data_seed = cell->data_seed;
    rec.train_seed = cell->train_seed;
    kv_copy(&rec.config, &cell->all);
    prov_collect(&rec.provenance);
    char when[40];
    prov_now_iso(when, sizeof when);
    kv_set(&rec.provenance, "start_time", when);
    kv_set(&rec.provenance, "end_time", when);
    snprintf(rec.status, sizeof rec.status, "failed");
    char why[128];
    if (WIFSIGNALED(status))
        snprintf(why, sizeof why, "worker died: signal %d", WTERMSIG(status));
    else
        snprintf(why, sizeof why, "worker died: exit %d", WEXITSTATUS(status));
    free(rec.reason);
    rec.reason = strdup(why);
    store_add(s, &rec, 1);
    record_free(&rec);
}

/* Which cells to hand to which worker. Each worker keeps the last dataset it built
 * (cellrun_cache), so a free worker gets the next cell on the same data as its last cell if there
 * is one, else the first cell not yet handed out. Cells on one dataset are adjacent in the todo
 * list (a twotower and a baseline cell, say); handed out strictly in order, two workers would
 * each build that dataset. Only the order changes: every cell's numbers are its own. */
typedef struct {
    int n, next;          /* next: no cell before it is still pending */
    int *group;           /* (n) data group of each todo cell */
    int *gnext;           /* (n) next todo cell of the same group, -1 */
    int *gcur;            /* (groups) first possibly pending cell of the group */
    char *taken;          /* (n) */
} dispatch;

typedef struct {
    char *id;
    int idx;
} id_idx;

static int cmp_id(const void *a, const void *b)
{
    const id_idx *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : x->idx - y->idx;
}

static void dispatch_free(dispatch *d)
{
    free(d->group);
    free(d->gnext);
    free(d->gcur);
    free(d->taken);
}

/* 0, or -1 when out of memory. */
static int dispatch_init(dispatch *d, cfg_cell *cells, const int *todo, int n)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->group = malloc((size_t)(n ? n : 1) * sizeof *d->group);
    d->gnext = malloc((size_t)(n ? n : 1) * sizeof *d->gnext);
    d->gcur = malloc((size_t)(n ? n : 1) * sizeof *d->gcur);
    d->taken = calloc((size_t)(n ? n : 1), 1);
    id_idx *v = calloc((size_t)(n ? n : 1), sizeof *v);
    int ok = d->group && d->gnext && d->gcur && d->taken && v;
    for (int i = 0; ok && i < n; i++) {
        v[i].idx = i;
        ok = (v[i].id = cellrun_data_identity(&cells[todo[i]])) != NULL;
    }
    if (ok) {
        qsort(v, (size_t)n, sizeof *v, cmp_id);   /* a group's cells end up in todo order */
        int g = -1;
        for (int k = 0; k < n; k++) {
            if (k == 0 || strcmp(v[k].id, v[k - 1].id) != 0)
                d->gcur[++g] = v[k].idx;
            d->group[v[k].idx] = g;
            d->gnext[v[k].idx] = k + 1 < n && strcmp(v[k].id, v[k + 1].id) == 0 ? v[k + 1].idx : -1;
        }
    }
    for (int i = 0; v && i < n; i++)
        free(v[i].id);
    free(v);
    if (!ok)
        dispatch_free(d);
    return ok ? 0 : -1;
}

/* Put cell i back (it could not be handed to its worker). */
static void dispatch_unpick(dispatch *d, int i)
{
    int g = d->group[i];
    d->taken[i] = 0;
    if (i < d->next)
        d->next = i;
    if (d->gcur[g] < 0 || i < d->gcur[g])
        d->gcur[g] = i;
}

/* The next cell for a worker whose last cell was `last` (-1: none); -1 when none is left. */
static int dispatch_pick(dispatch *d, int last)
{
    int i = -1;
    if (last >= 0) {
        int g = d->group[last];
        while (d->gcur[g] >= 0 && d->taken[d->gcur[g]])
            d->gcur[g] = d->gnext[d->gcur[g]];
        i = d->gcur[g];
    }
    if (i < 0) {
        while (d->next < d->n && d->taken[d->next])
            d->next++;
        i = d->next < d->n ? d->next : -1;
    }
    if (i >= 0)
        d->taken[i] = 1;
    return i;
}

static int run_parallel(const cfg *c, cfg_cell *cells, int *todo, int ntodo, int jobs,
                        int threads, store *s, const char *staging, progress *pr)
{
    if (mkdir(staging, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "t2rec run: cannot create %s: %s\n", staging, strerror(errno));
        return 1;
    }
    int res[2];
    if (pipe(res) != 0)
        return 1;
    if (jobs > ntodo)
        jobs = ntodo;
    pid_t *pid = calloc((size_t)jobs, sizeof *pid);
    int *cmd = calloc((size_t)jobs, sizeof *cmd);
    int *busy = calloc((size_t)jobs, sizeof *busy);   /* todo index in flight, or -1 */
    int *last = calloc((size_t)jobs, sizeof *last);   /* the worker's last cell, or -1 */
    dispatch dp;
    if (!pid || !cmd || !busy || !last || dispatch_init(&dp, cells, todo, ntodo) != 0)
        return 1;
    fflush(NULL);
    for (int w = 0; w < jobs; w++) {
        int p[2];
        if (pipe(p) != 0)
            return 1;
        pid[w] = fork();
        if (pid[w] < 0) {
            fprintf(stderr, "t2rec run: fork: %s\n", strerror(errno));
            return 1;
        }
        if (pid[w] == 0) {
            close(p[1]);
            close(res[0]);
            for (int v = 0; v < w; v++)
                close(cmd[v]);
            worker_main(c, cells, todo, p[0], res[1], staging, threads);
        }
        close(p[0]);
        cmd[w] = p[1];
        busy[w] = -1;
    }
    close(res[1]);

    int inflight = 0, rc = 0, handed = 0;
    for (int w = 0; w < jobs; w++) {
        int i = dispatch_pick(&dp, -1);
        last[w] = i;
        if (i >= 0 && write(cmd[w], &i, sizeof i) == (ssize_t)sizeof i) {
            busy[w] = i;
            inflight++;
            handed++;
        } else if (i >= 0)
            dispatch_unpick(&dp, i);
    }
    while (inflight > 0) {
        struct pollfd pf = {.fd = res[0], .events = POLLIN};
        int pr_ = poll(&pf, 1, 500);
        if (pr_ > 0) {
            worker_msg msg;
            ssize_t got = read(res[0], &msg, sizeof msg);
            if (got == (ssize_t)sizeof msg) {
                int w;
                for (w = 0; w < jobs && busy[w] != msg.index; w++)
                    ;
                const cfg_cell *cell = &cells[todo[msg.index]];
                if (msg.status == 0) {
                    char p[PATH_MAX + 300], err[1024];
                    snprintf(p, sizeof p, "%s/%s.h5", staging, cell->key);
                    cell_record *r = NULL;
                    int n = 0;
                    if (h5out_read(p, &r, &n, err, sizeof err) == 0) {
                        if (n > 0 && strcmp(r[0].status, "ok") != 0)
                            pr->failed++;
                        store_add(s, r, n);
                        h5out_free_records(r, n);
                        if (store_save(s) != 0) {
                            rc = 1;
                            break;
                        }
                        unlink(p);
                    } else {
                        fprintf(stderr, "t2rec run: %s\n", err);
                    }
                } else {
                    pr->failed++;
                }
                pr->done++;
                progress_show(pr, cell, "done");
                inflight--;
                if (w < jobs) {
                    busy[w] = -1;
                    int i = dispatch_pick(&dp, last[w]);
                    if (i >= 0 && write(cmd[w], &i, sizeof i) == (ssize_t)sizeof i) {
                        last[w] = i;
                        busy[w] = i;
                        inflight++;
                        handed++;
                    } else if (i >= 0)
                        dispatch_unpick(&dp, i);
                }
                continue;
            }
        }
        /* a worker that died with a cell in flight: record it failed, go on without it */
        for (int w = 0; w < jobs; w++) {
            if (pid[w] <= 0)
                continue;
            int st;
            if (waitpid(pid[w], &st, WNOHANG) == pid[w]) {
                pid[w] = 0;
                if (busy[w] >= 0) {
                    const cfg_cell *cell = &cells[todo[busy[w]]];
                    fprintf(stderr, "\nt2rec run: worker %d died running cell %s\n", w, cell->key);
                    record_worker_death(s, cell, st);
                    store_save(s);
                    pr->failed++;
                    pr->done++;
                    busy[w] = -1;
                    inflight--;
                }
                close(cmd[w]);
                cmd[w] = -1;
            }
        }
        int alive = 0;
        for (int w = 0; w < jobs; w++)
            alive += pid[w] > 0;
        if (!alive && (inflight > 0 || handed < ntodo)) {
            fprintf(stderr, "t2rec run: every worker died; %d cells not run\n", ntodo - pr->done);
            rc = 1;
            break;
        }
    }
    int stop = -1;
    for (int w = 0; w < jobs; w++)
        if (cmd[w] >= 0) {
            if (write(cmd[w], &stop, sizeof stop) < 0) { /* worker already gone */ }
            close(cmd[w]);
        }
    for (int w = 0; w < jobs; w++)
        if (pid[w] > 0)
            waitpid(pid[w], NULL, 0);
    close(res[0]);
    free(pid);
    free(cmd);
    free(busy);
    free(last);
    dispatch_free(&dp);
    return rc;
}

static int run_serial(const cfg *c, cfg_cell *cells, int *todo, int ntodo, int threads, store *s,
                      progress *pr)
{
    cellrun_cache cache;
    cellrun_cache_init(&cache);
    int rc = 0;
    for (int k = 0; k < ntodo; k++) {
        cfg_cell *cell = &cells[todo[k]];
        progress_show(pr, cell, "running");
        cell_record rec;
        record_init(&rec);
        if (cellrun_run(c, cell, &cache, threads, &rec) != 0) {
            record_free(&rec);
            fprintf(stderr, "t2rec run: out of memory in cell %s\n", cell->key);
            rc = 1;
            break;
        }
        if (strcmp(rec.status, "ok") != 0)
            pr->failed++;
        int bad = store_add(s, &rec, 1) != 0 || store_save(s) != 0;
        record_free(&rec);
        if (bad) {
            rc = 1;
            break;
        }
        pr->done++;
        progress_show(pr, cell, "done");
    }
    cellrun_cache_free(&cache);
    return rc;
}

/* ---- listing ---- */

static void dry_run_list(const cfg_cell *cells, int n, const int *sel, int nsel, const store *s)
{
    /* columns: the keys whose values vary over the listed cells */
    const kvset *first = nsel ? &cells[sel[0]].all : NULL;
    printf("%-5s %-16s %-4s %-9s %-7s %s\n", "index", "key", "rep", "method", "status", "varying keys");
    for (int k = 0; k < nsel; k++) {
        const cfg_cell *cell = &cells[sel[k]];
        const cell_record *r = store_find(s, cell->key);
        printf("%-5d %-16s %-4d %-9s %-7s", cell->index, cell->key, cell->replicate, cell->method,
               r ? r->status : "todo");
        for (int j = 0; first && j < cell->all.n; j++) {
            const char *key = cell->all.key[j];
            if (!strcmp(key, "method"))
                continue;
            /* data keys: varying over the listed cells; method keys: within the method */
            int varies = 0, is_method = !strncmp(key, "method.", 7);
            for (int q = 0; q < nsel && !varies; q++) {
                if (is_method && strcmp(cells[sel[q]].method, cell->method))
                    continue;
                const char *v = kv_get(&cells[sel[q]].all, key);
                varies = !v || strcmp(v, cell->all.val[j]) != 0;
            }
            if (varies)
                printf(" %s=%s", key, cell->all.val[j]);
        }
        printf("\n");
    }
    printf("%d cells in this selection (%d in the config)\n", nsel, n);
}

/* Real data (MovieLens, TSV): load each distinct dataset of the cells to run once before
 * anything is written, so a missing or malformed data file is bad input (exit 2, message naming
 * the config key and the data file's line) rather than a failed cell in a new results file. */
static int check_real_data(const cfg *c, const cfg_cell *cells, const int *todo, int ntodo)
{
    if (strcmp(cfg_source(c), "synthetic") == 0)
        return 0;
    for (int k = 0; k < ntodo; k++) {
        const kvset *dk = &cells[todo[k]].data;
        int seen = 0;
        for (int j = 0; j < k && !seen; j++) {
            const kvset *dj = &cells[todo[j]].data;
            seen = dj->n == dk->n;
            for (int q = 0; seen && q < dk->n; q++)
                seen = !strcmp(dj->key[q], dk->key[q]) && !strcmp(dj->val[q], dk->val[q]);
        }
        if (seen)
            continue;
        ds_data d;
        char err[1024] = "";
        memset(&d, 0, sizeof d);
        if (cellrun_load_data(c, &cells[todo[k]], &d, err, sizeof err) == 0) {
            ds_free(&d);
            continue;
        }
        /* blame the key naming the file in the message (default: path / ratings) */
        const char *key = strcmp(cfg_source(c), "tsv") == 0 ? "ratings" : "path";
        static const char *const keys[] = {"user_features", "item_features", "ratings", "path"};
        for (int q = 0; q < 4; q++) {
            const char *v = kv_get(dk, keys[q]);
            if (v && *v && !strncmp(err, v, strlen(v))) {
                key = keys[q];
                break;
            }
        }
        int line = cfg_line_of(c, "data", key);
        fprintf(stderr, "t2rec run: %s:%d: [data] %s: %s\n", cfg_path(c),
                line ? line : cfg_line_of(c, "data", NULL), key, err);
        return -1;
    }
    return 0;
}

/* ---- the driver ---- */

int sweep_run(const sweep_opts *o)
{
    char err[2048];
    cfg *c = NULL;
    if (cfg_load(o->config_path, &c, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec run: %s\n", err);
        return 2;
    }
    cfg_cell *cells = NULL;
    int ncells = 0;
    if (cfg_expand(c, &cells, &ncells, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec run: %s\n", err);
        cfg_free(c);
        return 2;
    }
    int rc = 0;
    char out[PATH_MAX];
    if (o->output)
        snprintf(out, sizeof out, "%s", o->output);
    else if (o->shard_n > 1)
        sweep_shard_path(cfg_output(c), o->shard_i, o->shard_n, out, sizeof out);
    else
        snprintf(out, sizeof out, "%s", cfg_output(c));

    store s = {.path = out};
    int *sel = malloc((size_t)(ncells + 1) * sizeof *sel);
    int *todo = malloc((size_t)(ncells + 1) * sizeof *todo);
    int nsel = 0, ntodo = 0;
    if (!sel || !todo) {
        rc = 1;
        goto done;
    }
    for (int k = 0; k < ncells; k++)
        if (o->shard_n <= 1 || k % o->shard_n == o->shard_i)
            sel[nsel++] = k;

    struct stat st;
    int exists = stat(out, &st) == 0;
    if (exists && h5out_read(out, &s.recs, &s.n, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec run: %s (not touching it; use another -o or remove it)\n", err);
        rc = 2;
        goto done;
    }
    if (o->dry_run) {
        dry_run_list(cells, ncells, sel, nsel, &s);
        goto done;
    }
    if (check_output_dir(out) != 0) {
        rc = 2;
        goto done;
    }
    char dir[PATH_MAX], staging[PATH_MAX + 8];
    const char *base;
    split_path(out, dir, sizeof dir, &base);
    remove_stale_temps(dir, base);
    snprintf(staging, sizeof staging, "%s.cells", out);
    int folded = 0;
    if (fold_staged(&s, staging, &folded) != 0) {
        rc = 1;
        goto done;
    }

    for (int k = 0; k < nsel; k++) {
        const cell_record *r = store_find(&s, cells[sel[k]].key);
        int skip = r && !o->force &&
                   (strcmp(r->status, "ok") == 0 || !o->retry_failed);
        if (!skip)
            todo[ntodo++] = sel[k];
    }
    if (check_real_data(c, cells, todo, ntodo) != 0) {
        rc = 2;
        goto done;
    }
    int threads = o->threads;
    if (threads <= 0) {
        const char *e = getenv("OPENBLAS_NUM_THREADS");
        long nproc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = e && atoi(e) > 0 ? atoi(e) : (int)(nproc / (o->jobs > 0 ? o->jobs : 1));
        if (threads < 1)
            threads = 1;
    }
    progress pr = {.on = o->progress < 0 ? isatty(2) : o->progress, .total = ntodo,
                   .t0 = now_seconds()};
    if (ntodo < nsel)
        fprintf(stderr, "t2rec run: %s: %d of %d cells already done%s\n", out, nsel - ntodo, nsel,
                folded ? " (folded in cell files of an interrupted run)" : "");
    if (ntodo == 0 || !exists || folded) {
        if (store_save(&s) != 0) {
            rc = 1;
            goto done;
        }
        if (folded)
            clear_staging(staging);
    }
    if (ntodo > 0) {
        if (o->jobs > 1) {
            rc = run_parallel(c, cells, todo, ntodo, o->jobs, threads, &s, staging, &pr);
            if (rc == 0)
                clear_staging(staging);
        } else {
            blas_set_threads(threads);
            rc = run_serial(c, cells, todo, ntodo, threads, &s, &pr);
        }
        if (pr.on)
            fprintf(stderr, "\n");
    }
    int nok = 0, nfail = 0;
    for (int k = 0; k < nsel; k++) {
        const cell_record *r = store_find(&s, cells[sel[k]].key);
        if (r && strcmp(r->status, "ok") == 0)
            nok++;
        else if (r)
            nfail++;
    }
    fprintf(stderr, "t2rec run: %s: %d cells ok, %d failed, %d missing (ran %d, %.1f s)\n", out,
            nok, nfail, nsel - nok - nfail, pr.done, now_seconds() - pr.t0);
done:
    free(sel);
    free(todo);
    h5out_free_records(s.recs, s.n);
    cfg_cells_free(cells, ncells);
    cfg_free(c);
    return rc;
}
