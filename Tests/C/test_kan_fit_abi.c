/*
** test_kan_fit_abi.c -- checks lamina_trainer_kan_fit (pykan's fit with its grid-update
** schedule) against what include/lamina.h promises for it: the same bits as the loop of
** lamina_trainer_step, lamina_model_kan_update_grid and lamina_trainer_evaluate run by hand;
** grid updates at exactly the scheduled steps (seen from the progress callback, which reads
** the knots); RMSE reporting; cancellation; NULL outputs; refused options; models without
** B-spline grids; random batches from the trainer's seed; the record of a run that fails.
**
** Plain C99. Each CHECK is one assertion; the last line printed is "N passed, M failed" and
** the exit status is non-zero when M > 0. LAMINA_TEST_VERBOSE=1 prints the status and
** message of every call expected to fail.
*/
#include "check.h"
#include "model_helpers.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* =======================================================================================
** Helpers
*/

#define NTRAIN 64
#define NTEST 16
#define MAXSTEPS 100
#define UNTOUCHED (-12345.0f)

static float g_x[NTRAIN * 2], g_y[NTRAIN], g_tx[NTEST * 2], g_ty[NTEST];

static const char *KAN_231 = "{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"grid\": 5, \"seed\": 1}";

/* Deterministic uniform numbers in [-1, 1) (a 64-bit LCG; the top 24 bits). */
static uint64_t g_lcg = 0x9E3779B97F4A7C15ULL;
static float uniform(void)
{
    g_lcg = g_lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(g_lcg >> 40) / 8388608.0 - 1.0);
}

/* pykan's tutorial function exp(sin(pi x) + y^2) on [-1, 1]^2. */
static void make_data(void)
{
    size_t s;
    for (s = 0; s < NTRAIN; s++) {
        g_x[2 * s] = uniform();
        g_x[2 * s + 1] = uniform();
        g_y[s] = (float)exp(sin(3.14159265358979 * g_x[2 * s]) + (double)g_x[2 * s + 1] * g_x[2 * s + 1]);
    }
    for (s = 0; s < NTEST; s++) {
        g_tx[2 * s] = uniform();
        g_tx[2 * s + 1] = uniform();
        g_ty[s] = (float)exp(sin(3.14159265358979 * g_tx[2 * s]) + (double)g_tx[2 * s + 1] * g_tx[2 * s + 1]);
    }
}

static lamina_trainer *trainer_for(lamina_model *m, const char *config)
{
    lamina_trainer *t = NULL;
    if (!m || lamina_trainer_create(m, config, &t) != LAMINA_OK) {
        fprintf(stderr, "lamina_trainer_create(%s): %s\n", config, lamina_last_error());
        g_fail++;
        return NULL;
    }
    return t;
}

/* Frees two trainers and their models (NULL is a no-op). */
static void free_pairs(lamina_trainer *ta, lamina_trainer *tb, lamina_model *a, lamina_model *b)
{
    lamina_trainer_free(ta);
    lamina_trainer_free(tb);
    lamina_model_free(a);
    lamina_model_free(b);
}

static void fill(float *v, size_t count, float value)
{
    size_t i;
    for (i = 0; i < count; i++) v[i] = value;
}

/* pykan's schedule, from its loop: freq = int(stop / num) (at least 1); update before step s
** when s % freq == 0 and start <= s < stop. */
static int scheduled(size_t s, int num, int start, int stop)
{
    int freq = stop / num < 1 ? 1 : stop / num;
    return (int)s % freq == 0 && start <= (int)s && (int)s < stop;
}

/* What the progress callback records: the steps after which tensor `name` had changed, and
** the fields it was given. It also reads the model (READ-ONLY calls are allowed). */
typedef struct watch {
    const lamina_model *model;
    const char *name;
    float *last;
    size_t count;
    size_t changed[MAXSTEPS];
    size_t nchanged;
    size_t calls;
    size_t cancel_at;       /* return non-zero at this step (0: never) */
    int fields_ok;          /* 1 while every call had epoch = epochs = 0 and step = calls */
    size_t steps_seen;      /* p->steps */
    float loss[MAXSTEPS], validation[MAXSTEPS];
    lamina_status nested;   /* status of an EXCLUSIVE call tried from the callback */
    int try_nested;
} watch;

static void watch_init(watch *w, const lamina_model *m, const char *name)
{
    memset(w, 0, sizeof *w);
    w->model = m;
    w->name = name;
    w->last = read_tensor(m, name, &w->count);
    w->fields_ok = 1;
    w->nested = LAMINA_OK;
}

static int on_progress(const lamina_progress *p, void *user_data)
{
    watch *w = user_data;
    size_t n = 0;
    float *now = read_tensor(w->model, w->name, &n);
    w->calls++;
    if (p->step != w->calls || p->epoch != 0 || p->epochs != 0) w->fields_ok = 0;
    w->steps_seen = p->steps;
    if (p->step >= 1 && p->step <= MAXSTEPS) {
        w->loss[p->step - 1] = p->loss;
        w->validation[p->step - 1] = p->validation_loss;
    }
    if (now && w->last && n == w->count && memcmp(now, w->last, n * sizeof *now) != 0 &&
        w->nchanged < MAXSTEPS)
        w->changed[w->nchanged++] = p->step - 1;
    free(w->last);
    w->last = now;
    if (w->try_nested)
        w->nested = lamina_model_kan_update_grid((lamina_model *)w->model, g_x, NTRAIN, 0.02f);
    return w->cancel_at != 0 && p->step == w->cancel_at;
}

/* The loop lamina_trainer_kan_fit promises to equal, run by hand: `steps` full-batch steps,
** update_grid before the scheduled ones; per-step RMSE into train/test. */
static void hand_loop(lamina_model *m, lamina_trainer *t, size_t steps, int num, int start,
                      int stop, float *train, float *test)
{
    size_t s;
    for (s = 0; s < steps; s++) {
        float loss = NAN, eval = NAN;
        if (scheduled(s, num, start, stop))
            CHECK_OK(lamina_model_kan_update_grid(m, g_x, NTRAIN, 0.02f));
        CHECK_OK(lamina_trainer_step(t, g_x, g_y, NTRAIN, &loss));
        CHECK_OK(lamina_trainer_evaluate(t, g_tx, g_ty, NTEST, &eval));
        train[s] = sqrtf(loss);
        test[s] = sqrtf(eval);
    }
}

/* =======================================================================================
** The schedule, bit for bit against the hand-run loop
*/

static void compare_with_hand(const char *config, const char *options, size_t steps, int num,
                              int start, int stop)
{
    lamina_model *a = MK(KAN_231), *b = MK(KAN_231);
    lamina_trainer *ta = trainer_for(a, config), *tb = trainer_for(b, config);
    float train[MAXSTEPS + 1], test[MAXSTEPS + 1], reg[MAXSTEPS + 1], htrain[MAXSTEPS], htest[MAXSTEPS];
    size_t done = 0, s, expected[MAXSTEPS], nexpected = 0;
    watch w;
    int same_losses = 1, same_progress = 1, same_changes;
    const char *shown = options ? options : "NULL";
    if (!ta || !tb) goto out;
    fill(train, MAXSTEPS + 1, UNTOUCHED);
    fill(test, MAXSTEPS + 1, UNTOUCHED);
    fill(reg, MAXSTEPS + 1, UNTOUCHED);
    watch_init(&w, a, "1.grid");
    CHECK_OK(lamina_trainer_kan_fit(ta, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, options, on_progress, &w,
                                    train, test, reg, MAXSTEPS, &done));
    CHECK(done == steps, "steps_done %zu, expected %zu", done, steps);
    hand_loop(b, tb, steps, num, start, stop, htrain, htest);
    CHECK(same_tensors(a, b), "%s, %s: weights differ from the hand-run loop", config, shown);
    for (s = 0; s < steps; s++) {
        if (memcmp(&train[s], &htrain[s], sizeof(float)) || memcmp(&test[s], &htest[s], sizeof(float))) {
            if (same_losses)
                fprintf(stderr, "   step %zu: %.9g %.9g vs by hand %.9g %.9g\n", s, train[s], test[s], htrain[s],
                        htest[s]);
            same_losses = 0;
        }
        if (memcmp(&w.loss[s], &train[s], sizeof(float)) || memcmp(&w.validation[s], &test[s], sizeof(float)))
            same_progress = 0;
        if (scheduled(s, num, start, stop)) expected[nexpected++] = s;
    }
    CHECK(same_losses, "%s: train/test RMSE differ from sqrtf of the hand-run losses", shown);
    CHECK(same_progress, "the callback's loss/validation_loss are not train_loss/test_loss");
    CHECK(w.calls == steps && w.fields_ok && w.steps_seen == steps,
          "callback: %zu calls, fields_ok %d, steps %zu", w.calls, w.fields_ok, w.steps_seen);
    CHECK(isnan(reg[0]) && isnan(reg[steps - 1]), "reg without lamb is %g, not NaN", reg[0]);
    CHECK(train[steps] == UNTOUCHED && test[steps] == UNTOUCHED, "an entry past steps was written");
    /* The knots of layer 1 (whose inputs move with training) changed at the scheduled steps
    ** and at no other. */
    same_changes = w.nchanged == nexpected &&
                   (nexpected == 0 || memcmp(w.changed, expected, nexpected * sizeof(size_t)) == 0);
    CHECK(same_changes, "%s: the grid changed after %zu steps (first %zu), %zu scheduled (first %zu)", shown,
          w.nchanged, w.nchanged ? w.changed[0] : 0, nexpected, nexpected ? expected[0] : 0);
    free(w.last);
out:
    free_pairs(ta, tb, a, b);
}

static void test_schedule_matches_hand_loop(void)
{
    section("schedule: bit for bit the hand-run loop");
    compare_with_hand("{\"optimizer\": \"adam\", \"learning_rate\": 0.02}",
                      "{\"steps\": 30, \"grid_update_num\": 4, \"start_grid_update_step\": 2,"
                      " \"stop_grid_update_step\": 20}",
                      30, 4, 2, 20);
    /* The defaults (NULL options): 100 steps, updates before 0, 5, ..., 45. */
    compare_with_hand("{\"optimizer\": \"adam\", \"learning_rate\": 0.01}", NULL, 100, 10, -1, 50);
    /* pykan's LBFGS settings. */
    compare_with_hand("{\"optimizer\": \"lbfgs\", \"history_size\": 10, \"tolerance_grad\": 1e-32,"
                      " \"tolerance_change\": 1e-32, \"tolerance_ys\": 1e-32}",
                      "{\"steps\": 12}", 12, 10, -1, 50);
    /* stop / num = 0 (pykan would divide by zero): every step of the window. */
    compare_with_hand("{\"optimizer\": \"adam\", \"learning_rate\": 0.02}",
                      "{\"steps\": 8, \"stop_grid_update_step\": 5}", 8, 10, -1, 5);
    compare_with_hand("{\"optimizer\": \"adam\", \"learning_rate\": 0.02}",
                      "{\"steps\": 10, \"update_grid\": false, \"grid_update_num\": 0}", 10, 1, 0, 0);
}

/* =======================================================================================
** Cancel, NULL outputs, no test set
*/

static void test_cancel_and_outputs(void)
{
    const char *config = "{\"learning_rate\": 0.02}";
    lamina_model *a = MK(KAN_231), *b = MK(KAN_231);
    lamina_trainer *ta = trainer_for(a, config), *tb = trainer_for(b, config);
    float train[MAXSTEPS], test[MAXSTEPS], htrain[MAXSTEPS], htest[MAXSTEPS];
    size_t done = 99;
    watch w;
    section("cancel, NULL outputs, no test set");
    if (!ta || !tb) goto out;
    fill(train, MAXSTEPS, UNTOUCHED);
    fill(test, MAXSTEPS, UNTOUCHED);
    watch_init(&w, a, "0.grid");
    w.cancel_at = 4;
    CHECK_ST(lamina_trainer_kan_fit(ta, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, "{\"steps\": 20}", on_progress, &w,
                                    train, test, NULL, 20, &done),
             LAMINA_E_CANCELLED);
    CHECK(done == 4 && w.calls == 4, "cancelled at step 4: steps_done %zu, %zu callbacks", done, w.calls);
    CHECK(isfinite(train[3]) && isfinite(test[3]) && train[4] == UNTOUCHED && test[4] == UNTOUCHED,
          "outputs after a cancel: [3] = %g, %g; [4] = %g, %g", train[3], test[3], train[4], test[4]);
    /* The weights are those of the step just reported: four steps of the hand-run loop. */
    hand_loop(b, tb, 4, 10, -1, 50, htrain, htest);
    CHECK(same_tensors(a, b), "weights after a cancel at step 4 are not those of 4 steps");
    CHECK(memcmp(train, htrain, 4 * sizeof(float)) == 0, "train_loss before the cancel differs");
    free(w.last);

    /* All outputs NULL: cap is not read; steps_done may be NULL too. */
    CHECK_OK(lamina_trainer_kan_fit(ta, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, "{\"steps\": 3}", NULL, NULL, NULL,
                                    NULL, NULL, 0, &done));
    CHECK(done == 3, "steps_done %zu with NULL outputs", done);
    CHECK_OK(lamina_trainer_kan_fit(ta, g_x, g_y, NTRAIN, NULL, NULL, 0, "{\"steps\": 2}", NULL, NULL, NULL,
                                    NULL, NULL, 0, NULL));
    /* Without test rows the test loss and validation_loss are NaN. */
    fill(test, MAXSTEPS, UNTOUCHED);
    watch_init(&w, a, "0.grid");
    CHECK_OK(lamina_trainer_kan_fit(ta, g_x, g_y, NTRAIN, NULL, NULL, 0, "{\"steps\": 3}", on_progress, &w, NULL,
                                    test, NULL, 3, &done));
    CHECK(isnan(test[0]) && isnan(test[2]) && isnan(w.validation[2]) && test[3] == UNTOUCHED,
          "no test set: test_loss %g, validation_loss %g", test[0], w.validation[2]);
    free(w.last);
out:
    free_pairs(ta, tb, a, b);
}

/* =======================================================================================
** Refused calls change nothing
*/

/* One refused call: its arguments (besides progress, which is NULL) and the status. */
typedef struct bad_call {
    const char *what;
    int null_trainer;
    const float *x, *y;
    size_t n;
    const float *tx, *ty;
    size_t tn;
    const char *options;
    int train_out, reg_out; /* pass the output buffer as train_loss / reg */
    size_t cap;
    lamina_status want;
} bad_call;

static void test_bad_calls(void)
{
    static const char *bad_options[] = {
        "{",                                             /* malformed */
        "",                                              /* malformed */
        "[]",                                            /* not an object */
        "{\"steps\": 5, \"stepz\": 1}",                  /* unknown key */
        "{\"batch\": 0}",
        "{\"batch\": -2}",
        "{\"batch\": 1.5}",
        "{\"steps\": -1}",
        "{\"steps\": 2.5}",
        "{\"steps\": 2e15}",
        "{\"steps\": \"10\"}",
        "{\"update_grid\": 1}",
        "{\"grid_update_num\": 0}",                      /* with update_grid true */
        "{\"grid_update_num\": -3}",
        "{\"grid_eps\": 1.5}",
        "{\"grid_eps\": -0.1}",
        "{\"start_grid_update_step\": 1e13}",
    };
    static float bad_x[NTRAIN * 2], bad_ty[NTEST];
    const bad_call calls[] = {
        {"NULL trainer", 1, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, NULL, 0, 0, 0, LAMINA_E_INVALID_ARGUMENT},
        {"NULL x", 0, NULL, g_y, NTRAIN, g_tx, g_ty, NTEST, NULL, 0, 0, 0, LAMINA_E_INVALID_ARGUMENT},
        {"NULL y", 0, g_x, NULL, NTRAIN, g_tx, g_ty, NTEST, NULL, 0, 0, 0, LAMINA_E_INVALID_ARGUMENT},
        {"n = 0", 0, g_x, g_y, 0, g_tx, g_ty, NTEST, NULL, 0, 0, 0, LAMINA_E_INVALID_ARGUMENT},
        {"NULL test_x", 0, g_x, g_y, NTRAIN, NULL, g_ty, NTEST, NULL, 0, 0, 0, LAMINA_E_INVALID_ARGUMENT},
        {"NULL test_y", 0, g_x, g_y, NTRAIN, g_tx, NULL, NTEST, NULL, 0, 0, 0, LAMINA_E_INVALID_ARGUMENT},
        {"reg: cap 4 < 5 steps", 0, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, "{\"steps\": 5}", 0, 1, 4,
         LAMINA_E_INVALID_ARGUMENT},
        {"train_loss: cap 0", 0, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, "{\"steps\": 5}", 1, 0, 0,
         LAMINA_E_INVALID_ARGUMENT},
        {"n = SIZE_MAX", 0, g_x, g_y, (size_t)-1, g_tx, g_ty, NTEST, NULL, 0, 0, 0, LAMINA_E_OUT_OF_MEMORY},
        {"test_n = SIZE_MAX", 0, g_x, g_y, NTRAIN, g_tx, g_ty, (size_t)-1, NULL, 0, 0, 0, LAMINA_E_OUT_OF_MEMORY},
        {"NaN in x", 0, bad_x, g_y, NTRAIN, g_tx, g_ty, NTEST, NULL, 0, 0, 0, LAMINA_E_NUMERIC},
        {"Inf in test_y", 0, g_x, g_y, NTRAIN, g_tx, bad_ty, NTEST, NULL, 0, 0, 0, LAMINA_E_NUMERIC},
    };
    lamina_model *m = MK(KAN_231), *fresh = MK(KAN_231);
    lamina_trainer *t = trainer_for(m, "{}");
    float out[MAXSTEPS];
    size_t i, done;
    section("bad calls");
    if (!t || !fresh) goto out;
    memcpy(bad_x, g_x, sizeof bad_x);
    bad_x[17] = NAN;
    memcpy(bad_ty, g_ty, sizeof bad_ty);
    bad_ty[NTEST - 1] = INFINITY;
    for (i = 0; i < sizeof bad_options / sizeof *bad_options; i++) {
        done = 7;
        CHECK_ST(lamina_trainer_kan_fit(t, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, bad_options[i], NULL, NULL, out,
                                        NULL, NULL, MAXSTEPS, &done),
                 LAMINA_E_INVALID_ARGUMENT);
        CHECK(done == 0, "options %s: steps_done %zu", bad_options[i], done);
    }
    for (i = 0; i < sizeof calls / sizeof *calls; i++) {
        const bad_call *c = &calls[i];
        done = 7;
        g_ctx = c->what;
        CHECK_ST(lamina_trainer_kan_fit(c->null_trainer ? NULL : t, c->x, c->y, c->n, c->tx, c->ty, c->tn,
                                        c->options, NULL, NULL, c->train_out ? out : NULL, NULL,
                                        c->reg_out ? out : NULL, c->cap, &done),
                 c->want);
        CHECK(done == 0, "%s: steps_done %zu", c->what, done);
    }
    g_ctx = "bad calls";
    /* Allowed: grid_update_num is not read without update_grid. */
    CHECK_OK(lamina_trainer_kan_fit(t, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST,
                                    "{\"steps\": 0, \"update_grid\": false, \"grid_update_num\": -3}", NULL, NULL,
                                    out, NULL, NULL, 0, &done));
    CHECK(done == 0, "steps 0: steps_done %zu", done);
    /* Every refusal above left the model as it was made. */
    CHECK(same_tensors(m, fresh), "a refused lamina_trainer_kan_fit changed the model");
out:
    lamina_trainer_free(t);
    lamina_model_free(m);
    lamina_model_free(fresh);
}

/* =======================================================================================
** Models without B-spline grids train without grid updates
*/

static void check_like_plain_steps(const char *spec, const char *grid_name)
{
    lamina_model *a = MK(spec), *b = MK(spec);
    lamina_trainer *ta = trainer_for(a, "{\"learning_rate\": 0.01}"), *tb = trainer_for(b, "{\"learning_rate\": 0.01}");
    float train[10], loss = 0;
    float *before = NULL, *after = NULL;
    size_t done = 0, s, count = 0;
    int same = 1;
    if (!ta || !tb) goto out;
    if (grid_name) before = read_tensor(a, grid_name, &count);
    CHECK_OK(lamina_trainer_kan_fit(ta, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, "{\"steps\": 10}", NULL, NULL, train,
                                    NULL, NULL, 10, &done));
    CHECK(done == 10, "%s: steps_done %zu", spec, done);
    for (s = 0; s < 10; s++) {
        CHECK_OK(lamina_trainer_step(tb, g_x, g_y, NTRAIN, &loss));
        if (sqrtf(loss) != train[s]) same = 0;
    }
    CHECK(same, "%s: the training losses are not those of plain steps", spec);
    CHECK(same_tensors(a, b), "%s: weights differ from 10 plain lamina_trainer_step calls", spec);
    if (grid_name) {
        after = read_tensor(a, grid_name, NULL);
        CHECK(before && after && memcmp(before, after, count * sizeof(float)) == 0, "%s: %s moved", spec, grid_name);
    }
out:
    free(before);
    free(after);
    free_pairs(ta, tb, a, b);
}

static void test_models_without_grids(void)
{
    section("models without B-spline grids");
    check_like_plain_steps(
        "{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [8], \"output\": 1, \"activation\": \"tanh\"}", NULL);
    check_like_plain_steps("{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"basis\": \"chebyshev\"}", NULL);
    /* lamina_model_kan_update_grid refuses mixed-basis layers, so the fit skips the updates. */
    check_like_plain_steps("{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"basis\": \"mixed\","
                           " \"bases\": [\"bspline\", \"fourier\"]}",
                           "0.bases.0.grid");
}

/* =======================================================================================
** Random batches, regularisation, EXCLUSIVE, a run that fails
*/

static void random_run(unsigned seed, float *train, lamina_model **out)
{
    char config[96];
    lamina_model *m = MK(KAN_231);
    lamina_trainer *t;
    size_t done = 0;
    snprintf(config, sizeof config, "{\"learning_rate\": 0.02, \"seed\": %u}", seed);
    t = trainer_for(m, config);
    *out = m;
    if (!t) return;
    CHECK_OK(lamina_trainer_kan_fit(t, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, "{\"steps\": 12, \"batch\": 16}",
                                    NULL, NULL, train, NULL, NULL, 12, &done));
    CHECK(done == 12, "steps_done %zu", done);
    lamina_trainer_free(t);
}

static void test_random_batches(void)
{
    lamina_model *a = NULL, *b = NULL, *c = NULL, *full = MK(KAN_231), *all = MK(KAN_231);
    float ta[12], tb[12], tc[12], tf[12], tall[12];
    lamina_trainer *t = trainer_for(full, "{\"learning_rate\": 0.02, \"seed\": 3}");
    lamina_trainer *tt = trainer_for(all, "{\"learning_rate\": 0.02}");
    size_t done = 0;
    section("random batches");
    random_run(3, ta, &a);
    random_run(3, tb, &b);
    random_run(4, tc, &c);
    CHECK(a && b && same_tensors(a, b) && memcmp(ta, tb, sizeof ta) == 0, "the same seed gave different runs");
    CHECK(a && c && !same_tensors(a, c), "seeds 3 and 4 drew the same batches");
    if (t && tt) {
        /* batch >= n is every row, in order: the run of batch = -1. */
        CHECK_OK(lamina_trainer_kan_fit(t, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, "{\"steps\": 12, \"batch\": 64}",
                                        NULL, NULL, tf, NULL, NULL, 12, &done));
        CHECK_OK(lamina_trainer_kan_fit(tt, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, "{\"steps\": 12}", NULL, NULL,
                                        tall, NULL, NULL, 12, &done));
        CHECK(same_tensors(full, all) && memcmp(tf, tall, sizeof tf) == 0, "batch 64 of 64 rows is not batch -1");
        CHECK(memcmp(tf, ta, sizeof tf) != 0, "batches of 16 gave the losses of full batches");
    }
    /* Batches of 16: the grid of input 0 spans a 16-row subset, so it is narrower than the
    ** data (interior knots are the batch's min and max, which are training inputs). */
    if (a) {
        float *grid = read_tensor(a, "0.grid", NULL);
        float lo = 1e30f, hi = -1e30f;
        size_t s, kc = 5 + 2 * 3 + 1;
        int lo_found = 0, hi_found = 0;
        for (s = 0; s < NTRAIN; s++) {
            if (g_x[2 * s] < lo) lo = g_x[2 * s];
            if (g_x[2 * s] > hi) hi = g_x[2 * s];
        }
        if (CHECK(grid != NULL, "no 0.grid")) {
            for (s = 0; s < NTRAIN; s++) {
                lo_found |= grid[3] == g_x[2 * s];
                hi_found |= grid[kc - 4] == g_x[2 * s];
            }
            CHECK(lo_found && hi_found && (grid[3] > lo || grid[kc - 4] < hi),
                  "input 0 interior knots [%g, %g], data [%g, %g]", grid[3], grid[kc - 4], lo, hi);
        }
        free(grid);
    }
    lamina_trainer_free(t);
    lamina_trainer_free(tt);
    lamina_model_free(a);
    lamina_model_free(b);
    lamina_model_free(c);
    lamina_model_free(full);
    lamina_model_free(all);
}

static void test_regularization_and_exclusive(void)
{
    lamina_model *m = MK(KAN_231);
    lamina_trainer *t = trainer_for(m, "{\"learning_rate\": 0.01, \"lamb\": 0.1}");
    float reg[4], train[4], before = NAN, loss = NAN;
    size_t done = 0;
    watch w;
    section("regularisation, EXCLUSIVE");
    if (!t) goto out;
    CHECK_OK(lamina_model_kan_regularization(m, g_x, NTRAIN, NULL, &before));
    CHECK_OK(lamina_trainer_evaluate(t, g_x, g_y, NTRAIN, &loss));
    CHECK_OK(lamina_trainer_kan_fit(t, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, "{\"steps\": 4, \"update_grid\": false}",
                                    NULL, NULL, train, NULL, reg, 4, &done));
    /* Step 0 starts from the model as made: its reg is the model's regulariser on the rows
    ** and its training loss the prediction loss alone (without lamb * reg). */
    CHECK(fabsf(reg[0] - before) <= 1e-5f * fabsf(before) && before > 0, "reg[0] %g, model's %g", reg[0], before);
    CHECK(fabsf(train[0] - sqrtf(loss)) <= 1e-6f * sqrtf(loss), "train_loss[0] %.9g, RMSE before %.9g", train[0],
          sqrtf(loss));
    CHECK(isfinite(reg[3]) && reg[3] > 0, "reg[3] = %g", reg[3]);
    /* The callback may read the model but not change it. */
    watch_init(&w, m, "0.grid");
    w.try_nested = 1;
    CHECK_OK(lamina_trainer_kan_fit(t, g_x, g_y, NTRAIN, NULL, NULL, 0, "{\"steps\": 1}", on_progress, &w, NULL,
                                    NULL, NULL, 0, NULL));
    CHECK(w.nested == LAMINA_E_INVALID_ARGUMENT, "update_grid from the callback gave %s",
          lamina_status_string(w.nested));
    free(w.last);
out:
    lamina_trainer_free(t);
    lamina_model_free(m);
}

static void test_failure_keeps_the_record(void)
{
    /* SGD at a huge rate: the loss overflows float after a few steps. */
    lamina_model *m = MK(KAN_231);
    lamina_trainer *t = trainer_for(m, "{\"optimizer\": \"sgd\", \"learning_rate\": 1e6}");
    float train[MAXSTEPS], *after = NULL;
    size_t done = 0;
    watch w;
    section("a run that fails");
    if (!t) goto out;
    fill(train, MAXSTEPS, UNTOUCHED);
    watch_init(&w, m, "1.coef");
    CHECK_ST(lamina_trainer_kan_fit(t, g_x, g_y, NTRAIN, g_tx, g_ty, NTEST, "{\"steps\": 50, \"update_grid\": false}",
                                    on_progress, &w, train, NULL, NULL, MAXSTEPS, &done),
             LAMINA_E_NUMERIC);
    CHECK(done >= 1 && done < 50 && done == w.calls, "steps_done %zu, %zu callbacks", done, w.calls);
    if (done >= 1 && done < 50)
        CHECK(isfinite(train[done - 1]) && train[done] == UNTOUCHED, "after %zu steps: [%zu] = %g, [%zu] = %g",
              done, done - 1, train[done - 1], done, train[done]);
    /* The step that diverged changed no weight: the model is as the last callback saw it. */
    after = read_tensor(m, "1.coef", NULL);
    CHECK(w.last && after && memcmp(w.last, after, w.count * sizeof(float)) == 0,
          "the failed step moved weights");
    free(w.last);
out:
    free(after);
    lamina_trainer_free(t);
    lamina_model_free(m);
}

int main(void)
{
    check_init();
    make_data();
    test_schedule_matches_hand_loop();
    test_cancel_and_outputs();
    test_bad_calls();
    test_models_without_grids();
    test_random_batches();
    test_regularization_and_exclusive();
    test_failure_keeps_the_record();
    return check_summary();
}
