/* params.h — typed key specifications and resolved key/value sets.
 *
 * Every config key (the [data] keys and each method's keys) is described by a param_spec:
 * its type, default, range and help text. The config layer validates text values against
 * these tables (so errors can name file, line and key); estimators then read the resolved,
 * already-validated values from a kvset with the typed getters below.
 */
#ifndef PARAMS_H
#define PARAMS_H

#include <stddef.h>

typedef enum {
    PT_INT,      /* integer in [min, max] */
    PT_REAL,     /* finite real in [min, max] */
    PT_ENUM,     /* one of choices "a|b|c" */
    PT_STRING,   /* free text (paths, names) */
    PT_INT_OR_THEORY /* integer in [min, max] or the word "theory" (twotower width) */
} param_type;

typedef struct {
    const char *name;
    param_type type;
    const char *def;        /* default value as text; NULL = required */
    double min, max;        /* inclusive range for PT_INT / PT_REAL / PT_INT_OR_THEORY */
    const char *choices;    /* PT_ENUM: "a|b|c" */
    const char *help;
} param_spec;               /* tables end with an entry whose name is NULL */

/* A conditional key: `key` acts only when `when_key` is one of `when_values` ("a|b"). Tables
 * of these end with an entry whose key is NULL. A key written in a config whose condition holds
 * in no cell would do nothing: the config check refuses it. */
typedef struct {
    const char *key, *when_key, *when_values;
} param_condition;

/* A resolved set of key = value strings, sorted by key (strcmp). */
typedef struct {
    int n;
    char **key;
    char **val;
} kvset;

const param_spec *param_find(const param_spec *table, const char *name);
/* The table entry whose name is nearest (edit distance) to name, or NULL if none is close. */
const char *param_nearest(const param_spec *table, const char *name);
/* Check one text value against its spec; -1 and a message (without file/line) on error. */
int param_check_value(const param_spec *s, const char *val, char *err, size_t errlen);

/* Check every key of kv that table knows; the first bad one: its message (thread-local
 * storage, valid until the next call) and *bad_key = its name. NULL when all are valid. */
const char *param_check_table(const param_spec *table, const kvset *kv, const char **bad_key);

void kv_init(kvset *kv);
void kv_free(kvset *kv);
int kv_set(kvset *kv, const char *key, const char *val);     /* insert or replace, keeps order */
/* kv_set from one "key=value" string (command lines, tests); -1 when there is no '=', the key
 * is empty or longer than 127 characters, or memory runs out. */
int kv_set_pair(kvset *kv, const char *pair);
const char *kv_get(const kvset *kv, const char *key);        /* NULL if absent */
long kv_int(const kvset *kv, const char *key, long def);
double kv_real(const kvset *kv, const char *key, double def);
const char *kv_str(const kvset *kv, const char *key, const char *def);
int kv_copy(kvset *dst, const kvset *src);
/* Typed reads of resolved keys, the ONE way methods read their parameters (liblinear style: a
 * method's parse function calls these once to fill its typed struct). The value comes from kv,
 * else from the table's default (defaults live only in the table). A key that is not in table,
 * a value that does not parse as the spec's type, or a required key that is missing is a
 * programming error: a message naming the key on stderr and abort(). */
long param_int(const param_spec *table, const kvset *kv, const char *key);
double param_real(const param_spec *table, const kvset *kv, const char *key);
const char *param_str(const param_spec *table, const kvset *kv, const char *key);
/* The canonical text of a valid value (integers "%ld"; reals: whole numbers below 1e15 in
 * plain form "%.0f", others the shortest "%.*g" that reads back to the same double, -0 -> 0;
 * enums/strings unchanged), so "1", "1.0" and "1e0" give one cell key. -1 if out is too short. */
int param_canonical(const param_spec *s, const char *val, char *out, size_t outlen);

/* Fill absent keys of kv from the defaults of table. */
int kv_fill_defaults(kvset *kv, const param_spec *table);

#endif
