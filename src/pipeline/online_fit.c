/* mote pipeline: a backbone fitted by `mote learn` itself (backbone.fit in
 * the config): a small dense network trained with the float engine (nn.h)
 * on the standardized pretrain features, quantized (quant.h) and written
 * as an int8 .tflite (tflite_write.h), which the engine then runs in
 * mote's runtime like any other backbone. For front ends `mote train`
 * cannot compute (band energies of spectrum rows). */
#include <stdlib.h>
#include <string.h>
#include "online_engine.h"
#include "quant.h"
#include "tflite_write.h"

/* Hidden dense layers with relus, then the output layer. */
static mote_status_t build(onl_engine_t *e, int32_t n_out, mote_nn_t **net)
{
    const mote_online_config_t *c = e->cfg;
    mote_nn_layer_spec_t l[2 * 8 + 1];
    int32_t n = 0;
    memset(l, 0, sizeof l);
    for (size_t i = 0; i < c->n_fit_layers; i++) {
        l[n].type = MOTE_NN_DENSE;
        l[n++].units = c->fit_layers[i];
        l[n++].type = MOTE_NN_RELU;
    }
    l[n].type = MOTE_NN_DENSE;
    l[n++].units = n_out;
    mote_nn_spec_t spec = {1, (int32_t)e->n_front, l, n,
                           c->fit_ae ? MOTE_NN_HEAD_LINEAR_MSE : MOTE_NN_HEAD_SOFTMAX_CE};
    return mote_nn_create(&spec, c->fit_seed, net, e->msg, e->ms);
}

/* Class index (in `classes`) of every collected vector. */
static mote_status_t labels_of(onl_engine_t *e, int32_t *y)
{
    for (size_t i = 0; i < e->fit_n; i++) {
        y[i] = onl_find(e->cfg->classes, e->cfg->n_classes, e->names[e->fit_y[i]]);
        if (y[i] < 0)
            return tpu_fail(e->msg, e->ms, MOTE_ERR_ARG,
                            "%s: backbone.fit: pretrain class '%s' is not in \"classes\"",
                            e->cfg->path, e->names[e->fit_y[i]]);
    }
    return MOTE_OK;
}

static mote_status_t train(onl_engine_t *e, mote_nn_t *net)
{
    const mote_online_config_t *c = e->cfg;
    int32_t *y = c->fit_ae ? NULL : malloc(e->fit_n * sizeof *y);
    if (!c->fit_ae && !y)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    mote_status_t st = y ? labels_of(e, y) : MOTE_OK;
    mote_nn_train_config_t tc = mote_nn_train_defaults();
    tc.learning_rate = c->fit_lr;
    tc.epochs = (int32_t)c->fit_epochs;
    tc.batch_size = (int32_t)c->fit_batch;
    tc.seed = c->fit_seed;
    mote_nn_data_t d = {e->fit_x, y, NULL, (int32_t)e->fit_n};
    if (st == MOTE_OK)
        st = mote_nn_train(net, &tc, &d, NULL, NULL, e->msg, e->ms);
    free(y);
    return st;
}

static mote_status_t keep_copy(onl_engine_t *e, const char *out_dir)
{
    if (!out_dir)
        return MOTE_OK;
    char *dir = tpu_path_cat(out_dir, "backbone");
    char *path = dir ? tpu_path_cat(dir, "fit.tflite") : NULL;
    mote_status_t st = path ? tpu_mkdir(dir, e->msg, e->ms) : MOTE_ERR_NOMEM;
    if (st == MOTE_OK)
        st = mote_tflite_save(path, e->model, e->model_len, e->msg, e->ms);
    else if (st == MOTE_ERR_NOMEM)
        tpu_fail(e->msg, e->ms, st, "out of memory");
    free(dir);
    free(path);
    return st;
}

mote_status_t onl_fit_backbone(onl_engine_t *e, const char *out_dir)
{
    if (e->fit_n < 2)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_ARG, "%s: backbone.fit needs pretrain data",
                        e->cfg->path);
    /* the standardizer saw every vector; freeze it and apply it to them */
    mote_learn_std_freeze(&e->fstd, 1);
    for (size_t i = 0; i < e->fit_n; i++)
        mote_learn_std_apply(&e->fstd, e->fit_x + i * e->n_front);
    e->fstd_on = 1;
    mote_nn_t *net = NULL;
    mote_qnet_t *q = NULL;
    uint8_t *buf = NULL;
    int32_t n_out = e->cfg->fit_ae ? (int32_t)e->n_front : (int32_t)e->cfg->n_classes;
    mote_status_t st = build(e, n_out, &net);
    if (st == MOTE_OK)
        st = train(e, net);
    if (st == MOTE_OK)
        st = mote_quant_calibrate(net, e->fit_x, (int32_t)e->fit_n, NULL, &q, e->msg, e->ms);
    if (st == MOTE_OK)
        st = mote_tflite_from_qnet(q, NULL, &buf, &e->model_len, e->msg, e->ms);
    mote_qnet_free(q);
    mote_nn_free(net);
    if (st != MOTE_OK)
        return st;
    e->model = buf; /* 16-byte aligned, as the runtime wants */
    if ((st = keep_copy(e, out_dir)) == MOTE_OK && (st = onl_engine_bind_model(e, "backbone.fit")) == MOTE_OK)
        st = onl_engine_use_backbone(e);
    e->fit_n = 0;
    return st;
}
