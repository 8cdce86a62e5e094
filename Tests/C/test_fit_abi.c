/*
** test_fit_abi.c -- checks lamina_model_fit_mesh and lamina_model_fit_config (fitting a
** field to a mesh in one call), and what lamina_trainer_fit leaves when training diverges,
** against what include/lamina.h promises for them.
*/
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *TORUS = "{\"type\": \"torus\", \"major\": 0.5, \"minor\": 0.2}";
static const char *FIELD =
    "{\"kind\": \"triplane\", \"resolution\": 32, \"channels\": 8, \"seed\": 0,"
    " \"decoder\": {\"hidden\": [32], \"activation\": \"relu\"}}";
static const char *FIT = "{\"samples\": 50000, \"steps\": 300, \"batch_size\": 4096, \"seed\": 1}";

/* Every parameter of a model, read into a new buffer of *count floats (free it). */
static float *read_weights(const lamina_model *m, size_t *count)
{
    size_t total = 0, i, at = 0, k = lamina_model_tensor_count(m);
    float *w;
    char name[256];
    size_t len, shape[8], rank;
    for (i = 0; i < k; i++) {
        size_t n = 1, d;
        lamina_model_tensor_name(m, i, name, sizeof name, &len);
        lamina_model_tensor_shape(m, name, shape, 8, &rank);
        for (d = 0; d < rank; d++) n *= shape[d];
        total += n;
    }
    w = malloc(total * sizeof *w);
    for (i = 0; w && i < k; i++) {
        size_t n = 1, d;
        lamina_model_tensor_name(m, i, name, sizeof name, &len);
        lamina_model_tensor_shape(m, name, shape, 8, &rank);
        for (d = 0; d < rank; d++) n *= shape[d];
        lamina_model_tensor_read(m, name, w + at, n);
        at += n;
    }
    *count = total;
    return w;
}

static int all_finite(const float *w, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!isfinite(w[i])) return 0;
    return 1;
}

typedef struct {
    size_t calls, stop_after, epochs, last_step;
    float first_loss, last_loss;
    const lamina_model *model;
    float *weights; /* the weights the callback saw last (read from inside it) */
    size_t count;
} watch;

static int on_progress(const lamina_progress *p, void *user_data)
{
    watch *w = user_data;
    w->calls++;
    if (w->calls == 1) w->first_loss = p->loss;
    w->last_loss = p->loss;
    w->epochs = p->epochs;
    w->last_step = p->step;
    if (w->model) {
        free(w->weights);
        w->weights = read_weights(w->model, &w->count);
    }
    return w->stop_after && w->calls >= w->stop_after;
}

/* The "epochs" number in a config's JSON text (0 when absent). */
static long json_int(const char *json, const char *key)
{
    char pattern[64];
    const char *at;
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    at = strstr(json, pattern);
    return at ? strtol(at + strlen(pattern), NULL, 10) : 0;
}

static void test_fit_config(void)
{
    lamina_model *m = NULL, *mlp = NULL;
    char config[4096];
    size_t len = 0, need = 0;
    section("lamina_model_fit_config");
    CHECK_OK(lamina_model_create(FIELD, &m));
    /* "batch_size at most the training points, epochs from steps": 50000 points in batches
       of 4096 are 13 steps an epoch, so 300 steps take ceil(300 / 13) = 24 epochs. */
    CHECK_OK(lamina_model_fit_config(m, FIT, 50000, config, sizeof config, &len));
    CHECK(json_int(config, "epochs") == 24, "epochs in %s", config);
    CHECK(json_int(config, "batch_size") == 4096, "batch_size in %s", config);
    /* "plane_learning_rate ... (learning_rate)"; loss "l1" by default. */
    CHECK(strstr(config, "\"learning_rates\": {\"0.planes\": 0.001}") != NULL, "planes rate: %s",
          config);
    CHECK(strstr(config, "\"learning_rate\": 0.001") && strstr(config, "\"loss\": \"l1\""),
          "rate and loss: %s", config);
    CHECK(strlen(config) == len, "len %zu", len);
    /* Fewer points than a batch: one batch of all of them, one step an epoch. */
    CHECK_OK(lamina_model_fit_config(m, "{\"steps\": 7}", 100, config, sizeof config, &len));
    CHECK(json_int(config, "batch_size") == 100 && json_int(config, "epochs") == 7, "%s", config);
    /* A given plane rate, and a learning_rates entry that names the planes, win. */
    CHECK_OK(lamina_model_fit_config(m, "{\"learning_rate\": 0.005, \"plane_learning_rate\": 0.05}",
                                     1000, config, sizeof config, &len));
    CHECK(strstr(config, "\"0.planes\": 0.05") && strstr(config, "\"learning_rate\": 0.005"),
          "own plane rate: %s", config);
    CHECK_OK(lamina_model_fit_config(m, "{\"learning_rates\": {\"planes\": 0.5}}", 1000, config,
                                     sizeof config, &len));
    CHECK(strstr(config, "{\"planes\": 0.5}") && !strstr(config, "\"0.planes\""), "user entry: %s",
          config);
    /* NULL options are the defaults: steps 1000, batch 16384. */
    CHECK_OK(lamina_model_fit_config(m, NULL, 500000, config, sizeof config, &len));
    CHECK(json_int(config, "epochs") == 33 && json_int(config, "batch_size") == 16384, "%s",
          config);
    /* Two-call pattern. */
    CHECK_OK(lamina_model_fit_config(m, FIT, 50000, config, sizeof config, &len));
    CHECK_OK(lamina_model_fit_config(m, FIT, 50000, NULL, 0, &need));
    CHECK(need == len && need == strlen(config), "need %zu, len %zu", need, len);
    CHECK_ST(lamina_model_fit_config(m, FIT, 50000, config, 4, &need), LAMINA_E_INVALID_ARGUMENT);
    /* Models without planes fit at one rate: no learning_rates entry. */
    CHECK_OK(lamina_model_create("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8], \"output\": 1}",
                                 &mlp));
    CHECK_OK(lamina_model_fit_config(mlp, FIT, 50000, config, sizeof config, &len));
    CHECK(strstr(config, "\"learning_rates\": {}") != NULL, "mlp: %s", config);
    /* Bad options: "unknown keys are refused, naming the known ones". */
    CHECK_ST(lamina_model_fit_config(m, "{\"stepz\": 3}", 10, config, sizeof config, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK(strstr(lamina_last_error(), "stepz") && strstr(lamina_last_error(), "plane_learning_rate"),
          "message: %s", lamina_last_error());
    CHECK_ST(lamina_model_fit_config(m, "{\"epochs\": 3}", 10, config, sizeof config, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_config(m, "{\"optimizer\": \"lbfgs\"}", 10, config, sizeof config,
                                     &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_config(m, "{\"steps\": 0}", 10, config, sizeof config, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_config(m, "{\"plane_learning_rate\": -1}", 10, config, sizeof config,
                                     &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_config(m, "{\"samples\": 0}", 10, config, sizeof config, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_config(m, "{\"beta1\": 2}", 10, config, sizeof config, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_config(m, "[1]", 10, config, sizeof config, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_config(m, "{", 10, config, sizeof config, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_config(m, FIT, 0, config, sizeof config, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_config(NULL, FIT, 10, config, sizeof config, &len),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_config(m, FIT, 10, config, sizeof config, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    lamina_model_free(mlp);
    lamina_model_free(m);
}

static void test_fit_mesh(void)
{
    lamina_model *m = NULL, *again = NULL;
    lamina_mesh *torus = NULL, *fitted = NULL;
    watch w;
    float loss = NAN, chamfer = NAN, fscore = NAN, nc = NAN, iou = NAN;
    float *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    char config[4096];
    size_t len = 0;
    section("lamina_model_fit_mesh");
    CHECK_OK(lamina_shape_mesh(TORUS, 64, NULL, &torus));
    CHECK_OK(lamina_model_create(FIELD, &m));
    memset(&w, 0, sizeof w);
    CHECK_OK(lamina_model_fit_mesh(m, torus, FIT, on_progress, &w, &loss));
    /* The progress callback is called after every epoch of the config fit_config gives. */
    CHECK_OK(lamina_model_fit_config(m, FIT, 50000, config, sizeof config, &len));
    CHECK(w.calls == (size_t)json_int(config, "epochs") && w.epochs == w.calls,
          "%zu calls, %zu epochs", w.calls, w.epochs);
    CHECK(isfinite(loss) && loss == w.last_loss && loss < 0.25f * w.first_loss,
          "final loss %g, first epoch %g", loss, w.first_loss);
    /* The fit is good: a broken one (no training, wrong sign, wrong box) fails these. */
    CHECK_OK(lamina_model_extract_mesh(m, 64, 0.0f, NULL, &fitted));
    CHECK(lamina_mesh_face_count(fitted) > 1000, "%zu faces", lamina_mesh_face_count(fitted));
    CHECK_OK(lamina_mesh_compare(fitted, torus, 20000, 0, 0.02f, &chamfer, &fscore, &nc, &iou));
    CHECK(iou > 0.95f, "IoU %g", iou);
    CHECK(chamfer < 0.015f, "Chamfer %g", chamfer);
    CHECK(nc > 0.95f, "normal consistency %g", nc);
    printf("   torus fit: loss %.4f, IoU %.4f, Chamfer %.4f, F@0.02 %.3f, NC %.4f\n", loss, iou,
           chamfer, fscore, nc);
    /* Deterministic: the same options give the same weights. */
    CHECK_OK(lamina_model_create(FIELD, &again));
    CHECK_OK(lamina_model_fit_mesh(again, torus, FIT, NULL, NULL, NULL));
    a = read_weights(m, &na);
    b = read_weights(again, &nb);
    CHECK(a && b && na == nb && memcmp(a, b, na * sizeof *a) == 0, "weights differ between runs");
    free(a);
    free(b);
    lamina_model_free(again);
    lamina_mesh_free(fitted);
    lamina_model_free(m);
    lamina_mesh_free(torus);
}

static void test_fit_mesh_errors(void)
{
    lamina_model *m = NULL, *two_in = NULL, *two_out = NULL;
    lamina_mesh *torus = NULL, *empty = NULL;
    float *before = NULL, *after = NULL, loss = 42.0f;
    size_t nb = 0, na = 0;
    section("lamina_model_fit_mesh errors");
    CHECK_OK(lamina_shape_mesh(TORUS, 16, NULL, &torus));
    CHECK_OK(lamina_mesh_create(NULL, 0, NULL, 0, &empty));
    CHECK_OK(lamina_model_create(FIELD, &m));
    CHECK_OK(lamina_model_create("{\"kind\": \"mlp\", \"input\": 2, \"output\": 1}", &two_in));
    CHECK_OK(lamina_model_create("{\"kind\": \"mlp\", \"input\": 3, \"output\": 2}", &two_out));
    before = read_weights(m, &nb);
    CHECK_ST(lamina_model_fit_mesh(NULL, torus, FIT, NULL, NULL, &loss), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_mesh(m, NULL, FIT, NULL, NULL, &loss), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_mesh(m, empty, FIT, NULL, NULL, &loss), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_mesh(two_in, torus, FIT, NULL, NULL, &loss), LAMINA_E_SHAPE);
    CHECK_ST(lamina_model_fit_mesh(two_out, torus, FIT, NULL, NULL, &loss), LAMINA_E_SHAPE);
    CHECK_ST(lamina_model_fit_mesh(m, torus, "{\"samples\": 16777217}", NULL, NULL, &loss),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_mesh(m, torus, "{\"near_fraction\": 2}", NULL, NULL, &loss),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK(strstr(lamina_last_error(), "near_fraction") != NULL, "%s", lamina_last_error());
    CHECK_ST(lamina_model_fit_mesh(m, torus, "{\"bounds\": [1, -1]}", NULL, NULL, &loss),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_mesh(m, torus, "{\"sigma\": 0.01, \"colour\": 1}", NULL, NULL, &loss),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_mesh(m, torus, "{\"learning_rates\": {\"nothing\": 1}}", NULL, NULL,
                                   &loss),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_mesh(two_out, torus, "{\"plane_tv\": 1}", NULL, NULL, &loss),
             LAMINA_E_SHAPE);
    {
        lamina_model *mlp = NULL;
        CHECK_OK(lamina_model_create("{\"kind\": \"mlp\", \"input\": 3, \"output\": 1}", &mlp));
        CHECK_ST(lamina_model_fit_mesh(mlp, torus, "{\"plane_tv\": 1, \"samples\": 10}", NULL, NULL,
                                       &loss),
                 LAMINA_E_UNSUPPORTED);
        lamina_model_free(mlp);
    }
    CHECK(loss == 42.0f, "final_loss written on failure: %g", loss);
    after = read_weights(m, &na);
    CHECK(na == nb && memcmp(before, after, na * sizeof *after) == 0, "weights changed by refusals");
    free(before);
    free(after);
    lamina_model_free(two_out);
    lamina_model_free(two_in);
    lamina_model_free(m);
    lamina_mesh_free(empty);
    lamina_mesh_free(torus);
}

static void test_fit_mesh_cancel(void)
{
    lamina_model *m = NULL;
    lamina_mesh *torus = NULL;
    watch w;
    float loss = 42.0f, y[2], p[6] = {0.5f, 0, 0, 0, 0, 0};
    float *now = NULL;
    size_t n = 0;
    section("lamina_model_fit_mesh cancel");
    CHECK_OK(lamina_shape_mesh(TORUS, 32, NULL, &torus));
    CHECK_OK(lamina_model_create(FIELD, &m));
    memset(&w, 0, sizeof w);
    w.stop_after = 2;
    w.model = m;
    /* "a non-zero return stops with LAMINA_E_CANCELLED and the model valid (the weights of
       the last completed step)" */
    CHECK_ST(lamina_model_fit_mesh(m, torus, "{\"samples\": 20000, \"steps\": 100, \"batch_size\": 2000}",
                                   on_progress, &w, &loss),
             LAMINA_E_CANCELLED);
    CHECK(w.calls == 2, "%zu calls", w.calls);
    CHECK(loss == 42.0f, "final_loss written on cancel: %g", loss);
    now = read_weights(m, &n);
    CHECK(w.weights && n == w.count && memcmp(now, w.weights, n * sizeof *now) == 0,
          "weights differ from those the callback saw");
    CHECK(all_finite(now, n), "weights not finite");
    CHECK_OK(lamina_model_predict(m, p, 2, y));
    CHECK(isfinite(y[0]) && isfinite(y[1]), "predict %g %g", y[0], y[1]);
    free(now);
    free(w.weights);
    lamina_model_free(m);
    lamina_mesh_free(torus);
}

static void test_divergence(void)
{
    lamina_model *m = NULL, *field = NULL;
    lamina_trainer *t = NULL;
    lamina_mesh *torus = NULL;
    watch w;
    float x[512], y[256], loss = 42.0f;
    float *now = NULL;
    size_t i, n = 0;
    long step = 0;
    const char *at;
    section("divergence (lamina_trainer_fit, lamina_model_fit_mesh)");
    for (i = 0; i < 256; i++) {
        x[2 * i] = (float)((i * 37) % 256) / 128.0f - 1.0f;
        x[2 * i + 1] = (float)((i * 91) % 256) / 128.0f - 1.0f;
        y[i] = sinf(3 * x[2 * i]) * x[2 * i + 1];
    }
    CHECK_OK(lamina_model_create("{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [16], \"output\": 1,"
                                 " \"activation\": \"relu\"}",
                                 &m));
    /* SGD whose rate warms up to 10 over 20 steps: finite for a few steps, then not. */
    CHECK_OK(lamina_trainer_create(m, "{\"optimizer\": \"sgd\", \"learning_rate\": 10,"
                                      " \"warmup_steps\": 20, \"batch_size\": 32, \"epochs\": 20,"
                                      " \"progress_every\": 1}",
                                   &t));
    memset(&w, 0, sizeof w);
    w.model = m;
    CHECK_ST(lamina_trainer_fit(t, x, y, 256, on_progress, &w, &loss), LAMINA_E_NUMERIC);
    /* "the message "training diverged at step s of S (epoch e): ..." ... the weights as they
       were before step s: the last finite ones, those the progress callback saw last" */
    at = strstr(lamina_last_error(), "training diverged at step ");
    CHECK(at != NULL, "message: %s", lamina_last_error());
    if (at) step = strtol(at + strlen("training diverged at step "), NULL, 10);
    CHECK(step > 8 && (size_t)step == w.last_step + 1, "diverged at step %ld, last report %zu", step,
          w.last_step);
    CHECK(strstr(lamina_last_error(), " of 160 (epoch ") != NULL, "message: %s",
          lamina_last_error());
    now = read_weights(m, &n);
    CHECK(all_finite(now, n), "weights not finite after divergence");
    CHECK(w.weights && n == w.count && memcmp(now, w.weights, n * sizeof *now) == 0,
          "weights are not those before the failing step");
    /* "*final_loss ... it is written only on success" */
    CHECK(loss == 42.0f, "final_loss %g", loss);
    free(now);
    free(w.weights);
    lamina_trainer_free(t);
    lamina_model_free(m);

    /* A field fit that diverges reports it the same way and keeps finite weights. */
    CHECK_OK(lamina_shape_mesh(TORUS, 16, NULL, &torus));
    CHECK_OK(lamina_model_create(FIELD, &field));
    CHECK_ST(lamina_model_fit_mesh(field, torus,
                                   "{\"samples\": 4096, \"steps\": 50, \"batch_size\": 512,"
                                   " \"optimizer\": \"sgd\", \"learning_rate\": 100000}",
                                   NULL, NULL, &loss),
             LAMINA_E_NUMERIC);
    CHECK(strstr(lamina_last_error(), "training diverged at step") != NULL, "message: %s",
          lamina_last_error());
    now = read_weights(field, &n);
    CHECK(all_finite(now, n), "field weights not finite after divergence");
    free(now);
    lamina_model_free(field);
    lamina_mesh_free(torus);
}

int main(void)
{
    check_init();
    test_fit_config();
    test_fit_mesh();
    test_fit_mesh_errors();
    test_fit_mesh_cancel();
    test_divergence();
    return check_summary();
}
