/* nn_vec.h — compile the elementwise and row loops of the layers vectorised for the CPU at
 * hand (ifunc clones): at the project's default -O2 GCC leaves them scalar. Without -ffast-math
 * this never reassociates a sum, and -std=c11 keeps FMA contraction off, so every clone gives
 * the same numbers. */
#ifndef NN_VEC_H
#define NN_VEC_H
#define NN_VEC __attribute__((optimize("O3", "no-math-errno"), target_clones("avx512f", "avx2", "default")))
#endif
