/*
** lamina.h -- the C interface to Lamina, an embeddable engine that builds, trains and runs
** small neural networks: multi-layer perceptrons, Kolmogorov-Arnold networks (B-spline,
** Chebyshev, Fourier, RBF, rational, wavelet and mixed bases, with pykan's grid, pruning and
** symbolic tools) and tri-plane neural fields, with the triangle-mesh and analytic-shape tools
** that fitting fields needs (signed distances, sampling, marching cubes, mesh metrics).
**
** This header is the C reference. Read it top to bottom, or find a call in the index below.
**
** FUNCTION INDEX
**
** Every function, under the section (a "----" rule and its name) that documents it.
**
**   Versions
**     lamina_version                     the library's version, "MAJOR.MINOR.PATCH"
**   Errors
**     lamina_status_string               the name of a status code
**     lamina_last_error                  the calling thread's last error message
**   Threads
**     lamina_set_num_threads             threads Lamina runs on (0: the default), at any time
**     lamina_num_threads                 threads Lamina runs on now
**   Models
**     lamina_model_create                a model (MLP, KAN, tri-plane, sequential) from JSON
**     lamina_model_free                  free a model
**     lamina_model_clone                 deep copy of a model
**     lamina_model_spec                  the full spec as JSON, every default filled in
**     lamina_model_input_dim             input features per sample
**     lamina_model_output_dim            outputs per sample
**     lamina_model_parameter_count       trainable scalars
**     lamina_model_predict               evaluate the model on n samples
**     lamina_model_input_gradient        Jacobian of the outputs with respect to the inputs
**     lamina_model_input_derivatives     value, Jacobian and pure second input derivatives
**     lamina_model_save                  write the model as a safetensors file, atomically
**     lamina_model_load                  read a model from a safetensors file
**     lamina_model_save_buffer           the bytes lamina_model_save writes, into memory
**     lamina_model_load_buffer           read a model from safetensors bytes in memory
**   Named tensors
**     lamina_model_tensor_count          number of named tensors
**     lamina_model_tensor_name           name of tensor i
**     lamina_model_tensor_shape          shape of a named tensor
**     lamina_model_tensor_read           copy a named tensor out
**     lamina_model_tensor_write          overwrite a named tensor
**     lamina_model_tensor_trainable      whether a named tensor is trained (or a buffer)
**   Kolmogorov-Arnold network tools
**     lamina_model_kan_update_grid       move B-spline knots to samples (pykan update_grid)
**     lamina_model_kan_refine            grid extension, as a new model (pykan refine)
**     lamina_model_kan_edge_curve        evaluate one edge function at points
**     lamina_model_kan_attribute         edge and node attribution scores (pykan attribute)
**     lamina_model_kan_prune             a pruned copy of a model (pykan prune)
**     lamina_model_kan_regularization    the sparsity regulariser's value (pykan reg)
**     lamina_model_kan_suggest_symbolic  symbolic fits of one edge, best first, as JSON
**     lamina_model_kan_fix_symbolic      make one edge a given symbolic function
**     lamina_model_kan_auto_symbolic     make every edge its best-fitting symbolic function
**     lamina_model_kan_symbolic_formula  the formulas of a fully symbolic model
**     lamina_model_kan_symbolic_search   suggest_symbolic with every search setting (JSON)
**     lamina_model_kan_set_symbolic      make one edge symbolic with a given affine, or numeric
**     lamina_kan_symbolic_library        the symbolic library's names and complexities
**     lamina_model_kan_mixture           mixture weights of a mixed-basis layer
**     lamina_model_kan_keep_strongest    a copy whose mixed edges keep their strongest basis
**   Triangle meshes
**     lamina_mesh_create                 a mesh from vertex and triangle arrays
**     lamina_mesh_free                   free a mesh
**     lamina_mesh_vertex_count           number of vertices
**     lamina_mesh_face_count             number of triangles
**     lamina_mesh_vertices               copy the vertex coordinates out
**     lamina_mesh_faces                  copy the triangles' vertex indices out
**     lamina_mesh_normals                copy the vertex normals out
**     lamina_mesh_load                   read an OBJ or PLY file
**     lamina_mesh_save                   write an OBJ or PLY file, atomically
**     lamina_mesh_signed_distance        signed distance of points to the mesh
**     lamina_mesh_winding_number         generalized winding number of points
**     lamina_mesh_closest_point          nearest surface points and their triangles
**     lamina_point_cloud_distance        unsigned distance to the nearest point of a cloud
**     lamina_mesh_sample_surface         area-uniform points on the surface
**     lamina_mesh_sample_points          signed-distance training points and their distances
**   Analytic shapes, marching cubes and mesh metrics
**     lamina_shape_sdf                   signed distance of a JSON shape at points
**     lamina_shape_gradient              gradient of a shape's signed distance at points
**     lamina_marching_cubes              a mesh of a sampled grid's level set
**     lamina_shape_mesh                  a mesh of a JSON shape
**     lamina_mesh_compare                Chamfer distance, F-score, normal consistency, IoU
**   Tri-plane fields
**     lamina_model_slice                 evaluate a 3-input model on a plane
**     lamina_model_extract_mesh          a mesh of a 3-input model's level set
**     lamina_model_triplane_upsample     a copy with the tri-plane planes resampled
**     lamina_model_field_split           one field of a many-field model as its own model
**     lamina_model_field_stack           single-field models stacked into one of N fields
**   Training
**     lamina_trainer_create              a trainer for a model from a JSON config
**     lamina_trainer_free                free a trainer
**     lamina_trainer_config              the trainer's full config as JSON
**     lamina_trainer_step                one optimizer step on one batch
**     lamina_trainer_evaluate            the loss on n samples, changing nothing
**     lamina_trainer_fit                 train for epochs in shuffled mini-batches
**     lamina_trainer_kan_fit             pykan's fit: steps, grid updates on its schedule
**     lamina_trainer_save_state          write the trainer's state to a file, atomically
**     lamina_trainer_load_state          resume a trainer from a state file
**   Loss terms
**     lamina_loss_terms_create           weighted loss terms for a model, from JSON
**     lamina_loss_terms_free             free loss terms
**     lamina_loss_terms_count            number of terms
**     lamina_loss_terms_config           the terms' full config as JSON
**     lamina_loss_terms_set_points       give one term its points and targets
**     lamina_trainer_step_terms          one optimizer step on every term
**     lamina_trainer_fit_terms           optimizer steps on every term, with progress
**   Vector-Jacobian products (custom losses)
**     lamina_model_vjp                   dL/dx for a caller's dL/dy (custom losses, torch)
**     lamina_model_parameter_vjp         the parameter gradients for a caller's dL/dy
**     lamina_trainer_step_vjp            one optimizer step from a caller's dL/dy
**   Fitting fields
**     lamina_model_fit_config            the trainer config that fits a field to n points
**     lamina_model_fit_mesh              fit a 3-input model to a mesh's signed distance
**     lamina_model_fit_points            fit a 3-input model to a point cloud (no distances)
**
** (Tests/Scripts/check_header.sh fails when a declared function is missing here, listed
** twice or under another section, or when an entry names no declared function.)
**
** A WORKED EXAMPLE
**
**     lamina_model *model = NULL;
**     if (lamina_model_create("{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [32, 32],"
**                             " \"output\": 1, \"activation\": \"tanh\"}", &model) != LAMINA_OK) {
**         fprintf(stderr, "lamina: %s\n", lamina_last_error());
**         return 1;
**     }
**     lamina_trainer *trainer = NULL;
**     lamina_trainer_create(model, "{\"optimizer\": \"adam\", \"learning_rate\": 0.01,"
**                                  " \"epochs\": 100, \"batch_size\": 64}", &trainer);
**     float loss;
**     lamina_trainer_fit(trainer, x, y, n, NULL, NULL, &loss);   // x: n*2, y: n*1 floats
**     lamina_model_predict(model, x, n, y_hat);                    // y_hat: n*1 floats
**     lamina_model_save(model, "model.safetensors");
**     lamina_trainer_free(trainer);
**     lamina_model_free(model);
**
** CONVENTIONS
**
** - Every fallible call returns a lamina_status; LAMINA_OK is 0. On failure a message naming
**   the problem is available from lamina_last_error() on the same thread, and nothing the
**   call was asked to change has been changed (outputs may have been partly written).
** - Arrays are caller-allocated, 32-bit float, row-major, with explicit counts: `x` is
**   n x input_dim, `y` is n x output_dim, `dydx` is n x output_dim x input_dim.
** - Configuration crosses this interface as UTF-8 JSON text. Every key has a default,
**   documented at the call that reads it; unknown keys are an error.
** - Outputs whose size is not known in advance (JSON text, names) use the two-call
**   pattern: pass buf = NULL and cap = 0 to learn the length in *len (excluding the
**   terminating NUL); then call again with cap >= *len + 1. A buffer that is too small
**   gives LAMINA_E_INVALID_ARGUMENT and still sets *len. One exception, so that its search
**   runs once: lamina_model_kan_suggest_symbolic's and _symbolic_search's sizing calls set *len
**   to an upper bound.
** - Handles are opaque. `*_free(NULL)` is a no-op. A call that makes a new object returns it
**   through `**out`: it sets *out to NULL before anything else (when out is not NULL), so
**   after any failure *out is NULL, and after success it owns the new object.
** - Paths are NUL-terminated, UTF-8, at most 4096 bytes and not empty: NULL and "" are
**   LAMINA_E_INVALID_ARGUMENT before any file is touched (lamina_model_save, _load,
**   lamina_mesh_save, _load, lamina_trainer_save_state, _load_state).
** - Thread safety: calls documented as READ-ONLY may run on one model from many threads at
**   once. Calls documented as EXCLUSIVE change a model or trainer and must not overlap any
**   other call on the same object (a trainer counts as using its model). The library checks
**   this on models, at the cost of two atomic operations per call, and never waits: a call
**   that would overlap an EXCLUSIVE call on the same model (lamina_trainer_step, _evaluate,
**   _fit, _kan_fit, _step_vjp, lamina_model_tensor_write, _parameter_vjp,
**   lamina_model_kan_update_grid, _fix_symbolic, _auto_symbolic, _set_symbolic, lamina_model_fit_mesh, _fit_points), or an EXCLUSIVE call that would overlap any call
**   on it, fails with LAMINA_E_INVALID_ARGUMENT, "model is in use by another call on another thread (EXCLUSIVE
**   calls must not overlap ...)", and changes nothing; retry once the other call has
**   returned. A progress callback may make READ-ONLY calls on the model being trained
**   (predict, save: the weights are those of the last completed step), from its own
**   thread only (the same calls handed to other threads are refused), but not EXCLUSIVE
**   ones. Not checked: calls that only read what never changes (input_dim, output_dim,
**   parameter_count, tensor_count, tensor_name, tensor_shape, tensor_trainable,
**   trainer_config), and the
**   *_free calls, which must not overlap any call on the object they free.
** - Threads: Lamina sets OpenBLAS to one thread (openblas_set_num_threads(1), process-wide)
**   and splits large products and loops itself over its own worker pool, in fixed blocks,
**   so results are the same on any thread count; the workers take on the calling thread's
**   floating-point mode (rounding, flush-to-zero) for each call, and idle ones sleep after
**   50 us. The pool runs on lamina_num_threads() threads, the caller included: by default
**   LAMINA_NUM_THREADS when it is a positive integer (read once, when the count is first
**   needed), else the cores in the process's affinity mask, at most 8 either way; change
**   it at any time with lamina_set_num_threads() (see "Threads" below). The long geometry
**   loops (mesh distances, marching cubes, shape and mesh sampling) run on the same pool.
**   See README "Threads".
** - fork(): as with most threaded libraries, a child created by fork() without exec() must
**   not call Lamina if the parent had used it (its worker threads and one-time
**   initialisation locks do not survive the fork; such a child was seen to hang).
** - No input crashes the process: NULL pointers, zero or absurd sizes, NaN/Inf data,
**   malformed JSON and hostile files give an error code and a message.
** - Steady state: after a first call at a given batch size, lamina_trainer_step (every
**   optimizer, every model family), lamina_model_predict and lamina_model_input_gradient
**   (and lamina_trainer_step_vjp, lamina_model_vjp) allocate no memory: their scratch is kept and reused, whatever kernels OpenBLAS picked
**   for the CPU (Tests/C/test_steady_state_alloc.c checks every family under every
**   OPENBLAS_CORETYPE the machine runs). A call on a new, larger batch grows the scratch
**   once, and so does the first call of each further thread predicting at the same time.
** - Memory checkers: every call frees what it allocates, but some memory lives as long as
**   the process (the worker threads, which are never joined, and the Swift runtime's type
**   caches), and valgrind's leak check reports a few of those blocks as "possibly lost",
**   which its default --errors-for-leak-kinds=definite,possible counts as errors. `make
**   install` puts a suppression file for exactly those reports, each entry saying why it is
**   there, in $(PREFIX)/share/lamina/lamina.supp (bindings/c/lamina.supp in the sources):
**       valgrind --leak-check=full --error-exitcode=1
**                --suppressions=/usr/local/share/lamina/lamina.supp ./app
**   It matches only allocations made by the Swift runtime and by thread creation, never
**   one made by Lamina's own code, so a real leak is still reported. (It needs the
**   library's symbol table: do not strip liblamina.so.)
*/
#ifndef LAMINA_H
#define LAMINA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------
** Versions
*/

/** Version of this header. The library reports its own with lamina_version(). */
#define LAMINA_VERSION_MAJOR 0
#define LAMINA_VERSION_MINOR 2
#define LAMINA_VERSION_PATCH 0
#define LAMINA_VERSION_STRING "0.2.0"

/** The library's version as "MAJOR.MINOR.PATCH". Static storage; never NULL. Thread-safe. */
const char *lamina_version(void);

/* ---------------------------------------------------------------------------------------
** Limits
**
** Every size that comes from input is bounded, so hostile input cannot exhaust memory.
** Exceeding a limit gives LAMINA_E_INVALID_ARGUMENT for one value in a spec or config (a
** width, a layer count, a text length), LAMINA_E_OUT_OF_MEMORY for totals (a model's
** parameters, n x width of a call) and LAMINA_E_FORMAT for anything read from a file.
** JSON nesting is limited to 128 levels; JSON must be strict RFC 8259 (no trailing commas,
** no comments, no duplicate keys).
**
** Every limit, in one list (the macros below, and where a section states its own):
**
**   Text and files
**     spec, config, options and shape JSON    LAMINA_MAX_JSON_BYTES bytes, 128 levels deep
**     paths, tensor names, symbolic libraries 4096 bytes; symbolic function names 64 bytes
**     model file                              LAMINA_MAX_HEADER_BYTES of header; at most
**                                             8 + header + 4 x LAMINA_MAX_PARAMETERS bytes
**     trainer state file                      LAMINA_MAX_HEADER_BYTES of header; at most the
**                                             data the loading trainer's state can hold
**     mesh file (OBJ, PLY)                    4 GiB; PLY header 1 MiB; counts checked against
**                                             the file's size before memory is taken
**   Models (lamina_model_create)
**     any layer's input or output             1 to LAMINA_MAX_WIDTH features
**     layers                                  LAMINA_MAX_LAYERS
**     trainable scalars (total)               LAMINA_MAX_PARAMETERS (LAMINA_E_OUT_OF_MEMORY)
**     activation hyper-parameters             magnitude 1e6
**     KAN bspline                             grid 1 to 10000, order 0 to 10
**     KAN chebyshev                           degree 1 to 64
**     KAN fourier                             grid (frequencies) 1 to 1024
**     KAN rbf                                 grid 2 to 1024; inputs x grid <= 1048576
**     KAN rational                            groups 0 to LAMINA_MAX_WIDTH (dividing widths)
**     KAN wavelet                             wavelet "mexican_hat" or "morlet"
**     KAN mixed                               temperature 1e-6 to 1e6; bases without repeats
**     tri-plane                               resolution 2 to 4096 per level; at most 16
**                                             levels; channels 1 to LAMINA_MAX_WIDTH;
**                                             features per point (planes and Fourier) at most
**                                             LAMINA_MAX_WIDTH; fourier 0 to 24 frequencies;
**                                             fields 1 to 16777216; output 1 to
**                                             LAMINA_MAX_WIDTH
**   Calls
**     n samples x the widest layer             LAMINA_MAX_BATCH_ELEMENTS (LAMINA_E_OUT_OF_MEMORY;
**                                             predict, gradients, trainer calls, KAN tools,
**                                             symbolic fits); KAN edge_curve: count at most
**                                             LAMINA_MAX_BATCH_ELEMENTS
**     points of mesh, shape and sampling calls at most 715827882 (3 n floats within
**                                             LAMINA_MAX_BATCH_ELEMENTS)
**     lamina_model_kan_refine                 grid 1 to 10000 (and the new model's parameters)
**     lamina_model_kan_symbolic_search        grid_number 2 to 1001, iterations 1 to 100
**     lamina_model_slice                      resolution 1 to 2048; resolution^2 samples within
**                                             the batch limit
**     lamina_model_extract_mesh,              resolution 2 to 1024 and resolution^3 at most
**     lamina_shape_mesh                       2^28 samples (the grid is held in memory)
**     lamina_marching_cubes                   2 to 1024 samples per axis
**     lamina_model_triplane_upsample          resolution 2 to 4096 (and the parameter limit)
**     lamina_model_field_stack                count 1 to 16777216 models (and the parameter
**                                             limit)
**     lamina_mesh_compare                     samples 1 to 16777216
**     lamina_point_cloud_distance             at most 67108864 points in the cloud and
**                                             715827882 queries (LAMINA_E_OUT_OF_MEMORY)
**     meshes (Triangle meshes)                at most 67108864 vertices, 134217728 triangles
**                                             (LAMINA_E_OUT_OF_MEMORY from loads and
**                                             extractions; LAMINA_E_INVALID_ARGUMENT from
**                                             lamina_mesh_create)
**     shapes (Analytic shapes)                coordinates and lengths of magnitude 1e6
**   Trainers (lamina_trainer_create)
**     batch_size 1 to 2^24; epochs 1 to 2^30; patience and progress_every up to 2^30 and 2^40;
**     warmup_steps, decay_steps up to 2^40; lbfgs max_iter 1 to 2^20, history_size 1 to 10000,
**     and its memory, (2 history_size + 11) x parameters floats, at most
**     LAMINA_MAX_LBFGS_SCALARS (LAMINA_E_OUT_OF_MEMORY); learning_rate and each entry of
**     learning_rates 0 to 1e6; min_learning_rate 0 to learning_rate; momentum and gamma 0 to 1;
**     beta1, beta2 at least 0 and below 1; epsilon above 0, at most 1; weight_decay 0 to 1000;
**     validation_split at least 0 and below 1 (one sample or more is left to train on);
**     lamb, lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff, plane_tv, plane_l2 0 to 1e6;
**     huber_delta and y_th above 0; clip_norm and the lbfgs tolerances at least 0; seed 0 to 2^53 - 1
*/
#define LAMINA_MAX_WIDTH 65536            /**< features of any one layer's input or output */
#define LAMINA_MAX_LAYERS 1024            /**< layers in one model */
#define LAMINA_MAX_PARAMETERS 268435456   /**< trainable scalars in one model (1 GiB) */
#define LAMINA_MAX_BATCH_ELEMENTS 2147483647 /**< n x widest layer in one call */
#define LAMINA_MAX_JSON_BYTES 16777216    /**< spec or config text */
#define LAMINA_MAX_HEADER_BYTES 67108864  /**< safetensors header */
#define LAMINA_MAX_LBFGS_SCALARS 2147483648 /**< floats an lbfgs trainer keeps (8 GiB) */

/* ---------------------------------------------------------------------------------------
** Errors
*/

/** Result of every fallible call. */
typedef enum lamina_status {
    LAMINA_OK = 0,                 /**< success */
    LAMINA_E_INVALID_ARGUMENT = 1, /**< NULL pointer, bad value, bad JSON key or value */
    LAMINA_E_SHAPE = 2,            /**< array sizes or counts do not match the model */
    LAMINA_E_IO = 3,               /**< a file could not be opened, read or written */
    LAMINA_E_FORMAT = 4,           /**< a file or text is malformed, truncated or hostile */
    LAMINA_E_NUMERIC = 5,          /**< NaN or Inf in inputs, or training diverged */
    LAMINA_E_OUT_OF_MEMORY = 6,    /**< an allocation failed or would exceed a limit */
    LAMINA_E_UNSUPPORTED = 7,      /**< valid request this model kind cannot do */
    LAMINA_E_CANCELLED = 8,        /**< a progress callback asked to stop */
    LAMINA_E_INTERNAL = 9          /**< a bug in Lamina; please report it */
} lamina_status;

/** Name of a status code, such as "LAMINA_E_SHAPE". Static storage; never NULL. Thread-safe. */
const char *lamina_status_string(lamina_status status);

/**
** Message describing the most recent failure on the calling thread ("" if none yet).
** The text is owned by Lamina and valid until the next lamina_* call on this thread.
** Thread-safe: each thread has its own message.
*/
const char *lamina_last_error(void);

/* ---------------------------------------------------------------------------------------
** Threads
**
** Lamina runs its parallel work (large products, batched layers, mesh and shape loops) on
** one process-wide pool of worker threads plus the calling thread. Many processes on one
** machine (a process pool, Ray workers) can each keep to a share of the cores by setting
** LAMINA_NUM_THREADS in their environment or calling lamina_set_num_threads(). The work is
** split in fixed blocks whatever the count, so every count gives bit-identical results.
*/

/**
** Set the number of threads, the calling thread included, that Lamina's calls run on.
** n = 0 restores the default: LAMINA_NUM_THREADS when it was a positive integer when the
** count was first needed (empty, 0, negative or other text is ignored), else the cores in
** the process's affinity mask; at most 8 either way. n > 8 is clamped to 8, the most the
** fixed blocks can use (lamina_num_threads() then reports 8). May be called at any time,
** from any thread: calls that start after it returns use the new count. A lower count parks
** the workers beyond it (they claim no tasks and sleep, using no CPU; with n = 1 no worker
** runs anything and the caller runs every task); a higher one starts workers now, up to 8.
** A call running on another thread meanwhile finishes on the threads it has. Raising the
** count makes the next call of a kind allocate scratch once for the new threads. Results
** are bit-identical for every count. Thread-safe.
** Errors: none (always LAMINA_OK; a thread the system refuses to create only costs
** parallelism, and lamina_num_threads() then counts only the threads that run).
*/
lamina_status lamina_set_num_threads(size_t n);

/**
** The number of threads, the calling thread included, that Lamina's calls run on: the
** count lamina_set_num_threads() set, or the default (see there); fewer only when the
** system refused to create threads. Reading it starts no threads. Thread-safe.
*/
size_t lamina_num_threads(void);

/* ---------------------------------------------------------------------------------------
** Progress callbacks
*/

/**
** What a progress callback is told. Read-only for the callee, valid only during the call.
** Fields are only ever added at the end. Counts start at 1 for the step or epoch that has
** just finished; a field that does not apply is 0 (counts) or NaN (losses).
*/
typedef struct lamina_progress {
    size_t step;            /**< optimizer steps done so far in this call */
    size_t steps;           /**< optimizer steps this call will do in total */
    size_t epoch;           /**< epochs done so far */
    size_t epochs;          /**< epochs this call will do at most */
    float loss;             /**< mean training loss of the last epoch (or steps so far) */
    float validation_loss;  /**< loss on the validation split; NaN when there is none */
    double elapsed_seconds; /**< wall time since the call began */
} lamina_progress;

/**
** Called during long work. Return 0 to go on; any other value stops the work cleanly: the
** call returns LAMINA_E_CANCELLED and the model is left valid (weights as of the last
** completed step). Called on the thread that made the call.
*/
typedef int (*lamina_progress_fn)(const lamina_progress *progress, void *user_data);

/* ---------------------------------------------------------------------------------------
** Models
*/

/** A model: architecture plus weights. */
typedef struct lamina_model lamina_model;

/**
** Build a model from a JSON spec and initialise its weights from the spec's seed.
**
**   {"kind": "mlp", "input": 3, "hidden": [64, 64], "output": 1, "activation": "relu"}
**
** MLP keys (defaults): input (required), output (required), hidden ([]),
** activation ("relu"; a name or object for every hidden layer, or a list with one per hidden
** layer), output_activation ("identity"), init ("auto": siren for sine, he_uniform for the
** relu family, xavier_uniform otherwise), bias_init ("auto": PyTorch's uniform(+-1/sqrt(fan_in))),
** seed (0).
** Activation names: identity, relu, leaky_relu {negative_slope 0.01}, prelu {init 0.25},
** elu {alpha 1}, selu, celu {alpha 1}, gelu {approximate "none"|"tanh"}, silu (alias swish),
** mish, softplus {beta 1, threshold 20}, tanh, sigmoid, hardtanh {min_val -1, max_val 1},
** hardsigmoid, hardswish, softsign, sine {omega_0 30}. An object form is
** {"name": "leaky_relu", "negative_slope": 0.1}.
** Initialisers: he_uniform (alias kaiming_uniform), he_normal (kaiming_normal),
** xavier_uniform (glorot_uniform), xavier_normal (glorot_normal), lecun_uniform, lecun_normal,
** siren, zeros, auto.
**
**   {"kind": "kan", "widths": [2, 5, 1], "basis": "bspline", "grid": 5, "order": 3}
**
** KAN keys (defaults): widths (required; at least two, each 1 to LAMINA_MAX_WIDTH, or
** [n_sum, n_mult] with mult_arity: see "Multiplication nodes" below; one KAN layer per
** consecutive pair, as pykan's KAN(width=...)), basis ("bspline"), seed (0), and the keys of
** the basis, beside "basis". Bases, their keys and tensors per layer l:
**
** "bspline" (pykan's KANLayer): grid (5; intervals, 1 to 10000), order (3; spline degree k,
**   0 to 10), grid_range ([-1, 1]; finite lo < hi), noise_scale (0.3), scale_base_mu (0),
**   scale_base_sigma (1), base_fun ("silu"; pykan's base_fun: "silu" b(x) = x sigmoid(x),
**   "identity" b(x) = x, "zero" b(x) = 0; another name is LAMINA_E_INVALID_ARGUMENT, its
**   message listing these), symbolic (false; true adds pykan's symbolic branch, which the
**   symbolic calls below need), sp_trainable (true; pykan's: false freezes "l.scale_sp",
**   which becomes a buffer: no optimizer changes it, no gradient is computed for it,
**   lamina_model_parameter_count leaves it out and lamina_model_tensor_trainable gives 0),
**   sb_trainable (true; the same for "l.scale_base"); the spec keeps these two only when
**   false, and a mixed layer refuses them false. phi(x) = scale_base b(x) + scale_sp
**   sum_m coef_m B_m(x). "l.coef" (in x out x grid+order), "l.scale_base", "l.scale_sp"
**   (in x out; each, when frozen, after the trained tensors, before "l.grid"), and the
**   buffers "l.grid" (in x grid+2*order+1 knots) and "l.mask" (in x out; 1 keeps an edge).
**   Outside the extended grid every B-spline is exactly 0: only the base branch remains.
**   Every pass uses b: predictions, gradients, derivative losses, the regulariser and
**   edge curves; grid updates and refine refit the spline part only, as pykan.
**   With "symbolic": true each edge i -> j also adds symbolic_mask_ij * (c f(a x_i + b) + d)
**   to output j, with the trained parameter "l.symbolic_affine" (in x out x 4: a, b, c, d;
**   after "l.scale_sp") and the buffers "l.symbolic_mask" (in x out; 1 once the edge is
**   fixed symbolic) and "l.symbolic_fn" (in x out; f's index in the symbolic library, as a
**   float; an invalid index adds nothing), after "l.mask"; all start at 0. The spec keeps
**   the key only when true, so models without the branch have none of these tensors.
** "chebyshev" (ChebyKAN): degree (4; 1 to 64). y_j = sum_i sum_d coef_ijd T_d(tanh x_i), by
**   the three-term recurrence (finite gradients where tanh saturates). "l.coef"
**   (in x out x degree+1).
** "fourier" (FourierKAN): grid (5; frequencies 1 to 1024), smooth_init (false; initial
**   coefficients fall off as 1/g^2), bias (true). y_j = bias_j + sum_i sum_g a_jig cos(g x_i)
**   + b_jig sin(g x_i). "l.fouriercoeffs" (2 x out x in x grid: a, then b), "l.bias" (out).
** "rbf" (FastKAN): grid (8; Gaussian centres, 2 to 1024), grid_range ([-2, 2]; first and last
**   centre), normalize (false; a LayerNorm first, refused for a layer with 1 input), base
**   (true; a silu linear branch with bias). "l.spline_linear.weight" (out x in*grid), with base
**   "l.base_linear.weight" (out x in) and "l.base_linear.bias" (out), with normalize
**   "l.layernorm.weight" and "l.layernorm.bias" (in), and the buffer "l.rbf.grid" (grid).
** "rational" (KAT's GR-KAN): groups (0: per layer, the largest divisor of its input width not
**   above 8; otherwise it must divide every layer's input width), init ("identity", "gelu",
**   "swish" alias "silu"), bias (true). Each group of channels shares F(x) = (a0 + ... +
**   a5 x^5) / (1 + |b1 x + ... + b4 x^4|), then a linear map. "l.numerator" (groups x 6),
**   "l.denominator" (groups x 4), "l.linear.weight" (out x in), "l.linear.bias" (out).
** "wavelet" (Wav-KAN): wavelet ("mexican_hat" or "morlet"; default "mexican_hat").
**   y_j = sum_i w_ji psi((x_i - tau_ji) / s_ji), psi(t) = 2 / (sqrt(3) pi^(1/4)) (1 - t^2)
**   exp(-t^2/2) (Mexican hat) or cos(5t) exp(-t^2/2) (real Morlet). No batch norm and no base
**   branch (edges stay separable). "l.scale" (out x in; ones), "l.translation" (out x in;
**   zeros), "l.wavelet_weights" (out x in; U(-1/sqrt(in), 1/sqrt(in))).
** "mixed" (after ASS-KAN, Activation Space Selectable KAN): every edge is a learned mixture
**   of several bases, phi_ij(x) = sum_k a_ijk phi^k_ij(x) with a_ij = softmax_k(
**   mix_logits[j][i][k] / temperature), phi^k_ij edge (i, j) of component k (a whole layer of
**   that basis). Keys: bases (["bspline", "chebyshev", "fourier", "rbf"]; at least two, no
**   duplicates, not "mixed"; each a name or an object with "name" and that basis's keys),
**   temperature (1; 1e-6 to 1e6), selected (false; set by lamina_model_kan_keep_strongest).
**   Components may not mix inputs: rbf "normalize" and bspline "symbolic" must be false. A
**   per-output bias of a component (fourier "bias", rbf "base_linear.bias", rational
**   "linear.bias") is shared equally by the output's edges (b_j / in each). Tensors:
**   "l.mix_logits" (out x in x K; zeros, a uniform mixture, at first), then component k's
**   usual tensors prefixed "l.bases.<k>." ("l.bases.0.coef", "l.bases.0.grid",
**   "l.bases.2.fouriercoeffs", ...). A selected layer has instead of "l.mix_logits" the
**   buffer "l.selection" (out x in x K): fixed weights a_ijk (one-hot after
**   keep_strongest).
**
** "basis" may also be a list with one entry per layer, each a name (that basis with its
** defaults) or an object with "name" and that basis's keys; the basis keys then go in the
** entries only:
**
**   {"kind": "kan", "widths": [2, 5, 1], "basis": ["bspline", {"name": "chebyshev", "degree": 8}]}
**
** lamina_model_spec() writes each entry as an object with all its keys (rational groups as
** the number the layer uses); the shared form keeps "groups": 0 so every layer picks its own.
**
** Multiplication nodes (pykan's MultKAN, KAN 2.0): a widths entry may be [n_sum, n_mult]
** (a plain n is [n, 0]; at least one node), with the key mult_arity (2): every
** multiplication node's number of factors (an integer >= 2), or as pykan one list per
** widths entry with one arity per multiplication node of that level, e.g.
**
**   {"kind": "kan", "widths": [2, [5, 2], 1]}
**   {"kind": "kan", "widths": [2, [1, 2], 1], "mult_arity": [[], [2, 3], []]}
**
** The first entry (the inputs) takes no multiplication nodes; the last (the outputs) may,
** as in pykan. The KAN layer into a level with multiplication nodes has n_sum + (sum of the
** level's arities) outputs (pykan's subnodes): the first n_sum are the level's sum nodes,
** and each multiplication node is the product of the next `arity` of them, in order. The
** model's layers are then KAN layer, multiplication nodes ("type": "multiply", no tensors),
** KAN layer, ..., so tensor names skip the multiplication layers' indices: [2, [5, 2], 1]
** has "0.coef" (2 x 9 x G+k) and "2.coef" (7 x 1 x G+k); layer indices of the KAN calls
** below (edge curves, symbolic) are these model layer indices too. pykan's node affine
** (node_scale/bias, subnode_scale/bias: identity, untrained by default) is left out.
** lamina_model_spec() writes [n_sum, n_mult] for levels with multiplication nodes and
** mult_arity (the integer, or the lists) when there are any; plain KANs' full specs have
** neither.
**
**   {"kind": "triplane", "resolution": 128, "channels": 16, "aggregation": "sum",
**    "decoder": {"hidden": [64], "activation": "relu"}, "output": 1}
**
** Tri-plane field keys (defaults): a tri-plane encoding (below), then a decoder; output (1),
** seed (0; the decoder is drawn as its kind draws it, the planes from a derived stream),
** decoder ({"hidden": [64], "activation": "relu"}): an MLP (the "mlp" keys but input,
** output and seed; "kind": "mlp" optional) or a KAN ({"kind": "kan", "hidden": [...], and
** the "kan" keys but widths and seed; widths are [features] + hidden + [output]),
** decoder_per_field (false; with fields N > 1, true gives each field its own MLP decoder of
** the decoder's widths and activations instead of one shared decoder, all trained in the
** same call; an MLP decoder only, and not with prelu: either is LAMINA_E_INVALID_ARGUMENT;
** with fields = 1 it is accepted and changes nothing). Field 0's decoder starts as the
** shared decoder of the same seed would, field k's is drawn after field k - 1's.
** Tensors: "0.planes" (or "0.planes_0", "0.planes_1", ... for several resolutions), then the
** decoder's ("1.weight", "1.bias", ...); with per-field decoders, per dense stage s
** "1.s.weight" [N, out, in] and "1.s.bias" [N, out], slice k being field k's (so
** "1.0.weight", "1.0.bias", "1.1.weight", ...).
** Tri-plane encoding keys: resolution (128; texels per side, 2 to 4096, or a list for a
**   multi-resolution encoding), channels (16), aggregation ("sum" | "product" | "mean" |
**   "concat" (3 x channels features)), multires ("concat" | "sum": how levels combine),
**   bounds ([[-1, 1], [-1, 1], [-1, 1]], or one [lo, hi] for every axis), align_corners
**   (true: texel centres of the first and last texel lie on the box's faces, PyTorch's
**   grid_sample align_corners=True; false: the texels' outer edges do), padding ("zeros":
**   texels off the grid read 0, so features fade to 0 within a texel outside the box |
**   "border": outside points take the nearest face point's features), fourier (0; L
**   frequencies of a positional encoding appended: sin and cos of 2^l pi q for the point q
**   normalised to [-1, 1]^3), fourier_include_input (true; also append q), init ("normal" |
**   "uniform"), init_mean (0; 1 for "product", as K-Planes), init_std (0.001), fields (1;
**   with N > 1 the model fits N fields at once: each has its own planes, the decoder is
**   shared, and each input row is field index, x, y, z, an index that is not a whole number
**   below N being LAMINA_E_INVALID_ARGUMENT).
** Planes tensor shape: fields * 3 x channels x resolution x resolution (PyTorch's NCHW, as
** grid_sample reads it), planes xy, xz, yz per field; plane xy samples (x -> width, y ->
** height), xz (x, z), yz (y, z). Sampling equals torch.nn.functional.grid_sample(mode=
** "bilinear") with the same align_corners and padding_mode, bit for bit on [-1, 1]^3.
**
**   {"kind": "sequential", "input": 3, "layers": [{"type": "triplane", "resolution": 64},
**    {"type": "dense", "output": 64}, {"type": "activation", "name": "relu"},
**    {"type": "dense", "output": 1}]}
**
** Sequential keys: input (required), seed (0), layers: objects with "type" "dense" (output;
** bias true, init, bias_init), "activation" (name and the activation's keys), "kan" (output,
** basis and the basis's keys), "multiply" (pykan's multiplication nodes over the previous
** layer's features: sum (0) pass through, then mult nodes of arity factors each: arity (2;
** or a list with one per node), mult (the list's length, or (input - sum) / arity); the
** input must be sum + the arities' total; output sum + mult) or "triplane" (the encoding
** keys above).
**
** On success *out owns a new model; free it with lamina_model_free().
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL, malformed JSON, unknown or bad key, a width over
** LAMINA_MAX_WIDTH), LAMINA_E_OUT_OF_MEMORY (more than LAMINA_MAX_PARAMETERS). Thread-safe.
*/
lamina_status lamina_model_create(const char *spec_json, lamina_model **out);

/** Free a model. NULL is a no-op. A trainer made from it keeps its own reference. EXCLUSIVE. */
void lamina_model_free(lamina_model *model);

/**
** Deep copy of a model (spec and weights). *out owns the copy. READ-ONLY on `model`.
** Errors: LAMINA_E_INVALID_ARGUMENT.
*/
lamina_status lamina_model_clone(const lamina_model *model, lamina_model **out);

/**
** The model's full spec as JSON, every default filled in (two-call pattern). Creating a model
** from this text gives the same architecture. READ-ONLY.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL model or len, buffer too small).
*/
lamina_status lamina_model_spec(const lamina_model *model, char *buf, size_t cap, size_t *len);

/** Number of input features per sample; 0 for NULL. READ-ONLY. */
size_t lamina_model_input_dim(const lamina_model *model);

/** Number of outputs per sample; 0 for NULL. READ-ONLY. */
size_t lamina_model_output_dim(const lamina_model *model);

/** Number of trainable scalars; 0 for NULL. READ-ONLY. */
size_t lamina_model_parameter_count(const lamina_model *model);

/**
** Evaluate the model on n samples: x is n x input_dim, y receives n x output_dim.
** n = 0 is allowed and does nothing. The same model, x and n always give the same bits; a
** row's result may differ in the last bits between calls with different n (small batches
** use their own kernel, as PyTorch's results also depend on the batch size).
** READ-ONLY: safe from many threads at once.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL pointers), LAMINA_E_NUMERIC (NaN/Inf in x),
** LAMINA_E_OUT_OF_MEMORY (n beyond the documented limit).
*/
lamina_status lamina_model_predict(const lamina_model *model, const float *x, size_t n, float *y);

/**
** Exact Jacobian of the outputs with respect to the inputs, by back-propagation:
** dydx[s][k][i] = d y[s][k] / d x[s][i], an array of n x output_dim x input_dim floats.
** READ-ONLY: safe from many threads at once. Errors as lamina_model_predict().
*/
lamina_status lamina_model_input_gradient(const lamina_model *model, const float *x, size_t n,
                                          float *dydx);

/**
** The outputs with their first and pure second derivatives with respect to the inputs, by
** jet passes (forward-mode derivatives along each input carried with the values; see
** "Loss terms"): y (n x output_dim, as lamina_model_predict), dydx (n x output_dim x
** input_dim, as lamina_model_input_gradient) and d2ydx2 (n x output_dim x input_dim, entry
** [s][k][i] = d^2 y[s][k] / d x[s][i]^2: the diagonal of each output's Hessian, whose sum is
** the Laplacian). Each output may be NULL, not all three; with d2ydx2 NULL the cheaper
** first-order pass runs. Second derivatives of ReLU, leaky ReLU, PReLU and hardtanh are 0
** (a ReLU network's Laplacian is 0 almost everywhere); at the kinks of piecewise
** activations the derivatives are those of the piece the first derivative takes. READ-ONLY.
** Errors as lamina_model_predict(), and LAMINA_E_UNSUPPORTED for a model with a layer that
** has no jet pass yet (the message names it).
*/
lamina_status lamina_model_input_derivatives(const lamina_model *model, const float *x, size_t n,
                                             float *y, float *dydx, float *d2ydx2);

/**
** Save the model (spec and weights) as a safetensors file at `path`. The write is atomic: a
** temporary file in the same directory is written, flushed and renamed over `path`, so a
** failure never damages an existing file: after a full disk, an unwritable directory or the
** process being killed mid-save, `path` holds the previous file or the new one, complete.
** A failed save removes its temporary file; a killed one leaves it, named
** "<path>.tmp-XXXXXX" (X: letters and digits), for the host to delete. READ-ONLY: may run
** while other threads predict.
** Errors: LAMINA_E_INVALID_ARGUMENT, LAMINA_E_IO.
*/
lamina_status lamina_model_save(const lamina_model *model, const char *path);

/**
** Load a model saved by lamina_model_save() (or any safetensors file with a Lamina spec in
** its metadata). Every offset, dtype, shape and count is checked before use; NaN/Inf
** weights are rejected. *out owns the new model. Thread-safe.
** Errors: LAMINA_E_INVALID_ARGUMENT, LAMINA_E_IO, LAMINA_E_FORMAT.
*/
lamina_status lamina_model_load(const char *path, lamina_model **out);

/**
** The bytes lamina_model_save() would write to a file (a safetensors file, byte for byte),
** written to memory: for hosts that move bytes rather than paths (Ray, pickling, a
** database). Two-call pattern for binary data: pass buf = NULL and cap = 0 to learn the
** size in *len, then call again with cap >= *len (no terminating NUL is written). A
** buffer that is too small gives LAMINA_E_INVALID_ARGUMENT and still sets *len. READ-ONLY:
** may run while other threads predict.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL model or len, buf NULL with cap > 0, buffer too
** small).
*/
lamina_status lamina_model_save_buffer(const lamina_model *model, void *buf, size_t cap,
                                       size_t *len);

/**
** Load a model from len bytes at buf, as lamina_model_save_buffer() writes them (or the
** contents of any file lamina_model_load() reads): the same decoder and the same checks as
** lamina_model_load(), every offset, dtype, shape and count checked before the data is
** touched, so hostile or truncated bytes give LAMINA_E_FORMAT with a message, never a
** crash. The bytes are only read, and not referenced after the call. *out owns the new
** model. Thread-safe.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL buf or out), LAMINA_E_FORMAT (malformed,
** truncated or hostile bytes, len = 0, len beyond the largest valid model).
*/
lamina_status lamina_model_load_buffer(const void *buf, size_t len, lamina_model **out);

/* ---------------------------------------------------------------------------------------
** Named tensors
**
** Weights are exposed by name with PyTorch's naming: an MLP is the equivalent
** torch.nn.Sequential(Linear, act, Linear, act, ..., Linear), so its tensors are
** "0.weight" (out x in), "0.bias", "2.weight", ... and a PReLU's slope is "1.weight".
*/

/** Number of named tensors; 0 for NULL. READ-ONLY. */
size_t lamina_model_tensor_count(const lamina_model *model);

/**
** Name of tensor `index` (0 <= index < lamina_model_tensor_count()), two-call pattern.
** READ-ONLY. Errors: LAMINA_E_INVALID_ARGUMENT (NULL, index out of range, buffer too small).
*/
lamina_status lamina_model_tensor_name(const lamina_model *model, size_t index, char *buf,
                                       size_t cap, size_t *len);

/**
** Shape of the tensor called `name`: its rank goes to *rank and, when cap >= rank, its
** dimensions to shape[0..rank-1] (pass shape = NULL, cap = 0 to learn the rank). READ-ONLY.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL, unknown name, cap too small).
*/
lamina_status lamina_model_tensor_shape(const lamina_model *model, const char *name,
                                        size_t *shape, size_t cap, size_t *rank);

/**
** Copy the tensor called `name` into out; count must equal the product of its shape.
** READ-ONLY. Errors: LAMINA_E_INVALID_ARGUMENT (NULL, unknown name), LAMINA_E_SHAPE (count).
*/
lamina_status lamina_model_tensor_read(const lamina_model *model, const char *name, float *out,
                                       size_t count);

/**
** Overwrite the tensor called `name` with `count` floats from values. All values are checked
** first: on any error the tensor is unchanged. EXCLUSIVE.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL, unknown name), LAMINA_E_SHAPE (count),
** LAMINA_E_NUMERIC (NaN/Inf in values).
*/
lamina_status lamina_model_tensor_write(lamina_model *model, const char *name,
                                        const float *values, size_t count);

/**
** Whether the tensor called `name` is trained: *trainable is 1 for a parameter (optimizers
** update it; lamina_model_parameter_vjp lays out the gradients of these, in tensor order)
** and 0 for a buffer (saved and written by name but never trained, such as a KAN's ".grid"
** and ".mask"). Never changes for a model, so not checked against concurrent calls.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL, unknown name).
*/
lamina_status lamina_model_tensor_trainable(const lamina_model *model, const char *name,
                                            int32_t *trainable);

/* ---------------------------------------------------------------------------------------
** Kolmogorov-Arnold network tools
**
** pykan's grid tools for the B-spline KAN layers of a model (kind "kan", or "kan" layers of
** a sequential model). A model without such layers gives LAMINA_E_UNSUPPORTED. Layers are
** numbered as in the tensor names ("<layer>.coef"); for kind "kan" layer l joins widths[l]
** to widths[l + 1]. The current knots of layer l are the buffer "<layer>.grid"; the spec
** keeps the grid the model was made with. pykan's fit, with its grid-update schedule, is
** lamina_trainer_kan_fit (under Training).
*/

/**
** Move every B-spline KAN layer's knots to the samples, as pykan's
** model.update_grid_from_samples(x): x is n x input_dim (n >= 1); layer by layer, each
** input's G + 1 interior knots become (1 - grid_eps) x the sample quantiles plus
** grid_eps x the uniform grid over the samples' range (grid_eps in [0, 1]; pykan's default
** 0.02), extended by k knots each side, and each edge's spline coefficients are refitted by
** least squares to the values the spline had at the samples, so the model's predictions on
** the samples change little. Each layer sees the samples as the layers before it, already
** updated, transform them. An input whose samples are all equal keeps its knots. EXCLUSIVE.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL, grid_eps outside [0, 1] or NaN), LAMINA_E_SHAPE
** (n = 0), LAMINA_E_NUMERIC (NaN/Inf in x; nothing is changed), LAMINA_E_OUT_OF_MEMORY (n
** beyond the batch limit), LAMINA_E_UNSUPPORTED (no B-spline KAN layer).
*/
lamina_status lamina_model_kan_update_grid(lamina_model *model, const float *x, size_t n,
                                           float grid_eps);

/**
** Grid extension, as pykan's model.refine(grid): a new model whose B-spline KAN layers have
** `grid` intervals (1 to 10000). Each input's new interior knots interpolate its current
** ones at evenly spaced positions (a uniform grid stays uniform; 5 -> 10 splits every
** interval), and each edge's new spline is the least-squares fit of its current one at
** the samples that layer receives from x (n x input_dim), or, when n = 0 (x may then be
** NULL), at k + 1 evenly spaced points in each new knot interval of each input's grid
** range. Refining to a multiple of the current grid reproduces the model on that range up
** to rounding. scale_base,
** scale_sp, masks and all other layers' tensors are copied. The new spec is this one with
** "grid" replaced. *out owns the new model. READ-ONLY on `model`.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL, grid outside 1..10000, knots too close for
** float), LAMINA_E_NUMERIC (NaN/Inf in x), LAMINA_E_OUT_OF_MEMORY (n beyond the batch
** limit, or more than LAMINA_MAX_PARAMETERS), LAMINA_E_UNSUPPORTED (no B-spline KAN layer).
*/
lamina_status lamina_model_kan_refine(const lamina_model *model, size_t grid, const float *x,
                                      size_t n, lamina_model **out);

/**
** Evaluate one edge function of a KAN layer at `count` points, so that every edge can be
** plotted (pykan's plot): y[s] = phi(x[s]) where, for edge i -> j of a B-spline layer,
**   phi(x) = mask_ij * (scale_base_ij * silu(x) + scale_sp_ij * sum_m coef_ijm B_m(x)),
** so that output j of the layer is sum_i phi_ij(x_i) (outside the extended grid only the
** silu term remains). The other bases' edges are their terms of output j (a per-output
** bias counted as bias_j / in on each edge, so the sum over i is again the output); a
** mixed layer's edge is its mixture sum_k a_ijk phi^k_ij; an rbf layer with "normalize"
** has no edge functions (LAMINA_E_UNSUPPORTED). For a model of one layer with one input, y equals
** lamina_model_predict's output. Indices are checked even when count = 0 (x and y may
** then be NULL). READ-ONLY: safe from many threads at once.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL, layer, i or j out of range), LAMINA_E_NUMERIC
** (NaN/Inf in x), LAMINA_E_OUT_OF_MEMORY (count beyond LAMINA_MAX_BATCH_ELEMENTS),
** LAMINA_E_UNSUPPORTED (not a KAN layer, or an rbf layer with "normalize").
*/
lamina_status lamina_model_kan_edge_curve(const lamina_model *model, size_t layer, size_t i,
                                          size_t j, const float *x, size_t count, float *y);

/**
** Attribution scores, as pykan's model.attribute() after a forward pass on x (n x
** input_dim, n >= 2). Every layer must be a B-spline KAN layer. With E_l[i][j] the standard
** deviation over the samples of edge i -> j of layer l (mask included; divisor n - 1, as
** torch.std) and S_l[j] that of the layer's output j, scores flow back from the outputs:
** each output node scores 1 / output_dim, edge_l[i][j] = E_l[i][j] * node_{l+1}[j] /
** (S_l[j] + 1e-4), node_l[i] = sum_j edge_l[i][j]. Layout of scores: the edge scores of
** layer 0, 1, ..., L-1, each in_l x out_l row-major (the layout of "<l>.mask"; pykan's
** edge_scores[l] is its transpose), then the node scores of levels 0 (inputs), 1, ..., L
** (outputs). With multiplication nodes (see lamina_model_create), l counts the KAN layers
** only, out_l is the layer's outputs (subnodes), S_l is taken over them and node_{l+1}[j] is
** the score of the node subnode j feeds (a product's score for each of its factors), as
** pykan's attribute(); node levels count nodes.
** *len is set to that total, sum_l in_l * out_l + sum of the widths. Two-call
** pattern: scores = NULL and cap = 0 set *len only (x is then not read and may be NULL);
** a cap below *len gives LAMINA_E_INVALID_ARGUMENT and still sets *len. READ-ONLY.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL, cap too small), LAMINA_E_SHAPE (n < 2),
** LAMINA_E_NUMERIC (NaN/Inf in x), LAMINA_E_OUT_OF_MEMORY (n beyond the batch limit),
** LAMINA_E_UNSUPPORTED (a layer that is not a B-spline KAN layer, or multiplication nodes
** after one).
*/
lamina_status lamina_model_kan_attribute(const lamina_model *model, const float *x, size_t n,
                                         float *scores, size_t cap, size_t *len);

/**
** Pruning, as pykan's model.prune(node_th, edge_th) (pykan's defaults: 1e-2, 3e-2): a new
** model in which (1) every hidden node whose node score (see lamina_model_kan_attribute,
** on x) is not above node_th is removed: the widths shrink and the tensors on both sides
** of the node are sliced (a multiplication node goes with all its factors, as pykan's
** prune_node; a listed mult_arity loses its entry); a level left empty keeps its
** best-scoring node; then (2) the
** scores are computed again on the smaller model and every edge whose score is not above
** edge_th gets mask 0 (other masks are kept). Inputs and outputs are never removed. The
** new spec is this one with the widths changed. Removing nodes that feed nothing (all
** outgoing edges masked) leaves predictions unchanged; otherwise pruning moves them, as in
** pykan: a node with a low score has a nearly constant output, not a zero one, and that
** constant reaches the next layer through the removed node's edges, so it vanishes with
** them, and a masked edge's constant part too (in one case the RMSE on the training data
** went from 0.033 to 1.38). Train the pruned model again before using it. *out owns the
** new model. READ-ONLY on `model`.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL, NaN/Inf threshold), LAMINA_E_SHAPE (n < 2),
** LAMINA_E_NUMERIC (NaN/Inf in x), LAMINA_E_OUT_OF_MEMORY (n beyond the batch limit),
** LAMINA_E_UNSUPPORTED (a layer that is not a B-spline KAN layer).
*/
lamina_status lamina_model_kan_prune(const lamina_model *model, const float *x, size_t n,
                                     float node_th, float edge_th, lamina_model **out);

/**
** The KAN sparsity regulariser, as pykan's model.reg(reg_metric, lamb_l1, lamb_entropy,
** lamb_coef, lamb_coefdiff) after a forward pass on x (n x input_dim, n >= 1): the value a
** trainer with "lamb" > 0 multiplies by lamb and adds to the loss (see
** lamina_trainer_create for the definition), summed over the B-spline KAN layers (other
** layers add nothing). config_json is a JSON object with the trainer config's
** regulariser keys and their defaults: lamb_l1 (1), lamb_entropy (2), lamb_coef (0),
** lamb_coefdiff (0), reg_metric ("edge_forward_spline_n"); NULL means all defaults.
** "lamb" is not a key here. With n = 1 every standard deviation is 0 (pykan: NaN), so only
** the coefficient terms remain. Computed in double, returned as float in *reg. READ-ONLY:
** safe from many threads at once.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL model, x or reg; bad JSON, a value out of
** range, an unknown key or reg_metric), LAMINA_E_SHAPE (n = 0), LAMINA_E_NUMERIC (NaN/Inf
** in x, or a regulariser too large for float), LAMINA_E_OUT_OF_MEMORY (n beyond the batch
** limit), LAMINA_E_UNSUPPORTED (no B-spline KAN layer; "edge_forward_spline_u" or
** "edge_forward_sum" on a layer with symbolic edges).
*/
lamina_status lamina_model_kan_regularization(const lamina_model *model, const float *x,
                                              size_t n, const char *config_json, float *reg);

/**
** Symbolic regression, as pykan's suggest_symbolic / fix_symbolic / auto_symbolic /
** symbolic_formula, for B-spline KAN layers built with "symbolic": true (other models give
** LAMINA_E_UNSUPPORTED). Edge (layer, i, j) is sampled as pykan does: x = the layer's input i
** for the model inputs x (n x input_dim, n >= 1), y = the numeric edge function there. A fit
** is c * f(a * x + b) + d: (a, b) by pykan's fit_params grid search (a, b in [-10, 10], 101 x
** 101, 3 refinements; the first best point, as torch.argmax), (c, d) by least squares, R^2 =
** squared correlation (pykan's: S^2 / (P syy + 1e-4)). Library names are pykan's ("x",
** "x^2", ..., "1/x", "sqrt", "exp", "log", "sin", "tanh", "sgn", "arctan", "0", "gaussian",
** then Lamina's "cosh", "sigmoid"; lamina_kan_symbolic_library lists them). f is the plain
** function, in the search as in the model's forward pass (pykan's default, not its
** singularity-avoiding variants): an (a, b) that puts a sample outside f's domain or on a
** pole (sqrt or log of a negative number, 1/0, arcsin beyond [-1, 1]) scores 0, as does one
** whose sums overflow pykan's float32 arithmetic; a fixed edge evaluated outside f's domain
** gives NaN (exp is not capped). The search runs in double on the worker pool; its results
** are the same on any thread count.
**
** suggest_symbolic: every library function fitted, best first by pykan's score
** (weight_simple in [0, 1]; pykan 0.8), as a JSON array of {"name", "r2", "a", "b", "c", "d",
** "complexity", "score"} (two-call pattern, with one difference, so that the search, which
** evaluates every library function 3 x 101^2 times per sample, runs once). The sizing call
** (buf NULL, cap 0) checks every argument, as the filling call does, but fits nothing: it
** sets *len to an upper bound on the text's length, the same for every edge, x and n (about
** 7 KB: every number counted at its widest). The call with a buffer fits and sets *len to
** the text's actual length; a buffer of the bound's size plus one is always enough, so one
** sizing call serves every edge. Nothing is kept between calls: each filling call searches
** afresh, so it always describes the model and x as they are. READ-ONLY.
** fix_symbolic: fits `function`, makes the edge symbolic (symbolic_mask 1, numeric mask 0)
** and writes the fit's R^2 to *r2 (may be NULL). EXCLUSIVE.
** auto_symbolic: for every edge: skipped if already symbolic, set to "0" if pruned, else the
** best-scoring function of `library` (comma-separated names, NULL = all) is fixed when its
** R^2 >= r2_threshold (pykan: 0). EXCLUSIVE.
** symbolic_formula: one formula per output, newline-separated, inputs x_1 ... x_n, every
** number with 9 significant digits ("%.9g", enough to read back the stored float exactly:
** round it yourself, as pykan's ex_round) (two-call pattern); a multiplication node is the
** product of its factors' formulas, "(f1)*(f2)"; LAMINA_E_UNSUPPORTED while an edge is
** numeric. READ-ONLY.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL, indices out of range, unknown function),
** LAMINA_E_SHAPE (n = 0), LAMINA_E_NUMERIC (NaN/Inf in x), LAMINA_E_OUT_OF_MEMORY (n beyond
** the batch limit), LAMINA_E_UNSUPPORTED (no symbolic branch).
*/
lamina_status lamina_model_kan_suggest_symbolic(const lamina_model *model, size_t layer,
                                                size_t i, size_t j, const float *x, size_t n,
                                                float weight_simple, char *buf, size_t cap,
                                                size_t *len);
lamina_status lamina_model_kan_fix_symbolic(lamina_model *model, size_t layer, size_t i,
                                            size_t j, const char *function, const float *x,
                                            size_t n, float *r2);
lamina_status lamina_model_kan_auto_symbolic(lamina_model *model, const char *library,
                                             const float *x, size_t n, float r2_threshold,
                                             float weight_simple);
lamina_status lamina_model_kan_symbolic_formula(const lamina_model *model, char *buf,
                                                size_t cap, size_t *len);

/**
** lamina_model_kan_symbolic_search: suggest_symbolic with the settings of pykan's
** suggest_symbolic and fit_params as a JSON object (options_json NULL = every default):
**   "library"        array of library names to try (default: the whole library)
**   "a_range"        [lo, hi], finite, lo < hi: a's range in the first round ([-10, 10])
**   "b_range"        [lo, hi]: b's range in the first round ([-10, 10])
**   "grid_number"    points per axis, 2 to 1001 (101)
**   "iterations"     rounds of the search, each zooming in, 1 to 100 (3)
**   "weight_simple"  in [0, 1] (0.8); 0 ranks by R^2 alone
** Unknown keys are refused (the message lists the known ones). The output is
** suggest_symbolic's: a JSON array of {"name", "r2", "a", "b", "c", "d", "complexity",
** "score"}, best first (ties keep library order), with the same two-call pattern (the
** sizing call checks every argument and sets *len to suggest_symbolic's bound). READ-ONLY.
** lamina_model_kan_set_symbolic: pykan's fix_symbolic(l, i, j, function,
** fit_params_bool=False) with the affine given: with `function` (a library name) edge
** (layer, i, j) becomes c * function(a x + b) + d with (a, b, c, d) = affine[0 .. 3] (4
** finite floats), symbolic_mask 1, numeric mask 0; with function NULL (affine ignored, may be NULL) pykan's
** unfix_symbolic: symbolic_mask 0, numeric mask 1 ("l.symbolic_fn" and "l.symbolic_affine"
** are kept). EXCLUSIVE. On any error the model is unchanged.
** lamina_kan_symbolic_library: the library as a JSON array of {"name", "complexity"} in
** library order: the position of a name is the index "l.symbolic_fn" stores (two-call
** pattern, exact length). Thread-safe; needs no model.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL model, x, len or, with a function, affine;
** indices out of range, bad JSON, an unknown key, value or function name, a small buffer),
** LAMINA_E_NUMERIC (NaN/Inf in x or affine), LAMINA_E_SHAPE (n = 0),
** LAMINA_E_OUT_OF_MEMORY (n beyond the batch limit), LAMINA_E_UNSUPPORTED (no symbolic
** branch).
*/
lamina_status lamina_model_kan_symbolic_search(const lamina_model *model, size_t layer,
                                               size_t i, size_t j, const float *x, size_t n,
                                               const char *options_json, char *buf,
                                               size_t cap, size_t *len);
lamina_status lamina_model_kan_set_symbolic(lamina_model *model, size_t layer, size_t i,
                                            size_t j, const char *function,
                                            const float *affine);
lamina_status lamina_kan_symbolic_library(char *buf, size_t cap, size_t *len);

/**
** Mixed-basis KAN layers ("basis": "mixed", see lamina_model_create).
**
** lamina_model_kan_mixture: the normalised mixture weights of layer `layer`, out x in x K
** row-major (a_ijk at (j * in + i) * K + k; each edge's K weights sum to 1), or the fixed
** "selection" of a selected layer. The component names, in order, are the layer's "bases"
** in lamina_model_spec. Two-call: *len is set to out * in * K; with weights NULL (cap 0)
** nothing else is written. READ-ONLY: safe from many threads at once.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL model or len, weights NULL with cap > 0, cap too
** small, layer out of range), LAMINA_E_UNSUPPORTED (the layer is not a mixed-basis layer).
**
** lamina_model_kan_keep_strongest: a new model in which every edge of every mixed layer
** keeps only the basis with the largest mixture weight (ties: the earlier one), at full
** weight: the weight is dropped (renormalised to 1), so each edge equals its chosen
** component's edge exactly and component tensors keep their values. A layer whose edges all
** choose the same basis becomes a plain layer of that basis ("l.bases.<k>.coef" becomes
** "l.coef", ...); otherwise it keeps the chosen components only, renumbered, with
** "selected": true and a one-hot "l.selection". A "kan" model's new spec lists its bases per
** layer. The kept model usually needs some more training. *out owns the new model.
** READ-ONLY on `model`.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL), LAMINA_E_UNSUPPORTED (no mixed-basis layer).
**
** The B-spline tools (update_grid, refine, attribute, prune, the symbolic calls) refuse
** models with mixed layers (LAMINA_E_UNSUPPORTED); lamina_model_kan_edge_curve works on
** them (phi_ij above, biases shared as stated).
*/
lamina_status lamina_model_kan_mixture(const lamina_model *model, size_t layer, float *weights,
                                       size_t cap, size_t *len);
lamina_status lamina_model_kan_keep_strongest(const lamina_model *model, lamina_model **out);

/* ---------------------------------------------------------------------------------------
** Triangle meshes
**
** A lamina_mesh is an immutable indexed triangle mesh: vertex positions as float x, y, z
** triples, triangles as three uint32_t vertex indices each, counter-clockwise seen from
** outside, and optionally a unit normal per vertex. Every call on a mesh only reads it, so a
** mesh may be used from many threads at once. Limits: at most 67108864 vertices and
** 134217728 triangles.
*/

/** An immutable triangle mesh. */
typedef struct lamina_mesh lamina_mesh;

/**
** Make a mesh from nv vertices (3 * nv floats) and nf triangles (3 * nf indices), copied.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL arrays with a non-zero count, an index >= nv, a
** count over the limit), LAMINA_E_NUMERIC (a non-finite coordinate).
*/
lamina_status lamina_mesh_create(const float *vertices, size_t nv, const uint32_t *faces,
                                 size_t nf, lamina_mesh **out);

/** Free a mesh. NULL is a no-op. */
void lamina_mesh_free(lamina_mesh *mesh);

/** Number of vertices (0 for NULL). */
size_t lamina_mesh_vertex_count(const lamina_mesh *mesh);

/** Number of triangles (0 for NULL). */
size_t lamina_mesh_face_count(const lamina_mesh *mesh);

/**
** Copy the vertex coordinates (3 per vertex) into buf (two-call pattern: *len receives the
** number of floats; buf NULL with cap 0 only asks for it).
*/
lamina_status lamina_mesh_vertices(const lamina_mesh *mesh, float *buf, size_t cap,
                                   size_t *len);

/** Copy the triangles' vertex indices (3 per triangle) into buf (two-call pattern). */
lamina_status lamina_mesh_faces(const lamina_mesh *mesh, uint32_t *buf, size_t cap,
                                size_t *len);

/**
** Copy the per-vertex unit normals (3 per vertex) into buf (two-call pattern); *len is 0
** when the mesh has none.
*/
lamina_status lamina_mesh_normals(const lamina_mesh *mesh, float *buf, size_t cap,
                                  size_t *len);

/*
** Mesh files. OBJ: `v` and `f` lines (polygons fan-triangulated; `f a/b/c`, `a//c` and
** negative, relative indices accepted; `vt`, `vn`, groups, materials and comments ignored).
** PLY: `ascii` and `binary_little_endian` (`binary_big_endian` is LAMINA_E_UNSUPPORTED); the
** vertex element needs scalar x, y, z of any numeric type (nx, ny, nz, when all present,
** become the normals; other properties are skipped); the face element needs an integer list
** `vertex_indices` or `vertex_index`; other elements are skipped. Every count, offset and
** index is checked, and counts are compared with the file's size before memory is taken for
** them; files over 4 GiB and meshes over the limits above are refused.
*/

/**
** Load a mesh from an .obj or .ply file (format by extension, case-insensitively). *out owns
** the new mesh (NULL on failure). Thread-safe.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL or empty path, unknown extension), LAMINA_E_IO
** (cannot open or read; not a regular file), LAMINA_E_FORMAT (malformed file, a vertex
** index out of range, a non-finite coordinate), LAMINA_E_UNSUPPORTED (big-endian PLY),
** LAMINA_E_OUT_OF_MEMORY (over the vertex or triangle limit).
*/
lamina_status lamina_mesh_load(const char *path, lamina_mesh **out);

/**
** Save a mesh as OBJ (.obj) or binary little-endian PLY (.ply, with normals when the mesh has
** them). The write is atomic: a temporary file beside `path` is written, flushed and renamed
** over it, so a failure never damages an existing file (as lamina_model_save: a killed
** process may leave "<path>.tmp-XXXXXX"). Floats are written so that they read back
** bit-exact. Thread-safe.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL mesh or path, unknown extension), LAMINA_E_IO.
*/
lamina_status lamina_mesh_save(const lamina_mesh *mesh, const char *path);

/*
** Distance queries. The first query on a mesh builds a bounding volume hierarchy (binned SAH)
** and keeps it with the mesh; concurrent first queries wait for one build. Queries run in
** parallel over the points, in fixed chunks, so results do not depend on the thread count.
**
** Signed distance = exact Euclidean distance to the nearest triangle, negative inside.
** Inside means generalized winding number > 0.5 (Jacobson et al. 2013), evaluated with the
** hierarchical approximation of Barill et al. 2018 (first-order expansions, beta = 2;
** measured error in w below 0.03): meshes with small holes or cracks still get the right
** sign away from the defect. Meshes must be oriented counter-clockwise seen from outside.
** Occupancy is sdf < 0.
*/

/**
** Signed distance of n points (points: n x 3 floats) into sdf (n floats). n = 0 is a no-op.
** READ-ONLY on the mesh: safe from many threads at once.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL arguments with n > 0, a mesh with no triangles),
** LAMINA_E_NUMERIC (a non-finite coordinate), LAMINA_E_OUT_OF_MEMORY (n over 715827882).
*/
lamina_status lamina_mesh_signed_distance(const lamina_mesh *mesh, const float *points, size_t n,
                                          float *sdf);

/**
** Generalized winding number of n points into winding (n floats): about 1 inside a closed
** mesh, 0 outside, fractional near holes (0 everywhere for a mesh with no triangles).
** READ-ONLY. Errors as lamina_mesh_signed_distance().
*/
lamina_status lamina_mesh_winding_number(const lamina_mesh *mesh, const float *points, size_t n,
                                         float *winding);

/**
** The nearest point of the mesh to each of n points, into closest (n x 3 floats), and the
** index of the triangle it lies on into triangles (n uint32_t; may be NULL). READ-ONLY.
** Errors as lamina_mesh_signed_distance().
*/
lamina_status lamina_mesh_closest_point(const lamina_mesh *mesh, const float *points, size_t n,
                                        float *closest, uint32_t *triangles);

/*
** Point clouds. Unsigned-distance labels for an unoriented point cloud (no normals, no
** triangles), as the tri-plane paper's code makes them: the distance from each query to the
** nearest point of the cloud. Each call builds a k-d tree over the cloud (O(n_points log
** n_points); split at the median of the widest axis) and answers every query exactly, in
** parallel over the queries in fixed chunks, so results do not depend on the thread count.
*/

/**
** The Euclidean distance from each of n_queries queries (queries: n_queries x 3 floats) to
** the nearest of n_points points (points: n_points x 3 floats) into distances (n_queries
** floats), and that point's index (0 to n_points - 1) into nearest (n_queries uint32_t; may
** be NULL). Exact in float arithmetic: the square root of the least squared distance
** (dx^2 + dy^2 + dz^2 in float), the lowest index among equally near points (duplicates
** included); a squared distance beyond FLT_MAX (distances above about 1.8e19) gives +inf.
** n_queries = 0 is a no-op once the cloud is checked (queries, distances and nearest may
** then be NULL). The tree (about 25 bytes a point) is freed before the call returns, so
** query one cloud with all its queries in one call. Thread-safe: reads only its arguments.
** Errors: LAMINA_E_INVALID_ARGUMENT (n_points = 0; NULL points, or NULL queries or distances
** with n_queries > 0), LAMINA_E_NUMERIC (a non-finite coordinate, naming the point or
** query), LAMINA_E_OUT_OF_MEMORY (n_points over 67108864, n_queries over 715827882).
*/
lamina_status lamina_point_cloud_distance(const float *points, size_t n_points,
                                          const float *queries, size_t n_queries,
                                          float *distances, uint32_t *nearest);

/*
** Sampling.
*/

/**
** n points uniformly distributed over the surface by area (a triangle is drawn with
** probability proportional to its area, then a uniform point in it), into points (n x 3
** floats), and the unit normal of each point's triangle into normals (n x 3; may be NULL).
** Deterministic in seed. READ-ONLY.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL points with n > 0; no triangle of positive area),
** LAMINA_E_OUT_OF_MEMORY (n over 715827882).
*/
lamina_status lamina_mesh_sample_surface(const lamina_mesh *mesh, size_t n, uint64_t seed,
                                         float *points, float *normals);

/**
** Training points for a signed distance field: near-surface points (area-uniform surface
** samples plus a Gaussian offset, clamped into the box) and points uniform in the box,
** shuffled together, into points (n x 3 floats), with their signed distances into sdf (n
** floats; occupancy = sdf < 0). options_json (NULL or "{}" for all defaults; unknown keys
** are refused):
**   near_fraction  share of near-surface points, in [0, 1]                 (0.5)
**   sigma          std of the Gaussian offset of near points, >= 0         (0.01)
**   sigma_far      when > 0, every second near point uses this std instead (0)
**   bounds         [low, high], or [x_lo, y_lo, z_lo, x_hi, y_hi, z_hi]    ([-1, 1])
**   seed           integer >= 0; the same seed gives the same points       (0)
** READ-ONLY on the mesh.
** Errors: LAMINA_E_INVALID_ARGUMENT (bad options naming the key, NULL buffers with n > 0, a
** mesh with no triangles), LAMINA_E_OUT_OF_MEMORY (n over 715827882).
*/
lamina_status lamina_mesh_sample_points(const lamina_mesh *mesh, const char *options_json,
                                        size_t n, float *points, float *sdf);


/* ---------------------------------------------------------------------------------------
** Analytic shapes, marching cubes and mesh metrics
*/

/*
** Analytic shapes are given as JSON (every key but "type" optional; unknown keys are errors):
**
**   {"type": "sphere",   "radius": 0.5, "center": [0, 0, 0]}
**   {"type": "box",      "half_extents": [0.5, 0.5, 0.5], "rounding": 0, "center": [0, 0, 0]}
**   {"type": "torus",    "major": 0.5, "minor": 0.2, "center": [0, 0, 0]}
**   {"type": "capsule",  "a": [0, -0.5, 0], "b": [0, 0.5, 0], "radius": 0.2}
**   {"type": "cylinder", "radius": 0.3, "half_height": 0.5, "capped": true, "center": [0, 0, 0]}
**   {"type": "union" | "intersection" | "difference", "shapes": [shape, ...]}
**
** The torus and the cylinder have their axis along y (the torus's ring lies in the xz plane).
** "rounding" rounds a box's edges with that radius, keeping its outer extents (0 <= rounding
** <= the smallest half extent). A cylinder may give "height" instead of "half_height"; an
** uncapped cylinder is infinite along y and takes neither. "difference" is the first shape
** minus all later ones. Values are signed distances, negative inside: exact Euclidean
** distances for the primitives; for the combinations min (union), max (intersection) and
** max(a, -b) (difference), whose sign is exact but whose magnitude is only a bound.
** Lengths must be > 0 and coordinates finite with magnitude <= 1e6. Errors:
** LAMINA_E_INVALID_ARGUMENT naming the key (nested shapes as shape.shapes[i]).
**
** Grids of samples are float arrays [nx][ny][nz] in C order: sample (i, j, k) is
** values[(i * ny + j) * nz + k], at bounds_min + (i, j, k) * (bounds_max - bounds_min) / (n - 1)
** (the first and last samples lie on the bounds; scikit-image's `spacing` convention). Bounds
** are 6 floats xmin, ymin, zmin, xmax, ymax, zmax, finite with min < max; NULL means
** [-1, 1]^3. Each axis has 2 to 1024 samples.
**
** Marching cubes: inside is value < level; one vertex per grid edge crossing the level
** (linear interpolation), shared by the cubes around it; faces whose inside corners lie on a
** diagonal are resolved by the asymptotic decider from that face's values alone, and a cube
** whose iso-line loop cannot be triangulated without touching such a face gets one extra
** vertex at the loop's centre. So the mesh has no cracks: a level set that does not reach
** the grid's boundary gives a closed mesh (every edge in exactly two triangles), triangles
** counter-clockwise seen from outside, normals toward increasing value. The output is the
** same for any thread count. All calls here are thread-safe.
*/

/**
** Signed distance of the shape at n points (3 * n floats, x y z per point) into sdf (n
** floats). n = 0 does nothing (points and sdf may then be NULL). Errors:
** LAMINA_E_INVALID_ARGUMENT (bad JSON or shape, NULL arguments), LAMINA_E_OUT_OF_MEMORY
** (n over 715827882).
*/
lamina_status lamina_shape_sdf(const char *shape_json, const float *points, size_t n,
                               float *sdf);

/**
** Gradient of the signed distance (3 floats per point; a unit outward normal on the surface)
** at n points, and the distance itself into sdf unless sdf is NULL. At kinks (a box's medial
** planes, CSG seams) it is the gradient of one of the pieces meeting there; where no
** direction exists (a sphere's centre) it is zero. Errors as lamina_shape_sdf.
*/
lamina_status lamina_shape_gradient(const char *shape_json, const float *points, size_t n,
                                    float *gradient, float *sdf);

/**
** Marching cubes on a grid of nx * ny * nz samples (layout and bounds above) at `level`. On
** success *out is a new mesh (free it with lamina_mesh_free) with vertex normals from central
** differences of the grid (one-sided at its faces), interpolated along each vertex's edge.
** An empty level set gives a mesh with no vertices. Errors: LAMINA_E_INVALID_ARGUMENT (NULL
** values or out, an axis with fewer than 2 or more than 1024 samples, bad bounds, a
** non-finite level), LAMINA_E_NUMERIC (a NaN or infinite value, naming its (i, j, k)),
** LAMINA_E_OUT_OF_MEMORY (a mesh over the mesh limits). *out is NULL on failure.
*/
lamina_status lamina_marching_cubes(const float *values, size_t nx, size_t ny, size_t nz,
                                    const float *bounds, float level, lamina_mesh **out);

/**
** Mesh of an analytic shape: marching cubes of its signed distance at level 0 on a
** resolution^3 grid spanning bounds (NULL = [-1, 1]^3), with vertex normals from the
** analytic gradient. resolution is 2 to 1024, and resolution^3 at most 2^28 (645^3; the grid
** is held in memory). Errors: as lamina_shape_sdf and lamina_marching_cubes;
** LAMINA_E_OUT_OF_MEMORY for a grid over 2^28 samples.
*/
lamina_status lamina_shape_mesh(const char *shape_json, size_t resolution, const float *bounds,
                                lamina_mesh **out);

/**
** Compare mesh a (read: the prediction) with mesh b (the reference) on `samples`
** area-uniform surface points of each (a sampled with `seed`, b with seed + 1), each matched
** to the nearest sample of the other mesh (point to point, exact, k-d tree):
**   *chamfer             (mean_a d(a, B) + mean_b d(b, A)) / 2, Euclidean (L2, not squared)
**   *fscore              2PR / (P + R) (0 if both are 0): P = fraction of a's samples within
**                        `threshold` of b's, R = fraction of b's within it of a's
**   *normal_consistency  mean over both directions of |n . n'| for the nearest pairs, with
**                        the normals of the triangles the samples lie on
**   *iou                 volumetric intersection over union of the two insides, for closed
**                        meshes: `samples` points uniform (drawn with seed + 2) in the union
**                        of the two bounding boxes, grown on every side by 1% of its largest
**                        extent; inside = generalized winding number > 0.5 (as the sign of
**                        lamina_mesh_signed_distance); IoU = points inside both / points
**                        inside either (1 when none is inside either). A Monte Carlo
**                        estimate: its standard error is about sqrt(IoU (1 - IoU) / m) for m
**                        points inside either (0.002 for IoU 0.9 and m = 25000).
** Any output pointer may be NULL; a NULL iou skips the volume work (two winding-number
** queries per sample, about as costly as the rest; the first also builds each mesh's
** hierarchy, kept with it as for the distance queries). Typical: samples 100000, threshold
** 0.01 in [-1, 1]^3. The result depends only on the meshes, samples, seed and threshold.
** READ-ONLY on both meshes. Errors: LAMINA_E_INVALID_ARGUMENT (NULL mesh, samples 0 or over
** 16777216, a negative or non-finite threshold, a mesh with no triangle of positive area).
**
** ABI change in 0.2.0: the trailing `iou` parameter is new; 0.1 callers passed eight
** arguments and must be rebuilt.
*/
lamina_status lamina_mesh_compare(const lamina_mesh *a, const lamina_mesh *b, size_t samples,
                                  uint64_t seed, float threshold, float *chamfer, float *fscore,
                                  float *normal_consistency, float *iou);


/* ---------------------------------------------------------------------------------------
** Tri-plane fields
**
** These calls evaluate any model with three inputs (x, y, z) as a field: a tri-plane field,
** or an MLP or KAN on coordinates. A `bounds` argument is 6 floats, xmin, ymin, zmin, xmax,
** ymax, zmax (each min below its max), or NULL for the field's own box (a tri-plane
** encoding's `bounds`; [-1, 1]^3 for other models). All are READ-ONLY on the model.
*/

/**
** Evaluate the model on the plane where coordinate `axis` (0 = x, 1 = y, 2 = z) equals
** `offset`, on a resolution x resolution grid spanning the box in the other two axes a < b
** (corners included; resolution 1 samples the centre). `out` receives resolution *
** resolution * output_dim floats: element [i][j][k] is output k at b = b_min + (b_max -
** b_min) * i / (resolution - 1), a = a_min + (a_max - a_min) * j / (resolution - 1), so rows
** follow b (for axis 2: x across, y up). resolution is 1 to 2048.
** Errors: LAMINA_E_INVALID_ARGUMENT, LAMINA_E_SHAPE (the model has not 3 inputs),
** LAMINA_E_OUT_OF_MEMORY (resolution^2 samples over the batch limit).
*/
lamina_status lamina_model_slice(const lamina_model *model, size_t axis, float offset,
                                 size_t resolution, const float *bounds, float *out);

/**
** The surface where the model's first output equals `level`, by marching cubes (see
** lamina_marching_cubes) on a grid of resolution^3 samples spanning the box, corners
** included (resolution 2 to 1024). *out receives a new mesh (free with lamina_mesh_free;
** read it with the two-call lamina_mesh_vertices/faces/normals): triangles counter-clockwise
** seen from where the output is above `level` (outside, for a signed distance), and per
** vertex the normalised exact gradient of the output (the field's normal). A level set that
** does not touch the box's faces gives a closed mesh. READ-ONLY on the model.
** Errors: LAMINA_E_INVALID_ARGUMENT, LAMINA_E_SHAPE (not 3 inputs), LAMINA_E_NUMERIC (the
** field is not finite somewhere on the grid), LAMINA_E_OUT_OF_MEMORY (output over the mesh
** limits).
*/
lamina_status lamina_model_extract_mesh(const lamina_model *model, size_t resolution,
                                        float level, const float *bounds, lamina_mesh **out);

/**
** Coarse to fine: a new model (*out, free with lamina_model_free) whose tri-plane planes
** are resampled bilinearly to resolution x resolution texels (every level of a
** multi-resolution encoding to the same size), every other tensor copied; its spec has the
** new resolution. With align_corners (the default) and resolution = 2 R - 1 the field is
** unchanged at every point; other sizes change it slightly. READ-ONLY on `model`.
** Errors: LAMINA_E_INVALID_ARGUMENT (no tri-plane encoding, resolution out of 2..4096),
** LAMINA_E_OUT_OF_MEMORY (over the parameter limit).
*/
lamina_status lamina_model_triplane_upsample(const lamina_model *model, size_t resolution,
                                             lamina_model **out);

/**
** Field `field` of a many-field tri-plane model ("kind": "triplane", fields N) as a model of
** its own (*out, free with lamina_model_free), which saves and loads alone: its full spec is
** the model's with fields 1 and decoder_per_field false (input x, y, z), every other key
** kept (resolution or resolutions, channels, aggregation, bounds, align_corners, padding,
** fourier, init keys, the decoder, KAN decoders included, output, seed); its planes are
** rows 3 field .. 3 field + 2 of each planes tensor, its decoder the shared decoder copied
** or, with decoder_per_field, field `field`'s slices ("1.s.weight"[field],
** "1.s.bias"[field]) as the plain MLP's "1.weight", "1.bias", "3.weight", ...
** With a shared decoder, *out's predictions at (x, y, z) equal the model's at (field, x, y,
** z) bit for bit. With per-field decoders the weights are copied exactly but predictions
** agree to float rounding only (a few units in the last place): the per-field decoder runs
** each field's rows as one product, a single-field model's dense layers take other
** kernels. A model of one field gives a copy of itself (field 0). READ-ONLY on `model`.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL, field >= fields, a model that is not a
** "triplane" model), LAMINA_E_UNSUPPORTED (a "sequential" model with a tri-plane layer:
** its decoder is the caller's own composition of layers; build the single-field sequential
** model and copy tensors by name instead).
*/
lamina_status lamina_model_field_split(const lamina_model *model, size_t field,
                                       lamina_model **out);

/**
** One tri-plane model of `count` fields (*out, free with lamina_model_free) whose field k is
** models[k]: field k's planes are models[k]'s. Every model must be a single-field "triplane"
** model with the same full spec but for seed (and decoder_per_field, which changes nothing
** with one field); the result's spec is models[0]'s with fields = count and
** decoder_per_field as `options_json` says, and models[0]'s seed.
** Options (NULL or "{}" for the defaults; unknown keys are LAMINA_E_INVALID_ARGUMENT):
**   decoder ("per_field" | "shared"): "per_field" sets decoder_per_field true, each field
**     keeping its own model's decoder as its slice of "1.s.weight" and "1.s.bias" (MLP
**     decoders only, as per-field decoders are; with count 1 it is the model's decoder);
**     "shared" keeps models[0]'s decoder for every field, and needs every model's decoder
**     tensors bit-identical to it.
** Stacking the parts lamina_model_field_split gives (per_field for a model with per-field
** decoders, shared for one with a shared decoder) gives back that model's predictions bit
** for bit. With a shared decoder, each field of the result predicts as its model does, bit
** for bit; with per-field decoders, to float rounding (see lamina_model_field_split).
** READ-ONLY on every model (the same model may appear several times).
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL models, out or entry, count 0 or over 16777216,
** a model that is not a single-field "triplane" model, a spec key that differs (the message
** names the key and the model), a KAN decoder with "per_field", decoders that differ with
** "shared" (the message names the first differing model and tensor), bad options),
** LAMINA_E_UNSUPPORTED (a "sequential" model), LAMINA_E_OUT_OF_MEMORY (over the parameter
** limit).
*/
lamina_status lamina_model_field_stack(const lamina_model *const *models, size_t count,
                                       const char *options_json, lamina_model **out);


/* ---------------------------------------------------------------------------------------
** Training
*/

/** Optimizer state, schedule, loss and scratch memory for training one model. */
typedef struct lamina_trainer lamina_trainer;

/**
** Make a trainer for `model` from a JSON config ("{}" or NULL for all defaults; "" is
** malformed JSON).
**
** Keys (defaults):
**   optimizer "adam" | "adamw" | "sgd" | "lbfgs"             ("adam")
**   learning_rate                0 to 1e6                    (1e-3; 1 for lbfgs)
**   momentum, nesterov           sgd only                    (0, false)
**   beta1, beta2, epsilon        adam and adamw; betas below 1 (0.9, 0.999, 1e-8)
**   weight_decay                 L2 for sgd/adam, decoupled for adamw; must be 0 for lbfgs
**                                                            (0; adamw 0.01)
**   clip_norm                    clip the global gradient norm; 0 = off; must be 0 for
**                                lbfgs                       (0)
**   max_iter                     lbfgs: iterations per step  (20)
**   history_size                 lbfgs: curvature pairs kept (10)
**   tolerance_grad               lbfgs: a step ends once every |gradient| is <= this (1e-7)
**   tolerance_change             lbfgs: a step ends once loss or weights change less (1e-9)
**   tolerance_ys                 lbfgs: a curvature pair is kept only when y.s exceeds this
**                                (1e-10, PyTorch's fixed value; pykan's LBFGS passes 1e-32)
**   line_search "strong_wolfe" | "none"   lbfgs: step-length rule ("strong_wolfe")
**   loss "mse" | "l1" | "huber" | "bce_with_logits" | "cross_entropy" | "unsigned_distance"
**                                                            ("mse")
**   huber_delta                                              (1.0)
**   truncation                   mse, l1, huber, unsigned_distance: clamp prediction and
**                                target to [-truncation, truncation] first (DeepSDF's
**                                clamped SDF loss; no gradient where the prediction is
**                                clamped); 0 = off                                  (0)
**   learning_rates               object: tensor name -> learning rate for that tensor, by
**                                full name ("0.planes") or name within its layer ("planes",
**                                every layer's; a full name wins); scaled by the schedule
**                                like the base rate; a name matching no trainable tensor is
**                                an error; not with lbfgs                          ({})
**   plane_tv, plane_l2           tri-plane fields: weights of the planes' total variation
**                                and mean square, added to the objective; > 0 needs a
**                                tri-plane layer, else LAMINA_E_UNSUPPORTED    (0, 0)
**   schedule "constant" | "step" | "exponential" | "cosine"  ("constant")
**   warmup_steps                 linear warm-up from 0       (0)
**   decay_steps                  step: period; cosine: length (0 = all steps of fit)
**   gamma                        step and exponential factor (0.1 for step, 0.999 exponential)
**   min_learning_rate            cosine floor                (0)
**   batch_size, epochs                                       (256, 10)
**   shuffle                      reshuffle every epoch       (true)
**   seed                         shuffling and splitting     (0)
**   validation_split             last fraction held out, in [0, 1) (0)
**   patience                     epochs without improvement before stopping; 0 = off (0)
**   restore_best                 restore the best validation weights at the end (true)
**   progress_every               also call progress every N steps; 0 = once per epoch (0)
**   lamb                         KAN sparsity regularisation (pykan's fit(lamb=...)): the
**                                objective is loss + lamb * reg; 0 = off; > 0 needs a
**                                B-spline KAN layer, else LAMINA_E_UNSUPPORTED (0)
**   lamb_l1, lamb_entropy        weights of reg's edge-score l1 and entropy terms (1, 2)
**   lamb_coef, lamb_coefdiff     weights of reg's |coef| and |coef difference| terms (0, 0)
**   reg_metric "edge_forward_spline_n" | "edge_forward_spline_u" | "edge_forward_sum"
**                                the edge score v ("edge_forward_spline_n")
**   singularity_avoiding         pykan's fit(singularity_avoiding=True): training passes
**                                evaluate symbolic edges in pykan's singularity-avoiding
**                                forms (below)                                  (false)
**   y_th                         their threshold, above 0 (1000, pykan's fit default)
** With singularity_avoiding, every step's forward and backward (lamina_trainer_step, fit,
** kan_fit's steps, step_vjp and loss-term steps) evaluates each fixed symbolic edge
** c f(a x + b) + d of a B-spline KAN layer with f in the form of pykan 0.2.8's kan/utils.py
** (f_inv ... f_exp) at threshold y_th, and its exact derivative (0 on constant patches):
** 1/x^p for odd p is y_th^(1+1/p) u for |u| < y_th^(-1/p), for even p y_th there; sqrt and
** x^0.5 are u / y_th^3 for |u| < 1/y_th^2, else sign(u) sqrt|u|; x^1.5 is |u|^1.5;
** 1/sqrt(x) is y_th for |u| < 1/y_th^2, else 1/sqrt|u|; log is -y_th for |u| < e^-y_th,
** else log|u|; exp is y_th beyond u = log(y_th); tan is linear through its poles within
** pi/2 - atan(y_th) of them; arctanh is y_th sign(u) for |u| > tanh(y_th) - 1e-4; arcsin
** and arccos are constant beyond [-1, 1]; other functions are unchanged. A NaN on the outer
** branch is 0 and an infinity float's largest magnitude (pykan's nan_to_num). Prediction,
** lamina_trainer_evaluate, the validation split and kan_fit's test loss stay plain, as
** pykan's test forward.
** Losses are means, as PyTorch's reduction="mean": over all elements for mse, l1, huber,
** bce_with_logits and unsigned_distance (mean of ||prediction| - target|: fits an unsigned
** distance field with an output of either sign), over samples for cross_entropy (softmax
** over outputs, one-hot targets).
** Schedules are applied per optimizer step.
** reg is pykan's MultKAN.reg, summed over the B-spline KAN layers (other layers add
** nothing): per edge v = std(phi_spline(x)) / (std(x) + 0.1) over the batch (unbiased std;
** 0 for a 1-row batch), reg = lamb_l1 sum v + lamb_entropy (row + column entropies of v)
** + lamb_coef sum|coef| / out + lamb_coefdiff sum|diff(coef)| / out, with its exact
** gradient (also through each layer's input into earlier layers). With lamb > 0 the loss a
** step reports includes lamb * reg; evaluation losses do not. reg_metric
** "edge_forward_spline_u" takes v = std(phi_spline(x)) (no division), also differentiated;
** "edge_forward_sum" has the default's v but, as pykan (which detaches it), no gradient
** through v, so only the lamb_coef and lamb_coefdiff terms train. pykan adds symbolic
** edges' outputs to these two scores: Lamina refuses them (LAMINA_E_UNSUPPORTED at
** lamina_trainer_create or at the step) on a layer with symbolic edges. The value alone:
** lamina_model_kan_regularization.
** lbfgs is torch.optim.LBFGS (pykan's fit uses its own copy with history_size 10,
** "strong_wolfe" and tolerance_grad, tolerance_change and tolerance_ys of 1e-32): one step
** runs up to max_iter iterations on its batch, re-evaluating loss and gradient about
** max_iter * 5 / 4 times at most (PyTorch's max_eval); the memory (curvature pairs, last
** gradient and move) carries over between steps, unless the weights changed in between by
** anything but this trainer (see below); a strong-Wolfe trial point whose loss or gradient
** is not finite (an exp edge overflowing far along the direction, say) counts as an
** infinite loss: the search backs off toward the last finite point and the step goes on;
** a non-finite loss or gradient at the step's starting point, at the move of line_search
** "none", or a non-finite direction restores the weights from before the step and clears
** the memory (LAMINA_E_NUMERIC), and so does restore_best at the end of a fit. Use it
** with batch_size >= n (full batch), as pykan does. A step whose scheduled learning rate
** is 0 only evaluates the loss. Keys that do not apply to the chosen
** optimizer are accepted and ignored, except weight_decay and clip_norm with lbfgs and
** nesterov = true, which needs sgd with momentum > 0 (a contradiction is an error).
**
** The trainer holds its own reference to the model and changes its weights; while it is in
** use, the model is EXCLUSIVE to it. Between its calls other calls may change the model: a
** tensor write, lamina_model_kan_update_grid (pykan updates grids during its fit; here that
** is a separate call, which lamina_trainer_fit never makes: its knots stay where they are),
** lamina_model_kan_fix_symbolic or _auto_symbolic, or another trainer of the same model. The
** trainer's next step then trains the weights as they are, and every optimizer keeps its
** state: sgd, adam and adamw their moments, lbfgs its curvature pairs and last move, and the
** schedule its position, as PyTorch's optimizers do when their parameters are changed in
** place and as pykan's fit does across its grid updates (a new trainer starts afresh). None
** of these calls changes the number or shape of a model's tensors: grid extension
** (lamina_model_kan_refine) and pruning make a new model, which needs a new trainer. Errors: LAMINA_E_INVALID_ARGUMENT, LAMINA_E_OUT_OF_MEMORY (lbfgs memory over
** LAMINA_MAX_LBFGS_SCALARS).
*/
lamina_status lamina_trainer_create(lamina_model *model, const char *config_json,
                                    lamina_trainer **out);

/** Free a trainer. NULL is a no-op. EXCLUSIVE. */
void lamina_trainer_free(lamina_trainer *trainer);

/**
** The trainer's full config as JSON, every default filled in (two-call pattern). READ-ONLY.
*/
lamina_status lamina_trainer_config(const lamina_trainer *trainer, char *buf, size_t cap,
                                    size_t *len);

/**
** One optimizer step on the n samples given (one batch; n >= 1). *loss (may be NULL)
** receives the batch loss before the step. EXCLUSIVE.
** Errors: LAMINA_E_INVALID_ARGUMENT, LAMINA_E_NUMERIC (NaN/Inf in x or y, or a non-finite
** loss or gradient, or an update that would make a weight non-finite: then the weights are
** left as they were before the step).
*/
lamina_status lamina_trainer_step(lamina_trainer *trainer, const float *x, const float *y,
                                  size_t n, float *loss);

/**
** Loss of the model on n samples, without changing anything but scratch memory. EXCLUSIVE
** on the trainer. Errors as lamina_trainer_step().
*/
lamina_status lamina_trainer_evaluate(lamina_trainer *trainer, const float *x, const float *y,
                                      size_t n, float *loss);

/**
** Train for the configured epochs over n samples in shuffled mini-batches, with the
** configured validation split and early stopping. `progress` (may be NULL) is called after
** every epoch (and every progress_every steps); a non-zero return stops training with
** LAMINA_E_CANCELLED and the weights of the last completed step (restore_best does not
** apply). *final_loss (may be NULL) receives the last epoch's mean training loss; on
** LAMINA_E_CANCELLED, the loss the progress callback was last given (that epoch's, or the
** epoch's steps so far); on any other failure it is not written. It only trains: a KAN's
** grids are never updated here (see lamina_trainer_create). EXCLUSIVE.
** Errors: as lamina_trainer_step(), and LAMINA_E_CANCELLED. Divergence: when a step's loss
** or gradient is not finite, or its update would make a weight non-finite, training stops
** with LAMINA_E_NUMERIC, the message "training diverged at step s of S (epoch e): ..."
** (s counted from 1 in this call), and the weights as they were after step s - 1: the
** last finite ones (what a progress callback called after every step, progress_every 1,
** saw last). The losses of the epochs before are those the callback was given. NaN or Inf
** in x or y is also LAMINA_E_NUMERIC, before any step, with a message that names the input.
*/
lamina_status lamina_trainer_fit(lamina_trainer *trainer, const float *x, const float *y,
                                 size_t n, lamina_progress_fn progress, void *user_data,
                                 float *final_loss);

/**
** pykan's model.fit(dataset, steps=..., batch=..., update_grid=...) run by the library:
** `steps` optimizer steps of this trainer on the n training rows x (n x input_dim), y (n x
** output_dim), with pykan's grid-update schedule, evaluating the test_n test rows test_x,
** test_y after every step. Works for any model; the grid updates apply to models with
** B-spline KAN layers and no mixed-basis layer (lamina_model_kan_update_grid's models) and
** are skipped for all others, which then simply train.
**
** options_json (NULL = "{}": all defaults, which are pykan's). Integers are at most 2^40 in
** magnitude.
**   steps                   optimizer steps, >= 0                                  (100)
**   batch                   rows per step: -1 = every row, in order; k >= 1 = k rows drawn
**                           at random without replacement each step (every row, in
**                           order, when k >= n)                                    (-1)
**   update_grid             update the grids on the schedule below                 (true)
**   grid_update_num         pykan's grid_update_num; >= 1 when update_grid, not read
**                           otherwise                                              (10)
**   start_grid_update_step  first step that may update the grids                   (-1)
**   stop_grid_update_step   steps from this one on update no grid                  (50)
**   grid_eps                lamina_model_kan_update_grid's grid_eps, in [0, 1], rounded
**                           to float                                               (0.02)
** Step s (0-based) is: choose the batch; if update_grid and s % freq == 0 and
** start_grid_update_step <= s < stop_grid_update_step, with freq =
** max(1, stop_grid_update_step / grid_update_num) (pykan's int(stop / num); pykan divides
** by zero where this gives 1), lamina_model_kan_update_grid(model, batch, grid_eps); one
** lamina_trainer_step on the batch; lamina_trainer_evaluate on the test rows. With the
** defaults the grids are updated before steps 0, 5, ..., 45. With batch = -1 the model
** ends with the same bits as that loop of calls made by hand (but for a cosine schedule
** without decay_steps, below). Random batches are drawn by the trainer's own generator
** (SplitMix64 seeded by the config's "seed", a partial Fisher-Yates shuffle; carried on
** across calls on the trainer, as lamina_trainer_fit's shuffles): they differ from numpy's
** or PyTorch's draws for the same seed. Everything
** else is the trainer's config: the optimizer (pykan's fit uses {"optimizer": "lbfgs",
** "history_size": 10, "line_search": "strong_wolfe", "tolerance_grad": 1e-32,
** "tolerance_change": 1e-32, "tolerance_ys": 1e-32}, learning rate 1), loss, schedule (a
** cosine schedule without decay_steps spans this call's steps), and pykan's sparsity
** regularisation (lamb, lamb_l1, ...; see lamina_trainer_create). progress_every,
** batch_size, epochs, shuffle, validation_split and patience do not apply.
**
** Per step s, when the pointers are not NULL (each an array of cap floats, cap >= steps;
** cap is not read when all three are NULL):
**   train_loss[s]  the training loss of step s's batch at the weights before the step (the
**                  prediction loss, without lamb * reg), as pykan's results["train_loss"]
**   test_loss[s]   the loss on all test rows after the step (NaN when test_n = 0), as
**                  pykan's results["test_loss"]
**   reg[s]         pykan's regulariser (without lamb) of step s's batch before the step,
**                  as pykan's results["reg"], when the config's lamb > 0; NaN otherwise
** Losses are root mean squared errors when the config's loss is "mse" (pykan reports
** RMSE) and the loss itself for the other losses. *steps_done (may be NULL) receives the
** number of steps completed, on success and on every failure (0 when the call fails
** before the first step).
**
** progress (may be NULL) is called after every step with step = steps done, steps =
** options' steps, epoch = epochs = 0, loss = train_loss[s], validation_loss = test_loss[s]
** (NaN without test rows), and may make READ-ONLY calls on the model (read tensors such as
** "0.grid", predict). A non-zero return stops the fit: LAMINA_E_CANCELLED, with the model
** and outputs of the step just reported. A failure after k completed steps (a step that
** diverges: LAMINA_E_NUMERIC, that step changes no weight, though a grid update made just
** before it stays) returns with entries 0 ... k - 1 of the outputs written and *steps_done
** = k; later entries are not touched. Inputs, options, cap and data are checked before the
** first step, and nothing is changed when they are refused. x, y, test_x, test_y and the
** outputs stay owned by the caller and are not kept. EXCLUSIVE (the model too).
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL trainer, x or y; NULL test_x or test_y with
** test_n > 0; bad options JSON, an unknown key or a value out of range; n = 0; cap below
** steps; rows lamina_trainer_step refuses; the model in use by another call),
** LAMINA_E_NUMERIC (NaN/Inf in the data, or a diverging step), LAMINA_E_OUT_OF_MEMORY (n
** or test_n beyond the batch limit), LAMINA_E_UNSUPPORTED (KAN regularisation on a layer
** with symbolic edges, as lamina_trainer_step), LAMINA_E_CANCELLED.
*/
lamina_status lamina_trainer_kan_fit(lamina_trainer *trainer, const float *x, const float *y,
                                     size_t n, const float *test_x, const float *test_y,
                                     size_t test_n, const char *options_json,
                                     lamina_progress_fn progress, void *user_data,
                                     float *train_loss, float *test_loss, float *reg,
                                     size_t cap, size_t *steps_done);

/**
** Write the trainer's state to `path` as a safetensors file, atomically (a temporary file
** beside it is written, synced and renamed over it: a failure leaves an existing file as it
** was and no temporary file behind). The state is everything the trainer carries from one
** call to the next: the optimizer's moments (adam, adamw: first and second; sgd with
** momentum: its buffer) and step count, lbfgs's whole memory (curvature pairs, last
** direction, gradient and step length, Hessian scale, iteration counts), the schedule's
** position (steps taken, and the span a cosine schedule without decay_steps was given by the
** last fit), and the generator of fit's shuffles and kan_fit's random batches. It does not
** hold the model's weights: save those with lamina_model_save. Integers are saved as I64 or
** U64 tensors and lbfgs's double-precision scalars as F64, so nothing is rounded; the file
** opens with the safetensors package (tensor names and metadata: Sources/Lamina/Training/
** TrainerState.swift). READ-ONLY: it may run beside other READ-ONLY calls on the trainer's
** model and from a progress callback of the trainer's own fit or kan_fit (the state is then
** that after the step just reported: the same bytes a save right after a fit the callback
** cancels writes), and is refused while an EXCLUSIVE call uses the model from another
** thread. Resumes are exact at call boundaries: a resumed trainer's next fit is a new fit
** (its own epochs and shuffles), as the saving trainer's next fit would have been.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL trainer or path, "" path, the model in use by an
** EXCLUSIVE call), LAMINA_E_IO (the file cannot be written).
*/
lamina_status lamina_trainer_save_state(const lamina_trainer *trainer, const char *path);

/**
** Replace the trainer's state with one lamina_trainer_save_state wrote. Resuming a run is:
** lamina_model_load the model saved with the state, lamina_trainer_create with the same
** optimizer settings, lamina_trainer_load_state; the calls that follow (step, fit,
** kan_fit) then give the same bits as they would have given the trainer that saved it.
** The state must be of a model with the same trainable tensors (names and shapes, in order)
** and of a trainer with the same optimizer settings: "optimizer" and the keys of its update
** rule (sgd: momentum, nesterov, weight_decay; adam, adamw: beta1, beta2, epsilon,
** weight_decay; lbfgs: max_iter, history_size, tolerance_grad, tolerance_change,
** tolerance_ys, line_search). Every other key may differ and the resumed run uses this
** trainer's value (as a PyTorch user sets a new lr after load_state_dict): learning_rate,
** learning_rates, the schedule, loss, regularisers, epochs, batch_size and the rest; seed
** does not matter, the saved generator replaces the one it seeded. The whole file is checked
** before anything changes (a checksum over the whole file, so any changed byte is
** refused; every offset, dtype, shape and count; values finite, second moments not
** negative), and on any error the trainer is exactly as it was. Weights are not
** touched. EXCLUSIVE.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL trainer or path, "" path, the model in use; a
** state saved with other optimizer settings: the message names the key and both values),
** LAMINA_E_IO (the file cannot be opened or read), LAMINA_E_FORMAT (a truncated, damaged or
** foreign file, a model file among them, a newer format version), LAMINA_E_SHAPE (a state of
** another model: the message names the first tensor that differs).
*/
lamina_status lamina_trainer_load_state(lamina_trainer *trainer, const char *path);

/* ---------------------------------------------------------------------------------------
** Loss terms
**
** A loss made of weighted terms, each on its own points, trained in one optimizer step:
** the value losses of lamina_trainer_step and losses on the derivatives of the output with
** respect to the input, the way IGR and SIREN fit signed distance fields from points and
** normals and pykan's PDE tutorials solve Poisson's equation. The objective of a step is
** sum over terms of weight * term loss; every mean is over the term's points (and entries):
**
**   "value", "boundary"  mean (f(x) - y)^2 over points and outputs (metric "l1": mean |.|);
**                        targets: output_dim per point. Two names, so that a history tells
**                        data from boundary conditions.
**   "eikonal"            mean (|grad f(x)| - 1)^2; no targets. Where grad f = 0 its
**                        gradient is taken as 0.
**   "normal"             metric "cosine": mean (1 - cos(grad f, n)) (SIREN's), or "l2":
**                        mean over points and inputs of (df/dx_i - n_i)^2; targets: input_dim
**                        per point, the normals, stored normalised (a zero normal is an error).
**   "gradient"           mean over points and inputs of (df/dx_i - g_i)^2 (Sobolev
**                        training); targets: input_dim per point.
**   "laplacian"          mean r^2 with r = a f + b . grad f + c * Laplacian f - rhs, the
**                        residual of a linear PDE (Poisson: a = 0, b = 0, c = 1); targets:
**                        the right-hand side, 1 per point.
** Derivative terms need a one-output model. Term keys (defaults): loss (as above, "value"),
** weight >= 0 (1), batch_size: points drawn per step without replacement from the trainer's
** seeded generator, 0 = all, every step (0), metric ("mse" for value and boundary, "cosine"
** for normal), a, b (an array of input_dim numbers), c (laplacian only: 0, zeros, 1).
** Unknown keys are an error. The config is an array of term objects, or {"terms": [...]}.
**
** How derivatives are computed (the cost model): a jet of a layer's values carries, per
** input coordinate, its first derivative and (for Laplacian terms with c != 0) its pure
** second derivative, forward through the model; the reverse pass then goes from the loss
** through that computation to the weights. A dense layer pushes a jet of S = 1 + D (first
** order) or 1 + 2D (second order) streams through one product of S x n rows, with no
** Hessian formed and no graph kept. First-order terms on models of dense and activation
** layers alone (MLPs) take reverse mode over reverse mode instead (forward, the input
** gradient, then both run backwards: six products of n rows per dense layer, where a jet
** costs 3 (1 + D)), and a value or boundary term on exactly the points of such a term is
** computed in its pass at no extra cost. Activations need their first three derivatives,
** which every activation has (ReLU-like ones: 0 beyond the first). KAN layers of every basis
** carry jets through their edge functions' derivatives (B-splines to their order: a cubic's
** third derivative jumps at knots; RBF with "normalize" is refused). Tri-plane encodings
** (first layer only) have exact first derivatives inside each texel cell, which jump across
** texel edges, and zero pure second derivatives per plane for sum, mean and concat (product
** and the Fourier features have curvature); derivatives along a many-field model's field
** index are 0. A model these rules refuse gets LAMINA_E_UNSUPPORTED naming the layer. KAN regularisation (lamb > 0) is not applied with
** terms (LAMINA_E_UNSUPPORTED); plane_tv and plane_l2 are.
*/

/** Weighted loss terms with their points, made for one model's input and output widths. */
typedef struct lamina_loss_terms lamina_loss_terms;

/**
** Make loss terms for `model` from `terms_json` (see above; NULL is an error). The terms
** have no points until lamina_loss_terms_set_points. READ-ONLY on `model` (only its widths
** are read; the terms may serve any model of the same widths).
** Errors: LAMINA_E_INVALID_ARGUMENT (bad JSON, unknown key or loss, out-of-range value),
** LAMINA_E_SHAPE ("b" of the wrong length), LAMINA_E_UNSUPPORTED (a derivative term for a
** model with more than one output).
*/
lamina_status lamina_loss_terms_create(const lamina_model *model, const char *terms_json,
                                       lamina_loss_terms **out);

/** Free loss terms. NULL is a no-op. EXCLUSIVE on the terms. */
void lamina_loss_terms_free(lamina_loss_terms *terms);

/** Number of terms (0 for NULL). */
size_t lamina_loss_terms_count(const lamina_loss_terms *terms);

/** The terms' full config as JSON, every default filled in (two-call pattern). */
lamina_status lamina_loss_terms_config(const lamina_loss_terms *terms, char *buf, size_t cap,
                                       size_t *len);

/**
** Give term `index` its n points (x: n x input_dim) and targets (target_count floats: n x
** output_dim for value and boundary, n x input_dim for normal and gradient, n for
** laplacian, 0 for eikonal, when targets may be NULL), copied: the caller's arrays may be
** freed afterwards. Replaces the term's earlier points. EXCLUSIVE on the terms.
** Errors, changing nothing: LAMINA_E_INVALID_ARGUMENT (index out of range, n = 0, NULL
** arrays), LAMINA_E_SHAPE (target_count not the term's n x columns), LAMINA_E_NUMERIC
** (NaN/Inf in x or targets, a zero normal; the message names the element),
** LAMINA_E_OUT_OF_MEMORY (over the batch limit).
*/
lamina_status lamina_loss_terms_set_points(lamina_loss_terms *terms, size_t index,
                                           const float *x, size_t n, const float *targets,
                                           size_t target_count);

/**
** One optimizer step on the trainer's model with every term (each on its batch: all its
** points, or batch_size drawn). term_losses (may be NULL; else cap >= the number of terms)
** receives each term's unweighted loss and *loss (may be NULL) the objective, both at the
** weights the step started from (lbfgs: at its first evaluation; lbfgs re-evaluates the
** same batches). EXCLUSIVE on the trainer's model; reads the terms.
** Errors: LAMINA_E_INVALID_ARGUMENT (a term without points, cap too small),
** LAMINA_E_SHAPE (terms made for other widths), LAMINA_E_UNSUPPORTED (see above),
** LAMINA_E_OUT_OF_MEMORY (a derivative term whose points times its 1 + order x input_dim
** streams are over the batch limit: give it a batch_size),
** LAMINA_E_NUMERIC (a non-finite loss or gradient: the weights are left as before the step;
** the message names the term).
*/
lamina_status lamina_trainer_step_terms(lamina_trainer *trainer, lamina_loss_terms *terms,
                                        float *term_losses, size_t cap, float *loss);

/**
** `steps` calls of lamina_trainer_step_terms. `progress` (may be NULL) is called after every
** progress_every steps (every step when that is 0) and after the last, with `step`,
** `steps` and the objective as `loss`; a non-zero return stops with LAMINA_E_CANCELLED and
** the weights of the last completed step. history (may be NULL; else cap >= steps x
** (terms + 1)) receives one row per completed step: the objective, then each term's loss;
** *steps_done (may be NULL) the number of completed steps, also on failure, so the rows of
** a run that diverged or was cancelled are there. A cosine schedule without decay_steps
** spans these steps. options_json (NULL or "{}" for the defaults) asks for pykan's grid
** updates between steps, as its PDE tutorials do (update_grid_from_samples on the interior
** points every few steps): "grid_update_every" (0: never) moves the knots of every B-spline
** KAN layer to the points of term "grid_update_term" (0) before every step s (counted from
** 0) that is a multiple of it and below "stop_grid_update_step" (absent: no limit), with
** pykan's "grid_eps" (0.02); asking for them on a model without updatable grids is
** LAMINA_E_UNSUPPORTED. A grid update stays when the step after it diverges (the weights
** are then those after the update). steps is at most 2^40. EXCLUSIVE on the trainer's model.
** Errors: as lamina_trainer_step_terms; divergence gives LAMINA_E_NUMERIC with "training
** diverged at step s of S: ..." and the weights after step s - 1.
*/
lamina_status lamina_trainer_fit_terms(lamina_trainer *trainer, lamina_loss_terms *terms,
                                       size_t steps, const char *options_json,
                                       lamina_progress_fn progress, void *user_data,
                                       float *history, size_t cap, size_t *steps_done);


/* ---------------------------------------------------------------------------------------
** Vector-Jacobian products (custom losses)
**
** A loss Lamina does not have (a quantile loss, a loss computed in numpy, the rest of a
** PyTorch graph around a Lamina model) trains any model through these calls: the caller
** evaluates the model (lamina_model_predict), computes its loss L and dy = dL/dy (n x
** output_dim) itself, and hands dy back. lamina_trainer_step_vjp takes an optimizer step
** from it; lamina_model_vjp gives dL/dx (n x input_dim), to train what feeds the model;
** lamina_model_parameter_vjp gives the parameter gradients themselves, for an optimizer
** outside Lamina (lamina.torch's backward). All three back-propagate the same dy through
** the same passes: dx[s][i] = sum_k dy[s][k] d y[s][k] / d x[s][i] and d/dw of
** sum_s sum_k dy[s][k] y[s][k]. dy is the gradient at the model's current weights: call
** them between weight changes as a training loop does (predict, loss, step_vjp).
** Example, a pinball (quantile) loss at quantile tau, mean over n x out elements:
**     lamina_model_predict(model, x, n, y);
**     for (i = 0; i < n * out; i++)
**         dy[i] = (y[i] > t[i] ? 1 - tau : y[i] < t[i] ? -tau : 0) / (n * out);
**     lamina_trainer_step_vjp(trainer, x, dy, n, NULL);
** With dy = the gradient of a configured loss (mse: 2 (y - t) / (n x out), computed in float
** as 2.0f / (n * out) times (y - t)) a step gives the weights lamina_trainer_step gives,
** to the bit; except that lamina_trainer_step trains a tri-plane field's batches of 768
** rows or more in row blocks, which sum the gradient in another order (step_vjp always
** runs one forward and one backward pass over the whole batch).
*/

/**
** dL/dx for an upstream gradient dy: dx[s][i] = sum_k dy[s][k] * d y[s][k] / d x[s][i].
** x and dx are n x input_dim, dy is n x output_dim. One backward pass per chunk of rows
** (lamina_model_input_gradient needs one per output), no parameter gradient; n = 0 does
** nothing (the pointers may then be NULL). Allocates nothing once warm, as
** lamina_model_input_gradient. READ-ONLY: safe from many threads at once.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL model, x, dy or dx), LAMINA_E_NUMERIC (NaN/Inf
** in x or dy), LAMINA_E_OUT_OF_MEMORY (n beyond the batch limit).
*/
lamina_status lamina_model_vjp(const lamina_model *model, const float *x, size_t n,
                               const float *dy, float *dx);

/**
** The gradient of sum(dy * y) with respect to every trainable tensor, for an upstream
** gradient dy (n x output_dim) at inputs x (n x input_dim): parameter_gradients receives
** count = lamina_model_parameter_count() floats, the trainable tensors in tensor order
** (lamina_model_tensor_name's order, keeping the tensors for which
** lamina_model_tensor_trainable gives 1), each row-major, one after another. dx (may be
** NULL) also receives dL/dx, as lamina_model_vjp. The whole batch is one pass, as in a
** training step, so these are the bits lamina_trainer_step_vjp steps from (before a
** trainer's own penalties and clipping). n = 0 gives zeros (x and dy may then be NULL). The weights are not changed, but the model's
** gradient storage is (every backward pass accumulates into it, and the library has no
** other), hence EXCLUSIVE: not concurrently with any other call on the model.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL model, x, dy, or parameter_gradients with count
** > 0), LAMINA_E_SHAPE (count is not the parameter count), LAMINA_E_NUMERIC (NaN/Inf in x
** or dy), LAMINA_E_OUT_OF_MEMORY (n beyond the batch limit).
*/
lamina_status lamina_model_parameter_vjp(lamina_model *model, const float *x, size_t n,
                                         const float *dy, float *parameter_gradients,
                                         size_t count, float *dx);

/**
** One optimizer step from a caller's dy = dL/dy (n x output_dim, n >= 1) at x (n x
** input_dim), for the caller's loss L at the current weights: the parameter gradient is dy
** back-propagated through the model (as lamina_model_parameter_vjp), plus the gradient of
** the trainer's own penalties as lamina_trainer_step adds them (lamb, plane_tv, plane_l2),
** then clip_norm, the schedule and the optimizer update as lamina_trainer_step, and the
** step counts for the schedule. The config's loss and truncation are not used. *penalty
** (may be NULL) receives the value of those penalties (lamb x reg plus the plane terms; 0
** when none): L + *penalty is the objective of the step. lbfgs is refused: its line search
** re-evaluates the loss and gradient at new weights, which a gradient given once cannot
** do. On any error the weights are as before. EXCLUSIVE (the model too).
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL trainer, x or dy; n = 0; the model in use),
** LAMINA_E_NUMERIC (NaN/Inf in x or dy; a non-finite penalty or gradient, or an update that
** would make a weight non-finite), LAMINA_E_OUT_OF_MEMORY (n beyond the batch limit),
** LAMINA_E_UNSUPPORTED (optimizer lbfgs; KAN regularisation on a layer with symbolic
** edges, as lamina_trainer_step).
*/
lamina_status lamina_trainer_step_vjp(lamina_trainer *trainer, const float *x, const float *dy,
                                      size_t n, float *penalty);

/* ---------------------------------------------------------------------------------------
** Fitting fields
**
** One rule turns "fit this field to these signed distances" into a trainer config, so C,
** Python and Swift fit alike. Options are JSON (NULL or "{}" for all defaults; unknown keys
** are refused, naming the known ones):
**
**   steps                optimizer steps at least; training runs whole epochs, E =
**                        ceil(steps / ceil(n_train / batch)) of them          (1000)
**   batch_size           points per step, at most the training points         (16384)
**   learning_rate        rate of the decoder and every other non-plane tensor (1e-3)
**   plane_learning_rate  rate of every tri-plane planes tensor ("0.planes", "0.planes_1", ...)
**                                                              (learning_rate)
**   loss                 any trainer loss; "l1" or "mse" for distances, "bce_with_logits"
**                        for occupancy, "unsigned_distance"                    ("l1")
**   truncation           clamp prediction and target to +-truncation first; 0 = off (0)
**   seed                 the sampling stream and the trainer's shuffling       (0)
**   optimizer            "adam" | "adamw" | "sgd" ("lbfgs" is refused)        ("adam")
**   samples              lamina_model_fit_mesh: training points drawn, 1 to 16777216
**                                                                             (500000)
**   near_fraction, sigma, sigma_far
**                        lamina_model_fit_mesh: as lamina_mesh_sample_points (0.5, 0.01, 0)
**   bounds               lamina_model_fit_mesh: the sampling box, [low, high] or 6 numbers
**                        (the field's own box: a tri-plane encoding's bounds, else [-1, 1]^3)
**   every other key of lamina_trainer_create but "epochs" (set from steps), with its
**   default: "learning_rates" (an entry naming a planes tensor, by full or short name, wins
**   over plane_learning_rate), "plane_tv", "plane_l2", "schedule", "warmup_steps",
**   "weight_decay", "clip_norm", "validation_split", "progress_every", ...
**
** The rates: by default one rate trains everything, as a PyTorch optimizer with one
** parameter group does; plane_learning_rate gives the planes their own. (Planes at 10 x
** learning_rate, the Python rule of 0.1, fitted a torus no better at learning_rate 1e-3 and
** worse above it: IoU 0.948 and 17 degrees of normal error against 0.977 and 5.6 at 5e-3;
** bench/plane_rate.py measures it.)
*/

/**
** The trainer config (full JSON, as lamina_trainer_config writes it; two-call pattern) that
** the fit options give for fitting `model` to n points: batch_size at most the training
** points, epochs from steps, and "learning_rates" holding the plane rate for each planes
** tensor the options' "learning_rates" does not name. Pass it to
** lamina_trainer_create and lamina_trainer_fit with your own points (n x input_dim and n
** targets) to fit exactly as lamina_model_fit_mesh does. Sampling keys are accepted and
** ignored. READ-ONLY (reads only the model's tensor names).
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL model, bad options naming the key, n = 0, a
** validation_split that leaves no training point, buffer too small).
*/
lamina_status lamina_model_fit_config(const lamina_model *model, const char *options_json,
                                      size_t n, char *buf, size_t cap, size_t *len);

/**
** Fit a model with 3 inputs and 1 output (a tri-plane field, or an MLP or KAN on
** coordinates) to the signed distance of `mesh`: draw `samples` training points as
** lamina_mesh_sample_points does (in the options' bounds, else the field's box, with the
** options' seed), take their exact signed distances (the mesh's hierarchy is built on first
** use and kept, as for the distance queries), then train with the trainer config
** lamina_model_fit_config gives for `samples` points, as lamina_trainer_fit does.
** `progress` (may be NULL) is called after every epoch (and every progress_every steps); a
** non-zero return stops with LAMINA_E_CANCELLED and the model valid (the weights of the last
** completed step). *final_loss (may be NULL) receives the last epoch's mean training loss,
** only on success. The mesh should be closed and oriented counter-clockwise seen from
** outside. EXCLUSIVE on the model, READ-ONLY on the mesh.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL model or mesh, bad options naming the key, a mesh
** with no triangle of positive area), LAMINA_E_SHAPE (the model has not 3 inputs and 1
** output), LAMINA_E_UNSUPPORTED (plane_tv or plane_l2 > 0 without a tri-plane encoding,
** lamb > 0 without a B-spline KAN layer), LAMINA_E_NUMERIC (training diverged, as
** lamina_trainer_fit: the weights are those before the failing step), LAMINA_E_CANCELLED.
*/
lamina_status lamina_model_fit_mesh(lamina_model *model, const lamina_mesh *mesh,
                                    const char *options_json, lamina_progress_fn progress,
                                    void *user_data, float *final_loss);

/**
** Fit a model with 3 inputs and 1 output (a tri-plane field, an MLP or a KAN; a layer
** without derivative passes, as an RBF KAN with normalize, is LAMINA_E_UNSUPPORTED) to a
** point cloud of n points (x, y, z each) WITHOUT distances, by loss terms on the field's
** gradient (the loss terms section):
**   - with `normals` (n x 3, the outward normals) the field becomes a signed distance (IGR's
**     terms): f = 0 on the points, grad f = the normal there, |grad f| = 1 at "space"
**     points (a quarter uniform in the box, the rest the cloud offset by N(0, sigma^2) or
**     N(0, sigma_far^2)), and a far-field term fitting f at the space points to the distance
**     to the nearest cloud point, negative behind that point's normal;
**   - with normals NULL, the unsigned distance to the cloud: f at the space points against
**     their nearest-point distance (lamina_point_cloud_distance), with the eikonal term.
** Options JSON (NULL or "{}" for the defaults; unknown keys are refused):
**   steps             optimizer steps, at most 2^40                              (1000)
**   surface_weight    the value term's weight                                     (1)
**   normal_weight     the normal term's weight (ignored without normals)          (1)
**   normal_metric     "l2" (IGR's) or "cosine" (SIREN's)                          ("l2")
**   eikonal_weight    the eikonal term's weight                                   (0.1)
**   far_weight        the far-field term's weight (with normals; 0 = off)         (1)
**   surface_batch     cloud points per step for the value and normal terms        (8192)
**   space_batch       space points per step                                       (8192)
**   space_points      space points drawn once, 1 to 16777216                      (200000)
**   sigma, sigma_far  the near points' offset stds, in the box's units       (0.01, 0.1)
**   bounds            the box of the uniform points, [low, high] or 6 numbers (the field's)
**   seed              the sampling and the batches                                (0)
**   plane_learning_rate  the rate of every tri-plane planes tensor          (learning_rate)
**   every key of lamina_trainer_create but "epochs", "batch_size" and "loss", with these
**   defaults: "optimizer" "adam" ("lbfgs" is refused), "learning_rate" 5e-3, "schedule"
**   "cosine" (decaying to 0 over the steps).
** (A SIREN wants learning_rate 1e-4 with the same weights.) `progress` (may be NULL) is
** called as lamina_trainer_fit_terms calls it; a non-zero return stops with
** LAMINA_E_CANCELLED and the weights of the last completed step. history (may be NULL; else
** cap >= steps x 5) receives one row of 5 floats per completed step: the objective, then the
** losses of the value, normal, eikonal and far-field terms, NaN for a term the fit does not
** have; *steps_done (may be NULL) the completed steps, also on failure. EXCLUSIVE on the
** model.
** Errors: LAMINA_E_INVALID_ARGUMENT (NULL model or points, n = 0, bad options naming the
** key, cap too small), LAMINA_E_SHAPE (the model has not 3 inputs and 1 output),
** LAMINA_E_NUMERIC (a non-finite point or normal; training diverged, with the weights
** before the failing step), LAMINA_E_OUT_OF_MEMORY (n over 67108864),
** LAMINA_E_UNSUPPORTED, LAMINA_E_CANCELLED.
*/
lamina_status lamina_model_fit_points(lamina_model *model, const float *points,
                                      const float *normals, size_t n, const char *options_json,
                                      lamina_progress_fn progress, void *user_data,
                                      float *history, size_t cap, size_t *steps_done);

#ifdef __cplusplus
}
#endif

#endif /* LAMINA_H */
