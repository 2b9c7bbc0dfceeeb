/* mote fleet: the device side of a federated round (fed_client.h). */
#include "fed_client.h"

#include <math.h>
#include <sodium.h>
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
    c->wire_cap = mote_fedup_size(MOTE_FEDUP_U32, 0, P);
    c->g = calloc(P, sizeof *c->g), c->w = calloc(P, sizeof *c->w);
    c->resid = calloc(P, sizeof *c->resid), c->q = calloc(P, 1), c->wire = malloc(c->wire_cap);
    c->words = calloc(P, sizeof *c->words);
    if (!c->g || !c->w || !c->resid || !c->q || !c->wire || !c->words) {
        mote_fed_client_free(c);
        return MOTE_ERR_NOMEM;
    }
    mote_status_t st = fsim_head(data, &c->h, &c->hbuf);
    if (st)
        mote_fed_client_free(c);
    return st;
}

static void sec_reset(mote_fed_client_sec_t *s)
{
    if (s->held)
        sodium_memzero(s->held, (size_t)s->cap * sizeof *s->held);
    free(s->peers), free(s->box), free(s->held), free(s->has);
    sodium_memzero(s, sizeof *s);
}

void mote_fed_client_free(mote_fed_client_t *c)
{
    if (!c)
        return;
    sec_reset(&c->sec);
    free(c->words), free(c->out);
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

/* Weigh q by the sample count, add our self mask and the pair masks with
 * every peer whose shares were forwarded (they masked too). */
static mote_status_t mask(mote_fed_client_t *c, const mote_fed_client_round_t *r, uint32_t samples)
{
    const mote_fed_client_sec_t *sc = &c->sec;
    if (r->id != sc->id)
        return MOTE_ERR_STATE;
    mote_secagg_peer_t *mp = malloc((size_t)(sc->n_mask ? sc->n_mask : 1) * sizeof *mp);
    if (!mp)
        return MOTE_ERR_NOMEM;
    uint32_t k = 0;
    for (uint32_t j = 0; j < sc->n; j++)
        if (sc->has[j])
            mp[k++] = sc->peers[j];
    mote_fed_weigh(c->q, c->data->n_params, samples, c->words);
    mote_status_t st = mote_secagg_mask(c->words, c->data->n_params, sc->id, &sc->keys, mp, k, r->round);
    free(mp);
    return st;
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
    mote_fedup_t u = {.encoding = MOTE_FEDUP_I8, .round = r->round, .device = r->id,
                      .samples = (uint32_t)dv->n, .n_params = s->n_params, .step = r->step,
                      .base_version = r->version, .payload = c->q};
    if (c->sec.stage == 3 && c->sec.round == r->round) {
        if ((st = mask(c, r, u.samples)) != MOTE_OK)
            return fail(msg, msg_size, st, "fl_round: cannot mask the update (roster keys)");
        u.encoding = MOTE_FEDUP_U32, u.flags = MOTE_FEDUP_F_MASKED, u.payload = c->words;
    }
    st = mote_fedup_encode(&u, NULL, c->wire, c->wire_cap, len);
    if (st)
        return fail(msg, msg_size, st, "fl_round: cannot encode the update");
    if (c->attack != MOTE_FED_HONEST)
        poison(c, *len);
    *out = c->wire;
    return MOTE_OK;
}

/* ---- secure rounds ---- */

static mote_status_t out_room(mote_fed_client_t *c, size_t n)
{
    if (c->out_cap >= n)
        return MOTE_OK;
    uint8_t *p = realloc(c->out, n);
    if (!p)
        return MOTE_ERR_NOMEM;
    c->out = p, c->out_cap = n;
    return MOTE_OK;
}

/* Encode m (a device message) into c->out. */
static mote_status_t send_msg(mote_fed_client_t *c, const mote_fl_sec_msg_t *m, const uint8_t **out, size_t *len)
{
    mote_status_t st = out_room(c, mote_fl_sec_size(m->type, m->count));
    if (!st)
        st = mote_fl_sec_encode(m, NULL, c->out, c->out_cap, len);
    if (!st)
        *out = c->out;
    return st;
}

static int name_is(const uint8_t *e, const char *name)
{
    const size_t n = strlen(name);
    return n <= MOTE_FL_SEC_NAME_LEN && memcmp(e, name, n) == 0 && (n == MOTE_FL_SEC_NAME_LEN || e[n] == 0);
}

mote_status_t mote_fed_client_announce(mote_fed_client_t *c, const mote_fl_sec_msg_t *m, const char *name,
                                       const uint8_t **out, size_t *len, char *msg, size_t msg_size)
{
    if (!c || !m || !name || !out || !len || m->type != 'A')
        return fail(msg, msg_size, MOTE_ERR_ARG, "fl/MFLA: not an announce");
    *len = 0;
    /* Fresh keys for a round already begun would let a server collect
     * shares of two key sets for one round. */
    if (c->sec.stage && m->round <= c->sec.round)
        return fail(msg, msg_size, MOTE_ERR_STATE, "fl/MFLA: announce for a round already begun; ignored");
    uint32_t k = 0;
    while (k < m->count && !name_is(m->entries + (size_t)k * MOTE_FL_SEC_ENTRY_A, name))
        k++;
    if (k == m->count)
        return MOTE_OK; /* not selected for this round */
    mote_fed_client_sec_t *s = &c->sec;
    sec_reset(s);
    s->peers = calloc(m->count, sizeof *s->peers), s->box = calloc(m->count, sizeof *s->box);
    s->held = calloc(m->count, sizeof *s->held), s->has = calloc(m->count, 1);
    if (!s->peers || !s->box || !s->held || !s->has) {
        sec_reset(s);
        return fail(msg, msg_size, MOTE_ERR_NOMEM, "fl/MFLA: out of memory");
    }
    s->cap = m->count, s->round = m->round, s->id = k + 1, s->t = m->t;
    mote_secagg_keygen(&s->keys, NULL);
    crypto_box_keypair(s->box_pk, s->box_sk);
    uint8_t e[MOTE_FL_SEC_ENTRY_K];
    memcpy(e, s->keys.pk, 32), memcpy(e + 32, s->box_pk, 32), memcpy(e + 64, s->keys.self_hash, 32);
    const mote_fl_sec_msg_t kmsg = {.type = 'K', .round = s->round, .id = s->id, .count = 1, .entries = e};
    mote_status_t st = send_msg(c, &kmsg, out, len);
    s->stage = st ? 0 : 1;
    return st ? fail(msg, msg_size, st, "fl/MFLK: cannot encode our keys") : MOTE_OK;
}

/* Copy roster R into our state; MOTE_OK when it names us with our keys
 * and its ids and keys are distinct. */
static mote_status_t take_roster(mote_fed_client_sec_t *s, const mote_fl_sec_msg_t *m)
{
    if (m->count > s->cap)
        return MOTE_ERR_CORRUPT;
    int me = -1;
    for (uint32_t j = 0; j < m->count; j++) {
        const uint8_t *e = m->entries + (size_t)j * MOTE_FL_SEC_ENTRY_R;
        s->peers[j].id = mote_fl_sec_u32(e);
        memcpy(s->peers[j].pk, e + 4, 32), memcpy(s->box[j], e + 36, 32), memcpy(s->peers[j].self_hash, e + 68, 32);
        for (uint32_t i = 0; i < j; i++)
            if (s->peers[i].id == s->peers[j].id || memcmp(s->peers[i].pk, s->peers[j].pk, 32) == 0)
                return MOTE_ERR_CORRUPT;
        if (s->peers[j].id == s->id)
            me = memcmp(s->peers[j].pk, s->keys.pk, 32) == 0 && memcmp(s->box[j], s->box_pk, 32) == 0 ? (int)j : -2;
    }
    s->n = m->count;
    return me >= 0 ? MOTE_OK : MOTE_ERR_CORRUPT;
}

/* One S entry for holder j: its key and self-seed shares, boxed to it. */
static mote_status_t box_share(const mote_fed_client_sec_t *s, uint32_t j, const uint8_t *ksh, const uint8_t *bsh,
                               uint8_t *e)
{
    uint8_t pt[MOTE_FL_SEC_BOX_PLAIN];
    mote_fl_sec_put32(pt, s->round), mote_fl_sec_put32(pt + 4, s->id), mote_fl_sec_put32(pt + 8, s->peers[j].id);
    memcpy(pt + 12, ksh, MOTE_SECAGG_SHARE_LEN), memcpy(pt + 12 + MOTE_SECAGG_SHARE_LEN, bsh, MOTE_SECAGG_SHARE_LEN);
    mote_fl_sec_put32(e, s->peers[j].id);
    randombytes_buf(e + 4, crypto_box_NONCEBYTES);
    /* Fails only for a low-order holder key. */
    const int rc = crypto_box_easy(e + 28, pt, sizeof pt, e + 4, s->box[j], s->box_sk);
    sodium_memzero(pt, sizeof pt);
    return rc == 0 ? MOTE_OK : MOTE_ERR_VERIFY;
}

mote_status_t mote_fed_client_roster(mote_fed_client_t *c, const mote_fl_sec_msg_t *m, const uint8_t **out,
                                     size_t *len, char *msg, size_t msg_size)
{
    if (!c || !m || !out || !len || m->type != 'R')
        return fail(msg, msg_size, MOTE_ERR_ARG, "fl/MFLR: not a roster");
    mote_fed_client_sec_t *s = &c->sec;
    *len = 0;
    if (m->round != s->round || !s->stage)
        return MOTE_OK; /* a round we are not in */
    if (s->stage != 1)
        return fail(msg, msg_size, MOTE_ERR_STATE, "fl/MFLR: roster again for this round; ignored");
    if (take_roster(s, m) != MOTE_OK)
        return fail(msg, msg_size, MOTE_ERR_CORRUPT, "fl/MFLR: roster has duplicate ids or keys, or not our keys");
    const size_t sl = MOTE_SECAGG_SHARE_LEN;
    uint8_t *ksh = malloc(2 * s->n * sl), *ents = malloc((size_t)s->n * MOTE_FL_SEC_ENTRY_S);
    mote_status_t st = ksh && ents ? MOTE_OK : MOTE_ERR_NOMEM;
    if (!st)
        st = mote_secagg_share_key(&s->keys, m->t, s->n, NULL, ksh);
    if (!st)
        st = mote_secagg_share_self(&s->keys, m->t, s->n, NULL, ksh + s->n * sl);
    for (uint32_t j = 0; !st && j < s->n; j++)
        st = box_share(s, j, ksh + j * sl, ksh + (s->n + j) * sl, ents + (size_t)j * MOTE_FL_SEC_ENTRY_S);
    const mote_fl_sec_msg_t sm = {.type = 'S', .round = s->round, .id = s->id, .count = s->n, .entries = ents};
    if (!st)
        st = send_msg(c, &sm, out, len);
    if (ksh)
        sodium_memzero(ksh, 2 * s->n * sl);
    free(ksh), free(ents);
    s->t = m->t, s->stage = st ? 1 : 2;
    return st ? fail(msg, msg_size, st, "fl/MFLS: cannot split or box our shares") : MOTE_OK;
}

static int roster_pos(const mote_fed_client_sec_t *s, uint32_t id)
{
    for (uint32_t j = 0; j < s->n; j++)
        if (s->peers[j].id == id)
            return (int)j;
    return -1;
}

/* Open one forwarded box addressed to us; MOTE_OK or MOTE_ERR_VERIFY. */
static mote_status_t open_share(mote_fed_client_sec_t *s, const uint8_t *e)
{
    const int j = roster_pos(s, mote_fl_sec_u32(e));
    if (j < 0 || s->has[j])
        return MOTE_ERR_CORRUPT;
    uint8_t pt[MOTE_FL_SEC_BOX_PLAIN];
    if (crypto_box_open_easy(pt, e + 32, MOTE_FL_SEC_BOX_LEN, e + 8, s->box[j], s->box_sk) != 0)
        return MOTE_ERR_VERIFY;
    /* The sealed ids stop moted from moving a box to another slot. */
    const int ok = mote_fl_sec_u32(pt) == s->round && mote_fl_sec_u32(pt + 4) == s->peers[j].id &&
                   mote_fl_sec_u32(pt + 8) == s->id;
    if (ok)
        memcpy(s->held[j], pt + 12, sizeof s->held[j]), s->has[j] = 1, s->n_mask++;
    sodium_memzero(pt, sizeof pt);
    return ok ? MOTE_OK : MOTE_ERR_VERIFY;
}

mote_status_t mote_fed_client_forward(mote_fed_client_t *c, const mote_fl_sec_msg_t *m, char *msg,
                                      size_t msg_size)
{
    if (!c || !m || m->type != 'F')
        return fail(msg, msg_size, MOTE_ERR_ARG, "fl/MFLF: not forwarded shares");
    mote_fed_client_sec_t *s = &c->sec;
    if (m->round != s->round || !s->stage)
        return MOTE_OK;
    if (s->stage != 2)
        return fail(msg, msg_size, MOTE_ERR_STATE, "fl/MFLF: shares again for this round; ignored");
    if (!s->has)
        return fail(msg, msg_size, MOTE_ERR_STATE, "fl/MFLF: no roster for this round");
    memset(s->has, 0, s->n), s->n_mask = 0;
    for (uint32_t k = 0; k < m->count; k++) {
        const uint8_t *e = m->entries + (size_t)k * MOTE_FL_SEC_ENTRY_F;
        if (mote_fl_sec_u32(e + 4) != s->id)
            continue;
        mote_status_t st = open_share(s, e);
        if (st) {
            memset(s->has, 0, s->n), s->n_mask = 0;
            return fail(msg, msg_size, st, st == MOTE_ERR_VERIFY ? "fl/MFLF: a box does not open or is not ours"
                                                                 : "fl/MFLF: sender not in the roster, or twice");
        }
    }
    const int me = roster_pos(s, s->id);
    if (me < 0 || !s->has[me] || s->n_mask < s->t)
        return fail(msg, msg_size, MOTE_ERR_STATE, "fl/MFLF: we or t peers are missing: not masking this round");
    s->stage = 3;
    return MOTE_OK;
}

mote_status_t mote_fed_client_reveal(mote_fed_client_t *c, const mote_fl_sec_msg_t *m, const uint8_t **out,
                                     size_t *len, char *msg, size_t msg_size)
{
    if (!c || !m || !out || !len || m->type != 'Q')
        return fail(msg, msg_size, MOTE_ERR_ARG, "fl/MFLQ: not a reveal request");
    mote_fed_client_sec_t *s = &c->sec;
    *len = 0;
    if (m->round != s->round || s->stage < 3)
        return MOTE_OK;
    if (s->stage == 4)
        return fail(msg, msg_size, MOTE_ERR_STATE, "fl/MFLQ: already answered this round; ignored");
    s->stage = 4; /* one answer per round, whatever follows */
    uint8_t *ents = malloc((size_t)s->n * MOTE_FL_SEC_ENTRY_V), *done = calloc(s->n, 1);
    uint32_t k = 0;
    for (uint32_t q = 0; ents && done && q < m->count; q++) {
        const uint8_t *e = m->entries + (size_t)q * MOTE_FL_SEC_ENTRY_Q;
        const int j = roster_pos(s, mote_fl_sec_u32(e));
        if (j < 0 || !s->has[j] || done[j])
            continue; /* never both secrets of one peer */
        uint8_t *v = ents + (size_t)k++ * MOTE_FL_SEC_ENTRY_V;
        done[j] = 1;
        mote_fl_sec_put32(v, s->peers[j].id);
        v[4] = e[4] ? 1 : 2;
        memcpy(v + 5, s->held[j] + (e[4] ? MOTE_SECAGG_SHARE_LEN : 0), MOTE_SECAGG_SHARE_LEN);
    }
    const mote_fl_sec_msg_t vm = {.type = 'V', .round = s->round, .id = s->id, .count = k, .entries = ents};
    mote_status_t st = !ents || !done ? MOTE_ERR_NOMEM : k ? send_msg(c, &vm, out, len) : MOTE_OK;
    if (ents)
        sodium_memzero(ents, (size_t)s->n * MOTE_FL_SEC_ENTRY_V);
    free(ents), free(done);
    return st ? fail(msg, msg_size, st, "fl/MFLV: cannot encode the revealed shares") : MOTE_OK;
}
