/* fuzz_results.c — libFuzzer target: arbitrary bytes as a results file through h5out_read
 * (HDF5 on damaged files), and when it reads, the CSV export and a merge of the records. */
#include "h5out.h"
#include "fuzz_util.h"

int fuzz_results_one(const uint8_t *data, size_t size)
{
    char path[512], err[2048] = "";
    fuzz_write("results.h5", data, size, path, sizeof path);
    cell_record *recs = NULL;
    int n = 0;
    if (h5out_read(path, &recs, &n, err, sizeof err) != 0) {
        fuzz_check_message(err);
        if (recs)
            abort();
    } else {
        FILE *f = fopen("/dev/null", "w");
        if (f) {
            (void)h5out_export_csv(f, recs, n);
            fclose(f);
        }
        cell_record *acc = NULL;
        int nacc = 0;
        if (h5out_merge(&acc, &nacc, recs, n) == 0)
            (void)h5out_merge(&acc, &nacc, recs, n);
        h5out_free_records(acc, nacc);
        h5out_free_records(recs, n);
    }
    fuzz_unlink("results.h5");
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_results_one(data, size);
}
#endif
