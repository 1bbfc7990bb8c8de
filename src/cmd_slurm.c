/* cmd_slurm.c — `t2rec slurm CONFIG --tasks N [--submit]`: write a Slurm array job (one shard
 * per task) and a merge job that runs after it whatever its tasks' fate (afterany) and names the
 * missing shards, from the templates in experiments/slurm/ (user set-up lines from --setup FILE
 * pasted in), and optionally submit both with sbatch. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "shquote.h"
#include "commands.h"
#include "config.h"
#include "shard.h"
#include "sweep.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: t2rec slurm CONFIG --tasks N [--submit] [options]\n\n"
        "Write an sbatch job array of N tasks (task I runs `t2rec run CONFIG --shard I/N\n"
        "--balance` into OUT.shard-I-of-N.h5: cells dealt by expected cost) and a merge job that\n"
        "starts once every task has ended, succeeded or not (--dependency=afterany). The merge job\n"
        "merges the shard files that exist into OUT (the config's output), names every shard that\n"
        "is missing or whose task failed, and then exits 1; 3 when all shards are there but some\n"
        "cells failed; 0 when all is well. Details: docs/slurm.md.\n\n"
        "  --tasks N            number of array tasks (shards), required\n"
        "  --submit             submit both with sbatch (array first, then the merge job)\n"
        "  --partition P        #SBATCH --partition\n"
        "  --account A          #SBATCH --account\n"
        "  --qos Q              #SBATCH --qos\n"
        "  --time T             per-task time limit (default 04:00:00)\n"
        "  --mem M              per-task memory (default 4G)\n"
        "  --cpus-per-task C    cores per task, used as BLAS threads (default 1)\n"
        "  --max-parallel K     at most K tasks at once (--array=0-(N-1)%%K)\n"
        "  --sbatch-arg ARG     any further #SBATCH line, e.g. --sbatch-arg=--constraint=avx512\n"
        "                       (repeatable); partition, account, qos and these apply to the\n"
        "                       merge job too\n"
        "  --setup FILE         shell lines pasted into both scripts before t2rec runs, e.g.\n"
        "                       `module load hdf5 openblas`, `source ~/venv/bin/activate`,\n"
        "                       `spack load hdf5`; a failing line fails the task (set -e)\n"
        "  --dir DIR            where the scripts, logs and task status files go (default: OUT\n"
        "                       without .h5, plus .slurm: results/x.slurm for results/x.h5)\n"
        "  --templates DIR      template folder (default: $T2REC_SLURM_TEMPLATES, else the\n"
        "                       experiments/slurm of the source tree t2rec was built from, else\n"
        "                       PREFIX/share/t2rec/slurm of `make install`)\n"
        "  -o OUT.h5            results file (default: the config's [experiment] output)\n"
        "Prints the script paths, and with --submit the job ids.\n");
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

typedef struct {
    const char *name;
    const char *value;
} subst;

/* Replace every @NAME@ of the template outside comment lines; unknown placeholders are an
 * error. Substituted values are not scanned again. */
static char *fill(const char *tpl, const subst *subs, int nsubs, char *err, size_t errlen)
{
    size_t cap = strlen(tpl) * 2 + 4096, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = tpl; *p;) {
        const char *end;
        /* a comment line (not #SBATCH, not #!) is copied as it is: it may name placeholders */
        if ((p == tpl || p[-1] == '\n') && p[0] == '#' && p[1] != '!' && strncmp(p, "#SBATCH", 7)) {
            const char *nl = strchr(p, '\n');
            size_t l = nl ? (size_t)(nl - p) + 1 : strlen(p);
            while (len + l + 1 > cap) {
                cap *= 2;
                char *q = realloc(out, cap);
                if (!q) {
                    free(out);
                    return NULL;
                }
                out = q;
            }
            memcpy(out + len, p, l);
            len += l;
            p += l;
            continue;
        }
        if (*p == '@' && (end = strchr(p + 1, '@')) && end - p > 1 && end - p < 40) {
            int found = 0;
            for (int k = 0; k < nsubs; k++)
                if ((size_t)(end - p - 1) == strlen(subs[k].name) &&
                    !strncmp(p + 1, subs[k].name, (size_t)(end - p - 1))) {
                    size_t l = strlen(subs[k].value);
                    while (len + l + 1 > cap) {
                        cap *= 2;
                        char *q = realloc(out, cap);
                        if (!q) {
                            free(out);
                            return NULL;
                        }
                        out = q;
                    }
                    memcpy(out + len, subs[k].value, l);
                    len += l;
                    found = 1;
                    break;
                }
            int ok_name = 1;
            for (const char *q = p + 1; q < end; q++)
                if (!((*q >= 'A' && *q <= 'Z') || *q == '_'))
                    ok_name = 0;
            if (found) {
                p = end + 1;
                continue;
            }
            if (ok_name) {
                snprintf(err, errlen, "unknown placeholder @%.*s@ in template", (int)(end - p - 1), p + 1);
                free(out);
                return NULL;
            }
        }
        if (len + 2 > cap) {
            cap *= 2;
            char *q = realloc(out, cap);
            if (!q) {
                free(out);
                return NULL;
            }
            out = q;
        }
        out[len++] = *p++;
    }
    out[len] = 0;
    return out;
}

/* Written to PATH.tmp.PID and renamed: a full disk leaves the previous script (or none), never
 * half a script. -1 with errno on failure. */
static int write_script(const char *path, const char *text)
{
    size_t tl = strlen(path) + 32;
    char *tmp = malloc(tl);
    if (!tmp)
        return -1;
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(tmp);
        return -1;
    }
    int bad = fputs(text, f) < 0;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    int e = errno;
    bad |= fclose(f) != 0;
    if (!bad)
        bad = chmod(tmp, 0755) != 0 || rename(tmp, path) != 0;
    if (bad) {
        if (!e)
            e = errno;
        unlink(tmp);
        free(tmp);
        errno = e;
        return -1;
    }
    free(tmp);
    return 0;
}

/* Templates: --templates DIR, else $T2REC_SLURM_TEMPLATES, else the source tree this binary
 * was built from, else PREFIX/share/t2rec/slurm (make install), else ./experiments/slurm. */
static int find_templates(const char *given, char *dir, size_t n)
{
    const char *env = getenv("T2REC_SLURM_TEMPLATES");
    char cand[5][PATH_MAX];
    int nc = 0;
    if (given)
        snprintf(cand[nc++], PATH_MAX, "%s", given);
    else {
        if (env && *env)
            snprintf(cand[nc++], PATH_MAX, "%s", env);
#ifdef T2REC_SRCDIR
        snprintf(cand[nc++], PATH_MAX, "%s/experiments/slurm", T2REC_SRCDIR);
#endif
#ifdef T2REC_PREFIX
        snprintf(cand[nc++], PATH_MAX, "%s/share/t2rec/slurm", T2REC_PREFIX);
#endif
        snprintf(cand[nc++], PATH_MAX, "experiments/slurm");
    }
    for (int k = 0; k < nc; k++) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%.4000s/array.sbatch", cand[k]);
        if (access(p, R_OK) == 0) {
            snprintf(dir, n, "%.4000s", cand[k]);
            return 0;
        }
    }
    return -1;
}

/* The heaviest shard's expected cost over the mean shard cost, for the balanced assignment the
 * tasks use (run --balance) and for index % N. 0, or -1 out of memory. */
static int balance_report(const cfg_cell *cells, int ncells, int tasks, double *bal, double *mod)
{
    int *owner = malloc((size_t)(ncells > 0 ? ncells : 1) * sizeof *owner);
    double *lb = calloc((size_t)tasks, sizeof *lb), *lm = calloc((size_t)tasks, sizeof *lm);
    int rc = -1;
    if (owner && lb && lm && shard_assign(cells, ncells, tasks, owner) == 0) {
        double total = 0, mb = 0, mm = 0;
        for (int k = 0; k < ncells; k++) {
            double w = shard_cell_cost(&cells[k]);
            lb[owner[k]] += w;
            lm[k % tasks] += w;
            total += w;
        }
        for (int t = 0; t < tasks; t++) {
            mb = lb[t] > mb ? lb[t] : mb;
            mm = lm[t] > mm ? lm[t] : mm;
        }
        *bal = total > 0 ? mb / (total / tasks) : 1;
        *mod = total > 0 ? mm / (total / tasks) : 1;
        rc = 0;
    }
    free(owner);
    free(lb);
    free(lm);
    return rc;
}

/* Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S (digits), or UNLIMITED/INFINITE. */
static int valid_time(const char *t)
{
    if (!strcmp(t, "UNLIMITED") || !strcmp(t, "INFINITE") || !strcmp(t, "unlimited") ||
        !strcmp(t, "infinite"))
        return 1;
    const char *dash = strchr(t, '-');
    int parts = 0, digits = 0;
    for (const char *p = dash ? dash + 1 : t;; p++) {
        if (*p >= '0' && *p <= '9') {
            digits++;
            continue;
        }
        if (!digits || (*p && *p != ':'))
            return 0;
        parts++;
        digits = 0;
        if (!*p)
            break;
    }
    if (dash) {
        if (dash == t)
            return 0;
        for (const char *p = t; p < dash; p++)
            if (*p < '0' || *p > '9')
                return 0;
    }
    return parts <= 3;
}

/* Slurm's memory sizes: digits with an optional K, M, G or T (megabytes without one). */
static int valid_mem(const char *m)
{
    const char *p = m;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == m)
        return 0;
    return !*p || (strchr("KMGTkmgt", *p) && !p[1]);
}

static int submit(const char *script, const char *dep, char *jobid, size_t n)
{
    char cmd[PATH_MAX * 2];
    if (dep)
        snprintf(cmd, sizeof cmd, "sbatch --parsable --dependency=afterany:%s '%s'", dep, script);
    else
        snprintf(cmd, sizeof cmd, "sbatch --parsable '%s'", script);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[256] = "";
    if (!fgets(line, sizeof line, p))
        line[0] = 0;
    int st = pclose(p);
    line[strcspn(line, ";\r\n")] = 0;
    if (st != 0 || !line[0])
        return -1;
    snprintf(jobid, n, "%s", line);
    return 0;
}

int cmd_slurm(int argc, char **argv)
{
    const char *config = NULL, *partition = NULL, *account = NULL, *qos = NULL, *dir = NULL;
    const char *time_ = "04:00:00", *mem = "4G", *templates = NULL, *out_opt = NULL;
    const char *setup_path = NULL;
    int tasks = 0, cpus = 1, max_par = 0, do_submit = 0;
    char extra[4096] = "";
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        const char **sv = NULL;
        int *iv = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--submit")) {
            do_submit = 1;
            continue;
        } else if (!strncmp(a, "--sbatch-arg=", 13)) {
            size_t l = strlen(extra);
            snprintf(extra + l, sizeof extra - l, "#SBATCH %s\n", a + 13);
            continue;
        } else if (!strcmp(a, "--sbatch-arg"))
            ;   /* its value (next argument) becomes an #SBATCH line below */
        else if (!strcmp(a, "--partition"))
            sv = &partition;
        else if (!strcmp(a, "--account"))
            sv = &account;
        else if (!strcmp(a, "--qos"))
            sv = &qos;
        else if (!strcmp(a, "--time"))
            sv = &time_;
        else if (!strcmp(a, "--mem"))
            sv = &mem;
        else if (!strcmp(a, "--dir"))
            sv = &dir;
        else if (!strcmp(a, "--templates"))
            sv = &templates;
        else if (!strcmp(a, "--setup"))
            sv = &setup_path;
        else if (!strcmp(a, "-o"))
            sv = &out_opt;
        else if (!strcmp(a, "--tasks"))
            iv = &tasks;
        else if (!strcmp(a, "--cpus-per-task"))
            iv = &cpus;
        else if (!strcmp(a, "--max-parallel"))
            iv = &max_par;
        else if (a[0] == '-') {
            fprintf(stderr, "t2rec slurm: unknown option '%s' (t2rec slurm --help)\n", a);
            return 2;
        } else if (!config) {
            config = a;
            continue;
        } else {
            fprintf(stderr, "t2rec slurm: one config only ('%s' is extra)\n", a);
            return 2;
        }
        if (k + 1 >= argc) {
            fprintf(stderr, "t2rec slurm: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++k];
        if (sv)
            *sv = v;
        else if (iv) {
            char *end;
            long x = strtol(v, &end, 10);
            if (*end || x < 1 || x > 1000000) {
                fprintf(stderr, "t2rec slurm: %s takes a positive number, not '%s'\n", a, v);
                return 2;
            }
            *iv = (int)x;
        } else {
            size_t l = strlen(extra);
            snprintf(extra + l, sizeof extra - l, "#SBATCH %s\n", v);
        }
    }
    if (!config || tasks < 1) {
        fprintf(stderr, "t2rec slurm: need CONFIG and --tasks N (t2rec slurm --help)\n");
        return 2;
    }
    if (!valid_time(time_)) {
        fprintf(stderr, "t2rec slurm: --time '%s' is not a Slurm time (MM, HH:MM:SS, D-HH, "
                        "D-HH:MM:SS, ...)\n", time_);
        return 2;
    }
    if (!valid_mem(mem)) {
        fprintf(stderr, "t2rec slurm: --mem '%s' is not a Slurm memory size (e.g. 4G, 500M, 2048)\n",
                mem);
        return 2;
    }
    /* --setup FILE: its lines go verbatim into both scripts (at most 64 KiB) */
    static char setup[65536];
    snprintf(setup, sizeof setup, "# (no set-up lines: t2rec slurm --setup FILE)");
    if (setup_path) {
        char *text = read_file(setup_path);
        if (!text) {
            fprintf(stderr, "t2rec slurm: --setup %s: %s\n", setup_path,
                    errno ? strerror(errno) : "cannot read it");
            return 2;
        }
        size_t sl = strlen(text);
        while (sl && (text[sl - 1] == '\n' || text[sl - 1] == '\r'))
            text[--sl] = 0;
        if (sl >= sizeof setup) {
            fprintf(stderr, "t2rec slurm: --setup %s: longer than %zu bytes\n", setup_path,
                    sizeof setup - 1);
            free(text);
            return 2;
        }
        if (sl)
            memcpy(setup, text, sl + 1);
        free(text);
    }
    const char *named[3][2] = {{"partition", partition}, {"account", account}, {"qos", qos}};
    for (int k = 0; k < 3; k++)
        if (named[k][1]) {
            size_t l = strlen(extra);
            snprintf(extra + l, sizeof extra - l, "#SBATCH --%s=%s\n", named[k][0], named[k][1]);
        }
    size_t el = strlen(extra);
    if (el && extra[el - 1] == '\n')
        extra[el - 1] = 0;

    char err[2048];
    cfg *c = NULL;
    int crc = cfg_load(config, &c, err, sizeof err);
    if (crc != 0) {
        fprintf(stderr, "t2rec slurm: %s\n", err);
        return crc == CFG_NOMEM ? 1 : 2;
    }
    cfg_cell *cells = NULL;
    int ncells = 0;
    if ((crc = cfg_expand(c, &cells, &ncells, err, sizeof err)) != 0) {
        fprintf(stderr, "t2rec slurm: %s\n", err);
        cfg_free(c);
        return crc == CFG_NOMEM ? 1 : 2;
    }
    if (tasks > ncells) {
        fprintf(stderr, "t2rec slurm: note: %d tasks for %d cells; using %d tasks\n", tasks, ncells, ncells);
        tasks = ncells;
    }
    /* expected cost of the heaviest shard over the mean, balanced and by index % N */
    double imb_bal = 0, imb_mod = 0;
    if (balance_report(cells, ncells, tasks, &imb_bal, &imb_mod) != 0) {
        fprintf(stderr, "t2rec slurm: out of memory\n");
        cfg_cells_free(cells, ncells);
        cfg_free(c);
        return 1;
    }
    cfg_cells_free(cells, ncells);
    char cwd[PATH_MAX], exe[PATH_MAX], cfg_abs[PATH_MAX], out[PATH_MAX], stem[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd) || !realpath(config, cfg_abs)) {
        fprintf(stderr, "t2rec slurm: %s: %s\n", config, strerror(errno));
        cfg_free(c);
        return 2;
    }
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[l > 0 ? l : 0] = 0;
    snprintf(out, sizeof out, "%s", out_opt ? out_opt : cfg_output(c));
    snprintf(stem, sizeof stem, "%s", out);
    char *dot = strrchr(stem, '.');
    if (dot && !strchr(dot, '/'))
        *dot = 0;
    char sdir[PATH_MAX], tdir[PATH_MAX];
    if (dir)
        snprintf(sdir, sizeof sdir, "%s", dir);
    else
        snprintf(sdir, sizeof sdir, "%.4000s.slurm", stem);
    if (find_templates(templates, tdir, sizeof tdir) != 0) {
        fprintf(stderr, "t2rec slurm: cannot find the templates (array.sbatch, merge.sbatch); "
                        "give --templates DIR\n");
        cfg_free(c);
        return 2;
    }
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", sdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "t2rec slurm: cannot create %s\n", sdir);
        cfg_free(c);
        return 2;
    }
    char sdir_abs[PATH_MAX];
    if (!realpath(sdir, sdir_abs))
        snprintf(sdir_abs, sizeof sdir_abs, "%s", sdir);

    /* shard list for the merge job */
    size_t shl = (size_t)tasks * (strlen(stem) + 48) + 16;
    char *shards = malloc(shl), *shards_q = malloc(shl * 2);
    shards[0] = 0;
    for (int t = 0; t < tasks; t++) {
        char p[PATH_MAX], q[PATH_MAX * 2];
        sweep_shard_path(out, t, tasks, p, sizeof p);
        sh_quote(p, q, sizeof q);
        size_t at = strlen(shards);
        snprintf(shards + at, shl - at, "%s%s", t ? " " : "", q);
    }
    free(shards_q);
    char q_exe[PATH_MAX * 2], q_cfg[PATH_MAX * 2], q_out[PATH_MAX * 2], q_stem[PATH_MAX * 2];
    sh_quote(exe, q_exe, sizeof q_exe);
    sh_quote(cfg_abs, q_cfg, sizeof q_cfg);
    sh_quote(out, q_out, sizeof q_out);
    snprintf(q_stem, sizeof q_stem, "%s", stem);   /* used inside double quotes */
    char s_tasks[32], s_last[32], s_cpus[32], s_limit[32] = "";
    snprintf(s_tasks, sizeof s_tasks, "%d", tasks);
    snprintf(s_last, sizeof s_last, "%d", tasks - 1);
    snprintf(s_cpus, sizeof s_cpus, "%d", cpus);
    if (max_par > 0)
        snprintf(s_limit, sizeof s_limit, "%%%d", max_par);
    subst subs[] = {
        {"NAME", cfg_name(c)}, {"LAST_TASK", s_last}, {"ARRAY_LIMIT", s_limit}, {"WORKDIR", cwd},
        {"LOGDIR", sdir_abs}, {"CPUS", s_cpus}, {"TIME", time_}, {"MEM", mem},
        {"EXTRA_SBATCH", extra[0] ? extra : "# (no further #SBATCH options)"}, {"T2REC", q_exe},
        {"CONFIG", q_cfg}, {"TASKS", s_tasks}, {"OUT_STEM", q_stem}, {"OUT", q_out},
        {"SHARDS", shards}, {"MERGE_TIME", "00:30:00"}, {"MERGE_MEM", "2G"}, {"SETUP", setup},
    };
    int rc = 0;
    const char *names[2] = {"array.sbatch", "merge.sbatch"};
    char paths[2][PATH_MAX + 64];
    for (int k = 0; k < 2 && rc == 0; k++) {
        char tp[PATH_MAX + 32];
        snprintf(tp, sizeof tp, "%s/%s", tdir, names[k]);
        char *tpl = read_file(tp);
        if (!tpl) {
            fprintf(stderr, "t2rec slurm: cannot read template %s\n", tp);
            rc = 2;
            break;
        }
        char *text = fill(tpl, subs, (int)(sizeof subs / sizeof subs[0]), err, sizeof err);
        free(tpl);
        if (!text) {
            fprintf(stderr, "t2rec slurm: %s: %s\n", tp, err);
            rc = 2;
            break;
        }
        snprintf(paths[k], sizeof paths[k], "%s/%s", sdir_abs, names[k]);
        if (write_script(paths[k], text) != 0) {
            fprintf(stderr, "t2rec slurm: cannot write %s: %s\n", paths[k], strerror(errno));
            rc = 2;
        }
        free(text);
    }
    free(shards);
    if (rc == 0) {
        printf("array job: %s (%d tasks, %d cells)\nmerge job: %s\n", paths[0], tasks, ncells, paths[1]);
        printf("expected cost of the heaviest task over the mean: %.2f (cells dealt by cost; "
               "index %% %d would give %.2f)\n", imb_bal, tasks, imb_mod);
        if (do_submit) {
            char id1[128], id2[128];
            /* the status files of an earlier submission would hide a task that never starts */
            for (int t = 0; t < tasks; t++) {
                char sf[PATH_MAX + 64];
                snprintf(sf, sizeof sf, "%.4000s/shard-%d-of-%d.status", sdir_abs, t, tasks);
                unlink(sf);
            }
            if (submit(paths[0], NULL, id1, sizeof id1) != 0) {
                fprintf(stderr, "t2rec slurm: sbatch failed for %s\n", paths[0]);
                rc = 1;
            } else if (submit(paths[1], id1, id2, sizeof id2) != 0) {
                fprintf(stderr, "t2rec slurm: sbatch failed for %s (array job %s is queued)\n",
                        paths[1], id1);
                rc = 1;
            } else {
                printf("submitted array job %s and merge job %s (afterany:%s)\n", id1, id2, id1);
            }
        }
    }
    cfg_free(c);
    return rc;
}
