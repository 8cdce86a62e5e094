/*
** mesh_sdf.c -- signed distance throughput: N points uniform in [-1, 1]^3 against a torus
** mesh (major radius 0.6, minor 0.25) of NU x NV quads = 2 NU NV triangles.
**
**   build/bench/mesh_sdf [points=1000000] [nu=250] [nv=100] [repeats=3]
**
** Prints the BVH build time (the first query on a mesh builds it), the best of `repeats`
** timings of lamina_mesh_signed_distance and of lamina_mesh_winding_number, and points/s.
** With LAMINA_BENCH_DUMP=path it also writes the mesh (.ply) and the first 100000 points and
** their sdf (raw float32, points then sdf) next to it, for bench/mesh_sdf_trimesh.py.
*/
#include "lamina.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"

static uint64_t g_lcg = 0x9E3779B97F4A7C15ULL;
static double unit(void)
{
    g_lcg = g_lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_lcg >> 11) / 9007199254740992.0;
}

static lamina_mesh *torus(size_t nu, size_t nv)
{
    const double pi = 3.14159265358979323846;
    float *v = malloc(3 * nu * nv * sizeof *v);
    uint32_t *f = malloc(6 * nu * nv * sizeof *f);
    lamina_mesh *mesh = NULL;
    size_t i, j, k = 0;
    for (i = 0; i < nu; i++)
        for (j = 0; j < nv; j++) {
            double u = 2 * pi * (double)i / (double)nu, w = 2 * pi * (double)j / (double)nv;
            double rho = 0.6 + 0.25 * cos(w);
            float *p = v + 3 * (i * nv + j);
            p[0] = (float)(rho * cos(u));
            p[1] = (float)(rho * sin(u));
            p[2] = (float)(0.25 * sin(w));
        }
    for (i = 0; i < nu; i++)
        for (j = 0; j < nv; j++) {
            uint32_t a = (uint32_t)(i * nv + j), b = (uint32_t)(((i + 1) % nu) * nv + j);
            uint32_t c = (uint32_t)(((i + 1) % nu) * nv + (j + 1) % nv), d = (uint32_t)(i * nv + (j + 1) % nv);
            f[k++] = a, f[k++] = b, f[k++] = c, f[k++] = a, f[k++] = c, f[k++] = d;
        }
    if (lamina_mesh_create(v, nu * nv, f, 2 * nu * nv, &mesh) != LAMINA_OK) {
        fprintf(stderr, "lamina_mesh_create: %s\n", lamina_last_error());
        exit(1);
    }
    free(v);
    free(f);
    return mesh;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
    size_t nu = argc > 2 ? (size_t)atol(argv[2]) : 250, nv = argc > 3 ? (size_t)atol(argv[3]) : 100;
    int repeats = argc > 4 ? atoi(argv[4]) : 3, r;
    float *p = malloc(3 * n * sizeof *p), *sdf = malloc(n * sizeof *sdf), *w = malloc(n * sizeof *w);
    const char *dump = getenv("LAMINA_BENCH_DUMP");
    lamina_mesh *mesh = torus(nu, nv);
    double t0, build, best_sdf = 1e30, best_w = 1e30, cpu_sdf = 0;
    clock_t c0;
    size_t i, inside = 0;
    for (i = 0; i < 3 * n; i++) p[i] = (float)(2 * unit() - 1);

    t0 = now();
    if (lamina_mesh_signed_distance(mesh, p, 1, sdf) != LAMINA_OK) {
        fprintf(stderr, "%s\n", lamina_last_error());
        return 1;
    }
    build = now() - t0;
    for (r = 0; r < repeats; r++) {
        t0 = now();
        c0 = clock();
        lamina_mesh_signed_distance(mesh, p, n, sdf);
        if (now() - t0 < best_sdf) {
            best_sdf = now() - t0;
            cpu_sdf = (double)(clock() - c0) / CLOCKS_PER_SEC;
        }
        t0 = now();
        lamina_mesh_winding_number(mesh, p, n, w);
        if (now() - t0 < best_w) best_w = now() - t0;
    }
    for (i = 0; i < n; i++) inside += sdf[i] < 0;
    {
        /* Training points with the default mixture (half near the surface, sigma 0.01). */
        double best_sample = 1e30;
        for (r = 0; r < repeats; r++) {
            t0 = now();
            if (lamina_mesh_sample_points(mesh, NULL, n, p, w) != LAMINA_OK) fprintf(stderr, "%s\n", lamina_last_error());
            if (now() - t0 < best_sample) best_sample = now() - t0;
        }
        printf("sample_points (defaults: half near the surface) incl. sdf: %.3f s = %.2f M points/s\n", best_sample,
               1e-6 * (double)n / best_sample);
        /* Restore the uniform points for the dump below. */
        g_lcg = 0x9E3779B97F4A7C15ULL;
        for (i = 0; i < 3 * n; i++) p[i] = (float)(2 * unit() - 1);
        lamina_mesh_signed_distance(mesh, p, n, sdf);
    }
    printf("torus mesh: %zu triangles; %zu points uniform in [-1, 1]^3 (%.1f%% inside)\n",
           2 * nu * nv, n, 100.0 * (double)inside / (double)n);
    printf("BVH build (first query): %.1f ms\n", 1e3 * build);
    printf("signed distance: %.3f s  = %.2f M points/s (best of %d)\n", best_sdf, 1e-6 * (double)n / best_sdf, repeats);
    /* CPU time over all threads: on a shared machine, points per CPU-second is the steadier figure. */
    printf("signed distance CPU time: %.3f s = %.2f M points per CPU-second\n", cpu_sdf, 1e-6 * (double)n / cpu_sdf);
    printf("winding number alone: %.3f s  = %.2f M points/s\n", best_w, 1e-6 * (double)n / best_w);
    if (dump) {
        char path[1024];
        FILE *f;
        size_t m = n < 100000 ? n : 100000;
        snprintf(path, sizeof path, "%s.ply", dump);
        if (lamina_mesh_save(mesh, path) != LAMINA_OK) fprintf(stderr, "%s\n", lamina_last_error());
        snprintf(path, sizeof path, "%s.bin", dump);
        f = fopen(path, "wb");
        if (f) {
            fwrite(p, sizeof *p, 3 * m, f);
            fwrite(sdf, sizeof *sdf, m, f);
            fclose(f);
        }
    }
    lamina_mesh_free(mesh);
    free(p);
    free(sdf);
    free(w);
    return 0;
}
