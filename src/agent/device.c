/* The device's signal path (device.h). */
#define _POSIX_C_SOURCE 200809L
#include "device.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEF_WARMUP 64u
#define DEF_DEBOUNCE 3u
#define RAISE_AFTER 3u
#define CLEAR_AFTER 10u

static void say(char *msg, size_t size, const char *fmt, ...)
{
    if (!msg || !size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
}

static void *aligned(size_t n)
{
    void *p = NULL;
    return posix_memalign(&p, 16, n ? n : 16) == 0 ? memset(p, 0, n ? n : 16) : NULL;
}

/* ---- model --------------------------------------------------------- */

static mote_status_t parse_card(mote_device_model_t *m, const char *card, size_t len, char *msg,
                                size_t msg_size)
{
    json_error_t je;
    json_t *j = json_loadb(card, len, 0, &je);
    if (!j) {
        say(msg, msg_size, "model card: line %d: %s", je.line, je.text);
        return MOTE_ERR_FORMAT;
    }
    const char *name = json_string_value(json_object_get(j, "name"));
    json_t *cls = json_object_get(json_object_get(j, "output"), "classes");
    mote_status_t st = MOTE_OK;
    if (!name || !*name || strlen(name) >= sizeof m->id.name) {
        say(msg, msg_size, "model card: field 'name' missing or too long");
        st = MOTE_ERR_FORMAT;
    } else if (!json_is_array(cls) || json_array_size(cls) == 0 ||
               json_array_size(cls) > MOTE_DEVICE_MAX_CLASSES) {
        say(msg, msg_size, "model card: 'output.classes' must list 1..%d names",
            MOTE_DEVICE_MAX_CLASSES);
        st = MOTE_ERR_FORMAT;
    } else {
        snprintf(m->id.name, sizeof m->id.name, "%s", name);
        m->n_classes = (uint32_t)json_array_size(cls);
        for (uint32_t i = 0; i < m->n_classes; i++) {
            const char *c = json_string_value(json_array_get(cls, i));
            snprintf(m->classes[i], sizeof m->classes[i], "%s", c ? c : "?");
            if (c && strcmp(c, "normal") == 0)
                m->normal = (int)i;
        }
    }
    json_decref(j);
    return st;
}

static mote_status_t check_tensors(mote_device_model_t *m, char *msg, size_t msg_size)
{
    mote_model_t net;
    mote_tensor_t in, out;
    mote_status_t st = mote_model_load(&net, m->tflite, m->tflite_len);
    if (st != MOTE_OK) {
        say(msg, msg_size, "model: %s", mote_model_error(&net));
        return st;
    }
    if ((st = mote_model_arena_size(&net, &m->arena_bytes)) != MOTE_OK ||
        (st = mote_model_input(&net, 0, &in)) != MOTE_OK ||
        (st = mote_model_output(&net, 0, &out)) != MOTE_OK) {
        say(msg, msg_size, "model: %s", mote_model_error(&net));
        return st;
    }
    if (in.type != MOTE_I8 || out.type != MOTE_I8) {
        say(msg, msg_size, "model: input and output must be int8");
        return MOTE_ERR_TYPE;
    }
    if (in.bytes != m->n_features) {
        say(msg, msg_size, "model: input has %zu values, the .dspcfg gives %u features", in.bytes,
            m->n_features);
        return MOTE_ERR_SHAPE;
    }
    if (out.bytes != m->n_classes) {
        say(msg, msg_size, "model: %zu outputs, the model card names %u classes", out.bytes,
            m->n_classes);
        return MOTE_ERR_SHAPE;
    }
    return MOTE_OK;
}

static mote_status_t dsp_tables(mote_device_model_t *m, char *msg, size_t msg_size)
{
    uint32_t wl = 0, tl = 0;
    mote_status_t st = mote_dsp_tables_size(&m->dsp, &wl, &tl);
    if (st != MOTE_OK)
        return st;
    m->window = aligned((size_t)wl * sizeof(float));
    m->twiddles = aligned((size_t)tl * sizeof(float));
    m->groups = calloc((size_t)m->n_features + 1, sizeof *m->groups);
    if (!m->window || !m->twiddles || !m->groups)
        return MOTE_ERR_NOMEM;
    for (uint32_t i = 0; i <= m->n_features; i++)
        m->groups[i] = (uint16_t)i;
    st = mote_dsp_tables_fill(&m->dsp, wl ? m->window : NULL, tl ? m->twiddles : NULL);
    if (st != MOTE_OK)
        say(msg, msg_size, "dspcfg: cannot build tables");
    return st;
}

/* A federated head replaces the model's classes: events name the head's. */
static mote_status_t load_head(mote_device_model_t *m, const char *card, size_t len, char *msg, size_t msg_size)
{
    mote_model_t net;
    mote_status_t st = mote_model_load(&net, m->tflite, m->tflite_len);
    if (st == MOTE_OK)
        st = mote_head_dev_parse(card, len, &net, &m->head, msg, msg_size);
    if (st != MOTE_OK || !m->head)
        return st;
    m->n_classes = m->head->n_classes;
    m->normal = -1;
    for (uint32_t i = 0; i < m->n_classes; i++) {
        snprintf(m->classes[i], sizeof m->classes[i], "%s", m->head->classes[i]);
        if (strcmp(m->classes[i], "normal") == 0)
            m->normal = (int)i;
    }
    return MOTE_OK;
}

static void digest(mote_device_model_t *m, const uint8_t *d, size_t dl, const char *c, size_t cl)
{
    crypto_hash_sha256_state h;
    uint8_t v[8];
    for (int i = 0; i < 8; i++)
        v[i] = (uint8_t)(m->id.version >> (8 * i));
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, m->tflite, m->tflite_len);
    crypto_hash_sha256_update(&h, d, dl);
    crypto_hash_sha256_update(&h, (const uint8_t *)c, cl);
    crypto_hash_sha256_update(&h, v, sizeof v);
    crypto_hash_sha256_final(&h, m->digest);
}

mote_status_t mote_device_model_load(const uint8_t *tflite, size_t tflite_len, const uint8_t *dspcfg,
                                     size_t dspcfg_len, const char *card, size_t card_len,
                                     uint64_t version, mote_device_model_t **out, char *msg,
                                     size_t msg_size)
{
    if (!tflite || !dspcfg || !card || !out)
        return MOTE_ERR_ARG;
    *out = NULL;
    mote_device_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return MOTE_ERR_NOMEM;
    m->refs = 1;
    m->normal = -1;
    m->id.version = version;
    char dmsg[MOTE_DSP_ERROR_LEN];
    mote_status_t st = mote_dsp_config_parse(&m->dsp, dspcfg, dspcfg_len, dmsg, sizeof dmsg);
    if (st != MOTE_OK) {
        say(msg, msg_size, "dspcfg: %s", dmsg);
        goto fail;
    }
    m->n_features = (uint32_t)mote_dsp_features_size(&m->dsp);
    if (m->n_features == 0 || m->n_features > MOTE_DEVICE_MAX_FEATURES) {
        say(msg, msg_size, "dspcfg: %u features (1..%d)", m->n_features, MOTE_DEVICE_MAX_FEATURES);
        st = MOTE_ERR_LIMIT;
        goto fail;
    }
    m->tflite = aligned(tflite_len);
    if (!m->tflite) {
        st = MOTE_ERR_NOMEM;
        goto fail;
    }
    memcpy(m->tflite, tflite, tflite_len);
    m->tflite_len = tflite_len;
    if ((st = parse_card(m, card, card_len, msg, msg_size)) != MOTE_OK ||
        (st = check_tensors(m, msg, msg_size)) != MOTE_OK ||
        (st = dsp_tables(m, msg, msg_size)) != MOTE_OK)
        goto fail;
    if ((st = load_head(m, card, card_len, msg, msg_size)) != MOTE_OK)
        goto fail;
    digest(m, dspcfg, dspcfg_len, card, card_len);
    *out = m;
    return MOTE_OK;
fail:
    mote_device_model_unref(m);
    return st;
}

mote_status_t mote_device_model_from_slots(mote_slots_t *s, mote_device_model_t **out, char *msg,
                                           size_t msg_size)
{
    const mote_slots_record_t *r = mote_slots_record(s);
    if (!r || r->active == MOTE_SLOT_NONE) {
        say(msg, msg_size, "no model installed");
        return MOTE_ERR_NOT_FOUND;
    }
    uint8_t *t = NULL, *d = NULL, *c = NULL;
    size_t tl = 0, dl = 0, cl = 0;
    mote_status_t st = mote_slots_read_payload(s, ".tflite", &t, &tl);
    if (st == MOTE_OK)
        st = mote_slots_read_payload(s, ".dspcfg", &d, &dl);
    if (st == MOTE_OK)
        st = mote_slots_read_payload(s, ".json", &c, &cl);
    if (st != MOTE_OK)
        say(msg, msg_size, "active slot: %s", mote_slots_error(s));
    else
        st = mote_device_model_load(t, tl, d, dl, (const char *)c, cl, r->version, out, msg, msg_size);
    free(t);
    free(d);
    free(c);
    return st;
}

mote_device_model_t *mote_device_model_ref(mote_device_model_t *m)
{
    if (m)
        m->refs++;
    return m;
}

void mote_device_model_unref(mote_device_model_t *m)
{
    if (!m || --m->refs > 0)
        return;
    free(m->tflite);
    free(m->window);
    free(m->twiddles);
    free(m->groups);
    mote_head_dev_free(m->head);
    free(m);
}

/* ---- one device ---------------------------------------------------- */

static void config_defaults(mote_device_config_t *c)
{
    if (!c->warmup)
        c->warmup = DEF_WARMUP;
    if (!c->debounce)
        c->debounce = DEF_DEBOUNCE;
    if (!(c->ph_delta > 0))
        c->ph_delta = 0.5f;
    if (!(c->ph_lambda > 0))
        c->ph_lambda = 50.0f;
}

static mote_status_t detectors_init(mote_device_t *d)
{
    mote_anomaly_thr_config_t tc;
    mote_anomaly_thr_config_default(&tc);
    tc.quantile = 0.99f;
    tc.margin = 1.5f;
    tc.warmup = d->cfg.warmup < 5 ? 5 : d->cfg.warmup;
    tc.learn_limit = tc.warmup; /* calibrate on normal running, then hold */
    tc.raise_after = RAISE_AFTER;
    tc.clear_after = CLEAR_AFTER;
    mote_status_t st = mote_anomaly_thr_init(&d->thr, &tc);
    if (st != MOTE_OK)
        return st;
    mote_drift_ph_config_t pc;
    mote_drift_ph_config_default(&pc);
    pc.delta = d->cfg.ph_delta;
    pc.lambda = d->cfg.ph_lambda;
    pc.direction = 1;
    return mote_drift_ph_init(&d->ph, &pc);
}

mote_status_t mote_device_init(mote_device_t *d, mote_device_model_t *model,
                               const mote_device_config_t *cfg)
{
    if (!d || !model)
        return MOTE_ERR_ARG;
    memset(d, 0, sizeof *d);
    d->cfg = cfg ? *cfg : (mote_device_config_t){0};
    config_defaults(&d->cfg);
    d->model = mote_device_model_ref(model);
    d->cls = d->cand = -1;
    uint32_t n = model->n_features;
    size_t ds = mote_dsp_state_size_frame(&model->dsp);
    size_t ss = mote_learn_std_size(n, 0);
    d->arena = aligned(model->arena_bytes);
    d->dsp_state = aligned(ds);
    d->std_buf = aligned(ss);
    d->feat = aligned(4 * (size_t)n * sizeof(float));
    if (!d->arena || !d->dsp_state || !d->std_buf || !d->feat) {
        mote_device_free(d);
        return MOTE_ERR_NOMEM;
    }
    d->z = d->feat + n;
    d->zero = d->z + n;
    d->share = d->zero + n;
    mote_status_t st = mote_model_load(&d->net, model->tflite, model->tflite_len);
    if (st == MOTE_OK)
        st = mote_model_prepare(&d->net, d->arena, model->arena_bytes);
    if (st == MOTE_OK)
        st = mote_dsp_init_frame(&d->dsp, &model->dsp, model->window, model->twiddles,
                                 ds ? d->dsp_state : NULL, ds);
    if (st == MOTE_OK)
        st = mote_learn_std_init(&d->std, n, 0, d->cfg.warmup, d->std_buf, ss);
    if (st == MOTE_OK && model->head && (st = mote_head_run_init(&d->head, model->head, &d->net)) == MOTE_OK)
        d->has_head = 1;
    if (st == MOTE_OK)
        st = detectors_init(d);
    if (st != MOTE_OK) {
        snprintf(d->msg, sizeof d->msg, "device: %s", mote_status_str(st));
        mote_device_free(d);
    }
    return st;
}

void mote_device_free(mote_device_t *d)
{
    if (!d)
        return;
    mote_device_model_unref(d->model);
    free(d->arena);
    free(d->dsp_state);
    free(d->std_buf);
    free(d->feat);
    if (d->has_head)
        mote_head_run_free(&d->head);
    d->has_head = 0;
    d->model = NULL;
    d->arena = NULL;
    d->dsp_state = d->std_buf = NULL;
    d->feat = NULL;
}

static int8_t quantize(float x, float scale, int32_t zp)
{
    double v = round((double)x / (double)scale) + zp;
    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

static void classify(mote_device_t *d, mote_device_result_t *r)
{
    mote_tensor_t in, out;
    mote_model_input(&d->net, 0, &in);
    int8_t *q = in.data;
    for (uint32_t i = 0; i < d->model->n_features; i++)
        q[i] = quantize(d->feat[i], in.scale, in.zero_point);
    if (d->has_head) {
        uint32_t c = 0;
        r->confidence = 0;
        mote_head_run_classify(&d->head, &d->net, &c, &r->confidence);
        r->raw_cls = (int)c;
        return;
    }
    mote_model_invoke(&d->net);
    mote_model_output(&d->net, 0, &out);
    const int8_t *o = out.data;
    int best = 0;
    for (uint32_t i = 1; i < d->model->n_classes; i++)
        if (o[i] > o[best])
            best = (int)i;
    r->raw_cls = best;
    r->confidence = (float)(o[best] - out.zero_point) * out.scale;
}

/* A new class must win `debounce` windows in a row before it is reported. */
static void debounce(mote_device_t *d, mote_device_result_t *r)
{
    r->prev_cls = -1;
    if (r->raw_cls == d->cls) {
        d->cand_run = 0;
    } else if (r->raw_cls == d->cand) {
        d->cand_run++;
    } else {
        d->cand = r->raw_cls;
        d->cand_run = 1;
    }
    if (d->cand_run >= d->cfg.debounce) {
        int first = d->cls < 0;
        r->prev_cls = d->cls;
        d->cls = d->cand;
        d->cand_run = 0;
        /* the first verdict is news only when it is not "normal" */
        if (!first || d->cls != d->model->normal)
            r->flags |= MOTE_DEVICE_F_CLASS;
    }
    r->cls = d->cls;
}

/* Hysteresis for a fixed threshold, like mote_anomaly_thr's. */
static uint32_t fixed_threshold(mote_device_t *d, float score)
{
    float t = (float)d->cfg.threshold;
    uint32_t above = !(score <= t);
    if (!d->thr.active) {
        d->thr.run = above ? d->thr.run + 1 : 0;
        if (d->thr.run >= RAISE_AFTER) {
            d->thr.active = 1;
            d->thr.run = 0;
            return MOTE_ANOMALY_RAISED;
        }
        return 0;
    }
    d->thr.run = score < 0.9f * t ? d->thr.run + 1 : 0;
    if (d->thr.run >= CLEAR_AFTER) {
        d->thr.active = 0;
        d->thr.run = 0;
    }
    return 0;
}

static void judge(mote_device_t *d, mote_device_result_t *r)
{
    uint32_t n = d->model->n_features;
    r->threshold = INFINITY;
    memcpy(d->z, d->feat, n * sizeof(float));
    if (!d->std.frozen) {
        mote_learn_std_push(&d->std, d->z);
        return;
    }
    mote_learn_std_apply(&d->std, d->z);
    mote_anomaly_groups_t g;
    mote_anomaly_groups_init(&g, d->model->groups, n, n);
    r->score = mote_anomaly_explain(&g, d->z, d->zero, d->share);
    r->n_top = mote_anomaly_top(d->share, n, 4, r->top);
    for (uint32_t i = 0; i < r->n_top; i++)
        r->share[i] = d->share[r->top[i]];
    uint32_t f;
    if (d->cfg.threshold > 0) {
        f = fixed_threshold(d, r->score);
        r->threshold = (float)d->cfg.threshold;
        r->flags |= MOTE_DEVICE_F_WARM;
    } else {
        f = mote_anomaly_thr_update(&d->thr, r->score);
        r->threshold = mote_anomaly_thr_value(&d->thr);
        if (isfinite(r->threshold))
            r->flags |= MOTE_DEVICE_F_WARM;
    }
    if (f & MOTE_ANOMALY_RAISED)
        r->flags |= MOTE_DEVICE_F_ANOMALY;
    /* Drift is a slow change of normal running; while an anomaly is
     * flagged it has been reported already, and the detector restarts
     * from the level seen after it clears. */
    if (d->thr.active) {
        mote_drift_ph_reset(&d->ph);
        return;
    }
    if (r->flags & MOTE_DEVICE_F_WARM && mote_drift_ph_update(&d->ph, r->score) & MOTE_DRIFT_DETECTED)
        r->flags |= MOTE_DEVICE_F_DRIFT;
}

mote_status_t mote_device_window(mote_device_t *d, const float *x, mote_device_result_t *r)
{
    if (!d || !d->model || !x || !r)
        return MOTE_ERR_ARG;
    memset(r, 0, sizeof *r);
    mote_dsp_stats(x, d->model->dsp.frame_len, &r->stats);
    mote_dsp_frame(&d->dsp, x, d->feat);
    classify(d, r);
    debounce(d, r);
    judge(d, r);
    d->windows++;
    return MOTE_OK;
}

static int group_name(const mote_dsp_config_t *c, uint32_t i, char *buf, size_t cap)
{
    size_t off, cnt;
    if (mote_dsp_feature_range(c, MOTE_DSP_FEAT_LINBANDS, &off, &cnt) == MOTE_OK && i >= off &&
        i < off + cnt) {
        double w = ((double)c->lin_hi_hz - c->lin_lo_hz) / (double)cnt;
        double lo = c->lin_lo_hz + w * (double)(i - off);
        snprintf(buf, cap, "band %.0f-%.0f Hz", lo, lo + w);
        return 1;
    }
    static const struct { uint32_t bit; const char *name; } groups[] = {
        {MOTE_DSP_FEAT_STATS, "stat"},  {MOTE_DSP_FEAT_CENTROID, "centroid"},
        {MOTE_DSP_FEAT_PEAKS, "peak"},  {MOTE_DSP_FEAT_MAGNITUDE, "bin"},
        {MOTE_DSP_FEAT_LOGMEL, "mel"},  {MOTE_DSP_FEAT_MFCC, "mfcc"},
        {MOTE_DSP_FEAT_ENVELOPE, "envelope bin"},
    };
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        if (mote_dsp_feature_range(c, groups[g].bit, &off, &cnt) == MOTE_OK && i >= off &&
            i < off + cnt) {
            snprintf(buf, cap, "%s %zu", groups[g].name, (size_t)(i - off));
            return 1;
        }
    return 0;
}

void mote_device_feature_name(const mote_device_model_t *m, uint32_t i, char *buf, size_t cap)
{
    if (!group_name(&m->dsp, i, buf, cap))
        snprintf(buf, cap, "feature %u", i);
}

/* 4 significant digits are plenty and keep events small. */
static double sig4(float v)
{
    char t[32];
    if (!isfinite(v))
        return 0;
    snprintf(t, sizeof t, "%.4g", (double)v);
    return strtod(t, NULL);
}

void mote_device_explain(const mote_device_t *d, const mote_device_result_t *r,
                         mote_proto_event_t *e)
{
    e->n_explain = r->n_top > MOTE_PROTO_MAX_EXPLAIN ? MOTE_PROTO_MAX_EXPLAIN : r->n_top;
    for (uint32_t i = 0; i < e->n_explain; i++) {
        mote_device_feature_name(d->model, r->top[i], e->explain[i].feature,
                                 sizeof e->explain[i].feature);
        e->explain[i].share = round((double)r->share[i] * 1000.0) / 1000.0;
    }
    const struct { const char *name; float v; } s[] = {
        {"rms", r->stats.rms},           {"peak", fmaxf(fabsf(r->stats.min), fabsf(r->stats.max))},
        {"crest", r->stats.crest},       {"kurtosis", r->stats.kurtosis},
        {"confidence", r->confidence},
        /* which head decided: 0 for the model's own softmax */
        {"head_version", d->has_head ? (float)d->model->head->version : 0.0f},
    };
    e->n_summary = sizeof s / sizeof s[0] - (d->has_head ? 0 : 1);
    for (uint32_t i = 0; i < e->n_summary; i++) {
        snprintf(e->summary[i].name, sizeof e->summary[i].name, "%s", s[i].name);
        e->summary[i].value = sig4(s[i].v);
    }
}

uint32_t mote_device_hist_bin(float score, float threshold)
{
    if (!(threshold > 0) || !isfinite(threshold) || !(score >= 0))
        return 0;
    double b = (double)score / ((double)threshold / 8.0);
    return b >= MOTE_PROTO_HIST_BINS - 1 ? MOTE_PROTO_HIST_BINS - 1 : (uint32_t)b;
}
