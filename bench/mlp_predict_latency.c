/*
** One-sample inference latency through the C ABI: lamina_model_predict on a 3-64-64-1 relu
** MLP, one row per call, after warm-up; median of `reps` runs of `calls` calls.
**
**   make bench-latency
**   build/bench/mlp_predict_latency [calls=200000] [reps=7]   (bench/harness.py uses this)
*/
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lamina.h"
#include "timing.h"

int main(int argc, char **argv) {
    lamina_model *model = NULL;
    if (lamina_model_create("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [64, 64], \"output\": 1}",
                            &model) != LAMINA_OK) {
        fprintf(stderr, "lamina: %s\n", lamina_last_error());
        return 1;
    }
    float x[3] = {0.1f, -0.2f, 0.3f}, y[1];
    enum { MAX_REPS = 64 };
    long calls = argc > 1 ? atol(argv[1]) : 200000;
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    if (calls < 1 || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "usage: %s [calls >= 1] [reps 1..%d]\n", argv[0], MAX_REPS);
        return 2;
    }
    for (int i = 0; i < 20000; i++) lamina_model_predict(model, x, 1, y);
    double times[MAX_REPS];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (long i = 0; i < calls; i++) {
            x[0] = (float)(i & 1023) * 1e-3f;
            if (lamina_model_predict(model, x, 1, y) != LAMINA_OK) return 1;
        }
        times[r] = (now() - t0) / (double)calls;
    }
    qsort(times, reps, sizeof times[0], compare_doubles);
    printf("mlp 3-64-64-1 relu, one sample per lamina_model_predict: %.3f us (spread %.3f-%.3f us)\n",
           times[reps / 2] * 1e6, times[0] * 1e6, times[reps - 1] * 1e6);
    lamina_model_free(model);
    return 0;
}
