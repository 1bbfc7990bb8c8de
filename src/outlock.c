/* outlock.c — exclusive lock of a results file through flock on PATH.lock (see outlock.h). */
#include "outlock.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void read_holder(int fd, char *buf, size_t len)
{
    ssize_t got = pread(fd, buf, len - 1, 0);
    buf[got > 0 ? got : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

int outlock_take(outlock *l, const char *out, int wait, char *msg, size_t ml)
{
    l->fd = -1;
    size_t n = strlen(out) + 8;
    if (!(l->path = malloc(n))) {
        snprintf(msg, ml, "out of memory");
        return OUTLOCK_NOMEM;
    }
    snprintf(l->path, n, "%s.lock", out);
    for (;;) {
        int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) {
            if (errno == ENOTDIR)
                snprintf(msg, ml, "cannot write %s: a folder on its path is not a directory", out);
            else
                snprintf(msg, ml, "cannot write %s: cannot create the lock file %s: %s", out,
                         l->path, strerror(errno));
            break;
        }
        if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
            int e = errno;
            if (e == EWOULDBLOCK) {
                char who[256];
                read_holder(fd, who, sizeof who);
                snprintf(msg, ml, "%s is being written by %s", out, *who ? who : "another process");
                close(fd);
                free(l->path);
                l->path = NULL;
                return OUTLOCK_HELD;
            }
            close(fd);
            if (e == EINTR)
                snprintf(msg, ml, "interrupted while waiting for the lock %s", l->path);
            else
                snprintf(msg, ml, "cannot lock %s: %s", l->path, strerror(e));
            free(l->path);
            l->path = NULL;
            return e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS ? OUTLOCK_UNSUPPORTED
                                                                 : OUTLOCK_ERROR;
        }
        /* the holder before us may have removed the file after we opened it: ours must be the
         * file that is at the path now */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(l->path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            char host[128] = "?", when[32] = "?", line[512];
            gethostname(host, sizeof host - 1);
            time_t t = time(NULL);
            struct tm tm;
            if (gmtime_r(&t, &tm))
                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            int len = snprintf(line, sizeof line, "pid %ld on host %s (since %s)\n", (long)getpid(),
                               host, when);
            if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len) {
                /* the lock holds without the note */
            }
            l->fd = fd;
            return OUTLOCK_OK;
        }
        close(fd);
    }
    free(l->path);
    l->path = NULL;
    return OUTLOCK_ERROR;
}

void outlock_release(outlock *l)
{
    if (l->fd >= 0 && l->path) {
        unlink(l->path);   /* while still holding it: a waiter re-checks the path and retries */
        close(l->fd);
    }
    free(l->path);
    l->path = NULL;
    l->fd = -1;
}
