/*
** timing.h -- what the C benchmark programs share: a monotonic clock, sorting run times
** for their median, and a status check that reports a failed Lamina call and makes the
** caller return. Header-only; include lamina.h before using BENCH_CHECK.
*/
#ifndef LAMINA_BENCH_TIMING_H
#define LAMINA_BENCH_TIMING_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* qsort comparator for doubles, ascending. */
static inline int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of `count` run times (sorts them in place). */
static inline double median_of(double *times, size_t count)
{
    qsort(times, count, sizeof times[0], compare_doubles);
    return times[count / 2];
}

/* Runs `call`; on a status other than LAMINA_OK prints it with lamina_last_error() and
** returns `failure` from the calling function. */
#define BENCH_CHECK(call, failure)                                                  \
    do {                                                                            \
        lamina_status s_ = (call);                                                  \
        if (s_ != LAMINA_OK) {                                                      \
            fprintf(stderr, "%s failed: %s: %s\n", #call, lamina_status_string(s_), \
                    lamina_last_error());                                           \
            return failure;                                                         \
        }                                                                           \
    } while (0)

#endif /* LAMINA_BENCH_TIMING_H */
