/* shquote.c — single-quoting for sh (see shquote.h). */
#include "shquote.h"
#include <string.h>

void sh_quote(const char *s, char *buf, size_t n)
{
    size_t at = 0;
    if (at + 1 < n)
        buf[at++] = '\'';
    for (; *s && at + 5 < n; s++) {
        if (*s == '\'') {
            memcpy(buf + at, "'\\''", 4);
            at += 4;
        } else
            buf[at++] = *s;
    }
    if (at + 1 < n)
        buf[at++] = '\'';
    buf[at] = 0;
}
