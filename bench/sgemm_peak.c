/*
** Peak single-precision GEMM rate of the system OpenBLAS (the one Lamina links), for the
** roofline of bench/harness.py's mlp_large: cblas_sgemm at a few square sizes and at the
** shapes of a 3-256-256-256-1 MLP step at batch 4096; best of 5 per shape.
**
**   cc -O2 bench/sgemm_peak.c $(pkg-config --cflags --libs openblas) -o build/bench/sgemm_peak
*/
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void run(const char *label, int m, int n, int k, int transa, int transb) {
    float *a = malloc(sizeof(float) * (size_t)m * (size_t)k);
    float *b = malloc(sizeof(float) * (size_t)k * (size_t)n);
    float *c = malloc(sizeof(float) * (size_t)m * (size_t)n);
    if (!a || !b || !c) exit(1);
    for (size_t i = 0; i < (size_t)m * (size_t)k; i++) a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)k * (size_t)n; i++) b[i] = (float)(i % 5) * 0.1f;
    double flops = 2.0 * m * n * k, best = 1e30;
    int reps = (int)(2e9 / flops) + 1;
    for (int r = 0; r < 6; r++) {
        double t0 = now();
        for (int i = 0; i < reps; i++)
            cblas_sgemm(CblasRowMajor, transa ? CblasTrans : CblasNoTrans,
                        transb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, transa ? m : k, b,
                        transb ? k : n, 0.0f, c, n);
        double t = (now() - t0) / reps;
        if (r > 0 && t < best) best = t; /* the first round is warm-up */
    }
    printf("%-28s m %5d n %5d k %5d: %7.1f GFLOP/s\n", label, m, n, k, flops / best * 1e-9);
    free(a), free(b), free(c);
}

int main(void) {
    run("square", 1024, 1024, 1024, 0, 0);
    run("square", 2048, 2048, 2048, 0, 0);
    run("mlp forward (x W^T)", 4096, 256, 256, 0, 1);
    run("mlp input grad (dY W)", 4096, 256, 256, 0, 0);
    run("mlp weight grad (dY^T X)", 256, 256, 4096, 1, 0);
    return 0;
}
