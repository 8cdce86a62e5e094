/*
** One-sample inference latency through the C ABI: lamina_model_predict on a 3-64-64-1 relu
** MLP, one row per call, after warm-up; median of 7 runs of 200000 calls.
**
**   make bench-latency
*/
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lamina.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    lamina_model *model = NULL;
    if (lamina_model_create("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [64, 64], \"output\": 1}",
                            &model) != LAMINA_OK) {
        fprintf(stderr, "lamina: %s\n", lamina_last_error());
        return 1;
    }
    float x[3] = {0.1f, -0.2f, 0.3f}, y[1];
    enum { CALLS = 200000, REPS = 7 };
    for (int i = 0; i < 20000; i++) lamina_model_predict(model, x, 1, y);
    double times[REPS];
    for (int r = 0; r < REPS; r++) {
        double t0 = now();
        for (int i = 0; i < CALLS; i++) {
            x[0] = (float)(i & 1023) * 1e-3f;
            if (lamina_model_predict(model, x, 1, y) != LAMINA_OK) return 1;
        }
        times[r] = (now() - t0) / CALLS;
    }
    qsort(times, REPS, sizeof times[0], cmp);
    printf("mlp 3-64-64-1 relu, one sample per lamina_model_predict: %.3f us (spread %.3f-%.3f us)\n",
           times[REPS / 2] * 1e6, times[0] * 1e6, times[REPS - 1] * 1e6);
    lamina_model_free(model);
    return 0;
}
