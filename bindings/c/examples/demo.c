/*
** demo.c -- the C half of `make demo`.
**
** Fits f(x, y) = sin(pi x) cos(pi y) on [-1, 1]^2 with a 2 -> 64 -> 64 -> 1 tanh MLP and Adam,
** reporting progress from the progress callback, then measures the error on held-out points,
** saves the model, loads it back and checks the reloaded model predicts bit for bit the same.
**
** Exit status: 0 on success; 1 if a call fails, the fit is poor or the reload differs.
** LAMINA_EXAMPLE_QUICK=1 runs a tiny version (used under valgrind).
*/
#define _POSIX_C_SOURCE 199309L

#include <lamina.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                                          \
    do {                                                                                     \
        lamina_status s_ = (call);                                                           \
        if (s_ != LAMINA_OK) {                                                               \
            fprintf(stderr, "demo: %s failed: %s: %s\n", #call, lamina_status_string(s_),    \
                    lamina_last_error());                                                    \
            goto fail;                                                                       \
        }                                                                                    \
    } while (0)

static const double PI = 3.14159265358979323846;

static float target(float x, float y) { return (float)(sin(PI * x) * cos(PI * y)); }

/* Uniform in [-1, 1) from a 64-bit xorshift, so the demo's data never depend on libc. */
static unsigned long long rng = 0x2545F4914F6CDD1DULL;
static float uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    size_t every; /* print one line per this many epochs */
} progress_state;

static int on_progress(const lamina_progress *p, void *user_data)
{
    const progress_state *st = (const progress_state *)user_data;
    if (p->epoch == 1 || p->epoch % st->every == 0 || p->epoch == p->epochs)
        printf("  epoch %4zu/%zu  loss %.3e  val loss %.3e  (%.1f s)\n", p->epoch, p->epochs, p->loss,
               p->validation_loss, p->elapsed_seconds);
    return 0; /* non-zero would stop training with LAMINA_E_CANCELLED */
}

/* An ASCII picture of a function on [-1, 1]^2. */
static void picture(const char *title, const float *v, int w, int h)
{
    static const char shades[] = " .:-=+*#%@";
    int i, j;
    printf("  %s\n", title);
    for (j = 0; j < h; j++) {
        printf("    ");
        for (i = 0; i < w; i++) {
            float t = (v[j * w + i] + 1.0f) * 0.5f * 9.0f + 0.5f;
            int k = t < 0 ? 0 : t > 9 ? 9 : (int)t;
            putchar(shades[k]);
        }
        putchar('\n');
    }
}

int main(void)
{
    const char *quick_env = getenv("LAMINA_EXAMPLE_QUICK");
    const int quick = quick_env && quick_env[0] && strcmp(quick_env, "0") != 0;
    const size_t n_train = quick ? 256 : 4096, n_test = quick ? 64 : 1024;
    const size_t epochs = quick ? 3 : 150;
    const char *path = "demo_model.safetensors";
    enum { PW = 48, PH = 16 };
    char config[256];
    float *x = NULL, *y = NULL, *tx = NULL, *ty = NULL, *p1 = NULL, *p2 = NULL, *grid = NULL, *gp = NULL;
    float final_loss = 0;
    double t0, seconds, se = 0, rmse;
    size_t i;
    int status = 1, same;
    progress_state st;
    lamina_model *model = NULL, *reloaded = NULL;
    lamina_trainer *trainer = NULL;

    x = malloc(n_train * 2 * sizeof *x);
    y = malloc(n_train * sizeof *y);
    tx = malloc(n_test * 2 * sizeof *tx);
    ty = malloc(n_test * sizeof *ty);
    p1 = malloc(n_test * sizeof *p1);
    p2 = malloc(n_test * sizeof *p2);
    grid = malloc(PW * PH * 2 * sizeof *grid);
    gp = malloc(PW * PH * sizeof *gp);
    if (!x || !y || !tx || !ty || !p1 || !p2 || !grid || !gp) {
        fprintf(stderr, "demo: out of memory\n");
        goto fail;
    }
    for (i = 0; i < n_train; i++) {
        x[2 * i] = uniform();
        x[2 * i + 1] = uniform();
        y[i] = target(x[2 * i], x[2 * i + 1]);
    }
    for (i = 0; i < n_test; i++) { /* held out: never seen in training */
        tx[2 * i] = uniform();
        tx[2 * i + 1] = uniform();
        ty[i] = target(tx[2 * i], tx[2 * i + 1]);
    }

    printf("Lamina %s: fitting f(x, y) = sin(pi x) cos(pi y) on [-1, 1]^2\n", lamina_version());
    CHECK(lamina_model_create("{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [64, 64], \"output\": 1,"
                              " \"activation\": \"tanh\", \"seed\": 0}", &model));
    printf("  model: 2 -> 64 -> 64 -> 1, tanh, %zu parameters\n", lamina_model_parameter_count(model));
    snprintf(config, sizeof config,
             "{\"optimizer\": \"adam\", \"learning_rate\": 0.005, \"batch_size\": 64, \"epochs\": %zu,"
             " \"schedule\": \"cosine\", \"min_learning_rate\": 0.0001, \"validation_split\": 0.1}",
             epochs);
    CHECK(lamina_trainer_create(model, config, &trainer));
    printf("  training on %zu samples (10%% held for validation), %zu epochs, Adam, cosine schedule\n",
           n_train, epochs);

    st.every = epochs >= 10 ? epochs / 10 : 1;
    t0 = now();
    CHECK(lamina_trainer_fit(trainer, x, y, n_train, on_progress, &st, &final_loss));
    seconds = now() - t0;
    printf("  trained in %.2f s: %.0f samples/s (final training loss %.3e)\n", seconds,
           (double)n_train * 0.9 * (double)epochs / seconds, final_loss);

    CHECK(lamina_model_predict(model, tx, n_test, p1));
    for (i = 0; i < n_test; i++) se += (double)(p1[i] - ty[i]) * (double)(p1[i] - ty[i]);
    rmse = sqrt(se / (double)n_test);
    printf("  test RMSE on %zu held-out points: %.4f\n", n_test, rmse);

    if (!quick) {
        for (i = 0; i < PW * PH; i++) {
            grid[2 * i] = -1.0f + 2.0f * (float)(i % PW) / (PW - 1);
            grid[2 * i + 1] = 1.0f - 2.0f * (float)(i / PW) / (PH - 1);
            gp[i] = target(grid[2 * i], grid[2 * i + 1]);
        }
        picture("target:", gp, PW, PH);
        CHECK(lamina_model_predict(model, grid, PW * PH, gp));
        picture("model:", gp, PW, PH);
    }

    CHECK(lamina_model_save(model, path));
    CHECK(lamina_model_load(path, &reloaded));
    CHECK(lamina_model_predict(reloaded, tx, n_test, p2));
    same = memcmp(p1, p2, n_test * sizeof *p1) == 0;
    printf("  saved to %s and reloaded: predictions %s\n", path,
           same ? "match bit for bit" : "DIFFER");

    status = 0;
    if (!same) status = 1;
    if (!quick && !(rmse < 0.1)) {
        fprintf(stderr, "demo: test RMSE %.4f is too high\n", rmse);
        status = 1;
    }
fail:
    lamina_model_free(reloaded);
    lamina_trainer_free(trainer);
    lamina_model_free(model);
    free(x);
    free(y);
    free(tx);
    free(ty);
    free(p1);
    free(p2);
    free(grid);
    free(gp);
    return status;
}
