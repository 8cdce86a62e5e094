/*
** test_kan_singularity_abi.c -- checks the trainer config keys "singularity_avoiding" and
** "y_th" (pykan's fit(singularity_avoiding=..., y_th=...)) against include/lamina.h: their
** defaults and echo in lamina_trainer_config, the refusal of y_th <= 0 and of a
** non-boolean, and a fixed 1/x edge whose input crosses 0: a plain step diverges
** (LAMINA_E_NUMERIC), singularity-avoiding steps have finite losses, prediction stays plain.
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

/* The number after "key": in a config text, or NAN. */
static double number_of(const char *text, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = text ? strstr(text, pattern) : NULL;
    return p ? strtod(p + strlen(pattern), NULL) : NAN;
}

/* Whether "key": is followed by `value` (after optional spaces). */
static int has_literal(const char *text, const char *key, const char *value)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = text ? strstr(text, pattern) : NULL;
    if (!p) return 0;
    p += strlen(pattern);
    while (*p == ' ') p++;
    return strncmp(p, value, strlen(value)) == 0;
}

static void test_keys(void)
{
    section("config keys");
    lamina_model *m = MK("{\"kind\": \"kan\", \"widths\": [1, 1], \"symbolic\": true}");
    if (!m) return;
    lamina_trainer *t = MKT(m, "{}");
    char *c = t ? config_of(t) : NULL;
    CHECK(has_literal(c, "singularity_avoiding", "false"), "default singularity_avoiding false: %s", c);
    CHECK(number_of(c, "y_th") == 1000.0, "default y_th 1000: %s", c);
    free(c);
    lamina_trainer_free(t);
    t = MKT(m, "{\"singularity_avoiding\": true, \"y_th\": 10}");
    c = t ? config_of(t) : NULL;
    CHECK(has_literal(c, "singularity_avoiding", "true"), "echoed singularity_avoiding: %s", c);
    CHECK(number_of(c, "y_th") == 10.0, "echoed y_th: %s", c);
    free(c);
    lamina_trainer_free(t);
    const char *bad[] = {"{\"y_th\": 0}", "{\"y_th\": -3}", "{\"y_th\": \"big\"}",
                         "{\"singularity_avoiding\": 1}", "{\"singularity_avoiding\": \"yes\"}",
                         "{\"singularity_avoiding\": null, \"y_th\": -1e-9}"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        lamina_trainer *b = NULL;
        CHECK_ST(lamina_trainer_create(m, bad[k], &b), LAMINA_E_INVALID_ARGUMENT);
        CHECK(b == NULL, "no trainer for %s", bad[k]);
        CHECK(strstr(lamina_last_error(), k < 3 || k == 5 ? "y_th" : "singularity_avoiding") != NULL,
              "message names the key: %s", lamina_last_error());
    }
    lamina_model_free(m);
}

static void test_pole(void)
{
    section("1/x edge through its pole");
    enum { N = 21 };
    float x[N], y[N];
    for (int s = 0; s < N; s++) {
        x[s] = -1.0f + 2.0f * (float)s / (N - 1); /* x[10] is 0 */
        y[s] = 0.3f * x[s];
    }
    const float affine[4] = {1, 0, 0.5f, 0};
    const char *spec = "{\"kind\": \"kan\", \"widths\": [1, 1], \"symbolic\": true, \"seed\": 2}";
    lamina_model *plain = MK(spec), *safe = MK(spec);
    if (!plain || !safe) goto done;
    CHECK_OK(lamina_model_kan_set_symbolic(plain, 0, 0, 0, "1/x", affine));
    CHECK_OK(lamina_model_kan_set_symbolic(safe, 0, 0, 0, "1/x", affine));
    lamina_trainer *tp = MKT(plain, "{\"learning_rate\": 0.01}");
    lamina_trainer *ts = MKT(safe, "{\"learning_rate\": 0.01, \"singularity_avoiding\": true, \"y_th\": 10}");
    float loss = 0;
    if (tp) CHECK_ST(lamina_trainer_step(tp, x, y, N, &loss), LAMINA_E_NUMERIC);
    for (int k = 0; ts && k < 4; k++) {
        loss = NAN;
        CHECK_OK(lamina_trainer_step(ts, x, y, N, &loss));
        CHECK(isfinite(loss), "step %d loss %g finite", k, (double)loss);
    }
    /* Training moved b off 0; predict stays plain: at u = a x + b = 0.01, inside the patch
       |u| < 1/y_th, it is c / u (about 50), not the patch's c y_th^2 u (0.5). */
    size_t count = 0;
    float *p = read_tensor(safe, "0.symbolic_affine", &count);
    CHECK(p != NULL && count == 4, "symbolic_affine has 4 values (%zu)", count);
    if (p && count == 4) {
        float x0 = (float)((0.01 - (double)p[1]) / (double)p[0]), out = 0;
        double u0 = (double)p[0] * (double)x0 + (double)p[1];
        double want = (double)p[2] / u0 + (double)p[3];
        CHECK_OK(lamina_model_predict(safe, &x0, 1, &out));
        CHECK(fabs((double)out - want) <= 1e-4 * fabs(want) && fabs(want) > 10,
              "predict is plain: %g, want %g", (double)out, want);
    }
    free(p);
    lamina_trainer_free(tp);
    lamina_trainer_free(ts);
done:
    lamina_model_free(plain);
    lamina_model_free(safe);
}

int main(void)
{
    check_init();
    test_keys();
    test_pole();
    return check_summary();
}
