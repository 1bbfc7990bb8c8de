/* fault_shim.c — an LD_PRELOAD shim for the fault-injection walk of tests/test_sweep.c (issue 19):
 * T2REC_FAULT="write:K" (or fsync:K, rename:K) makes the K-th call of that function in each
 * process fail (write: ENOSPC, fsync and rename: EIO), counting only calls on regular files
 * (write, fsync) so pipes and terminals are left alone. When it fires it appends one line to the
 * file T2REC_FAULT_LOG, so the walk knows when K went past the last call. Built by the test with
 * cc -shared -fPIC; not part of t2rec. (stdio writes go through glibc's internal write and are
 * not seen; t2rec's results files are written with write(2).)
 * T2REC_FAULT="malloc:K" (shim built with -DFAULT_MALLOC, as tests/test_faults.c does; without
 * it malloc is not wrapped) makes the K-th malloc / calloc / realloc / strdup / strndup counted
 * from when the shim loads fail with ENOMEM (counted across threads; a forked process goes on
 * from its parent's count). The others go to glibc's allocator, or, in an AddressSanitizer
 * build (preloaded ahead of libasan, ASAN_OPTIONS=verify_asan_link_order=0), to ASan's, so that
 * ASan's free() always gets its own blocks. The log line names the library (and offset, for
 * addr2line) that made the failed call. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ASan's, when libasan is loaded (weak: resolved at load time, NULL without ASan) */
extern void *__interceptor_malloc(size_t) __attribute__((weak));
extern void *__interceptor_calloc(size_t, size_t) __attribute__((weak));
extern void *__interceptor_realloc(void *, size_t) __attribute__((weak));

enum { F_NONE, F_WRITE, F_FSYNC, F_RENAME, F_MALLOC };
static int which = F_NONE;
static long target, count;

__attribute__((constructor)) static void fault_init(void)
{
    const char *e = getenv("T2REC_FAULT");
    if (!e)
        return;
    void *f[1];
    if (!__interceptor_malloc)   /* ASan reports crashes itself (and would call this a leak) */
        backtrace(f, 1);   /* loads libgcc_s now, not in a crash handler */
    const char *colon = strchr(e, ':');
    if (!colon)
        return;
    size_t l = (size_t)(colon - e);
    if (l == 5 && !strncmp(e, "write", 5))
        which = F_WRITE;
    else if (l == 5 && !strncmp(e, "fsync", 5))
        which = F_FSYNC;
    else if (l == 6 && !strncmp(e, "rename", 6))
        which = F_RENAME;
    target = atol(colon + 1);
    if (l == 6 && !strncmp(e, "malloc", 6))
        which = F_MALLOC;   /* last: from here on allocations count */
}

static int regular(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

static void fired_in(const char *what, const char *where);

/* After a fault fired: a crash appends its backtrace to the log (innermost 40 frames; on an
 * alternate stack, so a stack overflow is reported too), then dies of the signal as before.
 * Only for signals the program does not handle itself. */
static void on_crash(int sig)
{
    const char *p = getenv("T2REC_FAULT_LOG");
    int fd = p ? open(p, O_WRONLY | O_APPEND | O_CLOEXEC) : -1;
    if (fd >= 0) {
        void *frames[40];
        int n = backtrace(frames, 40);
        char line[64];
        int l = snprintf(line, sizeof line, "signal %d, backtrace:\n", sig);
        if (syscall(SYS_write, fd, line, (size_t)l) < 0) { /* nothing to do */ }
        backtrace_symbols_fd(frames, n, fd);
        close(fd);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void catch_crashes(void)
{
    static char alt[256 * 1024];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    int sigs[3] = {SIGSEGV, SIGBUS, SIGABRT}, alt_set = 0;
    for (int k = 0; k < 3; k++) {   /* only where the program (or ASan) has no handler */
        struct sigaction old;
        if (sigaction(sigs[k], NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
            (old.sa_flags & SA_SIGINFO))
            continue;
        if (!alt_set++)
            sigaltstack(&ss, NULL);
        sigaction(sigs[k], &sa, NULL);
    }
}

static void fired(const char *what)
{
    fired_in(what, NULL);
}

/* the log line, with the library whose call failed when known */
static void fired_in(const char *what, const char *where)
{
    const char *p = getenv("T2REC_FAULT_LOG");
    if (!p)
        return;
    int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    char line[512];
    int n = snprintf(line, sizeof line, "%s %ld pid %ld%s%s\n", what, target, (long)getpid(),
                     where ? " in " : "", where ? where : "");
    if (syscall(SYS_write, fd, line, (size_t)n) < 0) { /* nothing to do */ }
    close(fd);
    catch_crashes();
}

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (!real)
        real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (which == F_WRITE && regular(fd) && ++count == target) {
        fired("write");
        errno = ENOSPC;
        return -1;
    }
    return real(fd, buf, n);
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (which == F_FSYNC && regular(fd) && ++count == target) {
        fired("fsync");
        errno = EIO;
        return -1;
    }
    return real(fd);
}

int rename(const char *a, const char *b)
{
    static int (*real)(const char *, const char *);
    if (!real)
        real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    if (which == F_RENAME && ++count == target) {
        fired("rename");
        errno = EIO;
        return -1;
    }
    return real(a, b);
}

#ifdef FAULT_MALLOC
/* glibc's own allocator entry points: no dlsym (which allocates) needed */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static void *real_malloc(size_t n)
{
    return __interceptor_malloc ? __interceptor_malloc(n) : __libc_malloc(n);
}

static int malloc_fails(void *caller)
{
    if (which != F_MALLOC || __atomic_add_fetch(&count, 1, __ATOMIC_SEQ_CST) != target)
        return 0;
    Dl_info info;
    char where[600];
    if (dladdr(caller, &info) && info.dli_fname) {   /* library +offset, for addr2line */
        snprintf(where, sizeof where, "%s +0x%lx", info.dli_fname,
                 (unsigned long)((char *)caller - (char *)info.dli_fbase));
        fired_in("malloc", where);
    } else
        fired_in("malloc", NULL);
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t n)
{
    return malloc_fails(__builtin_return_address(0)) ? NULL : real_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (malloc_fails(__builtin_return_address(0)))
        return NULL;
    return __interceptor_calloc ? __interceptor_calloc(a, b) : __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    if (malloc_fails(__builtin_return_address(0)))
        return NULL;
    return __interceptor_realloc ? __interceptor_realloc(p, n) : __libc_realloc(p, n);
}

/* strdup / strndup counted here too, so that the log names their caller (t2rec, HDF5), not
 * libc; allocations libc makes for itself (fopen, vasprintf) are logged as libc's */
char *strdup(const char *s)
{
    if (malloc_fails(__builtin_return_address(0)))
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = real_malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

char *strndup(const char *s, size_t max)
{
    if (malloc_fails(__builtin_return_address(0)))
        return NULL;
    size_t n = strnlen(s, max);
    char *d = real_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}
#endif
