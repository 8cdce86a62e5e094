/*
** test_abi_predict.c -- prediction and input gradients, and the read-only calls from many
** threads at once (see abi_harness.h).
*/
#define _XOPEN_SOURCE 700

#include "abi_harness.h"
#include "dir_entries.h"

static float g_x[REF_N * 3]; /* inputs of the reference-sized batch */

/* =======================================================================================
** Prediction and input gradients
*/

static void test_predict(void)
{
    lamina_model *m;
    float y[REF_N * 2], y1[2], g[REF_N * 6];
    size_t i, k;
    section("predict");
    m = MK(REF_SPEC);
    if (!m) return;
    /* "n = 0 is allowed and does nothing." */
    for (i = 0; i < REF_N * 2; i++) y[i] = 42.0f;
    CHECK_OK(lamina_model_predict(m, g_x, 0, y));
    CHECK(y[0] == 42.0f && y[REF_N * 2 - 1] == 42.0f, "n = 0 wrote to y");
    CHECK_OK(lamina_model_input_gradient(m, g_x, 0, g));
    /* Row-major layout: a batch agrees with one-at-a-time evaluation. */
    CHECK_OK(lamina_model_predict(m, g_x, REF_N, y));
    for (i = 0; i < REF_N; i++) {
        CHECK_OK(lamina_model_predict(m, g_x + 3 * i, 1, y1));
        for (k = 0; k < 2; k++)
            CHECK(fabsf(y1[k] - y[2 * i + k]) <= 1e-5f * (1.0f + fabsf(y1[k])),
                  "sample %zu output %zu: batch %.9g vs single %.9g", i, k, y[2 * i + k], y1[k]);
    }
    lamina_model_free(m);
}

/* One table of activations; each joins the finite-difference gradient check. */
static const struct {
    const char *act;
    int kinked; /* derivative jumps somewhere: skip points straddling a kink */
} g_acts[] = {
    {"\"identity\"", 0},
    {"\"relu\"", 1},
    {"{\"name\": \"leaky_relu\", \"negative_slope\": 0.1}", 1},
    {"\"prelu\"", 1},
    {"\"elu\"", 0},
    {"{\"name\": \"elu\", \"alpha\": 0.5}", 1},
    {"\"selu\"", 1},
    {"\"celu\"", 0},
    {"\"gelu\"", 0},
    {"{\"name\": \"gelu\", \"approximate\": \"tanh\"}", 0},
    {"\"silu\"", 0},
    {"\"swish\"", 0},
    {"\"mish\"", 0},
    {"\"softplus\"", 0},
    {"{\"name\": \"softplus\", \"beta\": 2, \"threshold\": 10}", 0},
    {"\"tanh\"", 0},
    {"\"sigmoid\"", 0},
    {"\"hardtanh\"", 1},
    {"\"hardsigmoid\"", 1},
    {"\"hardswish\"", 1},
    {"\"softsign\"", 0},
    {"\"sine\"", 0},
    {"{\"name\": \"sine\", \"omega_0\": 5}", 0},
};

static void test_gradients(void)
{
    enum { IN = 3, OUT = 2, NS = 6 };
    size_t a;
    section("input_gradient vs central finite differences");
    for (a = 0; a < sizeof g_acts / sizeof g_acts[0]; a++) {
        char spec[512];
        lamina_model *m;
        float x[NS * IN], g[NS * OUT * IN], y0[NS * OUT];
        size_t s, i, k, bad = 0, skipped = 0, total = 0;
        char first[256] = "";
        snprintf(spec, sizeof spec,
                 "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8, 8], \"output\": 2,"
                 " \"activation\": %s, \"output_activation\": \"identity\", \"seed\": 11}",
                 g_acts[a].act);
        m = MK(spec);
        if (!m) continue;
        fill_rand(x, NS * IN);
        if (!CHECK_OK(lamina_model_input_gradient(m, x, NS, g)) ||
            !CHECK_OK(lamina_model_predict(m, x, NS, y0))) {
            lamina_model_free(m);
            continue;
        }
        for (s = 0; s < NS; s++) {
            for (i = 0; i < IN; i++) {
                float xp[IN], xm[IN], yp[OUT], ym[OUT];
                const float h = 1e-3f;
                memcpy(xp, x + s * IN, sizeof xp);
                memcpy(xm, x + s * IN, sizeof xm);
                xp[i] += h;
                xm[i] -= h;
                if (lamina_model_predict(m, xp, 1, yp) != LAMINA_OK ||
                    lamina_model_predict(m, xm, 1, ym) != LAMINA_OK) {
                    bad++;
                    continue;
                }
                for (k = 0; k < OUT; k++) {
                    float an = g[(s * OUT + k) * IN + i];
                    float fd = (yp[k] - ym[k]) / (xp[i] - xm[i]);
                    float fwd = (yp[k] - y0[s * OUT + k]) / (xp[i] - x[s * IN + i]);
                    float bwd = (y0[s * OUT + k] - ym[k]) / (x[s * IN + i] - xm[i]);
                    total++;
                    if (g_acts[a].kinked && fabsf(fwd - bwd) > 1e-2f * (1.0f + fabsf(fwd) + fabsf(bwd))) {
                        skipped++;
                        continue;
                    }
                    if (!(fabsf(an - fd) <= 5e-3f * (1.0f + fabsf(an)))) {
                        if (!bad)
                            snprintf(first, sizeof first, "sample %zu dy%zu/dx%zu: analytic %.6g, FD %.6g",
                                     s, k, i, an, fd);
                        bad++;
                    }
                }
            }
        }
        CHECK(bad == 0, "activation %s: %zu of %zu gradient entries disagree; first: %s", g_acts[a].act,
              bad, total, first);
        CHECK(skipped * 4 <= total, "activation %s: %zu of %zu entries at kinks", g_acts[a].act, skipped,
              total);
        /* The activation and its parameters survive a save and load. */
        if (CHECK_OK(lamina_model_save(m, P("act.safetensors")))) {
            lamina_model *l = NULL;
            float yl[NS * OUT];
            if (CHECK_OK(lamina_model_load(P("act.safetensors"), &l)) && l) {
                CHECK_OK(lamina_model_predict(l, x, NS, yl));
                CHECK(memcmp(yl, y0, sizeof yl) == 0, "activation %s: reloaded model predicts differently",
                      g_acts[a].act);
                lamina_model_free(l);
            }
            remove(P("act.safetensors"));
        }
        lamina_model_free(m);
    }
}

/* =======================================================================================
** Concurrency: "READ-ONLY: safe from many threads at once"
*/

#define NTHREADS 8
#define TH_N 257
#define TH_SPEC                                                                                 \
    "{\"kind\": \"mlp\", \"input\": 4, \"hidden\": [64, 64], \"output\": 3, \"activation\": \"silu\"," \
    " \"seed\": 5}"

typedef struct {
    const lamina_model *m;
    const float *x, *y0, *g0, *v0;
    const char *save_path;
    pthread_barrier_t *bar;
    int idx;
    int initial_empty, pred_ok, grad_ok, vjp_ok, save_ok, err_kept, err_status_ok;
    lamina_status save_st;
    char msg[512], save_msg[512];
} thr_job;

static void *thr_run(void *p)
{
    thr_job *j = (thr_job *)p;
    float *y = falloc(TH_N * 3), *g = falloc(TH_N * 3 * 4), *v = falloc(TH_N * 4);
    const float xnan[4] = {0.0f, NAN, 0.0f, 0.0f};
    const char *e = lamina_last_error();
    lamina_status s;
    int r;
    /* "" if no failure yet on this thread */
    j->initial_empty = e != NULL && e[0] == '\0';
    j->pred_ok = j->grad_ok = j->vjp_ok = j->save_ok = 1;
    pthread_barrier_wait(j->bar);
    for (r = 0; r < 12; r++) {
        if (lamina_model_predict(j->m, j->x, TH_N, y) != LAMINA_OK ||
            memcmp(y, j->y0, TH_N * 3 * sizeof(float)) != 0)
            j->pred_ok = 0;
        if (lamina_model_input_gradient(j->m, j->x, TH_N, g) != LAMINA_OK ||
            memcmp(g, j->g0, TH_N * 12 * sizeof(float)) != 0)
            j->grad_ok = 0;
        /* lamina_model_vjp is READ-ONLY too (dy: the outputs y0, n x 3). */
        if (lamina_model_vjp(j->m, j->x, TH_N, j->y0, v) != LAMINA_OK ||
            memcmp(v, j->v0, TH_N * 4 * sizeof(float)) != 0)
            j->vjp_ok = 0;
        /* "save ... READ-ONLY: may run while other threads predict" */
        if (r % 4 == j->idx % 4) {
            s = lamina_model_save(j->m, j->save_path);
            if (s != LAMINA_OK && j->save_ok) {
                j->save_ok = 0;
                j->save_st = s;
                snprintf(j->save_msg, sizeof j->save_msg, "%s", lamina_last_error());
            }
        }
    }
    /* "Thread-safe: each thread has its own message." */
    if (j->idx % 2 == 0) {
        s = lamina_model_predict(NULL, j->x, 1, y);
        j->err_status_ok = s == LAMINA_E_INVALID_ARGUMENT;
    } else {
        s = lamina_model_predict(j->m, xnan, 1, y);
        j->err_status_ok = s == LAMINA_E_NUMERIC;
    }
    e = lamina_last_error();
    snprintf(j->msg, sizeof j->msg, "%s", e ? e : "");
    pthread_barrier_wait(j->bar); /* every thread has now failed once */
    e = lamina_last_error();
    j->err_kept = e != NULL && j->msg[0] != '\0' && strcmp(e, j->msg) == 0;
    free(y);
    free(g);
    free(v);
    return NULL;
}

static void test_threads(void)
{
    lamina_model *m, *loaded = NULL;
    float *x, *y0, *g0, *v0, *y1;
    pthread_t th[NTHREADS];
    thr_job jobs[NTHREADS];
    pthread_barrier_t bar;
    int t, started = 0;
    section("8 threads predicting, differentiating (input gradients, vjp) and saving one model");
    m = MK(TH_SPEC);
    if (!m) return;
    x = falloc(TH_N * 4);
    y0 = falloc(TH_N * 3);
    y1 = falloc(TH_N * 3);
    g0 = falloc(TH_N * 12);
    v0 = falloc(TH_N * 4);
    fill_rand(x, TH_N * 4);
    CHECK_OK(lamina_model_predict(m, x, TH_N, y0));
    CHECK_OK(lamina_model_input_gradient(m, x, TH_N, g0));
    CHECK_OK(lamina_model_vjp(m, x, TH_N, y0, v0));
    pthread_barrier_init(&bar, NULL, NTHREADS);
    for (t = 0; t < NTHREADS; t++) {
        memset(&jobs[t], 0, sizeof jobs[t]);
        jobs[t].m = m;
        jobs[t].x = x;
        jobs[t].y0 = y0;
        jobs[t].g0 = g0;
        jobs[t].v0 = v0;
        jobs[t].save_path = P("threads.safetensors");
        jobs[t].bar = &bar;
        jobs[t].idx = t;
    }
    for (t = 0; t < NTHREADS; t++) {
        if (pthread_create(&th[t], NULL, thr_run, &jobs[t]) != 0) break;
        started++;
    }
    CHECK(started == NTHREADS, "could start only %d threads", started);
    if (started != NTHREADS) {
        /* the barrier would never open; nothing sane to do */
        fprintf(stderr, "%s: cannot start threads\n", g_program);
        exit(2);
    }
    for (t = 0; t < NTHREADS; t++) pthread_join(th[t], NULL);
    pthread_barrier_destroy(&bar);
    for (t = 0; t < NTHREADS; t++) {
        CHECK(jobs[t].initial_empty, "thread %d: lamina_last_error() not \"\" before any failure", t);
        CHECK(jobs[t].pred_ok, "thread %d: concurrent predict differs from single-threaded", t);
        CHECK(jobs[t].grad_ok, "thread %d: concurrent input_gradient differs from single-threaded", t);
        CHECK(jobs[t].vjp_ok, "thread %d: concurrent vjp differs from single-threaded", t);
        CHECK(jobs[t].save_ok, "thread %d: concurrent save to one path failed: %s (\"%s\")", t,
              sname(jobs[t].save_st), jobs[t].save_msg);
        CHECK(jobs[t].err_status_ok, "thread %d: wrong status for its bad call", t);
        CHECK(jobs[t].err_kept, "thread %d: its last_error changed when other threads failed (\"%s\")",
              t, jobs[t].msg);
    }
    if (CHECK_OK(lamina_model_load(P("threads.safetensors"), &loaded)) && loaded) {
        CHECK_OK(lamina_model_predict(loaded, x, TH_N, y1));
        CHECK(memcmp(y0, y1, TH_N * 3 * sizeof(float)) == 0, "concurrently saved file predicts differently");
        lamina_model_free(loaded);
    }
    CHECK(dir_entries(g_dir, NULL, 0, NULL, NULL) >= 0, "temp dir readable");
    remove(P("threads.safetensors"));
    {
        char names[512];
        int n = dir_entries(g_dir, names, sizeof names, NULL, NULL);
        CHECK(n == 0, "concurrent saves left files behind: %s", names);
    }
    free(x);
    free(y0);
    free(y1);
    free(g0);
    free(v0);
    lamina_model_free(m);
}

/* Separate models on separate threads: create, fit and load are thread-safe, and a model's
** training does not depend on what other threads do ("bit-identical weights ... across runs"). */
#define TT_THREADS 4
#define TT_N 256
static const char *TT_SPEC =
    "{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [32, 32], \"output\": 1, \"activation\": \"tanh\", \"seed\": 4}";
static const char *TT_CFG = "{\"optimizer\": \"adam\", \"learning_rate\": 0.01, \"batch_size\": 32, \"epochs\": 4,"
                            " \"seed\": 9, \"validation_split\": 0.1}";

typedef struct {
    const float *x, *y, *yq_want;
    const snap *want;
    const char *path;
    int trained_same, loaded_same;
    char msg[256];
} train_job;

static void *train_run(void *p)
{
    train_job *j = (train_job *)p;
    lamina_model *m = NULL, *l = NULL;
    lamina_trainer *t = NULL;
    float yq[TT_N];
    if (lamina_model_create(TT_SPEC, &m) != LAMINA_OK || lamina_trainer_create(m, TT_CFG, &t) != LAMINA_OK ||
        lamina_trainer_fit(t, j->x, j->y, TT_N, NULL, NULL, NULL) != LAMINA_OK) {
        snprintf(j->msg, sizeof j->msg, "%s", lamina_last_error());
    } else {
        snap s = take_snap(m);
        j->trained_same = snap_equal(&s, j->want);
        free(s.v);
    }
    if (lamina_model_load(j->path, &l) == LAMINA_OK && lamina_model_predict(l, j->x, TT_N, yq) == LAMINA_OK)
        j->loaded_same = memcmp(yq, j->yq_want, sizeof yq) == 0;
    lamina_model_free(l);
    lamina_trainer_free(t);
    lamina_model_free(m);
    return NULL;
}

static void test_threads_training(void)
{
    float x[TT_N * 2], y[TT_N], yq[TT_N];
    lamina_model *m;
    lamina_trainer *t;
    pthread_t th[TT_THREADS];
    train_job jobs[TT_THREADS];
    snap want;
    size_t i;
    int k, started = 0;
    section("separate models created, trained and loaded on 4 threads at once");
    for (i = 0; i < TT_N; i++) {
        x[2 * i] = frand();
        x[2 * i + 1] = frand();
        y[i] = sinf(3.0f * x[2 * i]) + x[2 * i + 1] * x[2 * i + 1];
    }
    m = MK(TT_SPEC);
    t = m ? MKT(m, TT_CFG) : NULL;
    if (!t || !CHECK_OK(lamina_trainer_fit(t, x, y, TT_N, NULL, NULL, NULL))) {
        lamina_trainer_free(t);
        lamina_model_free(m);
        return;
    }
    want = take_snap(m);
    CHECK_OK(lamina_model_save(m, P("tt.safetensors")));
    CHECK_OK(lamina_model_predict(m, x, TT_N, yq));
    for (k = 0; k < TT_THREADS; k++) {
        memset(&jobs[k], 0, sizeof jobs[k]);
        jobs[k].x = x;
        jobs[k].y = y;
        jobs[k].yq_want = yq;
        jobs[k].want = &want;
        jobs[k].path = P("tt.safetensors");
    }
    for (k = 0; k < TT_THREADS; k++) {
        if (pthread_create(&th[k], NULL, train_run, &jobs[k]) != 0) break;
        started++;
    }
    for (k = 0; k < started; k++) pthread_join(th[k], NULL);
    CHECK(started == TT_THREADS, "started %d threads", started);
    for (k = 0; k < started; k++) {
        CHECK(jobs[k].trained_same, "thread %d: training gave different weights than on the main thread %s", k,
              jobs[k].msg);
        CHECK(jobs[k].loaded_same, "thread %d: concurrent load predicts differently", k);
    }
    remove(P("tt.safetensors"));
    free(want.v);
    lamina_trainer_free(t);
    lamina_model_free(m);
}

/* =======================================================================================
** main
*/

int main(void)
{
    if (harness_begin("test_abi_predict")) return 2;
    fill_rand(g_x, 3 * REF_N);
    run_probed(test_predict, "test_predict");
    run_probed(test_gradients, "test_gradients");
    run_probed(test_threads, "test_threads");
    run_probed(test_threads_training, "test_threads_training");
    return harness_end();
}
