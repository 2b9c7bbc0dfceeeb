/* mote fleet: moted's side of a secure-aggregation round (fl_secure.h). */
#include "fl_secure.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHL MOTE_SECAGG_SHARE_LEN
#define BOXL (MOTE_FL_SEC_ENTRY_S - 4u) /* nonce and box of an S entry */

void mote_fl_sec_free(mote_fl_sec_t *s)
{
    if (!s)
        return;
    if (s->rev)
        sodium_memzero(s->rev, (size_t)s->n * s->n * SHL);
    free(s->keys), free(s->has_keys), free(s->in_r), free(s->has_shares), free(s->answered), free(s->flag);
    free(s->fwd), free(s->rev), free(s->rev_have);
    memset(s, 0, sizeof *s);
}

mote_status_t mote_fl_sec_begin(mote_fl_sec_t *s, uint32_t round, uint32_t n, uint32_t t)
{
    if (!s || round < 1 || n < 1 || n > MOTE_FL_SEC_MAX_ROSTER || (uint64_t)n * n > MOTE_FL_SEC_MAX_FWD || t < 1 ||
        t > n)
        return MOTE_ERR_ARG;
    mote_fl_sec_free(s);
    const size_t nn = (size_t)n * n;
    s->keys = calloc(n, sizeof *s->keys);
    s->has_keys = calloc(n, 1), s->in_r = calloc(n, 1), s->has_shares = calloc(n, 1);
    s->answered = calloc(n, 1), s->flag = calloc(n, 1);
    s->fwd = calloc(nn, BOXL), s->rev = calloc(nn, SHL), s->rev_have = calloc(nn, 1);
    if (!s->keys || !s->has_keys || !s->in_r || !s->has_shares || !s->answered || !s->flag || !s->fwd || !s->rev ||
        !s->rev_have) {
        mote_fl_sec_free(s);
        return MOTE_ERR_NOMEM;
    }
    s->round = round, s->n = n, s->t = t, s->phase = MOTE_FL_SEC_KEYS;
    return MOTE_OK;
}

/* Encode and sign a moted message into a new buffer. */
static mote_status_t sign_msg(const mote_fl_sec_msg_t *m, const uint8_t sk[64], uint8_t **out, size_t *len)
{
    const size_t n = mote_fl_sec_size(m->type, m->count);
    *out = malloc(n ? n : 1);
    if (!*out)
        return MOTE_ERR_NOMEM;
    mote_status_t st = mote_fl_sec_encode(m, sk, *out, n, len);
    if (st)
        free(*out), *out = NULL;
    return st;
}

mote_status_t mote_fl_sec_announce(const mote_fl_sec_t *s, const char *names, size_t name_stride,
                                   const uint8_t sk[64], uint8_t **out, size_t *len)
{
    if (!s || !names || !sk || !out || !len || s->phase != MOTE_FL_SEC_KEYS)
        return MOTE_ERR_ARG;
    uint8_t *e = calloc(s->n, MOTE_FL_SEC_ENTRY_A);
    if (!e)
        return MOTE_ERR_NOMEM;
    for (uint32_t i = 0; i < s->n; i++)
        strncpy((char *)e + (size_t)i * MOTE_FL_SEC_ENTRY_A, names + i * name_stride, MOTE_FL_SEC_ENTRY_A);
    const mote_fl_sec_msg_t m = {.type = 'A', .round = s->round, .t = s->t, .count = s->n, .entries = e};
    mote_status_t st = sign_msg(&m, sk, out, len);
    free(e);
    return st;
}

static mote_status_t refuse(char *msg, size_t size, mote_status_t st, char type, const char *why)
{
    if (msg && size)
        snprintf(msg, size, "fl/MFL%c: %s", type, why);
    return st;
}

static mote_status_t take_keys(mote_fl_sec_t *s, uint32_t idx, const mote_fl_sec_msg_t *m, char *msg, size_t size)
{
    if (s->has_keys[idx])
        return MOTE_OK;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->has_keys[i] && memcmp(s->keys[i], m->entries, 32) == 0)
            return refuse(msg, size, MOTE_ERR_CORRUPT, 'K', "mask key already used by another device");
    memcpy(s->keys[idx], m->entries, MOTE_FL_SEC_ENTRY_K);
    s->has_keys[idx] = 1;
    return MOTE_OK;
}

/* Roster index of an id that is in R, else -1. */
static int r_index(const mote_fl_sec_t *s, uint32_t id)
{
    return id >= 1 && id <= s->n && s->in_r[id - 1] ? (int)id - 1 : -1;
}

static mote_status_t take_shares(mote_fl_sec_t *s, uint32_t idx, const mote_fl_sec_msg_t *m, char *msg,
                                 size_t size)
{
    if (s->has_shares[idx])
        return MOTE_OK;
    if (!s->in_r[idx])
        return refuse(msg, size, MOTE_ERR_STATE, 'S', "sender is not in the roster of keys");
    if (m->count != s->n_r)
        return refuse(msg, size, MOTE_ERR_CORRUPT, 'S', "not one share per roster entry");
    uint8_t *seen = calloc(s->n, 1);
    if (!seen)
        return MOTE_ERR_NOMEM;
    mote_status_t st = MOTE_OK;
    for (uint32_t k = 0; !st && k < m->count; k++) {
        const uint8_t *e = m->entries + (size_t)k * MOTE_FL_SEC_ENTRY_S;
        const int h = r_index(s, mote_fl_sec_u32(e));
        if (h < 0 || seen[h])
            st = refuse(msg, size, MOTE_ERR_CORRUPT, 'S', "holder not in the roster, or twice");
        else
            seen[h] = 1, memcpy(s->fwd + ((size_t)idx * s->n + (size_t)h) * BOXL, e + 4, BOXL);
    }
    free(seen);
    if (!st)
        s->has_shares[idx] = 1;
    return st;
}

static mote_status_t take_reveal(mote_fl_sec_t *s, uint32_t idx, const mote_fl_sec_msg_t *m, char *msg,
                                 size_t size)
{
    if (s->answered[idx])
        return MOTE_OK;
    if (!s->has_shares[idx] || s->flag[idx] != 1)
        return refuse(msg, size, MOTE_ERR_STATE, 'V', "sender is not a survivor of this round");
    for (uint32_t k = 0; k < m->count; k++) {
        const uint8_t *e = m->entries + (size_t)k * MOTE_FL_SEC_ENTRY_V;
        const uint32_t id = mote_fl_sec_u32(e);
        if (id > s->n || !s->has_shares[id - 1])
            return refuse(msg, size, MOTE_ERR_CORRUPT, 'V', "owner did not mask in this round");
        /* Only the secret the request asked for: never both of one device. */
        if (e[4] != (s->flag[id - 1] == 1 ? 1 : 2))
            return refuse(msg, size, MOTE_ERR_CORRUPT, 'V', "share kind is not the one requested");
    }
    for (uint32_t k = 0; k < m->count; k++) {
        const uint8_t *e = m->entries + (size_t)k * MOTE_FL_SEC_ENTRY_V;
        const size_t at = (size_t)(mote_fl_sec_u32(e) - 1) * s->n + idx;
        memcpy(s->rev + at * SHL, e + 5, SHL);
        s->rev_have[at] = 1;
    }
    s->answered[idx] = 1;
    return MOTE_OK;
}

mote_status_t mote_fl_sec_take(mote_fl_sec_t *s, uint32_t idx, const uint8_t *buf, size_t len, char *msg,
                               size_t msg_size)
{
    mote_fl_sec_msg_t m;
    if (!s || idx >= s->n)
        return refuse(msg, msg_size, MOTE_ERR_STATE, '?', "no secure round, or sender not announced");
    mote_status_t st = mote_fl_sec_decode(buf, len, NULL, &m, msg, msg_size);
    if (st)
        return st;
    if (m.round != s->round)
        return refuse(msg, msg_size, MOTE_ERR_STATE, m.type, "another round");
    if (m.id != idx + 1)
        return refuse(msg, msg_size, MOTE_ERR_STATE, m.type, "roster id is not the sender's");
    if (m.type == 'K' && s->phase == MOTE_FL_SEC_KEYS)
        return take_keys(s, idx, &m, msg, msg_size);
    if (m.type == 'S' && s->phase == MOTE_FL_SEC_SHARES)
        return take_shares(s, idx, &m, msg, msg_size);
    if (m.type == 'V' && s->phase == MOTE_FL_SEC_REVEAL)
        return take_reveal(s, idx, &m, msg, msg_size);
    if ((m.type == 'K' && s->has_keys[idx]) || (m.type == 'S' && s->has_shares[idx]))
        return MOTE_OK; /* a late redelivery */
    return refuse(msg, msg_size, MOTE_ERR_STATE, m.type, "not expected in this phase of the round");
}

uint32_t mote_fl_sec_pending(const mote_fl_sec_t *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; s && i < s->n; i++) {
        if (s->phase == MOTE_FL_SEC_KEYS)
            n += !s->has_keys[i];
        else if (s->phase == MOTE_FL_SEC_SHARES)
            n += s->in_r[i] && !s->has_shares[i];
        else if (s->phase == MOTE_FL_SEC_REVEAL)
            n += s->flag[i] == 1 && !s->answered[i];
    }
    return n;
}

mote_status_t mote_fl_sec_roster(mote_fl_sec_t *s, const uint8_t sk[64], uint8_t **out, size_t *len)
{
    if (!s || !sk || !out || !len || s->phase != MOTE_FL_SEC_KEYS)
        return MOTE_ERR_ARG;
    s->phase = MOTE_FL_SEC_SHARES, s->n_r = 0;
    for (uint32_t i = 0; i < s->n; i++)
        s->n_r += s->in_r[i] = s->has_keys[i];
    if (s->n_r < s->t)
        return MOTE_ERR_LIMIT;
    uint8_t *e = malloc((size_t)s->n_r * MOTE_FL_SEC_ENTRY_R), *p = e;
    if (!e)
        return MOTE_ERR_NOMEM;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->in_r[i])
            mote_fl_sec_put32(p, i + 1), memcpy(p + 4, s->keys[i], MOTE_FL_SEC_ENTRY_K), p += MOTE_FL_SEC_ENTRY_R;
    const mote_fl_sec_msg_t m = {.type = 'R', .round = s->round, .t = s->t, .count = s->n_r, .entries = e};
    mote_status_t st = sign_msg(&m, sk, out, len);
    free(e);
    return st;
}

/* Maskers (devices whose shares moted forwards) as mote_fed_round_begin
 * wants them. */
static mote_status_t masker_peers(const mote_fl_sec_t *s, mote_secagg_peer_t **peers, uint32_t *n_peers)
{
    *peers = calloc(s->n_u2, sizeof **peers);
    if (!*peers)
        return MOTE_ERR_NOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        if (!s->has_shares[i])
            continue;
        (*peers)[k].id = i + 1;
        memcpy((*peers)[k].pk, s->keys[i], 32), memcpy((*peers)[k].self_hash, s->keys[i] + 64, 32);
        k++;
    }
    *n_peers = k;
    return MOTE_OK;
}

mote_status_t mote_fl_sec_forward(mote_fl_sec_t *s, const uint8_t sk[64], uint8_t **out, size_t *len,
                                  mote_secagg_peer_t **peers, uint32_t *n_peers)
{
    if (!s || !sk || !out || !len || !peers || !n_peers || s->phase != MOTE_FL_SEC_SHARES)
        return MOTE_ERR_ARG;
    s->phase = MOTE_FL_SEC_TRAIN, s->n_u2 = 0;
    for (uint32_t i = 0; i < s->n; i++)
        s->n_u2 += s->has_shares[i];
    if (s->n_u2 < s->t)
        return MOTE_ERR_LIMIT;
    uint8_t *e = malloc((size_t)s->n_u2 * s->n_u2 * MOTE_FL_SEC_ENTRY_F), *p = e;
    if (!e)
        return MOTE_ERR_NOMEM;
    for (uint32_t a = 0; a < s->n; a++)
        for (uint32_t h = 0; s->has_shares[a] && h < s->n; h++) {
            if (!s->has_shares[h])
                continue;
            mote_fl_sec_put32(p, a + 1), mote_fl_sec_put32(p + 4, h + 1);
            memcpy(p + 8, s->fwd + ((size_t)a * s->n + h) * BOXL, BOXL);
            p += MOTE_FL_SEC_ENTRY_F;
        }
    const mote_fl_sec_msg_t m = {.type = 'F', .round = s->round, .count = s->n_u2 * s->n_u2, .entries = e};
    mote_status_t st = sign_msg(&m, sk, out, len);
    free(e);
    if (!st && (st = masker_peers(s, peers, n_peers)) != MOTE_OK)
        free(*out), *out = NULL;
    return st;
}

mote_status_t mote_fl_sec_request(mote_fl_sec_t *s, const mote_fed_server_t *srv, const uint8_t sk[64],
                                  uint8_t **out, size_t *len)
{
    if (!s || !srv || !sk || !out || !len || s->phase != MOTE_FL_SEC_TRAIN || srv->n_roster != s->n_u2)
        return MOTE_ERR_ARG;
    s->phase = MOTE_FL_SEC_REVEAL;
    uint8_t *e = malloc((size_t)s->n_u2 * MOTE_FL_SEC_ENTRY_Q);
    if (!e)
        return MOTE_ERR_NOMEM;
    for (uint32_t k = 0; k < srv->n_roster; k++) {
        const uint32_t id = srv->roster[k].id;
        s->flag[id - 1] = mote_fed_round_state(srv, k) == MOTE_FED_RECEIVED;
        mote_fl_sec_put32(e + (size_t)k * MOTE_FL_SEC_ENTRY_Q, id);
        e[(size_t)k * MOTE_FL_SEC_ENTRY_Q + 4] = s->flag[id - 1];
    }
    const mote_fl_sec_msg_t m = {.type = 'Q', .round = s->round, .count = s->n_u2, .entries = e};
    mote_status_t st = sign_msg(&m, sk, out, len);
    free(e);
    return st;
}

/* Up to t revealed shares of device `owner` (roster index), packed. */
static uint32_t gather(const mote_fl_sec_t *s, uint32_t owner, uint8_t *pick)
{
    uint32_t got = 0;
    for (uint32_t h = 0; h < s->n && got < s->t; h++) {
        const size_t at = (size_t)owner * s->n + h;
        if (s->rev_have[at])
            memcpy(pick + (size_t)got++ * SHL, s->rev + at * SHL, SHL);
    }
    return got;
}

mote_status_t mote_fl_sec_unmask(mote_fl_sec_t *s, mote_fed_server_t *srv, uint32_t *recovered, char *msg,
                                 size_t msg_size)
{
    if (!s || !srv || !recovered || s->phase != MOTE_FL_SEC_REVEAL)
        return MOTE_ERR_ARG;
    uint8_t *pick = malloc((size_t)s->t * SHL);
    if (!pick)
        return MOTE_ERR_NOMEM;
    mote_status_t st = MOTE_OK;
    *recovered = 0;
    for (uint32_t k = 0; !st && k < srv->n_roster; k++) {
        const uint32_t id = srv->roster[k].id;
        const mote_fed_dev_state_t ds = mote_fed_round_state(srv, k);
        if (ds != MOTE_FED_RECEIVED && ds != MOTE_FED_DROPPED)
            continue;
        const uint32_t got = gather(s, id - 1, pick);
        if (got < s->t) {
            st = MOTE_ERR_LIMIT;
            if (msg && msg_size)
                snprintf(msg, msg_size, "device %u: %u of %u shares revealed", id, got, s->t);
            break;
        }
        st = ds == MOTE_FED_DROPPED ? mote_fed_round_recover(srv, id, pick, got)
                                    : mote_fed_round_unmask_self(srv, id, pick, got);
        *recovered += !st && ds == MOTE_FED_DROPPED;
        if (st && msg && msg_size)
            snprintf(msg, msg_size, "device %u: shares do not rebuild its %s", id,
                     ds == MOTE_FED_DROPPED ? "key" : "self seed");
    }
    sodium_memzero(pick, (size_t)s->t * SHL);
    free(pick);
    return st;
}
