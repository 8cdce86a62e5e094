/*
** test_misuse.c -- the thread-safety rule of include/lamina.h, checked by the library:
**
**   "Calls documented as EXCLUSIVE change a model or trainer and must not overlap any other
**    call on the same object (a trainer counts as using its model). A call that would
**    overlap an EXCLUSIVE call is refused with LAMINA_E_INVALID_ARGUMENT ..."
**
** A thread sits inside lamina_trainer_fit (its progress callback blocks until the main
** thread has tried its calls) while the main thread calls EXCLUSIVE and READ-ONLY functions
** on the same model: each is refused with a message, nothing changes, and afterwards
** everything works. Also: READ-ONLY calls overlapping each other and a save during predicts
** are allowed; a progress callback may read (not change) the model it is training; an
** EXCLUSIVE call is refused while other threads predict, and their results stay exact.
**
** Plain C99 plus POSIX threads. Run from build/ (as `make test-c` does).
*/
#define _XOPEN_SOURCE 700

#include "check.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N 256
#define MLP "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [16, 16], \"output\": 2, \"seed\": 4}"
#define OTHER_THREAD "in use by another call on another thread"
#define SAME_THREAD "further up this thread"

static float g_x[N * 3], g_y[N * 2];
static char g_path[64];

static void make_data(void)
{
    int i;
    for (i = 0; i < N; i++) {
        float a = (float)(i % 17) / 8.0f - 1.0f, b = (float)(i % 13) / 6.0f - 1.0f,
              c = (float)(i % 7) / 3.0f - 1.0f;
        g_x[3 * i] = a;
        g_x[3 * i + 1] = b;
        g_x[3 * i + 2] = c;
        g_y[2 * i] = a * b + c;
        g_y[2 * i + 1] = sinf(a) - c;
    }
}

static int refused(lamina_status s, const char *needle)
{
    return s == LAMINA_E_INVALID_ARGUMENT && strstr(lamina_last_error(), needle) != NULL &&
           strstr(lamina_last_error(), "EXCLUSIVE calls must not overlap") != NULL;
}

/* ---- a fit that parks in its progress callback -------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started; /* the callback has been entered (the fit holds the model) */
    int release; /* the main thread is done trying */
    lamina_trainer *trainer;
    lamina_status fit_status;
    int calls;
} parked_fit;

static int park(const lamina_progress *p, void *user)
{
    parked_fit *f = (parked_fit *)user;
    (void)p;
    pthread_mutex_lock(&f->mu);
    f->calls++;
    if (f->calls == 1) {
        f->started = 1;
        pthread_cond_broadcast(&f->cv);
        while (!f->release) pthread_cond_wait(&f->cv, &f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static void *run_fit(void *arg)
{
    parked_fit *f = (parked_fit *)arg;
    float loss = 0;
    f->fit_status = lamina_trainer_fit(f->trainer, g_x, g_y, N, park, f, &loss);
    return NULL;
}

static float *snapshot(lamina_model *m, const char *name, size_t *count)
{
    size_t shape[8], rank = 0, i, n = 1;
    float *v;
    if (lamina_model_tensor_shape(m, name, shape, 8, &rank) != LAMINA_OK) return NULL;
    for (i = 0; i < rank; i++) n *= shape[i];
    v = (float *)malloc(n * sizeof *v);
    if (v && lamina_model_tensor_read(m, name, v, n) != LAMINA_OK) {
        free(v);
        return NULL;
    }
    *count = n;
    return v;
}

static void test_calls_during_fit(void)
{
    lamina_model *m = NULL, *other = NULL, *clone = NULL;
    lamina_trainer *t = NULL, *t2 = NULL, *t3 = NULL;
    parked_fit f;
    pthread_t th;
    float y[N * 2], y2[N * 2], dydx[3 * 2], loss = 0;
    float *w0 = NULL, *w1 = NULL;
    float w16[16 * 3];
    size_t nw = 0, nw1 = 0, len = 0;

    section("EXCLUSIVE and READ-ONLY calls while another thread trains the model");
    if (!CHECK_OK(lamina_model_create(MLP, &m)) || !CHECK_OK(lamina_model_create(MLP, &other)) ||
        !CHECK_OK(lamina_trainer_create(m, "{\"epochs\": 3, \"batch_size\": 32, \"learning_rate\": 0.01}", &t)) ||
        !CHECK_OK(lamina_trainer_create(m, "{\"optimizer\": \"sgd\"}", &t2)))
        goto out;
    memset(&f, 0, sizeof f);
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    f.trainer = t;
    if (pthread_create(&th, NULL, run_fit, &f) != 0) {
        CHECK(0, "cannot start a thread");
        goto out;
    }
    pthread_mutex_lock(&f.mu);
    while (!f.started) pthread_cond_wait(&f.cv, &f.mu);
    pthread_mutex_unlock(&f.mu);

    /* The fit holds the model between its first and second epoch: weights as of epoch 1. */
    w0 = snapshot(other, "0.weight", &nw); /* the other model is not held: reads work */
    CHECK(w0 != NULL, "reading another model's tensor during the fit failed: %s", lamina_last_error());
    CHECK_OK(lamina_model_predict(other, g_x, N, y));
    free(w0);
    w0 = NULL;

    /* EXCLUSIVE calls on the held model */
    {
        float zeros[16 * 3];
        memset(zeros, 0, sizeof zeros);
        CHECK(refused(lamina_model_tensor_write(m, "0.weight", zeros, 16 * 3), OTHER_THREAD),
              "tensor_write during another thread's fit: \"%s\"", lamina_last_error());
    }
    CHECK(refused(lamina_trainer_step(t2, g_x, g_y, 32, &loss), OTHER_THREAD),
          "a second trainer's step during the fit: \"%s\"", lamina_last_error());
    CHECK(refused(lamina_trainer_evaluate(t, g_x, g_y, 32, &loss), OTHER_THREAD),
          "evaluate on the fitting trainer: \"%s\"", lamina_last_error());
    CHECK(refused(lamina_trainer_fit(t2, g_x, g_y, N, NULL, NULL, &loss), OTHER_THREAD),
          "a second fit on the same model: \"%s\"", lamina_last_error());
    CHECK(refused(lamina_trainer_kan_fit(t2, g_x, g_y, N, NULL, NULL, 0, "{\"steps\": 1}", NULL, NULL, NULL,
                                         NULL, NULL, 0, NULL),
                  OTHER_THREAD),
          "a kan_fit on the same model: \"%s\"", lamina_last_error());
    CHECK(refused(lamina_model_kan_update_grid(m, g_x, N, 0.02f), OTHER_THREAD),
          "kan_update_grid during the fit: \"%s\"", lamina_last_error());
    /* READ-ONLY calls on the held model */
    CHECK(refused(lamina_model_predict(m, g_x, N, y), OTHER_THREAD), "predict during the fit: \"%s\"",
          lamina_last_error());
    CHECK(refused(lamina_model_input_gradient(m, g_x, 1, dydx), OTHER_THREAD),
          "input_gradient during the fit: \"%s\"", lamina_last_error());
    CHECK(refused(lamina_model_save(m, g_path), OTHER_THREAD), "save during the fit: \"%s\"",
          lamina_last_error());
    CHECK(refused(lamina_model_clone(m, &clone), OTHER_THREAD) && clone == NULL,
          "clone during the fit: \"%s\"", lamina_last_error());
    CHECK(refused(lamina_model_tensor_read(m, "0.weight", w16, 16 * 3), OTHER_THREAD),
          "tensor_read during the fit: \"%s\"", lamina_last_error());
    CHECK(refused(lamina_model_spec(m, NULL, 0, &len), OTHER_THREAD), "spec during the fit: \"%s\"",
          lamina_last_error());
    CHECK(refused(lamina_trainer_create(m, NULL, &t3), OTHER_THREAD) && t3 == NULL,
          "trainer_create during the fit: \"%s\"", lamina_last_error());
    CHECK(refused(lamina_trainer_save_state(t, g_path), OTHER_THREAD),
          "save_state during the fit: \"%s\"", lamina_last_error());
    CHECK(refused(lamina_trainer_load_state(t2, g_path), OTHER_THREAD),
          "load_state during the fit: \"%s\"", lamina_last_error());
    /* Calls that read only what never changes stay available. */
    CHECK(lamina_model_input_dim(m) == 3 && lamina_model_output_dim(m) == 2, "dims during the fit");

    pthread_mutex_lock(&f.mu);
    f.release = 1;
    pthread_cond_broadcast(&f.cv);
    pthread_mutex_unlock(&f.mu);
    pthread_join(th, NULL);
    CHECK(f.fit_status == LAMINA_OK, "the parked fit failed: %s", lamina_status_string(f.fit_status));
    CHECK(f.calls == 3, "the fit reported %d epochs, not 3", f.calls);

    /* Afterwards everything works again, on both trainers. */
    section("after the fit: every call works");
    CHECK_OK(lamina_model_predict(m, g_x, N, y));
    CHECK_OK(lamina_model_input_gradient(m, g_x, 1, dydx));
    w1 = snapshot(m, "0.weight", &nw1);
    CHECK(w1 != NULL, "tensor read after the fit");
    if (w1) CHECK_OK(lamina_model_tensor_write(m, "0.weight", w1, nw1));
    CHECK_OK(lamina_model_predict(m, g_x, N, y2));
    CHECK(memcmp(y, y2, sizeof y) == 0, "writing back the same weights changed predictions");
    CHECK_OK(lamina_trainer_step(t2, g_x, g_y, 32, &loss));
    CHECK_OK(lamina_trainer_evaluate(t, g_x, g_y, N, &loss));
    CHECK_OK(lamina_trainer_fit(t, g_x, g_y, N, NULL, NULL, &loss));
    CHECK_OK(lamina_model_save(m, g_path));
    CHECK_OK(lamina_model_clone(m, &clone));
    lamina_model_free(clone);
    clone = NULL;
    pthread_cond_destroy(&f.cv);
    pthread_mutex_destroy(&f.mu);
out:
    free(w1);
    lamina_trainer_free(t2);
    lamina_trainer_free(t);
    lamina_model_free(other);
    lamina_model_free(m);
}

/* ---- a progress callback using the model it trains ---------------------------------------- */

typedef struct {
    lamina_model *m;
    lamina_status predict, save, write, step;
    int refused_write, refused_step;
    lamina_trainer *t;
} reentry;

static int reenter(const lamina_progress *p, void *user)
{
    reentry *r = (reentry *)user;
    float y[2 * 4], w[16 * 3], loss;
    (void)p;
    r->predict = lamina_model_predict(r->m, g_x, 4, y);
    r->save = lamina_model_save(r->m, g_path);
    if (lamina_model_tensor_read(r->m, "0.weight", w, 16 * 3) != LAMINA_OK) r->predict = LAMINA_E_INTERNAL;
    r->write = lamina_model_tensor_write(r->m, "0.weight", w, 16 * 3);
    r->refused_write = refused(r->write, SAME_THREAD);
    r->step = lamina_trainer_step(r->t, g_x, g_y, 8, &loss);
    r->refused_step = refused(r->step, SAME_THREAD);
    return 0;
}

static void test_callback_reentry(void)
{
    lamina_model *m = NULL;
    lamina_trainer *t = NULL;
    reentry r;
    float loss, y[N * 2];
    section("a progress callback may read the model it trains, not change it");
    if (!CHECK_OK(lamina_model_create(MLP, &m)) ||
        !CHECK_OK(lamina_trainer_create(m, "{\"epochs\": 2, \"batch_size\": 64}", &t)))
        goto out;
    memset(&r, 0, sizeof r);
    r.m = m;
    r.t = t;
    CHECK_OK(lamina_trainer_fit(t, g_x, g_y, N, reenter, &r, &loss));
    CHECK(r.predict == LAMINA_OK, "predict in the callback: %s", lamina_status_string(r.predict));
    CHECK(r.save == LAMINA_OK, "save in the callback: %s", lamina_status_string(r.save));
    CHECK(r.refused_write, "tensor_write in the callback was not refused (%s)", lamina_status_string(r.write));
    CHECK(r.refused_step, "trainer_step in the callback was not refused (%s)", lamina_status_string(r.step));
    CHECK_OK(lamina_model_predict(m, g_x, N, y));
    CHECK_OK(lamina_trainer_step(t, g_x, g_y, 8, &loss));
out:
    lamina_trainer_free(t);
    lamina_model_free(m);
}

/* ---- predicting threads against a writer and a saver ---------------------------------------- */

typedef struct {
    lamina_model *m;
    const float *want;
    int *stop;
    long ok, refusals, wrong, other_errors;
} predictor;

static void *run_predict(void *arg)
{
    predictor *p = (predictor *)arg;
    float y[N * 2];
    while (!__atomic_load_n(p->stop, __ATOMIC_ACQUIRE)) {
        lamina_status s = lamina_model_predict(p->m, g_x, N, y);
        if (s == LAMINA_OK) {
            p->ok++;
            if (memcmp(y, p->want, sizeof y) != 0) p->wrong++;
        } else if (refused(s, OTHER_THREAD)) {
            p->refusals++;
        } else {
            p->other_errors++;
        }
    }
    return NULL;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define NPRED 3

static void test_exclusive_during_predicts(void)
{
    lamina_model *m = NULL;
    predictor p[NPRED];
    pthread_t th[NPRED];
    int stop = 0;
    float want[N * 2];
    float *w = NULL;
    size_t nw = 0;
    long writes_refused = 0, writes_ok = 0, saves_ok = 0, saves_bad = 0, refusals = 0, ok = 0;
    int started = 0, i;
    double t0;

    section("READ-ONLY calls overlap freely; an EXCLUSIVE call during them is refused");
    if (!CHECK_OK(lamina_model_create("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [256, 256],"
                                      " \"output\": 2}", &m)))
        return;
    CHECK_OK(lamina_model_predict(m, g_x, N, want));
    w = snapshot(m, "0.weight", &nw);
    if (!CHECK(w != NULL, "tensor read")) goto out;
    for (i = 0; i < NPRED; i++) {
        memset(&p[i], 0, sizeof p[i]);
        p[i].m = m;
        p[i].want = want;
        p[i].stop = &stop;
        if (pthread_create(&th[i], NULL, run_predict, &p[i]) != 0) break;
        started++;
    }
    /* Saves (READ-ONLY) while they predict always succeed. */
    for (i = 0; i < 5; i++) {
        if (lamina_model_save(m, g_path) == LAMINA_OK) saves_ok++;
        else saves_bad++;
    }
    /* Writing back the same weights changes nothing, so every prediction that is let through
    ** must be exact; the writes overlap predictions and are refused, or slip in between. */
    t0 = seconds();
    while (seconds() - t0 < 10.0 && (writes_refused < 20 || writes_ok < 1)) {
        lamina_status s = lamina_model_tensor_write(m, "0.weight", w, nw);
        if (s == LAMINA_OK) writes_ok++;
        else if (refused(s, OTHER_THREAD)) writes_refused++;
        else {
            CHECK(0, "tensor_write during predicts: %s \"%s\"", lamina_status_string(s), lamina_last_error());
            break;
        }
        if (writes_ok < 1 && writes_refused >= 20) {
            /* let the writer in once: pause the predictors */
            __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
            for (i = 0; i < started; i++) pthread_join(th[i], NULL);
            CHECK_OK(lamina_model_tensor_write(m, "0.weight", w, nw));
            writes_ok++;
            __atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
            for (i = 0; i < started; i++) pthread_create(&th[i], NULL, run_predict, &p[i]);
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        CHECK(p[i].wrong == 0, "predictor %d: %ld of %ld predictions differ", i, p[i].wrong, p[i].ok);
        CHECK(p[i].other_errors == 0, "predictor %d: %ld unexpected errors", i, p[i].other_errors);
        refusals += p[i].refusals;
        ok += p[i].ok;
    }
    printf("   %d predicting threads: %ld predictions, %ld refused; %ld writes refused, %ld let in; "
           "%ld saves\n", started, ok, refusals, writes_refused, writes_ok, saves_ok);
    CHECK(started == NPRED, "started %d threads", started);
    CHECK(saves_bad == 0 && saves_ok == 5, "%ld saves during predicts failed", saves_bad);
    CHECK(writes_refused >= 20, "only %ld tensor_writes were refused while 3 threads predicted", writes_refused);
    CHECK(ok > 0, "no prediction got through");
    CHECK_OK(lamina_model_tensor_write(m, "0.weight", w, nw));
out:
    free(w);
    lamina_model_free(m);
}

int main(void)
{
    char dir[] = "misuse-XXXXXX";
    check_init();
    make_data();
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(g_path, sizeof g_path, "%s/m.safetensors", dir);
    test_calls_during_fit();
    test_callback_reentry();
    test_exclusive_during_predicts();
    remove(g_path);
    rmdir(dir);
    return check_summary();
}
