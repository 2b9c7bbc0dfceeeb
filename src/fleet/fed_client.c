/* mote fleet: the device side of a federated round (fed_client.h). */
#include "fed_client.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fed_msg.h"
#include "mote/crc32.h"

mote_status_t mote_fed_client_init(mote_fed_client_t *c, const fsim_t *data, uint32_t slice)
{
    if (!c || !data || slice >= data->cfg.devices)
        return MOTE_ERR_ARG;
    memset(c, 0, sizeof *c);
    c->data = data, c->slice = slice;
    const uint32_t P = data->n_params;
    c->wire_cap = mote_fedup_size(MOTE_FEDUP_I8, 0, P);
    c->g = calloc(P, sizeof *c->g), c->w = calloc(P, sizeof *c->w);
    c->resid = calloc(P, sizeof *c->resid), c->q = calloc(P, 1), c->wire = malloc(c->wire_cap);
    if (!c->g || !c->w || !c->resid || !c->q || !c->wire) {
        mote_fed_client_free(c);
        return MOTE_ERR_NOMEM;
    }
    mote_status_t st = fsim_head(data, &c->h, &c->hbuf);
    if (st)
        mote_fed_client_free(c);
    return st;
}

void mote_fed_client_free(mote_fed_client_t *c)
{
    if (!c)
        return;
    free(c->g), free(c->w), free(c->resid), free(c->q), free(c->wire), free(c->hbuf);
    memset(c, 0, sizeof *c);
}

static mote_status_t fail(char *msg, size_t size, mote_status_t st, const char *what)
{
    if (msg && size)
        snprintf(msg, size, "%s", what);
    return st;
}

mote_status_t mote_fed_client_global(mote_fed_client_t *c, const uint8_t pk[32], const uint8_t *buf,
                                     size_t len, char *msg, size_t msg_size)
{
    mote_fed_global_msg_t m;
    mote_status_t st = mote_fed_global_msg_decode(buf, len, pk, &m, msg, msg_size);
    if (st)
        return st;
    if (c->has_global && m.version <= c->version)
        return MOTE_OK;
    /* Restore into a scratch head so a bad blob leaves ours untouched and
     * our own velocities survive (only the averaged parameters change). */
    mote_learn_head_t tmp;
    void *tbuf = NULL;
    if ((st = fsim_head(c->data, &tmp, &tbuf)) != MOTE_OK)
        return fail(msg, msg_size, st, "fl/global: out of memory");
    st = mote_learn_restore(&tmp, NULL, m.blob, m.blob_len, msg, msg_size);
    if (!st && mote_fed_param_count(&tmp) != c->data->n_params)
        st = fail(msg, msg_size, MOTE_ERR_SHAPE, "fl/global: head of another shape");
    if (!st) {
        mote_fed_params_get(&tmp, c->g);
        c->version = m.version, c->has_global = 1;
    }
    free(tbuf);
    return st;
}

static int round_ok(const mote_fed_client_round_t *r)
{
    return r->round >= 1 && r->id >= 1 && r->steps >= 1 && r->steps <= 1000000u && isfinite(r->mu) &&
           r->mu >= 0.0f && isfinite(r->step) && r->step > 0.0f;
}

/* The two attacks of the acceptance run, applied to encoded bytes. */
static void poison(mote_fed_client_t *c, size_t len)
{
    if (c->attack == MOTE_FED_SATURATE) {
        memset(c->wire + MOTE_FEDUP_HEADER, 127, c->data->n_params);
    } else {
        const float nan = NAN;
        memcpy(c->wire + 24, &nan, 4);
    }
    const uint32_t crc = mote_crc32(c->wire, len - 4);
    for (int b = 0; b < 4; b++)
        c->wire[len - 4 + b] = (uint8_t)(crc >> (8 * b));
}

mote_status_t mote_fed_client_train(mote_fed_client_t *c, const mote_fed_client_round_t *r,
                                    const uint8_t **out, size_t *len, char *msg, size_t msg_size)
{
    if (!c || !r || !out || !len || !round_ok(r))
        return fail(msg, msg_size, MOTE_ERR_ARG, "fl_round: round, id, steps, mu or step out of range");
    if (!c->has_global || c->version != r->version)
        return fail(msg, msg_size, MOTE_ERR_STATE, "fl_round: global version not received yet");
    const fsim_t *s = c->data;
    const fsim_dev_t *dv = &s->dev[c->slice];
    mote_fed_params_set(&c->h, c->g);
    for (uint32_t k = 0; k < r->steps; k++, c->pos++) {
        const uint32_t i = dv->idx[c->pos % dv->n];
        mote_status_t st = mote_fed_train_sample(&c->h, c->g, s->xtr + (size_t)i * s->dim,
                                                 (uint32_t)s->ytr[i], r->mu);
        if (st)
            return fail(msg, msg_size, st, "fl_round: local training failed");
    }
    mote_fed_params_get(&c->h, c->w);
    mote_status_t st = mote_fed_quantize(c->w, c->g, c->resid, s->n_params, r->step, 0.0f, c->q, NULL);
    if (st)
        return fail(msg, msg_size, st, "fl_round: quantization failed (non-finite head)");
    /* The FedAvg weight is the slice size, as in `mote fed sim`. */
    const mote_fedup_t u = {.encoding = MOTE_FEDUP_I8, .round = r->round, .device = r->id,
                            .samples = (uint32_t)dv->n, .n_params = s->n_params, .step = r->step,
                            .base_version = r->version, .payload = c->q};
    st = mote_fedup_encode(&u, NULL, c->wire, c->wire_cap, len);
    if (st)
        return fail(msg, msg_size, st, "fl_round: cannot encode the update");
    if (c->attack != MOTE_FED_HONEST)
        poison(c, *len);
    *out = c->wire;
    return MOTE_OK;
}
