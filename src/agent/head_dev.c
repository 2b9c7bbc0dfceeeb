/* A federated head on the device (head_dev.h). */
#define _POSIX_C_SOURCE 200809L
#include "head_dev.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BUILTIN_FULLY_CONNECTED = 9 };

static mote_status_t fail(char *msg, size_t size, mote_status_t st, const char *fmt, ...)
{
    if (msg && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, size, fmt, ap);
        va_end(ap);
    }
    return st;
}

static void *zalloc16(size_t n)
{
    void *p = NULL;
    return posix_memalign(&p, 16, n ? n : 16) == 0 ? memset(p, 0, n ? n : 16) : NULL;
}

/* The input of the last FULLY_CONNECTED: what every federated head learns on. */
static mote_status_t find_tap(const mote_model_t *net, uint32_t *tensor, uint32_t *n)
{
    mote_op_info_t info;
    mote_tensor_t t;
    for (uint32_t op = mote_model_op_count(net); op-- > 0;) {
        if (mote_model_op(net, op, &info) != MOTE_OK || info.builtin != BUILTIN_FULLY_CONNECTED)
            continue;
        if (info.n_inputs < 1 || mote_model_tensor(net, (uint32_t)info.inputs[0], &t) != MOTE_OK)
            return MOTE_ERR_NOT_FOUND;
        *tensor = (uint32_t)info.inputs[0];
        *n = (uint32_t)(t.bytes / (t.type == MOTE_F32 ? 4 : t.type == MOTE_I16 ? 2 : 1));
        return MOTE_OK;
    }
    return MOTE_ERR_NOT_FOUND;
}

static mote_status_t decode_state(mote_head_dev_t *h, json_t *head, char *msg, size_t size)
{
    const char *hex = json_string_value(json_object_get(head, "state"));
    size_t n = hex ? strlen(hex) : 0;
    if (!hex || n == 0 || n % 2)
        return fail(msg, size, MOTE_ERR_FORMAT, "model card: 'head.state' must be the head's bytes in hex");
    if (!(h->blob = zalloc16(n / 2)))
        return MOTE_ERR_NOMEM;
    if (sodium_hex2bin(h->blob, n / 2, hex, n, NULL, &h->len, NULL) != 0 || h->len != n / 2)
        return fail(msg, size, MOTE_ERR_FORMAT, "model card: 'head.state' is not hex");
    char why[160] = "";
    mote_status_t st = mote_learn_blob_info(h->blob, h->len, &h->info, why, sizeof why);
    if (st != MOTE_OK)
        return fail(msg, size, st, "head: %s", why);
    if (h->info.kind != MOTE_LEARN_SOFTMAX)
        return fail(msg, size, MOTE_ERR_SHAPE, "head: not a softmax (classifying) head");
    if (h->info.n_classes > MOTE_HEAD_MAX_CLASSES)
        return fail(msg, size, MOTE_ERR_LIMIT, "head: %u classes (at most %d)", h->info.n_classes,
                    MOTE_HEAD_MAX_CLASSES);
    return MOTE_OK;
}

static mote_status_t read_classes(mote_head_dev_t *h, json_t *head, char *msg, size_t size)
{
    json_t *cls = json_object_get(head, "classes");
    if (!json_is_array(cls) || json_array_size(cls) != h->info.n_classes)
        return fail(msg, size, MOTE_ERR_SHAPE, "head: 'head.classes' must name its %u classes",
                    h->info.n_classes);
    h->n_classes = h->info.n_classes;
    for (uint32_t i = 0; i < h->n_classes; i++) {
        const char *c = json_string_value(json_array_get(cls, i));
        snprintf(h->classes[i], sizeof h->classes[i], "%s", c && *c ? c : "?");
    }
    json_int_t r = json_integer_value(json_object_get(head, "round"));
    json_int_t v = json_integer_value(json_object_get(head, "version"));
    h->round = r > 0 && r <= (json_int_t)UINT32_MAX ? (uint32_t)r : 0;
    h->version = v > 0 ? (uint64_t)v : 0;
    return MOTE_OK;
}

static mote_status_t check_shape(mote_head_dev_t *h, const mote_model_t *net, char *msg, size_t size)
{
    uint32_t width = 0;
    if (find_tap(net, &h->tap_tensor, &width) != MOTE_OK)
        return fail(msg, size, MOTE_ERR_SHAPE, "head: the model has no FULLY_CONNECTED layer to tap");
    h->n_features = width;
    if (h->info.n_features != width)
        return fail(msg, size, MOTE_ERR_SHAPE,
                    "head: takes %u features, the model's tap (tensor %u, input of its last "
                    "FULLY_CONNECTED) gives %u",
                    h->info.n_features, h->tap_tensor, width);
    return MOTE_OK;
}

mote_status_t mote_head_dev_parse(const char *card, size_t card_len, const mote_model_t *net,
                                  mote_head_dev_t **out, char *msg, size_t msg_size)
{
    if (!card || !net || !out)
        return MOTE_ERR_ARG;
    *out = NULL;
    json_t *j = json_loadb(card, card_len, 0, NULL);
    json_t *head = json_object_get(j, "head");
    if (!head) {
        json_decref(j);
        return MOTE_OK;
    }
    mote_head_dev_t *h = calloc(1, sizeof *h);
    mote_status_t st = h ? MOTE_OK : MOTE_ERR_NOMEM;
    if (st == MOTE_OK && !json_is_object(head))
        st = fail(msg, msg_size, MOTE_ERR_FORMAT, "model card: 'head' must be an object");
    if (st == MOTE_OK && (st = decode_state(h, head, msg, msg_size)) == MOTE_OK &&
        (st = check_shape(h, net, msg, msg_size)) == MOTE_OK)
        st = read_classes(h, head, msg, msg_size);
    json_decref(j);
    if (st != MOTE_OK) {
        mote_head_dev_free(h);
        return st;
    }
    *out = h;
    return MOTE_OK;
}

void mote_head_dev_free(mote_head_dev_t *h)
{
    if (!h)
        return;
    free(h->blob);
    free(h);
}

static mote_status_t restore(mote_head_run_t *r, const mote_head_dev_t *hd)
{
    const mote_learn_blob_info_t *bi = &hd->info;
    mote_learn_config_t hc = bi->cfg;
    hc.n_features = bi->n_features;
    hc.max_classes = hc.n_classes = bi->n_classes;
    const size_t hs = mote_learn_head_size(bi->n_features, bi->n_classes, hc.flags);
    r->has_std = (bi->sections & MOTE_LEARN_SECT_STD) != 0;
    const uint32_t sf = bi->sections & MOTE_LEARN_SECT_STD_COMPENSATED ? MOTE_LEARN_STD_COMPENSATED : 0;
    const size_t ss = r->has_std ? mote_learn_std_size(bi->n_features, sf) : 0;
    r->head_buf = zalloc16(hs);
    r->std_buf = r->has_std ? zalloc16(ss) : NULL;
    r->x = zalloc16(((size_t)bi->n_features + bi->n_classes) * sizeof(float));
    if (!r->head_buf || (r->has_std && !r->std_buf) || !r->x)
        return MOTE_ERR_NOMEM;
    r->p = r->x + bi->n_features;
    mote_status_t st = mote_learn_head_init(&r->head, &hc, r->head_buf, hs);
    if (st == MOTE_OK && r->has_std)
        st = mote_learn_std_init(&r->std, bi->n_features, sf, 0, r->std_buf, ss);
    if (st == MOTE_OK)
        st = mote_learn_restore(&r->head, r->has_std ? &r->std : NULL, hd->blob, hd->len, NULL, 0);
    return st;
}

mote_status_t mote_head_run_init(mote_head_run_t *r, const mote_head_dev_t *hd, const mote_model_t *net)
{
    if (!r || !hd || !net)
        return MOTE_ERR_ARG;
    memset(r, 0, sizeof *r);
    mote_status_t st = restore(r, hd);
    if (st == MOTE_OK)
        st = mote_learn_tap_init(&r->tap, net, hd->tap_tensor, r->x, hd->n_features);
    if (st != MOTE_OK)
        mote_head_run_free(r);
    return st;
}

mote_status_t mote_head_run_classify(mote_head_run_t *r, mote_model_t *net, uint32_t *cls, float *conf)
{
    mote_status_t st = mote_model_invoke_hooked(net, mote_learn_tap_hook, &r->tap);
    if (st != MOTE_OK)
        return st;
    if (r->has_std)
        mote_learn_std_apply(&r->std, r->x);
    *cls = mote_learn_predict(&r->head, r->x, r->p);
    *conf = r->p[*cls];
    return MOTE_OK;
}

void mote_head_run_free(mote_head_run_t *r)
{
    if (!r)
        return;
    free(r->head_buf);
    free(r->std_buf);
    free(r->x);
    memset(r, 0, sizeof *r);
}
