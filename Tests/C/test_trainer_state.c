/*
** test_trainer_state.c -- lamina_trainer_save_state / lamina_trainer_load_state (issue 15,
** part 4): "a fit stopped after k steps and resumed reaches bit-identical weights to an
** uninterrupted run ... A truncated or mismatched state file is refused with a clear error
** and leaves the trainer unchanged."
**
** - Resume: for adam (cosine schedule), adamw (step schedule), sgd with momentum, with
**   nesterov, plain sgd (step schedule), lbfgs with strong_wolfe (max_iter 5, history 3, so
**   the memory fills and recycles) and with no line search, on an MLP, a B-spline KAN and a
**   tri-plane field: k calls, then model + state saved, everything freed, the model loaded,
**   a new trainer made and the state loaded, then m more calls; the weights must equal, bit
**   for bit (memcmp), those of one trainer making the k + m calls. The calls are
**   lamina_trainer_step, lamina_trainer_fit (shuffled mini-batches: the generator),
**   lamina_trainer_kan_fit (random batches and grid updates), a fit cancelled by its
**   progress callback, and single steps after a cancelled fit with a cosine schedule
**   spanning the whole fit (the horizon). Where the state matters, a new trainer without the state must end elsewhere
**   (so the comparison can fail).
** - Changed settings: a state loads into a trainer whose learning rate and epochs differ.
** - A progress callback may save the state (the state after the step it reports) but not
**   load one.
** - Refusals leave the trainer unchanged (its saved state is the same bytes after, and its
**   next steps equal those of a trainer that saw no refusal): every truncation of a state
**   file (LAMINA_E_FORMAT), every byte of it changed (xor 1), a model file, a state of
**   another model (LAMINA_E_SHAPE) or another optimizer or beta2 (LAMINA_E_INVALID_ARGUMENT),
**   NULL trainer or path, "" and a missing file (LAMINA_E_IO), a directory.
** - Save is atomic: a save whose rename fails (the target is a directory), whose directory
**   does not exist, or whose writes fail (a forked child limited to 4096-byte files, as a
**   full disk) fails with LAMINA_E_IO, leaving the old file as it was and no temporary file;
**   a save over an existing state replaces it whole.
**
** POSIX (mkdtemp, dirent, fork, setrlimit). Works in /dev/shm when it can, else in the current directory.
*/
#define _XOPEN_SOURCE 700

#include "check.h"
#include "model_helpers.h"
#include "dir_entries.h"
#include "scratch_files.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- data -------------------------------------------------------------------------------- */

#define N 48
static float g_x2[N * 2], g_y2[N], g_x3[N * 3], g_y3[N];

static void make_data(void)
{
    int i;
    for (i = 0; i < N; i++) {
        float a = -1.0f + 2.0f * (float)i / (N - 1), b = (float)sin(3.1 * i);
        g_x2[2 * i] = a;
        g_x2[2 * i + 1] = b;
        g_y2[i] = (float)(sin(2.0 * a) * cos(b)) + 0.1f * a * b;
        g_x3[3 * i] = 0.9f * a;
        g_x3[3 * i + 1] = 0.9f * b;
        g_x3[3 * i + 2] = 0.9f * (float)cos(1.7 * i);
        g_y3[i] = g_x3[3 * i] * g_x3[3 * i] + g_x3[3 * i + 1] - 0.5f * g_x3[3 * i + 2];
    }
}

/* ---- one run of calls ---------------------------------------------------------------------- */

typedef enum { STEPS, FIT, KAN_FIT, CANCELLED_FIT, FIT_THEN_STEPS } run_kind;

static int cancel_at_3(const lamina_progress *p, void *user)
{
    (void)user;
    return p->step >= 3;
}

/* Call number `call` (0-based) of a run of `kind` on trainer t. */
static void one_call(lamina_trainer *t, run_kind kind, int call, int three)
{
    const float *x = three ? g_x3 : g_x2, *y = three ? g_y3 : g_y2;
    switch (kind) {
    case STEPS:
        /* alternate halves of the data, so that the batches differ from step to step */
        CHECK_OK(lamina_trainer_step(t, x + (call % 2) * (N / 2) * (three ? 3 : 2),
                                     y + (call % 2) * (N / 2), N / 2, NULL));
        break;
    case FIT:
        CHECK_OK(lamina_trainer_fit(t, x, y, N, NULL, NULL, NULL));
        break;
    case KAN_FIT:
        CHECK_OK(lamina_trainer_kan_fit(t, x, y, N, NULL, NULL, 0,
                                        "{\"steps\": 4, \"batch\": 20, \"grid_update_num\": 2,"
                                        " \"stop_grid_update_step\": 4}",
                                        NULL, NULL, NULL, NULL, NULL, 0, NULL));
        break;
    case CANCELLED_FIT:
        if (call == 0)
            CHECK_ST(lamina_trainer_fit(t, x, y, N, cancel_at_3, NULL, NULL), LAMINA_E_CANCELLED);
        else
            CHECK_OK(lamina_trainer_fit(t, x, y, N, NULL, NULL, NULL));
        break;
    case FIT_THEN_STEPS:
        /* a cosine schedule spans the whole fit it was given, also for the steps after it
        ** was cancelled: those need the saved horizon */
        if (call == 0)
            CHECK_ST(lamina_trainer_fit(t, x, y, N, cancel_at_3, NULL, NULL), LAMINA_E_CANCELLED);
        else CHECK_OK(lamina_trainer_step(t, x, y, N, NULL));
        break;
    }
}

/* k calls, save model and state, free, reload into a new trainer, m more calls: the weights
** must equal those of k + m calls on one trainer. `stateful`: a new trainer without the
** state must end elsewhere. */
static void resume_case(const char *what, const char *spec, const char *cfg, run_kind kind, int k,
                        int m, int stateful)
{
    int three = strstr(spec, "triplane") != NULL, i;
    lamina_model *a = MK(spec), *b = MK(spec), *c = NULL, *d = NULL;
    lamina_trainer *ta = NULL, *tb = NULL, *tc = NULL, *td = NULL;
    section(what);
    if (!a || !b) goto out;
    ta = MKT(a, cfg);
    tb = MKT(b, cfg);
    if (!ta || !tb) goto out;
    for (i = 0; i < k + m; i++) one_call(ta, kind, i, three);
    for (i = 0; i < k; i++) one_call(tb, kind, i, three);
    CHECK_OK(lamina_model_save(b, P("model.safetensors")));
    CHECK_OK(lamina_trainer_save_state(tb, P("state.safetensors")));
    lamina_trainer_free(tb);
    tb = NULL;
    lamina_model_free(b);
    b = NULL;

    if (!CHECK_OK(lamina_model_load(P("model.safetensors"), &c))) goto out;
    tc = MKT(c, cfg);
    if (!tc) goto out;
    CHECK_OK(lamina_trainer_load_state(tc, P("state.safetensors")));
    for (i = k; i < k + m; i++) one_call(tc, kind, i, three);
    CHECK(same_tensors(a, c), "%s: resumed weights differ from the uninterrupted run's", what);

    /* the same without the state: a new trainer on the saved model */
    if (CHECK_OK(lamina_model_load(P("model.safetensors"), &d)) && (td = MKT(d, cfg)) != NULL) {
        for (i = k; i < k + m; i++) one_call(td, kind, i, three);
        if (stateful)
            CHECK(!same_tensors(a, d), "%s: a new trainer without the state also matched", what);
    }
out:
    lamina_trainer_free(ta);
    lamina_trainer_free(tb);
    lamina_trainer_free(tc);
    lamina_trainer_free(td);
    lamina_model_free(a);
    lamina_model_free(b);
    lamina_model_free(c);
    lamina_model_free(d);
    remove(P("model.safetensors"));
    remove(P("state.safetensors"));
}

#define MLP "{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [8, 8], \"output\": 1, \"activation\": \"tanh\", \"seed\": 3}"
#define KAN "{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"grid\": 5, \"seed\": 1}"
#define TRI "{\"kind\": \"triplane\", \"resolution\": 8, \"channels\": 4, \"decoder\": {\"hidden\": [8]}, \"output\": 1}"

static void test_resume(void)
{
    resume_case("adam, cosine, steps", MLP,
                "{\"optimizer\": \"adam\", \"learning_rate\": 0.01, \"schedule\": \"cosine\", \"decay_steps\": 12}",
                STEPS, 5, 6, 1);
    resume_case("adamw, step schedule, steps", MLP,
                "{\"optimizer\": \"adamw\", \"learning_rate\": 0.01, \"schedule\": \"step\", \"decay_steps\": 3, \"gamma\": 0.5}",
                STEPS, 4, 5, 1);
    resume_case("sgd momentum, steps", MLP,
                "{\"optimizer\": \"sgd\", \"learning_rate\": 0.05, \"momentum\": 0.9}", STEPS, 4, 4, 1);
    resume_case("sgd nesterov, fit", MLP,
                "{\"optimizer\": \"sgd\", \"learning_rate\": 0.05, \"momentum\": 0.9, \"nesterov\": true,"
                " \"batch_size\": 10, \"epochs\": 2}", FIT, 1, 2, 1);
    resume_case("plain sgd, step schedule, steps", MLP,
                "{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"schedule\": \"step\", \"decay_steps\": 2, \"gamma\": 0.3}",
                STEPS, 3, 4, 1);
    resume_case("adam, fit with shuffles", MLP,
                "{\"optimizer\": \"adam\", \"learning_rate\": 0.01, \"batch_size\": 7, \"epochs\": 2}", FIT, 1, 2, 1);
    resume_case("lbfgs strong_wolfe, steps", MLP,
                "{\"optimizer\": \"lbfgs\", \"max_iter\": 5, \"history_size\": 3}", STEPS, 2, 3, 1);
    resume_case("lbfgs no line search, steps", MLP,
                "{\"optimizer\": \"lbfgs\", \"learning_rate\": 0.1, \"max_iter\": 4, \"history_size\": 2,"
                " \"line_search\": \"none\"}", STEPS, 2, 3, 1);
    resume_case("adam, cancelled fit then fit", MLP,
                "{\"optimizer\": \"adam\", \"learning_rate\": 0.01, \"batch_size\": 8, \"epochs\": 2,"
                " \"progress_every\": 1}", CANCELLED_FIT, 1, 1, 1);
    resume_case("adam, cosine over a cancelled fit, then steps (horizon)", MLP,
                "{\"optimizer\": \"adam\", \"learning_rate\": 0.01, \"schedule\": \"cosine\", \"batch_size\": 8,"
                " \"epochs\": 3, \"progress_every\": 1}", FIT_THEN_STEPS, 1, 3, 1);
    resume_case("KAN, adam, fit", KAN,
                "{\"optimizer\": \"adam\", \"learning_rate\": 0.02, \"batch_size\": 12, \"epochs\": 2}", FIT, 1, 1, 1);
    resume_case("KAN, lbfgs, kan_fit with random batches and grid updates", KAN,
                "{\"optimizer\": \"lbfgs\", \"max_iter\": 4, \"history_size\": 3}", KAN_FIT, 1, 1, 1);
    resume_case("KAN, sgd momentum, steps", KAN,
                "{\"optimizer\": \"sgd\", \"learning_rate\": 0.05, \"momentum\": 0.8}", STEPS, 3, 3, 1);
    resume_case("tri-plane, adam, steps", TRI, "{\"optimizer\": \"adam\", \"learning_rate\": 0.01}", STEPS, 3, 3, 1);
    resume_case("tri-plane, lbfgs, steps", TRI, "{\"optimizer\": \"lbfgs\", \"max_iter\": 3, \"history_size\": 2}",
                STEPS, 2, 2, 1);
}

/* A state loads into a trainer whose learning rate and epochs differ; the steps after use
** the new rate (so they differ from the old trainer's). */
static void test_changed_settings(void)
{
    lamina_model *a = MK(MLP), *b = NULL;
    lamina_trainer *ta = NULL, *tb = NULL;
    section("a state loads into a trainer with another learning rate and epochs");
    if (!a || !(ta = MKT(a, "{\"optimizer\": \"adam\", \"learning_rate\": 0.01}"))) goto out;
    CHECK_OK(lamina_trainer_step(ta, g_x2, g_y2, N, NULL));
    CHECK_OK(lamina_trainer_save_state(ta, P("state.safetensors")));
    CHECK_OK(lamina_model_clone(a, &b));
    if (!b || !(tb = MKT(b, "{\"optimizer\": \"adam\", \"learning_rate\": 0.001, \"epochs\": 3}"))) goto out;
    CHECK_OK(lamina_trainer_load_state(tb, P("state.safetensors")));
    CHECK_OK(lamina_trainer_step(ta, g_x2, g_y2, N, NULL));
    CHECK_OK(lamina_trainer_step(tb, g_x2, g_y2, N, NULL));
    CHECK(!same_tensors(a, b), "the new learning rate was not used");
out:
    lamina_trainer_free(ta);
    lamina_trainer_free(tb);
    lamina_model_free(a);
    lamina_model_free(b);
    remove(P("state.safetensors"));
}

/* A progress callback may save the state (READ-ONLY): it is the state after the step just
** reported, the same bytes as a save after the fit it cancels has returned. Loading from
** the callback is EXCLUSIVE and refused there. */
typedef struct {
    lamina_trainer *t;
    lamina_status save, load;
} callback_job;

static int save_in_callback(const lamina_progress *p, void *user)
{
    callback_job *j = (callback_job *)user;
    if (p->step < 3) return 0;
    j->save = lamina_trainer_save_state(j->t, P("in-callback.safetensors"));
    j->load = lamina_trainer_load_state(j->t, P("in-callback.safetensors"));
    return 1;
}

static void test_save_in_callback(void)
{
    lamina_model *m = MK(MLP);
    lamina_trainer *t = m ? MKT(m, "{\"optimizer\": \"adam\", \"batch_size\": 8, \"progress_every\": 1}") : NULL;
    callback_job job;
    unsigned char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    section("a progress callback saves the state");
    if (!t) goto out;
    job.t = t;
    job.save = job.load = LAMINA_E_INTERNAL;
    CHECK_ST(lamina_trainer_fit(t, g_x2, g_y2, N, save_in_callback, &job, NULL), LAMINA_E_CANCELLED);
    CHECK(job.save == LAMINA_OK, "save from the callback: %s", lamina_status_string(job.save));
    CHECK(job.load == LAMINA_E_INVALID_ARGUMENT, "load from the callback: %s", lamina_status_string(job.load));
    CHECK_OK(lamina_trainer_save_state(t, P("after.safetensors")));
    a = read_all(P("in-callback.safetensors"), &na);
    b = read_all(P("after.safetensors"), &nb);
    CHECK(a && b && na == nb && memcmp(a, b, na) == 0, "the callback's state differs from the one after the fit");
out:
    free(a);
    free(b);
    remove(P("in-callback.safetensors"));
    remove(P("after.safetensors"));
    lamina_trainer_free(t);
    lamina_model_free(m);
}

/* ---- refusals leave the trainer unchanged --------------------------------------------------- */

static lamina_model *g_victim_model, *g_shadow_model;
static lamina_trainer *g_victim, *g_shadow;
static unsigned char *g_before;
static size_t g_before_len;
static int g_changed;

/* Whether the victim's state is still the bytes it was before the refusals. */
static int victim_unchanged(void)
{
    size_t n = 0;
    unsigned char *now;
    int same;
    if (lamina_trainer_save_state(g_victim, P("victim-now.safetensors")) != LAMINA_OK) return 0;
    now = read_all(P("victim-now.safetensors"), &n);
    same = now && n == g_before_len && memcmp(now, g_before, n) == 0;
    free(now);
    return same;
}

/* A load of `path` into the victim must fail with `want` and change nothing. */
static int refused(const char *path, lamina_status want, const char *what)
{
    lamina_status s = lamina_trainer_load_state(g_victim, path);
    int ok = s == want && lamina_last_error()[0] != '\0';
    if (!victim_unchanged()) {
        g_changed++;
        CHECK(0, "%s: the refused load changed the trainer", what);
    }
    if (!ok && g_verbose)
        printf("   %s: %s \"%s\"\n", what, lamina_status_string(s), lamina_last_error());
    return ok;
}

static void test_refusals(void)
{
    const char *cfg = "{\"optimizer\": \"adam\", \"learning_rate\": 0.01}";
    lamina_model *other = NULL;
    lamina_trainer *t = NULL;
    unsigned char *file = NULL;
    size_t len = 0, i, bad;
    char first[256] = "";

    section("refused loads leave the trainer unchanged");
    g_victim_model = MK(MLP);
    g_shadow_model = MK(MLP);
    if (!g_victim_model || !g_shadow_model) return;
    g_victim = MKT(g_victim_model, cfg);
    g_shadow = MKT(g_shadow_model, cfg);
    if (!g_victim || !g_shadow) return;
    for (i = 0; i < 3; i++) {
        CHECK_OK(lamina_trainer_step(g_victim, g_x2, g_y2, N, NULL));
        CHECK_OK(lamina_trainer_step(g_shadow, g_x2, g_y2, N, NULL));
    }
    CHECK_OK(lamina_trainer_save_state(g_victim, P("victim.safetensors")));
    g_before = read_all(P("victim.safetensors"), &g_before_len);
    if (!CHECK(g_before && g_before_len > 64, "cannot read the victim's state")) return;

    /* the state to damage: another trainer of the same model kind, 5 steps in */
    {
        lamina_model *m = MK(MLP);
        lamina_trainer *tm = m ? MKT(m, cfg) : NULL;
        for (i = 0; tm && i < 5; i++) CHECK_OK(lamina_trainer_step(tm, g_x2, g_y2, N / 2, NULL));
        if (tm) CHECK_OK(lamina_trainer_save_state(tm, P("whole.safetensors")));
        if (m) CHECK_OK(lamina_model_save(m, P("model.safetensors")));
        lamina_trainer_free(tm);
        lamina_model_free(m);
    }
    file = read_all(P("whole.safetensors"), &len);
    if (!CHECK(file != NULL && len > 64, "cannot read the saved state")) goto out;

    bad = 0;
    for (i = 0; i < len; i++) {
        if (!write_all(P("cut.safetensors"), file, i)) continue;
        if (!refused(P("cut.safetensors"), LAMINA_E_FORMAT, "truncated") && bad++ == 0)
            snprintf(first, sizeof first, "length %zu: %s", i, lamina_last_error());
    }
    printf("   %zu truncations\n", len);
    CHECK(bad == 0, "%zu of %zu truncations not refused with LAMINA_E_FORMAT; first %s", bad, len, first);

    bad = 0;
    for (i = 0; i < len; i++) {
        lamina_status s;
        file[i] ^= 1;
        write_all(P("flip.safetensors"), file, len);
        file[i] ^= 1;
        s = lamina_trainer_load_state(g_victim, P("flip.safetensors"));
        if (s == LAMINA_OK && bad++ == 0) snprintf(first, sizeof first, "byte %zu", i);
        if (s != LAMINA_OK && !victim_unchanged()) {
            g_changed++;
            CHECK(0, "flipped byte %zu: the refused load changed the trainer", i);
        }
    }
    printf("   %zu bytes flipped\n", len);
    CHECK(bad == 0, "%zu of %zu one-byte changes loaded; first at %s", bad, len, first);

    CHECK(refused(P("model.safetensors"), LAMINA_E_FORMAT, "model file"), "a model file was not refused");
    CHECK(strstr(lamina_last_error(), "model file") != NULL, "message: %s", lamina_last_error());

    /* another architecture */
    other = MK("{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [8, 9], \"output\": 1}");
    if (other && (t = MKT(other, cfg)) != NULL) {
        CHECK_OK(lamina_trainer_save_state(t, P("other.safetensors")));
        CHECK(refused(P("other.safetensors"), LAMINA_E_SHAPE, "another model"), "another model's state");
        CHECK(strstr(lamina_last_error(), "\"2.weight\"") != NULL, "message names the tensor: %s",
              lamina_last_error());
    }
    lamina_trainer_free(t);
    t = NULL;
    lamina_model_free(other);
    other = MK(KAN);
    if (other && (t = MKT(other, cfg)) != NULL) {
        CHECK_OK(lamina_trainer_save_state(t, P("other.safetensors")));
        CHECK(refused(P("other.safetensors"), LAMINA_E_SHAPE, "a KAN"), "a KAN's state");
    }
    lamina_trainer_free(t);
    t = NULL;
    lamina_model_free(other);
    other = MK(MLP);
    /* another optimizer, and the same optimizer with another beta2 */
    if (other && (t = MKT(other, "{\"optimizer\": \"sgd\", \"momentum\": 0.9}")) != NULL) {
        CHECK_OK(lamina_trainer_step(t, g_x2, g_y2, N, NULL));
        CHECK_OK(lamina_trainer_save_state(t, P("other.safetensors")));
        CHECK(refused(P("other.safetensors"), LAMINA_E_INVALID_ARGUMENT, "sgd"), "an sgd state");
        CHECK(strstr(lamina_last_error(), "\"optimizer\"") != NULL, "message: %s", lamina_last_error());
    }
    lamina_trainer_free(t);
    t = NULL;
    if (other && (t = MKT(other, "{\"optimizer\": \"lbfgs\"}")) != NULL) {
        CHECK_OK(lamina_trainer_save_state(t, P("other.safetensors")));
        CHECK(refused(P("other.safetensors"), LAMINA_E_INVALID_ARGUMENT, "lbfgs"), "an lbfgs state");
    }
    lamina_trainer_free(t);
    t = NULL;
    if (other && (t = MKT(other, "{\"optimizer\": \"adam\", \"beta2\": 0.99}")) != NULL) {
        CHECK_OK(lamina_trainer_save_state(t, P("other.safetensors")));
        CHECK(refused(P("other.safetensors"), LAMINA_E_INVALID_ARGUMENT, "beta2"), "another beta2");
        CHECK(strstr(lamina_last_error(), "\"beta2\": 0.99") != NULL, "message: %s", lamina_last_error());
    }
    lamina_trainer_free(t);
    t = NULL;
    lamina_model_free(other);
    other = NULL;

    CHECK(refused(P("missing.safetensors"), LAMINA_E_IO, "missing file"), "a missing file");
    CHECK(refused(g_dir, LAMINA_E_IO, "a directory"), "a directory");
    CHECK(refused("", LAMINA_E_INVALID_ARGUMENT, "empty path"), "an empty path");
    CHECK(refused(NULL, LAMINA_E_INVALID_ARGUMENT, "NULL path"), "a NULL path");
    CHECK_ST(lamina_trainer_load_state(NULL, P("whole.safetensors")), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_trainer_save_state(NULL, P("x.safetensors")), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_trainer_save_state(g_victim, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_trainer_save_state(g_victim, ""), LAMINA_E_INVALID_ARGUMENT);
    CHECK(g_changed == 0, "%d refused loads changed the trainer", g_changed);

    /* after all of that, the victim steps as the trainer that saw none of it */
    for (i = 0; i < 3; i++) {
        CHECK_OK(lamina_trainer_step(g_victim, g_x2, g_y2, N, NULL));
        CHECK_OK(lamina_trainer_step(g_shadow, g_x2, g_y2, N, NULL));
    }
    CHECK(same_tensors(g_victim_model, g_shadow_model), "the victim's steps differ after the refusals");

    /* and a good state still loads into it */
    CHECK_OK(lamina_trainer_load_state(g_victim, P("whole.safetensors")));
out:
    free(file);
    free(g_before);
    lamina_trainer_free(g_victim);
    lamina_trainer_free(g_shadow);
    lamina_model_free(g_victim_model);
    lamina_model_free(g_shadow_model);
    remove(P("whole.safetensors"));
    remove(P("model.safetensors"));
    remove(P("cut.safetensors"));
    remove(P("flip.safetensors"));
    remove(P("other.safetensors"));
    remove(P("victim.safetensors"));
    remove(P("victim-now.safetensors"));
}

/* ---- atomic saves ------------------------------------------------------------------------- */

static void test_atomic_save(void)
{
    lamina_model *m = MK(MLP);
    lamina_trainer *t = m ? MKT(m, "{\"optimizer\": \"adam\"}") : NULL;
    char names[512];
    unsigned char *one = NULL, *two = NULL;
    size_t n1 = 0, n2 = 0;
    section("saving a state is atomic");
    if (!t) goto out;
    mkdir(P("target"), 0755);
    CHECK_ST(lamina_trainer_save_state(t, P("target")), LAMINA_E_IO);
    CHECK(dir_entries(g_dir, names, sizeof names, NULL, NULL) == 1, "left in the directory: %s", names);
    rmdir(P("target"));
    CHECK_ST(lamina_trainer_save_state(t, P("no/such/dir/s.safetensors")), LAMINA_E_IO);
    CHECK(dir_entries(g_dir, names, sizeof names, NULL, NULL) == 0, "left in the directory: %s", names);

    /* disk full: a child whose files may not exceed 4096 bytes (write fails with EFBIG, as
    ** on a full disk) saves a larger state over a small one */
    {
        lamina_model *big = MK("{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [64], \"output\": 1}");
        lamina_trainer *tb = big ? MKT(big, "{\"optimizer\": \"adam\"}") : NULL;
        int status = -1;
        pid_t pid;
        CHECK_OK(lamina_trainer_save_state(t, P("s.safetensors")));
        one = read_all(P("s.safetensors"), &n1);
        fflush(stdout);
        fflush(stderr);
        pid = tb && one && n1 < 4096 ? fork() : -1;
        if (pid == 0) {
            struct rlimit lim;
            signal(SIGXFSZ, SIG_IGN);
            getrlimit(RLIMIT_FSIZE, &lim);
            lim.rlim_cur = 4096;
            setrlimit(RLIMIT_FSIZE, &lim);
            _exit((int)lamina_trainer_save_state(tb, P("s.safetensors")));
        }
        if (pid > 0) waitpid(pid, &status, 0);
        CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == LAMINA_E_IO,
              "a save past the file size limit did not fail with LAMINA_E_IO (status %d)", status);
        two = read_all(P("s.safetensors"), &n2);
        CHECK(one && two && n1 == n2 && memcmp(one, two, n1) == 0, "the failed save changed the old file");
        CHECK(dir_entries(g_dir, names, sizeof names, NULL, NULL) == 1, "left in the directory: %s", names);
        free(one);
        free(two);
        one = two = NULL;
        remove(P("s.safetensors"));
        lamina_trainer_free(tb);
        lamina_model_free(big);
    }

    /* a save over an existing state replaces it whole */
    CHECK_OK(lamina_trainer_save_state(t, P("s.safetensors")));
    one = read_all(P("s.safetensors"), &n1);
    CHECK_OK(lamina_trainer_step(t, g_x2, g_y2, N, NULL));
    CHECK_OK(lamina_trainer_save_state(t, P("s.safetensors")));
    two = read_all(P("s.safetensors"), &n2);
    CHECK(one && two && n2 > n1 - 16 && memcmp(one, two, n1 < n2 ? n1 : n2) != 0, "the save did not replace the file");
    CHECK_OK(lamina_trainer_load_state(t, P("s.safetensors")));
    CHECK(dir_entries(g_dir, names, sizeof names, NULL, NULL) == 1, "left in the directory: %s", names);
out:
    free(one);
    free(two);
    remove(P("s.safetensors"));
    lamina_trainer_free(t);
    lamina_model_free(m);
}

int main(void)
{
    check_init();
    make_data();
    /* tmpfs when there is one: the refusal checks save thousands of states, and each save
    ** syncs its file to disk */
    snprintf(g_dir, sizeof g_dir, "%s", access("/dev/shm", W_OK) == 0 ? "/dev/shm/lamina-state-XXXXXX"
                                                                          : "state-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_resume();
    test_changed_settings();
    test_save_in_callback();
    test_refusals();
    test_atomic_save();
    {
        char names[512];
        int left = dir_entries(g_dir, names, sizeof names, NULL, NULL);
        CHECK(left == 0, "left in the test directory: %s", names);
    }
    rmdir(g_dir);
    return check_summary();
}
