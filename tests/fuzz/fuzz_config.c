/* fuzz_config.c — libFuzzer target: arbitrary bytes as a config file through cfg_load and,
 * when it loads, cfg_expand and the per-cell synth parameters (SPEC section 11: bad input
 * gives a message of non-empty lines, one per error, never a crash). */
#include "config.h"
#include "fuzz_util.h"

/* Upper bound on the cells of a config: replicates x lines x prod(1 + commas per line). The
 * fuzzer expands only small sweeps (a million-cell sweep is legal but costs gigabytes); a
 * range counts as CFG_MAX_RANGE values. */
static double fuzz_cell_bound(const uint8_t *d, size_t n, int replicates)
{
    double b = replicates > 0 ? replicates : 1, lines = 1, commas = 0;
    for (size_t k = 0; k < n; k++) {
        if (d[k] == ',')
            commas++;
        if (d[k] == '.' && k + 1 < n && d[k + 1] == '.')
            commas += CFG_MAX_RANGE;   /* a range "A .. B" gives up to that many values */
        if (d[k] == '\n') {
            b *= 1 + commas;
            commas = 0;
            lines++;
        }
    }
    return b * (1 + commas) * lines;
}

/* cfg_load reports all of a file's errors, one per line (at most CFG_MAX_ERRORS + a count
 * line): every line must be a non-empty message. */
static void check_config_messages(const char *err)
{
    if (!err[0])
        fuzz_check_message(err);
    int lines = 0;
    for (const char *p = err; *p;) {
        size_t n = strcspn(p, "\n");
        char one[2048];
        snprintf(one, sizeof one, "%.*s", (int)n, p);
        fuzz_check_message(one);
        lines++;
        p += n + (p[n] == '\n');
        if (!*p && p[-1] == '\n')
            fuzz_check_message("");   /* a trailing newline: an empty last line */
    }
    if (lines > CFG_MAX_ERRORS + 1)
        abort();
}

int fuzz_config_one(const uint8_t *data, size_t size)
{
    char path[512], err[2048];
    fuzz_write("config.ini", data, size, path, sizeof path);
    cfg *c = NULL;
    err[0] = '\0';
    if (cfg_load(path, &c, err, sizeof err) != 0) {
        check_config_messages(err);
        if (c)
            abort();   /* failure must leave *out NULL */
    } else {
        (void)cfg_line_of(c, "data", "n_obs");
        const char *names[64];
        (void)cfg_axes(c, NULL, names, 64);
        for (int k = 0; k < cfg_n_methods(c); k++)
            (void)cfg_axes(c, cfg_method_name(c, k), names, 64);
        if (fuzz_cell_bound(data, size, cfg_replicates(c)) <= 20000) {
            cfg_cell *cells = NULL;
            int n = 0;
            if (cfg_expand(c, &cells, &n, err, sizeof err) != 0) {
                fuzz_check_message(err);
            } else {
                for (int k = 0; k < n && k < 8; k++) {
                    synth_params p;
                    if (strcmp(cfg_source(c), "synthetic") == 0 &&
                        cfg_cell_synth_params(c, &cells[k], &p, err, sizeof err) != 0)
                        fuzz_check_message(err);
                }
                cfg_cells_free(cells, n);
            }
        }
        cfg_free(c);
    }
    fuzz_unlink("config.ini");
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_config_one(data, size);
}
#endif
