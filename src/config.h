/* config.h — experiment configs (SPEC section 7): INI parsing with line numbers, validation,
 * sweep axes, [zip] groups, cell expansion, canonical cell keys and per-cell seeds.
 *
 * A config has the sections [experiment], [data], [zip] and [method.NAME] (NAME from the
 * estimator registry). A comma list in [data] or [method.NAME] is a sweep axis. The cells are
 * the cartesian product of the axes (axes named together in a [zip] key move together) times
 * `replicates` times the methods (each with its own axes).
 *
 * Expansion order (stable, cell.index follows it):
 *   data axis groups, the group whose first key comes first in the file varying slowest;
 *   then the replicate; then the methods in file order; then each method's axis groups (same
 *   rule). So consecutive cells share a dataset as long as possible.
 *
 * Cell key: FNV-1a 64 followed by a splitmix64 finaliser over the canonical text
 *   sorted "data.KEY=VALUE\n" lines of every resolved data key (defaults filled, numbers
 *   printed canonically: "1.0", "1" and "1e0" agree), "experiment.seed=S\n", "method=NAME\n",
 *   sorted "method.KEY=VALUE\n" lines, "replicate=R\n". A key added to an existing table
 *   after results files existed (cfg_keyed_if_changed: pop_gamma, kshot, protocol, ...) is
 *   left out of the text while it holds its default, so older cells keep their keys.
 * experiment.name / output / description are not part of the key.
 * Seeds: data_seed = hash(master seed, replicate) (shared by all cells of a replicate, so an
 * n_obs sweep shares the truth), train_seed = hash(master seed, cell key).
 *
 * Errors have the form "FILE:LINE: [section] key: message" (LINE 0 when no line applies).
 * cfg_load reports the errors of reading and checking each key (syntax, unknown or duplicate
 * keys, bad values) all together, one per line in line order, up to CFG_MAX_ERRORS (then a
 * count of the rest); the checks across keys (zip, conditions, memory) run only on a file
 * without such errors and report the first one.
 * Inline comments start with ';' or '#' at the start of a line or after whitespace.
 * Lines are limited to CFG_MAX_LINE characters (the limit of Debian's libinih).
 * Ranges (numeric keys of [data] and [method.NAME]): a list element "A .. B" is A, 2A, 4A, ...
 * up to B; "A .. B x F" multiplies by F > 1, "A .. B + S" adds S > 0 (the step after a blank);
 * A, B, F, S are numbers or BASE^EXP (2^10); B must be one of the values; at most CFG_MAX_RANGE
 * values. A range is the list of its values: "2^10 .. 2^12" and "1024, 2048, 4096" give the
 * same cells and keys.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "params.h"
#include "synth.h"

#define CFG_MAX_LINE 199
#define CFG_MAX_ERRORS 20
#define CFG_MAX_RANGE 1000   /* values one range item may give */

typedef struct cfg cfg;

#define CFG_NOMEM (-2)   /* cfg_load / cfg_expand: memory ran out (a runtime failure, exit 1) */

/* Parse + validate a config file. 0 ok; -1 bad input with a message in err; CFG_NOMEM. */
int cfg_load(const char *path, cfg **out, char *err, size_t errlen);
void cfg_free(cfg *c);
const char *cfg_path(const cfg *c);
const char *cfg_name(const cfg *c);        /* [experiment] name (default: file basename w/o .ini) */
uint64_t cfg_seed(const cfg *c);           /* [experiment] seed, default 1 */
int cfg_replicates(const cfg *c);          /* [experiment] replicates, default 1 */
const char *cfg_output(const cfg *c);      /* [experiment] output, default results/NAME.h5 */
const char *cfg_description(const cfg *c); /* [experiment] description, "" if absent */
const char *cfg_source(const cfg *c);      /* [data] source: synthetic | movielens100k | tsv */
/* Line of key in section ("data", "experiment", "zip", "method.NAME"); key NULL or "" gives
 * the section header's line. 0 if absent. */
int cfg_line_of(const cfg *c, const char *section, const char *key);
/* Number of [method.NAME] sections and their names in file order. */
int cfg_n_methods(const cfg *c);
const char *cfg_method_name(const cfg *c, int k);
/* Keys of [data] (and of [method.NAME] when method is non-NULL) that are sweep axes: writes up
 * to max names into names[] (file order) and returns how many there are. */
int cfg_axes(const cfg *c, const char *method, const char **names, int max);

typedef struct {
    char key[17];            /* 16 lowercase hex digits */
    int index;               /* position in the expansion (stable order) */
    int replicate;           /* 0-based */
    uint64_t data_seed;      /* hash(master seed, replicate) */
    uint64_t train_seed;     /* hash(master seed, cell key) */
    char method[32];         /* "" when the config has no [method.*] section (e.g. for gen) */
    kvset data;              /* resolved [data] keys, defaults filled */
    kvset method_params;     /* resolved [method.NAME] keys, defaults filled, no prefix */
    kvset all;               /* "experiment.name", "experiment.seed", "experiment.replicates",
                                "experiment.description" (when not empty), "data.KEY"...,
                                "method", "method.KEY"...: what a results file stores */
    char *canonical;         /* the text that was hashed */
} cfg_cell;

/* The cells of a run: a config without any [method.NAME] section is refused (nothing would run). */
int cfg_expand(const cfg *c, cfg_cell **cells, int *ncells, char *err, size_t errlen);
/* The same expansion, allowing data-only cells (method "") when there is no method section:
 * for the commands that only look at the data (gen, intdim). */
int cfg_expand_data(const cfg *c, cfg_cell **cells, int *ncells, char *err, size_t errlen);
void cfg_cells_free(cfg_cell *cells, int n);
/* Fill synth params from a cell (source = synthetic; seed = cell->data_seed); semantic errors
 * name FILE:LINE: [data] key. */
int cfg_cell_synth_params(const cfg *c, const cfg_cell *cell, synth_params *p, char *err,
                          size_t errlen);

/* ---- key tables (src/data_keys.c) ---- */
/* [experiment] keys. */
extern const param_spec cfg_experiment_keys[];
/* [data] keys accepted with the given source ("synthetic", "movielens100k", "tsv"), including
 * "source" itself; NULL for an unknown source. Synthetic defaults come from
 * synth_params_default. */
const param_spec *cfg_data_keys(const char *source);
/* Every [data] key of every source (for suggestions); and the sources a key belongs to
 * ("synthetic", "movielens100k, tsv", ...) or NULL if it is no data key at all. */
const param_spec *cfg_data_keys_all(void);
/* 1 when a key joins a cell's key only when set away from its default (keys added after results
 * files existed: their cells keep their keys). method = NULL for a data key. */
int cfg_keyed_if_changed(const char *method, const char *key);
/* Give a record's resolved config (record.h: "data.KEY", "method", "method.KEY") the default of
 * every such key it lacks (a record written before the key existed). 0, or -1 out of memory. */
int cfg_fill_keyed_defaults(kvset *config);
const char *cfg_data_key_sources(const char *key);
/* Conditional keys of a source: `key` acts only when `when_key` is one of `when_values`
 * ("a|b"). NULL-terminated; NULL for an unknown source. */
typedef param_condition cfg_key_condition;
const cfg_key_condition *cfg_data_key_conditions(const char *source);

#endif
