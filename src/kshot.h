/* kshot.h — the k-shot user protocol (issue 17): fresh users who reveal k of their ratings.
 *
 * Data key `kshot` = K (-1, the default: off). The fresh users are the users of test_cold (no
 * training pairs): synthetic data's cold users, real data's held-out users (split =
 * cold_users). Each fresh user's pairs are ordered by time (the split's `time`, else their order
 * in the split); the earliest K go to d->reveal, the rest stay in test_cold as the queries that
 * the cold metrics score. A real-data user with K or fewer pairs would have no query: such users
 * are left out of both (so for a large K the scored population shrinks).
 * Synthetic data: test_cold pairs join fresh users to fresh ITEMS, which no method can score
 * from revealed ratings; with kshot >= 0 every cold user's test_cold pairs are therefore
 * replaced by cold_list_size pairs with distinct TRAINING items drawn uniformly (a stream of
 * their own, derived from the data seed, so every K sees the same draws), observed through the
 * generator's noise (synth_observe) with the oracle R* + offset, and timed by their draw order
 * (time = 0, 1, ...). The config check requires cold_list_size >= K + 10 (kshot_check_synth).
 * Methods use d->reveal as they naturally can (each method's file says how).
 */
#ifndef KSHOT_H
#define KSHOT_H

#include <stddef.h>
#include "dataset.h"
#include "synth.h"

/* Apply the protocol with K >= 0 to d (K < 0: nothing). p: the generator's parameters for
 * synthetic data (the redraw above), NULL for real data. 0, or -1 with a message. */
int kshot_apply(ds_data *d, long K, const synth_params *p, char *err, size_t errlen);

/* Config check of synthetic data with kshot = K: 0, or -1 with *bad_key and a message. */
int kshot_check_synth(long K, const synth_params *p, const char **bad_key, char *msg, size_t n);

#endif
