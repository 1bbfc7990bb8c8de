/* synth_noise.c — observation noise (gaussian, or student_t scaled to sd `noise`) and the
 * optional 1..5 star rounding of observed ratings. */
#include "synth.h"
#include <math.h>
#include <gsl/gsl_randist.h>

double synth_noise_draw(const synth_params *p, gsl_rng *r)
{
    if (p->noise_dist == SYNTH_STUDENT_T)
        return p->noise * sqrt((p->noise_df - 2.0) / p->noise_df) * gsl_ran_tdist(r, p->noise_df);
    return gsl_ran_gaussian_ziggurat(r, 1.0) * p->noise;
}

double synth_observe(const synth_params *p, double rstar, double eps)
{
    if (!p->stars)
        return rstar + eps;
    double v = round(3.0 + rstar + eps);
    return v < 1 ? 1 : v > 5 ? 5 : v;
}
