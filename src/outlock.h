/* outlock.h — an exclusive lock on a results file, held while a command writes it: flock(2) on
 * PATH.lock, which holds "pid P on host H since T" of the holder. A second writer of the same
 * file is refused (or waits), so two runs cannot both claim success while one's cells are lost.
 * The lock file is removed by its holder on release (re-checked on taking: a file removed
 * between open and flock is not a lock). The lock ends with the process, even on kill -9. */
#ifndef OUTLOCK_H
#define OUTLOCK_H

#include <stddef.h>

typedef struct {
    int fd;
    char *path;      /* PATH.lock */
} outlock;

enum { OUTLOCK_OK = 0, OUTLOCK_HELD = 1, OUTLOCK_ERROR = -1, OUTLOCK_UNSUPPORTED = 2,
       OUTLOCK_NOMEM = -2 };

/* Take the lock of results file `out`. wait = 0: OUTLOCK_HELD at once when another process holds
 * it, msg = "OUT is being written by pid P on host H (since T)". wait = 1: block until it is free.
 * OUTLOCK_UNSUPPORTED: the file system has no locks (msg says so; the caller decides).
 * OUTLOCK_ERROR: the lock file cannot be created (msg names it and the errno text).
 * OUTLOCK_NOMEM: out of memory (a runtime failure, exit 1, where ERROR is bad input). */
int outlock_take(outlock *l, const char *out, int wait, char *msg, size_t ml);
void outlock_release(outlock *l);   /* no-op when not held */

#endif
