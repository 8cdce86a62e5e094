/*
** Promise checked: "no allocation per step in steady state" for B-spline KANs large enough
** that their passes run on the worker pool (test_steady_state_alloc.c's KANs stay under the
** layers' parallel threshold, so their tasks run on the calling thread). The KAN passes hand
** their tasks to the pool as PoolJob structs; a Swift closure handed to the pool would need
** a heap context per call. Dense path (G = 5), sparse path (G = 100), and non-uniform knots
** after a grid update, with the same malloc interposition as test_steady_state_alloc.c.
*/
#define _GNU_SOURCE
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "lamina.h"

#include "malloc_counter.h"

int main(void) {
    enum { N = 1024, IN = 16, OUT = 4 };
    static float x[N * IN], y[N * OUT];
    for (int i = 0; i < N * IN; i++) x[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
    for (int i = 0; i < N * OUT; i++) y[i] = (float)((i * 104729) % 1001) / 1000.0f - 0.5f;
    const char *specs[] = {
        "{\"kind\": \"kan\", \"widths\": [16, 32, 4]}",
        "{\"kind\": \"kan\", \"widths\": [16, 32, 4], \"grid\": 100}",
    };
    int failures = 0, passes = 0;
    for (int s = 0; s < 2; s++) {
        for (int updated = 0; updated < 2; updated++) {
            lamina_model *model = NULL;
            lamina_trainer *trainer = NULL;
            if (lamina_model_create(specs[s], &model) != LAMINA_OK ||
                lamina_trainer_create(model, "{\"optimizer\": \"adam\"}", &trainer) != LAMINA_OK) {
                fprintf(stderr, "setup failed: %s\n", lamina_last_error());
                return 1;
            }
            /* A grid update moves the knots to the samples' quantiles: non-uniform knots. */
            if (updated && lamina_model_kan_update_grid(model, x, N, 0.02f) != LAMINA_OK) {
                fprintf(stderr, "update_grid failed: %s\n", lamina_last_error());
                return 1;
            }
            /* The per-thread scratch pools grow until as many tasks have run at once as
               ever will, which on a busy machine may take longer than a few warm-up steps:
               up to five windows of 20 steps, the promise met when one allocates nothing
               (a per-call allocation would show in every window). */
            float loss;
            for (int i = 0; i < 3; i++) lamina_trainer_step(trainer, x, y, N, &loss);
            int ok = 1;
            for (int window = 0; window < 5; window++) {
                calls = 0;
                counting = 1;
                for (int i = 0; i < 20; i++)
                    ok &= lamina_trainer_step(trainer, x, y, N, &loss) == LAMINA_OK;
                counting = 0;
                if (calls == 0) break;
            }
            if (ok && calls == 0) {
                passes++;
            } else {
                failures++;
                fprintf(stderr, "FAIL: every 20 training steps of %s%s allocate (last: %ld times)\n", specs[s],
                        updated ? " after update_grid" : "", calls);
            }
            lamina_trainer_free(trainer);
            lamina_model_free(model);
        }
    }
    printf("%d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
