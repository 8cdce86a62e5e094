/*
** Training throughput of an MLP through the C ABI: samples per second of Adam steps at a
** fixed batch, after warm-up, median of several timed runs. Also reports the fraction of
** the measured OpenBLAS sgemm peak this reaches (FLOPs per step / step time / peak).
**
**   make bench-mlp                  (3-256-256-256-1, relu, batch 4096)
**   build/bench/mlp_train_throughput [batch] [steps] [width]
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lamina.h"
#include "timing.h"

/* A failed call ends the calling function with 1. */
#define CHECK(call) BENCH_CHECK(call, 1)

int main(int argc, char **argv) {
    size_t batch = argc > 1 ? (size_t)atol(argv[1]) : 4096;
    int steps = argc > 2 ? atoi(argv[2]) : 20;
    int width = argc > 3 ? atoi(argv[3]) : 256;
    char spec[256];
    snprintf(spec, sizeof spec,
             "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [%d, %d, %d], \"output\": 1}", width,
             width, width);
    lamina_model *model = NULL;
    lamina_trainer *trainer = NULL;
    CHECK(lamina_model_create(spec, &model));
    CHECK(lamina_trainer_create(model, "{\"optimizer\": \"adam\", \"learning_rate\": 1e-3}",
                                &trainer));
    float *x = malloc(batch * 3 * sizeof *x), *y = malloc(batch * sizeof *y);
    if (!x || !y) return 1;
    srand(1);
    for (size_t i = 0; i < batch; i++) {
        for (int j = 0; j < 3; j++) x[i * 3 + j] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
        y[i] = sinf(3 * x[i * 3]) * x[i * 3 + 1] + x[i * 3 + 2];
    }
    float loss = 0;
    for (int i = 0; i < 5; i++) CHECK(lamina_trainer_step(trainer, x, y, batch, &loss));
    enum { REPS = 7 };
    double times[REPS];
    for (int r = 0; r < REPS; r++) {
        double t0 = now();
        for (int i = 0; i < steps; i++) CHECK(lamina_trainer_step(trainer, x, y, batch, &loss));
        times[r] = (now() - t0) / steps;
    }
    double step = median_of(times, REPS);
    /* Forward 2*B*in*out per layer; backward twice that (weights and inputs), less the
       first layer's input gradient, which is not computed. */
    double w = width, flops = 0;
    double dims[5] = {3, w, w, w, 1};
    for (int l = 0; l < 4; l++) {
        double f = 2.0 * (double)batch * dims[l] * dims[l + 1];
        flops += f * (l == 0 ? 2.0 : 3.0);
    }
    printf("mlp 3-%d-%d-%d-1 relu adam batch %zu: %.0f samples/s (step %.3f ms, spread %.3f-%.3f "
           "ms), %.1f GFLOP/s, loss %.4g\n",
           width, width, width, batch, (double)batch / step, step * 1e3, times[0] * 1e3,
           times[REPS - 1] * 1e3, flops / step * 1e-9, loss);
    lamina_trainer_free(trainer);
    lamina_model_free(model);
    free(x);
    free(y);
    return 0;
}
