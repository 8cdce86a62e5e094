/*
** test_kan_symbolic_abi.c -- checks lamina_model_kan_symbolic_search,
** lamina_model_kan_set_symbolic, lamina_kan_symbolic_library and the symbolic forward and
** formula against what include/lamina.h promises for them: the search's options and
** refusals, its agreement with lamina_model_kan_suggest_symbolic, edges set symbolic and
** numeric again, a fixed exp edge equal to c exp(a x + b) + d beyond log(1000), formula
** numbers that read back as the stored floats, and refusals that leave the model unchanged.
**
** Plain C99. Each CHECK is one assertion; the last line printed is "N passed, M failed" and
** the exit status is non-zero when M > 0.
*/
#include "check.h"
#include "model_helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS 200
static float g_x[NS * 2];

static void make_samples(void)
{
    for (int s = 0; s < NS; s++) {
        g_x[2 * s] = -1.0f + 2.0f * (float)s / (NS - 1);
        g_x[2 * s + 1] = (float)sin(0.37 * s);
    }
}

/* The text of a two-call JSON reader, or NULL. */
static char *search_text(const lamina_model *m, size_t l, size_t i, size_t j, const char *opts)
{
    size_t bound = 0, len = 0;
    if (lamina_model_kan_symbolic_search(m, l, i, j, g_x, NS, opts, NULL, 0, &bound) != LAMINA_OK)
        return NULL;
    char *text = malloc(bound + 1);
    if (text && lamina_model_kan_symbolic_search(m, l, i, j, g_x, NS, opts, text, bound + 1, &len)
                    != LAMINA_OK) {
        free(text);
        return NULL;
    }
    CHECK(len <= bound, "length %zu within the sizing bound %zu", len, bound);
    return text;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t c = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) c++;
    return c;
}

static void test_library(void)
{
    section("symbolic library");
    size_t len = 0, len2 = 0;
    CHECK_OK(lamina_kan_symbolic_library(NULL, 0, &len));
    char *text = malloc(len + 1);
    if (!text) return;
    CHECK_ST(lamina_kan_symbolic_library(text, len, &len2), LAMINA_E_INVALID_ARGUMENT);
    CHECK_OK(lamina_kan_symbolic_library(text, len + 1, &len2));
    CHECK(len2 == len && strlen(text) == len, "length %zu vs %zu", len2, len);
    CHECK(strncmp(text, "[{\"name\": \"x\", \"complexity\": 1}", 31) == 0, "starts %.40s", text);
    CHECK(count_of(text, "\"name\"") == 31, "31 functions in %s", text);
    /* Library order: "exp" is index 15, as "l.symbolic_fn" stores it (checked below). */
    CHECK(strstr(text, "{\"name\": \"exp\", \"complexity\": 2}") != NULL, "exp in %s", text);
    CHECK_ST(lamina_kan_symbolic_library(NULL, 0, NULL), LAMINA_E_INVALID_ARGUMENT);
    free(text);
}

static void test_search(void)
{
    section("symbolic search: options, agreement with suggest_symbolic, refusals");
    lamina_model *m = MK("{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"symbolic\": true, \"seed\": 4}");
    lamina_model *plain = MK("{\"kind\": \"kan\", \"widths\": [2, 1]}");
    if (!m || !plain) goto done;
    /* Defaults (NULL and {}) are suggest_symbolic's search, to the byte (weight_simple 0 on
    ** both sides: suggest_symbolic's float 0.8 is not the double 0.8). */
    size_t bound = 0, len = 0;
    CHECK_OK(lamina_model_kan_suggest_symbolic(m, 1, 2, 0, g_x, NS, 0.0f, NULL, 0, &bound));
    char *suggest = malloc(bound + 1);
    if (suggest) CHECK_OK(lamina_model_kan_suggest_symbolic(m, 1, 2, 0, g_x, NS, 0.0f, suggest, bound + 1, &len));
    char *z = search_text(m, 1, 2, 0, "{\"weight_simple\": 0}");
    char *a = search_text(m, 1, 2, 0, NULL);
    char *b = search_text(m, 1, 2, 0, "{}");
    char *c = search_text(m, 1, 2, 0, "{\"weight_simple\": 0.8, \"grid_number\": 101, \"iterations\": 3, "
                                      "\"a_range\": [-10, 10], \"b_range\": [-10, 10]}");
    CHECK(suggest && z && strcmp(z, suggest) == 0, "the search differs from suggest_symbolic");
    CHECK(a && b && strcmp(a, b) == 0, "{} differs from NULL");
    CHECK(a && c && strcmp(a, c) == 0, "explicit defaults differ from NULL");
    free(suggest);
    free(z);
    free(a);
    free(b);
    free(c);
    /* A library subset, in score order, and the other settings. */
    char *sub = search_text(m, 0, 1, 2, "{\"library\": [\"sin\", \"x^2\", \"x\"], \"weight_simple\": 0,"
                                        " \"grid_number\": 21, \"iterations\": 2, \"a_range\": [-3, 3],"
                                        " \"b_range\": [-1, 2]}");
    CHECK(sub && count_of(sub, "\"name\"") == 3 && strstr(sub, "\"sin\"") && strstr(sub, "\"x^2\""),
          "subset %s", sub ? sub : "(null)");
    free(sub);
    /* Refusals. */
    const char *bad[] = {
        "{\"grid\": 3}", "{\"library\": [\"nope\"]}", "{\"library\": \"sin\"}", "{\"a_range\": [1, -1]}",
        "{\"b_range\": [0]}", "{\"grid_number\": 1}", "{\"grid_number\": 1002}", "{\"iterations\": 0}", "{\"weight_simple\": 2}",
        "[1]", "{", "{\"iterations\": 2.5}",
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        CHECK_ST(lamina_model_kan_symbolic_search(m, 0, 0, 0, g_x, NS, bad[k], NULL, 0, &len),
                 LAMINA_E_INVALID_ARGUMENT);
    }
    CHECK_ST(lamina_model_kan_symbolic_search(m, 0, 0, 0, g_x, NS, "{\"grid\": 3}", NULL, 0, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK(strstr(lamina_last_error(), "\"grid_number\"") && strstr(lamina_last_error(), "\"library\""),
          "the message lists the known keys: %s", lamina_last_error());
    CHECK_ST(lamina_model_kan_symbolic_search(m, 0, 2, 0, g_x, NS, NULL, NULL, 0, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_symbolic_search(m, 2, 0, 0, g_x, NS, NULL, NULL, 0, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_symbolic_search(m, 0, 0, 0, g_x, 0, NULL, NULL, 0, &len), LAMINA_E_SHAPE);
    CHECK_ST(lamina_model_kan_symbolic_search(m, 0, 0, 0, NULL, NS, NULL, NULL, 0, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_symbolic_search(NULL, 0, 0, 0, g_x, NS, NULL, NULL, 0, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_symbolic_search(m, 0, 0, 0, g_x, NS, NULL, NULL, 0, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    char small[8];
    CHECK_ST(lamina_model_kan_symbolic_search(m, 0, 0, 0, g_x, NS, NULL, small, sizeof small, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_symbolic_search(plain, 0, 0, 0, g_x, NS, NULL, NULL, 0, &len),
             LAMINA_E_UNSUPPORTED);
done:
    lamina_model_free(m);
    lamina_model_free(plain);
}

static void test_set_symbolic(void)
{
    section("set_symbolic: fixed exp edge, unfix, formula digits, refusals leave the model");
    lamina_model *m = MK("{\"kind\": \"kan\", \"widths\": [1, 1], \"symbolic\": true, \"seed\": 1}");
    lamina_model *plain = MK("{\"kind\": \"kan\", \"widths\": [1, 1]}");
    lamina_model *before = NULL;
    float x[4] = {3.0f, 4.5f, -2.0f, 0.25f}, y0[4], y[4];
    if (!m || !plain) goto done;
    CHECK_OK(lamina_model_predict(m, x, 4, y0));
    const float affine[4] = {2.0f, 1.0f, 0.5f, 0.25f};
    CHECK_OK(lamina_model_kan_set_symbolic(m, 0, 0, 0, "exp", affine));
    float *sm = read_tensor(m, "0.symbolic_mask", NULL), *nm = read_tensor(m, "0.mask", NULL);
    float *fn = read_tensor(m, "0.symbolic_fn", NULL), *af = read_tensor(m, "0.symbolic_affine", NULL);
    CHECK(sm && nm && fn && af && sm[0] == 1 && nm[0] == 0 && fn[0] == 15,
          "masks %g %g, function %g", sm ? sm[0] : -1, nm ? nm[0] : -1, fn ? fn[0] : -1);
    CHECK(af && memcmp(af, affine, sizeof affine) == 0, "affine stored as given");
    free(sm);
    free(nm);
    free(fn);
    free(af);
    /* c exp(a x + b) + d at float precision, also where exp(a x + b) is far above 1000. */
    CHECK_OK(lamina_model_predict(m, x, 4, y));
    for (int r = 0; r < 4; r++) {
        double want = 0.5 * exp(2.0 * x[r] + 1.0) + 0.25;
        CHECK(fabs(y[r] - want) <= 2e-7 * fabs(want), "exp edge at %g: %.9g vs %.9g", x[r], y[r], want);
    }
    /* The formula: every number with 9 significant digits. */
    const float affine2[4] = {0.0073f, -1.25f, 3.14159274f, 1e-8f};
    CHECK_OK(lamina_model_kan_set_symbolic(m, 0, 0, 0, "sin", affine2));
    char formula[256];
    size_t len = 0;
    CHECK_OK(lamina_model_kan_symbolic_formula(m, formula, sizeof formula, &len));
    CHECK(strcmp(formula, "3.14159274*sin((0.00730000017*x_1 + -1.25)) + 9.99999994e-09") == 0,
          "formula %s", formula);
    CHECK(strtof("0.00730000017", NULL) == 0.0073f && strtof("9.99999994e-09", NULL) == 1e-8f,
          "the digits read back as the floats");
    /* Numeric again: the spline edge returns. */
    CHECK_OK(lamina_model_kan_set_symbolic(m, 0, 0, 0, NULL, NULL));
    CHECK_OK(lamina_model_predict(m, x, 4, y));
    CHECK(memcmp(y, y0, sizeof y) == 0, "the numeric edge after unfix");
    sm = read_tensor(m, "0.symbolic_mask", NULL);
    nm = read_tensor(m, "0.mask", NULL);
    CHECK(sm && nm && sm[0] == 0 && nm[0] == 1, "masks after unfix");
    free(sm);
    free(nm);
    /* Refusals leave the model as it was. */
    CHECK_OK(lamina_model_kan_set_symbolic(m, 0, 0, 0, "x^2", affine));
    CHECK_OK(lamina_model_clone(m, &before));
    const float nan_affine[4] = {1.0f, NAN, 1.0f, 0.0f};
    CHECK_ST(lamina_model_kan_set_symbolic(m, 0, 0, 0, "nope", affine), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_set_symbolic(m, 0, 0, 0, "exp", NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_set_symbolic(m, 0, 0, 0, "exp", nan_affine), LAMINA_E_NUMERIC);
    CHECK_ST(lamina_model_kan_set_symbolic(m, 0, 1, 0, "exp", affine), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_set_symbolic(m, 0, 0, 1, NULL, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_set_symbolic(m, 1, 0, 0, NULL, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_set_symbolic(NULL, 0, 0, 0, NULL, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_set_symbolic(plain, 0, 0, 0, "exp", affine), LAMINA_E_UNSUPPORTED);
    CHECK(before && same_tensors(m, before), "a refused set_symbolic changed the model");
done:
    lamina_model_free(before);
    lamina_model_free(m);
    lamina_model_free(plain);
}

int main(void)
{
    check_init();
    make_samples();
    test_library();
    test_search();
    test_set_symbolic();
    return check_summary();
}
