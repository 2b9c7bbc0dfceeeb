/* mote pipeline: the replay itself (see online.h): pretraining, then each
 * phase sample by sample through the head or anomaly detector, the drift
 * detectors and the policy, logging what a device would report. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "online_engine.h"

/* What one sample produced. */
typedef struct step {
    int32_t truth, pred, bb;
    float score, conf;
    int labelled, error;
    uint32_t flags;
} step_t;

/* ---- labels -------------------------------------------------------------- */

static int label_arrives(onl_engine_t *e, const mote_online_labels_t *l, uint64_t index,
                         int32_t truth)
{
    if (e->requested > 0) {
        e->requested--;
        return 1;
    }
    if (l->none || index < l->after || (l->max && e->scheduled >= l->max))
        return 0;
    if (l->n_classes && onl_find(l->classes, l->n_classes, e->names[truth]) < 0)
        return 0;
    int pick = l->every ? index >= l->offset && (index - l->offset) % l->every == 0
                        : (double)mote_nn_rng_uniform(&e->rng) < l->rate;
    e->scheduled += pick != 0;
    return pick;
}

/* Head row of a names index; adds a class for a new name when there is
 * room (returns -1 when the head is full). */
static int32_t head_row(onl_engine_t *e, int32_t name, uint32_t *flags)
{
    uint32_t n = mote_learn_class_count(&e->head);
    for (uint32_t r = 0; r < n; r++)
        if (e->head_map[r] == name)
            return (int32_t)r;
    uint32_t row;
    if (mote_learn_add_class(&e->head, &row) != MOTE_OK)
        return -1;
    /* a new class is learned at the initial rate, not a decayed one */
    mote_learn_schedule_restart(&e->head);
    e->head_map[row] = name;
    *flags |= MOTE_ONLINE_F_ADDED;
    return (int32_t)row;
}

/* One SGD step with the learning rate scaled by the drift policy: the
 * configured rate is scaled around the call and put back. A scaled rate
 * the head refuses (above 1e3) leaves the configured one in force. */
static void update_scaled(onl_engine_t *e, uint32_t row, float lr_scale)
{
    float lr = e->head.cfg.lr; /* the base rate (mote_learn_lr is the scheduled one) */
    int scaled = lr_scale != 1.0f && mote_learn_set_lr(&e->head, lr * lr_scale) == MOTE_OK;
    mote_learn_update(&e->head, e->x, row);
    if (scaled)
        mote_learn_set_lr(&e->head, lr);
}

/* ---- the per-sample step ------------------------------------------------- */

static void classify(onl_engine_t *e, step_t *s, int label, float lr_scale)
{
    if (!e->cfg->std_off)
        mote_learn_std_push(&e->std, e->x);
    uint32_t p = mote_learn_predict(&e->head, e->x, e->prob);
    s->pred = e->head_map[p];
    s->conf = e->prob[p];
    s->score = e->prob[p];
    if (!label)
        return;
    int32_t row = head_row(e, s->truth, &s->flags);
    s->labelled = 1;
    s->error = s->pred != s->truth;
    s->flags |= MOTE_ONLINE_F_LABEL;
    if (row < 0)
        return; /* no room for another class: the label cannot be learned */
    mote_learn_metrics_add(&e->met, (uint32_t)row, p);
    update_scaled(e, (uint32_t)row, lr_scale);
}

/* Unsupervised adaptation of the decoder's output layer: never during an
 * alarm, and only on samples the detector takes as normal (not above the
 * threshold, or with learn_below below that fraction of it). */
static void adapt_recon(onl_engine_t *e, uint32_t f, float thr)
{
    float r = e->cfg->ol_learn_below;
    if (f & MOTE_ANOMALY_ACTIVE)
        return;
    if (r > 0.0f)
        mote_anomaly_ol_update_below(&e->ol, e->tapped, e->feat, r * thr);
    else if (!(f & MOTE_ANOMALY_ABOVE))
        mote_anomaly_ol_update(&e->ol, e->tapped, e->feat);
}

static void score_anomaly(onl_engine_t *e, step_t *s, int adapt_ok)
{
    const mote_online_config_t *c = e->cfg;
    s->pred = -1;
    if (c->anom == MOTE_ONLINE_ANOM_IFOREST) {
        s->score = e->forest_blob ? mote_iforest_score(&e->forest, e->x) : 0.0f;
    } else {
        mote_anomaly_ol_forward(&e->ol, e->tapped, e->recon);
        s->score = mote_anomaly_mse(e->feat, e->recon, e->n_front);
    }
    uint32_t f;
    float thr = e->thr_fixed;
    if (c->thr_adapt || !adapt_ok) {
        thr = mote_anomaly_thr_value(&e->thr); /* the one this sample is judged by */
        f = mote_anomaly_thr_update(&e->thr, s->score);
    } else {
        f = s->score > e->thr_fixed ? MOTE_ANOMALY_ABOVE : 0;
    }
    s->flags |= (f & MOTE_ANOMALY_ABOVE) ? MOTE_ONLINE_F_ANOMALY : 0;
    s->flags |= (f & MOTE_ANOMALY_ACTIVE) ? MOTE_ONLINE_F_ALARM : 0;
    if (adapt_ok && c->adapt && c->anom == MOTE_ONLINE_ANOM_RECON)
        adapt_recon(e, f, thr);
}

static uint32_t detect(onl_engine_t *e, const step_t *s)
{
    uint32_t flags = 0;
    for (size_t i = 0; i < e->cfg->n_det; i++) {
        const mote_online_detector_t *d = &e->cfg->det[i];
        float v;
        if (d->input == MOTE_ONLINE_IN_ERROR) {
            if (!s->labelled)
                continue;
            v = (float)s->error;
        } else {
            v = d->input == MOTE_ONLINE_IN_SCORE && e->cfg->task == MOTE_ONLINE_ANOMALY
                    ? s->score
                    : 1.0f - s->conf;
        }
        flags |= d->kind == MOTE_ONLINE_DET_PH      ? mote_drift_ph_update(&e->ph[i], v)
                 : d->kind == MOTE_ONLINE_DET_DDM   ? mote_drift_ddm_update(&e->ddm[i], v)
                                                    : mote_drift_adwin_update(&e->ad[i], v);
    }
    return flags;
}

/* Carry out what the policy asks; returns the learning-rate factor. */
static float act(onl_engine_t *e, uint32_t flags, uint32_t *out_flags)
{
    mote_drift_actions_t a;
    mote_drift_policy_apply(&e->policy, flags, &a);
    if (a.actions && (flags & MOTE_DRIFT_DETECTED))
        *out_flags |= MOTE_ONLINE_F_DRIFT;
    if ((a.actions & MOTE_DRIFT_ACT_RESET_STANDARDIZER) && e->cfg->task == MOTE_ONLINE_CLASSIFY)
        mote_learn_std_reset(&e->std);
    if ((a.actions & MOTE_DRIFT_ACT_RESET_STANDARDIZER) && e->fstd_on)
        onl_engine_rewarm_front(e);
    if (a.actions & MOTE_DRIFT_ACT_RESET_THRESHOLD && e->cfg->task == MOTE_ONLINE_ANOMALY)
        mote_anomaly_thr_reset(&e->thr);
    if (a.actions & MOTE_DRIFT_ACT_REQUEST_LABELS)
        e->requested += a.n_labels;
    return a.lr_scale;
}

/* ---- log ----------------------------------------------------------------- */

static mote_status_t log_push(onl_engine_t *e, mote_online_result_t *res, uint64_t *cap,
                              uint32_t phase, const step_t *s)
{
    if (res->n == *cap) {
        uint64_t nc = *cap ? 2 * *cap : 4096;
        mote_online_sample_t *p = realloc(res->log, nc * sizeof *p);
        if (!p)
            return tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
        res->log = p;
        *cap = nc;
    }
    float thr = e->cfg->task != MOTE_ONLINE_ANOMALY ? NAN
                : e->cfg->thr_adapt                  ? mote_anomaly_thr_value(&e->thr)
                                                     : e->thr_fixed;
    res->log[res->n++] = (mote_online_sample_t){phase, s->truth, s->pred, s->bb, s->score, thr, s->flags};
    return MOTE_OK;
}

/* ---- pretraining ---------------------------------------------------------- */

/* Keep e->x and its label for fitting (the forest, a fitted backbone). */
static mote_status_t keep_fit(onl_engine_t *e, int32_t label)
{
    if (e->fit_n == e->fit_cap) {
        size_t nc = e->fit_cap ? 2 * e->fit_cap : 1024;
        float *p = realloc(e->fit_x, nc * e->nx * sizeof *p);
        if (p)
            e->fit_x = p;
        int32_t *q = p ? realloc(e->fit_y, nc * sizeof *q) : NULL;
        if (!q)
            return tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
        e->fit_y = q;
        e->fit_cap = nc;
    }
    e->fit_y[e->fit_n] = label;
    memcpy(e->fit_x + e->fit_n++ * e->nx, e->x, e->nx * sizeof *e->x);
    return MOTE_OK;
}

/* The pass before pass 0 when the backbone is fitted here: collect the
 * front-end vectors (and fit their standardizer), then fit. */
static mote_status_t fit_pass(onl_engine_t *e, onl_stream_t *s, const char *out_dir)
{
    const onl_source_t *src;
    uint64_t start;
    int32_t bb;
    while (onl_stream_next(s, &src, &start)) {
        int32_t truth = onl_engine_name(e, src->label);
        mote_status_t r = truth < 0 ? tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory")
                                    : onl_engine_features(e, src, start, &bb);
        if (r == MOTE_OK) {
            mote_learn_std_update(&e->fstd, e->x);
            r = keep_fit(e, truth);
        }
        if (r != MOTE_OK)
            return r;
    }
    return onl_fit_backbone(e, out_dir);
}

/* Pass 0 fits what needs the whole set first (the standardizer, the
 * forest); passes 1..epochs train the head or warm the threshold. */
static mote_status_t pretrain_pass(onl_engine_t *e, onl_stream_t *s, uint32_t pass,
                                   uint64_t *n, uint64_t *correct)
{
    const onl_source_t *src;
    uint64_t start;
    onl_stream_rewind(s);
    while (onl_stream_next(s, &src, &start)) {
        step_t st = {onl_engine_name(e, src->label), -1, -1, 0, 0, 0, 0, 0};
        mote_status_t r = st.truth < 0 ? MOTE_ERR_NOMEM : onl_engine_features(e, src, start, &st.bb);
        if (r != MOTE_OK)
            return r == MOTE_ERR_NOMEM && !e->msg[0] ? tpu_fail(e->msg, e->ms, r, "out of memory") : r;
        int cls = e->cfg->task == MOTE_ONLINE_CLASSIFY;
        if (pass == 0 && cls && !e->cfg->std_off)
            mote_learn_std_update(&e->std, e->x);
        else if (pass == 0 && !cls && e->cfg->anom == MOTE_ONLINE_ANOM_IFOREST &&
                 (r = keep_fit(e, st.truth)) != MOTE_OK)
            return r;
        if (pass == 0)
            continue;
        if (cls) {
            if (onl_find(e->cfg->classes, e->cfg->n_classes, e->names[st.truth]) < 0)
                return tpu_fail(e->msg, e->ms, MOTE_ERR_ARG,
                                "%s: pretrain: class '%s' is not in \"classes\"", e->cfg->path,
                                e->names[st.truth]);
            if (!e->cfg->std_off)
                mote_learn_std_apply(&e->std, e->x);
            uint32_t p = mote_learn_predict(&e->head, e->x, e->prob);
            *correct += e->head_map[p] == st.truth;
            mote_learn_update(&e->head, e->x, (uint32_t)onl_find(e->cfg->classes, e->cfg->n_classes,
                                                                 e->names[st.truth]));
        } else {
            score_anomaly(e, &st, 0);
        }
        (*n)++;
    }
    return MOTE_OK;
}

static mote_status_t grow_forest(onl_engine_t *e)
{
    if (e->fit_n < 2)
        return tpu_fail(e->msg, e->ms, MOTE_ERR_ARG,
                        "%s: anomaly \"iforest\" needs a pretrain set of 2 or more samples",
                        e->cfg->path);
    mote_status_t st = mote_iforest_train(e->fit_x, e->fit_n, e->nx, &e->cfg->iforest,
                                          &e->forest_blob, &e->forest_len);
    if (st == MOTE_OK)
        st = mote_iforest_load(&e->forest, e->forest_blob, e->forest_len);
    return st == MOTE_OK ? MOTE_OK
                         : tpu_fail(e->msg, e->ms, st, "%s: growing the forest: %s", e->cfg->path,
                                    mote_status_str(st));
}

static mote_status_t pretrain(onl_engine_t *e, mote_online_result_t *res, const char *out_dir)
{
    const mote_online_config_t *c = e->cfg;
    if (c->pretrain.n_segments == 0)
        return c->has_fit ? tpu_fail(e->msg, e->ms, MOTE_ERR_ARG,
                                     "%s: backbone.fit needs \"pretrain\" data", c->path)
                          : MOTE_OK;
    onl_stream_t s;
    mote_status_t st = onl_stream_open(&s, &c->pretrain, &e->data, &e->rng, e->msg, e->ms);
    uint64_t n = 0, correct = 0;
    if (st == MOTE_OK && c->has_fit)
        st = fit_pass(e, &s, out_dir);
    for (uint32_t pass = 0; st == MOTE_OK && pass <= c->pretrain_epochs; pass++) {
        n = correct = 0;
        st = pretrain_pass(e, &s, pass, &n, &correct);
        if (st == MOTE_OK && pass == 0 && c->task == MOTE_ONLINE_ANOMALY &&
            c->anom == MOTE_ONLINE_ANOM_IFOREST)
            st = grow_forest(e);
    }
    onl_stream_close(&s);
    res->pretrain_samples = n;
    res->pretrain_acc = n && c->task == MOTE_ONLINE_CLASSIFY ? (double)correct / (double)n : NAN;
    if (c->task == MOTE_ONLINE_ANOMALY)
        e->thr_fixed = mote_anomaly_thr_value(&e->thr);
    return st;
}

/* ---- phases -------------------------------------------------------------- */

static mote_status_t run_phase(onl_engine_t *e, mote_online_result_t *res, uint64_t *cap,
                               uint32_t p, uint64_t limit)
{
    const mote_online_phase_t *ph = &e->cfg->phases[p];
    const mote_online_labels_t *l = ph->has_labels ? &ph->labels : &e->cfg->labels;
    onl_stream_t s;
    mote_status_t st = onl_stream_open(&s, ph, &e->data, &e->rng, e->msg, e->ms);
    const onl_source_t *src;
    uint64_t start, k = 0;
    while (st == MOTE_OK && (!limit || k < limit) && onl_stream_next(&s, &src, &start)) {
        step_t x = {onl_engine_name(e, src->label), -1, -1, 0, 0, 0, 0, 0};
        if (x.truth < 0) {
            st = tpu_fail(e->msg, e->ms, MOTE_ERR_NOMEM, "out of memory");
            break;
        }
        if ((st = onl_engine_features(e, src, start, &x.bb)) != MOTE_OK)
            break;
        if (e->cfg->task == MOTE_ONLINE_CLASSIFY)
            classify(e, &x, label_arrives(e, l, res->n, x.truth), e->lr_scale);
        else
            score_anomaly(e, &x, 1);
        /* a boost starts with the sample after the one that fired */
        e->lr_scale = act(e, detect(e, &x), &x.flags);
        st = log_push(e, res, cap, p, &x);
        k++;
    }
    onl_stream_close(&s);
    return st;
}

static mote_status_t save_head(onl_engine_t *e, const char *out_dir, const char *name,
                               size_t *bytes)
{
    const mote_learn_std_t *std = e->cfg->std_off ? NULL : &e->std;
    size_t n = mote_learn_save_size(&e->head, std);
    *bytes = n;
    if (!out_dir)
        return MOTE_OK;
    uint8_t *buf = malloc(n);
    char *path = tpu_path_cat(out_dir, name);
    mote_status_t st = buf && path ? mote_learn_save(&e->head, std, buf, n, NULL) : MOTE_ERR_NOMEM;
    FILE *f = st == MOTE_OK ? fopen(path, "wb") : NULL;
    if (st == MOTE_OK && (!f || fwrite(buf, 1, n, f) != n))
        st = tpu_fail(e->msg, e->ms, MOTE_ERR_IO, "%s: cannot write", path ? path : name);
    if (f && fclose(f) != 0 && st == MOTE_OK)
        st = tpu_fail(e->msg, e->ms, MOTE_ERR_IO, "%s: cannot write", path);
    else if (st == MOTE_ERR_NOMEM)
        tpu_fail(e->msg, e->ms, st, "out of memory");
    free(buf);
    free(path);
    return st;
}

static mote_status_t replay(onl_engine_t *e, const mote_online_opts_t *o, mote_online_result_t *res)
{
    const mote_online_config_t *c = e->cfg;
    uint64_t cap = 0;
    mote_status_t st = onl_engine_backbone(e, o->out_dir, o->quiet);
    /* the front end is sized from the first window, so open the first
     * stream now if there is no pretraining to do it */
    if (st == MOTE_OK)
        st = pretrain(e, res, o->out_dir);
    if (st == MOTE_OK && c->task == MOTE_ONLINE_CLASSIFY && e->front_ready)
        st = save_head(e, o->out_dir, "head_pretrained.motl", &res->state_bytes);
    for (uint32_t p = 0; st == MOTE_OK && p < c->n_phases; p++) {
        if (!o->quiet)
            fprintf(stderr, "mote learn: phase %u/%zu '%s' from sample %llu\n", p + 1, c->n_phases,
                    c->phases[p].name, (unsigned long long)res->n);
        st = run_phase(e, res, &cap, p, o->limit);
    }
    if (st == MOTE_OK && c->task == MOTE_ONLINE_CLASSIFY && e->front_ready) {
        res->device_acc = mote_learn_metrics_count(&e->met, MOTE_LEARN_ALL)
                              ? mote_learn_metrics_accuracy(&e->met, MOTE_LEARN_ALL) : NAN;
        res->device_acc_window = mote_learn_metrics_count(&e->met, MOTE_LEARN_WINDOW)
                                     ? mote_learn_metrics_accuracy(&e->met, MOTE_LEARN_WINDOW) : NAN;
        st = save_head(e, o->out_dir, "head_final.motl", &res->state_bytes);
    }
    return st;
}

static mote_status_t write_outputs(const mote_online_config_t *cfg, const mote_online_result_t *res,
                                   const char *dir, char *msg, size_t size)
{
    static const char *const files[] = {"stream.csv", "stream.svg", "stream.png", "summary.json"};
    mote_status_t st = MOTE_OK;
    for (size_t i = 0; st == MOTE_OK && i < 4; i++) {
        char *path = tpu_path_cat(dir, files[i]);
        if (!path)
            return tpu_fail(msg, size, MOTE_ERR_NOMEM, "out of memory");
        st = i == 0   ? mote_online_write_csv(path, res, msg, size)
             : i == 3 ? mote_online_write_json(path, cfg, res, msg, size)
                      : mote_online_plot(path, cfg, res, msg, size);
        free(path);
    }
    return st;
}

/* Hand the names table to the result (the log refers to it). */
static void take_names(onl_engine_t *e, mote_online_result_t *res)
{
    res->names = e->names;
    res->n_names = e->n_names;
    e->names = NULL;
    e->n_names = e->cap_names = 0;
}

mote_status_t mote_online_run(const mote_online_config_t *cfg, const mote_online_opts_t *opts,
                              mote_online_result_t *res, char *msg, size_t msg_size)
{
    if (!cfg || !res)
        return tpu_fail(msg, msg_size, MOTE_ERR_ARG, "mote_online_run: NULL argument");
    memset(res, 0, sizeof *res);
    res->device_acc = res->device_acc_window = NAN;
    mote_online_opts_t o = opts ? *opts : (mote_online_opts_t){0};
    char m[MOTE_ONLINE_MSG_LEN] = "";
    double t0 = tpu_now();
    mote_status_t st = o.out_dir ? tpu_mkdir(o.out_dir, m, sizeof m) : MOTE_OK;
    onl_engine_t *e = calloc(1, sizeof *e);
    if (st == MOTE_OK && !e)
        st = tpu_fail(m, sizeof m, MOTE_ERR_NOMEM, "out of memory");
    if (st == MOTE_OK) {
        e->cfg = cfg;
        e->msg = m;
        e->ms = sizeof m;
        e->lr_scale = 1.0f;
        mote_nn_rng_seed(&e->rng, o.has_seed ? o.seed : cfg->seed);
        st = replay(e, &o, res);
    }
    res->task = cfg->task;
    res->n_features = e ? e->nx : 0;
    res->auc = NAN;
    if (e)
        take_names(e, res);
    if (st == MOTE_OK)
        st = onl_summarize(cfg, res, m, sizeof m);
    res->seconds = tpu_now() - t0;
    if (st == MOTE_OK && o.out_dir)
        st = write_outputs(cfg, res, o.out_dir, m, sizeof m);
    if (e)
        onl_engine_free(e);
    free(e);
    if (st != MOTE_OK)
        tpu_fail(msg, msg_size, st, "%s", m);
    return st;
}

void mote_online_result_free(mote_online_result_t *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_names; i++)
        free(res->names[i]);
    free(res->names);
    free(res->log);
    for (size_t i = 0; i < res->n_phases; i++)
        free(res->phases[i].name);
    free(res->phases);
    memset(res, 0, sizeof *res);
}
