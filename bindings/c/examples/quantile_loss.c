/*
** quantile_loss.c -- a loss Lamina does not have, trained through the vector-Jacobian call.
**
** Fits the 0.9 quantile of noisy data, y = sin(2x) + noise uniform in [-0.5, 0.5] (so the
** quantile is sin(2x) + 0.4), with the pinball loss mean(max(tau r, (tau - 1) r)), r = t - y:
** each step predicts, computes dL/dy itself and hands it to lamina_trainer_step_vjp.
** Prints the loss and the share of targets below the fit (about 0.9 once trained).
**
**   cc -std=c99 quantile_loss.c $(pkg-config --cflags --libs lamina) -lm -o quantile_loss
*/
#include <lamina.h>

#include <math.h>
#include <stdio.h>

#define CHECK(call)                                                                          \
    do {                                                                                     \
        lamina_status s_ = (call);                                                           \
        if (s_ != LAMINA_OK) {                                                               \
            fprintf(stderr, "%s failed: %s: %s\n", #call, lamina_status_string(s_),          \
                    lamina_last_error());                                                    \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

#define N 256
#define TAU 0.9f

static float uniform(unsigned *seed, float lo, float hi) /* a tiny LCG */
{
    *seed = *seed * 1103515245u + 12345u;
    return lo + (hi - lo) * (float)(*seed >> 8) / 16777216.0f;
}

static float pinball(const float *y, const float *t, float *dy)
{
    double loss = 0;
    int i;
    for (i = 0; i < N; i++) {
        float r = t[i] - y[i];
        loss += r >= 0 ? TAU * r : (TAU - 1) * r;
        /* dL/dy: -tau where the fit is below the target, 1 - tau above, over the mean's N. */
        dy[i] = (y[i] > t[i] ? 1 - TAU : y[i] < t[i] ? -TAU : 0) / N;
    }
    return (float)(loss / N);
}

int main(void)
{
    static float x[N], t[N], y[N], dy[N];
    lamina_model *model = NULL;
    lamina_trainer *trainer = NULL;
    unsigned seed = 7;
    int i, step, below = 0;
    float loss = 0;

    for (i = 0; i < N; i++) {
        x[i] = uniform(&seed, -1, 1);
        t[i] = sinf(2 * x[i]) + uniform(&seed, -0.5f, 0.5f);
    }
    CHECK(lamina_model_create("{\"kind\": \"mlp\", \"input\": 1, \"hidden\": [16], \"output\": 1,"
                              " \"activation\": \"tanh\"}", &model));
    CHECK(lamina_trainer_create(model, "{\"optimizer\": \"adam\", \"learning_rate\": 0.02}",
                                &trainer));
    for (step = 0; step <= 400; step++) {
        CHECK(lamina_model_predict(model, x, N, y));
        loss = pinball(y, t, dy);
        if (step % 100 == 0) printf("step %3d  pinball loss %.4f\n", step, loss);
        if (step < 400) CHECK(lamina_trainer_step_vjp(trainer, x, dy, N, NULL));
    }
    for (i = 0; i < N; i++) below += t[i] < y[i];
    printf("%.2f of the targets lie below the fitted %.1f quantile\n", (double)below / N, TAU);
    lamina_trainer_free(trainer);
    lamina_model_free(model);
    return fabs((double)below / N - TAU) < 0.1 ? 0 : 1;
}
