/*
** test_kan_mult_abi.c -- checks KANs with multiplication nodes through the C interface, as
** include/lamina.h's "kan" spec paragraph promises them: a "widths" entry [n_sum, n_mult]
** and "mult_arity" (pykan's MultKAN); the full spec echoes both; predict, input gradients,
** training on x1 * x2, a save/load round trip that keeps every bit, and the KAN tools
** (attribution, pruning, symbolic formulas) through multiplication nodes.
**
** Plain C99 plus POSIX mkdtemp. The last line printed is "N passed, M failed"; the exit
** status is non-zero when M > 0.
*/
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include "check.h"
#include "model_helpers.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 256

static float g_x[2 * N], g_y[N];

/* Deterministic uniform numbers in [-1, 1) (a 64-bit LCG; the top 24 bits). */
static uint64_t g_lcg = 0x9E3779B97F4A7C15ULL;
static float uniform(void)
{
    g_lcg = g_lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(g_lcg >> 40) / 8388608.0 - 1.0);
}

static void make_data(void)
{
    size_t s;
    for (s = 0; s < N; s++) {
        g_x[2 * s] = uniform();
        g_x[2 * s + 1] = uniform();
        g_y[s] = g_x[2 * s] * g_x[2 * s + 1];
    }
}

/* The spec keys: the full spec writes [5, 2] and "mult_arity", and layer 1 (the
** multiplication nodes) has no tensors, so the second KAN layer's are "2.*". */
static void test_spec(void)
{
    lamina_model *m;
    char *spec;
    size_t dims[8], rank = 0;
    section("spec");
    m = MK("{\"kind\": \"kan\", \"widths\": [2, [5, 2], 1]}");
    if (!m) return;
    CHECK(lamina_model_input_dim(m) == 2, "input dim %zu", lamina_model_input_dim(m));
    CHECK(lamina_model_output_dim(m) == 1, "output dim %zu", lamina_model_output_dim(m));
    spec = spec_of(m);
    CHECK(spec && strstr(spec, "\"widths\": [2, [5, 2], 1], \"mult_arity\": 2") != NULL,
          "full spec %s", spec ? spec : "(null)");
    free(spec);
    CHECK(tensor_elems(m, "0.coef", dims, &rank) == 2 * 9 * 8 && rank == 3 && dims[1] == 9,
          "0.coef is [2, 9, 8]");
    CHECK(tensor_elems(m, "2.coef", dims, &rank) == 7 * 1 * 8 && dims[0] == 7, "2.coef is [7, 1, 8]");
    CHECK(lamina_model_parameter_count(m) == 2 * 9 * 10 + 7 * 10, "parameters %zu",
          lamina_model_parameter_count(m));
    lamina_model_free(m);

    m = MK("{\"kind\": \"kan\", \"widths\": [2, [1, 2], 1], \"mult_arity\": [[], [2, 3], []]}");
    if (m) {
        spec = spec_of(m);
        CHECK(spec && strstr(spec, "\"mult_arity\": [[], [2, 3], []]") != NULL, "full spec %s",
              spec ? spec : "(null)");
        free(spec);
        CHECK(tensor_elems(m, "0.coef", dims, &rank) == 2 * 6 * 8, "0.coef is [2, 6, 8]");
        lamina_model_free(m);
    }
    m = MK("{\"kind\": \"sequential\", \"input\": 2, \"layers\": [{\"type\": \"kan\", \"output\": 4},"
           " {\"type\": \"multiply\", \"sum\": 0, \"arity\": 2}, {\"type\": \"dense\", \"output\": 1}]}");
    if (m) {
        spec = spec_of(m);
        CHECK(spec && strstr(spec, "{\"type\": \"multiply\", \"sum\": 0, \"mult\": 2, \"arity\": 2}"),
              "full spec %s", spec ? spec : "(null)");
        free(spec);
        lamina_model_free(m);
    }
    m = NULL;
    CHECK_ST(lamina_model_create("{\"kind\": \"kan\", \"widths\": [[2, 1], 1]}", &m),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_create("{\"kind\": \"kan\", \"widths\": [2, [1, 1], 1], \"mult_arity\": 1}", &m),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_create("{\"kind\": \"kan\", \"widths\": [2, [1, 1], 1], \"mult_arity\": [2]}", &m),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK(m == NULL, "no model on error");
}

/* Input gradients against central differences of predict. */
static void test_gradient(void)
{
    lamina_model *m;
    float x[2 * 8], dydx[2 * 8], plus[2 * 8], minus[2 * 8], yp[8], ym[8];
    double worst = 0;
    size_t s, d;
    const float h = 1e-2f;
    section("gradient");
    m = MK("{\"kind\": \"kan\", \"widths\": [2, [5, 2], 1], \"seed\": 3}");
    if (!m) return;
    memcpy(x, g_x, sizeof x);
    CHECK_OK(lamina_model_input_gradient(m, x, 8, dydx));
    for (d = 0; d < 2; d++) {
        memcpy(plus, x, sizeof x);
        memcpy(minus, x, sizeof x);
        for (s = 0; s < 8; s++) {
            plus[2 * s + d] += h;
            minus[2 * s + d] -= h;
        }
        CHECK_OK(lamina_model_predict(m, plus, 8, yp));
        CHECK_OK(lamina_model_predict(m, minus, 8, ym));
        for (s = 0; s < 8; s++) {
            double numeric = ((double)yp[s] - ym[s]) / (2.0 * h);
            double e = fabs(numeric - dydx[2 * s + d]) / (1 + fabs(numeric));
            if (!(e <= worst)) worst = e;
        }
    }
    CHECK(worst < 2e-3, "input gradient vs differences: worst relative error %g", worst);
    lamina_model_free(m);
}

static double mse(const lamina_model *m)
{
    static float y[N];
    double sum = 0;
    size_t s;
    if (lamina_model_predict(m, g_x, N, y) != LAMINA_OK) return NAN;
    for (s = 0; s < N; s++) sum += ((double)y[s] - g_y[s]) * ((double)y[s] - g_y[s]);
    return sum / N;
}

/* Training on x1 * x2 lowers the loss; the trained model saves and loads with every bit. */
static void test_train_save_load(void)
{
    lamina_model *m, *back = NULL;
    lamina_trainer *t;
    char dir[] = "kan-mult-XXXXXX", path[64];
    static float y1[N], y2[N];
    double before, after;
    float loss = 0;
    char *s1, *s2;
    int i;
    section("train, save, load");
    m = MK("{\"kind\": \"kan\", \"widths\": [2, [5, 2], 1], \"seed\": 1}");
    if (!m) return;
    t = MKT(m, "{\"optimizer\": \"adam\", \"learning_rate\": 0.02, \"batch_size\": 256}");
    if (!t) {
        lamina_model_free(m);
        return;
    }
    before = mse(m);
    for (i = 0; i < 60; i++) CHECK_OK(lamina_trainer_step(t, g_x, g_y, N, &loss));
    after = mse(m);
    CHECK(after < 0.3 * before, "mse %g -> %g", before, after);
    lamina_trainer_free(t);

    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        lamina_model_free(m);
        return;
    }
    snprintf(path, sizeof path, "%s/mult.safetensors", dir);
    CHECK_OK(lamina_model_save(m, path));
    CHECK_OK(lamina_model_load(path, &back));
    if (back) {
        s1 = spec_of(m);
        s2 = spec_of(back);
        CHECK(s1 && s2 && strcmp(s1, s2) == 0, "spec after load %s", s2 ? s2 : "(null)");
        free(s1);
        free(s2);
        CHECK(same_tensors(m, back), "tensors keep their bits");
        CHECK_OK(lamina_model_predict(m, g_x, N, y1));
        CHECK_OK(lamina_model_predict(back, g_x, N, y2));
        CHECK(memcmp(y1, y2, sizeof y1) == 0, "predictions keep their bits");
        lamina_model_free(back);
    }
    remove(path);
    rmdir(dir);
    lamina_model_free(m);
}

/* The KAN tools through multiplication nodes: attribution's layout, node pruning, and a
** symbolic formula that multiplies its factors. */
static void test_tools(void)
{
    lamina_model *m, *pruned = NULL;
    size_t len = 0, i;
    float *scores;
    char *spec, formula[512];
    float affine[2 * 2 * 4], last[4] = {1, 0, 1, 0};
    section("attribute, prune, symbolic_formula");
    m = MK("{\"kind\": \"kan\", \"widths\": [2, [5, 2], 1], \"seed\": 4}");
    if (!m) return;
    /* Edges 2 x 9 and 7 x 1 (subnodes), then nodes 2, 7 and 1. */
    CHECK_OK(lamina_model_kan_attribute(m, NULL, 0, NULL, 0, &len));
    CHECK(len == 2 * 9 + 7 * 1 + 2 + 7 + 1, "attribute length %zu", len);
    scores = malloc(len * sizeof *scores);
    if (scores) {
        CHECK_OK(lamina_model_kan_attribute(m, g_x, 64, scores, len, &len));
        for (i = 0; i < len; i++) CHECK(scores[i] >= 0 && isfinite(scores[i]), "score %zu", i);
        free(scores);
    }
    /* A threshold above every hidden score keeps one node per level. */
    CHECK_OK(lamina_model_kan_prune(m, g_x, 64, 1e9f, 3e-2f, &pruned));
    if (pruned) {
        spec = spec_of(pruned);
        CHECK(spec && (strstr(spec, "\"widths\": [2, 1, 1]") || strstr(spec, "\"widths\": [2, [0, 1], 1]")),
              "pruned spec %s", spec ? spec : "(null)");
        free(spec);
        lamina_model_free(pruned);
    }
    lamina_model_free(m);

    /* Interp_1: x_1 and x_2 through the identity into one product. */
    m = MK("{\"kind\": \"kan\", \"widths\": [2, [0, 1], 1], \"symbolic\": true}");
    if (!m) return;
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 0, 0, 0, "x", g_x, 64, NULL));
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 0, 1, 1, "x", g_x, 64, NULL));
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 0, 0, 1, "0", g_x, 64, NULL));
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 0, 1, 0, "0", g_x, 64, NULL));
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 2, 0, 0, "x", g_x, 64, NULL));
    memset(affine, 0, sizeof affine);
    for (i = 0; i < 4; i++) affine[0 * 4 + i] = affine[3 * 4 + i] = last[i];
    CHECK_OK(lamina_model_tensor_write(m, "0.symbolic_affine", affine, 16));
    CHECK_OK(lamina_model_tensor_write(m, "2.symbolic_affine", last, 4));
    CHECK_OK(lamina_model_kan_symbolic_formula(m, formula, sizeof formula, &len));
    CHECK(strcmp(formula,
                 "1*(1*((1*(1*x_1 + 0) + 0)*(1*(1*x_2 + 0) + 0)) + 0) + 0") == 0,
          "formula %s", formula);
    lamina_model_free(m);
}

int main(void)
{
    check_init();
    make_data();
    test_spec();
    test_gradient();
    test_train_save_load();
    test_tools();
    return check_summary();
}
