/* shquote.h — single-quoting a string for sh (generated scripts and gnuplot `system` lines). */
#ifndef SHQUOTE_H
#define SHQUOTE_H

#include <stddef.h>

/* buf = s in single quotes, each ' written as '\'' ; truncated to fit n bytes (NUL included). */
void sh_quote(const char *s, char *buf, size_t n);

#endif
