/*
** Fuzz target: the analytic shape JSON (lamina_shape_sdf, lamina_shape_gradient). An accepted
** shape must give finite distances and gradients at a few points, and a coarse mesh.
*/
#include "fuzz_common.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *shape = fuzz_cstring(data, size);
    const float p[9] = {0, 0, 0, 0.3f, -0.7f, 0.1f, 5, 5, -5};
    float d[3], g[9];
    lamina_status st = lamina_shape_sdf(shape, p, 3, d);
    fuzz_check_status(st, "lamina_shape_sdf");
    if (st == LAMINA_OK) {
        for (int i = 0; i < 3; i++)
            if (!isfinite(d[i])) {
                fprintf(stderr, "non-finite distance %g for %s\n", (double)d[i], shape);
                abort();
            }
        if (lamina_shape_gradient(shape, p, 3, g, NULL) != LAMINA_OK) abort();
        for (int i = 0; i < 9; i++)
            if (!isfinite(g[i])) abort();
        lamina_mesh *mesh = NULL;
        st = lamina_shape_mesh(shape, 6, NULL, &mesh);
        fuzz_check_status(st, "lamina_shape_mesh");
        lamina_mesh_free(mesh);
    }
    free(shape);
    return 0;
}
