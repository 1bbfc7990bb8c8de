/* fuzz_tsv.c — libFuzzer target: the input, cut at "----\n" lines, becomes the ratings TSV and
 * the optional user and item feature files; load_tsv must load them or fail with a one-line
 * message. */
#include "loaders.h"
#include "fuzz_util.h"

int fuzz_tsv_one(const uint8_t *data, size_t size)
{
    static const char *const names[3] = {"ratings.tsv", "users.tsv", "items.tsv"};
    const uint8_t *part[3];
    size_t len[3];
    char path[3][512];
    int np = fuzz_split(data, size, part, len, 3);
    for (int k = 0; k < np; k++)
        fuzz_write(names[k], part[k], len[k], path[k], sizeof path[k]);
    ds_data d;
    char err[2048] = "";
    memset(&d, 0, sizeof d);
    if (load_tsv(path[0], np > 1 ? path[1] : NULL, np > 2 ? path[2] : NULL, 0.1, 0.2, 3, &d, err,
                 sizeof err) != 0)
        fuzz_check_message(err);
    else
        ds_free(&d);
    for (int k = 0; k < np; k++)
        fuzz_unlink(names[k]);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_tsv_one(data, size);
}
#endif
