/* sweep.c — the sweep driver (see sweep.h). */
#include "sweep.h"
#include "shard.h"
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
#include "outlock.h"
#include "provenance.h"
#include "store.h"

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

/* ---- SIGINT / SIGTERM: the coordinator stops handing out cells, abandons the cells in flight
 * (their workers are killed), keeps every stored cell and exits 130 ---- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

static void catch_signals(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);   /* no SA_RESTART: poll() returns at once */
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
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
    if (stat(dir, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
        /* create the missing folders of the output path (mkdir -p), then check as usual */
        for (char *p = dir + 1;; p++) {
            if (*p != '/' && *p != 0)
                continue;
            char c = *p;
            *p = 0;
            if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "t2rec run: %s: cannot create output directory '%s': %s\n", out,
                        dir, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c)
                break;
        }
        fprintf(stderr, "t2rec run: created output directory '%s'\n", dir);
    }
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

/* ---- workers ----
 * Every cell runs in a worker process (also with -j 1), which writes the cell's record to its
 * staged file; the coordinator takes it into the store. So an interrupt can abandon the cells
 * in flight by killing their workers, and a worker that dies takes only its own cell with it. */

enum { MSG_STORED = 0, MSG_RUN_FAILED = -1, MSG_WRITE_FAILED = -2 };

typedef struct {
    int index;            /* cell index in the todo list */
    int status;           /* MSG_* */
    double write_seconds; /* time spent writing the staged file */
    char why[480];        /* the message when status != MSG_STORED */
} worker_msg;

static void worker_main(const cfg *c, cfg_cell *cells, int *todo, int cmd_fd, int res_fd,
                        const store *s, int threads)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGINT, SIG_IGN);    /* the coordinator decides what an interrupt does */
    signal(SIGTERM, SIG_IGN);
    blas_set_threads(threads);
    cellrun_cache cache;
    cellrun_cache_init(&cache);
    int idx;
    while (read(cmd_fd, &idx, sizeof idx) == (ssize_t)sizeof idx && idx >= 0) {
        cell_record rec;
        record_init(&rec);
        worker_msg msg;
        memset(&msg, 0, sizeof msg);
        msg.index = idx;
        if (cellrun_run(c, &cells[todo[idx]], &cache, threads, &rec) != 0) {
            msg.status = MSG_RUN_FAILED;
            snprintf(msg.why, sizeof msg.why, "out of memory running the cell");
        } else {
            char p[PATH_MAX + 64];
            store_staged_path(s, rec.key, p, sizeof p);
            double t0 = now_seconds();
            if (h5out_write(p, &rec, 1, msg.why, sizeof msg.why) != 0)
                msg.status = MSG_WRITE_FAILED;
            msg.write_seconds = now_seconds() - t0;
        }
        record_free(&rec);
        if (write(res_fd, &msg, sizeof msg) != (ssize_t)sizeof msg)
            break;
    }
    cellrun_cache_free(&cache);
    _exit(0);
}

/* A record for a cell whose worker died: status failed, reason "worker died: ...". */
static int record_worker_death(store *s, const cfg_cell *cell, int status, char *err, size_t errlen)
{
    cell_record rec;
    record_init(&rec);
    memcpy(rec.key, cell->key, sizeof rec.key);
    rec.replicate = cell->replicate;
    rec.data_seed = cell->data_seed;
    rec.train_seed = cell->train_seed;
    char when[40], why[128];
    prov_now_iso(when, sizeof when);
    if (WIFSIGNALED(status))
        snprintf(why, sizeof why, "worker died: signal %d", WTERMSIG(status));
    else
        snprintf(why, sizeof why, "worker died: exit %d", WEXITSTATUS(status));
    snprintf(rec.status, sizeof rec.status, "failed");
    int rc = -1;
    if (kv_copy(&rec.config, &cell->all) == 0 && prov_collect(&rec.provenance) == 0 &&
        kv_set(&rec.provenance, "start_time", when) == 0 &&
        kv_set(&rec.provenance, "end_time", when) == 0 && record_set_reason(&rec, why) == 0)
        rc = store_put(s, &rec, err, errlen);
    else
        snprintf(err, errlen, "out of memory recording the death of the worker of cell %s", cell->key);
    record_free(&rec);
    return rc;
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
    memset(d, 0, sizeof *d);   /* dispatch_init's failure frees; its caller frees again */
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

typedef struct {
    int ran;               /* cells finished in this run (stored or not) */
    int store_failed;      /* a cell could not be stored: the run stopped handing out cells */
    int runtime_failed;    /* fork/pipe/memory trouble, every worker died */
    double write_seconds;  /* workers' time writing staged files */
} run_stats;

/* The coordinator: hands cells to `jobs` workers, takes their staged files into the store,
 * records dead workers' cells as failed, stops on an interrupt. */
static void run_cells(const cfg *c, cfg_cell *cells, int *todo, int ntodo, int jobs, int threads,
                      store *s, const outlock *lock, progress *pr, run_stats *rs)
{
    char err[1024];
    int res[2];
    if (pipe(res) != 0) {
        fprintf(stderr, "t2rec run: pipe: %s\n", strerror(errno));
        rs->runtime_failed = 1;
        return;
    }
    if (jobs > ntodo)
        jobs = ntodo;
    pid_t *pid = calloc((size_t)jobs, sizeof *pid);
    int *cmd = calloc((size_t)jobs, sizeof *cmd);
    int *busy = calloc((size_t)jobs, sizeof *busy);   /* todo index in flight, or -1 */
    int *last = calloc((size_t)jobs, sizeof *last);   /* the worker's last cell, or -1 */
    dispatch dp;
    memset(&dp, 0, sizeof dp);
    if (!pid || !cmd || !busy || !last || dispatch_init(&dp, cells, todo, ntodo) != 0) {
        fprintf(stderr, "t2rec run: out of memory\n");
        rs->runtime_failed = 1;
        jobs = 0;
    }
    for (int w = 0; w < jobs; w++)
        cmd[w] = busy[w] = last[w] = -1;
    fflush(NULL);
    /* a worker gone between two cells: writing to its pipe must fail, not kill us */
    struct sigaction ign, old_pipe;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old_pipe);
    int started = 0;
    for (int w = 0; w < jobs; w++) {
        int p[2];
        if (pipe(p) != 0) {
            fprintf(stderr, "t2rec run: pipe: %s\n", strerror(errno));
            break;
        }
        pid[w] = fork();
        if (pid[w] < 0) {
            fprintf(stderr, "t2rec run: fork: %s\n", strerror(errno));
            pid[w] = 0;
            close(p[0]);
            close(p[1]);
            break;
        }
        if (pid[w] == 0) {
            close(p[1]);
            close(res[0]);
            sigaction(SIGPIPE, &old_pipe, NULL);
            if (lock->fd >= 0)
                close(lock->fd);   /* the lock stays with the coordinator */
            for (int v = 0; v < w; v++)
                close(cmd[v]);
            worker_main(c, cells, todo, p[0], res[1], s, threads);
        }
        close(p[0]);
        cmd[w] = p[1];
        started++;
    }
    close(res[1]);
    if (jobs > 0 && started == 0)
        rs->runtime_failed = 1;

    int inflight = 0, handed = 0, stopping = 0;
    for (int w = 0; w < started; w++) {
        int i = dispatch_pick(&dp, -1);
        last[w] = i;
        if (i >= 0 && write(cmd[w], &i, sizeof i) == (ssize_t)sizeof i) {
            busy[w] = i;
            inflight++;
            handed++;
        } else if (i >= 0)
            dispatch_unpick(&dp, i);
    }
    while (inflight > 0 && !interrupted) {
        struct pollfd pf = {.fd = res[0], .events = POLLIN};
        int got_ = poll(&pf, 1, 500);
        if (got_ > 0) {
            worker_msg msg;
            ssize_t got = read(res[0], &msg, sizeof msg);
            if (got == (ssize_t)sizeof msg && msg.index >= 0 && msg.index < ntodo) {
                int w;
                for (w = 0; w < started && busy[w] != msg.index; w++)
                    ;
                const cfg_cell *cell = &cells[todo[msg.index]];
                rs->write_seconds += msg.write_seconds;
                if (msg.status == MSG_STORED) {
                    const cell_record *r = NULL;
                    int src = store_take(s, cell->key, &r, err, sizeof err);
                    if (r && strcmp(r->status, "ok") != 0)
                        pr->failed++;
                    if (src != 0) {
                        fprintf(stderr, "%st2rec run: %s\n", pr->on ? "\n" : "", err);
                        rs->store_failed = stopping = 1;
                    }
                } else {
                    fprintf(stderr, "%st2rec run: cell %s not stored: %s\n", pr->on ? "\n" : "",
                            cell->key, msg.why);
                    pr->failed++;
                    if (msg.status == MSG_WRITE_FAILED)
                        rs->store_failed = stopping = 1;
                }
                pr->done++;
                rs->ran++;
                progress_show(pr, cell, "done");
                inflight--;
                if (w < started) {
                    busy[w] = -1;
                    int i = stopping ? -1 : dispatch_pick(&dp, last[w]);
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
        for (int w = 0; w < started; w++) {
            if (pid[w] <= 0)
                continue;
            int st;
            if (waitpid(pid[w], &st, WNOHANG) == pid[w]) {
                pid[w] = 0;
                if (busy[w] >= 0 && !interrupted) {
                    const cfg_cell *cell = &cells[todo[busy[w]]];
                    fprintf(stderr, "\nt2rec run: worker %d died running cell %s\n", w, cell->key);
                    if (record_worker_death(s, cell, st, err, sizeof err) != 0) {
                        fprintf(stderr, "t2rec run: %s\n", err);
                        rs->store_failed = stopping = 1;
                    }
                    pr->failed++;
                    pr->done++;
                    rs->ran++;
                    busy[w] = -1;
                    inflight--;
                }
                close(cmd[w]);
                cmd[w] = -1;
            }
        }
        int alive = 0;
        for (int w = 0; w < started; w++)
            alive += pid[w] > 0;
        if (!alive && !stopping && (inflight > 0 || handed < ntodo)) {
            fprintf(stderr, "t2rec run: every worker died; %d cells not run\n", ntodo - pr->done);
            rs->runtime_failed = 1;
            break;
        }
    }
    if (interrupted) {
        /* abandon the cells in flight; a cell a worker finished and staged before it was killed
         * is taken in when its message made it */
        for (int w = 0; w < started; w++)
            if (pid[w] > 0)
                kill(pid[w], SIGKILL);
        for (int w = 0; w < started; w++) {
            if (pid[w] > 0) {
                waitpid(pid[w], NULL, 0);
                pid[w] = 0;
            }
            if (cmd[w] >= 0) {
                close(cmd[w]);
                cmd[w] = -1;
            }
        }
        worker_msg msg;
        while (read(res[0], &msg, sizeof msg) == (ssize_t)sizeof msg)
            if (msg.status == MSG_STORED && msg.index >= 0 && msg.index < ntodo) {
                for (int w = 0; w < started; w++)
                    if (busy[w] == msg.index)
                        busy[w] = -1;
                if (store_take(s, cells[todo[msg.index]].key, NULL, err, sizeof err) == 0)
                    rs->ran++;
            }
        /* a worker killed after renaming its cell's staged file into place but before its
         * message went out: the file is complete (renamed whole), take it too */
        for (int w = 0; w < started; w++) {
            if (busy[w] < 0)
                continue;
            char p[PATH_MAX + 64];
            struct stat st;
            store_staged_path(s, cells[todo[busy[w]]].key, p, sizeof p);
            if (stat(p, &st) == 0 &&
                store_take(s, cells[todo[busy[w]]].key, NULL, err, sizeof err) == 0)
                rs->ran++;
            busy[w] = -1;
        }
    }
    int stop = -1;
    for (int w = 0; w < started; w++)
        if (cmd[w] >= 0) {
            if (write(cmd[w], &stop, sizeof stop) < 0) { /* worker already gone */ }
            close(cmd[w]);
        }
    for (int w = 0; w < started; w++)
        if (pid[w] > 0)
            waitpid(pid[w], NULL, 0);
    close(res[0]);
    sigaction(SIGPIPE, &old_pipe, NULL);
    free(pid);
    free(cmd);
    free(busy);
    free(last);
    dispatch_free(&dp);
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

/* The cells of the selection with a stored record: ok / failed; the rest are missing. Prints up
 * to 5 failed cells with their reasons. */
static void count_stored(const store *s, const cfg_cell *cells, const int *sel, int nsel, int *nok,
                         int *nfail, int show)
{
    *nok = *nfail = 0;
    for (int k = 0; k < nsel; k++) {
        const cell_record *r = store_find(s, cells[sel[k]].key);
        if (r && strcmp(r->status, "ok") == 0) {
            (*nok)++;
        } else if (r) {
            if (show && (*nfail)++ < 5)
                fprintf(stderr, "t2rec run: failed: cell %s (%s, replicate %d): %s\n", r->key,
                        cells[sel[k]].method, r->replicate, r->reason ? r->reason : "");
            else if (!show)
                (*nfail)++;
        }
    }
    if (show && *nfail > 5)
        fprintf(stderr, "t2rec run: ... and %d more failed cells (t2rec export %s --csv lists "
                "every reason)\n", *nfail - 5, s->path);
}

int sweep_run(const sweep_opts *o)
{
    char err[2048];
    cfg *c = NULL;
    interrupted = 0;
    struct sigaction old_int, old_term;
    catch_signals(&old_int, &old_term);
    int crc = cfg_load(o->config_path, &c, err, sizeof err);
    if (crc != 0) {
        fprintf(stderr, "t2rec run: %s\n", err);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        return crc == CFG_NOMEM ? SWEEP_RUNTIME : SWEEP_BAD_INPUT;
    }
    cfg_cell *cells = NULL;
    int ncells = 0;
    if ((crc = cfg_expand(c, &cells, &ncells, err, sizeof err)) != 0) {
        fprintf(stderr, "t2rec run: %s\n", err);
        cfg_free(c);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        return crc == CFG_NOMEM ? SWEEP_RUNTIME : SWEEP_BAD_INPUT;
    }
    int rc = SWEEP_OK, have_store = 0;
    outlock lock = {.fd = -1};
    store s;
    memset(&s, 0, sizeof s);
    char out[PATH_MAX];
    if (o->output)
        snprintf(out, sizeof out, "%s", o->output);
    else if (o->shard_n > 1)
        sweep_shard_path(cfg_output(c), o->shard_i, o->shard_n, out, sizeof out);
    else
        snprintf(out, sizeof out, "%s", cfg_output(c));

    /* one block: the workers keep `todo`, so `sel` stays reachable in them too */
    int *sel = malloc(2 * (size_t)(ncells + 1) * sizeof *sel);
    int *todo = sel ? sel + ncells + 1 : NULL;
    int nsel = 0, ntodo = 0;
    if (!sel) {
        rc = SWEEP_RUNTIME;
        goto done;
    }
    if (o->balance && o->shard_n > 1) {   /* todo is free until the selection is made */
        if (shard_assign(cells, ncells, o->shard_n, todo) != 0) {
            rc = SWEEP_RUNTIME;
            goto done;
        }
        for (int k = 0; k < ncells; k++)
            if (todo[k] == o->shard_i)
                sel[nsel++] = k;
    } else
        for (int k = 0; k < ncells; k++)
            if (o->shard_n <= 1 || k % o->shard_n == o->shard_i)
                sel[nsel++] = k;

    if (!o->dry_run) {
        if (check_output_dir(out) != 0) {
            rc = SWEEP_BAD_INPUT;
            goto done;
        }
        int lr = outlock_take(&lock, out, 0, err, sizeof err);
        if (lr == OUTLOCK_HELD && o->wait) {
            fprintf(stderr, "t2rec run: %s; waiting for it (--wait)\n", err);
            lr = outlock_take(&lock, out, 1, err, sizeof err);
        }
        if (lr == OUTLOCK_HELD) {
            fprintf(stderr, "t2rec run: %s; not running a second writer (wait for it with --wait, "
                    "or use another -o)\n", err);
            rc = SWEEP_BAD_INPUT;
            goto done;
        } else if (lr == OUTLOCK_UNSUPPORTED) {
            fprintf(stderr, "t2rec run: note: %s (file system without locks): running without the "
                    "lock; make sure no other run writes %s\n", err, out);
        } else if (lr != OUTLOCK_OK) {
            fprintf(stderr, "t2rec run: %s\n", err);
            rc = interrupted ? SWEEP_INTERRUPTED
                 : lr == OUTLOCK_NOMEM ? SWEEP_RUNTIME : SWEEP_BAD_INPUT;
            goto done;
        }
    }
    int folded = 0;
    int so = store_open(&s, out, &folded, err, sizeof err);
    have_store = 1;
    if (so == -1) {
        fprintf(stderr, "t2rec run: %s (not touching it; use another -o or remove it)\n", err);
        rc = SWEEP_BAD_INPUT;
        goto done;
    } else if (so != 0) {
        fprintf(stderr, "t2rec run: %s\n", err);
        rc = SWEEP_RUNTIME;
        goto done;
    }
    if (s.ignored)
        fprintf(stderr, "t2rec run: note: %d unreadable cell file(s) in %s left alone (%s)\n",
                s.ignored, s.staging, s.note);
    if (o->shard_n > 1)
        fprintf(stderr, "t2rec run: shard %d/%d: %d of %d cells\n", o->shard_i, o->shard_n, nsel,
                ncells);
    if (o->dry_run) {
        dry_run_list(cells, ncells, sel, nsel, &s);
        goto done;
    }
    store_cleanup(&s);

    for (int k = 0; k < nsel; k++) {
        const cell_record *r = store_find(&s, cells[sel[k]].key);
        int skip = r && !o->force &&
                   (strcmp(r->status, "ok") == 0 || !o->retry_failed);
        if (!skip)
            todo[ntodo++] = sel[k];
    }
    if (check_real_data(c, cells, todo, ntodo) != 0) {
        rc = SWEEP_BAD_INPUT;
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
    /* the results file exists (and holds any folded cells) before the first cell runs */
    if (store_flush(&s, 0, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec run: %s\n", err);
        rc = SWEEP_RUNTIME;
        goto done;
    }
    run_stats rs;
    memset(&rs, 0, sizeof rs);
    if (ntodo > 0 && !interrupted) {
        if (store_make_staging(&s, err, sizeof err) != 0) {
            fprintf(stderr, "t2rec run: %s\n", err);
            rc = SWEEP_RUNTIME;
            goto done;
        }
        run_cells(c, cells, todo, ntodo, o->jobs, threads, &s, &lock, &pr, &rs);
        if (pr.on)
            fprintf(stderr, "\n");
    }
    if (store_flush(&s, 0, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec run: %s (the finished cells are kept in %s; a rerun folds them in)\n",
                err, s.staging);
        rs.store_failed = 1;
    }
    store_cleanup(&s);
    int nok, nfail;
    count_stored(&s, cells, sel, nsel, &nok, &nfail, !interrupted);
    fprintf(stderr, "t2rec run: %s: %d cells ok, %d failed, %d missing (ran %d, %.1f s; storing "
            "%.2f s)\n", out, nok, nfail, nsel - nok - nfail, rs.ran, now_seconds() - pr.t0,
            s.seconds + rs.write_seconds);
    if (interrupted) {
        fprintf(stderr, "t2rec run: interrupted: %d cells done; rerun to resume\n", nok + nfail);
        rc = SWEEP_INTERRUPTED;
    } else if (rs.store_failed || rs.runtime_failed) {
        rc = SWEEP_RUNTIME;
    } else if (nok < nsel) {
        rc = SWEEP_CELLS_FAILED;
    }
done:
    if (have_store)
        store_close(&s);
    outlock_release(&lock);
    free(sel);
    cfg_cells_free(cells, ncells);
    cfg_free(c);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}
