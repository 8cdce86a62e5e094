/*
** test_threads_abi.c -- the thread-count calls (header "Threads"): the default, set and get,
** clamping, 0 restoring the default, LAMINA_NUM_THREADS read in a fresh process (this
** program run again as a child), bit-identical prediction and training at 1 and 2 threads,
** and that with 1 thread no worker thread runs anything (their CPU time, from /proc).
*/
#define _GNU_SOURCE

#include "model_helpers.h"

#include <sched.h>
#include <spawn.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <dirent.h>
#include <sys/syscall.h>
#endif

extern char **environ;

static const char *SPEC =
    "{\"kind\": \"mlp\", \"input\": 8, \"hidden\": [256, 256], \"output\": 4, \"seed\": 11}";
static const char *CFG =
    "{\"optimizer\": \"adam\", \"learning_rate\": 0.001, \"batch_size\": 512, \"seed\": 5}";
enum { N = 2048, IN = 8, OUT = 4 };
static float g_x[N * IN], g_y[N * OUT];

/* Cores in the affinity mask, at most 8: the documented default. */
static size_t affinity_default(void)
{
    cpu_set_t set;
    size_t cores = 0;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) cores = (size_t)CPU_COUNT(&set);
    if (cores == 0) cores = (size_t)sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 8 ? 8 : cores;
}

#ifdef __linux__
/* Threads of this process (/proc/self/task entries). */
static int task_count(void)
{
    int count = 0;
    struct dirent *e;
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') count++;
    closedir(d);
    return count;
}

/* CPU clock ticks (user + system) used so far by every thread but the calling one. */
static long others_cpu_ticks(void)
{
    long total = 0, self = (long)syscall(SYS_gettid);
    struct dirent *e;
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[1024];
        FILE *f;
        if (e->d_name[0] == '.' || atol(e->d_name) == self) continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
        if ((f = fopen(path, "r")) == NULL) continue;
        if (fgets(buf, sizeof buf, f)) {
            /* Fields after the command's closing parenthesis: state is field 3, utime 14. */
            char *p = strrchr(buf, ')');
            unsigned long utime = 0, stime = 0;
            if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                            &stime) == 2)
                total += (long)(utime + stime);
        }
        fclose(f);
    }
    closedir(d);
    return total;
}
#endif

/* Enough parallel work for the pool: predictions on a wide batch, `rounds` times. */
static void busy_work(lamina_model *m, int rounds)
{
    int r;
    for (r = 0; r < rounds; r++) CHECK_OK(lamina_model_predict(m, g_x, N, g_y));
}

/* ---- child mode: run again with LAMINA_NUM_THREADS set ------------------------------- */

/* Exit status: lamina_num_threads() (mode "count"); for "work", 0 when no thread was
** added by a parallel workload; for "reset", lamina_num_threads() after set(0). */
static int child(const char *mode)
{
    if (strcmp(mode, "count") == 0) return (int)lamina_num_threads();
    if (strcmp(mode, "reset") == 0) {
        if (lamina_set_num_threads(4) != LAMINA_OK || lamina_num_threads() != 4) return 100;
        if (lamina_set_num_threads(0) != LAMINA_OK) return 101;
        return (int)lamina_num_threads();
    }
#ifdef __linux__
    if (strcmp(mode, "work") == 0) {
        lamina_model *m = NULL;
        int before = task_count(), after, r;
        if (lamina_model_create(SPEC, &m) != LAMINA_OK) return 102;
        for (r = 0; r < 5; r++)
            if (lamina_model_predict(m, g_x, N, g_y) != LAMINA_OK) return 103;
        after = task_count();
        lamina_model_free(m);
        return before > 0 && after == before ? 0 : 104;
    }
#endif
    return 105;
}

/* Runs this program as a child with LAMINA_NUM_THREADS = value (NULL: unset) and returns
** its exit status, or -1. */
static int run_child(const char *value, const char *mode)
{
    char *argv[4], setting[128], **env;
    size_t n = 0, k = 0;
    pid_t pid;
    int status;
    while (environ[n]) n++;
    env = (char **)calloc(n + 2, sizeof *env);
    if (!env) return -1;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LAMINA_NUM_THREADS=", 19) != 0) env[k++] = environ[i];
    if (value) {
        snprintf(setting, sizeof setting, "LAMINA_NUM_THREADS=%s", value);
        env[k++] = setting;
    }
    env[k] = NULL;
    argv[0] = (char *)"test_threads_abi";
    argv[1] = (char *)"--child";
    argv[2] = (char *)mode;
    argv[3] = NULL;
    status = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, env);
    free(env);
    if (status != 0) return -1;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

/* ---- the tests ----------------------------------------------------------------------- */

static size_t g_default;

static void test_default_and_setting(void)
{
    section("default, set and get, clamping");
    g_default = lamina_num_threads();
    CHECK(g_default == affinity_default(), "default %zu, affinity mask gives %zu", g_default,
          affinity_default());
    CHECK_OK(lamina_set_num_threads(1));
    CHECK(lamina_num_threads() == 1, "set 1, got %zu", lamina_num_threads());
    CHECK_OK(lamina_set_num_threads(2));
    CHECK(lamina_num_threads() == 2, "set 2, got %zu", lamina_num_threads());
    CHECK_OK(lamina_set_num_threads(8));
    CHECK(lamina_num_threads() == 8, "set 8, got %zu", lamina_num_threads());
    /* n > 8 is clamped to 8. */
    CHECK_OK(lamina_set_num_threads(9));
    CHECK(lamina_num_threads() == 8, "set 9, got %zu (clamped to 8)", lamina_num_threads());
    CHECK_OK(lamina_set_num_threads(SIZE_MAX));
    CHECK(lamina_num_threads() == 8, "set SIZE_MAX, got %zu", lamina_num_threads());
    /* 0 restores the default. */
    CHECK_OK(lamina_set_num_threads(0));
    CHECK(lamina_num_threads() == g_default, "set 0, got %zu, default %zu", lamina_num_threads(),
          g_default);
}

static void test_environment(void)
{
    static const struct {
        const char *value;
        int want; /* -1: the default */
    } cases[] = {{"1", 1}, {"3", 3}, {"8", 8}, {"100", 8}, {"99999999999999999999999", 8},
                 {" 2 ", 2}, {"0", -1}, {"-2", -1}, {"junk", -1}, {"", -1}, {"2x", -1},
                 {"1.5", -1}, {NULL, -1}};
    size_t i;
    section("LAMINA_NUM_THREADS");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int want = cases[i].want < 0 ? (int)g_default : cases[i].want;
        int got = run_child(cases[i].value, "count");
        CHECK(got == want, "LAMINA_NUM_THREADS=\"%s\": %d threads, want %d",
              cases[i].value ? cases[i].value : "(unset)", got, want);
    }
    /* 0 restores the environment's count, not the affinity mask's. */
    CHECK(run_child("1", "reset") == 1, "set 0 under LAMINA_NUM_THREADS=1 gave %d",
          run_child("1", "reset"));
#ifdef __linux__
    /* One thread from the start: a parallel workload starts no worker thread. */
    CHECK(run_child("1", "work") == 0, "LAMINA_NUM_THREADS=1 started threads (status %d)",
          run_child("1", "work"));
#endif
}

static void test_bit_identical(void)
{
    static float y1[N * OUT], y2[N * OUT], t1[N * OUT], t2[N * OUT];
    size_t threads[2] = {2, 1};
    float *pred[2] = {y2, y1}, *trained[2] = {t2, t1};
    int i, s;
    section("bit-identical at 1 and 2 threads");
    for (i = 0; i < 2; i++) {
        lamina_model *m, *fresh;
        lamina_trainer *t;
        float loss;
        CHECK_OK(lamina_set_num_threads(threads[i]));
        m = MK(SPEC);
        fresh = MK(SPEC);
        if (!m || !fresh) return;
        CHECK_OK(lamina_model_predict(m, g_x, N, pred[i]));
        t = MKT(fresh, CFG);
        if (!t) return;
        for (s = 0; s < 4; s++) CHECK_OK(lamina_trainer_step(t, g_x, g_y, N, &loss));
        CHECK_OK(lamina_model_predict(fresh, g_x, N, trained[i]));
        lamina_trainer_free(t);
        lamina_model_free(fresh);
        lamina_model_free(m);
    }
    CHECK(memcmp(y1, y2, sizeof y1) == 0, "predictions differ between 1 and 2 threads");
    CHECK(memcmp(t1, t2, sizeof t1) == 0, "trained models differ between 1 and 2 threads");
    CHECK_OK(lamina_set_num_threads(0));
}

#ifdef __linux__
static void test_one_thread_runs_no_worker(void)
{
    lamina_model *m;
    long before, two, one;
    section("one thread: no worker runs tasks");
    m = MK(SPEC);
    if (!m) return;
    /* Start the pool's workers first, so that lowering the count has something to park. */
    CHECK_OK(lamina_set_num_threads(2));
    before = others_cpu_ticks();
    busy_work(m, 40);
    two = others_cpu_ticks() - before;
    CHECK_OK(lamina_set_num_threads(1));
    busy_work(m, 1); /* a worker may finish the task it held */
    before = others_cpu_ticks();
    busy_work(m, 40);
    one = others_cpu_ticks() - before;
    printf("   other threads' CPU ticks for the same work: %ld at 2 threads, %ld at 1\n", two, one);
    /* The workload takes tens of ticks; a worker claiming even a share of it would show. */
    CHECK(before >= 0 && one <= 2, "with 1 thread other threads used %ld CPU ticks", one);
    CHECK_OK(lamina_set_num_threads(0));
    lamina_model_free(m);
}
#endif

int main(int argc, char **argv)
{
    size_t i;
    for (i = 0; i < N * IN; i++) g_x[i] = (float)((i * 7919u) % 2001u) / 1000.0f - 1.0f;
    for (i = 0; i < N * OUT; i++) g_y[i] = (float)((i * 104729u) % 1001u) / 1000.0f - 0.5f;
    if (argc == 3 && strcmp(argv[1], "--child") == 0) return child(argv[2]);
    /* The default under test is the affinity mask's, whatever the caller's environment. */
    unsetenv("LAMINA_NUM_THREADS");
    check_init();
    test_default_and_setting();
    test_environment();
    test_bit_identical();
#ifdef __linux__
    test_one_thread_runs_no_worker();
#endif
    return check_summary();
}
