/*
** Peak single-precision GEMM rate of the system OpenBLAS (the one Lamina links), for the
** roofline of bench/harness.py's mlp_large. Two ways of using T cores (T from
** OPENBLAS_NUM_THREADS, default 1) are measured, and the roofline is the better of them:
**
**   openblas  one cblas_sgemm call threaded by OpenBLAS over T threads, at a few square
**             sizes and at the shapes of a 3-256-256-256-1 MLP step at batch 4096;
**   per-core  T threads each making its own single-threaded call on its own matrices at
**             the same time (how Lamina runs OpenBLAS: one thread each, split by rows).
**
** Best of 5 rounds (after one warm-up round) per shape.
**
**   cc -O2 bench/sgemm_peak.c $(pkg-config --cflags --libs openblas) -lpthread \
**      -o build/bench/sgemm_peak
*/
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "timing.h"

/* One product's operands and the number of calls a timed round makes. */
typedef struct {
    int m, n, k, transa, transb, reps;
    float *a, *b, *c;
} product;

static int product_init(product *p, int m, int n, int k, int transa, int transb) {
    p->m = m, p->n = n, p->k = k, p->transa = transa, p->transb = transb;
    p->reps = (int)(2e9 / (2.0 * m * n * k)) + 1;
    p->a = malloc(sizeof(float) * (size_t)m * (size_t)k);
    p->b = malloc(sizeof(float) * (size_t)k * (size_t)n);
    p->c = malloc(sizeof(float) * (size_t)m * (size_t)n);
    if (!p->a || !p->b || !p->c) return -1;
    for (size_t i = 0; i < (size_t)m * (size_t)k; i++) p->a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)k * (size_t)n; i++) p->b[i] = (float)(i % 5) * 0.1f;
    return 0;
}

static void product_free(product *p) { free(p->a), free(p->b), free(p->c); }

static void *product_run(void *arg) {
    product *p = arg;
    for (int i = 0; i < p->reps; i++)
        cblas_sgemm(CblasRowMajor, p->transa ? CblasTrans : CblasNoTrans,
                    p->transb ? CblasTrans : CblasNoTrans, p->m, p->n, p->k, 1.0f, p->a,
                    p->transa ? p->m : p->k, p->b, p->transb ? p->k : p->n, 0.0f, p->c, p->n);
    return NULL;
}

/* GFLOP/s of `copies` products of one shape run at once, one per thread (copies == 1: on
   the calling thread, with OpenBLAS's own threads). */
static double measure(int copies, int m, int n, int k, int transa, int transb) {
    product p[64];
    pthread_t threads[64];
    double best = 1e30;
    for (int t = 0; t < copies; t++)
        if (product_init(&p[t], m, n, k, transa, transb)) return 0;
    for (int r = 0; r < 6; r++) {
        double t0 = now();
        if (copies == 1) {
            product_run(&p[0]);
        } else {
            for (int t = 0; t < copies; t++) pthread_create(&threads[t], NULL, product_run, &p[t]);
            for (int t = 0; t < copies; t++) pthread_join(threads[t], NULL);
        }
        double elapsed = now() - t0;
        if (r > 0 && elapsed < best) best = elapsed; /* the first round is warm-up */
    }
    for (int t = 0; t < copies; t++) product_free(&p[t]);
    return 2.0 * m * n * k * p[0].reps * copies / best * 1e-9;
}

static void run(const char *label, int threads, int m, int n, int k, int transa, int transb) {
    openblas_set_num_threads(threads);
    double shared = measure(1, m, n, k, transa, transb);
    double per_core = 0;
    if (threads > 1) {
        openblas_set_num_threads(1);
        per_core = measure(threads, m, n, k, transa, transb);
    }
    printf("%-28s m %5d n %5d k %5d: openblas %7.1f GFLOP/s, per-core %7.1f GFLOP/s\n", label,
           m, n, k, shared, per_core);
}

int main(void) {
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    int threads = env ? atoi(env) : 1;
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    run("square", threads, 1024, 1024, 1024, 0, 0);
    run("square", threads, 2048, 2048, 2048, 0, 0);
    run("mlp forward (x W^T)", threads, 4096, 256, 256, 0, 1);
    run("mlp input grad (dY W)", threads, 4096, 256, 256, 0, 0);
    run("mlp weight grad (dY^T X)", threads, 256, 256, 4096, 1, 0);
    return 0;
}
