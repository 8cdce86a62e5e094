/*
** test_kan_abi.c -- checks the KAN tools of liblamina (lamina_model_kan_update_grid,
** lamina_model_kan_refine, lamina_model_kan_edge_curve, attribution, pruning, symbolic
** regression, lamina_model_kan_regularization and the mixed-basis calls) against what
** include/lamina.h promises for them.
**
** Plain C99. Each CHECK is one assertion; the last line printed is "N passed, M failed" and
** the exit status is non-zero when M > 0. LAMINA_TEST_VERBOSE=1 prints the status and
** message of every call in the bad-call table.
*/
#include "check.h"
#include "model_helpers.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* =======================================================================================
** Helpers
*/

/* Deterministic uniform numbers in [0, 1) (a 64-bit LCG; the top 24 bits). */
static uint64_t g_lcg = 0x2545F4914F6CDD1DULL;
static double unit(void)
{
    g_lcg = g_lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_lcg >> 40) / 16777216.0;
}

/* The shape of tensor `name` into dims[0..2]; returns the rank (0 on error). */
static size_t shape_of(const lamina_model *m, const char *name, size_t dims[3])
{
    size_t rank = 0;
    dims[0] = dims[1] = dims[2] = 0;
    if (lamina_model_tensor_shape(m, name, dims, 3, &rank) != LAMINA_OK) return 0;
    return rank;
}

static float *predict(const lamina_model *m, const float *x, size_t n)
{
    float *y = malloc(n * lamina_model_output_dim(m) * sizeof *y + 1);
    if (y && lamina_model_predict(m, x, n, y) != LAMINA_OK) {
        fprintf(stderr, "predict: %s\n", lamina_last_error());
        free(y);
        return NULL;
    }
    return y;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= worst)) worst = d; /* NaN propagates */
    }
    return worst;
}

/* sum (a - b)^2 / sum (a - mean a)^2: the unexplained fraction of a's variance. */
static double relative_sq_error(const float *a, const float *b, size_t n)
{
    double mean = 0, spread = 0, err = 0;
    size_t i;
    for (i = 0; i < n; i++) mean += a[i];
    mean /= (double)n;
    for (i = 0; i < n; i++) {
        spread += (a[i] - mean) * (a[i] - mean);
        err += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    }
    return err / spread;
}

/* Writes smooth spline coefficients into every "<l>.coef" of a [2, 3, 1] KAN, so that new
** knots can represent the splines (as the Swift grid tests do). */
static void smooth_coefficients(lamina_model *m, int layers)
{
    int l;
    for (l = 0; l < layers; l++) {
        char name[32];
        size_t dims[3], n = 0, e;
        float *c;
        snprintf(name, sizeof name, "%d.coef", l);
        c = read_tensor(m, name, &n);
        if (!c || shape_of(m, name, dims) != 3) {
            CHECK(0, "cannot read %s", name);
            free(c);
            continue;
        }
        for (e = 0; e < n; e++)
            c[e] = 0.5f * (float)sin(0.5 * (double)(e % dims[2]) + (double)(e / dims[2]));
        CHECK_OK(lamina_model_tensor_write(m, name, c, n));
        free(c);
    }
}

/* ---- Reference evaluation of an edge, from the tensors, in double ---------------------- */

/* B_{m,k}(x) on knots t[0..kc-1] by the Cox-de Boor recursion, half-open intervals. */
static double bspline(const float *t, size_t kc, size_t m, int k, double x)
{
    double left = 0, right = 0;
    if (k == 0) return (t[m] <= x && x < t[m + 1]) ? 1.0 : 0.0;
    if (m + (size_t)k + 1 >= kc) return 0;
    if (t[m + k] != t[m]) left = (x - t[m]) / ((double)t[m + k] - t[m]) * bspline(t, kc, m, k - 1, x);
    if (t[m + k + 1] != t[m + 1])
        right = ((double)t[m + k + 1] - x) / ((double)t[m + k + 1] - t[m + 1]) * bspline(t, kc, m + 1, k - 1, x);
    return left + right;
}

/* phi_ij(x) of layer `layer` of model m (order k), from its tensors. */
static double edge_by_hand(const lamina_model *m, int layer, int k, size_t i, size_t j, double x)
{
    char name[32];
    size_t dims[3], cdims[3], nIn, nOut, nb, kc, mm;
    float *coef, *grid, *sb, *sp, *mask;
    double spline = 0, v;
    snprintf(name, sizeof name, "%d.coef", layer);
    shape_of(m, name, cdims);
    coef = read_tensor(m, name, NULL);
    snprintf(name, sizeof name, "%d.grid", layer);
    shape_of(m, name, dims);
    grid = read_tensor(m, name, NULL);
    snprintf(name, sizeof name, "%d.scale_base", layer);
    sb = read_tensor(m, name, NULL);
    snprintf(name, sizeof name, "%d.scale_sp", layer);
    sp = read_tensor(m, name, NULL);
    snprintf(name, sizeof name, "%d.mask", layer);
    mask = read_tensor(m, name, NULL);
    nIn = cdims[0];
    nOut = cdims[1];
    nb = cdims[2];
    kc = dims[1];
    (void)nIn;
    if (!coef || !grid || !sb || !sp || !mask) {
        v = NAN;
    } else {
        for (mm = 0; mm < nb; mm++)
            spline += coef[(i * nOut + j) * nb + mm] * bspline(grid + i * kc, kc, mm, k, x);
        v = mask[i * nOut + j] * (sb[i * nOut + j] * x / (1 + exp(-x)) + sp[i * nOut + j] * spline);
    }
    free(coef);
    free(grid);
    free(sb);
    free(sp);
    free(mask);
    return v;
}

/* =======================================================================================
** Tests
*/

#define KAN_211 "{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"grid\": 8, \"seed\": 2}"
#define MLP_SPEC "{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [4], \"output\": 1}"
#define NS 500

static float g_x[NS * 2];

static void make_samples(void)
{
    size_t s;
    /* [-0.5, 0.9] x [-0.2, 0.6], denser near the low end of the first input. */
    for (s = 0; s < NS; s++) {
        double u = unit(), v = unit();
        g_x[2 * s] = (float)(-0.5 + 1.4 * u * u);
        g_x[2 * s + 1] = (float)(-0.2 + 0.8 * v);
    }
}

/* "For a model of one layer with one input, y equals lamina_model_predict's output." */
static void test_edge_curve_is_the_model(void)
{
    lamina_model *m;
    float x[300], y_edge[300], *y_pred;
    size_t s, n = 0;
    /* Knots of grid 5 on [-1, 1] with order 3: -2.2, -1.8, ..., 2.2; outside them only silu. */
    static const float special[] = {-1.0f, 1.0f, 0.0f, -2.2f, 2.2f, 2.19f, -3.0f, 3.0f, 0.6f, -0.2f};
    section("edge curve of a [1, 1] KAN = predict");
    m = MK("{\"kind\": \"kan\", \"widths\": [1, 1], \"grid\": 5, \"seed\": 3}");
    if (!m) return;
    for (s = 0; s < sizeof special / sizeof special[0]; s++) x[n++] = special[s];
    while (n < 300) x[n++] = (float)(-2.6 + 5.2 * unit());
    CHECK_OK(lamina_model_kan_edge_curve(m, 0, 0, 0, x, n, y_edge));
    y_pred = predict(m, x, n);
    CHECK(y_pred && memcmp(y_pred, y_edge, n * sizeof(float)) == 0,
          "edge curve differs from predict by up to %g", y_pred ? max_abs_diff(y_pred, y_edge, n) : -1.0);
    /* Outside the extended grid only scale_base * silu(x) remains. */
    {
        float sb = 0;
        CHECK_OK(lamina_model_tensor_read(m, "0.scale_base", &sb, 1));
        CHECK(fabs(y_edge[6] - sb * -3.0 / (1 + exp(3.0))) < 1e-6, "phi(-3) = %g", y_edge[6]);
    }
    free(y_pred);
    lamina_model_free(m);
}

/* "Output j of the layer is sum_i phi_ij(x_i)." */
static void test_edge_curves_sum_to_the_layer(void)
{
    lamina_model *m;
    enum { N = 200, IN = 3, OUT = 4 };
    float x[N * IN], col[N], phi[N], sum[N * OUT], *y;
    size_t s, i, j;
    section("edge curves sum to a layer's outputs");
    m = MK("{\"kind\": \"kan\", \"widths\": [3, 4], \"grid\": 4, \"order\": 2, \"grid_range\": [-1.5, 1], \"seed\": 5}");
    if (!m) return;
    for (s = 0; s < N * IN; s++) x[s] = (float)(-3 + 6 * unit());
    memset(sum, 0, sizeof sum);
    for (i = 0; i < IN; i++) {
        for (s = 0; s < N; s++) col[s] = x[s * IN + i];
        for (j = 0; j < OUT; j++) {
            CHECK_OK(lamina_model_kan_edge_curve(m, 0, i, j, col, N, phi));
            for (s = 0; s < N; s++) sum[s * OUT + j] += phi[s];
        }
    }
    y = predict(m, x, N);
    if (y) {
        double worst = 0;
        for (s = 0; s < N * OUT; s++) {
            double d = fabs((double)y[s] - sum[s]) / (1 + fabs(y[s]));
            if (!(d <= worst)) worst = d;
        }
        CHECK(worst < 1e-5, "sum of edges vs predict: relative difference %g", worst);
    }
    free(y);
    lamina_model_free(m);
}

/* phi(x) = mask * (scale_base * silu(x) + scale_sp * sum_m coef_m B_m(x)), by hand. */
static void compare_with_hand(lamina_model *m, int layers, const int *widths, int k, const char *what)
{
    int l;
    size_t i, j, s;
    enum { P = 120 };
    float x[P], y[P];
    for (s = 0; s < P; s++) x[s] = (float)(-4 + 8.5 * (double)s / (P - 1));
    for (l = 0; l < layers; l++) {
        for (i = 0; i < (size_t)widths[l]; i++) {
            for (j = 0; j < (size_t)widths[l + 1]; j++) {
                double worst = 0;
                if (!CHECK_OK(lamina_model_kan_edge_curve(m, (size_t)l, i, j, x, P, y))) continue;
                for (s = 0; s < P; s++) {
                    double want = edge_by_hand(m, l, k, i, j, x[s]);
                    double d = fabs(want - y[s]) / (1 + fabs(want));
                    if (!(d <= worst)) worst = d;
                }
                CHECK(worst < 2e-5, "%s: edge (%d, %zu, %zu) differs from the hand evaluation by %g", what, l,
                      i, j, worst);
            }
        }
    }
}

static void test_edge_curve_by_hand(void)
{
    lamina_model *m;
    static const int widths[] = {2, 2, 1};
    float mask[4] = {1, 0.5f, 0, 1}, sb[4] = {0.7f, -0.4f, 1.3f, 0.2f}, sp[4] = {1.5f, 0.8f, -0.6f, 2.0f};
    float zero[40], y[40];
    size_t s;
    section("edge curves match a hand evaluation from the tensors");
    m = MK("{\"kind\": \"kan\", \"widths\": [2, 2, 1], \"grid\": 3, \"order\": 2, \"grid_range\": [-1, 2], "
           "\"seed\": 7}");
    if (!m) return;
    CHECK_OK(lamina_model_tensor_write(m, "0.mask", mask, 4));
    CHECK_OK(lamina_model_tensor_write(m, "0.scale_base", sb, 4));
    CHECK_OK(lamina_model_tensor_write(m, "0.scale_sp", sp, 4));
    compare_with_hand(m, 2, widths, 2, "uniform knots");
    /* A pruned edge (mask 0) is identically 0. */
    for (s = 0; s < 40; s++) zero[s] = (float)(-3 + 0.15 * (double)s);
    CHECK_OK(lamina_model_kan_edge_curve(m, 0, 1, 0, zero, 40, y));
    for (s = 0; s < 40 && y[s] == 0; s++) {}
    CHECK(s == 40, "masked edge is %g at x = %g", s < 40 ? y[s] : 0.0, s < 40 ? zero[s] : 0.0);
    /* Non-uniform knots after a grid update take the evaluator's general path. */
    CHECK_OK(lamina_model_kan_update_grid(m, g_x, NS, 0.02f));
    compare_with_hand(m, 2, widths, 2, "knots after update_grid");
    lamina_model_free(m);
}

static void test_update_grid(void)
{
    lamina_model *m;
    float *before = NULL, *after = NULL, *grid0 = NULL, *grid1 = NULL, *kept = NULL;
    char *spec0 = NULL, *spec1 = NULL;
    size_t s, j, n0 = 0, n1 = 0;
    const size_t k = 3, g = 8, kc = 8 + 2 * 3 + 1;
    float lo = 1e30f, hi = -1e30f;
    section("update_grid");
    m = MK(KAN_211);
    if (!m) return;
    smooth_coefficients(m, 2);
    before = predict(m, g_x, NS);
    spec0 = spec_of(m);
    CHECK_OK(lamina_model_kan_update_grid(m, g_x, NS, 0.02f));
    after = predict(m, g_x, NS);
    spec1 = spec_of(m);
    CHECK(spec0 && spec1 && strcmp(spec0, spec1) == 0, "the spec changed: %s", spec1 ? spec1 : "");
    /* pykan's refit is least squares: the function is kept on the samples, not exactly. */
    if (before && after) {
        double r = relative_sq_error(before, after, NS);
        CHECK(r < 1e-4, "update_grid changed the predictions: unexplained variance %g", r);
        CHECK(max_abs_diff(before, after, NS) > 0, "predictions are bit-identical: did anything move?");
    }
    /* Layer 0: input 0's interior knots t_k ... t_{k+G} span its samples (grid_eps blends
    ** quantiles with the uniform grid but keeps both ends), increasing, denser where the
    ** samples are. */
    grid0 = read_tensor(m, "0.grid", &n0);
    for (s = 0; s < NS; s++) {
        if (g_x[2 * s] < lo) lo = g_x[2 * s];
        if (g_x[2 * s] > hi) hi = g_x[2 * s];
    }
    if (CHECK(grid0 && n0 == 2 * kc, "0.grid has %zu values", n0)) {
        CHECK(grid0[k] == lo && grid0[k + g] == hi, "input 0 interior [%g, %g], samples [%g, %g]", grid0[k],
              grid0[k + g], lo, hi);
        for (j = 1; j < kc && grid0[j] > grid0[j - 1]; j++) {}
        CHECK(j == kc, "knots not increasing at %zu", j);
        CHECK(grid0[k + 1] - grid0[k] < grid0[k + g] - grid0[k + g - 1], "quantile grid not denser at the low end");
    }
    /* Layer 1 adapts to what the updated layer 0 sends it: h_j = sum_i phi_0ij(x_i). */
    grid1 = read_tensor(m, "1.grid", &n1);
    if (CHECK(grid1 && n1 == 3 * kc, "1.grid has %zu values", n1)) {
        float col[NS], phi[NS], h[NS];
        size_t i;
        for (j = 0; j < 3; j++) {
            float hlo = 1e30f, hhi = -1e30f;
            memset(h, 0, sizeof h);
            for (i = 0; i < 2; i++) {
                for (s = 0; s < NS; s++) col[s] = g_x[2 * s + i];
                CHECK_OK(lamina_model_kan_edge_curve(m, 0, i, j, col, NS, phi));
                for (s = 0; s < NS; s++) h[s] += phi[s];
            }
            for (s = 0; s < NS; s++) {
                if (h[s] < hlo) hlo = h[s];
                if (h[s] > hhi) hhi = h[s];
            }
            CHECK(fabs(grid1[j * kc + k] - hlo) <= 1e-5 * (1 + fabs(hlo)) &&
                      fabs(grid1[j * kc + k + g] - hhi) <= 1e-5 * (1 + fabs(hhi)),
                  "layer 1 input %zu: interior [%g, %g], received [%g, %g]", j, grid1[j * kc + k],
                  grid1[j * kc + k + g], hlo, hhi);
        }
    }
    /* grid_eps = 1: the uniform grid over the samples' range. */
    CHECK_OK(lamina_model_kan_update_grid(m, g_x, NS, 1.0f));
    free(grid0);
    grid0 = read_tensor(m, "0.grid", NULL);
    if (grid0) {
        double h = ((double)hi - lo) / (double)g, worst = 0;
        for (j = 0; j + 1 < kc; j++) {
            double d = fabs(((double)grid0[j + 1] - grid0[j]) - h);
            if (d > worst) worst = d;
        }
        CHECK(worst < 1e-5, "grid_eps = 1: spacing differs from %g by %g", h, worst);
    }
    /* On failure nothing is changed. */
    kept = read_tensor(m, "0.grid", NULL);
    {
        float bad[NS * 2];
        memcpy(bad, g_x, sizeof bad);
        bad[NS * 2 - 1] = NAN;
        CHECK_ST(lamina_model_kan_update_grid(m, bad, NS, 0.02f), LAMINA_E_NUMERIC);
        free(grid0);
        grid0 = read_tensor(m, "0.grid", NULL);
        CHECK(grid0 && kept && memcmp(grid0, kept, 2 * kc * sizeof(float)) == 0, "a failed update_grid moved knots");
    }
    free(before);
    free(after);
    free(grid0);
    free(grid1);
    free(kept);
    free(spec0);
    free(spec1);
    lamina_model_free(m);
}

static void test_refine(void)
{
    lamina_model *m, *fine = NULL, *dense = NULL, *twelve = NULL;
    float *before = NULL, *y = NULL, *again = NULL, *a = NULL, *b = NULL;
    size_t dims[3], rank;
    char *spec = NULL;
    section("refine");
    m = MK(KAN_211);
    if (!m) return;
    smooth_coefficients(m, 2);
    /* Start from knots adapted to the samples (non-uniform), as after training. */
    CHECK_OK(lamina_model_kan_update_grid(m, g_x, NS, 0.02f));
    before = predict(m, g_x, NS);
    /* 8 -> 16 splits every interval: the old splines lie in the new space. */
    CHECK_OK(lamina_model_kan_refine(m, 16, g_x, NS, &fine));
    if (fine && before) {
        y = predict(fine, g_x, NS);
        CHECK(y && max_abs_diff(before, y, NS) < 1e-3, "refine(16) at the samples moved predictions by %g",
              y ? max_abs_diff(before, y, NS) : -1.0);
        rank = shape_of(fine, "0.coef", dims);
        CHECK(rank == 3 && dims[0] == 2 && dims[1] == 3 && dims[2] == 19, "0.coef is [%zu, %zu, %zu]", dims[0],
              dims[1], dims[2]);
        rank = shape_of(fine, "0.grid", dims);
        CHECK(rank == 2 && dims[0] == 2 && dims[1] == 23, "0.grid is [%zu, %zu]", dims[0], dims[1]);
        rank = shape_of(fine, "1.coef", dims);
        CHECK(rank == 3 && dims[0] == 3 && dims[1] == 1 && dims[2] == 19, "1.coef is [%zu, %zu, %zu]", dims[0],
              dims[1], dims[2]);
        rank = shape_of(fine, "1.grid", dims);
        CHECK(rank == 2 && dims[0] == 3 && dims[1] == 23, "1.grid is [%zu, %zu]", dims[0], dims[1]);
        spec = spec_of(fine);
        CHECK(spec && (strstr(spec, "\"grid\": 16,") || strstr(spec, "\"grid\":16,")), "refined spec: %s",
              spec ? spec : "");
        a = read_tensor(m, "0.scale_base", NULL);
        b = read_tensor(fine, "0.scale_base", NULL);
        CHECK(a && b && memcmp(a, b, 6 * sizeof(float)) == 0, "scale_base not copied");
    }
    /* No samples (x = NULL, n = 0): fitted on a dense grid over each input's knot range. */
    CHECK_OK(lamina_model_kan_refine(m, 16, NULL, 0, &dense));
    if (dense && before) {
        free(y);
        y = predict(dense, g_x, NS);
        CHECK(y && max_abs_diff(before, y, NS) < 1e-3, "refine(16) without samples moved predictions by %g",
              y ? max_abs_diff(before, y, NS) : -1.0);
    }
    /* 8 -> 12 is not nested: close, not exact. */
    CHECK_OK(lamina_model_kan_refine(m, 12, g_x, NS, &twelve));
    if (twelve && before) {
        free(y);
        y = predict(twelve, g_x, NS);
        CHECK(y && relative_sq_error(before, y, NS) < 1e-3, "refine(12): unexplained variance %g",
              y ? relative_sq_error(before, y, NS) : -1.0);
    }
    /* READ-ONLY on the model: unchanged; the new models are independent of it. */
    again = predict(m, g_x, NS);
    CHECK(again && before && memcmp(again, before, NS * sizeof(float)) == 0, "refine changed its model");
    lamina_model_free(m);
    if (fine && before) {
        free(y);
        y = predict(fine, g_x, NS);
        CHECK(y && max_abs_diff(before, y, NS) < 1e-3, "the refined model depends on the freed original");
    }
    free(before);
    free(y);
    free(again);
    free(a);
    free(b);
    free(spec);
    lamina_model_free(fine);
    lamina_model_free(dense);
    lamina_model_free(twelve);
}

static void test_sequential(void)
{
    lamina_model *m, *r = NULL;
    float x[4] = {0.1f, -0.2f, 0.5f, 0.3f}, y[2];
    size_t dims[3];
    section("a sequential model with a dense and a KAN layer");
    m = MK("{\"kind\": \"sequential\", \"input\": 2, \"seed\": 1, \"layers\": [{\"type\": \"dense\", "
           "\"output\": 3}, {\"type\": \"kan\", \"output\": 1, \"grid\": 4}]}");
    if (!m) return;
    CHECK_ST(lamina_model_kan_edge_curve(m, 0, 0, 0, x, 2, y), LAMINA_E_UNSUPPORTED);
    CHECK_OK(lamina_model_kan_edge_curve(m, 1, 2, 0, x, 2, y));
    CHECK_OK(lamina_model_kan_update_grid(m, g_x, NS, 0.02f));
    CHECK_OK(lamina_model_kan_refine(m, 8, g_x, NS, &r));
    CHECK(r && shape_of(r, "1.coef", dims) == 3 && dims[0] == 3 && dims[2] == 11, "1.coef is [%zu, %zu, %zu]",
          dims[0], dims[1], dims[2]);
    lamina_model_free(r);
    lamina_model_free(m);
}

static void test_bad_calls(void)
{
    lamina_model *kan, *mlp, *out = (lamina_model *)&g_pass, *big;
    float x[4] = {0.1f, 0.2f, 0.3f, 0.4f}, xnan[4] = {0.1f, NAN, 0.3f, 0.4f}, xinf[2] = {INFINITY, 0}, y[4];
    section("bad calls");
    kan = MK(KAN_211);
    mlp = MK(MLP_SPEC);
    if (!kan || !mlp) return;

    CHECK_ST(lamina_model_kan_update_grid(NULL, x, 2, 0.02f), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_update_grid(kan, NULL, 2, 0.02f), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_update_grid(kan, x, 0, 0.02f), LAMINA_E_SHAPE);
    CHECK_ST(lamina_model_kan_update_grid(kan, x, 2, -0.1f), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_update_grid(kan, x, 2, 1.5f), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_update_grid(kan, x, 2, NAN), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_update_grid(kan, xnan, 2, 0.02f), LAMINA_E_NUMERIC);
    CHECK_ST(lamina_model_kan_update_grid(kan, xinf, 1, 0.02f), LAMINA_E_NUMERIC);
    CHECK_ST(lamina_model_kan_update_grid(kan, x, SIZE_MAX, 0.02f), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_model_kan_update_grid(kan, x, SIZE_MAX / 2, 0.02f), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_model_kan_update_grid(mlp, x, 2, 0.02f), LAMINA_E_UNSUPPORTED);

    CHECK_ST(lamina_model_kan_refine(NULL, 10, NULL, 0, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK(out == NULL, "*out is not NULL after a failed refine");
    CHECK_ST(lamina_model_kan_refine(kan, 10, NULL, 0, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_refine(kan, 0, NULL, 0, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_refine(kan, 10001, NULL, 0, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_refine(kan, SIZE_MAX, NULL, 0, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_refine(kan, (size_t)1 << 40, NULL, 0, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_refine(kan, 10, NULL, 2, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_refine(kan, 10, xnan, 2, &out), LAMINA_E_NUMERIC);
    CHECK_ST(lamina_model_kan_refine(kan, 10, x, SIZE_MAX, &out), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_model_kan_refine(mlp, 10, NULL, 0, &out), LAMINA_E_UNSUPPORTED);
    CHECK(out == NULL, "*out is not NULL after a failed refine");
    /* A grid the parameter budget cannot hold: 1024 x 1024 edges x (10000 + 2) scalars. */
    big = MK("{\"kind\": \"kan\", \"widths\": [1024, 1024], \"grid\": 1, \"order\": 0}");
    if (big) CHECK_ST(lamina_model_kan_refine(big, 10000, NULL, 0, &out), LAMINA_E_OUT_OF_MEMORY);
    lamina_model_free(big);

    CHECK_ST(lamina_model_kan_edge_curve(NULL, 0, 0, 0, x, 1, y), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_edge_curve(kan, 2, 0, 0, x, 1, y), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_edge_curve(kan, SIZE_MAX, 0, 0, x, 1, y), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_edge_curve(kan, 0, 2, 0, x, 1, y), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_edge_curve(kan, 0, 0, 3, x, 1, y), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_edge_curve(kan, 1, 3, 0, x, 1, y), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_edge_curve(kan, 1, 0, 1, x, 1, y), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_edge_curve(kan, 0, SIZE_MAX, SIZE_MAX, x, 1, y), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_edge_curve(kan, 0, 0, 0, NULL, 1, y), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_edge_curve(kan, 0, 0, 0, x, 1, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_edge_curve(kan, 0, 0, 0, xnan, 4, y), LAMINA_E_NUMERIC);
    CHECK_ST(lamina_model_kan_edge_curve(kan, 0, 0, 0, x, SIZE_MAX, y), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_model_kan_edge_curve(mlp, 0, 0, 0, x, 1, y), LAMINA_E_UNSUPPORTED);
    /* count = 0: nothing to do, x and y may be NULL, but the indices are still checked. */
    CHECK_OK(lamina_model_kan_edge_curve(kan, 1, 2, 0, NULL, 0, NULL));
    CHECK_ST(lamina_model_kan_edge_curve(kan, 5, 0, 0, NULL, 0, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_edge_curve(mlp, 0, 0, 0, NULL, 0, NULL), LAMINA_E_UNSUPPORTED);
    /* A failed call leaves the model usable. */
    CHECK_OK(lamina_model_kan_edge_curve(kan, 0, 1, 2, x, 4, y));
    lamina_model_free(kan);
    lamina_model_free(mlp);
}

/* Attribution layout and values, then pruning of a hidden node that feeds nothing. */
static void test_attribute_and_prune(void)
{
    lamina_model *m, *mlp, *out = NULL;
    float *scores = NULL, *y0 = NULL, *y1 = NULL, mask[4], xnan[4] = {0.1f, NAN, 0.2f, 0.3f};
    size_t len = 0, dims[3], i, j;
    section("attribute and prune");
    m = MK("{\"kind\": \"kan\", \"widths\": [2, 4, 1], \"grid\": 5, \"seed\": 5}");
    mlp = MK(MLP_SPEC);
    if (!m || !mlp) goto done;
    /* Hidden node 2 feeds nothing: its only outgoing edge is masked. */
    CHECK_OK(lamina_model_tensor_read(m, "1.mask", mask, 4));
    mask[2] = 0;
    CHECK_OK(lamina_model_tensor_write(m, "1.mask", mask, 4));
    /* 2 x 4 + 4 x 1 edge scores, then 2 + 4 + 1 node scores. x is not read for the length. */
    CHECK_OK(lamina_model_kan_attribute(m, NULL, 0, NULL, 0, &len));
    CHECK(len == 19, "attribute length %zu, expected 19", len);
    scores = malloc(19 * sizeof *scores);
    if (!scores) goto done;
    len = 0;
    CHECK_ST(lamina_model_kan_attribute(m, g_x, NS, scores, 18, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK(len == 19, "a small cap still sets *len (%zu)", len);
    CHECK_OK(lamina_model_kan_attribute(m, g_x, NS, scores, 19, &len));
    CHECK(scores[8 + 2] == 0, "masked edge score %g", scores[8 + 2]);
    CHECK(scores[12 + 2 + 2] == 0, "dead node score %g", scores[16]);
    CHECK(scores[18] == 1, "output node score %g (1 / output_dim)", scores[18]);
    for (i = 0; i < 4; i++) {  /* hidden node i = sum of its outgoing edge scores */
        CHECK(fabs(scores[14 + i] - scores[8 + i]) <= 1e-6 * fabs(scores[8 + i]), "node 1.%zu", i);
        if (i != 2) CHECK(scores[14 + i] > 1e-2, "live node 1.%zu scores %g", i, scores[14 + i]);
    }
    for (i = 0; i < 2; i++) {  /* input i = sum over j of edge 0: i -> j */
        double sum = 0;
        for (j = 0; j < 4; j++) sum += scores[i * 4 + j];
        CHECK(fabs(scores[12 + i] - sum) <= 1e-5 * sum, "input node %zu: %g vs %g", i, scores[12 + i], sum);
    }

    /* Prune with no edge pruning (edge_th < 0): node 2 goes, predictions stay. */
    CHECK_OK(lamina_model_kan_prune(m, g_x, NS, 1e-2f, -1.0f, &out));
    if (out) {
        CHECK(shape_of(out, "0.coef", dims) == 3 && dims[0] == 2 && dims[1] == 3 && dims[2] == 8,
              "pruned 0.coef is %zu x %zu x %zu", dims[0], dims[1], dims[2]);
        CHECK(shape_of(out, "1.mask", dims) == 2 && dims[0] == 3 && dims[1] == 1, "pruned 1.mask");
        y0 = predict(m, g_x, NS);
        y1 = predict(out, g_x, NS);
        CHECK(y0 && y1 && max_abs_diff(y0, y1, NS) < 1e-5, "pruned predictions differ by %g",
              y0 && y1 ? max_abs_diff(y0, y1, NS) : -1.0);
        lamina_model_free(out);
        out = NULL;
    }
    /* pykan's defaults also run. */
    CHECK_OK(lamina_model_kan_prune(m, g_x, NS, 1e-2f, 3e-2f, &out));
    lamina_model_free(out);
    out = NULL;

    /* Bad calls. */
    CHECK_ST(lamina_model_kan_attribute(NULL, g_x, NS, scores, 19, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_attribute(m, g_x, NS, scores, 19, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_attribute(m, NULL, NS, scores, 19, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_attribute(m, g_x, NS, NULL, 19, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_attribute(m, g_x, 1, scores, 19, &len), LAMINA_E_SHAPE);
    CHECK_ST(lamina_model_kan_attribute(m, xnan, 2, scores, 19, &len), LAMINA_E_NUMERIC);
    CHECK_ST(lamina_model_kan_attribute(m, g_x, SIZE_MAX, scores, 19, &len), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_model_kan_attribute(mlp, g_x, NS, NULL, 0, &len), LAMINA_E_UNSUPPORTED);
    CHECK_ST(lamina_model_kan_prune(NULL, g_x, NS, 1e-2f, 3e-2f, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_prune(m, g_x, NS, 1e-2f, 3e-2f, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_prune(m, NULL, NS, 1e-2f, 3e-2f, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_prune(m, g_x, NS, NAN, 3e-2f, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_prune(m, g_x, NS, 1e-2f, INFINITY, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_prune(m, g_x, 1, 1e-2f, 3e-2f, &out), LAMINA_E_SHAPE);
    CHECK_ST(lamina_model_kan_prune(m, xnan, 2, 1e-2f, 3e-2f, &out), LAMINA_E_NUMERIC);
    CHECK_ST(lamina_model_kan_prune(m, g_x, SIZE_MAX, 1e-2f, 3e-2f, &out), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_model_kan_prune(mlp, g_x, NS, 1e-2f, 3e-2f, &out), LAMINA_E_UNSUPPORTED);
    CHECK(out == NULL, "*out is not NULL after a failed prune");
done:
    free(scores);
    free(y0);
    free(y1);
    lamina_model_free(m);
    lamina_model_free(mlp);
}

/* =======================================================================================
** Symbolic regression
*/

static void test_symbolic(void)
{
    section("symbolic: fix, predict by hand, formula, suggest, auto");
    lamina_model *m = MK("{\"kind\": \"kan\", \"widths\": [2, 1], \"symbolic\": true, \"seed\": 2}");
    lamina_model *plain = MK("{\"kind\": \"kan\", \"widths\": [2, 1]}");
    if (!m || !plain) { lamina_model_free(m); lamina_model_free(plain); return; }
    float r2 = -1;
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 0, 0, 0, "sin", g_x, NS, &r2));
    CHECK(r2 >= 0 && r2 <= 1.0001f, "r2 %g", r2);
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 0, 1, 0, "x^2", g_x, NS, NULL));
    size_t count = 0;
    float *aff = read_tensor(m, "0.symbolic_affine", &count);
    float *mask = read_tensor(m, "0.mask", NULL);
    CHECK(aff && count == 8, "symbolic_affine has %zu values", count);
    CHECK(mask && mask[0] == 0 && mask[1] == 0, "numeric masks set to 0");
    if (aff) {
        float x[4] = {0.3f, -0.7f, -0.9f, 0.45f};
        float *y = predict(m, x, 2);
        for (int r = 0; y && r < 2; r++) {
            double u = x[2 * r], v = x[2 * r + 1], t = aff[4] * v + aff[5];
            double hand = aff[2] * sin(aff[0] * u + aff[1]) + aff[3] + aff[6] * t * t + aff[7];
            CHECK(fabs(y[r] - hand) < 1e-5, "row %d: %g vs %g", r, y[r], hand);
        }
        free(y);
    }
    free(aff);
    free(mask);
    size_t len = 0;
    CHECK_OK(lamina_model_kan_symbolic_formula(m, NULL, 0, &len));
    char *text = malloc(len + 1);
    if (text) {
        CHECK_OK(lamina_model_kan_symbolic_formula(m, text, len + 1, &len));
        CHECK(strstr(text, "sin(") && strstr(text, "^2") && strstr(text, "x_1"), "formula %s", text);
        free(text);
    }
    CHECK_OK(lamina_model_kan_suggest_symbolic(m, 0, 0, 0, g_x, NS, 0.8f, NULL, 0, &len));
    CHECK(len > 2, "suggest JSON length %zu", len);
    CHECK_ST(lamina_model_kan_fix_symbolic(m, 0, 0, 0, "nope", g_x, NS, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_fix_symbolic(m, 0, 2, 0, "x", g_x, NS, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_fix_symbolic(plain, 0, 0, 0, "x", g_x, NS, NULL),
             LAMINA_E_UNSUPPORTED);
    CHECK_ST(lamina_model_kan_symbolic_formula(plain, NULL, 0, &len), LAMINA_E_UNSUPPORTED);
    CHECK_ST(lamina_model_kan_auto_symbolic(m, NULL, g_x, 0, 0, 0.8f), LAMINA_E_SHAPE);
    lamina_model *a = MK("{\"kind\": \"kan\", \"widths\": [2, 1], \"symbolic\": true}");
    if (a) {
        CHECK_ST(lamina_model_kan_symbolic_formula(a, NULL, 0, &len), LAMINA_E_UNSUPPORTED);
        CHECK_OK(lamina_model_kan_auto_symbolic(a, "x, x^2,sin", g_x, NS, 0, 0.8f));
        CHECK_OK(lamina_model_kan_symbolic_formula(a, NULL, 0, &len));
        lamina_model_free(a);
    }
    lamina_model_free(m);
    lamina_model_free(plain);
}

/* Mixed-basis layers: the mixture reader (two-call), keep-strongest, save/load round trip of
** a mixed spec, and the B-spline tools refusing mixed layers. */
#define MIXED_SPEC "{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"basis\": \"mixed\", " \
                   "\"bases\": [\"bspline\", {\"name\": \"chebyshev\", \"degree\": 3}, \"fourier\"], " \
                   "\"temperature\": 0.5, \"seed\": 6}"
static void test_mixed(void)
{
    lamina_model *m, *loaded = NULL, *kept = NULL, *kan, *out = (lamina_model *)&g_pass;
    float w[18], logits[18], *y0 = NULL, *y1 = NULL, x[4] = {0.1f, -0.2f, 0.7f, 0.4f}, y[4];
    size_t len = 0, i, dims[3];
    char *spec = NULL, *spec2 = NULL;
    const char *path = "test_kan_abi_mixed.safetensors";
    section("mixed bases");
    m = MK(MIXED_SPEC);
    kan = MK(KAN_211);
    if (!m || !kan) goto done;
    spec = spec_of(m);
    CHECK(spec && strstr(spec, "\"basis\": \"mixed\"") && strstr(spec, "\"temperature\": 0.5")
              && strstr(spec, "\"selected\": false") && strstr(spec, "\"degree\": 3"),
          "full spec %s", spec ? spec : "(null)");
    CHECK(shape_of(m, "0.mix_logits", dims) == 3 && dims[0] == 3 && dims[1] == 2 && dims[2] == 3,
          "0.mix_logits is %zu x %zu x %zu", dims[0], dims[1], dims[2]);
    CHECK(shape_of(m, "0.bases.1.coef", dims) == 3 && dims[2] == 4, "0.bases.1.coef");
    /* Two-call mixture: uniform at first. */
    CHECK_OK(lamina_model_kan_mixture(m, 0, NULL, 0, &len));
    CHECK(len == 18, "mixture length %zu, expected 18", len);
    CHECK_OK(lamina_model_kan_mixture(m, 0, w, 18, &len));
    for (i = 0; i < 18; i++) CHECK(fabsf(w[i] - 1.0f / 3) < 1e-6f, "w[%zu] = %g", i, w[i]);
    /* Logits set so that edge e prefers component e % 3 (logit 1, temperature 0.5). */
    for (i = 0; i < 18; i++) logits[i] = (i % 3 == (i / 3) % 3) ? 1.0f : 0.0f;
    CHECK_OK(lamina_model_tensor_write(m, "0.mix_logits", logits, 18));
    CHECK_OK(lamina_model_kan_mixture(m, 0, w, 18, &len));
    {
        double e2 = exp(2.0), top = e2 / (e2 + 2), sum = 0;
        for (i = 0; i < 3; i++) sum += w[i];
        CHECK(fabs(sum - 1) < 1e-6, "weights of edge 0 sum to %g", sum);
        CHECK(fabs(w[0] - top) < 1e-6 && fabs(w[4] - top) < 1e-6, "w = %g, %g, expected %g", w[0], w[4], top);
    }
    /* Save and load keep the spec and the predictions. */
    y0 = predict(m, x, 2);
    CHECK_OK(lamina_model_save(m, path));
    CHECK_OK(lamina_model_load(path, &loaded));
    spec2 = loaded ? spec_of(loaded) : NULL;
    CHECK(spec && spec2 && strcmp(spec, spec2) == 0, "spec after load %s", spec2 ? spec2 : "(null)");
    y1 = loaded ? predict(loaded, x, 2) : NULL;
    CHECK(y0 && y1 && memcmp(y0, y1, 2 * sizeof(float)) == 0, "predictions after load differ");
    free(y1);
    y1 = NULL;
    free(spec2);
    spec2 = NULL;
    /* Keep the strongest basis per edge: layer 0 stays mixed (selected), one-hot. */
    CHECK_OK(lamina_model_kan_keep_strongest(m, &kept));
    if (kept) {
        spec2 = spec_of(kept);
        CHECK(spec2 && strstr(spec2, "\"selected\": true"), "kept spec %s", spec2 ? spec2 : "(null)");
        CHECK(shape_of(kept, "0.selection", dims) == 3, "0.selection missing");
        CHECK(shape_of(kept, "0.mix_logits", dims) == 0, "0.mix_logits still there");
        CHECK_OK(lamina_model_kan_mixture(kept, 0, w, 18, &len));
        for (i = 0; i < 18; i++)
            CHECK(w[i] == ((i % 3 == (i / 3) % 3) ? 1.0f : 0.0f), "selection[%zu] = %g", i, w[i]);
        /* Keeping again changes nothing (the selection is the layer's weights). */
        lamina_model *again = NULL;
        CHECK_OK(lamina_model_kan_keep_strongest(kept, &again));
        char *spec3 = again ? spec_of(again) : NULL;
        CHECK(spec3 && strcmp(spec2, spec3) == 0, "keeping twice changed the spec");
        free(spec3);
        lamina_model_free(again);
        CHECK_OK(lamina_model_save(kept, path));
        lamina_model_free(loaded);
        loaded = NULL;
        CHECK_OK(lamina_model_load(path, &loaded));
        free(y0);
        y0 = predict(kept, x, 2);
        y1 = loaded ? predict(loaded, x, 2) : NULL;
        CHECK(y0 && y1 && memcmp(y0, y1, 2 * sizeof(float)) == 0, "kept predictions after load differ");
        CHECK_OK(lamina_model_kan_edge_curve(kept, 0, 1, 2, x, 4, y));
    }
    remove(path);
    /* The B-spline tools refuse mixed layers; edge curves work. */
    CHECK_OK(lamina_model_kan_edge_curve(m, 0, 1, 2, x, 4, y));
    CHECK_ST(lamina_model_kan_update_grid(m, x, 2, 0.02f), LAMINA_E_UNSUPPORTED);
    CHECK_ST(lamina_model_kan_refine(m, 10, NULL, 0, &out), LAMINA_E_UNSUPPORTED);
    CHECK(out == NULL, "*out is not NULL after a failed refine");
    CHECK_ST(lamina_model_kan_attribute(m, x, 2, NULL, 0, &len), LAMINA_E_UNSUPPORTED);
    out = (lamina_model *)&g_pass;
    CHECK_ST(lamina_model_kan_prune(m, x, 2, 0.01f, 0.03f, &out), LAMINA_E_UNSUPPORTED);
    CHECK_ST(lamina_model_kan_symbolic_formula(m, NULL, 0, &len), LAMINA_E_UNSUPPORTED);
    /* Bad calls. */
    CHECK_ST(lamina_model_kan_mixture(NULL, 0, NULL, 0, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_mixture(m, 0, NULL, 0, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_mixture(m, 0, NULL, 18, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_mixture(m, 0, w, 17, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_mixture(m, 2, w, 18, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_mixture(m, SIZE_MAX, w, 18, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_mixture(kan, 0, w, 18, &len), LAMINA_E_UNSUPPORTED);
    CHECK_OK(lamina_model_kan_mixture(m, 1, w, SIZE_MAX, &len));
    CHECK(len == 9, "layer 1 mixture length %zu, expected 9", len);
    out = (lamina_model *)&g_pass;
    CHECK_ST(lamina_model_kan_keep_strongest(NULL, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK(out == NULL, "*out is not NULL after a failed keep_strongest");
    CHECK_ST(lamina_model_kan_keep_strongest(m, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_keep_strongest(kan, &out), LAMINA_E_UNSUPPORTED);
    CHECK_ST(lamina_model_create("{\"kind\": \"kan\", \"widths\": [2, 1], \"basis\": \"mixed\", "
                                 "\"bases\": [\"rbf\"]}", &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_create("{\"kind\": \"kan\", \"widths\": [2, 1], \"basis\": \"mixed\", "
                                 "\"bases\": [\"rbf\", \"mixed\"]}", &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_create("{\"kind\": \"kan\", \"widths\": [2, 1], \"basis\": \"mixed\", "
                                 "\"temperature\": 0}", &out), LAMINA_E_INVALID_ARGUMENT);
done:
    free(spec);
    free(spec2);
    free(y0);
    free(y1);
    lamina_model_free(loaded);
    lamina_model_free(kept);
    lamina_model_free(m);
    lamina_model_free(kan);
}

/* =======================================================================================
** lamina_model_kan_regularization: pykan's model.reg on the reference model of
** Tests/Reference/kan_reg_reference.py and kan_reg_metrics_reference.py (pykan 0.2.8).
*/

/* The reference scripts' deterministic tensor values. */
static void fill_ref(float *v, size_t count, double phase)
{
    size_t q;
    for (q = 0; q < count; q++)
        v[q] = (float)(0.8 * sin(1.3 * (double)q + phase) + 0.1 * cos(0.7 * (double)q));
}

static lamina_model *reg_reference_model(float x[32])
{
    static const float knots[12] = {-2.2f, -1.8f, -1.4f, -1.0f, -0.6f, -0.19999998807907104f,
                                    0.19999998807907104f, 0.6f, 1.0f, 1.4f, 1.8f, 2.2f};
    static const size_t ins[2] = {2, 3}, outs[2] = {3, 1};
    lamina_model *m = MK("{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"grid\": 5, \"seed\": 0}");
    float buf[64];
    char name[32];
    size_t l, q, s;
    if (!m) return NULL;
    for (l = 0; l < 2; l++) {
        size_t e = ins[l] * outs[l];
        fill_ref(buf, e * 8, 0.3 + (double)l);
        snprintf(name, sizeof name, "%zu.coef", l);
        CHECK_OK(lamina_model_tensor_write(m, name, buf, e * 8));
        fill_ref(buf, e, 1.1 + (double)l);
        snprintf(name, sizeof name, "%zu.scale_base", l);
        CHECK_OK(lamina_model_tensor_write(m, name, buf, e));
        fill_ref(buf, e, 2.2 + (double)l);
        for (q = 0; q < e; q++) buf[q] = 0.5f + 0.5f * fabsf(buf[q]);
        snprintf(name, sizeof name, "%zu.scale_sp", l);
        CHECK_OK(lamina_model_tensor_write(m, name, buf, e));
        for (q = 0; q < e; q++) buf[q] = 1.0f;
        if (l == 0) buf[1 * 3 + 2] = 0.0f; /* edge (layer 0, i 1, j 2) masked */
        snprintf(name, sizeof name, "%zu.mask", l);
        CHECK_OK(lamina_model_tensor_write(m, name, buf, e));
        for (q = 0; q < ins[l]; q++) memcpy(buf + 12 * q, knots, sizeof knots);
        snprintf(name, sizeof name, "%zu.grid", l);
        CHECK_OK(lamina_model_tensor_write(m, name, buf, 12 * ins[l]));
    }
    for (s = 0; s < 16; s++) {
        x[2 * s] = (float)sin(0.9 * (double)s + 0.2);
        x[2 * s + 1] = (float)cos(1.7 * (double)s);
    }
    return m;
}

static void test_regularization(void)
{
    /* (lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff) and pykan's reg per metric. */
    static const char *settings[3] = {
        "\"lamb_l1\": 1, \"lamb_entropy\": 2, \"lamb_coef\": 0, \"lamb_coefdiff\": 0",
        "\"lamb_l1\": 1, \"lamb_entropy\": 2, \"lamb_coef\": 1, \"lamb_coefdiff\": 1",
        "\"lamb_l1\": 0.5, \"lamb_entropy\": 0, \"lamb_coef\": 0.3, \"lamb_coefdiff\": 0.7"};
    static const char *metrics[3] = {"edge_forward_spline_n", "edge_forward_spline_u",
                                     "edge_forward_sum"};
    static const double expected[3][3] = {
        {11.863182067871094, 54.66404724121094, 23.71504783630371},
        {10.235236167907715, 53.036102294921875, 23.12918472290039},
        {11.863182067871094, 54.66404724121094, 23.71504783630371}};
    float x[32], reg = -1.0f, xnan[4] = {0.1f, NAN, 0.3f, 0.4f};
    char config[256];
    int a, b;
    lamina_model *m, *mlp, *sym;
    section("kan_regularization");
    m = reg_reference_model(x);
    if (!m) return;
    for (a = 0; a < 3; a++) {
        for (b = 0; b < 3; b++) {
            snprintf(config, sizeof config, "{%s, \"reg_metric\": \"%s\"}", settings[b], metrics[a]);
            reg = -1.0f;
            CHECK_OK(lamina_model_kan_regularization(m, x, 16, config, &reg));
            CHECK(fabs(reg - expected[a][b]) <= 2e-5 * expected[a][b], "%s: reg %.9g, pykan %.9g",
                  config, reg, expected[a][b]);
        }
    }
    /* NULL config = all defaults = settings[0] with edge_forward_spline_n; so is "{}". */
    CHECK_OK(lamina_model_kan_regularization(m, x, 16, NULL, &reg));
    CHECK(fabs(reg - expected[0][0]) <= 2e-5 * expected[0][0], "defaults: reg %.9g", reg);
    CHECK_OK(lamina_model_kan_regularization(m, x, 16, "{}", &reg));
    CHECK(fabs(reg - expected[0][0]) <= 2e-5 * expected[0][0], "{}: reg %.9g", reg);
    /* One row: every std is 0, only the coefficient terms remain (0 without them). */
    CHECK_OK(lamina_model_kan_regularization(m, x, 1, NULL, &reg));
    CHECK(reg == 0.0f, "one row, no coefficient terms: reg %.9g", reg);
    CHECK_OK(lamina_model_kan_regularization(m, x, 1, "{\"lamb_coef\": 1}", &reg));
    CHECK(reg > 0.0f, "one row, lamb_coef 1: reg %.9g", reg);

    /* Bad calls leave *reg alone and name the problem. */
    reg = 7.0f;
    CHECK_ST(lamina_model_kan_regularization(NULL, x, 16, NULL, &reg), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_regularization(m, NULL, 16, NULL, &reg), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_regularization(m, x, 16, NULL, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_regularization(m, x, 16, "{", &reg), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_regularization(m, x, 16, "[]", &reg), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_regularization(m, x, 16, "{\"lamb\": 1}", &reg),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_regularization(m, x, 16, "{\"lamb_l1\": -1}", &reg),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_regularization(m, x, 16, "{\"reg_metric\": \"edge_backward\"}", &reg),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_regularization(m, x, 0, NULL, &reg), LAMINA_E_SHAPE);
    CHECK_ST(lamina_model_kan_regularization(m, xnan, 2, NULL, &reg), LAMINA_E_NUMERIC);
    CHECK_ST(lamina_model_kan_regularization(m, x, SIZE_MAX, NULL, &reg), LAMINA_E_OUT_OF_MEMORY);
    CHECK(reg == 7.0f, "a failed call changed *reg to %g", reg);
    mlp = MK("{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [4], \"output\": 1}");
    if (mlp) {
        CHECK_ST(lamina_model_kan_regularization(mlp, x, 16, NULL, &reg), LAMINA_E_UNSUPPORTED);
        lamina_model_free(mlp);
    }
    /* pykan's spline_u and sum scores include symbolic edges; Lamina refuses them there. */
    sym = MK("{\"kind\": \"kan\", \"widths\": [2, 1], \"symbolic\": true}");
    if (sym) {
        CHECK_OK(lamina_model_kan_regularization(sym, x, 16,
                                                 "{\"reg_metric\": \"edge_forward_spline_u\"}", &reg));
        CHECK_OK(lamina_model_kan_fix_symbolic(sym, 0, 0, 0, "sin", x, 16, NULL));
        CHECK_OK(lamina_model_kan_regularization(sym, x, 16, NULL, &reg));
        CHECK_ST(lamina_model_kan_regularization(sym, x, 16,
                                                 "{\"reg_metric\": \"edge_forward_spline_u\"}", &reg),
                 LAMINA_E_UNSUPPORTED);
        CHECK_ST(lamina_model_kan_regularization(sym, x, 16, "{\"reg_metric\": \"edge_forward_sum\"}",
                                                 &reg),
                 LAMINA_E_UNSUPPORTED);
        lamina_model_free(sym);
    }
    lamina_model_free(m);
}

int main(void)
{
    check_init();
    make_samples();
    test_edge_curve_is_the_model();
    test_edge_curves_sum_to_the_layer();
    test_edge_curve_by_hand();
    test_update_grid();
    test_refine();
    test_sequential();
    test_bad_calls();
    test_attribute_and_prune();
    test_symbolic();
    test_mixed();
    test_regularization();
    return check_summary();
}
