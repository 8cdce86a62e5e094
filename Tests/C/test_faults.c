/*
** test_faults.c -- "a save interrupted (disk full, unwritable directory, process killed
** mid-write) never damages the previous file; loads of truncated files at every byte length
** fail cleanly" (issue 6), by fault injection, for model and mesh files:
**
**   lamina_model_save: "a temporary file in the same directory is written, flushed and
**   renamed over path, so a failure never damages an existing file"
**
** - disk full: a forked child limits its file size (RLIMIT_FSIZE, SIGXFSZ ignored, so
**   write() fails with EFBIG as on a full disk) and saves over an existing file: LAMINA_E_IO,
**   the old file byte for byte, no temporary file left;
** - unwritable directory: the directory is made read-only (0555) and the save runs in a
**   child that drops root first (setuid nobody), as root ignores directory permissions; also
**   a path under a regular file (ENOTDIR) and a directory in /proc (writable by nobody,
**   root included);
** - killed mid-write: a child saves two large models (or meshes) alternately over one path
**   in a loop and is SIGKILLed after varied delays; each time the path must load as one of
**   the two, complete. A killed save leaves its temporary file, named "<path>.tmp-XXXXXX"
**   (mkstemp) beside the target: those are counted and removed;
** - every truncation of a saved KAN and a tri-plane model is LAMINA_E_FORMAT
**   (test_abi_bad_calls.c does the MLP, test_mesh_abi.c meshes).
**
** POSIX (fork, setrlimit, setuid, dirent). Run from build/ (as `make test-c` does).
*/
#define _XOPEN_SOURCE 700

#include "check.h"
#include "model_helpers.h"
#include "dir_entries.h"
#include "scratch_files.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int same_file(const char *path, const unsigned char *want, size_t wlen)
{
    size_t n = 0;
    unsigned char *got = read_all(path, &n);
    int same = got != NULL && n == wlen && memcmp(got, want, n) == 0;
    free(got);
    return same;
}

/* Runs fn(arg) in a forked child (after `setup`); returns its lamina_status, or -signal. */
typedef lamina_status (*child_fn)(void *arg);
static int in_child(child_fn fn, void *arg, void (*setup)(void))
{
    pid_t pid;
    int status = 0;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        lamina_status s;
        alarm(120); /* a hang fails the check below (as signal 14) instead of the run */
        if (setup) setup();
        s = fn(arg);
        if (s != LAMINA_OK && g_verbose) printf("   (child) %s \"%s\"\n", lamina_status_string(s), lamina_last_error());
        fflush(stdout);
        _exit((int)s);
    }
    if (pid < 0) return -1000;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* ---- what is saved --------------------------------------------------------------------- */

typedef struct {
    lamina_model *model;
    lamina_mesh *mesh;
    const char *path;
} save_job;

static lamina_status do_save(void *arg)
{
    save_job *j = (save_job *)arg;
    return j->model ? lamina_model_save(j->model, j->path) : lamina_mesh_save(j->mesh, j->path);
}

static void limit_file_size(void)
{
    struct rlimit lim;
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &lim);
    lim.rlim_cur = 4096;
    setrlimit(RLIMIT_FSIZE, &lim);
}

static int g_dropped; /* set in the child: whether it runs as an unprivileged user */
static void drop_root(void)
{
    if (geteuid() == 0) {
        /* nobody:nogroup; as root, directory permissions would not stop the save */
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(200);
    }
    g_dropped = 1;
}

/* Saves `job` over `target` (which must exist) in a child prepared by `setup`; checks the
** status, that the old file is untouched and that the directory holds only what it did. */
static void check_failed_save(const char *what, save_job *job, void (*setup)(void),
                              lamina_status want, const char *dir)
{
    size_t n0 = 0;
    unsigned char *before = read_all(job->path, &n0);
    char names0[512], names1[512];
    int e0 = dir_entries(dir, names0, sizeof names0, NULL, NULL), e1, r;
    if (!CHECK(before != NULL, "%s: the old file is missing", what)) return;
    r = in_child(do_save, job, setup);
    CHECK(r == (int)want, "%s: the save gave %s%d, not %s", what, r < 0 ? "signal " : "status ",
          r < 0 ? -r : r, lamina_status_string(want));
    CHECK(same_file(job->path, before, n0), "%s: the old file changed", what);
    e1 = dir_entries(dir, names1, sizeof names1, NULL, NULL);
    CHECK(e1 == e0, "%s: the directory held %d entries (%s), now %d (%s)", what, e0, names0, e1, names1);
    free(before);
}

static lamina_mesh *make_mesh(const char *shape, size_t resolution)
{
    lamina_mesh *m = NULL;
    if (lamina_shape_mesh(shape, resolution, NULL, &m) != LAMINA_OK) {
        CHECK(0, "cannot mesh %s: %s", shape, lamina_last_error());
        return NULL;
    }
    return m;
}

#define SMALL "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [4], \"output\": 1, \"seed\": 1}"
#define BIG_A "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [1024, 1024], \"output\": 1, \"seed\": 2}"
#define BIG_B "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [1024, 1024], \"output\": 1, \"seed\": 3}"
#define SPHERE "{\"type\": \"sphere\", \"radius\": 0.6}"
#define TORUS "{\"type\": \"torus\", \"major\": 0.5, \"minor\": 0.2}"

/* ---- disk full and unwritable directories ------------------------------------------------ */

static void test_failed_saves(void)
{
    lamina_model *small = MK(SMALL), *big = MK(BIG_A);
    lamina_mesh *sphere = make_mesh(SPHERE, 48);
    save_job job;
    char ro[512], blocker[512];
    const char *exts[3] = {"m.safetensors", "m.obj", "m.ply"};
    int i;
    if (!small || !big || !sphere) goto out;

    section("disk full (RLIMIT_FSIZE: write fails with EFBIG) during a save");
    for (i = 0; i < 3; i++) {
        const char *target = P(exts[i]);
        lamina_mesh *tiny = NULL;
        float v[9] = {0, 0, 0, 1, 0, 0, 0, 1, 0};
        uint32_t f[3] = {0, 1, 2};
        /* the old file: small (under the limit); the new one: larger than 4096 bytes */
        if (i == 0) CHECK_OK(lamina_model_save(small, target));
        else if (CHECK_OK(lamina_mesh_create(v, 3, f, 1, &tiny))) CHECK_OK(lamina_mesh_save(tiny, target));
        lamina_mesh_free(tiny);
        job.model = i == 0 ? big : NULL;
        job.mesh = i == 0 ? NULL : sphere;
        job.path = target;
        check_failed_save(exts[i], &job, limit_file_size, LAMINA_E_IO, g_dir);
        remove(target);
    }

    section("unwritable directory (0555; the saving child drops root to nobody)");
    snprintf(ro, sizeof ro, "%s/ro", g_dir);
    mkdir(ro, 0755);
    for (i = 0; i < 3; i++) {
        char target[600];
        snprintf(target, sizeof target, "%s/%s", ro, exts[i]);
        if (i == 0) CHECK_OK(lamina_model_save(small, target));
        else CHECK_OK(lamina_mesh_save(sphere, target));
        chmod(target, 0644);
        chmod(ro, 0555);
        job.model = i == 0 ? big : NULL;
        job.mesh = i == 0 ? NULL : make_mesh(TORUS, 32);
        job.path = target;
        check_failed_save(exts[i], &job, drop_root, LAMINA_E_IO, ro);
        lamina_mesh_free(job.mesh);
        chmod(ro, 0755);
        remove(target);
    }
    rmdir(ro);

    section("a path under a regular file (ENOTDIR), and a directory in /proc");
    snprintf(blocker, sizeof blocker, "%s/file", g_dir);
    if (CHECK(write_all(blocker, (const unsigned char *)"x", 1), "cannot write %s", blocker)) {
        char target[600];
        snprintf(target, sizeof target, "%s/m.safetensors", blocker);
        CHECK_ST(lamina_model_save(small, target), LAMINA_E_IO);
        CHECK_ST(lamina_mesh_save(sphere, P("file/m.obj")), LAMINA_E_IO);
        CHECK(same_file(blocker, (const unsigned char *)"x", 1), "the file in the way changed");
        remove(blocker);
    }
    /* /proc/self is a directory no one may create files in, root included; saving over an
    ** existing file there must fail (and leave it as it was). */
    {
        size_t n = 0;
        unsigned char *before = read_all("/proc/self/cmdline", &n);
        CHECK_ST(lamina_model_save(small, "/proc/self/cmdline"), LAMINA_E_IO);
        CHECK_ST(lamina_mesh_save(sphere, "/proc/self/cmdline.ply"), LAMINA_E_IO);
        CHECK(before && same_file("/proc/self/cmdline", before, n), "/proc/self/cmdline changed");
        free(before);
    }
out:
    lamina_mesh_free(sphere);
    lamina_model_free(big);
    lamina_model_free(small);
}

/* ---- killed mid-write ------------------------------------------------------------------ */

static volatile sig_atomic_t g_unused;

static void save_forever(save_job *a, save_job *b)
{
    for (;;) {
        if (do_save(b) != LAMINA_OK) _exit(3);
        if (do_save(a) != LAMINA_OK) _exit(2);
    }
}

static void sleep_us(unsigned us)
{
    struct timespec ts;
    ts.tv_sec = us / 1000000u;
    ts.tv_nsec = (long)(us % 1000000u) * 1000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Deterministic delays for kill k: a third from 0 to 5 ms (before or early in the first
** save), a third up to 100 ms, a third 100 to 600 ms (after some saves completed). */
static unsigned g_seed = 12345u;
static unsigned next_delay(int k)
{
    unsigned r;
    g_seed = g_seed * 1103515245u + 12345u;
    r = g_seed >> 8;
    switch (k % 3) {
    case 0: return r % 5001u;
    case 1: return r % 100001u;
    default: return 100000u + r % 500001u;
    }
}

/* Forks a child that saves *a and *b in turn until killed, kills it with SIGKILL after
** next_delay(k) and reaps it. Returns its wait status, or -1 when fork failed. */
static int kill_saver(save_job *a, save_job *b, int k)
{
    pid_t pid;
    int status = 0;
    fflush(stdout);
    pid = fork();
    if (pid == 0) save_forever(a, b);
    if (pid < 0) return -1;
    sleep_us(next_delay(k));
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return status;
}

static void test_killed_saves(void)
{
    lamina_model *a = MK(BIG_A), *b = MK(BIG_B);
    lamina_mesh *ma = make_mesh(SPHERE, 160), *mb = make_mesh(TORUS, 128);
    float x[3 * 8], ya[8], yb[8], y[8];
    int i, k, temps = 0, as_a = 0, as_b = 0, bad = 0, killed = 0;
    char names[512];
    if (!a || !b || !ma || !mb) goto out;
    for (i = 0; i < 24; i++) x[i] = (float)(i % 5) * 0.3f - 0.6f;
    CHECK_OK(lamina_model_predict(a, x, 8, ya));
    CHECK_OK(lamina_model_predict(b, x, 8, yb));
    CHECK(memcmp(ya, yb, sizeof ya) != 0, "the two models predict alike");

    section("a process killed while saving a model (4 MB) leaves the old or the new file");
    mkdir(P("kill"), 0755);
    CHECK_OK(lamina_model_save(a, P("kill/m.safetensors")));
    for (k = 0; k < 30; k++) {
        save_job ja, jb;
        int status;
        ja.model = a;
        ja.mesh = NULL;
        ja.path = P("kill/m.safetensors");
        jb = ja;
        jb.model = b;
        status = kill_saver(&ja, &jb, k);
        if (status == -1) break;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) killed++;
        else CHECK(0, "the saving child ended by itself (status %d)", status);
        {
            lamina_model *l = NULL;
            lamina_status s = lamina_model_load(P("kill/m.safetensors"), &l);
            if (s == LAMINA_OK && lamina_model_predict(l, x, 8, y) == LAMINA_OK) {
                if (memcmp(y, ya, sizeof y) == 0) as_a++;
                else if (memcmp(y, yb, sizeof y) == 0) as_b++;
                else bad++;
            } else {
                bad++;
                fprintf(stderr, "kill %d: %s \"%s\"\n", k, lamina_status_string(s), lamina_last_error());
            }
            lamina_model_free(l);
        }
        dir_entries(P("kill"), NULL, 0, "m.safetensors.tmp-", &temps);
    }
    printf("   %d kills: the file was model A (the old one) %d times, model B %d times; "
           "%d temporary files left (\"m.safetensors.tmp-XXXXXX\")\n",
           killed, as_a, as_b, temps);
    CHECK(as_a > 0 && as_b > 0, "the kills did not hit both before and after a completed save");
    CHECK(bad == 0, "%d of %d kills left a file that is neither model", bad, killed);
    CHECK(killed == 30, "only %d children were killed", killed);
    CHECK(dir_entries(P("kill"), names, sizeof names, NULL, NULL) == 1, "left in the directory: %s", names);

    section("a process killed while saving a mesh leaves the old or the new file");
    {
        const char *targets[2] = {"kill/m.ply", "kill/m.obj"};
        const char *prefixes[2] = {"m.ply.tmp-", "m.obj.tmp-"};
        size_t nva = lamina_mesh_vertex_count(ma), nvb = lamina_mesh_vertex_count(mb);
        int t;
        CHECK(nva != nvb, "the two meshes have the same vertex count");
        for (t = 0; t < 2; t++) {
            int mesh_a = 0, mesh_b = 0, mesh_bad = 0, mesh_temps = 0, mesh_killed = 0;
            CHECK_OK(lamina_mesh_save(ma, P(targets[t])));
            for (k = 0; k < 12; k++) {
                save_job ja, jb;
                int status;
                lamina_mesh *l = NULL;
                ja.model = NULL;
                ja.mesh = ma;
                ja.path = P(targets[t]);
                jb = ja;
                jb.mesh = mb;
                status = kill_saver(&ja, &jb, k);
                if (status == -1) break;
                if (WIFSIGNALED(status)) mesh_killed++;
                if (lamina_mesh_load(P(targets[t]), &l) == LAMINA_OK) {
                    size_t nv = lamina_mesh_vertex_count(l);
                    if (nv == nva && lamina_mesh_face_count(l) == lamina_mesh_face_count(ma)) mesh_a++;
                    else if (nv == nvb && lamina_mesh_face_count(l) == lamina_mesh_face_count(mb)) mesh_b++;
                    else mesh_bad++;
                } else {
                    mesh_bad++;
                    fprintf(stderr, "%s kill %d: \"%s\"\n", targets[t], k, lamina_last_error());
                }
                lamina_mesh_free(l);
                dir_entries(P("kill"), NULL, 0, prefixes[t], &mesh_temps);
            }
            printf("   %s: %d kills, old mesh %d, new mesh %d, %d temporary files left\n", targets[t],
                   mesh_killed, mesh_a, mesh_b, mesh_temps);
            CHECK(mesh_bad == 0, "%s: %d kills left a damaged mesh", targets[t], mesh_bad);
            CHECK(mesh_killed == 12, "%s: only %d children were killed", targets[t], mesh_killed);
            remove(P(targets[t]));
        }
    }
    remove(P("kill/m.safetensors"));
    CHECK(dir_entries(P("kill"), names, sizeof names, NULL, NULL) == 0, "left in the directory: %s", names);
    rmdir(P("kill"));
out:
    lamina_mesh_free(mb);
    lamina_mesh_free(ma);
    lamina_model_free(b);
    lamina_model_free(a);
}

/* ---- truncated files ------------------------------------------------------------------- */

static void truncations_of(const char *what, const char *spec)
{
    lamina_model *m = MK(spec);
    unsigned char *file = NULL;
    size_t len = 0, cut, bad = 0;
    char first[300] = "";
    if (!m) return;
    if (!CHECK_OK(lamina_model_save(m, P("whole.safetensors")))) goto out;
    file = read_all(P("whole.safetensors"), &len);
    if (!CHECK(file != NULL && len > 8, "cannot read the saved %s", what)) goto out;
    for (cut = 0; cut < len; cut++) {
        lamina_model *l = NULL;
        lamina_status s;
        if (!write_all(P("cut.safetensors"), file, cut)) {
            bad++;
            continue;
        }
        s = lamina_model_load(P("cut.safetensors"), &l);
        if (s != LAMINA_E_FORMAT || l != NULL || lamina_last_error()[0] == '\0') {
            if (!bad)
                snprintf(first, sizeof first, "first: %zu bytes gave %s (\"%s\")", cut,
                         lamina_status_string(s), lamina_last_error());
            bad++;
        }
        lamina_model_free(l);
    }
    printf("   %s: %zu truncations\n", what, len);
    CHECK(bad == 0, "%s: %zu of %zu truncations not LAMINA_E_FORMAT with a message; %s", what, bad, len, first);
    {
        lamina_model *l = NULL;
        CHECK_OK(lamina_model_load(P("whole.safetensors"), &l));
        lamina_model_free(l);
    }
out:
    remove(P("cut.safetensors"));
    remove(P("whole.safetensors"));
    free(file);
    lamina_model_free(m);
}

static void test_truncations(void)
{
    section("every truncation of saved KAN and tri-plane model files");
    truncations_of("B-spline KAN", "{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"grid\": 3}");
    truncations_of("mixed KAN", "{\"kind\": \"kan\", \"widths\": [2, 2], \"basis\": \"mixed\","
                                " \"bases\": [\"chebyshev\", \"rbf\"]}");
    truncations_of("tri-plane field", "{\"kind\": \"triplane\", \"resolution\": 4, \"channels\": 2,"
                                      " \"output\": 1}");
}

int main(void)
{
    check_init();
    snprintf(g_dir, sizeof g_dir, "faults-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    /* the unprivileged child must be able to reach the read-only directory inside */
    chmod(g_dir, 0755);
    (void)g_unused;
    (void)g_dropped;
    test_failed_saves();
    test_killed_saves();
    test_truncations();
    {
        char names[512];
        int left = dir_entries(g_dir, names, sizeof names, NULL, NULL);
        CHECK(left == 0, "left in the test directory: %s", names);
    }
    rmdir(g_dir);
    return check_summary();
}
