/*
** dir_entries.h -- listing a test directory, shared by the C test programs in Tests/C that
** check what a save left behind (test_abi_bad_calls.c, test_faults.c). Header-only.
*/
#ifndef LAMINA_TEST_DIR_ENTRIES_H
#define LAMINA_TEST_DIR_ENTRIES_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>

/* Entries of `dir` other than "." and ".."; names joined into `names` (when not NULL).
** Those starting with `remove_prefix` (when not NULL) are removed, counted in *removed
** (when not NULL) and not in the result. -1 when the directory cannot be opened. */
static inline int dir_entries(const char *dir, char *names, size_t cap, const char *remove_prefix,
                              int *removed)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (names && cap) names[0] = '\0';
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (remove_prefix && strncmp(e->d_name, remove_prefix, strlen(remove_prefix)) == 0) {
            char full[1024];
            snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
            if (remove(full) == 0 && removed) (*removed)++;
            continue;
        }
        n++;
        if (names && strlen(names) + strlen(e->d_name) + 2 < cap) {
            strcat(names, e->d_name);
            strcat(names, " ");
        }
    }
    closedir(d);
    return n;
}

#endif
