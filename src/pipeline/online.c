/* mote pipeline: the replay engine's set-up (see online.h): the backbone
 * (trained here through the training pipeline, or given), the front end,
 * the head, the anomaly detector and the drift detectors. Everything that
 * runs per sample is libmote; this file only allocates and wires. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ingest.h"
#include "online_engine.h"
#include "quant.h"
#include "train_pipeline.h"

enum { BUILTIN_FULLY_CONNECTED = 9 };

/* 16-byte aligned, zeroed block (the runtime needs 16 for models and
 * arenas, learn/anomaly/drift 4). */
static void *alloc16(size_t n)
{
    size_t len = (n + 15u) & ~(size_t)15u;
    void *p = aligned_alloc(16, len ? len : 16);
    if (p)
        memset(p, 0, len ? len : 16);
    return p;
}

int32_t onl_engine_name(onl_engine_t *e, const char *s)
{
    int32_t i = onl_find(e->names, e->n_names, s);
    if (i >= 0)
        return i;
    if (e->n_names == e->cap_names) {
        size_t cap = e->cap_names ? 2 * e->cap_names : 16;
        char **p = realloc(e->names, cap * sizeof *p);
        if (!p)
            return -1;
        e->names = p;
        e->cap_names = cap;
    }
    if (!(e->names[e->n_names] = tpu_strdup(s)))
        return -1;
    return (int32_t)e->n_names++;
}

/* ---- backbone ------------------------------------------------------------ */

static mote_status_t read_file(onl_engine_t *e, const char *path, void **out, size_t *len)
{
    char *buf = NULL;
    char m[MOTE_INGEST_MSG_LEN];
    mote_status_t st = mote_ingest_slurp(path, &buf, len, m, sizeof m);
    if (st != MOTE_OK)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_IO, "%s", m);
    /* the runtime reads models in place and wants them 16-byte aligned */
    *out = alloc16(*len);
    if (*out)
        memcpy(*out, buf, *len);
    free(buf);
    return *out ? MOTE_OK : tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
}

/* The class names of the dataset a `mote train` config uses, so the
 * backbone's own predictions can be scored by name. */
static mote_status_t train_class_names(onl_engine_t *e, const mote_train_config_t *tc)
{
    char *buf = NULL;
    size_t len = 0;
    mote_dataset_t *ds = NULL;
    mote_status_t st = mote_ingest_slurp(tc->dataset, &buf, &len, e->msg, e->ms);
    if (st == MOTE_OK)
        st = mote_dataset_parse(tc->dataset, buf, len, NULL, &ds, e->msg, e->ms);
    free(buf);
    if (st != MOTE_OK)
        return st;
    e->bb_names = calloc(ds->n_classes, sizeof *e->bb_names);
    for (size_t i = 0; e->bb_names && i < ds->n_classes; i++)
        if ((e->bb_names[i] = tpu_strdup(ds->classes[i])))
            e->n_bb_names = i + 1;
    st = e->n_bb_names == ds->n_classes ? MOTE_OK
                                        : tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    mote_dataset_free(ds);
    return st;
}

/* Run `mote train` on the backbone config into out_dir/backbone and point
 * the engine at the package it writes. */
static mote_status_t train_backbone(onl_engine_t *e, const char *out_dir, int quiet,
                                    char **model, char **dspcfg)
{
    if (!out_dir)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_ARG,
                        "%s: backbone.train needs an output folder", e->cfg->path);
    mote_train_config_t *tc = NULL;
    mote_status_t st = mote_train_config_load(e->cfg->backbone_train, &tc, e->msg, e->ms);
    char *dir = st == MOTE_OK ? tpu_path_cat(out_dir, "backbone") : NULL;
    if (st == MOTE_OK && !dir)
        st = tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    mote_train_opts_t o = {dir, 0, 0, 0, 1};
    mote_train_result_t res;
    memset(&res, 0, sizeof res);
    if (st == MOTE_OK) {
        if (!quiet)
            fprintf(stderr, "mote learn: training the backbone %s -> %s/\n",
                    e->cfg->backbone_train, dir);
        st = mote_train_run(tc, &o, &res, e->msg, e->ms);
    }
    if (st == MOTE_OK && tc->model != MOTE_TRAIN_AUTOENCODER)
        st = train_class_names(e, tc);
    char name[512];
    if (st == MOTE_OK) {
        snprintf(name, sizeof name, "%s.tflite", tc->name);
        *model = tpu_path_cat(dir, name);
        snprintf(name, sizeof name, "%s.dspcfg", tc->name);
        *dspcfg = tc->has_dsp ? tpu_path_cat(dir, name) : NULL;
        if (!*model || (tc->has_dsp && !*dspcfg))
            st = tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    }
    mote_train_result_free(&res);
    mote_train_config_free(tc);
    free(dir);
    return st;
}

static uint32_t tensor_elems(const mote_tensor_t *t)
{
    size_t sz = mote_dtype_size(t->type);
    return sz ? (uint32_t)(t->bytes / sz) : 0;
}

/* The tensor the config taps: an index, a name, or the input of the last
 * FULLY_CONNECTED (the penultimate layer of an MLP or an autoencoder). */
static mote_status_t find_tap(onl_engine_t *e)
{
    const mote_online_config_t *c = e->cfg;
    e->last_fc = -1;
    for (uint32_t op = mote_model_op_count(&e->m); op-- > 0 && e->last_fc < 0;) {
        mote_op_info_t info;
        if (mote_model_op(&e->m, op, &info) == MOTE_OK && info.builtin == BUILTIN_FULLY_CONNECTED)
            e->last_fc = (int32_t)op;
    }
    if (c->tap_index >= 0) {
        e->tap_index = (uint32_t)c->tap_index;
        return MOTE_OK;
    }
    for (uint32_t i = 0; c->tap_index == -1 && i < mote_model_tensor_count(&e->m); i++) {
        mote_tensor_t t;
        if (mote_model_tensor(&e->m, i, &t) == MOTE_OK && strcmp(t.name, c->tap_name) == 0) {
            e->tap_index = i;
            return MOTE_OK;
        }
    }
    if (c->tap_index == -1)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_NOT_FOUND, "%s: backbone.tap: no tensor named '%s'",
                        c->path, c->tap_name);
    mote_op_info_t info;
    if (e->last_fc < 0 || mote_model_op(&e->m, (uint32_t)e->last_fc, &info) != MOTE_OK)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_NOT_FOUND,
                        "%s: backbone.tap: \"penultimate\" needs a FULLY_CONNECTED operator",
                        c->path);
    e->tap_index = (uint32_t)info.inputs[0];
    return MOTE_OK;
}

static mote_status_t prepare_model(onl_engine_t *e, const char *path)
{
    mote_status_t st = read_file(e, path, &e->model, &e->model_len);
    return st == MOTE_OK ? onl_engine_bind_model(e, path) : st;
}

mote_status_t onl_engine_bind_model(onl_engine_t *e, const char *path)
{
    mote_status_t st = MOTE_OK;
    e->has_bb = 1;
    if ((st = mote_model_load(&e->m, e->model, e->model_len)) == MOTE_OK &&
        (st = mote_model_arena_size(&e->m, &e->arena_len)) == MOTE_OK) {
        e->arena = alloc16(e->arena_len);
        st = e->arena ? mote_model_prepare(&e->m, e->arena, e->arena_len) : MOTE_ERR_NOMEM;
    }
    if (st == MOTE_OK)
        st = mote_model_input(&e->m, 0, &e->in);
    if (st == MOTE_OK)
        st = mote_model_output(&e->m, 0, &e->out);
    if (st != MOTE_OK)
        return tpu_fail(e->msg, e->ms, st, "%s: %s", path,
                              st == MOTE_ERR_NOMEM ? "out of memory" : mote_model_error(&e->m));
    if (e->in.type != MOTE_I8 || e->in.n_scales != 1)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_TYPE,
                        "%s: the backbone input must be int8 with one scale", path);
    if ((st = find_tap(e)) != MOTE_OK)
        return st;
    mote_tensor_t t;
    if ((st = mote_model_tensor(&e->m, e->tap_index, &t)) != MOTE_OK)
        return tpu_fail(e->msg, e->ms, st, "%s: backbone.tap: tensor %u does not exist", path,
                        e->tap_index);
    e->n_tap = tensor_elems(&t);
    e->tapped = calloc(e->n_tap ? e->n_tap : 1, sizeof *e->tapped);
    if (!e->tapped)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    st = mote_learn_tap_init(&e->tap, &e->m, e->tap_index, e->tapped, e->n_tap);
    return st == MOTE_OK ? MOTE_OK
                         : tpu_fail(e->msg, e->ms, st, "%s: backbone.tap: tensor %u ('%s'): %s",
                                    path, e->tap_index, t.name, mote_status_str(st));
}

mote_status_t onl_engine_backbone(onl_engine_t *e, const char *out_dir, int quiet)
{
    const mote_online_config_t *c = e->cfg;
    char *model = NULL, *dspcfg = NULL;
    mote_status_t st = MOTE_OK;
    if (c->backbone_train)
        st = train_backbone(e, out_dir, quiet, &model, &dspcfg);
    else if (c->backbone_model && !(model = tpu_strdup(c->backbone_model)))
        st = tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    if (st == MOTE_OK && !dspcfg && c->backbone_dspcfg && !(dspcfg = tpu_strdup(c->backbone_dspcfg)))
        st = tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    if (st == MOTE_OK && model) {
        e->has_bb = 1;
        st = prepare_model(e, model);
    }
    if (st == MOTE_OK && dspcfg)
        st = read_file(e, dspcfg, (void **)&e->dspcfg, &e->dspcfg_len);
    free(model);
    free(dspcfg);
    return st;
}

/* ---- front end ----------------------------------------------------------- */

static mote_status_t front_dsp(onl_engine_t *e, const mote_dataset_t *ds)
{
    mote_dsp_config_t dc;
    char m[MOTE_DSP_ERROR_LEN];
    mote_status_t st = mote_dsp_config_parse(&dc, e->dspcfg, e->dspcfg_len, m, sizeof m);
    if (st != MOTE_OK)
        return tpu_fail(e->msg, e->ms, st, "%s: DSP config: %s", e->cfg->path, m);
    if (ds->n_channels != 1)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_UNSUPPORTED,
                        "%s: the DSP front end takes one channel, %s has %zu", e->cfg->path,
                        ds->spec_name, ds->n_channels);
    size_t need = mote_dsp_state_size(&dc);
    e->dsp_state = alloc16(need);
    if (!e->dsp_state)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    if ((st = mote_dsp_init(&e->dsp, &dc, e->dsp_state, need)) != MOTE_OK)
        return tpu_fail(e->msg, e->ms, st, "%s: DSP: %s", e->cfg->path, mote_dsp_error(&e->dsp));
    size_t frames = mote_dsp_frame_count(e->n_win, dc.frame_len, dc.hop);
    if (frames == 0)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_SHAPE,
                        "%s: a window of %zu samples holds no DSP frame of %u", e->cfg->path,
                        e->n_win, dc.frame_len);
    e->n_front = (uint32_t)(frames * mote_dsp_features_size(&dc));
    return MOTE_OK;
}

/* A magnitude-spectrum row of W bins is the half spectrum of an FFT of
 * fft_len >= 2 (W - 1) points; with fs = fft_len, bin k sits at k "Hz" and
 * mote_dsp_linbands cuts [0, fs/2] into equal bands, exactly as on a
 * device that computes the spectrum itself. */
static mote_status_t front_bands(onl_engine_t *e)
{
    e->fft_len = MOTE_DSP_MIN_FFT;
    while (e->fft_len / 2 + 1 < e->n_win && e->fft_len < MOTE_DSP_FFT_MAX)
        e->fft_len *= 2;
    if (e->fft_len / 2 + 1 < e->n_win)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_LIMIT, "%s: front.bands: rows of %zu bins are too long",
                        e->cfg->path, e->n_win);
    size_t need = mote_dsp_linbands_work_size(e->cfg->bands);
    e->lb_work = alloc16(need);
    e->power = calloc(e->fft_len / 2 + 1, sizeof *e->power);
    if (!e->lb_work || !e->power)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    float fs = (float)e->fft_len;
    mote_status_t st = mote_dsp_linbands_init(&e->lb, e->cfg->bands, 0.0f, fs / 2, fs, e->fft_len,
                                              e->lb_work, need);
    if (st != MOTE_OK)
        return tpu_fail(e->msg, e->ms, st, "%s: front.bands: %u bands do not fit %zu bins",
                        e->cfg->path, e->cfg->bands, e->n_win);
    e->n_front = e->cfg->bands;
    return MOTE_OK;
}

mote_status_t onl_engine_front(onl_engine_t *e, const mote_dataset_t *ds)
{
    const mote_online_config_t *c = e->cfg;
    e->n_win = ds->window * ds->n_channels;
    e->front = c->front_given ? c->front : e->dspcfg ? MOTE_ONLINE_FRONT_DSP : MOTE_ONLINE_FRONT_RAW;
    e->win = calloc(e->n_win, sizeof *e->win);
    if (!e->win)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    mote_status_t st = MOTE_OK;
    if (e->front == MOTE_ONLINE_FRONT_DSP)
        st = front_dsp(e, ds);
    else if (e->front == MOTE_ONLINE_FRONT_BANDS)
        st = front_bands(e);
    else
        e->n_front = (uint32_t)e->n_win;
    if (st != MOTE_OK)
        return st;
    e->feat = calloc(e->n_front, sizeof *e->feat);
    if (!e->feat)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    e->front_ready = 1;
    if (c->has_fit) {
        /* the backbone is fitted after a first pass over the pretrain data */
        size_t need = mote_learn_std_size(e->n_front, 0);
        e->fstd_buf = alloc16(need);
        e->need_fit = 1;
        e->x = e->feat;
        e->nx = e->n_front;
        return e->fstd_buf ? mote_learn_std_init(&e->fstd, e->n_front, 0, 0, e->fstd_buf, need)
                           : tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    }
    return onl_engine_use_backbone(e);
}

mote_status_t onl_engine_use_backbone(onl_engine_t *e)
{
    const mote_online_config_t *c = e->cfg;
    if (e->has_bb && tensor_elems(&e->in) != e->n_front)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_SHAPE,
                        "%s: the front end gives %u features, the backbone takes %u",
                        c->path, e->n_front, tensor_elems(&e->in));
    e->x = e->has_bb ? e->tapped : e->feat;
    e->nx = e->has_bb ? e->n_tap : e->n_front;
    e->need_fit = 0;
    return onl_engine_learners(e);
}

static void run_front(onl_engine_t *e)
{
    if (e->front == MOTE_ONLINE_FRONT_DSP) {
        mote_dsp_extract(&e->dsp, e->win, e->n_win, e->feat, SIZE_MAX);
    } else if (e->front == MOTE_ONLINE_FRONT_BANDS) {
        for (size_t k = 0; k < e->n_win; k++)
            e->power[k] = e->win[k] * e->win[k];
        mote_dsp_linbands_apply(&e->lb, e->power, e->feat);
        mote_dsp_log(e->feat, e->n_front, e->cfg->log_floor);
    } else {
        memcpy(e->feat, e->win, e->n_front * sizeof *e->feat);
    }
    if (e->fstd_on && e->fstd.frozen)
        mote_learn_std_apply(&e->fstd, e->feat);
    else if (e->fstd_on)
        mote_learn_std_push(&e->fstd, e->feat);
}

void onl_engine_rewarm_front(onl_engine_t *e)
{
    uint32_t warm = e->cfg->std_warmup ? e->cfg->std_warmup : 100;
    size_t need = mote_learn_std_size(e->n_front, 0);
    /* re-init rather than reset: the fit froze it by hand, a re-warm
     * freezes itself after `warm` vectors */
    mote_learn_std_init(&e->fstd, e->n_front, 0, warm, e->fstd_buf, need);
}

/* Quantize the features into the input tensor, run the model with the
 * tap's hook, and take the backbone's own class (argmax of its output). */
static int32_t run_backbone(onl_engine_t *e)
{
    int8_t *q = e->in.data;
    mote_qparams_t qp = {e->in.scale, e->in.zero_point, 0, 0};
    for (uint32_t i = 0; i < e->n_front; i++)
        q[i] = mote_quant_q8(&qp, e->feat[i]);
    mote_model_invoke_hooked(&e->m, mote_learn_tap_hook, &e->tap);
    if (!e->bb_names || e->out.type != MOTE_I8)
        return -1;
    const int8_t *o = e->out.data;
    uint32_t best = 0, n = tensor_elems(&e->out);
    for (uint32_t i = 1; i < n; i++)
        if (o[i] > o[best])
            best = i;
    return best < e->n_bb_names ? onl_engine_name(e, e->bb_names[best]) : -1;
}

mote_status_t onl_engine_features(onl_engine_t *e, const onl_source_t *src, uint64_t start,
                                  int32_t *bb)
{
    const mote_dataset_t *ds = src->ds;
    if (!e->front_ready) {
        mote_status_t st = onl_engine_front(e, ds);
        if (st != MOTE_OK)
            return st;
    }
    if (ds->window * ds->n_channels != e->n_win)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_SHAPE,
                        "%s: windows of %zu x %zu values, but the stream started with %zu",
                        ds->spec_name, ds->window, ds->n_channels, e->n_win);
    mote_window_t w = {src->rec, ds->recordings[src->rec].label, start};
    mote_status_t st = mote_dataset_window(ds, &w, e->win, e->n_win, e->msg, e->ms);
    if (st != MOTE_OK)
        return st;
    run_front(e);
    *bb = e->has_bb && !e->need_fit ? run_backbone(e) : -1;
    return MOTE_OK;
}

/* ---- head, anomaly detector, drift --------------------------------------- */

static mote_status_t setup_head(onl_engine_t *e)
{
    const mote_online_config_t *c = e->cfg;
    mote_learn_config_t hc = c->head;
    hc.kind = MOTE_LEARN_SOFTMAX;
    hc.n_features = e->nx;
    size_t hs = mote_learn_head_size(e->nx, hc.max_classes, hc.flags);
    size_t ss = mote_learn_std_size(e->nx, c->std_compensated ? MOTE_LEARN_STD_COMPENSATED : 0);
    size_t ms = mote_learn_metrics_size(hc.max_classes, c->window);
    e->head_buf = alloc16(hs);
    e->std_buf = alloc16(ss);
    e->met_buf = alloc16(ms);
    e->prob = calloc(hc.max_classes, sizeof *e->prob);
    if (!e->head_buf || !e->std_buf || !e->met_buf || !e->prob)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    mote_status_t st = mote_learn_head_init(&e->head, &hc, e->head_buf, hs);
    if (st != MOTE_OK)
        return tpu_fail(e->msg, e->ms, st, "%s: head: invalid settings for %u features, %u classes",
                        c->path, e->nx, hc.max_classes);
    st = mote_learn_std_init(&e->std, e->nx, c->std_compensated ? MOTE_LEARN_STD_COMPENSATED : 0,
                             c->std_warmup, e->std_buf, ss);
    if (st == MOTE_OK)
        st = mote_learn_metrics_init(&e->met, hc.max_classes, c->window, e->met_buf, ms);
    for (size_t i = 0; st == MOTE_OK && i < c->n_classes; i++)
        if ((e->head_map[i] = onl_engine_name(e, c->classes[i])) < 0)
            st = MOTE_ERR_NOMEM;
    return st == MOTE_OK ? MOTE_OK : tpu_fail(e->msg, e->ms, st, "head set-up: %s", mote_status_str(st));
}

/* Dequantize the last dense layer (int8 weights, int32 bias, one scale
 * each: what the quantizer writes for dense layers) for the output layer
 * that keeps learning. */
static mote_status_t setup_recon(onl_engine_t *e)
{
    mote_op_info_t op;
    mote_tensor_t w, b;
    mote_status_t st = e->last_fc >= 0 ? mote_model_op(&e->m, (uint32_t)e->last_fc, &op) : MOTE_ERR_STATE;
    if (st == MOTE_OK && (op.n_inputs < 3 || op.inputs[2] < 0))
        st = MOTE_ERR_SHAPE;
    if (st == MOTE_OK && (st = mote_model_tensor(&e->m, (uint32_t)op.inputs[1], &w)) == MOTE_OK)
        st = mote_model_tensor(&e->m, (uint32_t)op.inputs[2], &b);
    uint32_t n_out = st == MOTE_OK ? tensor_elems(&b) : 0;
    if (st == MOTE_OK && (w.type != MOTE_I8 || b.type != MOTE_I32 || w.n_scales != 1 ||
                          b.n_scales != 1 || tensor_elems(&w) != n_out * e->n_tap))
        st = MOTE_ERR_UNSUPPORTED;
    if (st == MOTE_OK && ((uint32_t)op.inputs[0] != e->tap_index || n_out != e->n_front))
        st = MOTE_ERR_SHAPE;
    if (st != MOTE_OK)
        return tpu_fail(e->msg, e->ms, st,
                        "%s: anomaly \"recon\" needs an autoencoder backbone tapped at the input of "
                        "its last FULLY_CONNECTED (per-tensor int8 weights, one output per front "
                        "feature)", e->cfg->path);
    e->ol_w = malloc((size_t)n_out * e->n_tap * sizeof *e->ol_w);
    e->ol_b = malloc(n_out * sizeof *e->ol_b);
    e->recon = malloc(n_out * sizeof *e->recon);
    if (!e->ol_w || !e->ol_b || !e->recon)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < (size_t)n_out * e->n_tap; i++)
        e->ol_w[i] = w.scale * (float)((const int8_t *)w.data)[i];
    for (uint32_t i = 0; i < n_out; i++)
        e->ol_b[i] = b.scale * (float)((const int32_t *)b.data)[i];
    st = mote_anomaly_ol_init(&e->ol, e->ol_w, e->ol_b, e->n_tap, n_out, e->cfg->ol_lr,
                              e->cfg->ol_normalized);
    return st == MOTE_OK ? MOTE_OK
                         : tpu_fail(e->msg, e->ms, st, "%s: anomaly.lr: out of range for %s",
                                    e->cfg->path, e->cfg->ol_normalized ? "NLMS (< 2)" : "SGD");
}

/* Explanation groups: equal slices of the scored features. */
static mote_status_t setup_groups(onl_engine_t *e, uint32_t n)
{
    uint32_t g = e->cfg->groups < n ? e->cfg->groups : n;
    if (g == 0)
        return MOTE_OK;
    e->group_start = malloc((g + 1) * sizeof *e->group_start);
    if (!e->group_start || n > 65535)
        return tpu_fail(e->msg, e->ms, e->group_start ? MOTE_ERR_LIMIT : MOTE_ERR_NOMEM,
                        "explanation groups: %s", e->group_start ? "too many features" : "out of memory");
    for (uint32_t i = 0; i <= g; i++)
        e->group_start[i] = (uint16_t)((uint64_t)i * n / g);
    mote_status_t st = mote_anomaly_groups_init(&e->groups, e->group_start, g, n);
    return st == MOTE_OK ? MOTE_OK : tpu_fail(e->msg, e->ms, st, "explanation groups: invalid");
}

static mote_status_t setup_drift(onl_engine_t *e)
{
    const mote_online_config_t *c = e->cfg;
    for (size_t i = 0; i < c->n_det; i++) {
        const mote_online_detector_t *d = &c->det[i];
        mote_status_t st = MOTE_OK;
        if (d->kind == MOTE_ONLINE_DET_PH)
            st = mote_drift_ph_init(&e->ph[i], &d->ph);
        else if (d->kind == MOTE_ONLINE_DET_DDM)
            st = mote_drift_ddm_init(&e->ddm[i], &d->ddm);
        else {
            size_t need = mote_drift_adwin_state_size(&d->adwin);
            e->ad_buf[i] = alloc16(need);
            st = e->ad_buf[i] ? mote_drift_adwin_init(&e->ad[i], &d->adwin, e->ad_buf[i], need)
                              : MOTE_ERR_NOMEM;
        }
        if (st != MOTE_OK)
            return tpu_fail(e->msg, e->ms, st, "%s: drift.detectors[%zu]: %s", c->path, i,
                            mote_status_str(st));
    }
    mote_status_t st = mote_drift_policy_init(&e->policy, &c->policy);
    return st == MOTE_OK ? MOTE_OK
                         : tpu_fail(e->msg, e->ms, st, "%s: drift.policy: invalid", c->path);
}

mote_status_t onl_engine_learners(onl_engine_t *e)
{
    const mote_online_config_t *c = e->cfg;
    mote_status_t st = MOTE_OK;
    if (c->task == MOTE_ONLINE_CLASSIFY)
        st = setup_head(e);
    else {
        if (mote_anomaly_thr_init(&e->thr, &c->thr) != MOTE_OK)
            return tpu_fail(e->msg, e->ms, MOTE_ERR_ARG, "%s: anomaly.threshold: invalid", c->path);
        e->thr_fixed = INFINITY;
        if (c->anom == MOTE_ONLINE_ANOM_RECON)
            st = setup_recon(e);
        if (st == MOTE_OK)
            st = setup_groups(e, c->anom == MOTE_ONLINE_ANOM_RECON ? e->n_front : e->nx);
    }
    return st == MOTE_OK ? setup_drift(e) : st;
}

void onl_engine_free(onl_engine_t *e)
{
    free(e->win);
    free(e->feat);
    free(e->dspcfg);
    free(e->dsp_state);
    free(e->lb_work);
    free(e->power);
    free(e->model);
    free(e->arena);
    free(e->tapped);
    for (size_t i = 0; i < e->n_bb_names; i++)
        free(e->bb_names[i]);
    free(e->bb_names);
    free(e->std_buf);
    free(e->head_buf);
    free(e->met_buf);
    free(e->prob);
    free(e->ol_w);
    free(e->ol_b);
    free(e->recon);
    free(e->forest_blob);
    free(e->fit_x);
    free(e->fit_y);
    free(e->fstd_buf);
    free(e->group_start);
    for (size_t i = 0; i < MOTE_ONLINE_MAX_DETECTORS; i++)
        free(e->ad_buf[i]);
    for (size_t i = 0; i < e->n_names; i++)
        free(e->names[i]);
    free(e->names);
    onl_datasets_free(&e->data);
    memset(e, 0, sizeof *e);
}
