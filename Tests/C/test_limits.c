/*
** test_limits.c -- limits of include/lamina.h found missing by the audit of issue 6 (each
** was a crash: a Swift overflow trap or an allocation failure), one over-limit case each:
**
** - the symbolic-fit calls computed n x input_dim before any check: n near SIZE_MAX / 2
**   trapped; now "LAMINA_E_OUT_OF_MEMORY (n beyond the batch limit)";
** - lamina_model_slice allocated resolution^2 x output_dim floats before the batch check
**   (a 3 -> 65536 model at resolution 2048: 1 TiB); now LAMINA_E_OUT_OF_MEMORY;
** - lamina_model_extract_mesh evaluated each marching-cubes batch (up to 65536 points) at
**   once, count x output_dim floats (16 GiB for 65536 outputs); now in bounded chunks, so it
**   works with 1 GiB of address space to spare;
** - an lbfgs trainer keeps (2 history_size + 11) x parameters floats, and history_size
**   10000 on a million parameters is 80 GB: now LAMINA_MAX_LBFGS_SCALARS, checked at
**   lamina_trainer_create (LAMINA_E_OUT_OF_MEMORY).
**
** POSIX (setrlimit). Run from build/ (as `make test-c` does).
*/
#define _XOPEN_SOURCE 700

#include "check.h"

#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define HUGE_N (((size_t)1) << 62)
#define WIDE_OUT "{\"kind\": \"mlp\", \"input\": 3, \"output\": 65536}"

static int mentions(const char *needle) { return strstr(lamina_last_error(), needle) != NULL; }

static void test_symbolic_sample_counts(void)
{
    lamina_model *m = NULL;
    float x[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f}, r2 = 0;
    char buf[64];
    size_t len = 0;
    section("symbolic fits: n x input_dim over the batch limit (was an overflow trap)");
    if (!CHECK_OK(lamina_model_create("{\"kind\": \"kan\", \"widths\": [2, 1], \"symbolic\": true}", &m))) return;
    CHECK_ST(lamina_model_kan_suggest_symbolic(m, 0, 0, 0, x, HUGE_N, 0.8f, buf, sizeof buf, &len),
             LAMINA_E_OUT_OF_MEMORY);
    CHECK(mentions("over the limit"), "message: %s", lamina_last_error());
    CHECK_ST(lamina_model_kan_fix_symbolic(m, 0, 0, 0, "x", x, HUGE_N, &r2), LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_model_kan_auto_symbolic(m, NULL, x, HUGE_N, 0.0f, 0.8f), LAMINA_E_OUT_OF_MEMORY);
    /* just under the line: n = 4 works */
    CHECK_OK(lamina_model_kan_fix_symbolic(m, 0, 0, 0, "x", x, 4, &r2));
    lamina_model_free(m);
}

static void test_slice_of_a_wide_model(void)
{
    lamina_model *m = NULL;
    float y[4] = {0};
    section("slice: resolution^2 samples x the widest layer over the batch limit");
    if (!CHECK_OK(lamina_model_create(WIDE_OUT, &m))) return;
    CHECK_ST(lamina_model_slice(m, 2, 0.0f, 2048, NULL, y), LAMINA_E_OUT_OF_MEMORY);
    CHECK(mentions("lamina_model_slice") && mentions("over the limit"), "message: %s", lamina_last_error());
    lamina_model_free(m);
}

/* Bytes of address space this process uses now (VmSize), or 0 if unknown. */
static size_t address_space(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!f) return 0;
    if (fscanf(f, "%lu", &pages) != 1) pages = 0;
    fclose(f);
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* With at most 1 GiB more address space than the process has now (not under a sanitizer,
** whose shadow memory needs far more): a 3 -> 65536 model's level set at a level it never
** reaches, on 16^3 points. Before, the one batch of 4096 points took 4096 x 65536 floats
** (1 GiB) at once, and the failed allocation killed the process. In this process, not in a
** forked child: a child forked from a process with threads (OpenBLAS's) that then starts
** threads of its own can hang in the Swift runtime's one-time initialisations. */
static void test_extract_mesh_of_a_wide_model(void)
{
    lamina_model *m = NULL;
    lamina_mesh *mesh = NULL;
    struct rlimit old, lim;
    size_t used = address_space();
    int limited = 0;
    int sanitized = getenv("ASAN_OPTIONS") != NULL || getenv("TSAN_OPTIONS") != NULL;
    section("extract_mesh of a model with 65536 outputs within 1 GiB more address space");
    if (!CHECK_OK(lamina_model_create(WIDE_OUT, &m))) return;
    if (!sanitized && used > 0 && getrlimit(RLIMIT_AS, &old) == 0) {
        lim = old;
        lim.rlim_cur = (rlim_t)(used + ((size_t)1 << 30));
        if (old.rlim_cur == RLIM_INFINITY || lim.rlim_cur < old.rlim_cur)
            limited = setrlimit(RLIMIT_AS, &lim) == 0;
    }
    CHECK_OK(lamina_model_extract_mesh(m, 16, 1e6f, NULL, &mesh));
    if (limited) setrlimit(RLIMIT_AS, &old);
    CHECK(mesh == NULL || lamina_mesh_vertex_count(mesh) == 0, "vertices where the level is never reached");
    printf("   %s\n", limited ? "address space limited" : "address space not limited (sanitizer)");
    lamina_mesh_free(mesh);
    lamina_model_free(m);
}

static void test_lbfgs_memory(void)
{
    lamina_model *m = NULL;
    lamina_trainer *t = NULL;
    section("lbfgs memory: (2 history_size + 11) x parameters over LAMINA_MAX_LBFGS_SCALARS");
    /* 3 -> 1000 -> 1000 -> 1: about a million parameters */
    if (!CHECK_OK(lamina_model_create("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [1000, 1000],"
                                      " \"output\": 1}", &m)))
        return;
    CHECK_ST(lamina_trainer_create(m, "{\"optimizer\": \"lbfgs\", \"history_size\": 10000}", &t),
             LAMINA_E_OUT_OF_MEMORY);
    CHECK(t == NULL, "a trainer was returned");
    CHECK(mentions("history_size") && mentions("over the limit"), "message: %s", lamina_last_error());
    /* a history of 1000 fits (2011 x 1006001 floats), and the default of course */
    CHECK_OK(lamina_trainer_create(m, "{\"optimizer\": \"lbfgs\", \"history_size\": 1000}", &t));
    lamina_trainer_free(t);
    t = NULL;
    CHECK_OK(lamina_trainer_create(m, "{\"optimizer\": \"lbfgs\"}", &t));
    lamina_trainer_free(t);
    lamina_model_free(m);
}

int main(void)
{
    check_init();
    test_extract_mesh_of_a_wide_model(); /* first, while the process is small */
    test_symbolic_sample_counts();
    test_slice_of_a_wide_model();
    test_lbfgs_memory();
    return check_summary();
}
