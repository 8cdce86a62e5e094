/*
** test_kan_base_fun_abi.c -- the B-spline KAN key "base_fun" (pykan's base_fun) through the
** C ABI, as include/lamina.h's lamina_model_create block documents it: "silu" (default),
** "identity" (b(x) = x) and "zero" (b(x) = 0) are accepted and written back by
** lamina_model_spec; an edge is scale_base b(x) + scale_sp spline(x) (checked against a
** Cox-de Boor evaluation here, from the model's own tensors); a model predicts, gives input
** gradients that match central differences, trains a few steps and saves and loads with the
** same bits; any other name is LAMINA_E_INVALID_ARGUMENT with a message listing the known ones.
**
** POSIX (mkdtemp, unlink, rmdir). Each CHECK is one assertion; the last line printed is
** "N passed, M failed" and the exit status is non-zero when M > 0.
*/
#define _XOPEN_SOURCE 700
#include "check.h"
#include "model_helpers.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NROWS 64

static const char *const g_bases[] = {"silu", "identity", "zero"};

/* The test's scratch directory (made with mkdtemp in main). */
static char g_dir[64];

/* Deterministic uniform numbers in [lo, hi) (a 64-bit LCG; the top 24 bits). */
static uint64_t g_lcg = 0x9E3779B97F4A7C15ULL;
static float uniform(float lo, float hi)
{
    g_lcg = g_lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (float)((double)(g_lcg >> 40) / 16777216.0);
}

/* sum_m coef[m] B_m(x) on knots t[0 .. kc-1] of degree k, by Cox-de Boor's recursion in
** double (half-open intervals, as pykan's B_batch). */
static double spline_at(double x, const float *t, size_t kc, size_t k, const float *coef)
{
    double b[64];
    size_t m, d, nb = kc - 1 - k;
    double sum = 0;
    for (m = 0; m + 1 < kc; m++) b[m] = (x >= t[m] && x < t[m + 1]) ? 1.0 : 0.0;
    for (d = 1; d <= k; d++)
        for (m = 0; m + 1 + d < kc; m++)
            b[m] = (x - t[m]) / (t[m + d] - t[m]) * b[m]
                   + (t[m + d + 1] - x) / (t[m + d + 1] - t[m + 1]) * b[m + 1];
    for (m = 0; m < nb; m++) sum += coef[m] * b[m];
    return sum;
}

static double base_at(const char *base, double x)
{
    if (strcmp(base, "identity") == 0) return x;
    if (strcmp(base, "zero") == 0) return 0;
    return x / (1 + exp(-x));
}

static void test_spec_and_edges(void)
{
    size_t b;
    section("spec echo and edges against the definition");
    for (b = 0; b < 3; b++) {
        char spec[256], want[64];
        lamina_model *m;
        char *full;
        snprintf(spec, sizeof spec,
                 "{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"base_fun\": \"%s\", \"seed\": 4}",
                 g_bases[b]);
        m = MK(spec);
        if (!m) continue;
        full = spec_of(m);
        snprintf(want, sizeof want, "\"base_fun\": \"%s\"", g_bases[b]);
        CHECK(full && strstr(full, want), "%s: spec %s", g_bases[b], full ? full : "(none)");
        free(full);
        {
            /* Edge (layer 0, input 1, output 2) at points inside and outside the grid. */
            size_t kc = 0, nb = 0, q;
            float *grid = read_tensor(m, "0.grid", &kc);
            float *coef = read_tensor(m, "0.coef", &nb);
            float *sb = read_tensor(m, "0.scale_base", NULL);
            float *sp = read_tensor(m, "0.scale_sp", NULL);
            float *mask = read_tensor(m, "0.mask", NULL);
            float x[9] = {-0.93f, -0.4f, 0.0f, 0.37f, 0.81f, 1.4f, -1.9f, 5.0f, -7.5f};
            float y[9];
            kc /= 2;     /* knots per input */
            nb /= 2 * 3; /* coefficients per edge */
            CHECK(grid && coef && sb && sp && mask, "%s: tensors", g_bases[b]);
            if (grid && coef && sb && sp && mask
                && CHECK_OK(lamina_model_kan_edge_curve(m, 0, 1, 2, x, 9, y))) {
                size_t e = 1 * 3 + 2;
                double worst = 0;
                for (q = 0; q < 9; q++) {
                    double want_y =
                        mask[e]
                        * (sb[e] * base_at(g_bases[b], x[q])
                           + sp[e] * spline_at(x[q], grid + kc, kc, kc - 1 - nb, coef + e * nb));
                    double d = fabs(y[q] - want_y) / (1 + fabs(want_y));
                    if (!(d <= worst)) worst = d;
                }
                CHECK(worst < 1e-5, "%s: edge curve off by %g", g_bases[b], worst);
                if (strcmp(g_bases[b], "zero") == 0)
                    CHECK(y[7] == 0 && y[8] == 0, "zero: outside the grid %g %g", y[7], y[8]);
            }
            free(grid);
            free(coef);
            free(sb);
            free(sp);
            free(mask);
        }
        lamina_model_free(m);
    }
}

static void test_refusal(void)
{
    lamina_model *m = NULL;
    const char *message;
    section("unknown base_fun");
    CHECK_ST(lamina_model_create("{\"kind\": \"kan\", \"widths\": [2, 1], \"base_fun\": \"tanh\"}", &m),
             LAMINA_E_INVALID_ARGUMENT);
    message = lamina_last_error();
    CHECK(strstr(message, "base_fun") && strstr(message, "tanh") && strstr(message, "silu")
              && strstr(message, "identity") && strstr(message, "zero"),
          "message: %s", message);
    CHECK(m == NULL, "no model on failure");
    CHECK_ST(lamina_model_create("{\"kind\": \"kan\", \"widths\": [2, 1], \"base_fun\": true}", &m),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_create("{\"kind\": \"sequential\", \"input\": 2, \"layers\": [{\"type\": "
                                 "\"kan\", \"output\": 1, \"base_fun\": \"relu\"}]}",
                                 &m),
             LAMINA_E_INVALID_ARGUMENT);
}

static void test_predict_train_save(void)
{
    size_t b, r;
    float x[NROWS * 2], y[NROWS];
    section("predict, input gradient, train, save and load");
    for (r = 0; r < NROWS; r++) {
        x[2 * r] = uniform(-1.5f, 1.5f);
        x[2 * r + 1] = uniform(-1.5f, 1.5f);
        y[r] = (float)(sin(3.0 * x[2 * r]) + x[2 * r + 1] * x[2 * r + 1]);
    }
    for (b = 0; b < 3; b++) {
        char spec[256], path[96];
        lamina_model *m, *back = NULL;
        lamina_trainer *t;
        float before[NROWS], after[NROWS], loaded[NROWS], dydx[NROWS * 2];
        float loss = NAN, first = NAN;
        int step;
        snprintf(spec, sizeof spec,
                 "{\"kind\": \"kan\", \"widths\": [2, 4, 1], \"grid\": %d, \"base_fun\": \"%s\", "
                 "\"seed\": 7}",
                 b == 1 ? 20 : 5, g_bases[b]);
        m = MK(spec);
        if (!m) continue;
        CHECK_OK(lamina_model_predict(m, x, NROWS, before));
        /* Input gradients against central differences of predict. */
        if (CHECK_OK(lamina_model_input_gradient(m, x, 4, dydx))) {
            double worst = 0;
            size_t e;
            for (e = 0; e < 8; e++) {
                float xp[8], up, down;
                const float h = 1e-2f;
                memcpy(xp, x, sizeof xp);
                xp[e] = x[e] + h;
                lamina_model_predict(m, xp + (e / 2) * 2, 1, &up);
                xp[e] = x[e] - h;
                lamina_model_predict(m, xp + (e / 2) * 2, 1, &down);
                {
                    double fd = ((double)up - down) / (2 * h);
                    double d = fabs(fd - dydx[e]) / (0.05 + fabs(dydx[e]));
                    if (!(d <= worst)) worst = d;
                }
            }
            CHECK(worst < 2e-2, "%s: input gradient vs differences off by %g", g_bases[b], worst);
        }
        t = MKT(m, "{\"optimizer\": \"adam\", \"learning_rate\": 0.01}");
        if (t) {
            for (step = 0; step < 5; step++) {
                CHECK_OK(lamina_trainer_step(t, x, y, NROWS, &loss));
                if (step == 0) first = loss;
            }
            CHECK(isfinite(loss) && loss < first, "%s: loss %g after 5 steps from %g", g_bases[b],
                  loss, first);
            lamina_trainer_free(t);
        }
        CHECK_OK(lamina_model_predict(m, x, NROWS, after));
        CHECK(memcmp(before, after, sizeof before) != 0, "%s: training changed nothing", g_bases[b]);
        snprintf(path, sizeof path, "%s/model.safetensors", g_dir);
        if (CHECK_OK(lamina_model_save(m, path)) && CHECK_OK(lamina_model_load(path, &back))) {
            char *s1 = spec_of(m), *s2 = spec_of(back);
            CHECK(s1 && s2 && strcmp(s1, s2) == 0, "%s: specs differ", g_bases[b]);
            free(s1);
            free(s2);
            CHECK(same_tensors(m, back), "%s: tensors differ after load", g_bases[b]);
            CHECK_OK(lamina_model_predict(back, x, NROWS, loaded));
            CHECK(memcmp(after, loaded, sizeof after) == 0, "%s: predictions differ after load",
                  g_bases[b]);
            lamina_model_free(back);
        }
        unlink(path);
        lamina_model_free(m);
    }
}

int main(void)
{
    check_init();
    snprintf(g_dir, sizeof g_dir, "%s",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm/lamina-basefun-XXXXXX" : "basefun-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_spec_and_edges();
    test_refusal();
    test_predict_train_save();
    rmdir(g_dir);
    return check_summary();
}
