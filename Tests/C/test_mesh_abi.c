/*
** test_mesh_abi.c -- checks the mesh file, signed distance and sampling calls of liblamina
** (lamina_mesh_load, _save, _signed_distance, _winding_number, _closest_point,
** _sample_surface, _sample_points) against what include/lamina.h promises for them.
**
** Plain C99 plus POSIX (mkdtemp, pthreads). Each CHECK is one assertion; the last line
** printed is "N passed, M failed" and the exit status is non-zero when M > 0.
** LAMINA_TEST_VERBOSE=1 prints the status and message of every call expected to fail.
*/
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* =======================================================================================
** Helpers
*/

static char g_dir[64];

static const char *path_in(const char *name)
{
    static char buf[4][160];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", g_dir, name);
    return p;
}

static void write_file(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fwrite(bytes, 1, n, f);
    fclose(f);
}

/* Deterministic uniform numbers in [0, 1) (a 64-bit LCG; the top 24 bits). */
static uint64_t g_lcg = 0x2545F4914F6CDD1DULL;
static double unit(void)
{
    g_lcg = g_lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_lcg >> 40) / 16777216.0;
}

/* The box [-h, h] as 8 vertices and 12 triangles, counter-clockwise seen from outside. */
static const float H[3] = {0.5f, 0.3f, 0.4f};
static lamina_mesh *make_box(void)
{
    float v[24];
    static const uint32_t quads[6][4] = {{0, 2, 3, 1}, {4, 5, 7, 6}, {0, 1, 5, 4},
                                         {2, 6, 7, 3}, {0, 4, 6, 2}, {1, 3, 7, 5}};
    uint32_t f[36];
    lamina_mesh *mesh = NULL;
    int i, k;
    for (i = 0; i < 8; i++) {
        v[3 * i] = (i & 1) ? H[0] : -H[0];
        v[3 * i + 1] = (i & 2) ? H[1] : -H[1];
        v[3 * i + 2] = (i & 4) ? H[2] : -H[2];
    }
    for (k = 0; k < 6; k++) {
        const uint32_t *q = quads[k];
        uint32_t t[6];
        t[0] = q[0], t[1] = q[1], t[2] = q[2], t[3] = q[0], t[4] = q[2], t[5] = q[3];
        memcpy(f + 6 * k, t, sizeof t);
    }
    if (lamina_mesh_create(v, 8, f, 12, &mesh) != LAMINA_OK) {
        fprintf(stderr, "make_box: %s\n", lamina_last_error());
        exit(2);
    }
    return mesh;
}

static double box_sdf(const float *p)
{
    double q[3], outside = 0, inside = -1e300;
    int k;
    for (k = 0; k < 3; k++) {
        q[k] = fabs((double)p[k]) - H[k];
        if (q[k] > 0) outside += q[k] * q[k];
        if (q[k] > inside) inside = q[k];
    }
    return sqrt(outside) + (inside < 0 ? inside : 0);
}

/* The vertices and faces of a mesh (two-call pattern); malloc'd, caller frees. */
static int read_mesh(const lamina_mesh *m, float **v, size_t *nv, uint32_t **f, size_t *nf)
{
    size_t len = 0, got = 0;
    *v = NULL;
    *f = NULL;
    if (lamina_mesh_vertices(m, NULL, 0, &len) != LAMINA_OK) return 0;
    *nv = len;
    *v = malloc(len * sizeof **v + 1);
    if (lamina_mesh_vertices(m, *v, len, &got) != LAMINA_OK || got != len) return 0;
    if (lamina_mesh_faces(m, NULL, 0, &len) != LAMINA_OK) return 0;
    *nf = len;
    *f = malloc(len * sizeof **f + 1);
    if (lamina_mesh_faces(m, *f, len, &got) != LAMINA_OK || got != len) return 0;
    return 1;
}

/* =======================================================================================
** Tests
*/

static void test_signed_distance_of_a_box(void)
{
    enum { N = 2000 };
    static float p[3 * N], sdf[N], w[N];
    lamina_mesh *box = make_box();
    int i, inside = 0, bad = 0, badw = 0;
    double worst = 0;
    section("signed distance of a box equals the analytic box SDF");
    for (i = 0; i < 3 * N; i++) p[i] = (float)(2 * unit() - 1);
    CHECK_OK(lamina_mesh_signed_distance(box, p, N, sdf));
    CHECK_OK(lamina_mesh_winding_number(box, p, N, w));
    for (i = 0; i < N; i++) {
        double want = box_sdf(p + 3 * i), err = fabs(sdf[i] - want);
        if (err > worst) worst = err;
        if (err > 1e-5) bad++;
        if (want < 0) inside++;
        /* The fast winding number is approximate (header: error below 0.03). */
        if (fabs(want) > 1e-3 && fabs(w[i] - (want < 0 ? 1.0 : 0.0)) > 0.05) badw++;
    }
    CHECK(bad == 0, "%d of %d points off by more than 1e-5 (worst %g)", bad, N, worst);
    CHECK(badw == 0, "%d winding numbers are not within 0.05 of 0 or 1", badw);
    CHECK(inside > 50, "only %d points inside", inside);
    /* n = 0 is a no-op, even with NULL buffers. */
    CHECK_OK(lamina_mesh_signed_distance(box, NULL, 0, NULL));
    lamina_mesh_free(box);
}

static void test_closest_point(void)
{
    const float q[6] = {2, 0, 0, 0.1f, 0.05f, 0.35f};
    float c[6];
    uint32_t t[2] = {99, 99};
    lamina_mesh *box = make_box();
    section("closest points");
    CHECK_OK(lamina_mesh_closest_point(box, q, 2, c, t));
    CHECK(c[0] == 0.5f && c[1] == 0 && c[2] == 0, "got (%g %g %g)", c[0], c[1], c[2]);
    CHECK(fabsf(c[3] - 0.1f) < 1e-6f && fabsf(c[4] - 0.05f) < 1e-6f && c[5] == 0.4f,
          "got (%g %g %g)", c[3], c[4], c[5]);
    /* +x is the sixth quad (triangles 10, 11), +z the second (2, 3). */
    CHECK(t[0] == 10 || t[0] == 11, "triangle %u", t[0]);
    CHECK(t[1] == 2 || t[1] == 3, "triangle %u", t[1]);
    /* triangles may be NULL. */
    CHECK_OK(lamina_mesh_closest_point(box, q, 2, c, NULL));
    lamina_mesh_free(box);
}

static void test_sampling(void)
{
    enum { N = 1000 };
    static float p[3 * N], nrm[3 * N], p2[3 * N], s[N], s2[N], check[N];
    lamina_mesh *box = make_box();
    int i, k, off = 0, badn = 0, out = 0, mismatch = 0, near = 0;
    section("surface samples and training points");
    CHECK_OK(lamina_mesh_sample_surface(box, N, 7, p, nrm));
    for (i = 0; i < N; i++) {
        double len = 0, face = 0;
        for (k = 0; k < 3; k++) {
            double r = fabs(p[3 * i + k]) / H[k];
            if (r > face) face = r;
            len += (double)nrm[3 * i + k] * nrm[3 * i + k];
        }
        if (fabs(face - 1) > 1e-5) off++;
        if (fabs(len - 1) > 1e-5) badn++;
    }
    CHECK(off == 0, "%d samples are not on the box", off);
    CHECK(badn == 0, "%d normals are not unit", badn);
    CHECK_OK(lamina_mesh_sample_surface(box, N, 7, p2, NULL));
    CHECK(memcmp(p, p2, sizeof p) == 0, "same seed, different points");
    CHECK_OK(lamina_mesh_sample_surface(box, N, 8, p2, NULL));
    CHECK(memcmp(p, p2, sizeof p) != 0, "different seeds, same points");
    CHECK_OK(lamina_mesh_sample_surface(box, 0, 7, NULL, NULL));

    /* Defaults: half near the surface, half uniform in [-1, 1]^3; sdf is the mesh's. */
    CHECK_OK(lamina_mesh_sample_points(box, NULL, N, p, s));
    CHECK_OK(lamina_mesh_signed_distance(box, p, N, check));
    for (i = 0; i < N; i++) {
        for (k = 0; k < 3; k++)
            if (p[3 * i + k] < -1 || p[3 * i + k] > 1) out++;
        if (s[i] != check[i]) mismatch++;
        if (fabsf(s[i]) < 0.05f) near++;
    }
    CHECK(out == 0, "%d coordinates outside the default bounds", out);
    CHECK(mismatch == 0, "%d sdf values differ from lamina_mesh_signed_distance", mismatch);
    CHECK(near > 450 && near < 700, "%d of %d points within 0.05 of the surface", near, N);
    CHECK_OK(lamina_mesh_sample_points(box, "{}", N, p2, s2));
    CHECK(memcmp(p, p2, sizeof p) == 0 && memcmp(s, s2, sizeof s) == 0, "NULL and {} differ");
    CHECK_OK(lamina_mesh_sample_points(box, "{\"seed\": 3}", N, p2, s2));
    CHECK(memcmp(p, p2, sizeof p) != 0, "seed 3 gave the seed-0 points");

    /* All near, sigma 0: every point on the surface. Custom bounds hold everything. */
    CHECK_OK(lamina_mesh_sample_points(box, "{\"near_fraction\": 1, \"sigma\": 0}", N, p, s));
    for (i = 0, off = 0; i < N; i++)
        if (fabsf(s[i]) > 1e-6f) off++;
    CHECK(off == 0, "%d points with sigma 0 are off the surface", off);
    CHECK_OK(lamina_mesh_sample_points(
        box, "{\"near_fraction\": 0.25, \"sigma\": 0.1, \"sigma_far\": 0.3, \"bounds\": [-0.6, -0.4, -0.5, 0.6, 0.4, 0.5]}",
        N, p, s));
    for (i = 0, out = 0; i < N; i++)
        if (fabsf(p[3 * i]) > 0.6f || fabsf(p[3 * i + 1]) > 0.4f || fabsf(p[3 * i + 2]) > 0.5f) out++;
    CHECK(out == 0, "%d points outside custom bounds", out);

    /* Bad options name the key. */
    CHECK_ST(lamina_mesh_sample_points(box, "{\"near_fraction\": 2}", N, p, s), LAMINA_E_INVALID_ARGUMENT);
    CHECK(strstr(lamina_last_error(), "near_fraction") != NULL, "message: %s", lamina_last_error());
    CHECK_ST(lamina_mesh_sample_points(box, "{\"sigma\": -1}", N, p, s), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_sample_points(box, "{\"bounds\": [1, -1]}", N, p, s), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_sample_points(box, "{\"bounds\": [1, 2, 3]}", N, p, s), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_sample_points(box, "{\"sigmas\": 1}", N, p, s), LAMINA_E_INVALID_ARGUMENT);
    CHECK(strstr(lamina_last_error(), "sigmas") != NULL, "message: %s", lamina_last_error());
    CHECK_ST(lamina_mesh_sample_points(box, "", N, p, s), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_sample_points(box, "{\"seed\": -1}", N, p, s), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_sample_points(box, NULL, N, NULL, s), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_sample_points(box, NULL, N, p, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_OK(lamina_mesh_sample_points(box, NULL, 0, NULL, NULL));
    (void)mismatch;
    lamina_mesh_free(box);
}

static void test_round_trips(void)
{
    static const char *names[] = {"box.obj", "box.ply", "BOX.PLY"};
    lamina_mesh *box = make_box();
    float *v0, *v1;
    uint32_t *f0, *f1;
    size_t nv0, nf0, nv1, nf1;
    int i;
    section("save and load round trips");
    CHECK(read_mesh(box, &v0, &nv0, &f0, &nf0), "read box: %s", lamina_last_error());
    for (i = 0; i < 3; i++) {
        lamina_mesh *back = (lamina_mesh *)1;
        CHECK_OK(lamina_mesh_save(box, path_in(names[i])));
        CHECK_OK(lamina_mesh_load(path_in(names[i]), &back));
        if (!back || back == (lamina_mesh *)1) continue;
        CHECK(lamina_mesh_vertex_count(back) == 8 && lamina_mesh_face_count(back) == 12, "%s: %zu %zu",
              names[i], lamina_mesh_vertex_count(back), lamina_mesh_face_count(back));
        CHECK(read_mesh(back, &v1, &nv1, &f1, &nf1), "read back: %s", lamina_last_error());
        CHECK(nv1 == nv0 && nf1 == nf0 && memcmp(v0, v1, nv0 * sizeof *v0) == 0 &&
                  memcmp(f0, f1, nf0 * sizeof *f0) == 0,
              "%s differs after a round trip", names[i]);
        free(v1);
        free(f1);
        lamina_mesh_free(back);
    }
    free(v0);
    free(f0);
    lamina_mesh_free(box);
}

/* The malformed files below, one row each: contents, length and the status loading gives.
** tri.ply is the valid file the others are made from; every proper prefix of it must be
** LAMINA_E_FORMAT. LAMINA_WRITE_LOADER_CASES=DIR also writes them and the manifest
** DIR/mesh.tsv (as test_abi_bad_calls.c writes safetensors.tsv; see Tests/Data/loader_cases),
** the copy the Swift and Python suites load. */
typedef struct {
    const char *name;
    const void *bytes;
    size_t len;
    lamina_status want;
    int prefixes; /* every proper prefix must be LAMINA_E_FORMAT */
    const char *what;
} mesh_case;

static void test_malformed_files(void)
{
    static const char header[] = "ply\nformat binary_little_endian 1.0\nelement vertex 3\n"
                                 "property float x\nproperty float y\nproperty float z\n"
                                 "element face 1\nproperty list uchar int vertex_indices\nend_header\n";
    static const char nan_obj[] = "v 0 0 nan\nv 1 0 0\nv 0 1 0\nf 1 2 3\n";
    static const char zero_obj[] = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n";
    static const char huge_ply[] = "ply\nformat ascii 1.0\nelement vertex 2000000000\nproperty float x\n"
                                   "property float y\nproperty float z\nend_header\n0 0 0\n";
    static const char be_ply[] = "ply\nformat binary_big_endian 1.0\nend_header\n";
    static const char text_ply[] = "hello\n";
    unsigned char file[512], badindex[512];
    size_t n = strlen(header), full, len, i, ncases;
    float v[9] = {0, 0, 0, 1, 0, 0, 0, 1, 0};
    int32_t idx[3] = {0, 1, 2};
    int failures = 0, nonnull = 0;
    lamina_mesh *m = NULL;
    const char *out_dir = getenv("LAMINA_WRITE_LOADER_CASES");
    mesh_case cases[7];
    section("malformed files are errors, never crashes");
    memcpy(file, header, n);
    memcpy(file + n, v, sizeof v);
    file[n + sizeof v] = 3;
    memcpy(file + n + sizeof v + 1, idx, sizeof idx);
    full = n + sizeof v + 1 + sizeof idx;
    /* An index out of range; a NaN coordinate; index 0 in OBJ; a huge count; big-endian. */
    memcpy(badindex, file, full);
    idx[2] = 3;
    memcpy(badindex + n + sizeof v + 1, idx, sizeof idx);
    {
        const mesh_case table[] = {
            {"tri.ply", file, full, LAMINA_OK, 1, "binary PLY triangle (the whole file loads)"},
            {"badindex.ply", badindex, full, LAMINA_E_FORMAT, 0, "binary PLY face index out of range"},
            {"nan.obj", nan_obj, sizeof nan_obj - 1, LAMINA_E_FORMAT, 0, "OBJ vertex with a NaN coordinate"},
            {"zero.obj", zero_obj, sizeof zero_obj - 1, LAMINA_E_FORMAT, 0, "OBJ face index 0 (OBJ counts from 1)"},
            {"huge.ply", huge_ply, sizeof huge_ply - 1, LAMINA_E_FORMAT, 0, "PLY vertex count 2000000000"},
            {"be.ply", be_ply, sizeof be_ply - 1, LAMINA_E_UNSUPPORTED, 0, "big-endian binary PLY"},
            {"text.ply", text_ply, sizeof text_ply - 1, LAMINA_E_FORMAT, 0, "a text file named .ply"},
        };
        ncases = sizeof table / sizeof table[0];
        memcpy(cases, table, sizeof table);
    }
    for (i = 0; i < ncases; i++) {
        const mesh_case *c = &cases[i];
        g_ctx = c->what;
        m = (lamina_mesh *)1;
        write_file(path_in(c->name), c->bytes, c->len);
        CHECK_ST(lamina_mesh_load(path_in(c->name), &m), c->want);
        if (c->want == LAMINA_OK) {
            CHECK(m && lamina_mesh_face_count(m) == 1, "the whole file should load");
            lamina_mesh_free(m);
        } else {
            CHECK(m == NULL, "*out is NULL after a failure");
        }
        if (!c->prefixes) continue;
        /* Truncated at every length. */
        for (len = 0; len < c->len; len++) {
            m = (lamina_mesh *)1;
            write_file(path_in("cut.ply"), c->bytes, len);
            if (lamina_mesh_load(path_in("cut.ply"), &m) != LAMINA_E_FORMAT) failures++;
            if (m) nonnull++;
        }
        CHECK(failures == 0, "%d truncated files were not format errors", failures);
        CHECK(nonnull == 0, "%d failed loads left *out non-NULL", nonnull);
    }
    g_ctx = "malformed files are errors, never crashes";
    if (out_dir) {
        char path[1024];
        FILE *f;
        snprintf(path, sizeof path, "%s/mesh.tsv", out_dir);
        f = fopen(path, "w");
        CHECK(f != NULL, "cannot write %s", path);
        if (!f) return;
        fprintf(f, "# Written by Tests/C/test_mesh_abi.c (test_malformed_files) from its table; do not edit.\n"
                   "# Regenerate: bash Tests/Data/loader_cases/regenerate.sh\n"
                   "# file\tstatus\tstatus of every proper prefix (- = unchecked)\twhat\n");
        for (i = 0; i < ncases; i++) {
            snprintf(path, sizeof path, "%s/%s", out_dir, cases[i].name);
            write_file(path, cases[i].bytes, cases[i].len);
            fprintf(f, "%s\t%s\t%s\t%s\n", cases[i].name, lamina_status_string(cases[i].want),
                    cases[i].prefixes ? "LAMINA_E_FORMAT" : "-", cases[i].what);
        }
        fclose(f);
        printf("   wrote %zu mesh cases to %s\n", ncases, out_dir);
    }
}

static void test_bad_calls(void)
{
    lamina_mesh *box = make_box(), *empty = NULL, *m = (lamina_mesh *)1;
    float p[3] = {0, 0, 0}, out[3];
    section("bad calls");
    CHECK_OK(lamina_mesh_create(NULL, 0, NULL, 0, &empty));
    CHECK_ST(lamina_mesh_load(NULL, &m), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_load(path_in("x.obj"), NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_load("", &m), LAMINA_E_INVALID_ARGUMENT);
    CHECK(m == NULL, "*out is NULL after a failure");
    CHECK_ST(lamina_mesh_load(path_in("missing.obj"), &m), LAMINA_E_IO);
    CHECK_ST(lamina_mesh_load(path_in("mesh.stl"), &m), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_load(g_dir, &m), LAMINA_E_INVALID_ARGUMENT);
    mkdir(path_in("dir.obj"), 0755);
    CHECK_ST(lamina_mesh_load(path_in("dir.obj"), &m), LAMINA_E_IO);
    rmdir(path_in("dir.obj"));
    CHECK_ST(lamina_mesh_save(NULL, path_in("a.obj")), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_save(box, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_save(box, path_in("a.stl")), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_save(box, path_in("no/such/dir/a.obj")), LAMINA_E_IO);

    CHECK_ST(lamina_mesh_signed_distance(NULL, p, 1, out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_signed_distance(box, NULL, 1, out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_signed_distance(box, p, 1, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_signed_distance(empty, p, 1, out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_signed_distance(box, p, SIZE_MAX, out), LAMINA_E_OUT_OF_MEMORY);
    p[1] = NAN;
    CHECK_ST(lamina_mesh_signed_distance(box, p, 1, out), LAMINA_E_NUMERIC);
    CHECK_ST(lamina_mesh_winding_number(box, p, 1, out), LAMINA_E_NUMERIC);
    CHECK_ST(lamina_mesh_closest_point(box, p, 1, out, NULL), LAMINA_E_NUMERIC);
    p[1] = INFINITY;
    CHECK_ST(lamina_mesh_signed_distance(box, p, 1, out), LAMINA_E_NUMERIC);
    p[1] = 0;
    CHECK_ST(lamina_mesh_winding_number(NULL, p, 1, out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_winding_number(box, p, 1, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_OK(lamina_mesh_winding_number(empty, p, 1, out));
    CHECK(out[0] == 0, "winding number of an empty mesh is %g", out[0]);
    CHECK_ST(lamina_mesh_closest_point(box, p, 1, NULL, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_closest_point(empty, p, 1, out, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_sample_surface(NULL, 1, 0, out, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_sample_surface(box, 1, 0, NULL, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_sample_surface(empty, 1, 0, out, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_sample_surface(box, SIZE_MAX, 0, out, NULL), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_mesh_sample_points(NULL, NULL, 1, out, out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_sample_points(empty, NULL, 1, out, out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_mesh_sample_points(box, NULL, SIZE_MAX, out, out), LAMINA_E_OUT_OF_MEMORY);
    lamina_mesh_free(empty);
    lamina_mesh_free(box);
}

/* Several threads make the first queries on a fresh mesh at once: the hierarchy is built
** once and every thread gets the same answers. */
enum { TN = 4096 };
static float g_tp[3 * TN];
static float g_tout[4][TN];
static lamina_mesh *g_tmesh;
static int g_tstatus[4];

static void *query_thread(void *arg)
{
    int k = (int)(intptr_t)arg;
    g_tstatus[k] = lamina_mesh_signed_distance(g_tmesh, g_tp, TN, g_tout[k]);
    return NULL;
}

static void test_threads(void)
{
    pthread_t t[4];
    int i, same = 1;
    section("concurrent first queries");
    for (i = 0; i < 3 * TN; i++) g_tp[i] = (float)(2 * unit() - 1);
    g_tmesh = make_box();
    for (i = 0; i < 4; i++) pthread_create(&t[i], NULL, query_thread, (void *)(intptr_t)i);
    for (i = 0; i < 4; i++) pthread_join(t[i], NULL);
    for (i = 0; i < 4; i++) {
        CHECK(g_tstatus[i] == LAMINA_OK, "thread %d: status %d", i, g_tstatus[i]);
        if (memcmp(g_tout[0], g_tout[i], sizeof g_tout[0]) != 0) same = 0;
    }
    CHECK(same, "threads disagree");
    lamina_mesh_free(g_tmesh);
}

int main(void)
{
    check_init();
    strcpy(g_dir, "/tmp/lamina-mesh-abi-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_signed_distance_of_a_box();
    test_closest_point();
    test_sampling();
    test_round_trips();
    test_malformed_files();
    test_bad_calls();
    test_threads();
    {
        static const char *leftovers[] = {"box.obj", "box.ply", "BOX.PLY", "tri.ply", "cut.ply", "badindex.ply",
                                          "nan.obj", "zero.obj", "huge.ply", "be.ply", "text.ply"};
        size_t i;
        for (i = 0; i < sizeof leftovers / sizeof *leftovers; i++) unlink(path_in(leftovers[i]));
        if (rmdir(g_dir) != 0) {
            g_fail++;
            fprintf(stderr, "FAIL: %s holds files nobody wrote (a temporary file left behind?)\n", g_dir);
        }
    }
    return check_summary();
}
