/*
** test_point_cloud_abi.c -- checks lamina_point_cloud_distance against what include/lamina.h
** promises: brute force on random and clustered clouds, the lowest index among duplicates,
** a one-point cloud, n_queries = 0, every error leaving the outputs untouched, and the same
** bits from one big call, one call per query and several threads at once.
**
** Plain C99 plus POSIX threads. Each CHECK is one assertion; the last line printed is
** "N passed, M failed" and the exit status is non-zero when M > 0.
** LAMINA_TEST_VERBOSE=1 prints the status and message of every call expected to fail.
*/
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deterministic uniform numbers in [0, 1) (a 64-bit LCG; the top 24 bits). */
static uint64_t g_lcg = 0x9E3779B97F4A7C15ULL;
static double unit(void)
{
    g_lcg = g_lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_lcg >> 40) / 16777216.0;
}

static float *floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static double dist2(const float *a, const float *b)
{
    double dx = (double)a[0] - b[0], dy = (double)a[1] - b[1], dz = (double)a[2] - b[2];
    return dx * dx + dy * dy + dz * dz;
}

/*
** Checks distances and nearest from the call against brute force in double: each distance
** within float rounding of the true least distance, each index one of the points at that
** distance, and, among points at exactly the same coordinates, the lowest index.
** Returns the number of mismatches.
*/
static int brute_force_mismatches(const float *points, size_t np, const float *queries, size_t nq,
                                  const float *distances, const uint32_t *nearest)
{
    size_t i, j;
    int bad = 0;
    for (i = 0; i < nq; i++) {
        const float *q = queries + 3 * i;
        double best = INFINITY;
        size_t arg = 0;
        for (j = 0; j < np; j++) {
            double d = dist2(points + 3 * j, q);
            if (d < best) best = d, arg = j;
        }
        double want = sqrt(best);
        double got = distances[i];
        double tol = 1e-6 * (want + 1e-3);
        if (!(fabs(got - want) <= tol)) {
            if (bad < 5) fprintf(stderr, "   query %zu: distance %.9g, brute force %.9g\n", i, got, want);
            bad++;
            continue;
        }
        if (nearest) {
            uint32_t k = nearest[i];
            if (k >= np || fabs(sqrt(dist2(points + 3 * k, q)) - want) > tol) {
                if (bad < 5) fprintf(stderr, "   query %zu: nearest %u, brute force %zu\n", i, k, arg);
                bad++;
                continue;
            }
            /* No lower index holds the same point. */
            for (j = 0; j < k; j++)
                if (memcmp(points + 3 * j, points + 3 * k, 3 * sizeof(float)) == 0) {
                    if (bad < 5) fprintf(stderr, "   query %zu: nearest %u has a duplicate at %zu\n", i, k, j);
                    bad++;
                    break;
                }
        }
    }
    return bad;
}

static void test_random_clouds(void)
{
    static const size_t sizes[] = {1, 2, 8, 9, 17, 100, 1000, 5000};
    size_t s, i;
    section("random clouds against brute force");
    for (s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t np = sizes[s], nq = 2500; /* more than one task of queries */
        float *p = floats(3 * np), *q = floats(3 * nq), *d = floats(nq);
        uint32_t *k = malloc(nq * sizeof *k);
        for (i = 0; i < 3 * np; i++) p[i] = (float)(2 * unit() - 1);
        for (i = 0; i < nq; i++) {
            int c;
            /* Every tenth query is a cloud point (distance 0), the rest uniform in a larger box. */
            for (c = 0; c < 3; c++) q[3 * i + c] = (i % 10 == 0) ? p[3 * (i % np) + c] : (float)(3 * unit() - 1.5);
        }
        CHECK_OK(lamina_point_cloud_distance(p, np, q, nq, d, k));
        CHECK(brute_force_mismatches(p, np, q, nq, d, k) == 0, "%zu points: mismatches", np);
        for (i = 0; i < nq; i += 10)
            if (d[i] != 0.0f) {
                CHECK(0, "%zu points: query %zu is a cloud point but its distance is %g", np, i, d[i]);
                break;
            }
        free(p), free(q), free(d), free(k);
    }
}

/* A clustered cloud: every point three times (at scattered indices), on a coarse lattice,
** so that many queries have tied nearest points. */
static void test_duplicates(void)
{
    enum { BASE = 400, NP = 3 * BASE, NQ = 3000 };
    float *p = floats(3 * NP), *q = floats(3 * NQ), *d = floats(NQ), *d2 = floats(NQ);
    uint32_t *k = malloc(NQ * sizeof *k);
    size_t i;
    int c, lowest = 1;
    section("duplicates and ties");
    for (i = 0; i < BASE; i++)
        for (c = 0; c < 3; c++) {
            float v = (float)floor(8 * unit()) / 4 - 1; /* 8 values per axis: many repeats */
            p[3 * i + c] = v;
            p[3 * (i + BASE) + c] = v;
            p[3 * (NP - 1 - i) + c] = v;
        }
    for (i = 0; i < NQ; i++)
        for (c = 0; c < 3; c++)
            q[3 * i + c] = (i % 3 == 0) ? p[3 * (i % NP) + c] : (float)(floor(16 * unit()) / 8 - 1);
    CHECK_OK(lamina_point_cloud_distance(p, NP, q, NQ, d, k));
    CHECK(brute_force_mismatches(p, NP, q, NQ, d, k) == 0, "mismatches");
    for (i = 0; i < NQ; i++)
        if (k[i] >= BASE) lowest = 0; /* every point's first copy is below BASE */
    CHECK(lowest, "a tie went to a higher index than the first copy");
    CHECK_OK(lamina_point_cloud_distance(p, NP, q, NQ, d2, NULL));
    CHECK(memcmp(d, d2, NQ * sizeof *d) == 0, "nearest = NULL changes the distances");
    free(p), free(q), free(d), free(d2), free(k);
}

static void test_one_point(void)
{
    const float p[3] = {0.25f, -0.5f, 2.0f};
    const float q[9] = {0.25f, -0.5f, 2.0f, 3.25f, 3.5f, 2.0f, 0.25f, -0.5f, -10.0f};
    float d[3];
    uint32_t k[3] = {7, 7, 7};
    section("one point");
    CHECK_OK(lamina_point_cloud_distance(p, 1, q, 3, d, k));
    CHECK(d[0] == 0.0f && d[1] == 5.0f && d[2] == 12.0f, "distances %g %g %g", d[0], d[1], d[2]);
    CHECK(k[0] == 0 && k[1] == 0 && k[2] == 0, "indices %u %u %u", k[0], k[1], k[2]);
}

static void test_errors(void)
{
    float p[6] = {0, 0, 0, 1, 1, 1};
    float q[6] = {0.5f, 0.5f, 0.5f, 2, 2, 2};
    float d[2] = {-7, -7};
    uint32_t k[2] = {99, 99};
    section("errors leave the outputs untouched");
    /* n_queries = 0: nothing to write; the cloud is still checked. */
    CHECK_OK(lamina_point_cloud_distance(p, 2, NULL, 0, NULL, NULL));
    CHECK_OK(lamina_point_cloud_distance(p, 2, q, 0, d, k));
    CHECK_ST(lamina_point_cloud_distance(NULL, 2, NULL, 0, NULL, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_point_cloud_distance(p, 0, q, 0, d, k), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_point_cloud_distance(p, 0, q, 2, d, k), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_point_cloud_distance(NULL, 2, q, 2, d, k), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_point_cloud_distance(p, 2, NULL, 2, d, k), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_point_cloud_distance(p, 2, q, 2, NULL, k), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_point_cloud_distance(p, SIZE_MAX, q, 2, d, k), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_point_cloud_distance(p, (size_t)67108864 + 1, q, 2, d, k), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_point_cloud_distance(p, 2, q, SIZE_MAX, d, k), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_point_cloud_distance(p, 2, q, (size_t)715827882 + 1, d, k), LAMINA_E_OUT_OF_MEMORY);
    p[5] = NAN;
    CHECK_ST(lamina_point_cloud_distance(p, 2, q, 2, d, k), LAMINA_E_NUMERIC);
    CHECK(strstr(lamina_last_error(), "point 1") != NULL, "message: %s", lamina_last_error());
    p[5] = -INFINITY;
    CHECK_ST(lamina_point_cloud_distance(p, 2, q, 2, d, k), LAMINA_E_NUMERIC);
    p[5] = 1;
    q[4] = INFINITY;
    CHECK_ST(lamina_point_cloud_distance(p, 2, q, 2, d, k), LAMINA_E_NUMERIC);
    CHECK(strstr(lamina_last_error(), "query 1") != NULL, "message: %s", lamina_last_error());
    q[4] = NAN;
    CHECK_ST(lamina_point_cloud_distance(p, 2, q, 2, d, k), LAMINA_E_NUMERIC);
    CHECK(d[0] == -7 && d[1] == -7 && k[0] == 99 && k[1] == 99, "a failed call wrote its outputs");
    q[4] = 2;
    CHECK_OK(lamina_point_cloud_distance(p, 2, q, 2, d, k));
    CHECK(k[0] == 0 && k[1] == 1, "indices %u %u", k[0], k[1]);
    CHECK(fabsf(d[1] - sqrtf(3.0f)) < 1e-6f, "distance %g", d[1]);

    /* Huge but finite coordinates: the squared distance overflows to +inf, no crash. */
    {
        float big[6] = {3e38f, 3e38f, 3e38f, -3e38f, -3e38f, -3e38f};
        float origin[3] = {-3e38f, 3e38f, 0};
        float dd;
        uint32_t kk = 99;
        CHECK_OK(lamina_point_cloud_distance(big, 2, origin, 1, &dd, &kk));
        CHECK(isinf(dd) && kk < 2, "distance %g index %u", dd, kk);
    }
}

/* One call over many queries, one call per query and four threads at once agree bit for
** bit (the batch runs in parallel tasks; single queries run on the calling thread). */
enum { TP = 3000, TQ = 8192, TT = 4 };
static float g_tp[3 * TP], g_tq[3 * TQ];
static float g_td[TT][TQ];
static uint32_t g_tk[TT][TQ];
static int g_tstatus[TT];

static void *query_thread(void *arg)
{
    int t = (int)(intptr_t)arg;
    g_tstatus[t] = lamina_point_cloud_distance(g_tp, TP, g_tq, TQ, g_td[t], g_tk[t]);
    return NULL;
}

static void test_thread_independence(void)
{
    pthread_t th[TT];
    float *single = floats(TQ);
    uint32_t *single_k = malloc(TQ * sizeof *single_k);
    size_t i;
    int t, same = 1;
    section("the same bits on any thread count");
    for (i = 0; i < 3 * TP; i++) g_tp[i] = (float)(2 * unit() - 1);
    for (i = 0; i < 3 * TQ; i++) g_tq[i] = (float)(2.4 * unit() - 1.2);
    for (i = 0; i < TQ; i++) lamina_point_cloud_distance(g_tp, TP, g_tq + 3 * i, 1, single + i, single_k + i);
    for (t = 0; t < TT; t++) pthread_create(&th[t], NULL, query_thread, (void *)(intptr_t)t);
    for (t = 0; t < TT; t++) pthread_join(th[t], NULL);
    for (t = 0; t < TT; t++) {
        CHECK(g_tstatus[t] == LAMINA_OK, "thread %d: status %d", t, g_tstatus[t]);
        if (memcmp(g_td[t], single, sizeof g_td[t]) != 0 || memcmp(g_tk[t], single_k, sizeof g_tk[t]) != 0)
            same = 0;
    }
    CHECK(same, "batched or concurrent results differ from one query per call");
    CHECK(brute_force_mismatches(g_tp, TP, g_tq, TQ, g_td[0], g_tk[0]) == 0, "mismatches");
    free(single), free(single_k);
}

int main(void)
{
    check_init();
    test_random_clouds();
    test_duplicates();
    test_one_point();
    test_errors();
    test_thread_independence();
    return check_summary();
}
