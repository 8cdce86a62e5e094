/*
** Adam training-step time of a B-spline KAN through the C ABI, for several grid sizes: the
** cost per step should not grow with G (only the k + 1 non-zero bases of each sample are
** touched). Median of several timed runs after warm-up.
**
**   make bench-kan                  ([32, 32, 8], cubic, batch 4096, G = 5, 100, 1000)
**   build/bench/kan_step_time [batch] [steps] [G ...]
**
**   KAN_WIDTHS=64,64,10 build/bench/kan_step_time 1024 20 5   (other widths)
**
** Prints ms/step per grid and the ratio to the first grid; the target is G = 100 within
** 1.5x of G = 5.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lamina.h"
#include "timing.h"

/* A failed call ends the calling function with -1. */
#define CHECK(call) BENCH_CHECK(call, -1)

enum { REPS = 7 };

/* Widths of the [IN, HIDDEN, OUT] model: 32, 32, 8 unless KAN_WIDTHS="in,hidden,out". */
static int IN = 32, HIDDEN = 32, OUT = 8;

/* One model and trainer per grid size. */
typedef struct {
    int grid;
    lamina_model *model;
    lamina_trainer *trainer;
    double times[REPS];
    float loss;
} run;

static int setup(run *r) {
    char spec[256];
    snprintf(spec, sizeof spec,
             "{\"kind\": \"kan\", \"widths\": [%d, %d, %d], \"basis\": \"bspline\", \"grid\": %d,"
             " \"order\": 3}",
             IN, HIDDEN, OUT, r->grid);
    CHECK(lamina_model_create(spec, &r->model));
    CHECK(lamina_trainer_create(r->model, "{\"optimizer\": \"adam\", \"learning_rate\": 1e-3}",
                                &r->trainer));
    return 0;
}

/* Seconds per step over `steps` Adam steps, or a negative value on error. */
static double time_steps(run *r, const float *x, const float *y, size_t batch, int steps) {
    double t0 = now();
    for (int i = 0; i < steps; i++) CHECK(lamina_trainer_step(r->trainer, x, y, batch, &r->loss));
    return (now() - t0) / steps;
}

int main(int argc, char **argv) {
    size_t batch = argc > 1 ? (size_t)atol(argv[1]) : 4096;
    int steps = argc > 2 ? atoi(argv[2]) : 10;
    int grids[16] = {5, 100, 1000};
    int ngrids = 3;
    if (argc > 3) {
        ngrids = 0;
        for (int a = 3; a < argc && ngrids < 16; a++) grids[ngrids++] = atoi(argv[a]);
    }
    const char *widths = getenv("KAN_WIDTHS");
    if (widths && (sscanf(widths, "%d,%d,%d", &IN, &HIDDEN, &OUT) != 3 || IN < 1 || HIDDEN < 1 ||
                   OUT < 1)) {
        fprintf(stderr, "KAN_WIDTHS must be three positive widths: in,hidden,out\n");
        return 1;
    }
    if (batch == 0 || steps <= 0) return 1;
    float *x = malloc(batch * IN * sizeof *x), *y = malloc(batch * OUT * sizeof *y);
    if (!x || !y) return 1;
    srand(1);
    for (size_t i = 0; i < batch; i++) {
        for (int j = 0; j < IN; j++) x[i * IN + j] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
        for (int o = 0; o < OUT; o++) y[i * OUT + o] = sinf(3 * x[i * IN + o % IN]) * x[i * IN + (o + 8) % IN];
    }
    /* Runs of the grid sizes are interleaved so that load from other processes affects
       them alike; each grid's time is the median of its runs. */
    run runs[16];
    memset(runs, 0, sizeof runs);
    for (int k = 0; k < ngrids; k++) {
        runs[k].grid = grids[k];
        if (setup(&runs[k]) != 0) return 1;
        if (time_steps(&runs[k], x, y, batch, 3) < 0) return 1; /* warm-up */
    }
    for (int rep = 0; rep < REPS; rep++) {
        for (int k = 0; k < ngrids; k++) {
            runs[k].times[rep] = time_steps(&runs[k], x, y, batch, steps);
            if (runs[k].times[rep] < 0) return 1;
        }
    }
    double base = 0;
    for (int k = 0; k < ngrids; k++) {
        double step = median_of(runs[k].times, REPS);
        if (k == 0) base = step;
        printf("kan [%d, %d, %d] cubic G = %4d, adam, batch %zu: %8.3f ms/step (%.2fx G = %d),"
               " loss %.4g\n",
               IN, HIDDEN, OUT, grids[k], batch, step * 1e3, step / base, grids[0], runs[k].loss);
        lamina_trainer_free(runs[k].trainer);
        lamina_model_free(runs[k].model);
    }
    free(x);
    free(y);
    return 0;
}
