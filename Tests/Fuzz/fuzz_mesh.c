/*
** Fuzz target: the OBJ and PLY mesh readers (lamina_mesh_load). The first byte picks the
** format (even: .obj, odd: .ply); the rest is the file. A mesh that loads must answer
** distance queries (which build a BVH over whatever triangles it has) and survive a save and
** reload with the same counts.
*/
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *suffix = (data[0] & 1) ? ".ply" : ".obj";
    const char *path = fuzz_write_file(data + 1, size - 1, suffix);
    lamina_mesh *mesh = NULL;
    lamina_status st = lamina_mesh_load(path, &mesh);
    fuzz_check_status(st, "lamina_mesh_load");
    if (st != LAMINA_OK) {
        if (mesh != NULL) abort();
        return 0;
    }
    size_t nv = lamina_mesh_vertex_count(mesh), nf = lamina_mesh_face_count(mesh);
    if (nf > 0 && nf <= 100000) {
        const float p[6] = {0, 0, 0, 0.5f, -0.25f, 2};
        float d[2], w[2];
        fuzz_check_status(lamina_mesh_signed_distance(mesh, p, 2, d), "lamina_mesh_signed_distance");
        fuzz_check_status(lamina_mesh_winding_number(mesh, p, 2, w), "lamina_mesh_winding_number");
    }
    fuzz_check_status(lamina_mesh_save(mesh, path), "lamina_mesh_save");
    lamina_mesh *again = NULL;
    if (lamina_mesh_load(path, &again) != LAMINA_OK) {
        fprintf(stderr, "a saved mesh does not load: %s\n", lamina_last_error());
        abort();
    }
    if (lamina_mesh_vertex_count(again) != nv || lamina_mesh_face_count(again) != nf) abort();
    lamina_mesh_free(again);
    lamina_mesh_free(mesh);
    return 0;
}
