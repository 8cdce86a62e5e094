/*
** model_helpers.h -- the Lamina helpers C test programs share on top of check.h: create a
** model or trainer (a failure counts as one failed check naming the caller's line), read a
** spec, a config and named tensors through the two-call pattern, and compare two models'
** tensors bit for bit. Plain C99, header-only (static inline functions, so a program that
** uses a few of them does not warn about the rest).
*/
#ifndef LAMINA_TEST_MODEL_HELPERS_H
#define LAMINA_TEST_MODEL_HELPERS_H

#include "check.h"
#include "lamina.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A model from `spec`; a failure is one failed check naming the caller's line (MK). */
static inline lamina_model *mk_(const char *spec, const char *file, int line)
{
    lamina_model *m = NULL;
    lamina_status s = lamina_model_create(spec, &m);
    if (s != LAMINA_OK || m == NULL) {
        g_fail++;
        if (!g_quiet)
            fprintf(stderr, "FAIL %s:%d [%s] lamina_model_create(%s): %s (\"%s\")\n", file, line, g_ctx,
                spec, lamina_status_string(s), lamina_last_error());
        if (s == LAMINA_OK) lamina_model_free(m);
        return NULL;
    }
    g_pass++;
    return m;
}
#define MK(spec) mk_((spec), __FILE__, __LINE__)

/* A trainer for `m` from `cfg`; a failure is one failed check naming the caller's line (MKT). */
static inline lamina_trainer *mkt_(lamina_model *m, const char *cfg, const char *file, int line)
{
    lamina_trainer *t = NULL;
    lamina_status s = lamina_trainer_create(m, cfg, &t);
    if (s != LAMINA_OK || t == NULL) {
        g_fail++;
        if (!g_quiet)
            fprintf(stderr, "FAIL %s:%d [%s] lamina_trainer_create(%s): %s (\"%s\")\n", file, line, g_ctx,
                cfg ? cfg : "NULL", lamina_status_string(s), lamina_last_error());
        if (s == LAMINA_OK) lamina_trainer_free(t);
        return NULL;
    }
    g_pass++;
    return t;
}
#define MKT(m, cfg) mkt_((m), (cfg), __FILE__, __LINE__)

/* Full spec text via the two-call pattern; NULL on failure. Caller frees. */
static inline char *spec_of(const lamina_model *m)
{
    size_t len = 0, len2 = 0;
    char *buf;
    if (lamina_model_spec(m, NULL, 0, &len) != LAMINA_OK || len > ((size_t)1 << 26)) return NULL;
    buf = (char *)malloc(len + 1);
    if (!buf) return NULL;
    if (lamina_model_spec(m, buf, len + 1, &len2) != LAMINA_OK || len2 != len) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Full trainer config text via the two-call pattern; NULL on failure. Caller frees. */
static inline char *config_of(const lamina_trainer *t)
{
    size_t len = 0, len2 = 0;
    char *buf;
    if (lamina_trainer_config(t, NULL, 0, &len) != LAMINA_OK || len > ((size_t)1 << 26)) return NULL;
    buf = (char *)malloc(len + 1);
    if (!buf) return NULL;
    if (lamina_trainer_config(t, buf, len + 1, &len2) != LAMINA_OK || len2 != len) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Name of tensor i into buf (cap bytes); 1 on success. */
static inline int tensor_name(const lamina_model *m, size_t i, char *buf, size_t cap)
{
    size_t len = 0;
    if (lamina_model_tensor_name(m, i, NULL, 0, &len) != LAMINA_OK || len + 1 > cap) return 0;
    return lamina_model_tensor_name(m, i, buf, cap, &len) == LAMINA_OK;
}

/* Element count of a named tensor (0 on failure); its shape to shape[0..*rank-1]. */
static inline size_t tensor_elems(const lamina_model *m, const char *name, size_t *shape, size_t *rank)
{
    size_t r = 0, k, count = 1;
    if (lamina_model_tensor_shape(m, name, NULL, 0, &r) != LAMINA_OK || r > 8) return 0;
    if (lamina_model_tensor_shape(m, name, shape, 8, &r) != LAMINA_OK) return 0;
    for (k = 0; k < r; k++) count *= shape[k];
    *rank = r;
    return count;
}

/* A malloc'd copy of tensor `name`, its element count in *count (may be NULL); NULL on error. */
static inline float *read_tensor(const lamina_model *m, const char *name, size_t *count)
{
    size_t shape[8], rank = 0, n = tensor_elems(m, name, shape, &rank);
    float *v = n ? (float *)malloc(n * sizeof *v) : NULL;
    if (v && lamina_model_tensor_read(m, name, v, n) != LAMINA_OK) {
        free(v);
        v = NULL;
    }
    if (count) *count = v ? n : 0;
    return v;
}

/* 1 when a and b have the same tensor names in the same order, each holding the same bits;
** with LAMINA_TEST_VERBOSE set, names the first tensor that differs. */
static inline int same_tensors(const lamina_model *a, const lamina_model *b)
{
    size_t i, count = lamina_model_tensor_count(a);
    if (count == 0 || count != lamina_model_tensor_count(b)) return 0;
    for (i = 0; i < count; i++) {
        char na[128], nb[128];
        size_t ca = 0, cb = 0;
        float *va, *vb;
        int same;
        if (!tensor_name(a, i, na, sizeof na) || !tensor_name(b, i, nb, sizeof nb)) return 0;
        if (strcmp(na, nb) != 0) return 0;
        va = read_tensor(a, na, &ca);
        vb = read_tensor(b, nb, &cb);
        same = va && vb && ca == cb && memcmp(va, vb, ca * sizeof *va) == 0;
        free(va);
        free(vb);
        if (!same) {
            if (g_verbose) printf("   tensor %s differs\n", na);
            return 0;
        }
    }
    return 1;
}

#endif /* LAMINA_TEST_MODEL_HELPERS_H */
