/*
** test_abi_training.c -- trainer config, steps, fit with progress and cancellation, restoring
** the best weights, determinism and L-BFGS; losses, optimizers and schedules against
** hand-computed references; robustness of edge cases the header leaves open (see
** abi_harness.h).
*/
#define _XOPEN_SOURCE 700

#include "abi_harness.h"

static float g_out[REF_N * 2 * 3 + 64]; /* output buffer of calls whose result is not read */

/* =======================================================================================
** Training
*/

#define LIN_N 64
static float g_lx[LIN_N * 2], g_ly[LIN_N];

static void make_linear_data(void)
{
    size_t i;
    for (i = 0; i < LIN_N; i++) {
        g_lx[2 * i] = frand();
        g_lx[2 * i + 1] = frand();
        g_ly[i] = 3.0f * g_lx[2 * i] - 2.0f * g_lx[2 * i + 1] + 1.0f;
    }
}

static void test_trainer_config(void)
{
    static const char *keys[] = {"optimizer", "learning_rate", "momentum", "nesterov", "beta1", "beta2",
                                 "epsilon", "weight_decay", "clip_norm", "loss", "huber_delta",
                                 "schedule", "warmup_steps", "decay_steps", "gamma",
                                 "min_learning_rate", "batch_size", "epochs", "shuffle", "seed",
                                 "validation_split", "patience", "restore_best", "progress_every"};
    lamina_model *m;
    lamina_trainer *t1, *t2, *t3;
    char *c1 = NULL, *c2 = NULL, *c3 = NULL, *buf;
    size_t i, len = 0, len2;
    section("trainer create / config");
    m = MK("{\"kind\": \"mlp\", \"input\": 2, \"output\": 1}");
    if (!m) return;
    /* "from a JSON config ("{}" or NULL for all defaults)" */
    t1 = MKT(m, "{}");
    t2 = MKT(m, NULL);
    if (t1 && t2) {
        c1 = config_of(t1);
        c2 = config_of(t2);
        CHECK(c1 != NULL, "config of \"{}\" trainer");
        CHECK(c1 && c2 && strcmp(c1, c2) == 0, "\"{}\" and NULL give different configs");
        if (g_verbose && c1) printf("   full config: %s\n", c1);
        for (i = 0; c1 && i < sizeof keys / sizeof keys[0]; i++)
            CHECK(has_key(c1, keys[i]), "full config lacks \"%s\"", keys[i]);
        CHECK(c1 && strstr(c1, "\"adam\"") != NULL && strstr(c1, "\"mse\"") != NULL,
              "defaults adam/mse not in %s", c1 ? c1 : "");
        /* Two-call pattern. */
        CHECK_OK(lamina_trainer_config(t1, NULL, 0, &len));
        buf = (char *)malloc(len + 1);
        len2 = 0;
        CHECK_ST(lamina_trainer_config(t1, buf, len, &len2), LAMINA_E_INVALID_ARGUMENT);
        CHECK(len2 == len, "too-small config buffer: *len %zu vs %zu", len2, len);
        CHECK_OK(lamina_trainer_config(t1, buf, len + 1, &len2));
        CHECK(strlen(buf) == len, "config length");
        free(buf);
        buf = (char *)malloc(len + 64);
        CHECK_OK(lamina_trainer_config(t1, buf, SIZE_MAX, &len2));
        free(buf);
        /* The full config is itself a valid config that means the same thing. */
        if (c1) {
            t3 = MKT(m, c1);
            if (t3) {
                c3 = config_of(t3);
                CHECK(c3 && strcmp(c1, c3) == 0, "full config does not round-trip");
                free(c3);
                lamina_trainer_free(t3);
            }
        }
    }
    free(c1);
    free(c2);
    lamina_trainer_free(t1);
    lamina_trainer_free(t2);
    t1 = MKT(m, "{\"optimizer\": \"sgd\", \"learning_rate\": 0.25, \"momentum\": 0.9, \"epochs\": 3}");
    if (t1) {
        c1 = config_of(t1);
        CHECK(c1 && strstr(c1, "\"sgd\""), "given optimizer not in config: %s", c1 ? c1 : "");
        free(c1);
        lamina_trainer_free(t1);
    }
    t1 = MKT(m, "{\"optimizer\": \"adamw\", \"loss\": \"huber\", \"schedule\": \"cosine\", \"warmup_steps\": 5}");
    lamina_trainer_free(t1);
    lamina_model_free(m);
}

static void test_trainer_step(void)
{
    lamina_model *m;
    lamina_trainer *t;
    const float w[2] = {0.5f, -2.0f}, b[1] = {0.25f};
    float loss = -1, loss0 = -1, prev, ev, wgt[2], bias[1];
    double want = 0;
    size_t i;
    int monotone = 1;
    snap s0, s1;
    section("trainer_step / evaluate on linear regression");
    m = MK("{\"kind\": \"mlp\", \"input\": 2, \"output\": 1}");
    if (!m) return;
    t = MKT(m, "{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"batch_size\": 64}");
    if (!t) {
        lamina_model_free(m);
        return;
    }
    /* "Losses are means, as PyTorch's reduction=mean" -- computed by hand. */
    CHECK_OK(lamina_model_tensor_write(m, "0.weight", w, 2));
    CHECK_OK(lamina_model_tensor_write(m, "0.bias", b, 1));
    for (i = 0; i < LIN_N; i++) {
        double r = 0.5 * g_lx[2 * i] - 2.0 * g_lx[2 * i + 1] + 0.25 - g_ly[i];
        want += r * r;
    }
    want /= LIN_N;
    s0 = take_snap(m);
    CHECK_OK(lamina_trainer_evaluate(t, g_lx, g_ly, LIN_N, &ev));
    CHECK(fabs(ev - want) <= 1e-5 * want, "evaluate mse = %.9g, by hand %.9g", ev, want);
    s1 = take_snap(m);
    CHECK(snap_equal(&s0, &s1), "evaluate changed the weights");
    free(s0.v);
    free(s1.v);
    /* "*loss receives the batch loss before the step" */
    CHECK_OK(lamina_trainer_step(t, g_lx, g_ly, LIN_N, &loss0));
    CHECK(fabsf(loss0 - ev) <= 1e-6f * ev, "first step loss %.9g vs evaluate %.9g", loss0, ev);
    prev = loss0;
    for (i = 0; i < 300; i++) {
        if (lamina_trainer_step(t, g_lx, g_ly, LIN_N, &loss) != LAMINA_OK) {
            CHECK(0, "step %zu failed: %s", i, lamina_last_error());
            break;
        }
        if (i < 50 && !(loss < prev)) monotone = 0;
        prev = loss;
    }
    CHECK(monotone, "full-batch gradient descent loss did not decrease monotonically");
    CHECK_OK(lamina_trainer_evaluate(t, g_lx, g_ly, LIN_N, &ev));
    CHECK(ev < 1e-6f * loss0 + 1e-7f, "after 300 steps loss %.3g (start %.3g)", ev, loss0);
    CHECK_OK(lamina_model_tensor_read(m, "0.weight", wgt, 2));
    CHECK_OK(lamina_model_tensor_read(m, "0.bias", bias, 1));
    CHECK(fabsf(wgt[0] - 3) < 1e-3f && fabsf(wgt[1] + 2) < 1e-3f && fabsf(bias[0] - 1) < 1e-3f,
          "learned w = (%g, %g), b = %g; want (3, -2), 1", wgt[0], wgt[1], bias[0]);
    /* "*loss (may be NULL)" */
    CHECK_OK(lamina_trainer_step(t, g_lx, g_ly, LIN_N, NULL));
    lamina_trainer_free(t);
    lamina_model_free(m);

    /* "a non-finite loss or gradient: then the weights are left as they were before the step" */
    m = MK("{\"kind\": \"mlp\", \"input\": 2, \"output\": 1}");
    if (m) {
        const float big[2] = {1e30f, 1e30f}, x[2] = {1e10f, 1e10f}, y[1] = {0.0f};
        t = MKT(m, "{\"optimizer\": \"sgd\", \"learning_rate\": 0.1}");
        CHECK_OK(lamina_model_tensor_write(m, "0.weight", big, 2));
        s0 = take_snap(m);
        if (t) CHECK_ST(lamina_trainer_step(t, x, y, 1, &loss), LAMINA_E_NUMERIC);
        s1 = take_snap(m);
        CHECK(snap_equal(&s0, &s1), "weights changed by a step whose loss overflowed");
        free(s0.v);
        free(s1.v);
        lamina_trainer_free(t);
        lamina_model_free(m);
    }

    /* "A trainer made from it keeps its own reference." */
    m = MK("{\"kind\": \"mlp\", \"input\": 2, \"output\": 1}");
    if (m) {
        t = MKT(m, "{\"optimizer\": \"sgd\", \"learning_rate\": 0.1}");
        lamina_model_free(m);
        if (t) {
            CHECK_OK(lamina_trainer_step(t, g_lx, g_ly, LIN_N, &loss));
            CHECK_OK(lamina_trainer_fit(t, g_lx, g_ly, LIN_N, NULL, NULL, NULL));
        }
        lamina_trainer_free(t);
    }
}

typedef struct {
    size_t calls, stop_at, epochs, steps, last_step, last_epoch;
    float last_loss;
    double last_elapsed;
    int val_all_nan, val_all_finite, bad, wrong_thread, check_epoch;
    char why[256];
    pthread_t main;
} prog_rec;

static void prog_init(prog_rec *r, size_t stop_at)
{
    memset(r, 0, sizeof *r);
    r->stop_at = stop_at;
    r->val_all_nan = r->val_all_finite = 1;
    r->check_epoch = 1;
    r->main = pthread_self();
}

static void prog_bad(prog_rec *r, const char *what)
{
    if (!r->bad) snprintf(r->why, sizeof r->why, "call %zu: %s", r->calls, what);
    r->bad = 1;
}

static int on_progress(const lamina_progress *p, void *user)
{
    prog_rec *r = (prog_rec *)user;
    r->calls++;
    /* "Called on the thread that made the call." */
    if (!pthread_equal(pthread_self(), r->main)) r->wrong_thread = 1;
    if (!p) {
        prog_bad(r, "NULL progress");
        return 0;
    }
    if (r->check_epoch && p->epoch != r->calls) prog_bad(r, "epoch is not the call count");
    if (r->calls == 1) {
        r->epochs = p->epochs;
        r->steps = p->steps;
    } else if (p->epochs != r->epochs || p->steps != r->steps) {
        prog_bad(r, "epochs or steps changed between calls");
    }
    if (p->step < r->last_step || p->epoch < r->last_epoch) prog_bad(r, "counts went backwards");
    if (p->step > p->steps || p->epoch > p->epochs) prog_bad(r, "count beyond its total");
    if (!(isfinite(p->loss) && p->loss >= 0)) prog_bad(r, "loss not finite and >= 0");
    if (isnan(p->validation_loss)) {
        r->val_all_finite = 0;
    } else {
        r->val_all_nan = 0;
        if (!(isfinite(p->validation_loss) && p->validation_loss >= 0)) prog_bad(r, "bad validation loss");
    }
    if (!(p->elapsed_seconds >= r->last_elapsed && p->elapsed_seconds < 3600))
        prog_bad(r, "elapsed_seconds not non-decreasing");
    r->last_step = p->step;
    r->last_epoch = p->epoch;
    r->last_loss = p->loss;
    r->last_elapsed = p->elapsed_seconds;
    return (r->stop_at && p->epoch >= r->stop_at) ? 1 : 0;
}

static int on_progress_stop_first(const lamina_progress *p, void *user)
{
    prog_rec *r = (prog_rec *)user;
    (void)p;
    r->calls++;
    return 1;
}

#define FIT_N 100
#define FIT_SPEC "{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [8], \"output\": 1, \"activation\": \"tanh\", \"seed\": 3}"

static void test_fit(void)
{
    float x[FIT_N * 2], y[FIT_N], before, after, final_loss = -1;
    lamina_model *m;
    lamina_trainer *t;
    prog_rec r;
    size_t i;
    section("trainer_fit: progress, cancellation, early stopping");
    for (i = 0; i < FIT_N; i++) {
        x[2 * i] = frand();
        x[2 * i + 1] = frand();
        y[i] = sinf(2.0f * x[2 * i]) * x[2 * i + 1];
    }
    m = MK(FIT_SPEC);
    if (!m) return;
    t = MKT(m, "{\"optimizer\": \"adam\", \"learning_rate\": 0.01, \"batch_size\": 16, \"epochs\": 5}");
    if (t) {
        CHECK_OK(lamina_trainer_evaluate(t, x, y, FIT_N, &before));
        prog_init(&r, 0);
        /* "progress ... is called after every epoch" */
        CHECK_OK(lamina_trainer_fit(t, x, y, FIT_N, on_progress, &r, &final_loss));
        CHECK(r.calls == 5, "progress called %zu times for 5 epochs", r.calls);
        CHECK(!r.bad, "progress fields: %s", r.why);
        CHECK(!r.wrong_thread, "progress called on another thread");
        CHECK(r.epochs == 5, "progress epochs = %zu", r.epochs);
        /* 100 samples in batches of 16: 7 steps an epoch. */
        CHECK(r.steps == 35 && r.last_step == 35, "steps %zu, last step %zu; want 35", r.steps, r.last_step);
        CHECK(r.val_all_nan, "validation_loss must be NaN with no validation split");
        CHECK(final_loss == r.last_loss, "final_loss %.9g vs last progress loss %.9g", final_loss, r.last_loss);
        CHECK_OK(lamina_trainer_evaluate(t, x, y, FIT_N, &after));
        CHECK(after < before, "fit did not reduce the loss: %g -> %g", before, after);
        /* NULL progress and final_loss are allowed. */
        CHECK_OK(lamina_trainer_fit(t, x, y, FIT_N, NULL, NULL, NULL));
        lamina_trainer_free(t);
    }
    lamina_model_free(m);

    /* "a non-zero return stops training with LAMINA_E_CANCELLED and the weights of the last
    ** completed step" */
    m = MK(FIT_SPEC);
    t = m ? MKT(m, "{\"optimizer\": \"adam\", \"learning_rate\": 0.01, \"batch_size\": 16, \"epochs\": 10}") : NULL;
    if (t) {
        float yp[FIT_N];
        prog_init(&r, 2);
        CHECK_ST(lamina_trainer_fit(t, x, y, FIT_N, on_progress, &r, &final_loss), LAMINA_E_CANCELLED);
        CHECK(lamina_last_error()[0] != '\0', "cancelled fit gives a message");
        CHECK(r.calls == 2, "callback called %zu times; it asked to stop at epoch 2", r.calls);
        CHECK_OK(lamina_model_predict(m, x, FIT_N, yp));
        CHECK(all_finite(yp, FIT_N), "model predicts non-finite values after cancel");
        /* The trainer is still usable. */
        CHECK_OK(lamina_trainer_fit(t, x, y, FIT_N, NULL, NULL, NULL));
        lamina_trainer_free(t);
    }
    lamina_model_free(m);

    /* Cancelling between steps (progress_every) stops at once. */
    m = MK(FIT_SPEC);
    t = m ? MKT(m, "{\"batch_size\": 16, \"epochs\": 3, \"progress_every\": 1}") : NULL;
    if (t) {
        float yp[FIT_N];
        prog_init(&r, 0);
        r.check_epoch = 0;
        r.stop_at = 0;
        CHECK_ST(lamina_trainer_fit(t, x, y, FIT_N, on_progress_stop_first, &r, NULL), LAMINA_E_CANCELLED);
        CHECK(r.calls == 1, "callback asked to stop on its first call but was called %zu times", r.calls);
        CHECK_OK(lamina_model_predict(m, x, FIT_N, yp));
        CHECK(all_finite(yp, FIT_N), "non-finite predictions after a mid-epoch cancel");
        lamina_trainer_free(t);
    }
    lamina_model_free(m);

    /* progress_every: also called every N steps. */
    m = MK(FIT_SPEC);
    t = m ? MKT(m, "{\"batch_size\": 16, \"epochs\": 3, \"progress_every\": 2}") : NULL;
    if (t) {
        prog_init(&r, 0);
        r.check_epoch = 0;
        CHECK_OK(lamina_trainer_fit(t, x, y, FIT_N, on_progress, &r, NULL));
        CHECK(r.calls >= 10, "progress_every 2 over 21 steps: %zu calls", r.calls);
        CHECK(!r.bad, "progress fields with progress_every: %s", r.why);
        lamina_trainer_free(t);
    }
    lamina_model_free(m);

    /* "patience: epochs without improvement before stopping". With learning_rate 0 the
    ** validation loss never improves after epoch 1, so training stops after patience + 1. */
    m = MK(FIT_SPEC);
    t = m ? MKT(m, "{\"optimizer\": \"adam\", \"learning_rate\": 0, \"batch_size\": 16, \"epochs\": 50,"
                   " \"validation_split\": 0.25, \"patience\": 3}")
          : NULL;
    if (t) {
        snap s0 = take_snap(m), s1;
        prog_init(&r, 0);
        CHECK_OK(lamina_trainer_fit(t, x, y, FIT_N, on_progress, &r, &final_loss));
        CHECK(r.calls == 4 && r.last_epoch == 4, "early stopping: %zu calls, last epoch %zu; want 4", r.calls,
              r.last_epoch);
        CHECK(r.epochs == 50, "progress epochs %zu, want 50 (at most)", r.epochs);
        CHECK(r.val_all_finite, "validation_loss must be finite with a validation split");
        CHECK(!r.bad, "progress fields: %s", r.why);
        s1 = take_snap(m);
        CHECK(snap_equal(&s0, &s1), "learning_rate 0 changed the weights");
        free(s0.v);
        free(s1.v);
        lamina_trainer_free(t);
    }
    lamina_model_free(m);
}

/* "restore_best: restore the best validation weights at the end (true)": the weights after
** fit are those the progress callback saw after the best validation epoch, bit for bit. The
** held-out rows (the last 16 of 64) want y = x, the training rows y = 2x: from w = 0 the
** validation loss falls while w < 1 and rises after, so the best epoch is not the last (a
** premise checked here, or restoring could not be told from not restoring). */
#define RB_EPOCHS 10
typedef struct {
    lamina_model *m;
    size_t epochs;
    float val[RB_EPOCHS];
    snap seen[RB_EPOCHS];
} restore_rec;

static int on_progress_snap(const lamina_progress *p, void *user)
{
    restore_rec *r = (restore_rec *)user;
    if (r->epochs < RB_EPOCHS) {
        r->val[r->epochs] = p->validation_loss;
        r->seen[r->epochs] = take_snap(r->m);
    }
    r->epochs++;
    return 0;
}

static void test_restore_best(void)
{
    float x[64], y[64], zero = 0.0f;
    restore_rec r;
    lamina_trainer *t;
    size_t i, best = 0;
    section("trainer_fit: restore_best");
    memset(&r, 0, sizeof r);
    for (i = 0; i < 64; i++) {
        x[i] = frand();
        y[i] = i < 48 ? 2.0f * x[i] : x[i];
    }
    r.m = MK("{\"kind\": \"mlp\", \"input\": 1, \"output\": 1}");
    if (!r.m) return;
    CHECK_OK(lamina_model_tensor_write(r.m, "0.weight", &zero, 1));
    CHECK_OK(lamina_model_tensor_write(r.m, "0.bias", &zero, 1));
    t = MKT(r.m, "{\"optimizer\": \"sgd\", \"learning_rate\": 0.05, \"batch_size\": 8, \"epochs\": 10,"
                 " \"validation_split\": 0.25}");
    if (t && CHECK_OK(lamina_trainer_fit(t, x, y, 64, on_progress_snap, &r, NULL)) &&
        CHECK(r.epochs == RB_EPOCHS, "progress called %zu times for %d epochs", r.epochs, RB_EPOCHS)) {
        snap after = take_snap(r.m);
        float val;
        for (i = 1; i < RB_EPOCHS; i++)
            if (r.val[i] < r.val[best]) best = i;
        CHECK(best > 0 && best < RB_EPOCHS - 1 && r.val[RB_EPOCHS - 1] > 4 * r.val[best],
              "premise: the validation loss must fall, then rise (best epoch %zu, %g -> last %g)", best + 1,
              r.val[best], r.val[RB_EPOCHS - 1]);
        CHECK(snap_equal(&after, &r.seen[best]), "weights after fit are not those of the best epoch (%zu)", best + 1);
        CHECK(!snap_equal(&after, &r.seen[RB_EPOCHS - 1]), "weights after fit are the last epoch's");
        CHECK_OK(lamina_trainer_evaluate(t, x + 48, y + 48, 16, &val));
        CHECK(val == r.val[best], "validation loss of the restored weights %.9g, best epoch's %.9g", val, r.val[best]);
        free(after.v);
    }
    for (i = 0; i < RB_EPOCHS && i < r.epochs; i++) free(r.seen[i].v);
    lamina_trainer_free(t);
    lamina_model_free(r.m);
}

/* "lbfgs is torch.optim.LBFGS ... one step runs up to max_iter iterations on its batch" */
static void test_lbfgs(void)
{
    lamina_model *m;
    lamina_trainer *t;
    float loss0 = -1, ev = -1, w[2], b[1];
    snap s0, s1;
    section("lbfgs");
    /* Linear least squares is a quadratic: one full-batch L-BFGS step with strong Wolfe
    ** line search (20 iterations) solves it. */
    m = MK("{\"kind\": \"mlp\", \"input\": 2, \"output\": 1, \"seed\": 2}");
    t = m ? MKT(m, "{\"optimizer\": \"lbfgs\", \"batch_size\": 64}") : NULL;
    if (t) {
        char *cfg = config_of(t);
        static const char *keys[] = {"max_iter", "history_size", "tolerance_grad", "tolerance_change", "line_search"};
        size_t i;
        for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
            CHECK(has_key(cfg, keys[i]), "lbfgs config lacks \"%s\"", keys[i]);
        CHECK(cfg && strstr(cfg, "\"strong_wolfe\""), "default line_search not strong_wolfe: %s", cfg ? cfg : "");
        free(cfg);
        CHECK_OK(lamina_trainer_step(t, g_lx, g_ly, LIN_N, &loss0));
        CHECK_OK(lamina_trainer_evaluate(t, g_lx, g_ly, LIN_N, &ev));
        CHECK(ev <= 1e-6f * loss0 + 1e-9f, "one lbfgs step: loss %.3g -> %.3g", loss0, ev);
        CHECK_OK(lamina_model_tensor_read(m, "0.weight", w, 2));
        CHECK_OK(lamina_model_tensor_read(m, "0.bias", b, 1));
        CHECK(fabsf(w[0] - 3) < 1e-3f && fabsf(w[1] + 2) < 1e-3f && fabsf(b[0] - 1) < 1e-3f,
              "lbfgs solution w = (%g, %g), b = %g; want (3, -2), 1", w[0], w[1], b[0]);
        lamina_trainer_free(t);
    }
    lamina_model_free(m);

    /* "A step whose scheduled learning rate is 0 only evaluates the loss." */
    m = MK("{\"kind\": \"mlp\", \"input\": 2, \"output\": 1, \"seed\": 2}");
    t = m ? MKT(m, "{\"optimizer\": \"lbfgs\", \"learning_rate\": 0}") : NULL;
    if (t) {
        s0 = take_snap(m);
        CHECK_OK(lamina_trainer_evaluate(t, g_lx, g_ly, LIN_N, &ev));
        CHECK_OK(lamina_trainer_step(t, g_lx, g_ly, LIN_N, &loss0));
        s1 = take_snap(m);
        CHECK(snap_equal(&s0, &s1), "lbfgs with learning_rate 0 changed the weights");
        CHECK(loss0 == ev, "lbfgs lr 0 step loss %.9g vs evaluate %.9g", loss0, ev);
        free(s0.v);
        free(s1.v);
        lamina_trainer_free(t);
    }
    lamina_model_free(m);

    /* "a non-finite value anywhere in a step restores the weights from before it" */
    m = MK("{\"kind\": \"mlp\", \"input\": 2, \"output\": 1}");
    t = m ? MKT(m, "{\"optimizer\": \"lbfgs\"}") : NULL;
    if (t) {
        const float big[2] = {1e30f, 1e30f}, x[2] = {1e10f, 1e10f}, y[1] = {0.0f};
        CHECK_OK(lamina_model_tensor_write(m, "0.weight", big, 2));
        s0 = take_snap(m);
        CHECK_ST(lamina_trainer_step(t, x, y, 1, NULL), LAMINA_E_NUMERIC);
        s1 = take_snap(m);
        CHECK(snap_equal(&s0, &s1), "lbfgs: weights changed by a step with a non-finite loss");
        free(s0.v);
        free(s1.v);
        /* and the trainer still works afterwards */
        {
            const float w1[2] = {0.5f, 0.5f};
            CHECK_OK(lamina_model_tensor_write(m, "0.weight", w1, 2));
            CHECK_OK(lamina_trainer_step(t, g_lx, g_ly, LIN_N, NULL));
        }
        lamina_trainer_free(t);
    }
    lamina_model_free(m);

    /* lbfgs through fit, full batch, with progress. */
    m = MK(FIT_SPEC);
    t = m ? MKT(m, "{\"optimizer\": \"lbfgs\", \"batch_size\": 1024, \"epochs\": 3}") : NULL;
    if (t) {
        prog_rec r;
        float before = -1, after = -1;
        prog_init(&r, 0);
        CHECK_OK(lamina_trainer_evaluate(t, g_lx, g_ly, LIN_N, &before));
        CHECK_OK(lamina_trainer_fit(t, g_lx, g_ly, LIN_N, on_progress, &r, NULL));
        CHECK_OK(lamina_trainer_evaluate(t, g_lx, g_ly, LIN_N, &after));
        CHECK(r.calls == 3 && !r.bad, "lbfgs fit progress: %zu calls %s", r.calls, r.why);
        CHECK(after < before, "lbfgs fit did not reduce the loss: %g -> %g", before, after);
        lamina_trainer_free(t);
    }
    lamina_model_free(m);

    /* "Keys that do not apply to the chosen optimizer are accepted and ignored, except
    ** weight_decay and clip_norm with lbfgs and nesterov = true" */
    m = MK("{\"kind\": \"mlp\", \"input\": 2, \"output\": 1}");
    if (m) {
        t = MKT(m, "{\"optimizer\": \"adam\", \"momentum\": 0.9, \"nesterov\": false, \"max_iter\": 5}");
        lamina_trainer_free(t);
        t = MKT(m, "{\"optimizer\": \"sgd\", \"beta1\": 0.5, \"history_size\": 3}");
        lamina_trainer_free(t);
        t = MKT(m, "{\"optimizer\": \"lbfgs\", \"momentum\": 0.9, \"beta2\": 0.99, \"line_search\": \"none\"}");
        lamina_trainer_free(t);
    }
    lamina_model_free(m);
}

static void test_determinism(void)
{
    enum { N = 200 };
    static const char *spec =
        "{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [16, 16], \"output\": 1, \"activation\": \"tanh\", \"seed\": 7}";
    static const char *cfg = "{\"optimizer\": \"adam\", \"learning_rate\": 0.01, \"batch_size\": 32,"
                             " \"epochs\": 5, \"seed\": 3, \"shuffle\": true, \"validation_split\": 0.2}";
    static const char *cfg2 = "{\"optimizer\": \"adam\", \"learning_rate\": 0.01, \"batch_size\": 32,"
                              " \"epochs\": 5, \"seed\": 4, \"shuffle\": true, \"validation_split\": 0.2}";
    float x[N * 2], y[N], la = -1, lb = -2;
    lamina_model *a, *b, *c;
    lamina_trainer *ta = NULL, *tb = NULL, *tc = NULL;
    size_t i;
    section("determinism");
    for (i = 0; i < N; i++) {
        x[2 * i] = frand();
        x[2 * i + 1] = frand();
        y[i] = x[2 * i] * x[2 * i + 1];
    }
    /* "The same spec, seed, data, config and thread count give bit-identical weights" */
    a = MK(spec);
    b = MK(spec);
    c = MK(spec);
    if (a) ta = MKT(a, cfg);
    if (b) tb = MKT(b, cfg);
    if (c) tc = MKT(c, cfg2);
    if (ta && tb && tc) {
        snap sa, sb, sc;
        CHECK_OK(lamina_trainer_fit(ta, x, y, N, NULL, NULL, &la));
        CHECK_OK(lamina_trainer_fit(tb, x, y, N, NULL, NULL, &lb));
        CHECK_OK(lamina_trainer_fit(tc, x, y, N, NULL, NULL, NULL));
        CHECK(la == lb, "final losses differ: %.9g vs %.9g", la, lb);
        sa = take_snap(a);
        sb = take_snap(b);
        sc = take_snap(c);
        CHECK(snap_equal(&sa, &sb), "same spec, seed, data and config gave different weights");
        CHECK(sc.ok && !snap_equal(&sa, &sc), "training seed 3 and 4 gave identical weights");
        free(sa.v);
        free(sb.v);
        free(sc.v);
    }
    lamina_trainer_free(ta);
    lamina_trainer_free(tb);
    lamina_trainer_free(tc);
    lamina_model_free(a);
    lamina_model_free(b);
    lamina_model_free(c);
}

/* =======================================================================================
** Losses, optimizers and schedules against hand-computed references (PyTorch semantics)
**
** A linear 2 -> 2 model with weights set by hand makes every quantity computable in double:
** z = W x + b, residual r = z - y, and the MSE gradient dL/dz = 2 r / (N * 2).
*/

#define LN 4
static const float g_lw0[4] = {0.5f, -1.0f, 0.25f, 2.0f}, g_lb0[2] = {0.1f, -0.2f};
static const float g_lxx[LN * 2] = {1.0f, 2.0f, -1.0f, 0.5f, 0.3f, -0.7f, 2.0f, -1.0f};
static const float g_lyreg[LN * 2] = {0.2f, -0.4f, 1.5f, 0.3f, -2.0f, 0.1f, 0.7f, 3.0f};
static const float g_lybin[LN * 2] = {1, 0, 0, 1, 1, 1, 0, 0};
static const float g_lyhot[LN * 2] = {1, 0, 0, 1, 0, 1, 1, 0};

/* A fresh linear 2 -> 2 model holding the given parameters (6 floats: W row-major, b). */
static lamina_model *linear22(const float *p)
{
    lamina_model *m = MK("{\"kind\": \"mlp\", \"input\": 2, \"output\": 2}");
    if (!m) return NULL;
    if (!CHECK_OK(lamina_model_tensor_write(m, "0.weight", p, 4)) ||
        !CHECK_OK(lamina_model_tensor_write(m, "0.bias", p + 4, 2))) {
        lamina_model_free(m);
        return NULL;
    }
    return m;
}

static int read_params(const lamina_model *m, float *p)
{
    return lamina_model_tensor_read(m, "0.weight", p, 4) == LAMINA_OK &&
           lamina_model_tensor_read(m, "0.bias", p + 4, 2) == LAMINA_OK;
}

static void forward22(const float *p, int s, double *z)
{
    int k;
    for (k = 0; k < 2; k++)
        z[k] = (double)p[2 * k] * g_lxx[2 * s] + (double)p[2 * k + 1] * g_lxx[2 * s + 1] + p[4 + k];
}

/* Gradient of the MSE over the LN samples with respect to the 6 parameters. */
static void mse_grad22(const float *p, double *g)
{
    int s, k;
    double z[2];
    memset(g, 0, 6 * sizeof *g);
    for (s = 0; s < LN; s++) {
        forward22(p, s, z);
        for (k = 0; k < 2; k++) {
            double dz = 2.0 * (z[k] - g_lyreg[2 * s + k]) / (LN * 2);
            g[2 * k] += dz * g_lxx[2 * s];
            g[2 * k + 1] += dz * g_lxx[2 * s + 1];
            g[4 + k] += dz;
        }
    }
}

static double loss_by_hand(const char *loss, double delta, const float *y)
{
    double sum = 0, z[2];
    int s, k;
    for (s = 0; s < LN; s++) {
        float p[6];
        memcpy(p, g_lw0, sizeof g_lw0);
        memcpy(p + 4, g_lb0, sizeof g_lb0);
        forward22(p, s, z);
        if (strcmp(loss, "cross_entropy") == 0) {
            double mx = z[0] > z[1] ? z[0] : z[1];
            double lse = mx + log(exp(z[0] - mx) + exp(z[1] - mx));
            for (k = 0; k < 2; k++) sum += -y[2 * s + k] * (z[k] - lse);
            continue;
        }
        for (k = 0; k < 2; k++) {
            double r = z[k] - y[2 * s + k], a = fabs(r);
            if (strcmp(loss, "mse") == 0) sum += r * r;
            else if (strcmp(loss, "l1") == 0) sum += a;
            else if (strcmp(loss, "huber") == 0) sum += a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
            else /* bce_with_logits */
                sum += (z[k] > 0 ? z[k] : 0) - z[k] * y[2 * s + k] + log1p(exp(-fabs(z[k])));
        }
    }
    return strcmp(loss, "cross_entropy") == 0 ? sum / LN : sum / (LN * 2);
}

static void test_losses(void)
{
    static const struct {
        const char *config, *loss;
        double delta;
        const float *y;
    } cases[] = {
        {"{\"loss\": \"mse\"}", "mse", 0, g_lyreg},
        {"{\"loss\": \"l1\"}", "l1", 0, g_lyreg},
        {"{\"loss\": \"huber\"}", "huber", 1.0, g_lyreg},
        {"{\"loss\": \"huber\", \"huber_delta\": 0.5}", "huber", 0.5, g_lyreg},
        {"{\"loss\": \"bce_with_logits\"}", "bce_with_logits", 0, g_lybin},
        {"{\"loss\": \"cross_entropy\"}", "cross_entropy", 0, g_lyhot},
    };
    float p0[6];
    size_t i;
    section("loss values vs PyTorch's definitions (reduction=mean)");
    memcpy(p0, g_lw0, sizeof g_lw0);
    memcpy(p0 + 4, g_lb0, sizeof g_lb0);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lamina_model *m = linear22(p0);
        lamina_trainer *t = m ? MKT(m, cases[i].config) : NULL;
        float got = -1;
        double want = loss_by_hand(cases[i].loss, cases[i].delta, cases[i].y);
        if (t && CHECK_OK(lamina_trainer_evaluate(t, g_lxx, cases[i].y, LN, &got)))
            CHECK(fabs(got - want) <= 1e-5 * fabs(want) + 1e-7, "%s: loss %.9g, by hand %.9g", cases[i].config,
                  got, want);
        lamina_trainer_free(t);
        lamina_model_free(m);
    }
}

/* One optimizer step from p0 must land on the PyTorch update computed by hand. */
static void check_params(const char *what, const float *got, const double *want)
{
    int i, ok = 1;
    char detail[256] = "";
    for (i = 0; i < 6; i++) {
        if (!(fabs(got[i] - want[i]) <= 2e-6 + 1e-5 * fabs(want[i]))) {
            if (ok) snprintf(detail, sizeof detail, "param %d: got %.9g, want %.9g", i, got[i], want[i]);
            ok = 0;
        }
    }
    CHECK(ok, "%s: %s", what, detail);
}

static void test_optimizers(void)
{
    float p0[6], p1[6], p2[6];
    double g[6], g1[6], want[6], norm = 0;
    int i;
    section("optimizer steps vs PyTorch's update rules");
    memcpy(p0, g_lw0, sizeof g_lw0);
    memcpy(p0 + 4, g_lb0, sizeof g_lb0);
    mse_grad22(p0, g);
    for (i = 0; i < 6; i++) norm += g[i] * g[i];
    norm = sqrt(norm);

#define ONE_STEP(cfg, what, formula)                                                           \
    do {                                                                                       \
        lamina_model *m_ = linear22(p0);                                                       \
        lamina_trainer *t_ = m_ ? MKT(m_, cfg) : NULL;                                         \
        if (t_ && CHECK_OK(lamina_trainer_step(t_, g_lxx, g_lyreg, LN, NULL)) && read_params(m_, p1)) { \
            for (i = 0; i < 6; i++) want[i] = (formula);                                       \
            check_params(what, p1, want);                                                      \
        }                                                                                      \
        lamina_trainer_free(t_);                                                               \
        lamina_model_free(m_);                                                                 \
    } while (0)

    ONE_STEP("{\"optimizer\": \"sgd\", \"learning_rate\": 0.1}", "sgd", p0[i] - 0.1 * g[i]);
    ONE_STEP("{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"weight_decay\": 0.05}", "sgd + L2 weight_decay",
             p0[i] - 0.1 * (g[i] + 0.05 * p0[i]));
    ONE_STEP("{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"momentum\": 0.9, \"nesterov\": true}",
             "sgd nesterov, first step", p0[i] - 0.1 * (1.9 * g[i]));
    ONE_STEP("{\"optimizer\": \"adam\", \"learning_rate\": 0.01}", "adam, first step",
             p0[i] - 0.01 * g[i] / (fabs(g[i]) + 1e-8));
    ONE_STEP("{\"optimizer\": \"adam\", \"learning_rate\": 0.01, \"weight_decay\": 0.5}", "adam + L2 weight_decay",
             p0[i] - 0.01 * (g[i] + 0.5 * p0[i]) / (fabs(g[i] + 0.5 * p0[i]) + 1e-8));
    ONE_STEP("{\"optimizer\": \"adamw\", \"learning_rate\": 0.01}", "adamw (decoupled, default 0.01)",
             p0[i] * (1 - 0.01 * 0.01) - 0.01 * g[i] / (fabs(g[i]) + 1e-8));
    ONE_STEP("{\"optimizer\": \"adamw\", \"learning_rate\": 0.01, \"weight_decay\": 0.5}", "adamw weight_decay 0.5",
             p0[i] * (1 - 0.01 * 0.5) - 0.01 * g[i] / (fabs(g[i]) + 1e-8));
    CHECK(norm > 0.5, "test data: gradient norm %g should exceed the clip", norm);
    ONE_STEP("{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"clip_norm\": 0.5}", "sgd + clip_norm 0.5",
             p0[i] - 0.1 * g[i] * (0.5 / (norm + 1e-6)));
    ONE_STEP("{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"clip_norm\": 1000}", "clip_norm above the norm",
             p0[i] - 0.1 * g[i]);
#undef ONE_STEP

    /* Heavy-ball momentum over two steps: buf = g0; buf = 0.9 buf + g1. */
    {
        lamina_model *m = linear22(p0);
        lamina_trainer *t = m ? MKT(m, "{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"momentum\": 0.9}") : NULL;
        if (t && CHECK_OK(lamina_trainer_step(t, g_lxx, g_lyreg, LN, NULL)) && read_params(m, p1)) {
            mse_grad22(p1, g1);
            if (CHECK_OK(lamina_trainer_step(t, g_lxx, g_lyreg, LN, NULL)) && read_params(m, p2)) {
                for (i = 0; i < 6; i++) want[i] = p1[i] - 0.1 * (0.9 * g[i] + g1[i]);
                check_params("sgd momentum, second step", p2, want);
            }
        }
        lamina_trainer_free(t);
        lamina_model_free(m);
    }
}

/* The learning rate each trainer_step used, recovered from an SGD update: -dp.g / g.g */
static void step_lrs(const char *cfg, int nsteps, double *lrs, int *ok)
{
    float p0[6], pb[6], pa[6];
    lamina_model *m;
    lamina_trainer *t;
    int k, i;
    *ok = 0;
    memcpy(p0, g_lw0, sizeof g_lw0);
    memcpy(p0 + 4, g_lb0, sizeof g_lb0);
    m = linear22(p0);
    t = m ? MKT(m, cfg) : NULL;
    if (t) {
        *ok = 1;
        for (k = 0; k < nsteps && *ok; k++) {
            double g[6], num = 0, den = 0;
            if (!read_params(m, pb)) *ok = 0;
            mse_grad22(pb, g);
            if (!CHECK_OK(lamina_trainer_step(t, g_lxx, g_lyreg, LN, NULL)) || !read_params(m, pa)) {
                *ok = 0;
                break;
            }
            for (i = 0; i < 6; i++) {
                num += -((double)pa[i] - pb[i]) * g[i];
                den += g[i] * g[i];
            }
            lrs[k] = num / den;
        }
    }
    lamina_trainer_free(t);
    lamina_model_free(m);
}

static void test_schedules(void)
{
    static const struct {
        const char *cfg;
        double lr[7]; /* the rate for steps t = 0..6 of an ideal schedule */
    } cases[] = {
        {"{\"optimizer\": \"sgd\", \"learning_rate\": 0.1}", {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}},
        {"{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"schedule\": \"step\", \"decay_steps\": 2, \"gamma\": 0.5}",
         {0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125}},
        {"{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"schedule\": \"exponential\", \"gamma\": 0.5}",
         {0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125, 0.0015625}},
        {"{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"schedule\": \"cosine\", \"decay_steps\": 4,"
         " \"min_learning_rate\": 0.01}",
         {0.1, 0.01 + 0.09 * (1 + 0.70710678118654752) / 2, 0.055, 0.01 + 0.09 * (1 - 0.70710678118654752) / 2,
          0.01, 0.01, 0.01}},
    };
    size_t c;
    section("learning-rate schedules, applied per optimizer step");
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double lrs[6];
        int ok, off, match = -1;
        step_lrs(cases[c].cfg, 6, lrs, &ok);
        if (!ok) continue;
        /* The header does not say whether the first step uses t = 0 or t = 1: accept either. */
        for (off = 0; off <= 1 && match < 0; off++) {
            int k, all = 1;
            for (k = 0; k < 6; k++)
                if (!(fabs(lrs[k] - cases[c].lr[k + off]) <= 1e-3 * cases[c].lr[k + off])) all = 0;
            if (all) match = off;
        }
        CHECK(match >= 0, "%s: rates used %.5g %.5g %.5g %.5g %.5g %.5g", cases[c].cfg, lrs[0], lrs[1], lrs[2],
              lrs[3], lrs[4], lrs[5]);
    }
    /* "warmup_steps: linear warm-up from 0" then the base rate. */
    {
        double lrs[6];
        int ok, k, rising = 1;
        step_lrs("{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"warmup_steps\": 4}", 6, lrs, &ok);
        if (ok) {
            for (k = 1; k < 4; k++)
                if (!(lrs[k] > lrs[k - 1])) rising = 0;
            CHECK(rising && lrs[0] < 0.1 * 0.99 && fabs(lrs[5] - 0.1) <= 1e-4,
                  "warm-up rates %.5g %.5g %.5g %.5g %.5g %.5g", lrs[0], lrs[1], lrs[2], lrs[3], lrs[4], lrs[5]);
        }
    }
}

/* =======================================================================================
** Robustness: requests whose outcome the header leaves open must still end cleanly: either
** LAMINA_OK with finite weights, or a documented error with a message and the weights as
** they were -- never a crash, never LAMINA_E_INTERNAL.
*/

static void robust_(lamina_status s, lamina_model *m, const char *what)
{
    const char *e = lamina_last_error();
    snap after = take_snap(m);
    CHECK(s != LAMINA_E_INTERNAL, "%s: LAMINA_E_INTERNAL (\"%s\")", what, e);
    if (s == LAMINA_OK) {
        CHECK(after.ok && all_finite(after.v, after.total), "%s: OK but the weights are not finite", what);
    } else {
        CHECK(e[0] != '\0', "%s: %s without a message", what, sname(s));
        CHECK(after.ok && all_finite(after.v, after.total), "%s: failed and left non-finite weights", what);
    }
    if (g_verbose) printf("   %-60s %-26s %s\n", what, sname(s), s == LAMINA_OK ? "" : e);
    free(after.v);
}

static void robust_fit(const char *spec, const char *cfg, const float *x, const float *y, size_t n,
                       const char *what)
{
    lamina_model *m = MK(spec);
    lamina_trainer *t = NULL;
    lamina_status s;
    if (!m) return;
    s = lamina_trainer_create(m, cfg, &t);
    if (s != LAMINA_OK) {
        CHECK(s == LAMINA_E_INVALID_ARGUMENT && lamina_last_error()[0], "%s: trainer_create gave %s", what,
              sname(s));
        if (g_verbose) printf("   %-60s refused: %s\n", what, lamina_last_error());
        lamina_model_free(m);
        return;
    }
    s = lamina_trainer_fit(t, x, y, n, NULL, NULL, NULL);
    robust_(s, m, what);
    lamina_trainer_free(t);
    lamina_model_free(m);
}

static void robust_steps(const char *cfg, const char *what)
{
    lamina_model *m;
    lamina_trainer *t = NULL;
    lamina_status s = LAMINA_OK;
    int k;
    float p0[6];
    memcpy(p0, g_lw0, sizeof g_lw0);
    memcpy(p0 + 4, g_lb0, sizeof g_lb0);
    m = linear22(p0);
    if (!m) return;
    s = lamina_trainer_create(m, cfg, &t);
    if (s != LAMINA_OK) {
        CHECK(s == LAMINA_E_INVALID_ARGUMENT && lamina_last_error()[0], "%s: trainer_create gave %s", what,
              sname(s));
        if (g_verbose) printf("   %-60s refused: %s\n", what, lamina_last_error());
        lamina_model_free(m);
        return;
    }
    for (k = 0; k < 5 && s == LAMINA_OK; k++) s = lamina_trainer_step(t, g_lxx, g_lyreg, LN, NULL);
    robust_(s, m, what);
    lamina_trainer_free(t);
    lamina_model_free(m);
}

static void test_robustness(void)
{
    static const char *lin = "{\"kind\": \"mlp\", \"input\": 2, \"output\": 1}";
    static const char *ce = "{\"kind\": \"mlp\", \"input\": 2, \"output\": 1}";
    float big[LIN_N * 2], y2[4] = {0, 1, 1, 0};
    size_t i;
    section("robustness of edge cases the header leaves open");
    robust_fit(lin, "{\"validation_split\": 0.99}", g_lx, g_ly, 1, "fit: 1 sample, validation_split 0.99");
    robust_fit(lin, "{\"validation_split\": 1.0}", g_lx, g_ly, 8, "fit: validation_split 1.0");
    robust_fit(lin, "{\"validation_split\": 0.5, \"patience\": 1}", g_lx, g_ly, 2, "fit: 2 samples, half held out");
    robust_fit(lin, "{\"batch_size\": 16777216, \"epochs\": 2}", g_lx, g_ly, 3, "fit: batch far larger than n");
    robust_fit(lin, "{\"schedule\": \"step\", \"epochs\": 2}", g_lx, g_ly, LIN_N, "fit: step schedule, decay_steps 0");
    robust_fit(lin, "{\"schedule\": \"cosine\", \"warmup_steps\": 1000, \"epochs\": 2}", g_lx, g_ly, LIN_N,
               "fit: warm-up longer than training");
    robust_fit(ce, "{\"loss\": \"cross_entropy\", \"epochs\": 2}", g_lx, y2, 4, "fit: cross_entropy with 1 output");
    robust_fit(lin, "{\"optimizer\": \"sgd\", \"learning_rate\": 1000000, \"epochs\": 30, \"batch_size\": 8}", g_lx,
               g_ly, LIN_N, "fit: sgd learning_rate 1e6 (diverges)");
    robust_fit(lin, "{\"optimizer\": \"sgd\", \"learning_rate\": 1000000, \"momentum\": 0.99, \"epochs\": 30}", g_lx,
               g_ly, LIN_N, "fit: sgd 1e6 with momentum (diverges)");
    for (i = 0; i < LIN_N * 2; i++) big[i] = g_lx[i] * 3e18f;
    robust_fit(lin, "{\"optimizer\": \"adam\", \"epochs\": 2}", big, g_ly, LIN_N, "fit: inputs near 3e18 (loss overflows)");
    robust_steps("{\"optimizer\": \"sgd\", \"schedule\": \"step\"}", "step(): step schedule, decay_steps 0");
    robust_steps("{\"optimizer\": \"sgd\", \"schedule\": \"cosine\"}", "step(): cosine schedule, decay_steps 0");
    robust_steps("{\"optimizer\": \"sgd\", \"schedule\": \"cosine\", \"warmup_steps\": 3}", "step(): cosine with warm-up");
    robust_steps("{\"optimizer\": \"adam\", \"beta1\": 0, \"beta2\": 0}", "step(): adam beta1 = beta2 = 0");
    robust_steps("{\"optimizer\": \"adam\", \"beta2\": 1}", "step(): adam beta2 = 1");
    robust_steps("{\"optimizer\": \"sgd\", \"momentum\": 1, \"nesterov\": true}", "step(): momentum 1, nesterov");
    robust_steps("{\"loss\": \"bce_with_logits\"}", "step(): bce_with_logits with targets outside [0, 1]");
    /* Huge but finite inputs are valid: predict must succeed. */
    {
        lamina_model *m = MK("{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [4], \"output\": 1, \"activation\": \"sine\"}");
        const float x[4] = {3e38f, -3e38f, 1e-45f, 0.0f};
        float y[2];
        if (m) {
            lamina_status s = lamina_model_predict(m, x, 2, y);
            CHECK(s == LAMINA_OK, "predict with x = 3e38 (finite): %s (\"%s\")", sname(s), lamina_last_error());
            s = lamina_model_input_gradient(m, x, 2, g_out);
            CHECK(s == LAMINA_OK, "input_gradient with x = 3e38 (finite): %s", sname(s));
            lamina_model_free(m);
        }
    }
}

/* =======================================================================================
** main
*/

int main(void)
{
    if (harness_begin("test_abi_training")) return 2;
    make_linear_data();
    run_probed(test_trainer_config, "test_trainer_config");
    run_probed(test_trainer_step, "test_trainer_step");
    run_probed(test_fit, "test_fit");
    run_probed(test_restore_best, "test_restore_best");
    run_probed(test_determinism, "test_determinism");
    run_probed(test_lbfgs, "test_lbfgs");
    run_probed(test_losses, "test_losses");
    run_probed(test_optimizers, "test_optimizers");
    run_probed(test_schedules, "test_schedules");
    run_probed(test_robustness, "test_robustness");
    return harness_end();
}
