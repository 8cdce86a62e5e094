/*
** test_vjp_abi.c -- the vector-Jacobian calls (lamina.h "Vector-Jacobian products"):
** lamina_model_vjp, lamina_model_parameter_vjp and lamina_trainer_step_vjp, for an MLP, a
** KAN and a tri-plane field, each with two outputs so that dy's weighting of the outputs is
** exercised.
**
** What is checked, against references that do not share the code under test:
** - dx equals dy contracted with lamina_model_input_gradient's Jacobian (summed in double;
**   the two are different passes, so they agree to float rounding, 1e-5 relative);
** - the parameter gradients equal central finite differences of S(w) = sum(dy * f(x; w)),
**   computed in double from lamina_model_predict (tolerances as test_parameter_gradients.c:
**   dy is scaled like a mean loss's gradient, 1 / (n out), so S's rounding noise over 2h
**   is a few 1e-5; ATOL 2e-4, RTOL 1e-2), and every model has entries above 10 ATOL;
** - lamina_trainer_step_vjp with dy = the mse gradient (2.0f / (n out) * (y - t), as the
**   header gives it) leaves the weights bit for bit as lamina_trainer_step with "mse", for
**   adam and sgd with momentum, over several steps;
** - a pinball (quantile) loss, which Lamina does not have, trains an MLP through
**   step_vjp: the loss falls, the fitted curve ends with about tau of the targets below
**   it, and one step's parameter gradient (lamina_model_parameter_vjp of the pinball dy)
**   matches finite differences of the pinball loss itself (targets are kept 0.05 or more
**   from the predictions, so no perturbation crosses the loss's kink);
** - lamina_model_tensor_trainable marks exactly the header's buffers as untrained;
** - bad calls (NULL, n = 0, NaN in dy or x, a wrong count, lbfgs) fail with the documented
**   status and leave the weights as they were.
*/
#include "check.h"
#include "model_helpers.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NROWS 16
#define ATOL 2e-4
#define RTOL 1e-2

static uint64_t g_state = 0x2545F4914F6CDD1DULL;
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
        size_t sl = strlen(suffixes[k]);
        if (len >= sl && strcmp(name + len - sl, suffixes[k]) == 0) return 1;
    }
    return 0;
}

typedef struct {
    const char *name;
    const char *spec;
} model_case;

static const model_case cases[] = {
    {"mlp 3-8-8-2 tanh",
     "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8, 8], \"output\": 2,"
     " \"activation\": \"tanh\", \"seed\": 3}"},
    {"kan [3, 4, 2] bspline",
     "{\"kind\": \"kan\", \"widths\": [3, 4, 2], \"grid\": 5, \"order\": 3, \"seed\": 4}"},
    {"triplane res 6, 4 channels, tanh decoder, 2 outputs",
     "{\"kind\": \"triplane\", \"resolution\": 6, \"channels\": 4, \"init_std\": 0.5,"
     " \"decoder\": {\"hidden\": [8], \"activation\": \"tanh\"}, \"output\": 2, \"seed\": 5}"},
};

/* S = sum(dy * f(x)) in double, from predict. */
static double weighted_sum(const lamina_model *m, const float *x, const float *dy, size_t n,
                           size_t out, float *y)
{
    double s = 0;
    size_t i;
    if (lamina_model_predict(m, x, n, y) != LAMINA_OK) return NAN;
    for (i = 0; i < n * out; i++) s += (double)dy[i] * (double)y[i];
    return s;
}

/* Each entry of each trained tensor, in tensor order: the analytic gradient grads (count
** floats) against central differences of `objective`. Returns the number of entries whose
** gradient is above 10 ATOL (so that callers can require a signal). */
typedef double (*objective_fn)(const lamina_model *m, void *ctx);

static size_t check_against_differences(lamina_model *m, const float *grads, size_t count,
                                        objective_fn objective, void *ctx)
{
    size_t t, offset = 0, strong = 0, tensors = lamina_model_tensor_count(m);
    double worst = 0;
    for (t = 0; t < tensors; t++) {
        char name[128];
        size_t n = 0, e;
        float *w;
        int32_t trainable = -1;
        if (!tensor_name(m, t, name, sizeof name)) continue;
        /* The header's list of buffers and lamina_model_tensor_trainable agree. */
        CHECK_OK(lamina_model_tensor_trainable(m, name, &trainable));
        CHECK(trainable == !is_buffer(name), "%s: trainable = %d", name, trainable);
        if (is_buffer(name)) continue;
        w = read_tensor(m, name, &n);
        if (!CHECK(w != NULL && offset + n <= count, "tensor %s readable, within count", name)) {
            free(w);
            return 0;
        }
        for (e = 0; e < n; e++) {
            float keep = w[e], hi, lo;
            double h = 1e-3 * (fabs(keep) > 1 ? fabs(keep) : 1), fp, fm, numeric, analytic, err;
            w[e] = hi = (float)(keep + h);
            lamina_model_tensor_write(m, name, w, n);
            fp = objective(m, ctx);
            w[e] = lo = (float)(keep - h);
            lamina_model_tensor_write(m, name, w, n);
            fm = objective(m, ctx);
            w[e] = keep;
            lamina_model_tensor_write(m, name, w, n);
            numeric = (fp - fm) / ((double)hi - (double)lo);
            analytic = grads[offset + e];
            err = fabs(analytic - numeric) /
                  (ATOL + RTOL * fmax(fabs(analytic), fabs(numeric)));
            if (err > worst) worst = err;
            if (err > 1)
                CHECK(0, "%s[%zu]: analytic %.7g, finite difference %.7g", name, e, analytic,
                      numeric);
            if (fabs(analytic) > 10 * ATOL) strong++;
        }
        offset += n;
        free(w);
    }
    CHECK(offset == count, "trained tensors hold %zu floats, parameter count %zu", offset, count);
    printf("   worst entry uses %.2f of its tolerance; %zu entries above 10 ATOL\n", worst,
           strong);
    return strong;
}

typedef struct {
    const float *x, *dy;
    size_t n, out;
    float *y;
} weighted_ctx;

static double weighted_objective(const lamina_model *m, void *ctx)
{
    weighted_ctx *c = (weighted_ctx *)ctx;
    return weighted_sum(m, c->x, c->dy, c->n, c->out, c->y);
}

/* Points for a model: tri-plane coordinates inside the box, others in [-0.9, 0.9]. */
static void fill_inputs(float *x, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++) x[i] = (float)uniform(-0.9, 0.9);
}

static void test_gradients(const model_case *c)
{
    lamina_model *m;
    size_t in, out, count, i, k, s;
    float x[NROWS * 3], dy[NROWS * 2], dx[NROWS * 3], dx2[NROWS * 3], y[NROWS * 2];
    float *jac, *grads;
    double worst = 0;
    section(c->name);
    m = MK(c->spec);
    if (!m) return;
    in = lamina_model_input_dim(m);
    out = lamina_model_output_dim(m);
    count = lamina_model_parameter_count(m);
    CHECK(in == 3 && out == 2, "dims %zu -> %zu", in, out);
    fill_inputs(x, NROWS * in);
    for (i = 0; i < NROWS * out; i++) dy[i] = (float)(uniform(-1, 1) / (NROWS * out));

    /* dx against dy . J. */
    jac = (float *)malloc(NROWS * out * in * sizeof *jac);
    CHECK_OK(lamina_model_input_gradient(m, x, NROWS, jac));
    CHECK_OK(lamina_model_vjp(m, x, NROWS, dy, dx));
    for (s = 0; s < NROWS; s++)
        for (i = 0; i < in; i++) {
            double want = 0, err;
            for (k = 0; k < out; k++)
                want += (double)dy[s * out + k] * (double)jac[(s * out + k) * in + i];
            err = fabs(dx[s * in + i] - want) / (1e-9 + 1e-5 * fabs(want));
            if (err > worst) worst = err;
            if (err > 1) CHECK(0, "dx[%zu][%zu] = %.8g, dy . J = %.8g", s, i, dx[s * in + i], want);
        }
    CHECK(worst <= 1, "dx within 1e-5 relative of dy . J (worst uses %.2f)", worst);
    free(jac);

    /* Parameter gradients, with dx too, against finite differences. */
    grads = (float *)malloc(count * sizeof *grads);
    CHECK_OK(lamina_model_parameter_vjp(m, x, NROWS, dy, grads, count, dx2));
    for (i = 0; i < NROWS * in; i++)
        if (fabs(dx2[i] - dx[i]) > 1e-6 * (1e-3 + fabs(dx[i]))) break;
    CHECK(i == NROWS * in, "parameter_vjp's dx agrees with vjp's (first difference at %zu)", i);
    {
        weighted_ctx ctx = {x, dy, NROWS, out, y};
        size_t strong = check_against_differences(m, grads, count, weighted_objective, &ctx);
        CHECK(strong >= 5, "%zu entries carry a gradient above 10 ATOL", strong);
    }
    /* The same call without dx gives the same gradient bits (dx is optional). */
    {
        float *again = (float *)malloc(count * sizeof *again);
        CHECK_OK(lamina_model_parameter_vjp(m, x, NROWS, dy, again, count, NULL));
        CHECK(memcmp(again, grads, count * sizeof *again) == 0,
              "gradients with and without dx are the same bits");
        CHECK_OK(lamina_model_parameter_vjp(m, NULL, 0, NULL, again, count, NULL));
        for (i = 0; i < count && again[i] == 0.0f; i++) {}
        CHECK(i == count, "n = 0 gives zero gradients");
        free(again);
    }
    free(grads);
    lamina_model_free(m);
}

/* step_vjp with the mse gradient against step with loss mse, bit for bit. */
static void test_matches_step(const model_case *c, const char *config)
{
    lamina_model *a, *b;
    lamina_trainer *ta, *tb;
    size_t in, out, i, step;
    float x[NROWS * 3], t[NROWS * 2], y[NROWS * 2], dy[NROWS * 2];
    int same = 1;
    char label[256];
    snprintf(label, sizeof label, "%s: step_vjp(mse gradient) = step(mse), %s", c->name, config);
    section(label);
    a = MK(c->spec);
    if (!a) return;
    CHECK_OK(lamina_model_clone(a, &b));
    ta = MKT(a, config);
    tb = MKT(b, config);
    in = lamina_model_input_dim(a);
    out = lamina_model_output_dim(a);
    fill_inputs(x, NROWS * in);
    for (i = 0; i < NROWS * out; i++) t[i] = (float)uniform(-1, 1);
    for (step = 0; step < 4; step++) {
        float scale = 2.0f / (float)(NROWS * out), penalty = -1;
        CHECK_OK(lamina_trainer_step(ta, x, t, NROWS, NULL));
        CHECK_OK(lamina_model_predict(b, x, NROWS, y));
        for (i = 0; i < NROWS * out; i++) dy[i] = scale * (y[i] - t[i]);
        CHECK_OK(lamina_trainer_step_vjp(tb, x, dy, NROWS, &penalty));
        CHECK(penalty == 0.0f, "no penalty configured: *penalty = %g", penalty);
        if (!same_tensors(a, b)) same = 0;
    }
    CHECK(same, "weights are the same bits after every step");
    lamina_trainer_free(ta);
    lamina_trainer_free(tb);
    lamina_model_free(a);
    lamina_model_free(b);
}

/* Pinball loss at quantile tau: mean over elements of max(tau r, (tau - 1) r), r = t - y. */
static double pinball(const float *y, const float *t, size_t count, double tau)
{
    double s = 0;
    size_t i;
    for (i = 0; i < count; i++) {
        double r = (double)t[i] - (double)y[i];
        s += r >= 0 ? tau * r : (tau - 1) * r;
    }
    return s / (double)count;
}

/* dL/dy of the pinball loss, as the header's example computes it. */
static void pinball_gradient(const float *y, const float *t, size_t count, float tau, float *dy)
{
    size_t i;
    for (i = 0; i < count; i++)
        dy[i] = (y[i] > t[i] ? 1 - tau : y[i] < t[i] ? -tau : 0) / (float)count;
}

typedef struct {
    const float *x, *t;
    size_t n;
    double tau;
    float *y;
} pinball_ctx;

static double pinball_objective(const lamina_model *m, void *ctx)
{
    pinball_ctx *c = (pinball_ctx *)ctx;
    if (lamina_model_predict(m, c->x, c->n, c->y) != LAMINA_OK) return NAN;
    return pinball(c->y, c->t, c->n, c->tau);
}

#define QN 256
static void test_quantile(void)
{
    const float tau = 0.8f;
    lamina_model *m;
    lamina_trainer *tr;
    float x[QN], t[QN], y[QN], dy[QN];
    double first, last;
    size_t i, below = 0, step;
    section("custom loss: pinball (quantile 0.8) through step_vjp");
    m = MK("{\"kind\": \"mlp\", \"input\": 1, \"hidden\": [16], \"output\": 1,"
           " \"activation\": \"tanh\", \"seed\": 7}");
    if (!m) return;
    tr = MKT(m, "{\"optimizer\": \"adam\", \"learning_rate\": 0.02}");
    /* t = sin(2x) + noise uniform in [-0.5, 0.5]: the 0.8 quantile is sin(2x) + 0.3. */
    for (i = 0; i < QN; i++) {
        x[i] = (float)uniform(-1, 1);
        t[i] = (float)(sin(2.0 * x[i]) + uniform(-0.5, 0.5));
    }

    /* One step's gradient against finite differences of the pinball loss, with targets
    ** moved so that no residual is within 0.05 of the kink. */
    {
        float tk[QN];
        size_t count = lamina_model_parameter_count(m);
        float *grads = (float *)malloc(count * sizeof *grads);
        pinball_ctx ctx = {x, tk, QN, tau, y};
        CHECK_OK(lamina_model_predict(m, x, QN, y));
        for (i = 0; i < QN; i++) {
            float r = t[i] - y[i];
            tk[i] = fabsf(r) < 0.05f ? y[i] + (r >= 0 ? 0.05f : -0.05f) : t[i];
        }
        pinball_gradient(y, tk, QN, tau, dy);
        CHECK_OK(lamina_model_parameter_vjp(m, x, QN, dy, grads, count, NULL));
        CHECK(check_against_differences(m, grads, count, pinball_objective, &ctx) >= 5,
              "the pinball gradient has entries above 10 ATOL");
        free(grads);
    }

    CHECK_OK(lamina_model_predict(m, x, QN, y));
    first = pinball(y, t, QN, tau);
    for (step = 0; step < 600; step++) {
        CHECK_OK(lamina_model_predict(m, x, QN, y));
        pinball_gradient(y, t, QN, tau, dy);
        if (!CHECK_OK(lamina_trainer_step_vjp(tr, x, dy, QN, NULL))) break;
    }
    CHECK_OK(lamina_model_predict(m, x, QN, y));
    last = pinball(y, t, QN, tau);
    for (i = 0; i < QN; i++) below += t[i] < y[i];
    printf("   pinball loss %.4f -> %.4f; %zu of %d targets below the fit\n", first, last, below,
           QN);
    CHECK(last < 0.5 * first, "the pinball loss halves: %.4f -> %.4f", first, last);
    CHECK(fabs((double)below / QN - tau) < 0.08, "%.3f of targets below the 0.8 quantile fit",
          (double)below / QN);
    lamina_trainer_free(tr);
    lamina_model_free(m);
}

static void test_errors(void)
{
    lamina_model *m, *before, *lb;
    lamina_trainer *tr, *tl;
    float x[NROWS * 3], dy[NROWS * 2], dx[NROWS * 3];
    float *grads;
    size_t i, count;
    section("bad calls change nothing");
    m = MK(cases[1].spec);
    if (!m) return;
    CHECK_OK(lamina_model_clone(m, &before));
    tr = MKT(m, "{\"optimizer\": \"adam\", \"learning_rate\": 0.1}");
    count = lamina_model_parameter_count(m);
    grads = (float *)malloc((count + 1) * sizeof *grads);
    fill_inputs(x, NROWS * 3);
    for (i = 0; i < NROWS * 2; i++) dy[i] = (float)uniform(-1, 1);

    CHECK_ST(lamina_trainer_step_vjp(NULL, x, dy, NROWS, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_trainer_step_vjp(tr, NULL, dy, NROWS, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_trainer_step_vjp(tr, x, NULL, NROWS, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_trainer_step_vjp(tr, x, dy, 0, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_trainer_step_vjp(tr, x, dy, (size_t)-1, NULL), LAMINA_E_OUT_OF_MEMORY);
    dy[5] = NAN;
    CHECK_ST(lamina_trainer_step_vjp(tr, x, dy, NROWS, NULL), LAMINA_E_NUMERIC);
    CHECK(strstr(lamina_last_error(), "dy") != NULL, "the message names dy: %s",
          lamina_last_error());
    CHECK_ST(lamina_model_vjp(m, x, NROWS, dy, dx), LAMINA_E_NUMERIC);
    CHECK_ST(lamina_model_parameter_vjp(m, x, NROWS, dy, grads, count, NULL), LAMINA_E_NUMERIC);
    dy[5] = INFINITY;
    CHECK_ST(lamina_trainer_step_vjp(tr, x, dy, NROWS, NULL), LAMINA_E_NUMERIC);
    dy[5] = 0.25f;
    x[2] = NAN;
    CHECK_ST(lamina_trainer_step_vjp(tr, x, dy, NROWS, NULL), LAMINA_E_NUMERIC);
    x[2] = 0.5f;
    /* A gradient that makes the update blow up: refused, nothing written. */
    dy[0] = 3e38f;
    dy[1] = 3e38f;
    CHECK_ST(lamina_trainer_step_vjp(tr, x, dy, NROWS, NULL), LAMINA_E_NUMERIC);
    dy[0] = dy[1] = 0.25f;
    CHECK(same_tensors(m, before), "no refused step changed a weight");

    CHECK_ST(lamina_model_vjp(NULL, x, NROWS, dy, dx), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_vjp(m, NULL, NROWS, dy, dx), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_vjp(m, x, NROWS, NULL, dx), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_vjp(m, x, NROWS, dy, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_OK(lamina_model_vjp(m, NULL, 0, NULL, NULL));
    CHECK_ST(lamina_model_vjp(m, x, (size_t)-1, dy, dx), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_model_parameter_vjp(m, x, NROWS, dy, grads, count + 1, NULL), LAMINA_E_SHAPE);
    CHECK_ST(lamina_model_parameter_vjp(m, x, NROWS, dy, grads, count - 1, NULL), LAMINA_E_SHAPE);
    CHECK_ST(lamina_model_parameter_vjp(m, x, NROWS, dy, NULL, count, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_parameter_vjp(m, NULL, NROWS, dy, grads, count, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_parameter_vjp(NULL, x, NROWS, dy, grads, count, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK(same_tensors(m, before), "no vjp call changed a weight");
    {
        int32_t flag = -1;
        CHECK_ST(lamina_model_tensor_trainable(m, "9.nothing", &flag), LAMINA_E_INVALID_ARGUMENT);
        CHECK_ST(lamina_model_tensor_trainable(m, NULL, &flag), LAMINA_E_INVALID_ARGUMENT);
        CHECK_ST(lamina_model_tensor_trainable(m, "0.coef", NULL), LAMINA_E_INVALID_ARGUMENT);
        CHECK_ST(lamina_model_tensor_trainable(NULL, "0.coef", &flag), LAMINA_E_INVALID_ARGUMENT);
        CHECK(flag == -1, "refused calls leave *trainable alone");
    }

    /* lbfgs: refused, with the reason. */
    CHECK_OK(lamina_model_clone(m, &lb));
    tl = MKT(lb, "{\"optimizer\": \"lbfgs\"}");
    CHECK_ST(lamina_trainer_step_vjp(tl, x, dy, NROWS, NULL), LAMINA_E_UNSUPPORTED);
    CHECK(strstr(lamina_last_error(), "lbfgs") != NULL, "the message names lbfgs: %s",
          lamina_last_error());
    CHECK(same_tensors(lb, before), "the lbfgs model is unchanged");

    /* A good step after all that does change the weights. */
    CHECK_OK(lamina_trainer_step_vjp(tr, x, dy, NROWS, NULL));
    CHECK(!same_tensors(m, before), "a good step changes the weights");
    free(grads);
    lamina_trainer_free(tl);
    lamina_trainer_free(tr);
    lamina_model_free(lb);
    lamina_model_free(before);
    lamina_model_free(m);
}

/* The trainer's own penalties join the step: with plane_l2 the step reports its value. */
static void test_penalty(void)
{
    lamina_model *m;
    lamina_trainer *tr;
    float x[NROWS * 3], dy[NROWS * 2], penalty = 0;
    size_t i;
    section("trainer penalties: plane_l2 is added and reported");
    m = MK(cases[2].spec);
    if (!m) return;
    tr = MKT(m, "{\"optimizer\": \"sgd\", \"learning_rate\": 0.01, \"plane_l2\": 0.5}");
    fill_inputs(x, NROWS * 3);
    for (i = 0; i < NROWS * 2; i++) dy[i] = 0;
    CHECK_OK(lamina_trainer_step_vjp(tr, x, dy, NROWS, &penalty));
    CHECK(penalty > 0 && isfinite(penalty), "*penalty = %g > 0 with dy = 0 and plane_l2 0.5",
          penalty);
    lamina_trainer_free(tr);
    lamina_model_free(m);
}

int main(void)
{
    size_t c;
    check_init();
    for (c = 0; c < sizeof cases / sizeof *cases; c++) test_gradients(&cases[c]);
    for (c = 0; c < sizeof cases / sizeof *cases; c++) {
        test_matches_step(&cases[c], "{\"optimizer\": \"adam\", \"learning_rate\": 0.01}");
        test_matches_step(&cases[c],
                          "{\"optimizer\": \"sgd\", \"learning_rate\": 0.05, \"momentum\": 0.9}");
    }
    test_quantile();
    test_errors();
    test_penalty();
    return check_summary();
}
