/*
** Promise checked (include/lamina.h, "Steady state"): after a first call at a given batch
** size, lamina_trainer_step, lamina_model_predict and lamina_model_input_gradient allocate no
** memory, for every model family and optimizer (and so do lamina_trainer_step_vjp and
** lamina_model_vjp). This program interposes
** malloc/calloc/realloc (the executable's definitions win over libc's for the whole
** process, including liblamina and OpenBLAS) and counts calls made during the timed steps.
**
** OpenBLAS's multi-threaded sgemm driver mallocs a job buffer on every threaded call; Lamina
** sets OpenBLAS to one thread itself, so the test runs with the environment as it finds it
** (no OPENBLAS_NUM_THREADS) and checks that too. Lamina's own parallel work runs on its
** worker pool (Support/WorkerPool.swift), which allocates nothing per call: the MLP's
** 1024 x 64 x 64 products here are split and handed to it, so the pool is checked too.
** `make test-coretypes` runs this under every OpenBLAS kernel set the CPU can execute.
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

/* Rows of `dim` inputs: x, y, z in [-0.5, 0.5), after a field index (0 or 1) when dim is 4
   (a two-field tri-plane model); y[i] = x y + z. */
enum { N = 1024 };
static float x3[N * 3], x4[N * 4], y[N], dy[N];
static const float *inputs(size_t dim) { return dim == 4 ? x4 : x3; }

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    for (int i = 0; i < N; i++) {
        float p[3] = {(float)(i % 17) / 17.0f - 0.5f, (float)(i % 5) / 5.0f - 0.5f,
                      (float)(i % 3) / 3.0f - 0.5f};
        x4[4 * i] = (float)(i % 2);
        for (int d = 0; d < 3; d++) x3[3 * i + d] = x4[4 * i + 1 + d] = p[d];
        y[i] = p[0] * p[1] + p[2];
        dy[i] = y[i] / N; /* an upstream gradient dL/dy of a mean loss's size */
    }
    /* Every family and the paths its layers take: Dense layers on the small-width kernels
       and (256 wide) on sgemm, whose products under 100^3 multiply-adds run on Lamina's own
       kernel and larger ones on OpenBLAS's regular path (OpenBLAS's small-matrix kernels
       allocate on some CPUs: Tests/Scripts/coretypes.sh runs this under each of them); every KAN
       basis, B-spline layers on their small-output and sgemm paths, mixtures; tri-plane
       fields with MLP and KAN decoders, several fields, several resolutions, the row-block
       pipeline (batches of 768 rows or more); sequential models mixing them. */
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
        "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [256, 256], \"output\": 1, "
        "\"activation\": \"tanh\"}",
        "{\"kind\": \"kan\", \"widths\": [3, 24, 16, 1], \"grid\": 20}",
        "{\"kind\": \"kan\", \"widths\": [3, 8, 1], \"basis\": \"mixed\"}",
        "{\"kind\": \"triplane\", \"resolution\": 16, \"channels\": 16, "
        "\"decoder\": {\"hidden\": [32]}}",
        "{\"kind\": \"triplane\", \"resolution\": [8, 16], \"channels\": 8, "
        "\"aggregation\": \"product\", \"padding\": \"border\", \"fourier\": 2, "
        "\"decoder\": {\"kind\": \"kan\", \"hidden\": [8]}}",
        "{\"kind\": \"triplane\", \"resolution\": 8, \"channels\": 4, \"fields\": 2, "
        "\"decoder_per_field\": true, \"decoder\": {\"hidden\": [16, 16]}}",
        "{\"kind\": \"sequential\", \"input\": 3, \"layers\": [{\"type\": \"triplane\", "
        "\"resolution\": 8, \"channels\": 8, \"aggregation\": \"concat\"}, "
        "{\"type\": \"kan\", \"output\": 4, \"basis\": \"chebyshev\"}, "
        "{\"type\": \"dense\", \"output\": 1}]}",
        /* Last, so that the indices the runs below name stay as they are. */
        "{\"kind\": \"kan\", \"widths\": [3, 8, 1], \"basis\": \"wavelet\"}",
        "{\"kind\": \"kan\", \"widths\": [3, 8, 1], \"basis\": \"mixed\", "
        "\"bases\": [\"bspline\", {\"name\": \"wavelet\", \"wavelet\": \"morlet\"}]}",
        /* Multiplication nodes (pykan's MultKAN). */
        "{\"kind\": \"kan\", \"widths\": [3, [4, 2], 1]}",
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
    runs[run_count++] = (run){specs[2], "{\"optimizer\": \"lbfgs\"}"};
    runs[run_count++] = (run){specs[spec_count - 1], "{\"optimizer\": \"adam\", \"lamb\": 0.01}"};
    runs[run_count++] = (run){specs[0], "{\"optimizer\": \"lbfgs\", \"line_search\": \"strong_wolfe\"}"};
    runs[run_count++] = (run){specs[11], "{\"optimizer\": \"adamw\", \"plane_tv\": 0.01, \"plane_l2\": 0.01}"};
    for (int r = 0; r < run_count; r++) {
        lamina_model *model = NULL;
        lamina_trainer *trainer = NULL;
        if (lamina_model_create(runs[r].spec, &model) != LAMINA_OK ||
            lamina_trainer_create(model, runs[r].config, &trainer) != LAMINA_OK) {
            fprintf(stderr, "setup failed: %s\n", lamina_last_error());
            return 1;
        }
        const float *x = inputs(lamina_model_input_dim(model));
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
        /* Steps from a given dL/dy (dy: N x 1), after a first one that sizes their plain
           forward and backward scratch. */
        if (strstr(runs[r].config, "lbfgs") == NULL && lamina_model_output_dim(model) == 1) {
            ok = lamina_trainer_step_vjp(trainer, x, dy, N, NULL) == LAMINA_OK;
            calls = 0;
            counting = 1;
            for (int i = 0; i < 20; i++) ok &= lamina_trainer_step_vjp(trainer, x, dy, N, NULL) == LAMINA_OK;
            counting = 0;
            snprintf(what, sizeof what, "20 step_vjp calls allocate nothing: %s with %s",
                     runs[r].spec, runs[r].config);
            expect(ok && calls == 0, what, calls);
        }
        lamina_trainer_free(trainer);
        lamina_model_free(model);
    }
    /* Predictions of one to three rows (the few-row kernels: narrow inputs, sgemv, dot
       products) and of a full batch, and input gradients, allocate nothing either, for every
       model above. */
    for (int sp = 0; sp < spec_count; sp++) {
        lamina_model *model = NULL;
        if (lamina_model_create(specs[sp], &model) != LAMINA_OK) {
            fprintf(stderr, "setup failed: %s\n", lamina_last_error());
            return 1;
        }
        const size_t dim = lamina_model_input_dim(model);
        const float *x = inputs(dim);
        static float out[N], dydx[N * 4];
        const size_t rows[] = {1, 2, 3, N};
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            for (int gradient = 0; gradient < (lamina_model_output_dim(model) == 1 ? 3 : 2);
                 gradient++) {
                /* The first call sizes the reused scratch, the next 20 must not add to it. */
                for (int i = 0; i < 21; i++) {
                    if (i == 1) {
                        calls = 0;
                        counting = 1;
                    }
                    /* gradient 2: vector-Jacobian products of dy (N x 1). */
                    lamina_status status =
                        gradient == 2 ? lamina_model_vjp(model, x, rows[r], dy, dydx)
                        : gradient    ? lamina_model_input_gradient(model, x, rows[r], dydx)
                                      : lamina_model_predict(model, x, rows[r], out);
                    if (status != LAMINA_OK) {
                        counting = 0;
                        fprintf(stderr, "call failed: %s\n", lamina_last_error());
                        return 1;
                    }
                }
                counting = 0;
                char what[512];
                snprintf(what, sizeof what, "20 %s of %zu rows allocate nothing: %s",
                         gradient == 2 ? "vector-Jacobian products"
                         : gradient    ? "input gradients"
                                       : "predictions",
                         rows[r], specs[sp]);
                expect(calls == 0, what, calls);
            }
        }
        lamina_model_free(model);
    }
    printf("%d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
