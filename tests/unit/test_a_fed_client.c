/* The device side of a federated round over MQTT (src/fleet/fed_client.c,
 * and its agent glue src/agent/fl_dev.c) on a tiny hand-made data set: the
 * fl_round command carries its fields through the signed codec; the glue
 * trains once it holds both the command and the global of the version
 * the command names, in either order, and not past the deadline; a global head
 * signed by another key, of another shape, or older than the one held is
 * not loaded; training waits for the global of the commanded version and
 * refuses out-of-range round parameters; an honest upload decodes to the
 * commanded round, roster id, version and step, carries the slice size as
 * its weight and is accepted by a server round; the two attacks are
 * refused by the server (norm bound, decoder). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>
#include "agent.h"
#include "fed_client.h"
#include "fed_msg.h"
#include "fl_dev.h"

#define DIM 3
#define CLASSES 2
#define ROWS 12

static uint8_t pk[32], sk[64], pk2[32], sk2[64];
static float xtr[ROWS * DIM];
static int32_t ytr[ROWS];
static uint32_t idx[ROWS];
static fsim_dev_t dev;
static fsim_t data;

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    uint8_t seed[32] = {7};
    crypto_sign_seed_keypair(pk, sk, seed);
    seed[0] = 8;
    crypto_sign_seed_keypair(pk2, sk2, seed);
    for (int i = 0; i < ROWS; i++) {
        ytr[i] = i % CLASSES;
        for (int j = 0; j < DIM; j++)
            xtr[i * DIM + j] = (ytr[i] ? 1.0f : -1.0f) * (float)(j + 1) + 0.01f * (float)i;
        idx[i] = (uint32_t)i;
    }
    dev = (fsim_dev_t){.id = 1, .idx = idx, .n = ROWS};
    data.cfg.devices = 1;
    data.xtr = xtr, data.ytr = ytr, data.ntr = ROWS, data.dim = DIM, data.n_classes = CLASSES;
    data.dev = &dev;
    mote_learn_config_default(&data.hcfg, DIM, CLASSES);
    data.n_params = CLASSES * (DIM + 1);
    mote_learn_head_t h;
    void *buf;
    if (fsim_head(&data, &h, &buf) != MOTE_OK)
        return -1;
    data.blob_len = mote_learn_save_size(&h, NULL);
    free(buf);
    return 0;
}

/* A signed global message of `version` whose parameters are all `v`. */
static size_t global(uint8_t *out, size_t cap, const uint8_t *key, uint64_t version, float v,
                     const mote_learn_config_t *cfg)
{
    mote_learn_head_t h;
    const size_t n = mote_learn_head_size(cfg->n_features, cfg->max_classes, 0);
    void *buf = calloc(1, n);
    assert_int_equal(mote_learn_head_init(&h, cfg, buf, n), MOTE_OK);
    float p[64];
    for (uint32_t k = 0; k < mote_fed_param_count(&h); k++)
        p[k] = v;
    mote_fed_params_set(&h, p);
    uint8_t blob[1024];
    size_t blen = 0, len = 0;
    assert_int_equal(mote_learn_save(&h, NULL, blob, sizeof blob, &blen), MOTE_OK);
    assert_int_equal(mote_fed_global_msg_encode(key, (uint32_t)version, version, blob, blen, out, cap, &len),
                     MOTE_OK);
    free(buf);
    return len;
}

static const mote_fed_client_round_t R = {.round = 2, .id = 5, .steps = 20, .version = 1, .mu = 0.01f,
                                          .step = 1.0f / 256};

static void globals(void **state)
{
    (void)state;
    mote_fed_client_t c;
    uint8_t m[2048];
    char msg[160];
    assert_int_equal(mote_fed_client_init(&c, &data, 0), MOTE_OK);
    size_t n = global(m, sizeof m, sk2, 1, 0.5f, &data.hcfg);
    assert_int_equal(mote_fed_client_global(&c, pk, m, n, msg, sizeof msg), MOTE_ERR_VERIFY);
    assert_false(c.has_global);
    mote_learn_config_t other;
    mote_learn_config_default(&other, DIM + 1, CLASSES);
    n = global(m, sizeof m, sk, 1, 0.5f, &other);
    assert_true(mote_fed_client_global(&c, pk, m, n, msg, sizeof msg) < 0);
    assert_false(c.has_global);
    n = global(m, sizeof m, sk, 2, 0.5f, &data.hcfg);
    assert_int_equal(mote_fed_client_global(&c, pk, m, n, msg, sizeof msg), MOTE_OK);
    assert_true(c.has_global && c.version == 2 && c.g[0] == 0.5f);
    n = global(m, sizeof m, sk, 1, 0.25f, &data.hcfg);
    assert_int_equal(mote_fed_client_global(&c, pk, m, n, msg, sizeof msg), MOTE_OK);
    assert_true(c.version == 2 && c.g[0] == 0.5f); /* older: ignored */
    mote_fed_client_free(&c);
    assert_int_equal(mote_fed_client_init(&c, &data, 1), MOTE_ERR_ARG); /* no such slice */
}

static void train_and_upload(void **state)
{
    (void)state;
    mote_fed_client_t c;
    uint8_t m[2048];
    char msg[160];
    const uint8_t *up;
    size_t len;
    assert_int_equal(mote_fed_client_init(&c, &data, 0), MOTE_OK);
    assert_int_equal(mote_fed_client_train(&c, &R, &up, &len, msg, sizeof msg), MOTE_ERR_STATE);
    size_t n = global(m, sizeof m, sk, 1, 0.0f, &data.hcfg);
    assert_int_equal(mote_fed_client_global(&c, pk, m, n, msg, sizeof msg), MOTE_OK);
    mote_fed_client_round_t bad = R;
    bad.steps = 0;
    assert_int_equal(mote_fed_client_train(&c, &bad, &up, &len, msg, sizeof msg), MOTE_ERR_ARG);
    bad = R, bad.step = NAN;
    assert_int_equal(mote_fed_client_train(&c, &bad, &up, &len, msg, sizeof msg), MOTE_ERR_ARG);
    bad = R, bad.version = 2;
    assert_int_equal(mote_fed_client_train(&c, &bad, &up, &len, msg, sizeof msg), MOTE_ERR_STATE);
    assert_int_equal(mote_fed_client_train(&c, &R, &up, &len, msg, sizeof msg), MOTE_OK);
    mote_fedup_t u;
    assert_int_equal(mote_fedup_decode(up, len, NULL, &u, msg, sizeof msg), MOTE_OK);
    assert_int_equal(u.encoding, MOTE_FEDUP_I8);
    assert_true(u.round == 2 && u.device == 5 && u.samples == ROWS && u.n_params == data.n_params);
    assert_true(u.base_version == 1 && u.step == R.step);
    int nonzero = 0;
    for (uint32_t k = 0; k < u.n_params; k++)
        nonzero += ((const int8_t *)u.payload)[k] != 0;
    assert_true(nonzero > 0); /* it learned something from a zero head */
    /* a server round with this device in its roster takes it */
    mote_fed_server_t s;
    assert_int_equal(mote_fed_server_init(&s, data.n_params, 8), MOTE_OK);
    mote_secagg_peer_t peer = {.id = 5};
    const mote_fed_round_cfg_t rc = {.round = 2, .base_version = 1, .step = R.step, .norm_bound = 3, .quorum = 1};
    assert_int_equal(mote_fed_round_begin(&s, &rc, &peer, 1), MOTE_OK);
    assert_int_equal(mote_fed_round_add(&s, up, len, NULL, msg, sizeof msg), MOTE_OK);
    mote_fed_server_free(&s);
    mote_fed_client_free(&c);
}

static void attacks_refused(void **state)
{
    (void)state;
    const mote_fed_client_attack_t kinds[2] = {MOTE_FED_SATURATE, MOTE_FED_NAN_STEP};
    const mote_status_t want[2] = {MOTE_ERR_LIMIT, MOTE_ERR_CORRUPT};
    for (int a = 0; a < 2; a++) {
        mote_fed_client_t c;
        uint8_t m[2048];
        char msg[160];
        const uint8_t *up;
        size_t len;
        assert_int_equal(mote_fed_client_init(&c, &data, 0), MOTE_OK);
        c.attack = kinds[a];
        size_t n = global(m, sizeof m, sk, 1, 0.0f, &data.hcfg);
        assert_int_equal(mote_fed_client_global(&c, pk, m, n, msg, sizeof msg), MOTE_OK);
        assert_int_equal(mote_fed_client_train(&c, &R, &up, &len, msg, sizeof msg), MOTE_OK);
        mote_fed_server_t s;
        assert_int_equal(mote_fed_server_init(&s, data.n_params, 8), MOTE_OK);
        mote_secagg_peer_t peer = {.id = 5};
        /* 127/256 * sqrt(8) = 1.40: above a bound of 1 */
        const mote_fed_round_cfg_t rc = {.round = 2, .base_version = 1, .step = R.step, .norm_bound = 1,
                                         .quorum = 1};
        assert_int_equal(mote_fed_round_begin(&s, &rc, &peer, 1), MOTE_OK);
        assert_int_equal(mote_fed_round_add(&s, up, len, NULL, msg, sizeof msg), want[a]);
        mote_fed_server_free(&s);
        mote_fed_client_free(&c);
    }
}

static void command_fields(void **state)
{
    (void)state;
    mote_proto_cmd_t c = {.op = MOTE_OP_FL_ROUND, .seq = 9, .ts = 1, .round = 4, .fl_steps = 100, .fl_id = 3,
                          .fl_deadline_ms = 1795329516000, .fl_mu = 0.01, .fl_step = 0.00390625,
                          .fl_version = 3};
    snprintf(c.dev, sizeof c.dev, "dev-0003");
    uint8_t buf[1024];
    size_t len = 0;
    char err[200];
    assert_int_equal(mote_proto_cmd_encode(&c, sk, buf, sizeof buf, &len), MOTE_OK);
    mote_proto_cmd_t d;
    assert_int_equal(mote_proto_cmd_decode(buf, len, pk, &d, err, sizeof err), MOTE_OK);
    assert_int_equal(d.op, MOTE_OP_FL_ROUND);
    assert_true(d.round == 4 && d.fl_steps == 100 && d.fl_id == 3 && d.fl_version == 3);
    assert_true(d.fl_deadline_ms == c.fl_deadline_ms && d.fl_mu == 0.01 && d.fl_step == 0.00390625);
    /* a field of the wrong type is named */
    static const char body[] = "{\"dev\":\"dev-0003\",\"seq\":10,\"ts\":1,\"op\":\"fl_round\",\"round\":4,"
                               "\"steps\":\"many\"}";
    uint8_t signed_body[256];
    crypto_sign_state st;
    crypto_sign_init(&st);
    crypto_sign_update(&st, (const uint8_t *)"mote-cmd-v1", 11);
    crypto_sign_update(&st, (const uint8_t *)body, sizeof body - 1);
    crypto_sign_final_create(&st, signed_body, NULL, sk);
    memcpy(signed_body + 64, body, sizeof body - 1);
    assert_true(mote_proto_cmd_decode(signed_body, 64 + sizeof body - 1, pk, &d, err, sizeof err) < 0);
    assert_non_null(strstr(err, "steps"));
}

/* The glue's ordering: a fake, unconnected agent (uploads then fail and
 * are only counted as trained rounds). */
static void glue_ordering(void **state)
{
    (void)state;
    mote_agent_t a;
    memset(&a, 0, sizeof a);
    mote_fl_dev_t f;
    assert_int_equal(mote_fl_dev_init(&f, &data, 0, pk), MOTE_OK);
    mote_fl_dev_hook(&f, &a.cfg);
    assert_non_null(a.cfg.fl_round);
    uint8_t m[2048];
    const int64_t now = 1000000;
    mote_proto_cmd_t c = {.op = MOTE_OP_FL_ROUND, .round = 2, .fl_steps = 10, .fl_id = 1, .fl_mu = 0.01,
                          .fl_step = 1.0 / 256, .fl_version = 1, .fl_deadline_ms = now + 5000};
    a.cfg.fl_round(a.cfg.fl_user, &a, &c, now); /* command first: waits */
    assert_true(f.pending && f.rounds == 0);
    size_t n = global(m, sizeof m, sk, 1, 0.0f, &data.hcfg);
    a.cfg.fl_global(a.cfg.fl_user, &a, m, n, now);
    assert_true(!f.pending && f.rounds == 1 && f.bytes_down == n);
    a.cfg.fl_round(a.cfg.fl_user, &a, &c, now); /* the same round again (moted restarted) */
    assert_true(!f.pending && f.rounds == 1);
    c.round = 3, c.fl_version = 2;
    n = global(m, sizeof m, sk, 2, 0.0f, &data.hcfg);
    a.cfg.fl_global(a.cfg.fl_user, &a, m, n, now); /* global first */
    a.cfg.fl_round(a.cfg.fl_user, &a, &c, now);
    assert_true(!f.pending && f.rounds == 2);
    c.round = 4, c.fl_version = 3, c.fl_deadline_ms = now - 1;
    a.cfg.fl_round(a.cfg.fl_user, &a, &c, now);
    n = global(m, sizeof m, sk, 3, 0.0f, &data.hcfg);
    a.cfg.fl_global(a.cfg.fl_user, &a, m, n, now); /* deadline passed: skipped */
    assert_true(!f.pending && f.rounds == 2);
    n = global(m, sizeof m, sk2, 4, 0.0f, &data.hcfg);
    a.cfg.fl_global(a.cfg.fl_user, &a, m, n, now); /* forged: not loaded */
    assert_true(f.c.version == 3);
    assert_int_equal(f.uploads, 0); /* not connected: nothing published */
    mote_fl_dev_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(command_fields),
        cmocka_unit_test(glue_ordering),
        cmocka_unit_test(globals),
        cmocka_unit_test(train_and_upload),
        cmocka_unit_test(attacks_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
