/*
** test_kernel_reference.c -- the default kernel paths through the C ABI against stored
** PyTorch / pykan values (Tests/Reference/kernel_reference.h, made by
** Tests/Reference/kernel_reference.py): the tri-plane encoding with 16 channels (the AVX2
** gather and scatter), the default tri-plane field, B-spline KANs [2, 5, 1] and [64, 64,
** 10] on the uniform cubic grid (the AVX2 basis and small-output kernels, and sgemm), and
** an MLP 3-64-64-1 at batch 256 (the FMA dense kernels). For each: the outputs, the input
** Jacobian (lamina_model_input_gradient) and the gradient of the mse loss for every
** trained tensor.
**
** Every tensor, input and target comes from the formula the script uses (`value` below,
** exact float32 values), so only the results are stored. Parameter gradients are read off
** one plain SGD step, g = (w - w') / lr with lr = 1024 (exact to about 6e-8 relative; see
** test_parameter_gradients.c).
**
** Tolerances: an entry passes when |lamina - reference| <= TOL * (scale + |reference|),
** scale being the largest |reference| of that array. The references are float64 (the
** encoding's outputs float32 grid_sample); Lamina computes in float32, whose rounding in
** sums of up to 64 terms (and 256 rows for the gradients) stays near 1e-6 of the scale,
** a few 1e-7 measured. TOL = 2e-5 leaves a wide margin for other CPUs' kernels (OpenBLAS
** core types, no FMA) while any wrong texel, lane, basis or term moves entries by far more.
*/
#include "check.h"

#include "../Reference/kernel_reference.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 2e-5
#define LR 1024.0

/* The generator's value formula: offset + scale * u, u = (fmix32(j + salt * 0x9E3779B9) >>
** 8) / 2^23 - 1, as float. */
static float value(size_t j, uint32_t salt, double offset, double scale)
{
    uint32_t h = (uint32_t)j + salt * 0x9E3779B9u;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return (float)(offset + scale * ((double)(h >> 8) / 8388608.0 - 1.0));
}

static void fill(float *v, size_t count, uint32_t salt, double offset, double scale)
{
    size_t j;
    for (j = 0; j < count; j++) v[j] = value(j, salt, offset, scale);
}

/* Compares `count` entries got[k * stride] with want[k]; returns the worst error over its
** allowance (<= 1 passes). */
static double compare(const char *what, const float *got, size_t stride, const float *want,
                      size_t count)
{
    double scale = 0, worst = 0;
    size_t k, bad = 0, first = 0;
    for (k = 0; k < count; k++)
        if (fabs(want[k]) > scale) scale = fabs(want[k]);
    for (k = 0; k < count; k++) {
        double err = fabs((double)got[k * stride] - want[k]) / (TOL * (scale + fabs(want[k])));
        if (!(err <= 1) && bad++ == 0) first = k;
        if (!(err <= worst)) worst = err;
    }
    CHECK(bad == 0, "%s: %zu of %zu entries off; first [%zu]: %.7g vs reference %.7g", what, bad,
          count, first * stride, bad ? got[first * stride] : 0, bad ? want[first] : 0);
    CHECK(scale > 0, "%s: the reference is all zeros", what);
    printf("   %-14s worst %.3f of the tolerance (%zu entries)\n", what, worst, count);
    return worst;
}

static void check_case(const lref_case *c)
{
    lamina_model *m = NULL, *twin = NULL;
    lamina_trainer *tr = NULL;
    char line[256], name[64], config[256];
    const char *s = c->setup;
    size_t rows = 0, in, out, grad = 0, count, stride;
    unsigned salt;
    double offset, scale;
    float *x = NULL, *t = NULL, *y = NULL, *dydx = NULL;
    section(c->name);
    if (!CHECK_OK(lamina_model_create(c->spec, &m))) return;
    in = lamina_model_input_dim(m);
    out = lamina_model_output_dim(m);
    while (*s) {
        size_t len = strcspn(s, "\n");
        memcpy(line, s, len < sizeof line - 1 ? len : sizeof line - 1);
        line[len < sizeof line - 1 ? len : sizeof line - 1] = '\0';
        s += len + (s[len] == '\n');
        if (sscanf(line, "rows %zu", &rows) == 1) {
            x = malloc(rows * in * sizeof *x);
            t = malloc(rows * out * sizeof *t);
            y = malloc(rows * out * sizeof *y);
            dydx = malloc(rows * out * in * sizeof *dydx);
        } else if (sscanf(line, "x %u %lf %lf", &salt, &offset, &scale) == 3) {
            fill(x, rows * in, salt, offset, scale);
        } else if (sscanf(line, "target %u %lf %lf", &salt, &offset, &scale) == 3) {
            fill(t, rows * out, salt, offset, scale);
        } else if (sscanf(line, "tensor %63s %u %lf %lf", name, &salt, &offset, &scale) == 4) {
            size_t shape[4], rank, k, n = 1;
            float *v;
            CHECK_OK(lamina_model_tensor_shape(m, name, shape, 4, &rank));
            for (k = 0; k < rank; k++) n *= shape[k];
            v = malloc(n * sizeof *v);
            fill(v, n, salt, offset, scale);
            CHECK_OK(lamina_model_tensor_write(m, name, v, n));
            free(v);
        } else if (sscanf(line, "dydx %zu %zu", &stride, &count) == 2) {
            /* Every tensor is written by now (the setup lists them first). */
            if (CHECK_OK(lamina_model_predict(m, x, rows, y)))
                compare("y", y, 1, c->y, rows * out);
            if (CHECK_OK(lamina_model_input_gradient(m, x, rows, dydx)))
                compare("dy/dx", dydx, stride, c->dydx, count);
            snprintf(config, sizeof config,
                     "{\"optimizer\": \"sgd\", \"learning_rate\": %g, \"momentum\": 0,"
                     " \"weight_decay\": 0, \"clip_norm\": 0, \"loss\": \"mse\","
                     " \"batch_size\": %zu, \"shuffle\": false}",
                     LR, rows);
            CHECK_OK(lamina_model_clone(m, &twin));
            CHECK_OK(lamina_trainer_create(twin, config, &tr));
            CHECK_OK(lamina_trainer_step(tr, x, t, rows, NULL));
        } else if (sscanf(line, "grad %63s %zu %zu", name, &stride, &count) == 3) {
            size_t shape[4], rank, k, n = 1;
            float *before, *after;
            CHECK_OK(lamina_model_tensor_shape(m, name, shape, 4, &rank));
            for (k = 0; k < rank; k++) n *= shape[k];
            before = malloc(n * sizeof *before);
            after = malloc(n * sizeof *after);
            CHECK_OK(lamina_model_tensor_read(m, name, before, n));
            CHECK_OK(lamina_model_tensor_read(twin, name, after, n));
            for (k = 0; k < n; k++) before[k] = (float)(((double)before[k] - after[k]) / LR);
            snprintf(line, sizeof line, "d/d %s", name);
            compare(line, before, stride, c->grads[grad++], count);
            free(before);
            free(after);
        } else {
            CHECK(0, "unreadable setup line \"%s\"", line);
        }
    }
    lamina_trainer_free(tr);
    lamina_model_free(twin);
    lamina_model_free(m);
    free(x);
    free(t);
    free(y);
    free(dydx);
}

int main(void)
{
    size_t i;
    check_init();
    for (i = 0; i < sizeof lref_cases / sizeof *lref_cases; i++) check_case(&lref_cases[i]);
    return check_summary();
}
