/* Secure aggregation over MQTT, without the broker: the seven message
 * types of src/fleet/fed_msg.c (round trip, every truncation and bit flip
 * refused, another fleet key refused), and one whole round between moted's
 * side (src/fleet/fl_secure.c) and six device clients
 * (src/fleet/fed_client.c) through the encoded bytes: announce, keys,
 * roster, boxed shares, forward, masked uploads with two devices dropping
 * after masking, reveal request, revealed shares, unmask. The result must
 * equal a plain round of the same updates bit for bit; a device reveals
 * one secret per peer even when asked for both, and moted refuses a
 * revealed share of the wrong kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>
#include "fed.h"
#include "fed_client.h"
#include "fed_msg.h"
#include "fl_secure.h"

#define N 6u
#define T 4u
#define P 16u
#define NAME 49u

static uint8_t pk[32], sk[64];

static int setup(void **state)
{
    (void)state;
    uint8_t seed[32] = {7};
    if (sodium_init() < 0)
        return -1;
    crypto_sign_seed_keypair(pk, sk, seed);
    return 0;
}

/* A message of each type with count entries of patterned, valid bytes. */
static size_t make(char type, uint32_t count, uint8_t *out, size_t cap)
{
    const size_t e = mote_fl_sec_entry_len(type);
    uint8_t *ent = calloc(count, e);
    for (uint32_t k = 0; k < count; k++) {
        uint8_t *p = ent + k * e;
        for (size_t b = 0; b < e; b++)
            p[b] = (uint8_t)(b * 7 + k);
        if (type == 'A')
            memset(p, 0, e), snprintf((char *)p, e, "dev-%04u", k + 1);
        if (type != 'K' && type != 'A')
            mote_fl_sec_put32(p, k + 1);
        if (type == 'F')
            mote_fl_sec_put32(p + 4, 1);
        if (type == 'V' || type == 'Q')
            p[4] = type == 'V' ? 2 : 1;
    }
    const int dev = type == 'K' || type == 'S' || type == 'V';
    const mote_fl_sec_msg_t m = {.type = type, .round = 3, .id = dev ? 2 : 0,
                                 .t = type == 'A' || type == 'R' ? 1 : 0, .count = count, .entries = ent};
    size_t n = 0;
    assert_int_equal(mote_fl_sec_encode(&m, sk, out, cap, &n), MOTE_OK);
    free(ent);
    return n;
}

static void codec(void **state)
{
    (void)state;
    static uint8_t buf[4096], cp[4096];
    const char *types = "KSVARFQ";
    for (const char *t = types; *t; t++) {
        const uint32_t count = *t == 'K' ? 1 : 2;
        const size_t n = make(*t, count, buf, sizeof buf);
        assert_int_equal(n, mote_fl_sec_size(*t, count));
        mote_fl_sec_msg_t m;
        char msg[160];
        assert_int_equal(mote_fl_sec_decode(buf, n, pk, &m, msg, sizeof msg), MOTE_OK);
        assert_int_equal(m.type, *t);
        assert_int_equal(m.round, 3);
        assert_int_equal(m.count, count);
        assert_int_equal(mote_fl_sec_type(buf, n), *t);
        for (size_t k = 0; k < n; k++) {
            msg[0] = 0;
            assert_true(mote_fl_sec_decode(buf, k, pk, &m, msg, sizeof msg) < 0);
            assert_true(msg[0] != 0);
        }
        for (size_t bit = 0; bit < 8 * n; bit++) {
            memcpy(cp, buf, n);
            cp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            msg[0] = 0;
            assert_true(mote_fl_sec_decode(cp, n, pk, &m, msg, sizeof msg) < 0);
            assert_true(msg[0] != 0);
        }
        if (*t == 'A' || *t == 'R' || *t == 'F' || *t == 'Q') {
            uint8_t other[32] = {1};
            assert_int_equal(mote_fl_sec_decode(buf, n, other, &m, msg, sizeof msg), MOTE_ERR_VERIFY);
            assert_int_equal(mote_fl_sec_decode(buf, n, NULL, &m, msg, sizeof msg), MOTE_ERR_ARG);
        }
    }
    mote_fl_sec_msg_t m;
    assert_int_equal(mote_fl_sec_type((const uint8_t *)"MFLU", 4), 0);
    assert_int_equal(mote_fl_sec_decode((const uint8_t *)"MFLG0000000000000000000000000", 28, pk, &m, NULL, 0),
                     MOTE_ERR_CORRUPT);
}

/* Everyone's state for one round. */
typedef struct {
    mote_fl_sec_t s;
    mote_fed_client_t c[N];
    char names[N][NAME];
    mote_fed_server_t srv, plain;
    int8_t q[N][P];
} round_t;

/* moted's broadcast to every client; each answer goes back to moted. */
static void relay(round_t *r, const uint8_t *buf, size_t len, uint32_t skip_from)
{
    mote_fl_sec_msg_t m;
    char msg[160];
    assert_int_equal(mote_fl_sec_decode(buf, len, pk, &m, msg, sizeof msg), MOTE_OK);
    for (uint32_t i = 0; i < N; i++) {
        const uint8_t *out = NULL;
        size_t n = 0;
        mote_status_t st = MOTE_OK;
        if (m.type == 'A')
            st = mote_fed_client_announce(&r->c[i], &m, r->names[i], &out, &n, msg, sizeof msg);
        else if (m.type == 'R')
            st = mote_fed_client_roster(&r->c[i], &m, &out, &n, msg, sizeof msg);
        else if (m.type == 'F')
            st = mote_fed_client_forward(&r->c[i], &m, msg, sizeof msg);
        else if (i < skip_from)
            st = mote_fed_client_reveal(&r->c[i], &m, &out, &n, msg, sizeof msg);
        assert_int_equal(st, MOTE_OK);
        if (n)
            assert_int_equal(mote_fl_sec_take(&r->s, i, out, n, msg, sizeof msg), MOTE_OK);
    }
}

/* Device i's upload: masked as mote_fed_client_train masks it, and plain. */
static void upload(round_t *r, uint32_t i, int add)
{
    const mote_fed_client_sec_t *cs = &r->c[i].sec;
    mote_secagg_peer_t mp[N];
    uint32_t k = 0, words[P];
    for (uint32_t j = 0; j < cs->n; j++)
        if (cs->has[j])
            mp[k++] = cs->peers[j];
    for (uint32_t p = 0; p < P; p++)
        r->q[i][p] = (int8_t)((int)(randombytes_uniform(255)) - 127);
    const uint32_t samples = 10 + i;
    mote_fed_weigh(r->q[i], P, samples, words);
    assert_int_equal(mote_secagg_mask(words, P, cs->id, &cs->keys, mp, k, 1), MOTE_OK);
    mote_fedup_t u = {.encoding = MOTE_FEDUP_U32, .flags = MOTE_FEDUP_F_MASKED, .round = 1, .device = cs->id,
                      .samples = samples, .n_params = P, .step = 0.01f, .payload = words};
    uint8_t wire[1024];
    size_t n = 0;
    char why[MOTE_FED_MSG_LEN];
    assert_int_equal(mote_fedup_encode(&u, NULL, wire, sizeof wire, &n), MOTE_OK);
    if (!add)
        return;
    assert_int_equal(mote_fed_round_add(&r->srv, wire, n, NULL, why, sizeof why), MOTE_OK);
    u.encoding = MOTE_FEDUP_I8, u.flags = 0, u.payload = r->q[i];
    assert_int_equal(mote_fedup_encode(&u, NULL, wire, sizeof wire, &n), MOTE_OK);
    assert_int_equal(mote_fed_round_add(&r->plain, wire, n, NULL, why, sizeof why), MOTE_OK);
}

static void setup_round(round_t *r)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    mote_secagg_peer_t *peers = NULL, ids[N];
    uint32_t np = 0;
    for (uint32_t i = 0; i < N; i++)
        snprintf(r->names[i], NAME, "dev-%04u", i + 1), ids[i].id = i + 1;
    assert_int_equal(mote_fl_sec_begin(&r->s, 1, N, T), MOTE_OK);
    assert_int_equal(mote_fl_sec_announce(&r->s, r->names[0], NAME, sk, &buf, &len), MOTE_OK);
    relay(r, buf, len, N), free(buf);
    assert_int_equal(mote_fl_sec_pending(&r->s), 0);
    assert_int_equal(mote_fl_sec_roster(&r->s, sk, &buf, &len), MOTE_OK);
    relay(r, buf, len, N), free(buf);
    assert_int_equal(mote_fl_sec_forward(&r->s, sk, &buf, &len, &peers, &np), MOTE_OK);
    assert_int_equal(np, N);
    relay(r, buf, len, N), free(buf);
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(r->c[i].sec.stage, 3);
    mote_fed_round_cfg_t rc = {.round = 1, .step = 0.01f, .masked = 1, .quorum = 1};
    assert_int_equal(mote_fed_server_init(&r->srv, P, N), MOTE_OK);
    assert_int_equal(mote_fed_server_init(&r->plain, P, N), MOTE_OK);
    assert_int_equal(mote_fed_round_begin(&r->srv, &rc, peers, np), MOTE_OK);
    rc.masked = 0;
    assert_int_equal(mote_fed_round_begin(&r->plain, &rc, ids, N), MOTE_OK);
    free(peers);
}

static void whole_round(void **state)
{
    (void)state;
    round_t *r = calloc(1, sizeof *r);
    setup_round(r);
    for (uint32_t i = 0; i < N; i++)
        upload(r, i, i < N - 2); /* the last two mask, then vanish */
    assert_int_equal(mote_fed_round_close(&r->srv), 2);
    mote_fed_round_close(&r->plain);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mote_fl_sec_request(&r->s, &r->srv, sk, &buf, &len), MOTE_OK);

    /* moted refuses a self-seed share of a dropped device. */
    uint8_t ent[MOTE_FL_SEC_ENTRY_V] = {0}, wire[256];
    mote_fl_sec_put32(ent, N), ent[4] = 1;
    const mote_fl_sec_msg_t bad = {.type = 'V', .round = 1, .id = 1, .count = 1, .entries = ent};
    size_t n = 0;
    char msg[160];
    assert_int_equal(mote_fl_sec_encode(&bad, NULL, wire, sizeof wire, &n), MOTE_OK);
    assert_int_equal(mote_fl_sec_take(&r->s, 0, wire, n, msg, sizeof msg), MOTE_ERR_CORRUPT);
    assert_non_null(strstr(msg, "kind"));

    relay(r, buf, len, N - 2), free(buf);
    assert_int_equal(mote_fl_sec_pending(&r->s), 0);
    uint32_t rec = 0;
    assert_int_equal(mote_fl_sec_unmask(&r->s, &r->srv, &rec, msg, sizeof msg), MOTE_OK);
    assert_int_equal(rec, 2);
    float g[P] = {0}, a[P], b[P];
    assert_int_equal(mote_fed_round_finish(&r->srv, g, NULL, a), MOTE_OK);
    assert_int_equal(mote_fed_round_finish(&r->plain, g, NULL, b), MOTE_OK);
    assert_memory_equal(a, b, sizeof a);

    /* Asked for both secrets of peer 1, a device reveals one, once. */
    uint8_t qe[2 * MOTE_FL_SEC_ENTRY_Q];
    mote_fl_sec_put32(qe, 1), qe[4] = 1, mote_fl_sec_put32(qe + 5, 1), qe[9] = 0;
    const mote_fl_sec_msg_t q = {.type = 'Q', .round = 1, .count = 2, .entries = qe};
    assert_int_equal(mote_fl_sec_encode(&q, sk, wire, sizeof wire, &n), MOTE_OK);
    mote_fl_sec_msg_t m, v;
    assert_int_equal(mote_fl_sec_decode(wire, n, pk, &m, msg, sizeof msg), MOTE_OK);
    const uint8_t *out = NULL;
    size_t on = 0;
    assert_int_equal(mote_fed_client_reveal(&r->c[N - 1], &m, &out, &on, msg, sizeof msg), MOTE_OK);
    assert_int_equal(mote_fl_sec_decode(out, on, NULL, &v, msg, sizeof msg), MOTE_OK);
    assert_int_equal(v.count, 1);
    assert_int_equal(v.entries[4], 1);
    assert_int_equal(mote_fed_client_reveal(&r->c[N - 1], &m, &out, &on, msg, sizeof msg), MOTE_ERR_STATE);

    /* A second announce of round 1 does not draw new keys. */
    uint8_t *ann = NULL;
    size_t alen = 0;
    mote_fl_sec_t s2 = {0};
    assert_int_equal(mote_fl_sec_begin(&s2, 1, N, T), MOTE_OK);
    assert_int_equal(mote_fl_sec_announce(&s2, r->names[0], NAME, sk, &ann, &alen), MOTE_OK);
    assert_int_equal(mote_fl_sec_decode(ann, alen, pk, &m, msg, sizeof msg), MOTE_OK);
    uint8_t before[32];
    memcpy(before, r->c[0].sec.keys.pk, 32);
    assert_int_equal(mote_fed_client_announce(&r->c[0], &m, r->names[0], &out, &on, msg, sizeof msg),
                     MOTE_ERR_STATE);
    assert_memory_equal(before, r->c[0].sec.keys.pk, 32);
    free(ann);
    mote_fl_sec_free(&s2);

    for (uint32_t i = 0; i < N; i++)
        mote_fed_client_free(&r->c[i]);
    mote_fl_sec_free(&r->s);
    mote_fed_server_free(&r->srv), mote_fed_server_free(&r->plain);
    free(r);
}

/* Fewer than t devices answer: the phase fails instead of going on. */
static void below_threshold(void **state)
{
    (void)state;
    mote_fl_sec_t s = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mote_fl_sec_begin(&s, 1, N, T), MOTE_OK);
    assert_int_equal(mote_fl_sec_pending(&s), N);
    assert_int_equal(mote_fl_sec_roster(&s, sk, &buf, &len), MOTE_ERR_LIMIT);
    assert_null(buf);
    assert_int_equal(mote_fl_sec_begin(&s, 1, N, N + 1), MOTE_ERR_ARG);
    mote_fl_sec_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(codec),
        cmocka_unit_test(whole_round),
        cmocka_unit_test(below_threshold),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
