/* Federated learning pieces (src/fleet/fed.c, fedupdate.c): the update
 * wire format against bytes built independently (Python struct + zlib +
 * hashlib), strict decoding (every truncation, every bit flip, each field,
 * MAC), int8 quantization with error feedback and clipping, FedProx, the
 * server's FedAvg against a double-precision reference, secure aggregation
 * on and off giving the same global bit for bit with drop-outs recovered
 * and self masks removed by Shamir shares (never both secrets of one
 * device), every refusal, the RDP accountant against its closed
 * form, the Gaussian generator's moments, signed global heads. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>
#include "fed.h"
#include "mote/crc32.h"

/* python3: b"MFLU" + struct.pack("<HBBIIIIfIQ", 1, 1, 0, 3, 7, 120, 3, 0.5, 0,
 * 0x0102030405060708) + bytes([1, 0xfe, 0x7f]) + crc32 */
static const uint8_t golden_i8[47] = {
    0x4d, 0x46, 0x4c, 0x55, 0x01, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
    0x78, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x01, 0xfe, 0x7f, 0xd1, 0x8f, 0x6e, 0xcf};
/* Encoding 2, flags masked|MAC, round 4, device 9, 5 samples, step 0.25,
 * base 2, words deadbeef 1 ffffffff, BLAKE2b-128 keyed with bytes 0..31. */
static const uint8_t golden_mac[72] = {
    0x4d, 0x46, 0x4c, 0x55, 0x01, 0x00, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00,
    0x05, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3e, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xef, 0xbe, 0xad, 0xde, 0x01, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0xff, 0xb1, 0x30, 0xbb, 0x02, 0x92, 0x33, 0x78, 0x94, 0xd4, 0x2e, 0x9b, 0x46,
    0xf5, 0x51, 0x79, 0xaa, 0x4c, 0xa4, 0xd2, 0xfe};

static uint8_t key32[32];

static void wire_golden(void **state)
{
    (void)state;
    const int8_t q[3] = {1, -2, 127};
    mote_fedup_t u = {.encoding = MOTE_FEDUP_I8, .round = 3, .device = 7, .samples = 120,
                      .n_params = 3, .step = 0.5f, .base_version = 0x0102030405060708ull,
                      .payload = q};
    uint8_t out[128];
    size_t n = 0;
    assert_int_equal(mote_fedup_size(1, 0, 3), 47);
    assert_int_equal(mote_fedup_encode(&u, NULL, out, sizeof out, &n), MOTE_OK);
    assert_int_equal(n, 47);
    assert_memory_equal(out, golden_i8, 47);
    assert_int_equal(mote_fedup_encode(&u, NULL, out, 46, &n), MOTE_ERR_LIMIT);
    const uint32_t w[3] = {0xdeadbeefu, 1, 0xffffffffu};
    mote_fedup_t m = {.encoding = MOTE_FEDUP_U32, .flags = 3, .round = 4, .device = 9,
                      .samples = 5, .n_params = 3, .step = 0.25f, .base_version = 2, .payload = w};
    assert_int_equal(mote_fedup_encode(&m, key32, out, sizeof out, &n), MOTE_OK);
    assert_int_equal(n, 72);
    assert_memory_equal(out, golden_mac, 72);
    assert_int_equal(mote_fedup_encode(&m, NULL, out, sizeof out, &n), MOTE_ERR_ARG);
}

static void wire_decode_fields(void **state)
{
    (void)state;
    mote_fedup_t u;
    char msg[MOTE_FEDUP_MSG_LEN];
    assert_int_equal(mote_fedup_decode(golden_i8, 47, NULL, &u, msg, sizeof msg), MOTE_OK);
    assert_int_equal(u.round, 3), assert_int_equal(u.device, 7), assert_int_equal(u.samples, 120);
    assert_true(u.step == 0.5f && u.base_version == 0x0102030405060708ull);
    assert_int_equal(((const int8_t *)u.payload)[1], -2);
    assert_int_equal(mote_fedup_decode(golden_mac, 72, key32, &u, msg, sizeof msg), MOTE_OK);
    assert_int_equal(mote_fedup_word(&u, 0), 0xdeadbeefu);
    assert_int_equal(mote_fedup_word(&u, 2), 0xffffffffu);
    assert_int_equal(mote_fedup_decode(golden_mac, 72, NULL, &u, msg, sizeof msg),
                     MOTE_ERR_VERIFY);
    assert_non_null(strstr(msg, "no device key"));
    uint8_t other[32] = {1};
    assert_int_equal(mote_fedup_decode(golden_mac, 72, other, &u, msg, sizeof msg),
                     MOTE_ERR_VERIFY);
    assert_non_null(strstr(msg, "MAC"));
}

static void wire_every_cut_and_flip(void **state)
{
    (void)state;
    mote_fedup_t u;
    uint8_t b[80];
    for (size_t n = 0; n < 47; n++)
        assert_int_equal(mote_fedup_decode(golden_i8, n, NULL, &u, NULL, 0), MOTE_ERR_TRUNCATED);
    memcpy(b, golden_i8, 47), b[47] = 0;
    assert_int_equal(mote_fedup_decode(b, 48, NULL, &u, NULL, 0), MOTE_ERR_CORRUPT);
    for (size_t i = 0; i < 72 * 8; i++) {
        memcpy(b, golden_mac, 72);
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_not_equal(mote_fedup_decode(b, 72, key32, &u, NULL, 0), MOTE_OK);
    }
}

/* golden_i8 with bytes at, at + 1 set to the 16-bit little-endian v and
 * the CRC recomputed. */
static mote_status_t patched16(size_t at, uint16_t v, char *msg)
{
    uint8_t b[47];
    memcpy(b, golden_i8, 47);
    b[at] = (uint8_t)v, b[at + 1] = (uint8_t)(v >> 8);
    const uint32_t c = mote_crc32(b, 43);
    for (int i = 0; i < 4; i++)
        b[43 + i] = (uint8_t)(c >> (8 * i));
    mote_fedup_t u;
    return mote_fedup_decode(b, 47, NULL, &u, msg, MOTE_FEDUP_MSG_LEN);
}

/* The same for one byte. */
static mote_status_t patched(size_t at, uint8_t v, char *msg)
{
    return patched16(at, (uint16_t)(v | golden_i8[at + 1] << 8), msg);
}

static void wire_fields_checked(void **state)
{
    (void)state;
    char msg[MOTE_FEDUP_MSG_LEN];
    assert_int_equal(patched(0, 'X', msg), MOTE_ERR_CORRUPT);
    assert_int_equal(patched(4, 2, msg), MOTE_ERR_VERSION);
    assert_int_equal(patched(6, 3, msg), MOTE_ERR_CORRUPT);
    assert_non_null(strstr(msg, "encoding"));
    assert_int_equal(patched(7, 1, msg), MOTE_ERR_CORRUPT); /* masked int8 */
    assert_int_equal(patched(7, 4, msg), MOTE_ERR_CORRUPT);
    assert_int_equal(patched(8, 0, msg), MOTE_ERR_CORRUPT);
    assert_non_null(strstr(msg, "round"));
    assert_int_equal(patched(16, 0, msg), MOTE_ERR_CORRUPT);
    assert_non_null(strstr(msg, "samples"));
    assert_int_equal(patched(19, 2, msg), MOTE_ERR_CORRUPT); /* 2^25 + 120 samples */
    assert_int_equal(patched(20, 4, msg), MOTE_ERR_TRUNCATED); /* 4 params, 3 sent */
    assert_int_equal(patched(20, 2, msg), MOTE_ERR_CORRUPT);   /* trailing */
    assert_int_equal(patched(27, 0xbf, msg), MOTE_ERR_CORRUPT); /* step -0.5 */
    assert_int_equal(patched16(26, 0x7fc0, msg), MOTE_ERR_CORRUPT); /* NaN step */
    assert_non_null(strstr(msg, "step"));
    assert_int_equal(patched16(26, 0x7f80, msg), MOTE_ERR_CORRUPT); /* +inf step */
    assert_non_null(strstr(msg, "step"));
    assert_int_equal(patched(30, 1, msg), MOTE_ERR_CORRUPT);
    assert_non_null(strstr(msg, "reserved"));
    assert_int_equal(patched(41, 0x80, msg), MOTE_ERR_CORRUPT);
    assert_non_null(strstr(msg, "-128"));
    assert_int_equal(patched(41, 0x81, msg), MOTE_OK);
}

static void quantize_error_feedback(void **state)
{
    (void)state;
    const float g[3] = {0, 0, 0}, w[3] = {0.26f, -0.74f, 100.0f};
    float r[3] = {0, 0, 0};
    int8_t q[3];
    double nrm;
    assert_int_equal(mote_fed_quantize(w, g, r, 3, 0.5f, 0, q, &nrm), MOTE_OK);
    assert_int_equal(q[0], 1), assert_int_equal(q[1], -1), assert_int_equal(q[2], 127);
    assert_float_equal(r[0], -0.24f, 1e-6), assert_float_equal(r[1], -0.24f, 1e-6);
    assert_float_equal(r[2], 36.5f, 1e-6);
    assert_float_equal(nrm, sqrt(0.26 * 0.26 + 0.74 * 0.74 + 1e4), 1e-4);
    /* Over many rounds, what was sent plus what is left is what was meant. */
    float r2[3] = {0, 0, 0};
    double sent[3] = {0}, meant[3] = {0};
    for (int k = 0; k < 50; k++) {
        const float d[3] = {0.013f * k, -0.0071f, 0.3f};
        assert_int_equal(mote_fed_quantize(d, g, r2, 3, 1.0f / 64, 0, q, NULL), MOTE_OK);
        for (int i = 0; i < 3; i++)
            sent[i] += q[i] / 64.0, meant[i] += d[i];
    }
    for (int i = 0; i < 3; i++)
        assert_float_equal(sent[i] + r2[i], meant[i], 1e-4);
    /* Clipping to norm 1 of (3, 4). */
    const float w2[2] = {3, 4};
    assert_int_equal(mote_fed_quantize(w2, g, NULL, 2, 0.01f, 1.0f, q, &nrm), MOTE_OK);
    assert_int_equal(q[0], 60), assert_int_equal(q[1], 80);
    assert_float_equal(nrm, 5.0, 1e-9);
    const float bad[2] = {NAN, 0};
    q[0] = 9;
    assert_int_equal(mote_fed_quantize(bad, g, r, 2, 0.5f, 0, q, NULL), MOTE_ERR_ARG);
    assert_int_equal(q[0], 9);
    assert_int_equal(mote_fed_quantize(w, g, r, 3, 0.0f, 0, q, NULL), MOTE_ERR_ARG);
}

static void fedprox_step(void **state)
{
    (void)state;
    mote_learn_config_t c;
    mote_learn_config_default(&c, 3, 2);
    c.lr = 0.5f;
    static float b1[64], b2[64];
    mote_learn_head_t h1, h2;
    assert_int_equal(mote_learn_head_init(&h1, &c, b1, sizeof b1), MOTE_OK);
    assert_int_equal(mote_learn_head_init(&h2, &c, b2, sizeof b2), MOTE_OK);
    const float x[3] = {1, -2, 0.5f}, gl[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
    mote_fed_params_set(&h1, gl), mote_fed_params_set(&h2, gl);
    /* mu = 0: exactly mote_learn_update. */
    assert_int_equal(mote_fed_train_sample(&h1, NULL, x, 1, 0.0f), MOTE_OK);
    assert_int_equal(mote_learn_update(&h2, x, 1), MOTE_OK);
    assert_memory_equal(b1, b2, sizeof b1);
    /* lr * mu = 1: the proximal step pulls every parameter back to global. */
    assert_int_equal(mote_fed_train_sample(&h1, gl, x, 0, 2.0f), MOTE_OK);
    float p[8];
    mote_fed_params_get(&h1, p);
    for (int i = 0; i < 8; i++)
        assert_float_equal(p[i], gl[i], 1e-7);
    assert_int_equal(mote_fed_param_count(&h1), 8);
    assert_int_equal(mote_fed_train_sample(&h1, NULL, x, 0, 1.0f), MOTE_ERR_ARG);
}

/* ---- server ---- */

#define SP 64u
#define SN 6u

typedef struct world {
    int8_t q[SN][SP];
    uint32_t n[SN];
    mote_secagg_keys_t k[SN];
    mote_secagg_peer_t p[SN];
    float g[SP];
} world_t;

static void world_init(world_t *w)
{
    uint64_t s = 12345;
    for (unsigned i = 0; i < SN; i++) {
        w->n[i] = 50 + 37 * i;
        for (unsigned k = 0; k < SP; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            w->q[i][k] = (int8_t)((int)(s >> 33) % 255 - 127);
        }
        uint8_t seed[32] = {(uint8_t)i, 1};
        mote_secagg_keygen(&w->k[i], seed);
        w->p[i].id = 10 + i;
        memcpy(w->p[i].pk, w->k[i].pk, 32);
        memcpy(w->p[i].self_hash, w->k[i].self_hash, 32);
    }
    for (unsigned k = 0; k < SP; k++)
        w->g[k] = 0.01f * (float)k - 0.3f;
}

static size_t upload(const world_t *w, unsigned i, int masked, uint8_t *out)
{
    uint32_t words[SP];
    mote_fedup_t u = {.encoding = MOTE_FEDUP_I8, .round = 2, .device = w->p[i].id,
                      .samples = w->n[i], .n_params = SP, .step = 1.0f / 128,
                      .base_version = 1, .payload = w->q[i]};
    if (masked) {
        mote_fed_weigh(w->q[i], SP, w->n[i], words);
        assert_int_equal(mote_secagg_mask(words, SP, w->p[i].id, &w->k[i], w->p, SN, 2),
                         MOTE_OK);
        u.encoding = MOTE_FEDUP_U32, u.flags = MOTE_FEDUP_F_MASKED, u.payload = words;
    }
    size_t len = 0;
    assert_int_equal(mote_fedup_encode(&u, NULL, out, 1024, &len), MOTE_OK);
    return len;
}

static mote_fed_round_cfg_t rcfg(int masked)
{
    mote_fed_round_cfg_t c = {.round = 2, .base_version = 1, .step = 1.0f / 128,
                              .masked = masked, .norm_bound = 100.0f, .quorum = 3};
    return c;
}

/* Devices 1 and 4 drop (after masking); the rest upload. */
static void run_round(const world_t *w, int masked, float *out)
{
    mote_fed_server_t s;
    assert_int_equal(mote_fed_server_init(&s, SP, SN), MOTE_OK);
    const mote_fed_round_cfg_t c = rcfg(masked);
    assert_int_equal(mote_fed_round_begin(&s, &c, w->p, SN), MOTE_OK);
    uint8_t buf[1024];
    for (unsigned i = 0; i < SN; i++)
        if (i != 1 && i != 4)
            assert_int_equal(mote_fed_round_add(&s, buf, upload(w, i, masked, buf), NULL, NULL, 0),
                             MOTE_OK);
    assert_int_equal(mote_fed_round_close(&s), 2);
    if (masked) {
        assert_int_equal(mote_fed_round_finish(&s, w->g, NULL, out), MOTE_ERR_STATE);
        for (unsigned d = 1; d < SN; d += 3) {
            uint8_t sh[SN * MOTE_SECAGG_SHARE_LEN], pick[3 * MOTE_SECAGG_SHARE_LEN];
            assert_int_equal(mote_secagg_share_key(&w->k[d], 3, SN, NULL, sh), MOTE_OK);
            const unsigned from[3] = {0, 2, 5}; /* survivors reveal */
            for (unsigned j = 0; j < 3; j++)
                memcpy(pick + j * 33, sh + from[j] * 33, 33);
            assert_int_equal(mote_fed_round_recover(&s, w->p[d].id, pick, 2), MOTE_ERR_VERIFY);
            assert_int_equal(mote_fed_round_unmask_self(&s, w->p[d].id, pick, 3), MOTE_ERR_STATE);
            assert_int_equal(mote_fed_round_recover(&s, w->p[d].id, pick, 3), MOTE_OK);
            assert_int_equal(mote_fed_round_state(&s, d), MOTE_FED_RECOVERED);
        }
        assert_int_equal(mote_fed_round_finish(&s, w->g, NULL, out), MOTE_ERR_STATE);
        for (unsigned i = 0; i < SN; i++) {
            if (i == 1 || i == 4)
                continue;
            uint8_t sh[SN * MOTE_SECAGG_SHARE_LEN], pick[3 * MOTE_SECAGG_SHARE_LEN];
            assert_int_equal(mote_secagg_share_self(&w->k[i], 3, SN, NULL, sh), MOTE_OK);
            const unsigned from[3] = {0, 3, 5};
            for (unsigned j = 0; j < 3; j++)
                memcpy(pick + j * 33, sh + from[j] * 33, 33);
            /* Never both secrets of one device: its key is not released. */
            assert_int_equal(mote_fed_round_recover(&s, w->p[i].id, pick, 3), MOTE_ERR_STATE);
            assert_int_equal(mote_fed_round_unmask_self(&s, w->p[i].id, pick, 2), MOTE_ERR_VERIFY);
            assert_int_equal(mote_fed_round_unmask_self(&s, w->p[i].id, pick, 3), MOTE_OK);
            assert_int_equal(mote_fed_round_state(&s, i), MOTE_FED_UNMASKED);
            assert_int_equal(mote_fed_round_recover(&s, w->p[i].id, pick, 3), MOTE_ERR_STATE);
        }
    }
    assert_int_equal(mote_fed_round_finish(&s, w->g, NULL, out), MOTE_OK);
    mote_fed_server_free(&s);
}

static void secagg_equals_plain_bit_for_bit(void **state)
{
    (void)state;
    static world_t w;
    world_init(&w);
    float plain[SP], masked[SP];
    run_round(&w, 0, plain);
    run_round(&w, 1, masked);
    assert_memory_equal(plain, masked, sizeof plain);
    /* Independent reference: weighted mean in double. */
    for (unsigned k = 0; k < SP; k++) {
        double num = 0, den = 0;
        for (unsigned i = 0; i < SN; i++)
            if (i != 1 && i != 4)
                num += (double)w.n[i] * w.q[i][k] / 128.0, den += w.n[i];
        assert_float_equal(plain[k], (float)(w.g[k] + num / den), 0.0);
    }
}

static void server_refusals(void **state)
{
    (void)state;
    static world_t w;
    world_init(&w);
    mote_fed_server_t s;
    assert_int_equal(mote_fed_server_init(&s, SP, SN), MOTE_OK);
    mote_fed_round_cfg_t c = rcfg(0);
    uint8_t buf[1024];
    char msg[MOTE_FED_MSG_LEN];
    size_t len = upload(&w, 0, 0, buf);
    assert_int_equal(mote_fed_round_add(&s, buf, len, NULL, msg, sizeof msg), MOTE_ERR_STATE);
    assert_int_equal(mote_fed_round_begin(&s, &c, w.p, SN), MOTE_OK);
    assert_int_equal(mote_fed_round_add(&s, buf, len, NULL, msg, sizeof msg), MOTE_OK);
    assert_int_equal(mote_fed_round_add(&s, buf, len, NULL, msg, sizeof msg), MOTE_ERR_STATE);
    assert_non_null(strstr(msg, "already"));
    len = upload(&w, 1, 1, buf); /* masked upload in a plain round */
    assert_int_equal(mote_fed_round_add(&s, buf, len, NULL, msg, sizeof msg), MOTE_ERR_STATE);
    assert_int_equal(mote_fed_round_state(&s, 1), MOTE_FED_REJECTED);
    memset(w.q[2], 127, SP); /* norm 127 / 128 * 8 = 7.9 */
    c.norm_bound = 5.0f;
    s.cfg.norm_bound = 5.0f;
    len = upload(&w, 2, 0, buf);
    assert_int_equal(mote_fed_round_add(&s, buf, len, NULL, msg, sizeof msg), MOTE_ERR_LIMIT);
    assert_non_null(strstr(msg, "norm"));
    w.p[3].id = 99; /* not in the roster the server knows */
    mote_fedup_t u;
    len = upload(&w, 3, 0, buf);
    assert_int_equal(mote_fedup_decode(buf, len, NULL, &u, NULL, 0), MOTE_OK);
    assert_int_equal(mote_fed_round_add(&s, buf, len, NULL, msg, sizeof msg), MOTE_ERR_NOT_FOUND);
    world_init(&w);
    len = upload(&w, 3, 0, buf);
    buf[8] = 3; /* round 3: CRC now wrong */
    assert_int_equal(mote_fed_round_add(&s, buf, len, NULL, msg, sizeof msg), MOTE_ERR_VERIFY);
    assert_int_equal(mote_fed_round_close(&s), 3); /* 3, 4, 5 never arrived */
    len = upload(&w, 4, 0, buf); /* late */
    assert_int_equal(mote_fed_round_add(&s, buf, len, NULL, msg, sizeof msg), MOTE_ERR_STATE);
    float out[SP];
    assert_int_equal(mote_fed_round_finish(&s, w.g, NULL, out), MOTE_ERR_STATE); /* quorum 3 */
    mote_fed_server_free(&s);
}

/* ---- DP and signatures ---- */

static void rdp_closed_form(void **state)
{
    (void)state;
    /* min_a T a / (2 z^2) + log(1/d) / (a - 1) is at a = 1 + sqrt(2 z^2 L / T)
     * with value T / (2 z^2) + sqrt(2 T L) / z, L = log(1/d). */
    const double z[3] = {1.0, 2.0, 4.0};
    for (int i = 0; i < 3; i++) {
        const double T = 20, L = log(1e5);
        double best;
        const double e = mote_fed_rdp_epsilon(z[i], 20, 1e-5, &best);
        const double want = T / (2 * z[i] * z[i]) + sqrt(2 * T * L) / z[i];
        assert_float_equal(e, want, want * 1e-3);
        assert_float_equal(best, 1 + sqrt(2 * z[i] * z[i] * L / T), 0.05 * best);
    }
    assert_true(isinf(mote_fed_rdp_epsilon(0, 1, 1e-5, NULL)));
}

static void gauss_moments(void **state)
{
    (void)state;
    enum { N = 100001 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    assert_non_null(a), assert_non_null(b);
    const uint8_t seed[32] = {5};
    assert_int_equal(mote_fed_gauss(a, N, 2.0, seed, 1), MOTE_OK);
    assert_int_equal(mote_fed_gauss(b, N, 2.0, seed, 1), MOTE_OK);
    assert_memory_equal(a, b, N * sizeof *a);
    double m = 0, v = 0;
    size_t tail = 0;
    for (int i = 0; i < N; i++)
        m += a[i], v += (double)a[i] * a[i], tail += fabsf(a[i]) > 4.0f;
    m /= N, v = v / N - m * m;
    assert_true(fabs(m) < 0.03);          /* 4.7 standard errors */
    assert_float_equal(v, 4.0, 0.1);
    assert_true(tail > 4000 && tail < 5100); /* P(|x| > 2 sigma) = 4.55 % */
    assert_int_equal(mote_fed_gauss(b, N, 2.0, seed, 2), MOTE_OK);
    assert_memory_not_equal(a, b, 64);
    free(a), free(b);
}

static void global_signature(void **state)
{
    (void)state;
    uint8_t pk[32], sk[64], sig[64], blob[100];
    crypto_sign_keypair(pk, sk);
    randombytes_buf(blob, sizeof blob);
    assert_int_equal(mote_fed_global_sign(sk, 3, 7, blob, sizeof blob, sig), MOTE_OK);
    assert_int_equal(mote_fed_global_verify(pk, 3, 7, blob, sizeof blob, sig), MOTE_OK);
    assert_int_equal(mote_fed_global_verify(pk, 3, 8, blob, sizeof blob, sig), MOTE_ERR_VERIFY);
    assert_int_equal(mote_fed_global_verify(pk, 4, 7, blob, sizeof blob, sig), MOTE_ERR_VERIFY);
    blob[50] ^= 1;
    assert_int_equal(mote_fed_global_verify(pk, 3, 7, blob, sizeof blob, sig), MOTE_ERR_VERIFY);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    for (int i = 0; i < 32; i++)
        key32[i] = (uint8_t)i;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wire_golden),
        cmocka_unit_test(wire_decode_fields),
        cmocka_unit_test(wire_every_cut_and_flip),
        cmocka_unit_test(wire_fields_checked),
        cmocka_unit_test(quantize_error_feedback),
        cmocka_unit_test(fedprox_step),
        cmocka_unit_test(secagg_equals_plain_bit_for_bit),
        cmocka_unit_test(server_refusals),
        cmocka_unit_test(rdp_closed_form),
        cmocka_unit_test(gauss_moments),
        cmocka_unit_test(global_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
