/* mote fleet: `mote fed sim` frozen int8 backbone. The backbone is a
 * `mote train` config trained here (into OUT/backbone) or a given .tflite;
 * libmote runs it on every DSP feature vector, and a mote_learn_tap on
 * the input of its last FULLY_CONNECTED operator (the penultimate layer)
 * gives the features the federated head learns on, as in `mote learn`. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fed_sim_int.h"
#include "mote/model.h"
#include "train_pipeline.h"
#include "train_util.h"

enum { BUILTIN_FULLY_CONNECTED = 9 };

typedef struct bb {
    mote_model_t m;
    void *bytes, *arena;
    mote_tensor_t in;
    mote_learn_tap_t tap;
    float *out;
    uint32_t n_out;
} bb_t;

static void bb_free(bb_t *b)
{
    free(b->bytes), free(b->arena), free(b->out);
    memset(b, 0, sizeof *b);
}

/* Train the config into dir; *model receives dir/NAME.tflite. */
static mote_status_t train(const char *cfg, const char *dir, char **model, char *msg, size_t size)
{
    mote_train_config_t *tc = NULL;
    mote_train_result_t res;
    memset(&res, 0, sizeof res);
    mote_status_t st = mote_train_config_load(cfg, &tc, msg, size);
    mote_train_opts_t o = {.out_dir = dir, .quiet = 1};
    if (!st)
        st = mote_train_run(tc, &o, &res, msg, size);
    if (!st) {
        char name[600];
        snprintf(name, sizeof name, "%s.tflite", tc->name);
        if (!(*model = tpu_path_cat(dir, name)))
            st = MOTE_ERR_NOMEM;
    }
    mote_train_result_free(&res);
    mote_train_config_free(tc);
    return st;
}

static mote_status_t read_model(bb_t *b, const char *path, char *msg, size_t size)
{
    FILE *f = fopen(path, "rb");
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b->bytes = aligned_alloc(16, ((size_t)n + 15) / 16 * 16)) != NULL &&
        fread(b->bytes, 1, (size_t)n, f) == (size_t)n) {
        fclose(f);
        mote_status_t st = mote_model_load(&b->m, b->bytes, (size_t)n);
        return st ? tpu_fail(msg, size, st, "%s: %s", path, mote_model_error(&b->m)) : MOTE_OK;
    }
    if (f)
        fclose(f);
    return tpu_fail(msg, size, MOTE_ERR_IO, "%s: cannot read the backbone", path);
}

/* Prepare, check the input, and tap the input of the last dense layer. */
static mote_status_t bind(bb_t *b, const char *path, size_t dim, char *msg, size_t size)
{
    size_t need = 0;
    mote_status_t st = mote_model_arena_size(&b->m, &need);
    if (!st && !(b->arena = aligned_alloc(16, (need + 15) / 16 * 16)))
        st = MOTE_ERR_NOMEM;
    if (!st)
        st = mote_model_prepare(&b->m, b->arena, need);
    if (!st)
        st = mote_model_input(&b->m, 0, &b->in);
    if (st)
        return tpu_fail(msg, size, st, "%s: %s", path, mote_model_error(&b->m));
    if (b->in.type != MOTE_I8 || b->in.n_scales != 1 || b->in.bytes != dim)
        return tpu_fail(msg, size, MOTE_ERR_SHAPE,
                        "%s: backbone input must be int8 with one scale and %zu values", path, dim);
    mote_op_info_t info;
    int32_t fc = -1;
    for (uint32_t op = mote_model_op_count(&b->m); op-- > 0 && fc < 0;)
        if (mote_model_op(&b->m, op, &info) == MOTE_OK && info.builtin == BUILTIN_FULLY_CONNECTED)
            fc = (int32_t)op;
    mote_tensor_t t;
    if (fc < 0 || mote_model_op(&b->m, (uint32_t)fc, &info) != MOTE_OK ||
        mote_model_tensor(&b->m, (uint32_t)info.inputs[0], &t) != MOTE_OK)
        return tpu_fail(msg, size, MOTE_ERR_NOT_FOUND, "%s: no FULLY_CONNECTED layer to tap", path);
    b->n_out = (uint32_t)(t.bytes / (t.type == MOTE_F32 ? 4 : t.type == MOTE_I16 ? 2 : 1));
    if (!(b->out = calloc(b->n_out, sizeof *b->out)))
        return MOTE_ERR_NOMEM;
    st = mote_learn_tap_init(&b->tap, &b->m, (uint32_t)info.inputs[0], b->out, b->n_out);
    return st ? tpu_fail(msg, size, st, "%s: cannot tap tensor '%s'", path, t.name) : MOTE_OK;
}

/* Quantize as the device does (halves away from zero, saturated). */
static void quantize_in(const bb_t *b, const float *x, size_t dim)
{
    int8_t *q = b->in.data;
    for (size_t j = 0; j < dim; j++) {
        const double v = (double)x[j] / b->in.scale;
        double r = (v < 0 ? -floor(-v + 0.5) : floor(v + 0.5)) + b->in.zero_point;
        q[j] = (int8_t)(r > 127 ? 127 : r < -128 ? -128 : r);
    }
}

/* Replace the n x dim matrix *x by its n x n_out tapped features. */
static mote_status_t map(bb_t *b, float **x, size_t n, size_t dim)
{
    float *y = malloc(n * b->n_out * sizeof *y);
    if (!y)
        return MOTE_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        quantize_in(b, *x + i * dim, dim);
        mote_status_t st = mote_model_invoke_hooked(&b->m, mote_learn_tap_hook, &b->tap);
        if (st) {
            free(y);
            return st;
        }
        memcpy(y + i * b->n_out, b->out, b->n_out * sizeof *y);
    }
    free(*x);
    *x = y;
    return MOTE_OK;
}

mote_status_t fsim_backbone(fsim_t *s, const char *out_dir, char *msg, size_t size)
{
    if (!s->cfg.backbone)
        return MOTE_OK;
    bb_t b;
    memset(&b, 0, sizeof b);
    char *model = NULL, *dir = NULL;
    mote_status_t st = MOTE_OK;
    const size_t n = strlen(s->cfg.backbone);
    if (n > 7 && strcmp(s->cfg.backbone + n - 7, ".tflite") == 0) {
        model = tpu_strdup(s->cfg.backbone);
    } else if (!out_dir) {
        return tpu_fail(msg, size, MOTE_ERR_ARG, "%s: backbone: training one needs --out",
                        s->cfg_path);
    } else if ((dir = tpu_path_cat(out_dir, "backbone")) != NULL &&
               !(st = tpu_mkdir(out_dir, msg, size))) {
        if (!s->quiet)
            fprintf(stderr, "mote fed: training the backbone %s -> %s/\n", s->cfg.backbone, dir);
        st = train(s->cfg.backbone, dir, &model, msg, size);
    }
    if (!st && !model)
        st = MOTE_ERR_NOMEM;
    if (!st)
        st = read_model(&b, model, msg, size);
    if (!st)
        st = bind(&b, model, s->dim, msg, size);
    if (!st && !(st = map(&b, &s->xtr, s->ntr, s->dim)) && !(st = map(&b, &s->xte, s->nte, s->dim)))
        s->dim = b.n_out;
    bb_free(&b);
    free(model), free(dir);
    return st;
}
