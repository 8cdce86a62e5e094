/*
** test_geometry_abi.c -- checks the analytic shapes, marching cubes and mesh comparison of
** liblamina (lamina_shape_sdf, lamina_shape_gradient, lamina_marching_cubes,
** lamina_shape_mesh, lamina_mesh_compare and its volumetric IoU) against what
** include/lamina.h promises for them.
**
** Plain C99. Each CHECK is one assertion; the last line printed is "N passed, M failed" and
** the exit status is non-zero when M > 0. LAMINA_TEST_VERBOSE=1 prints the status and
** message of every call expected to fail.
*/
#include "check.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* =======================================================================================
** Helpers
*/

#define PI 3.14159265358979323846

static const char *TORUS = "{\"type\": \"torus\", \"major\": 0.5, \"minor\": 0.2}";
static const char *SPHERE = "{\"type\": \"sphere\", \"radius\": 0.5}";

/* Counts edges used by other than two triangles (by sorting the 3F undirected edges) and
** returns the Euler characteristic V - E + F; *signed_volume receives the enclosed volume. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static long topology(const lamina_mesh *m, size_t *bad_edges, double *signed_volume)
{
    size_t nv = lamina_mesh_vertex_count(m), nf = lamina_mesh_face_count(m), len = 0, i, e;
    float *v = malloc(3 * nv * sizeof *v + 1);
    uint32_t *f = malloc(3 * nf * sizeof *f + 1);
    uint64_t *edges = malloc(3 * nf * sizeof *edges + 1);
    size_t distinct = 0;
    *bad_edges = 0;
    *signed_volume = 0;
    if (!v || !f || !edges || lamina_mesh_vertices(m, v, 3 * nv, &len) != LAMINA_OK ||
        lamina_mesh_faces(m, f, 3 * nf, &len) != LAMINA_OK) {
        free(v);
        free(f);
        free(edges);
        *bad_edges = (size_t)-1;
        return -99;
    }
    for (i = 0; i < nf; i++) {
        const float *a = v + 3 * f[3 * i], *b = v + 3 * f[3 * i + 1], *c = v + 3 * f[3 * i + 2];
        *signed_volume += (a[0] * ((double)b[1] * c[2] - (double)b[2] * c[1]) +
                           a[1] * ((double)b[2] * c[0] - (double)b[0] * c[2]) +
                           a[2] * ((double)b[0] * c[1] - (double)b[1] * c[0])) / 6.0;
        for (e = 0; e < 3; e++) {
            uint64_t p = f[3 * i + e], q = f[3 * i + (e + 1) % 3];
            edges[3 * i + e] = p < q ? (p << 32 | q) : (q << 32 | p);
        }
    }
    qsort(edges, 3 * nf, sizeof *edges, cmp_u64);
    for (i = 0; i < 3 * nf;) {
        size_t j = i;
        while (j < 3 * nf && edges[j] == edges[i]) j++;
        if (j - i != 2) (*bad_edges)++;
        distinct++;
        i = j;
    }
    free(v);
    free(f);
    free(edges);
    return (long)nv - (long)distinct + (long)nf;
}

/* =======================================================================================
** Tests
*/

static void test_shape_sdf(void)
{
    const float p[12] = {0.5f, 0, 0, 0, 0, 0, 0, 0.3f, 0, 1.0f, 0, 0};
    float d[4], g[12], d2[4];
    section("lamina_shape_sdf / lamina_shape_gradient");
    CHECK_OK(lamina_shape_sdf(TORUS, p, 4, d));
    CHECK(fabsf(d[0] + 0.2f) < 1e-6f, "on the ring: %g", d[0]);
    CHECK(fabsf(d[1] - 0.3f) < 1e-6f, "at the centre: %g", d[1]);
    CHECK(fabsf(d[2] - (sqrtf(0.34f) - 0.2f)) < 1e-6f, "on the axis: %g", d[2]);
    CHECK(fabsf(d[3] - 0.3f) < 1e-6f, "outside: %g", d[3]);
    CHECK_OK(lamina_shape_gradient(TORUS, p, 4, g, d2));
    CHECK(memcmp(d, d2, sizeof d) == 0, "gradient's sdf output equals lamina_shape_sdf's");
    CHECK(fabsf(g[9] - 1) < 1e-6f && fabsf(g[10]) < 1e-6f, "outward at (1,0,0): %g %g", g[9], g[10]);
    CHECK_OK(lamina_shape_gradient(SPHERE, p, 1, g, NULL));
    CHECK(fabsf(g[0] - 1) < 1e-6f, "sphere normal at (0.5,0,0): %g", g[0]);
    CHECK_OK(lamina_shape_sdf(SPHERE, NULL, 0, NULL));

    CHECK_ST(lamina_shape_sdf(NULL, p, 1, d), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_shape_sdf("", p, 1, d), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_shape_sdf("{\"type\": \"sphere\", \"radius\": 0}", p, 1, d),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_shape_sdf("{\"type\": \"sphere\", \"raduis\": 1}", p, 1, d),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK(strstr(lamina_last_error(), "raduis") != NULL, "message names the key: %s",
          lamina_last_error());
    CHECK_ST(lamina_shape_sdf("{\"type\": \"cone\"}", p, 1, d), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_shape_sdf(SPHERE, NULL, 1, d), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_shape_sdf(SPHERE, p, 1, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_shape_sdf(SPHERE, p, (size_t)-1, d), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_shape_gradient(SPHERE, p, 1, NULL, d), LAMINA_E_INVALID_ARGUMENT);
}

static void test_marching_cubes(void)
{
    const size_t n = 40;
    float *values = malloc(n * n * n * sizeof *values);
    float *pts = malloc(3 * n * n * n * sizeof *pts);
    const float bounds[6] = {-1, -1, -1, 1, 1, 1};
    lamina_mesh *m = NULL, *m2 = NULL;
    size_t i, j, k, bad = 0, len = 0;
    double volume = 0;
    long euler;
    section("lamina_marching_cubes");
    if (!values || !pts) {
        CHECK(0, "out of memory");
        return;
    }
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++)
            for (k = 0; k < n; k++) {
                float *p = pts + 3 * ((i * n + j) * n + k);
                p[0] = -1 + 2.0f * (float)i / (float)(n - 1);
                p[1] = -1 + 2.0f * (float)j / (float)(n - 1);
                p[2] = -1 + 2.0f * (float)k / (float)(n - 1);
            }
    CHECK_OK(lamina_shape_sdf(TORUS, pts, n * n * n, values));
    CHECK_OK(lamina_marching_cubes(values, n, n, n, bounds, 0.0f, &m));
    CHECK(lamina_mesh_vertex_count(m) > 1000, "vertices: %zu", lamina_mesh_vertex_count(m));
    euler = topology(m, &bad, &volume);
    CHECK(bad == 0, "closed: %zu edges not in exactly two triangles", bad);
    CHECK(euler == 0, "torus Euler characteristic: %ld", euler);
    CHECK(fabs(volume - 2 * PI * PI * 0.5 * 0.04) < 0.01, "volume: %g", volume);
    CHECK_OK(lamina_mesh_normals(m, NULL, 0, &len));
    CHECK(len == 3 * lamina_mesh_vertex_count(m), "a normal per vertex: %zu", len);
    /* NULL bounds means [-1, 1]^3: the same mesh. */
    CHECK_OK(lamina_marching_cubes(values, n, n, n, NULL, 0.0f, &m2));
    CHECK(lamina_mesh_vertex_count(m2) == lamina_mesh_vertex_count(m), "NULL bounds");
    lamina_mesh_free(m2);
    m2 = NULL;
    /* No crossing: an empty mesh. */
    CHECK_OK(lamina_marching_cubes(values, n, n, n, bounds, -5.0f, &m2));
    CHECK(m2 && lamina_mesh_vertex_count(m2) == 0 && lamina_mesh_face_count(m2) == 0, "empty");
    lamina_mesh_free(m2);

    m2 = (lamina_mesh *)&m2;
    CHECK_ST(lamina_marching_cubes(NULL, n, n, n, bounds, 0, &m2), LAMINA_E_INVALID_ARGUMENT);
    CHECK(m2 == NULL, "*out is NULL on failure");
    CHECK_ST(lamina_marching_cubes(values, n, n, n, bounds, 0, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_marching_cubes(values, 1, n, n, bounds, 0, &m2), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_marching_cubes(values, 0, n, n, bounds, 0, &m2), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_marching_cubes(values, 1025, 2, 2, bounds, 0, &m2), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_marching_cubes(values, (size_t)-1, 2, 2, bounds, 0, &m2),
             LAMINA_E_INVALID_ARGUMENT);
    {
        const float flat[6] = {-1, -1, -1, 1, -1, 1};
        const float inf[6] = {-1, -1, -1, 1, INFINITY, 1};
        CHECK_ST(lamina_marching_cubes(values, n, n, n, flat, 0, &m2), LAMINA_E_INVALID_ARGUMENT);
        CHECK_ST(lamina_marching_cubes(values, n, n, n, inf, 0, &m2), LAMINA_E_INVALID_ARGUMENT);
    }
    CHECK_ST(lamina_marching_cubes(values, n, n, n, bounds, NAN, &m2), LAMINA_E_INVALID_ARGUMENT);
    values[(3 * n + 4) * n + 5] = NAN;
    CHECK_ST(lamina_marching_cubes(values, n, n, n, bounds, 0, &m2), LAMINA_E_NUMERIC);
    CHECK(strstr(lamina_last_error(), "(3, 4, 5)") != NULL, "names the sample: %s",
          lamina_last_error());
    lamina_mesh_free(m);
    free(values);
    free(pts);
}

static void test_shape_mesh_and_compare(void)
{
    lamina_mesh *a = NULL, *b = NULL, *c = NULL, *fine = NULL;
    float chamfer = -1, fscore = -1, nc = -1;
    size_t bad = 0;
    double volume = 0;
    const float box[6] = {-0.8f, -0.8f, -0.8f, 0.8f, 0.8f, 0.8f};
    section("lamina_shape_mesh / lamina_mesh_compare");
    CHECK_OK(lamina_shape_mesh(SPHERE, 64, NULL, &a));
    CHECK(topology(a, &bad, &volume) == 2 && bad == 0, "sphere is closed, genus 0");
    CHECK(fabs(volume - 4.0 / 3.0 * PI * 0.125) < 0.005, "sphere volume %g", volume);
    CHECK_OK(lamina_shape_mesh("{\"type\": \"sphere\", \"radius\": 0.7}", 64, box, &b));
    CHECK_OK(lamina_shape_mesh(SPHERE, 128, NULL, &fine));

    CHECK_OK(lamina_mesh_compare(a, b, 20000, 1, 0.01f, &chamfer, &fscore, &nc, NULL));
    CHECK(fabsf(chamfer - 0.2f) < 0.01f, "concentric spheres: chamfer %g", chamfer);
    CHECK(fscore == 0, "concentric spheres: fscore %g", fscore);
    CHECK(nc > 0.98f, "concentric spheres: normal consistency %g", nc);
    CHECK_OK(lamina_mesh_compare(a, fine, 20000, 1, 0.01f, &chamfer, &fscore, &nc, NULL));
    /* Sampling noise dominates: mean spacing of 20000 samples on area pi is ~0.006. */
    CHECK(chamfer < 0.01f, "64 vs 128: chamfer %g", chamfer);
    CHECK(fscore > 0.8f, "64 vs 128: fscore %g", fscore);
    {
        float again = -1;
        CHECK_OK(lamina_mesh_compare(a, fine, 20000, 1, 0.01f, &again, NULL, NULL, NULL));
        CHECK(again == chamfer, "deterministic: %g vs %g", again, chamfer);
    }

    c = (lamina_mesh *)&c;
    CHECK_ST(lamina_shape_mesh(SPHERE, 1, NULL, &c), LAMINA_E_INVALID_ARGUMENT);
    CHECK(c == NULL, "*out is NULL on failure");
    CHECK_ST(lamina_shape_mesh(SPHERE, 0, NULL, &c), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_shape_mesh(SPHERE, 1025, NULL, &c), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_shape_mesh(SPHERE, 1024, NULL, &c), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_shape_mesh("{", 32, NULL, &c), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_shape_mesh(NULL, 32, NULL, &c), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_shape_mesh(SPHERE, 32, NULL, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_compare(NULL, b, 100, 0, 0.01f, &chamfer, NULL, NULL, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_compare(a, NULL, 100, 0, 0.01f, &chamfer, NULL, NULL, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_compare(a, b, 0, 0, 0.01f, &chamfer, NULL, NULL, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_compare(a, b, (size_t)-1, 0, 0.01f, &chamfer, NULL, NULL, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_compare(a, b, 100, 0, -1.0f, &chamfer, NULL, NULL, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_compare(a, b, 100, 0, NAN, &chamfer, NULL, NULL, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    {
        lamina_mesh *empty = NULL;
        CHECK_OK(lamina_mesh_create(NULL, 0, NULL, 0, &empty));
        CHECK_ST(lamina_mesh_compare(a, empty, 100, 0, 0.01f, &chamfer, NULL, NULL, NULL),
                 LAMINA_E_INVALID_ARGUMENT);
        lamina_mesh_free(empty);
    }
    lamina_mesh_free(a);
    lamina_mesh_free(b);
    lamina_mesh_free(fine);
}

/* An axis-aligned box [lo, hi] as 8 vertices and 12 triangles, counter-clockwise seen from
** outside: an exact closed mesh with known volume. */
static lamina_mesh *box_mesh(float x0, float y0, float z0, float x1, float y1, float z1)
{
    static const uint32_t faces[36] = {0, 4, 6, 0, 6, 2, 1, 3, 7, 1, 7, 5, 0, 1, 5, 0, 5, 4,
                                       2, 6, 7, 2, 7, 3, 0, 2, 3, 0, 3, 1, 4, 5, 7, 4, 7, 6};
    float v[24];
    int i;
    lamina_mesh *m = NULL;
    for (i = 0; i < 8; i++) {
        v[3 * i] = (i & 1) ? x1 : x0;
        v[3 * i + 1] = (i & 2) ? y1 : y0;
        v[3 * i + 2] = (i & 4) ? z1 : z0;
    }
    return lamina_mesh_create(v, 8, faces, 12, &m) == LAMINA_OK ? m : NULL;
}

static void test_compare_iou(void)
{
    lamina_mesh *a = box_mesh(-0.5f, -0.5f, -0.5f, 0.5f, 0.5f, 0.5f);
    lamina_mesh *b = box_mesh(0.0f, -0.5f, -0.5f, 1.0f, 0.5f, 0.5f);
    lamina_mesh *far = box_mesh(2.0f, 2.0f, 2.0f, 3.0f, 3.0f, 3.0f);
    lamina_mesh *inner = box_mesh(-0.25f, -0.25f, -0.25f, 0.25f, 0.25f, 0.25f);
    lamina_mesh *s1 = NULL, *s2 = NULL;
    float chamfer = -1, fscore = -1, nc = -1, iou = -1, again = -1;
    float chamfer0 = -2, fscore0 = -2, nc0 = -2, untouched = -7;
    section("lamina_mesh_compare iou");
    CHECK(a && b && far && inner, "box meshes");
    /* Two unit cubes overlapping by half: intersection 0.5, union 1.5, IoU 1/3. Of 40000
       samples about 37000 fall inside either, a standard error of 0.0025. */
    CHECK_OK(lamina_mesh_compare(a, b, 40000, 4, 0.01f, NULL, NULL, NULL, &iou));
    CHECK(fabsf(iou - 1.0f / 3.0f) < 0.01f, "half-overlapping cubes: IoU %g, want 1/3", iou);
    /* The volume work changes none of the other three results. */
    CHECK_OK(lamina_mesh_compare(a, b, 20000, 3, 0.01f, &chamfer, &fscore, &nc, &again));
    CHECK_OK(lamina_mesh_compare(a, b, 20000, 3, 0.01f, &chamfer0, &fscore0, &nc0, NULL));
    CHECK(chamfer == chamfer0 && fscore == fscore0 && nc == nc0, "iou changed the other outputs");
    CHECK(again != iou && fabsf(again - 1.0f / 3.0f) < 0.02f, "seed 3, 20000: %g", again);
    /* "The result depends only on the meshes, samples, seed and threshold." */
    CHECK_OK(lamina_mesh_compare(a, b, 20000, 3, 0.5f, NULL, NULL, NULL, &iou));
    CHECK(again == iou, "deterministic: %g vs %g", again, iou);
    /* Nested cubes: volume ratio 1/8; a mesh with itself: exactly 1; disjoint: exactly 0. */
    CHECK_OK(lamina_mesh_compare(inner, a, 40000, 5, 0.01f, NULL, NULL, NULL, &iou));
    CHECK(fabsf(iou - 0.125f) < 0.006f, "nested cubes: IoU %g, want 0.125", iou);
    CHECK_OK(lamina_mesh_compare(a, a, 1000, 0, 0.01f, NULL, NULL, NULL, &iou));
    CHECK(iou == 1.0f, "self: IoU %g", iou);
    CHECK_OK(lamina_mesh_compare(a, far, 1000, 0, 0.01f, NULL, NULL, NULL, &iou));
    CHECK(iou == 0.0f, "disjoint: IoU %g", iou);
    /* Spheres of radius 0.5 with centres 0.5 apart: lens pi (4r + d)(2r - d)^2 / 12. */
    CHECK_OK(lamina_shape_mesh(SPHERE, 96, NULL, &s1));
    CHECK_OK(lamina_shape_mesh("{\"type\": \"sphere\", \"radius\": 0.5, \"center\": [0.5, 0, 0]}",
                               96, NULL, &s2));
    {
        const double r = 0.5, d = 0.5, lens = PI * (4 * r + d) * (2 * r - d) * (2 * r - d) / 12;
        const double ball = 4.0 / 3.0 * PI * r * r * r, want = lens / (2 * ball - lens);
        CHECK_OK(lamina_mesh_compare(s1, s2, 40000, 0, 0.01f, NULL, NULL, NULL, &iou));
        CHECK(fabs(iou - want) < 0.01, "spheres: IoU %g, want %g", iou, want);
    }
    /* Errors leave *iou alone and are those of the other metrics. */
    CHECK_ST(lamina_mesh_compare(a, NULL, 100, 0, 0.01f, NULL, NULL, NULL, &untouched),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_compare(a, b, 0, 0, 0.01f, NULL, NULL, NULL, &untouched),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK(untouched == -7.0f, "iou written on failure: %g", untouched);
    lamina_mesh_free(s1);
    lamina_mesh_free(s2);
    lamina_mesh_free(a);
    lamina_mesh_free(b);
    lamina_mesh_free(far);
    lamina_mesh_free(inner);
}

int main(void)
{
    check_init();
    test_shape_sdf();
    test_marching_cubes();
    test_shape_mesh_and_compare();
    test_compare_iou();
    return check_summary();
}
