/* cmd_keys.c — `t2rec keys [--markdown]`: every config key the build accepts, with its type,
 * default, range and meaning, from the same tables that validate configs (so docs/configs.md
 * can be regenerated and checked against the code). Defaults print in canonical form (as they
 * enter cell keys); conditional keys say "(only with KEY = VALUE)". */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "config.h"
#include "estimator.h"

static const char *type_name(const param_spec *s)
{
    switch (s->type) {
    case PT_INT: return "integer";
    case PT_REAL: return "real";
    case PT_ENUM: return "choice";
    case PT_STRING: return "text";
    case PT_INT_OR_THEORY: return "integer or theory";
    }
    return "?";
}

/* Markdown spells a choice list "a | b" (md_cell escapes the bars), plain text "a|b". */
static void range(const param_spec *s, char *buf, size_t n, int md)
{
    if (s->type == PT_ENUM && md) {
        size_t at = 0;
        for (const char *p = s->choices; *p && at + 4 < n; p++) {
            if (*p == '|') {
                memcpy(buf + at, " | ", 3);
                at += 3;
            } else
                buf[at++] = *p;
        }
        buf[at] = 0;
    } else if (s->type == PT_ENUM)
        snprintf(buf, n, "%s", s->choices);
    else if (s->type == PT_STRING)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.6g .. %.6g", s->min, s->max);
}

/* " (only with k = a/b)" for a conditional key, "" otherwise */
static void condition_note(const param_condition *c, const char *key, char *buf, size_t n)
{
    buf[0] = 0;
    for (; c && c->key; c++)
        if (!strcmp(c->key, key)) {
            int at = snprintf(buf, n, " (only with %s = ", c->when_key);
            for (const char *p = c->when_values; *p && at > 0 && (size_t)at + 2 < n; p++)
                buf[at++] = *p == '|' ? '/' : *p;
            if (at > 0 && (size_t)at + 2 < n) {
                buf[at++] = ')';
                buf[at] = 0;
            }
            return;
        }
}

/* One Markdown table cell's text, every '|' escaped as "\\|" so it cannot split the cell. */
static void md_cell(const char *t)
{
    for (const char *p = t; *p; p++)
        fputs(*p == '|' ? "\\|" : (char[2]){*p, 0}, stdout);
}

static void table(const char *title, const param_spec *t, const param_condition *cond, int md)
{
    if (md) {
        printf("\n### %s\n\n| key | type | default | range | meaning |\n|---|---|---|---|---|\n", title);
    } else
        printf("\n[%s]\n", title);
    for (const param_spec *s = t; s && s->name; s++) {
        char r[256], note[128], def[64];
        range(s, r, sizeof r, md);
        if (!s->def || param_canonical(s, s->def, def, sizeof def) != 0)
            snprintf(def, sizeof def, "%s", s->def ? s->def : "");
        condition_note(cond, s->name, note, sizeof note);
        if (md) {
            fputs("| `", stdout);
            md_cell(s->name);
            fputs("` | ", stdout);
            md_cell(type_name(s));
            fputs(" | ", stdout);
            md_cell(s->def ? def : "(required or computed)");
            fputs(" | ", stdout);
            md_cell(r);
            fputs(" | ", stdout);
            md_cell(s->help ? s->help : "");
            md_cell(note);
            fputs(" |\n", stdout);
        } else
            printf("  %-20s %-18s default %-12s range %-28s %s%s\n", s->name, type_name(s),
                   s->def ? def : "-", r, s->help ? s->help : "", note);
    }
}

int cmd_keys(int argc, char **argv)
{
    int md = 0;
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            printf("usage: t2rec keys [--markdown]\n\nList every config key: [experiment], [data] per "
                   "source, and each method's [method.NAME] keys, with type, default, range and "
                   "meaning (the tables configs are validated against).\n");
            return 0;
        } else if (!strcmp(argv[k], "--markdown"))
            md = 1;
        else {
            fprintf(stderr, "t2rec keys: unknown argument '%s'\n", argv[k]);
            return 2;
        }
    }
    table("experiment", cfg_experiment_keys, NULL, md);
    table("data, source = synthetic", cfg_data_keys("synthetic"), cfg_data_key_conditions("synthetic"), md);
    table("data, source = movielens100k", cfg_data_keys("movielens100k"),
          cfg_data_key_conditions("movielens100k"), md);
    table("data, source = tsv", cfg_data_keys("tsv"), cfg_data_key_conditions("tsv"), md);
    for (int m = 0; est_methods[m]; m++) {
        char title[64];
        snprintf(title, sizeof title, "method.%s", est_methods[m]->name);
        table(title, est_methods[m]->params, est_methods[m]->conditions, md);
    }
    return 0;
}
