/*
** test_header_promises.c -- promises of include/lamina.h that a C programmer working from
** the header alone found unstated or untrue (issue 13), each section quoting what it checks:
**
**   - an empty path is LAMINA_E_INVALID_ARGUMENT for every call that takes a path, and
**     nothing is written;
**   - *out is NULL after every failing call that returns a new object through **out;
**   - lamina_model_kan_suggest_symbolic's sizing call fits nothing (its *len is a bound);
**   - lamina_trainer_fit writes *final_loss on LAMINA_E_CANCELLED, and on no other failure;
**   - a trainer keeps its state (L-BFGS memory, Adam moments) when another call changed its
**     model between its steps (lamina_model_kan_update_grid, a tensor write, another
**     trainer), and steps on from the weights as they are; lamina_trainer_fit never moves
**     KAN grids;
**   - documented bounds: validation_split and beta1/beta2 below 1 (and the messages say
**     so), learning_rate up to 1e6, tri-plane resolution from 2.
**
** Plain C99 plus POSIX (mkdtemp, chdir, clock_gettime). Run from build/ (as make test-c does).
*/
#define _POSIX_C_SOURCE 200809L

#include "check.h"
#include "model_helpers.h"
#include "dir_entries.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MLP3 "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8], \"output\": 1, \"seed\": 1}"
#define KAN231 "{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"grid\": 5, \"seed\": 3}"
#define SYM21 "{\"kind\": \"kan\", \"widths\": [2, 1], \"symbolic\": true, \"seed\": 2}"
#define N 64

static float g_x[N * 3], g_y[N];
static int g_sentinel; /* its address marks an out-pointer the call must overwrite */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Rows of g_x as `dim` inputs in [-0.8, 0.8], targets a smooth function of the first two. */
static void make_data(void)
{
    int i, d;
    for (i = 0; i < N; i++) {
        for (d = 0; d < 3; d++) g_x[3 * i + d] = (float)(((i * (d + 3) * 7) % 29) / 14.0 - 1.0) * 0.8f;
        g_y[i] = sinf(2 * g_x[3 * i]) * g_x[3 * i + 1] + 0.3f;
    }
}

/* g_x's first two columns, for the two-input KANs. */
static void two_columns(float *x2)
{
    int i;
    for (i = 0; i < N; i++) {
        x2[2 * i] = g_x[3 * i];
        x2[2 * i + 1] = g_x[3 * i + 1];
    }
}

/* ---- empty paths ----------------------------------------------------------------------- */

static int empty_refused(lamina_status s, const char *function)
{
    const char *m = lamina_last_error();
    return s == LAMINA_E_INVALID_ARGUMENT && strstr(m, function) != NULL &&
           strstr(m, "path is empty") != NULL;
}

/* "Paths are ... not empty: NULL and "" are LAMINA_E_INVALID_ARGUMENT before any file is
** touched (lamina_model_save, _load, lamina_mesh_save, _load)." A model save to "" used to
** write ".tmp-XXXXXX" in the working directory and fail to rename it to "" (LAMINA_E_IO). */
static void test_empty_paths(void)
{
    static const float v[9] = {0, 0, 0, 1, 0, 0, 0, 1, 0};
    static const uint32_t f[3] = {0, 1, 2};
    lamina_model *m = NULL, *loaded = NULL;
    lamina_mesh *mesh = NULL, *mesh_loaded = NULL;
    char dir[] = "lamina-paths-XXXXXX", names[256];
    section("an empty path is LAMINA_E_INVALID_ARGUMENT for every call that takes a path");
    m = MK(MLP3);
    if (!m || !CHECK_OK(lamina_mesh_create(v, 3, f, 1, &mesh))) goto out;
    if (!CHECK(mkdtemp(dir) != NULL, "mkdtemp") || !CHECK(chdir(dir) == 0, "chdir %s", dir))
        goto out;
    CHECK(empty_refused(lamina_model_save(m, ""), "lamina_model_save"), "model save: \"%s\"",
          lamina_last_error());
    loaded = (lamina_model *)(void *)&g_sentinel;
    CHECK(empty_refused(lamina_model_load("", &loaded), "lamina_model_load"), "model load: \"%s\"",
          lamina_last_error());
    CHECK(loaded == NULL, "model load left *out set");
    CHECK(empty_refused(lamina_mesh_save(mesh, ""), "lamina_mesh_save"), "mesh save: \"%s\"",
          lamina_last_error());
    mesh_loaded = (lamina_mesh *)(void *)&g_sentinel;
    CHECK(empty_refused(lamina_mesh_load("", &mesh_loaded), "lamina_mesh_load"),
          "mesh load: \"%s\"", lamina_last_error());
    CHECK(mesh_loaded == NULL, "mesh load left *out set");
    /* The same calls with a real name still work here (the directory is writable). */
    CHECK_OK(lamina_model_save(m, "m.safetensors"));
    CHECK(dir_entries(".", names, sizeof names, "m.safetensors", NULL) == 0,
          "the empty-path calls wrote: %s", names);
    CHECK(chdir("..") == 0, "chdir back");
    rmdir(dir);
out:
    lamina_model_free(m);
    lamina_mesh_free(mesh);
}

/* ---- *out on failure ------------------------------------------------------------------- */

/* `call` fails and sets *out to NULL: `out` starts as a non-NULL sentinel. */
#define EXPECT_OUT_NULL(out, call)                                                            \
    do {                                                                                      \
        lamina_status st_;                                                                    \
        (out) = (void *)&g_sentinel;                                                          \
        st_ = (call);                                                                         \
        CHECK(st_ != LAMINA_OK && (out) == NULL, "%s: %s, *out %s", #call,                   \
              lamina_status_string(st_), (out) == NULL ? "NULL" : "not set to NULL");         \
    } while (0)

/* "A call that makes a new object returns it through `**out`: it sets *out to NULL before
** anything else (when out is not NULL), so after any failure *out is NULL": all 13 of them. */
static void test_out_null_on_failure(void)
{
    static const float v[9] = {0, 0, 0, 1, 0, 0, 0, 1, 0}, grid[8] = {0};
    static const uint32_t bad_face[3] = {0, 1, 7};
    lamina_model *mlp = MK(MLP3), *m;
    lamina_mesh *mesh;
    lamina_trainer *t;
    section("*out is NULL after every failing call that returns an object");
    if (!mlp) return;
    EXPECT_OUT_NULL(m, lamina_model_create("{\"kind\": \"mlp\", \"output\": 1}", &m));
    EXPECT_OUT_NULL(m, lamina_model_clone(NULL, &m));
    EXPECT_OUT_NULL(m, lamina_model_load("no-such-dir/model.safetensors", &m));
    EXPECT_OUT_NULL(m, lamina_model_kan_refine(mlp, 10, NULL, 0, &m));
    EXPECT_OUT_NULL(m, lamina_model_kan_prune(mlp, g_x, N, 0.01f, 0.03f, &m));
    EXPECT_OUT_NULL(m, lamina_model_kan_keep_strongest(mlp, &m));
    EXPECT_OUT_NULL(m, lamina_model_triplane_upsample(mlp, 64, &m));
    EXPECT_OUT_NULL(mesh, lamina_model_extract_mesh(mlp, 1, 0.0f, NULL, &mesh));
    EXPECT_OUT_NULL(t, lamina_trainer_create(mlp, "{\"optimizer\": \"nope\"}", &t));
    EXPECT_OUT_NULL(mesh, lamina_mesh_create(v, 3, bad_face, 1, &mesh));
    EXPECT_OUT_NULL(mesh, lamina_mesh_load("no-such-dir/mesh.obj", &mesh));
    EXPECT_OUT_NULL(mesh, lamina_marching_cubes(grid, 2, 2, 2, NULL, NAN, &mesh));
    EXPECT_OUT_NULL(mesh, lamina_shape_mesh("{\"type\": \"blob\"}", 8, NULL, &mesh));
    lamina_model_free(mlp);
}

/* ---- suggest_symbolic's sizing call ----------------------------------------------------- */

static char *suggest(lamina_model *m, const float *x, size_t n, size_t cap, size_t *len,
                     double *seconds)
{
    char *buf = malloc(cap);
    double t0 = now();
    lamina_status s = buf ? lamina_model_kan_suggest_symbolic(m, 0, 0, 0, x, n, 0.8f, buf, cap, len)
                          : LAMINA_E_OUT_OF_MEMORY;
    *seconds = now() - t0;
    if (!CHECK_OK(s)) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* "The sizing call (buf NULL, cap 0) checks every argument, as the filling call does, but
** fits nothing: it sets *len to an upper bound on the text's length, the same for every edge,
** x and n ... The call with a buffer fits and sets *len to the text's actual length; a buffer
** of the bound's size plus one is always enough ... each filling call searches afresh." One
** edge at n = 1000 once took 15.6 s to size and 18.4 s to fill. */
static void test_suggest_sizing(void)
{
    lamina_model *m = MK(SYM21), *plain = MK("{\"kind\": \"kan\", \"widths\": [2, 1]}");
    size_t big_n = 200000, bound = 0, bound_small = 0, len = 0, len2 = 0, i;
    float *big = malloc(big_n * 2 * sizeof *big), x[N * 2], x_other[N * 2], coef[16], bad[4];
    double t_big, t_small, t_fill, t_fill2;
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    section("suggest_symbolic: the sizing call fits nothing, *len is a bound");
    if (!m || !plain || !big) goto out;
    two_columns(x);
    for (i = 0; i < 2 * N; i++) x_other[i] = 0.5f * x[i] + 0.1f;
    for (i = 0; i < 2 * big_n; i++) big[i] = x[i % (2 * N)];
    /* At n = 200000 a search would take many minutes (its cost grows with n). */
    t_big = now();
    CHECK_OK(lamina_model_kan_suggest_symbolic(m, 0, 0, 0, big, big_n, 0.8f, NULL, 0, &bound));
    t_big = now() - t_big;
    CHECK(t_big < 2.0, "sizing at n = %zu took %.2f s", big_n, t_big);
    t_small = now();
    CHECK_OK(lamina_model_kan_suggest_symbolic(m, 0, 0, 0, x, 16, 0.3f, NULL, 0, &bound_small));
    t_small = now() - t_small;
    CHECK(bound == bound_small && bound > 100, "the bound depends on n or weight_simple: %zu, %zu",
          bound, bound_small);
    /* A buffer of bound + 1 bytes is always enough: one call fills it. */
    a = suggest(m, x, 16, bound + 1, &len, &t_fill);
    if (!a) goto out;
    CHECK(len == strlen(a) && len <= bound && 2 * len > bound,
          "filled length %zu, bound %zu", len, bound);
    CHECK(a[0] == '[' && strstr(a, "\"name\": \"x\"") && strstr(a, "\"score\""), "text %.80s", a);
    CHECK(t_small * 10 < t_fill, "sizing took %.4f s, filling %.4f s: the sizing call searched",
          t_small, t_fill);
    /* Two fills of the same edge and samples give the same text; other samples or other weights
    ** give a fresh result (nothing is reused across calls). */
    b = suggest(m, x, 16, bound + 1, &len2, &t_fill2);
    CHECK(b && len2 == len && strcmp(a, b) == 0, "a second fill differs");
    c = suggest(m, x_other, 16, bound + 1, &len2, &t_fill2);
    CHECK(c && strcmp(a, c) != 0, "other samples gave the same fits");
    if (CHECK_OK(lamina_model_tensor_read(m, "0.coef", coef, 16))) {
        for (i = 0; i < 16; i++) coef[i] = -2 * coef[i] + 0.05f * (float)i;
        CHECK_OK(lamina_model_tensor_write(m, "0.coef", coef, 16));
        d = suggest(m, x, 16, bound + 1, &len2, &t_fill2);
        CHECK(d && strcmp(a, d) != 0, "other weights gave the same fits");
    }
    /* A buffer too small for the text: refused, *len the text's length. */
    len2 = 0;
    {
        char small[16];
        CHECK_ST(lamina_model_kan_suggest_symbolic(m, 0, 0, 0, x, 16, 0.8f, small, sizeof small,
                                                   &len2),
                 LAMINA_E_INVALID_ARGUMENT);
        CHECK(len2 > sizeof small && len2 <= bound, "too-small buffer: *len %zu", len2);
    }
    /* The sizing call checks what the filling call would. */
    bad[0] = 0.1f, bad[1] = NAN, bad[2] = 0.2f, bad[3] = 0.3f;
    CHECK_ST(lamina_model_kan_suggest_symbolic(m, 0, 0, 0, bad, 2, 0.8f, NULL, 0, &len), LAMINA_E_NUMERIC);
    CHECK_ST(lamina_model_kan_suggest_symbolic(m, 0, 0, 0, x, 0, 0.8f, NULL, 0, &len), LAMINA_E_SHAPE);
    CHECK_ST(lamina_model_kan_suggest_symbolic(m, 0, 2, 0, x, 16, 0.8f, NULL, 0, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_suggest_symbolic(m, 1, 0, 0, x, 16, 0.8f, NULL, 0, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_suggest_symbolic(m, 0, 0, 0, x, 16, 1.5f, NULL, 0, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_suggest_symbolic(m, 0, 0, 0, x, 16, 0.8f, NULL, 5, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_suggest_symbolic(m, 0, 0, 0, x, 16, 0.8f, NULL, 0, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_kan_suggest_symbolic(plain, 0, 0, 0, x, 16, 0.8f, NULL, 0, &len),
             LAMINA_E_UNSUPPORTED);
out:
    free(a);
    free(b);
    free(c);
    free(d);
    free(big);
    lamina_model_free(m);
    lamina_model_free(plain);
}

/* ---- *final_loss when a fit is cancelled -------------------------------------------------- */

typedef struct {
    int stop_at; /* 0: never */
    int calls;
    float last; /* the loss the callback was last given */
} stopper;

static int stop_cb(const lamina_progress *p, void *user)
{
    stopper *s = (stopper *)user;
    s->calls++;
    s->last = p->loss;
    return s->stop_at > 0 && s->calls >= s->stop_at;
}

/* "*final_loss (may be NULL) receives the last epoch's mean training loss; on
** LAMINA_E_CANCELLED, the loss the progress callback was last given (that epoch's, or the
** epoch's steps so far); on any other failure it is not written." */
static void test_final_loss(void)
{
    /* Cancelled at the end of epoch 2; and mid-epoch 2 (calls at steps 3, 4 = epoch 1, 6). */
    static const char *configs[] = {
        "{\"epochs\": 6, \"batch_size\": 16, \"learning_rate\": 0.01}",
        "{\"epochs\": 6, \"batch_size\": 16, \"learning_rate\": 0.01, \"progress_every\": 3}",
    };
    static const int stop_at[] = {2, 3};
    float bad_x[N * 3], loss;
    size_t c;
    section("lamina_trainer_fit's *final_loss on cancellation and on errors");
    memcpy(bad_x, g_x, sizeof bad_x);
    bad_x[7] = NAN;
    for (c = 0; c < 2; c++) {
        lamina_model *m = MK(MLP3);
        lamina_trainer *t = NULL;
        stopper s = {0, 0, NAN}, all = {0, 0, NAN};
        s.stop_at = stop_at[c];
        if (!m || !CHECK_OK(lamina_trainer_create(m, configs[c], &t))) {
            lamina_model_free(m);
            continue;
        }
        loss = -1;
        CHECK_ST(lamina_trainer_fit(t, g_x, g_y, N, stop_cb, &s, &loss), LAMINA_E_CANCELLED);
        CHECK(s.calls == stop_at[c] && isfinite(s.last) && loss == s.last,
              "%s: cancelled after %d calls: final_loss %g, the callback was told %g", configs[c],
              s.calls, loss, s.last);
        loss = -1;
        CHECK_ST(lamina_trainer_fit(t, bad_x, g_y, N, stop_cb, &s, &loss), LAMINA_E_NUMERIC);
        CHECK(loss == -1, "a failed fit wrote final_loss %g", loss);
        loss = -1;
        CHECK_OK(lamina_trainer_fit(t, g_x, g_y, N, stop_cb, &all, &loss));
        CHECK(loss == all.last && isfinite(loss), "completed fit: final_loss %g, last epoch %g", loss,
              all.last);
        lamina_trainer_free(t);
        lamina_model_free(m);
    }
}

/* ---- trainers and changes made by other calls ---------------------------------------------- */

enum change { NO_CHANGE, UPDATE_GRID, TENSOR_WRITE, OTHER_TRAINER };
static const char *g_change_names[] = {"nothing", "lamina_model_kan_update_grid",
                                       "lamina_model_tensor_write", "another trainer's step"};

/* Trains a KAN 3 steps with `config`, lets `change` happen to the model, then compares the
** trainer's next step with the first step of a new trainer on a clone: 1 when the two give the
** same weights (the trainer started afresh), 0 when not (it used its state), -1 on an error
** or a non-finite loss. */
static int step_after(const char *config, enum change change)
{
    lamina_model *m = MK(KAN231), *c = NULL;
    lamina_trainer *t = NULL, *tc = NULL, *other = NULL;
    float x[N * 2], coef[3 * 8 * 2], loss = NAN;
    int i, result = -1;
    two_columns(x);
    if (!m || !CHECK_OK(lamina_trainer_create(m, config, &t))) goto out;
    for (i = 0; i < 3; i++)
        if (!CHECK_OK(lamina_trainer_step(t, x, g_y, N, NULL))) goto out;
    switch (change) {
    case NO_CHANGE: break;
    case UPDATE_GRID:
        if (!CHECK_OK(lamina_model_kan_update_grid(m, x, N, 0.02f))) goto out;
        break;
    case TENSOR_WRITE:
        if (!CHECK_OK(lamina_model_tensor_read(m, "0.coef", coef, 2 * 3 * 8))) goto out;
        for (i = 0; i < 2 * 3 * 8; i++) coef[i] *= 0.9f;
        if (!CHECK_OK(lamina_model_tensor_write(m, "0.coef", coef, 2 * 3 * 8))) goto out;
        break;
    case OTHER_TRAINER:
        if (!CHECK_OK(lamina_trainer_create(m, "{\"optimizer\": \"sgd\", \"learning_rate\": 0.01}",
                                            &other)) ||
            !CHECK_OK(lamina_trainer_step(other, x, g_y, N, NULL)))
            goto out;
        break;
    }
    if (!CHECK_OK(lamina_model_clone(m, &c)) || !CHECK_OK(lamina_trainer_create(c, config, &tc)) ||
        !CHECK_OK(lamina_trainer_step(t, x, g_y, N, &loss)) ||
        !CHECK_OK(lamina_trainer_step(tc, x, g_y, N, NULL)) || !CHECK(isfinite(loss), "loss %g", loss))
        goto out;
    result = same_tensors(m, c);
out:
    lamina_trainer_free(t);
    lamina_trainer_free(tc);
    lamina_trainer_free(other);
    lamina_model_free(m);
    lamina_model_free(c);
    return result;
}

/* "Between its calls other calls may change the model: a tensor write,
** lamina_model_kan_update_grid ..., or another trainer of the same model. The trainer's next
** step then trains the weights as they are, and every optimizer keeps its state"
** (lamina_trainer_create): its next step is not a new trainer's first. */
static void test_trainer_after_changes(void)
{
    static const char *configs[] = {
        "{\"optimizer\": \"lbfgs\", \"max_iter\": 4, \"batch_size\": 64}",
        "{\"optimizer\": \"adam\", \"learning_rate\": 0.01, \"batch_size\": 64}",
    };
    int change, r;
    size_t c;
    section("a live trainer after another call changed its model");
    for (c = 0; c < 2; c++) {
        for (change = NO_CHANGE; change <= OTHER_TRAINER; change++) {
            r = step_after(configs[c], (enum change)change);
            CHECK(r == 0, "%s after %s: %s", configs[c], g_change_names[change],
                  r == 1 ? "the step equals a new trainer's (state dropped)" : "error");
        }
    }
}

/* lamina_trainer_fit: "It only trains: a KAN's grids are never updated here." */
static void test_fit_keeps_grids(void)
{
    static const char *configs[] = {
        "{\"epochs\": 4, \"batch_size\": 16, \"learning_rate\": 0.05}",
        "{\"optimizer\": \"lbfgs\", \"max_iter\": 5, \"epochs\": 2, \"batch_size\": 64}",
    };
    float x[N * 2], before[2 * 12], after[2 * 12], coef[3 * 8 * 2], coef_after[3 * 8 * 2];
    size_t c;
    section("lamina_trainer_fit does not move KAN grids");
    two_columns(x);
    for (c = 0; c < 2; c++) {
        lamina_model *m = MK(KAN231);
        lamina_trainer *t = NULL;
        if (!m) continue;
        if (CHECK_OK(lamina_model_tensor_read(m, "0.grid", before, 2 * 12)) &&
            CHECK_OK(lamina_model_tensor_read(m, "0.coef", coef, 2 * 3 * 8)) &&
            CHECK_OK(lamina_trainer_create(m, configs[c], &t)) &&
            CHECK_OK(lamina_trainer_fit(t, x, g_y, N, NULL, NULL, NULL)) &&
            CHECK_OK(lamina_model_tensor_read(m, "0.grid", after, 2 * 12)) &&
            CHECK_OK(lamina_model_tensor_read(m, "0.coef", coef_after, 2 * 3 * 8))) {
            CHECK(memcmp(before, after, sizeof before) == 0, "%s moved the knots", configs[c]);
            CHECK(memcmp(coef, coef_after, sizeof coef) != 0, "%s did not train", configs[c]);
        }
        lamina_trainer_free(t);
        lamina_model_free(m);
    }
}

/* ---- documented bounds -------------------------------------------------------------------- */

static int refused_saying(lamina_model *m, const char *config, const char *says, const char *not_says)
{
    lamina_trainer *t = NULL;
    lamina_status s = lamina_trainer_create(m, config, &t);
    const char *msg = lamina_last_error();
    int ok = s == LAMINA_E_INVALID_ARGUMENT && strstr(msg, says) != NULL &&
             (not_says == NULL || strstr(msg, not_says) == NULL);
    lamina_trainer_free(t);
    return ok;
}

static int accepted(lamina_model *m, const char *config)
{
    lamina_trainer *t = NULL;
    lamina_status s = lamina_trainer_create(m, config, &t);
    lamina_trainer_free(t);
    return s == LAMINA_OK;
}

/* The trainer keys' ranges as the Limits list gives them, and messages that agree. */
static void test_bounds(void)
{
    lamina_model *m = MK(MLP3), *field = NULL;
    section("documented bounds: validation_split, beta1/beta2, learning_rate, tri-plane resolution");
    if (!m) return;
    CHECK(refused_saying(m, "{\"validation_split\": 1}", "< 1", NULL), "validation_split 1: \"%s\"",
          lamina_last_error());
    CHECK(refused_saying(m, "{\"validation_split\": 1.5}", "< 1", "<= 1"),
          "validation_split 1.5: \"%s\"", lamina_last_error());
    CHECK(accepted(m, "{\"validation_split\": 0.999}"), "validation_split 0.999: %s", lamina_last_error());
    CHECK(refused_saying(m, "{\"beta1\": 1}", "< 1", NULL), "beta1 1: \"%s\"", lamina_last_error());
    CHECK(refused_saying(m, "{\"beta2\": 2}", "< 1", "<= 1"), "beta2 2: \"%s\"", lamina_last_error());
    CHECK(accepted(m, "{\"learning_rate\": 1e6}"), "learning_rate 1e6: %s", lamina_last_error());
    CHECK(refused_saying(m, "{\"learning_rate\": 1.5e6}", "<= 1000000", NULL),
          "learning_rate 1.5e6: \"%s\"", lamina_last_error());
    CHECK_ST(lamina_model_create("{\"kind\": \"triplane\", \"resolution\": 1, \"channels\": 2}", &field),
             LAMINA_E_INVALID_ARGUMENT);
    if (CHECK_OK(lamina_model_create("{\"kind\": \"triplane\", \"resolution\": 2, \"channels\": 2}",
                                     &field)))
        lamina_model_free(field);
    lamina_model_free(m);
}

int main(void)
{
    check_init();
    make_data();
    test_empty_paths();
    test_out_null_on_failure();
    test_suggest_sizing();
    test_final_loss();
    test_trainer_after_changes();
    test_fit_keeps_grids();
    test_bounds();
    return check_summary();
}
