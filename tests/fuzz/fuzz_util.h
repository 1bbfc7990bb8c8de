/* fuzz_util.h — shared helpers of the libFuzzer targets in tests/fuzz/ (also included by
 * tests/test_fuzz_regressions.c, which replays saved inputs through the same entry points).
 * Each target writes its input into files of one private temp directory, calls the library
 * entry point and removes the files again, so no run leaves temp files behind. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_dir[256];

static void fuzz_rmdir(void)
{
    if (fuzz_dir[0])
        rmdir(fuzz_dir);
    fuzz_dir[0] = '\0';
}

/* Remove DIR/t2rec-fuzz.PID folders (and their files) of processes that are gone: a crashing
 * input (or a killed -fork job) cannot clean up after itself, the next run does. */
static void fuzz_remove_stale(const char *tmp)
{
    DIR *d = opendir(tmp);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, "t2rec-fuzz.", 11) != 0)
            continue;
        long pid = strtol(e->d_name + 11, &end, 10);
        if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", tmp, e->d_name);
        DIR *sub = opendir(p);
        struct dirent *f;
        while (sub && (f = readdir(sub))) {
            char q[1400];
            snprintf(q, sizeof q, "%s/%s", p, f->d_name);
            if (f->d_name[0] != '.')
                unlink(q);
        }
        if (sub)
            closedir(sub);
        rmdir(p);
    }
    closedir(d);
}

/* The private temp directory TMPDIR/t2rec-fuzz.PID (created on first use, removed at exit). */
static const char *fuzz_tmpdir(void)
{
    if (!fuzz_dir[0]) {
        const char *t = getenv("TMPDIR");
        t = t && *t ? t : "/tmp";
        fuzz_remove_stale(t);
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/t2rec-fuzz.%ld", t, (long)getpid());
        if (mkdir(fuzz_dir, 0700) != 0 && errno != EEXIST) {
            perror(fuzz_dir);
            abort();
        }
        atexit(fuzz_rmdir);
    }
    return fuzz_dir;
}

/* Write n bytes to DIR/name (path returned in buf). */
static const char *fuzz_write(const char *name, const uint8_t *data, size_t n, char *buf,
                              size_t blen)
{
    snprintf(buf, blen, "%s/%s", fuzz_tmpdir(), name);
    FILE *f = fopen(buf, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(buf);
        abort();
    }
    return buf;
}

static void fuzz_unlink(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", fuzz_tmpdir(), name);
    unlink(p);
}

/* Split data at the separator line "----\n" into at most maxp parts (the last part keeps any
 * further separators). Returns the number of parts. */
static int fuzz_split(const uint8_t *data, size_t n, const uint8_t **part, size_t *len, int maxp)
{
    static const char sep[] = "----\n";
    const size_t sl = sizeof sep - 1;
    int np = 0;
    size_t start = 0;
    for (size_t k = 0; np < maxp - 1 && k + sl <= n; k++)
        if (memcmp(data + k, sep, sl) == 0) {
            part[np] = data + start;
            len[np++] = k - start;
            start = k + sl;
            k += sl - 1;
        }
    part[np] = data + start;
    len[np++] = n - start;
    return np;
}

/* A library error message must be one non-empty line (FUZZ_VERBOSE=1 prints it). */
static void fuzz_check_message(const char *err)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "error: %s\n", err);
    if (!err[0] || strchr(err, '\n')) {
        fprintf(stderr, "bad error message: '%s'\n", err);
        abort();
    }
}

#endif
