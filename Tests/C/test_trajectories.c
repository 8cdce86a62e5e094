/*
** test_trajectories.c -- the first optimizer steps of an MLP (adam, adamw, sgd with
** momentum), a tri-plane field (adam) and a B-spline KAN (adam), made with
** lamina_trainer_step from stored initial weights, against float64 references: torch.optim
** for the MLP and the tri-plane field, torch's Adam re-implemented in float64 on Lamina's
** own gradients for the KAN (optimizer_trajectories.h, written with
** Tests/Data/optimizer_trajectories.json by Tests/Reference/optimizer_trajectory_reference.py,
** which checks that the tolerance is at least 10 times tighter than dropping Adam's bias
** correction or a wrong beta or epsilon would give).
**
** Plain C99. Each CHECK is one assertion; the last line printed is "N passed, M failed"
** and the exit status is non-zero when M > 0.
*/
#include "check.h"
#include "optimizer_trajectories.h"

#include <math.h>
#include <string.h>

static void run_case(const traj_case *c)
{
    lamina_model *m = NULL;
    lamina_trainer *t = NULL;
    char config[512];
    float *x = (float *)malloc(c->n * c->input * sizeof(float));
    float *y = (float *)malloc(c->n * c->output * sizeof(float));
    float *w = (float *)malloc(c->nweights * sizeof(float));
    size_t i, k, step, off;
    section(c->name);
    if (!CHECK(x && y && w, "out of memory")) goto done;
    for (i = 0; i < c->n * c->input; i++) x[i] = (float)c->x[i];
    for (i = 0; i < c->n * c->output; i++) y[i] = (float)c->y[i];
    /* the stored config, with the whole batch in one unshuffled step */
    snprintf(config, sizeof config, "%.*s, \"batch_size\": %zu, \"shuffle\": false}",
             (int)strlen(c->config) - 1, c->config, c->n);
    if (!CHECK_OK(lamina_model_create(c->spec, &m))) goto done;
    for (k = 0, off = 0; k < c->ntensors; off += c->counts[k], k++) {
        for (i = 0; i < c->counts[k]; i++) w[off + i] = (float)c->init[off + i];
        CHECK_OK(lamina_model_tensor_write(m, c->names[k], w + off, c->counts[k]));
    }
    if (!CHECK_OK(lamina_trainer_create(m, config, &t))) goto done;
    for (step = 0; step < TRAJ_STEPS; step++) {
        const double *want = c->weights + step * c->nweights;
        double worst = 0, want_loss = c->losses[step];
        size_t worst_at = 0;
        float loss = -1;
        if (!CHECK_OK(lamina_trainer_step(t, x, y, c->n, &loss))) break;
        CHECK(fabs(loss - want_loss) <= TRAJ_LOSS_RTOL * fabs(want_loss),
              "loss before step %zu: %.9g, reference %.9g", step + 1, loss, want_loss);
        for (k = 0, off = 0; k < c->ntensors; off += c->counts[k], k++)
            CHECK_OK(lamina_model_tensor_read(m, c->names[k], w + off, c->counts[k]));
        for (i = 0; i < c->nweights; i++) {
            double excess = fabs(w[i] - want[i]) / (TRAJ_WEIGHT_ATOL + TRAJ_WEIGHT_RTOL * fabs(want[i]));
            if (!(excess <= worst)) worst = excess, worst_at = i;
        }
        CHECK(worst <= 1, "after step %zu weight %zu is %.9g, reference %.9g (%.3g x the tolerance)", step + 1,
              worst_at, w[worst_at], want[worst_at], worst);
    }
done:
    lamina_trainer_free(t);
    lamina_model_free(m);
    free(x);
    free(y);
    free(w);
}

int main(void)
{
    size_t i, n = sizeof g_traj_cases / sizeof g_traj_cases[0];
    check_init();
    CHECK(n == 5, "%zu trajectory cases", n);
    for (i = 0; i < n; i++) run_case(&g_traj_cases[i]);
    return check_summary();
}
