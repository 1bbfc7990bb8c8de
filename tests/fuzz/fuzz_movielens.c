/* fuzz_movielens.c — libFuzzer target: the input, cut at "----\n" lines, becomes u.data,
 * u.user, u.item, u.occupation, u1.base, u1.test of a temp MovieLens 100K folder (missing
 * parts are missing files); load_movielens100k must load it or fail with a one-line message. */
#include "loaders.h"
#include "fuzz_util.h"

static const char *const fuzz_ml_files[6] = {"u.data", "u.user", "u.item", "u.occupation",
                                             "u1.base", "u1.test"};

static void fuzz_ml_try(const char *fold, const char *split)
{
    ds_data d;
    char err[2048] = "";
    memset(&d, 0, sizeof d);
    if (load_movielens100k(fuzz_tmpdir(), fold, split, 0.1, 0.3, 7, &d, err, sizeof err) != 0)
        fuzz_check_message(err);
    else
        ds_free(&d);
}

int fuzz_movielens_one(const uint8_t *data, size_t size)
{
    const uint8_t *part[6];
    size_t len[6];
    char path[512];
    int np = fuzz_split(data, size, part, len, 6);
    for (int k = 0; k < np; k++)
        fuzz_write(fuzz_ml_files[k], part[k], len[k], path, sizeof path);
    fuzz_ml_try("all", "fold");
    fuzz_ml_try("all", "cold_users");
    if (np == 6)
        fuzz_ml_try("u1", "fold");
    for (int k = 0; k < np; k++)
        fuzz_unlink(fuzz_ml_files[k]);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_movielens_one(data, size);
}
#endif
