/*
** Promise checked: "no allocation per step in steady state". After warm-up, training steps
** and predictions at a fixed batch size must not call malloc. This program interposes
** malloc/calloc/realloc (the executable's definitions win over libc's for the whole
** process, including liblamina and OpenBLAS) and counts calls made during the timed steps.
**
** OpenBLAS's multi-threaded sgemm driver mallocs a job buffer on every threaded call; Lamina
** sets OpenBLAS to one thread itself, so the test runs with the environment as it finds it
** (no OPENBLAS_NUM_THREADS) and checks that too. Lamina's own parallel work runs on its
** worker pool (Support/WorkerPool.swift), which allocates nothing per call: the MLP's
** 512 x 64 x 64 products here are split and handed to it, so the pool is checked too.
*/
#define _GNU_SOURCE
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lamina.h"

#include "malloc_counter.h"

static int failures = 0, passes = 0;
static void expect(int ok, const char *what, long value) {
    if (ok) {
        passes++;
    } else {
        failures++;
        fprintf(stderr, "FAIL: %s (%ld allocations)\n", what, value);
    }
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    enum { N = 512 };
    static float x[N * 3], y[N];
    for (int i = 0; i < N; i++) {
        x[3 * i] = (float)(i % 17) / 17.0f - 0.5f;
        x[3 * i + 1] = (float)(i % 5) / 5.0f - 0.5f;
        x[3 * i + 2] = (float)(i % 3) / 3.0f - 0.5f;
        y[i] = x[3 * i] * x[3 * i + 1] + x[3 * i + 2];
    }
    const char *specs[] = {
        "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [64, 64], \"output\": 1}",
        "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [32], \"output\": 1, "
        "\"activation\": {\"name\": \"prelu\"}}",
        /* KAN layers borrow their scratch from per-layer pools that stop growing. */
        "{\"kind\": \"kan\", \"widths\": [3, 8, 1]}",
        "{\"kind\": \"kan\", \"widths\": [3, 8, 1], \"basis\": \"chebyshev\"}",
        "{\"kind\": \"kan\", \"widths\": [3, 8, 1], \"basis\": \"fourier\"}",
        "{\"kind\": \"kan\", \"widths\": [3, 8, 1], \"basis\": \"rbf\", \"normalize\": true}",
        "{\"kind\": \"kan\", \"widths\": [3, 8, 1], \"basis\": \"rational\"}",
        "{\"kind\": \"kan\", \"widths\": [3, 4, 4, 1], \"basis\": [\"rational\", "
        "{\"name\": \"bspline\", \"grid\": 1000, \"order\": 2}, \"fourier\"]}",
    };
    const int spec_count = (int)(sizeof specs / sizeof specs[0]);
    const char *configs[] = {"{\"optimizer\": \"adam\"}",
                             "{\"optimizer\": \"sgd\", \"momentum\": 0.9, \"clip_norm\": 1}"};
    /* Every spec with every config, then KAN sparsity regularisation (lamb > 0), which
       keeps its scratch in the trainer's workspace: the last entries pair one spec with
       one config only. */
    typedef struct {
        const char *spec, *config;
    } run;
    run runs[64];
    int run_count = 0;
    for (int s = 0; s < spec_count; s++)
        for (int c = 0; c < 2; c++) runs[run_count++] = (run){specs[s], configs[c]};
    runs[run_count++] = (run){specs[2], "{\"optimizer\": \"adam\", \"lamb\": 0.01}"};
    runs[run_count++] = (run){specs[2],
                              "{\"optimizer\": \"adam\", \"lamb\": 0.01, \"lamb_coef\": 0.1, "
                              "\"lamb_coefdiff\": 0.1, \"reg_metric\": \"edge_forward_spline_u\"}"};
    runs[run_count++] = (run){"{\"kind\": \"kan\", \"widths\": [3, 4, 4, 1], \"basis\": "
                              "[\"bspline\", \"chebyshev\", {\"name\": \"bspline\", \"grid\": 20}]}",
                              "{\"optimizer\": \"sgd\", \"lamb\": 0.1, \"lamb_entropy\": 1}"};
    for (int r = 0; r < run_count; r++) {
        lamina_model *model = NULL;
        lamina_trainer *trainer = NULL;
        if (lamina_model_create(runs[r].spec, &model) != LAMINA_OK ||
            lamina_trainer_create(model, runs[r].config, &trainer) != LAMINA_OK) {
            fprintf(stderr, "setup failed: %s\n", lamina_last_error());
            return 1;
        }
        float loss;
        for (int i = 0; i < 3; i++) lamina_trainer_step(trainer, x, y, N, &loss);
        calls = 0;
        counting = 1;
        int ok = 1;
        for (int i = 0; i < 20; i++) ok &= lamina_trainer_step(trainer, x, y, N, &loss) == LAMINA_OK;
        counting = 0;
        char what[512];
        snprintf(what, sizeof what, "20 training steps allocate nothing: %s with %s", runs[r].spec,
                 runs[r].config);
        expect(ok && calls == 0, what, calls);
        lamina_trainer_free(trainer);
        lamina_model_free(model);
    }
    /* Predictions of one to three rows (the few-row kernels: narrow inputs, sgemv, dot
       products) and of a full batch allocate nothing either. The widths keep every full-batch
       product under BLAS.gemm's split threshold (4M multiply-adds); a split product goes
       through Dispatch, which allocates its block per call. */
    const char *predict_specs[] = {
        specs[0],
        "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [64, 64], \"output\": 1, "
        "\"activation\": \"tanh\"}",
        "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [64, 100], \"output\": 4}",
        specs[2],
    };
    for (size_t s = 0; s < sizeof predict_specs / sizeof predict_specs[0]; s++) {
        lamina_model *model = NULL;
        if (lamina_model_create(predict_specs[s], &model) != LAMINA_OK) {
            fprintf(stderr, "setup failed: %s\n", lamina_last_error());
            return 1;
        }
        static float out[N * 4];
        const size_t rows[] = {1, 2, 3, N};
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            lamina_model_predict(model, x, rows[r], out);
            calls = 0;
            counting = 1;
            int ok = 1;
            for (int i = 0; i < 20; i++) ok &= lamina_model_predict(model, x, rows[r], out) == LAMINA_OK;
            counting = 0;
            char what[512];
            snprintf(what, sizeof what, "20 predictions of %zu rows allocate nothing: %s", rows[r],
                     predict_specs[s]);
            expect(ok && calls == 0, what, calls);
        }
        lamina_model_free(model);
    }
    printf("%d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
