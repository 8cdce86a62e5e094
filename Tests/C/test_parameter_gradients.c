/*
** test_parameter_gradients.c -- the gradient of the training loss with respect to every
** trained tensor of every layer kind, through the C ABI, against central finite differences.
**
** The ABI has no call that returns parameter gradients, so they are read off an optimizer
** step: plain SGD (momentum 0, no weight decay, no clipping, constant schedule) updates
** w' = w - lr * g, so g = (w - w') / lr. lr is a power of two (1024), so lr * g is exact
** and the recovered g is off by at most half an ulp of w' over lr: about 6e-8 |g| where
** lr |g| dominates |w|, and 6e-11 |w| otherwise, far below the differences' noise.
**
** The finite differences: L = mean over the n x out outputs of (y - t)^2 (the trainer's
** "mse"), computed in double from lamina_model_predict's floats, at w_e +- h for each entry
** e of each trained tensor (h = 1e-3 max(1, |w_e|), measured as the floats actually
** written). Both float outputs carry rounding of a few 1e-8 relative, which the difference
** divides by 2h: with n = 16 rows that is about 3e-5 in L's units; the truncation error
** (h^2 / 6) L''' is smaller for these smooth models. An entry passes when
** |analytic - numeric| <= ATOL + RTOL max(|analytic|, |numeric|): ATOL 2e-4 is several
** times that noise, RTOL 1e-2 leaves room for curvature. Every tensor's gradient must
** reach at least 10 ATOL somewhere, so that a sign flip anywhere, or a dropped term worth
** more than a few percent of the largest entries, fails. Measured: the worst entry of any
** case uses about 0.2 of its allowance.
**
** One table holds every basis and every option that adds trained tensors: B-spline (order
** 3 on the uniform grid, the AVX2 path; order 2), Chebyshev, Fourier, RBF with and without
** LayerNorm ("normalize"), rational with groups, mixed bases (with and without rational),
** B-spline with fixed symbolic edges ("symbolic_affine"), MLPs (tanh; PReLU slopes),
** tri-plane fields (16 channels, the AVX2 gather and scatter; product and mean
** aggregation) and wavelets (Mexican hat, Morlet, mixed with B-splines). Rational inputs keep |x| >= 0.2, away from the kink of |s| at 0; the
** PReLU case has kinks at pre-activation 0, which its seeded values happen to keep clear
** of (its worst entry uses about a tenth of the tolerance).
*/
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NROWS 16
#define MAXDIM 8
#define LR 1024.0
#define ATOL 2e-4
#define RTOL 1e-2

static uint64_t g_state = 0x9E3779B97F4A7C15ULL;
static double uniform(double lo, double hi)
{
    g_state ^= g_state << 13;
    g_state ^= g_state >> 7;
    g_state ^= g_state << 17;
    return lo + (hi - lo) * (double)(g_state >> 11) / 9007199254740992.0;
}

/* Tensors that are buffers (the header lists them per basis), never trained. */
static int is_buffer(const char *name)
{
    static const char *suffixes[] = {".grid", ".mask", ".symbolic_mask", ".symbolic_fn",
                                     ".selection"};
    size_t len = strlen(name), k;
    for (k = 0; k < sizeof suffixes / sizeof *suffixes; k++) {
        size_t s = strlen(suffixes[k]);
        if (len >= s && strcmp(name + len - s, suffixes[k]) == 0) return 1;
    }
    return 0;
}

typedef struct {
    char name[64];
    size_t count;
    int trained;
} tensor_info;

static size_t list_tensors(const lamina_model *m, tensor_info *t, size_t cap)
{
    size_t count = lamina_model_tensor_count(m), i, len, shape[8], rank, k;
    for (i = 0; i < count && i < cap; i++) {
        lamina_model_tensor_name(m, i, t[i].name, sizeof t[i].name, &len);
        lamina_model_tensor_shape(m, t[i].name, shape, 8, &rank);
        t[i].count = 1;
        for (k = 0; k < rank; k++) t[i].count *= shape[k];
        t[i].trained = !is_buffer(t[i].name);
    }
    return count < cap ? count : cap;
}

static double mse(const lamina_model *m, const float *x, const float *t, size_t n, float *y)
{
    size_t out = lamina_model_output_dim(m), k;
    double sum = 0;
    if (lamina_model_predict(m, x, n, y) != LAMINA_OK) return NAN;
    for (k = 0; k < n * out; k++) sum += ((double)y[k] - t[k]) * ((double)y[k] - t[k]);
    return sum / (double)(n * out);
}

/* A case: a spec, its inputs' range, and what to do to the fresh model before the check. */
typedef struct {
    const char *label;
    const char *spec;
    double lo, hi;   /* inputs uniform in [lo, hi] */
    int off_zero;    /* keep |x| >= 0.2 (rational denominators have a kink at x = 0) */
    double jitter;   /* every trained value moves by up to this much, off its start */
    void (*prepare)(lamina_model *m, const float *x, size_t n);
} grad_case;

/* Rational groups: a denominator s(x) = x (b1 + b2 x + b3 x^2 + b4 x^3) whose cubic
** factor keeps away from 0 on [-3, 3], so |s| bends only at x = 0 (which inputs avoid);
** alternate its sign between groups. */
static void safe_denominators(lamina_model *m, const char *name)
{
    size_t shape[2], rank, g;
    float *d;
    if (lamina_model_tensor_shape(m, name, shape, 2, &rank) != LAMINA_OK) return;
    d = malloc(shape[0] * 4 * sizeof *d);
    for (g = 0; g < shape[0]; g++) {
        float sign = g % 2 ? -1.0f : 1.0f;
        d[4 * g] = sign * 1.0f;
        d[4 * g + 1] = sign * 0.2f;
        d[4 * g + 2] = sign * 0.3f;
        d[4 * g + 3] = sign * 0.05f;
    }
    lamina_model_tensor_write(m, name, d, shape[0] * 4);
    free(d);
}

static void prepare_rational(lamina_model *m, const float *x, size_t n)
{
    (void)x;
    (void)n;
    safe_denominators(m, "0.denominator");
}

/* Safe denominators for the rational component (the fifth), and a larger share of the
** mixture for it (logit + 0.5, e^1 at temperature 0.5), so its gradients are large enough
** to check. */
static void prepare_mixed_rational(lamina_model *m, const float *x, size_t n)
{
    float logits[3 * 2 * 5];
    size_t e;
    (void)x;
    (void)n;
    safe_denominators(m, "0.bases.4.denominator");
    CHECK_OK(lamina_model_tensor_read(m, "0.mix_logits", logits, 30));
    for (e = 4; e < 30; e += 5) logits[e] += 0.5f;
    CHECK_OK(lamina_model_tensor_write(m, "0.mix_logits", logits, 30));
}

/* Fix some edges symbolic (the fit gives affines; the check then moves them with the
** jitter already applied to the other tensors) and give every affine values of its own. */
static void prepare_symbolic(lamina_model *m, const float *x, size_t n)
{
    static const char *fns[] = {"sin", "x^2", "exp", "tanh", "gaussian", "x"};
    float affine0[2 * 3 * 4], affine1[3 * 4];
    size_t e;
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 0, 0, 0, "sin", x, n, NULL));
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 0, 1, 2, "x^2", x, n, NULL));
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 0, 1, 1, "tanh", x, n, NULL));
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 1, 2, 0, fns[2], x, n, NULL));
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 1, 0, 0, fns[4], x, n, NULL));
    for (e = 0; e < 6; e++) {
        affine0[4 * e] = 0.8f + 0.1f * (float)e;
        affine0[4 * e + 1] = 0.2f;
        affine0[4 * e + 2] = 1.1f;
        affine0[4 * e + 3] = -0.3f + 0.1f * (float)e;
    }
    for (e = 0; e < 3; e++) {
        affine1[4 * e] = 0.6f + 0.2f * (float)e;
        affine1[4 * e + 1] = -0.1f;
        affine1[4 * e + 2] = 0.7f;
        affine1[4 * e + 3] = 0.25f;
    }
    CHECK_OK(lamina_model_tensor_write(m, "0.symbolic_affine", affine0, 24));
    CHECK_OK(lamina_model_tensor_write(m, "1.symbolic_affine", affine1, 12));
}

static const grad_case g_cases[] = {
    {"bspline [3, 4, 2] grid 5 order 3 (uniform cubic, AVX2 path), partly outside the grid",
     "{\"kind\": \"kan\", \"widths\": [3, 4, 2], \"grid\": 5, \"order\": 3, \"seed\": 1}", -1.4,
     1.4, 0, 0.3, NULL},
    {"bspline [2, 3, 2] grid 4 order 2",
     "{\"kind\": \"kan\", \"widths\": [2, 3, 2], \"grid\": 4, \"order\": 2, \"seed\": 2}", -1, 1,
     0, 0.3, NULL},
    {"chebyshev [3, 4, 2] degree 4",
     "{\"kind\": \"kan\", \"widths\": [3, 4, 2], \"basis\": \"chebyshev\", \"degree\": 4,"
     " \"seed\": 3}",
     -2, 2, 0, 0.3, NULL},
    {"fourier [3, 4, 2] grid 4",
     "{\"kind\": \"kan\", \"widths\": [3, 4, 2], \"basis\": \"fourier\", \"grid\": 4, \"seed\": 4}",
     -2, 2, 0, 0.2, NULL},
    {"fourier [2, 8] grid 4 (8 outputs: the small-product AVX2 tiles, accumulating with beta 1)",
     "{\"kind\": \"kan\", \"widths\": [2, 8], \"basis\": \"fourier\", \"grid\": 4, \"seed\": 16}",
     -2, 2, 0, 0.2, NULL},
    {"rbf [2, 8] with base (8 outputs: silu and basis products accumulate into one output)",
     "{\"kind\": \"kan\", \"widths\": [2, 8], \"basis\": \"rbf\", \"seed\": 17}", -2, 2, 0,
     0.3, NULL},
    {"rbf [3, 4, 2] with LayerNorm (normalize) and base",
     "{\"kind\": \"kan\", \"widths\": [3, 4, 2], \"basis\": \"rbf\", \"normalize\": true,"
     " \"seed\": 5}",
     -2, 2, 0, 0.3, NULL},
    {"rbf [3, 4, 2] without LayerNorm",
     "{\"kind\": \"kan\", \"widths\": [3, 4, 2], \"basis\": \"rbf\", \"grid\": 6, \"seed\": 6}", -2,
     2, 0, 0.3, NULL},
    {"rational [4, 3] groups 2 (gelu start)",
     "{\"kind\": \"kan\", \"widths\": [4, 3], \"basis\": \"rational\", \"groups\": 2,"
     " \"init\": \"gelu\", \"seed\": 7}",
     -2.5, 2.5, 1, 0.1, prepare_rational},
    {"mixed [2, 3, 2] (bspline, chebyshev, fourier, rbf)",
     "{\"kind\": \"kan\", \"widths\": [2, 3, 2], \"basis\": \"mixed\", \"seed\": 8}", -0.9, 0.9, 0,
     0.5, NULL},
    {"mixed [2, 3] with every basis and temperature 0.5",
     "{\"kind\": \"kan\", \"widths\": [2, 3], \"basis\": \"mixed\", \"temperature\": 0.5,"
     " \"bases\": [\"bspline\", \"chebyshev\", \"fourier\", \"rbf\", \"rational\"], \"seed\": 9}",
     -0.9, 0.9, 1, 0.6, prepare_mixed_rational},
    {"bspline [3, [2, 2], 2] with multiplication nodes (mult_arity 2)",
     "{\"kind\": \"kan\", \"widths\": [3, [2, 2], 2], \"seed\": 19}", -0.9, 0.9, 0, 0.3, NULL},
    {"bspline [2, 3, 1] with fixed symbolic edges (symbolic_affine)",
     "{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"symbolic\": true, \"seed\": 10}", -0.8, 0.8, 0,
     0.2, prepare_symbolic},
    {"mlp 3-5-4-2 tanh (FMA dense path)",
     "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [5, 4], \"output\": 2, \"activation\":"
     " \"tanh\", \"seed\": 11}",
     -1, 1, 0, 0.2, NULL},
    {"mlp 3-6-5-2 prelu (slopes)",
     "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [6, 5], \"output\": 2, \"activation\":"
     " {\"name\": \"prelu\", \"init\": -0.3}, \"seed\": 12}",
     -1, 1, 0, 0.2, NULL},
    {"triplane 16 channels sum (AVX2 gather and scatter), tanh decoder",
     "{\"kind\": \"triplane\", \"resolution\": 4, \"channels\": 16, \"init_std\": 0.5,"
     " \"decoder\": {\"hidden\": [8], \"activation\": \"tanh\"}, \"seed\": 13}",
     -1, 1, 0, 0.0, NULL},
    {"triplane 8 channels product, border padding, align_corners false",
     "{\"kind\": \"triplane\", \"resolution\": 5, \"channels\": 8, \"aggregation\": \"product\","
     " \"padding\": \"border\", \"align_corners\": false, \"init_std\": 0.3,"
     " \"decoder\": {\"hidden\": [6], \"activation\": \"silu\"}, \"seed\": 14}",
     -1.1, 1.1, 0, 0.0, NULL},
    {"triplane 16 channels mean, KAN decoder",
     "{\"kind\": \"triplane\", \"resolution\": 4, \"channels\": 16, \"aggregation\": \"mean\","
     " \"init_std\": 0.5, \"decoder\": {\"kind\": \"kan\", \"hidden\": [3]}, \"seed\": 15}",
     -1, 1, 0, 0.5, NULL},
    /* Added last: the inputs come from one generator across cases, so earlier cases keep
       theirs. */
    {"wavelet [3, 4, 2] mexican_hat (scale, translation, wavelet_weights)",
     "{\"kind\": \"kan\", \"widths\": [3, 4, 2], \"basis\": \"wavelet\", \"seed\": 18}", -2,
     2, 0, 0.3, NULL},
    {"wavelet [3, 4, 2] morlet",
     "{\"kind\": \"kan\", \"widths\": [3, 4, 2], \"basis\": \"wavelet\","
     " \"wavelet\": \"morlet\", \"seed\": 19}",
     -2, 2, 0, 0.3, NULL},
    {"mixed [2, 3] bspline and wavelet",
     "{\"kind\": \"kan\", \"widths\": [2, 3], \"basis\": \"mixed\","
     " \"bases\": [\"bspline\", \"wavelet\"], \"seed\": 20}",
     -0.9, 0.9, 0, 0.5, NULL},
};

/* The gradient of the mse loss by one SGD step on a clone (see the top of the file). */
static int sgd_gradients(const lamina_model *m, const tensor_info *t, size_t nt, const float *x,
                         const float *y, size_t n, double **grads)
{
    lamina_model *c = NULL;
    lamina_trainer *tr = NULL;
    char config[256];
    float **before = calloc(nt, sizeof *before);
    size_t i, k;
    int ok = 0;
    snprintf(config, sizeof config,
             "{\"optimizer\": \"sgd\", \"learning_rate\": %g, \"momentum\": 0,"
             " \"weight_decay\": 0, \"clip_norm\": 0, \"loss\": \"mse\", \"batch_size\": %zu,"
             " \"shuffle\": false}",
             LR, n);
    if (!CHECK_OK(lamina_model_clone(m, &c)) || !CHECK_OK(lamina_trainer_create(c, config, &tr)))
        goto done;
    for (i = 0; i < nt; i++) {
        before[i] = malloc(t[i].count * sizeof(float));
        lamina_model_tensor_read(c, t[i].name, before[i], t[i].count);
    }
    if (!CHECK_OK(lamina_trainer_step(tr, x, y, n, NULL))) goto done;
    for (i = 0; i < nt; i++) {
        float *after = malloc(t[i].count * sizeof(float));
        lamina_model_tensor_read(c, t[i].name, after, t[i].count);
        for (k = 0; k < t[i].count; k++)
            grads[i][k] = ((double)before[i][k] - (double)after[k]) / LR;
        free(after);
    }
    ok = 1;
done:
    for (i = 0; i < nt; i++) free(before[i]);
    free(before);
    lamina_trainer_free(tr);
    lamina_model_free(c);
    return ok;
}

/* Runs one case; returns the worst |a - n| / (ATOL + RTOL max(|a|, |n|)) seen. */
static double check_case(const grad_case *gc)
{
    lamina_model *m = NULL;
    tensor_info t[64];
    size_t nt, i, k, in, out, trained = 0;
    float x[NROWS * MAXDIM], y[NROWS * MAXDIM], target[NROWS * MAXDIM];
    double *grads[64], worst = 0;
    section(gc->label);
    if (!CHECK_OK(lamina_model_create(gc->spec, &m))) return INFINITY;
    in = lamina_model_input_dim(m);
    out = lamina_model_output_dim(m);
    CHECK(in <= MAXDIM && out <= MAXDIM, "dims %zu -> %zu", in, out);
    for (k = 0; k < NROWS * in; k++) {
        double v = uniform(gc->lo, gc->hi);
        if (gc->off_zero && fabs(v) < 0.2) v = v < 0 ? v - 0.2 : v + 0.2;
        x[k] = (float)v;
    }
    for (k = 0; k < NROWS * out; k++) target[k] = (float)uniform(-2, 2);
    nt = list_tensors(m, t, 64);
    CHECK(nt == lamina_model_tensor_count(m), "more than 64 tensors");
    for (i = 0; i < nt; i++) {
        float *v;
        grads[i] = calloc(t[i].count, sizeof(double));
        if (!t[i].trained) continue;
        trained += t[i].count;
        if (gc->jitter == 0) continue;
        v = malloc(t[i].count * sizeof *v);
        lamina_model_tensor_read(m, t[i].name, v, t[i].count);
        for (k = 0; k < t[i].count; k++) v[k] += (float)uniform(-gc->jitter, gc->jitter);
        CHECK_OK(lamina_model_tensor_write(m, t[i].name, v, t[i].count));
        free(v);
    }
    /* The buffer list above is what the header documents: the rest is what is trained. */
    CHECK(trained == lamina_model_parameter_count(m), "trained entries %zu vs parameter_count %zu",
          trained, lamina_model_parameter_count(m));
    if (gc->prepare) gc->prepare(m, x, NROWS);
    if (!sgd_gradients(m, t, nt, x, target, NROWS, grads)) worst = INFINITY;
    for (i = 0; i < nt && isfinite(worst); i++) {
        float *v = malloc(t[i].count * sizeof *v);
        double maxnum = 0;
        size_t bad = 0, first_bad = 0;
        double first_a = 0, first_n = 0;
        lamina_model_tensor_read(m, t[i].name, v, t[i].count);
        if (!t[i].trained) {
            for (k = 0; k < t[i].count && grads[i][k] == 0; k++) {}
            CHECK(k == t[i].count, "buffer %s changed by an SGD step", t[i].name);
            free(v);
            continue;
        }
        for (k = 0; k < t[i].count; k++) {
            float orig = v[k];
            double h = 1e-3 * (fabs(orig) > 1 ? fabs(orig) : 1);
            float plus = (float)(orig + h), minus = (float)(orig - h);
            double lp, lm, num, a = grads[i][k], ratio;
            v[k] = plus;
            lamina_model_tensor_write(m, t[i].name, v, t[i].count);
            lp = mse(m, x, target, NROWS, y);
            v[k] = minus;
            lamina_model_tensor_write(m, t[i].name, v, t[i].count);
            lm = mse(m, x, target, NROWS, y);
            v[k] = orig;
            num = (lp - lm) / ((double)plus - (double)minus);
            if (fabs(num) > maxnum) maxnum = fabs(num);
            ratio = fabs(a - num) / (ATOL + RTOL * (fabs(a) > fabs(num) ? fabs(a) : fabs(num)));
            if (!(ratio <= 1)) {
                if (bad++ == 0) {
                    first_bad = k;
                    first_a = a;
                    first_n = num;
                }
            }
            if (!(ratio <= worst)) worst = ratio;
        }
        lamina_model_tensor_write(m, t[i].name, v, t[i].count);
        CHECK(bad == 0, "%s: %zu of %zu entries disagree; first [%zu]: analytic %.6g, numeric %.6g",
              t[i].name, bad, t[i].count, first_bad, first_a, first_n);
        CHECK(maxnum >= 10 * ATOL, "%s: largest gradient entry %.3g is too small to check",
              t[i].name, maxnum);
        free(v);
    }
    printf("   worst ratio %.3f over %zu trained entries\n", worst, trained);
    for (i = 0; i < nt; i++) free(grads[i]);
    lamina_model_free(m);
    return worst;
}

int main(void)
{
    size_t c;
    check_init();
    for (c = 0; c < sizeof g_cases / sizeof *g_cases; c++) check_case(&g_cases[c]);
    return check_summary();
}
