/* Power loss during an over-the-air update, through the agent (src/agent/
 * ota.c) rather than the slots alone: a device on model version 1 receives
 * a signed deploy of version 2 and its chunks; the n-th file-system
 * mutation of the slots and every later one fail as if power were lost
 * (mote_slots_set_crash_point), for every n of a whole update. Each time a
 * fresh agent must boot on a loadable model of version 1 or 2 (a PENDING
 * store is health-checked at start), and a re-sent deploy must finish on
 * version 2, confirmed. The model is the TFLM hello_world int8 network
 * with a 1-feature DSP config (RMS) and a one-class model card. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "agent.h"
#include "agent_int.h"
#include "pack.h"
#include "testutil.h"

#define TARGET "cwru-gw"
#define CHUNK 700

static uint8_t pk[32], sk[64];
static uint8_t *b1, *b2;
static size_t b1_len, b2_len;
static char dir[64];
static uint64_t seq;

static uint8_t *make_bundle(uint64_t version, size_t *len)
{
    size_t mlen = 0;
    void *model = tu_read(tu_shared("models/tflm-examples/hello_world_int8.tflite"), &mlen);
    assert_non_null(model);
    mote_dsp_config_t cfg;
    mote_dsp_config_default(&cfg);
    cfg.frame_len = cfg.fft_len = cfg.hop = 256;
    cfg.features = MOTE_DSP_FEAT_STATS;
    cfg.stats = MOTE_DSP_STAT_RMS;
    uint8_t dsp[MOTE_DSP_CONFIG_BYTES];
    assert_int_equal(mote_dsp_config_write(&cfg, dsp, sizeof dsp, NULL, 0), MOTE_OK);
    static const char card[] = "{\"name\":\"sine\",\"output\":{\"classes\":[\"normal\"]}}";
    mote_bundle_input_t in[3] = {
        {"sine.tflite", model, mlen}, {"sine.dspcfg", dsp, sizeof dsp}, {"sine.json", card, sizeof card - 1}};
    mote_bundle_info_t hdr;
    memset(&hdr, 0, sizeof hdr);
    strcpy(hdr.name, "sine");
    strcpy(hdr.target, TARGET);
    hdr.version = version;
    uint8_t *out = NULL;
    char msg[MOTE_BUNDLE_MSG_LEN];
    assert_int_equal(mote_bundle_build(&hdr, in, 3, sk, &out, len, msg, sizeof msg), MOTE_OK);
    free(model);
    return out;
}

static int setup(void **state)
{
    (void)state;
    uint8_t s[32] = {42};
    if (sodium_init() < 0)
        return -1;
    crypto_sign_seed_keypair(pk, sk, s);
    b1 = make_bundle(1, &b1_len);
    b2 = make_bundle(2, &b2_len);
    snprintf(dir, sizeof dir, "/tmp/test_a_ota_crash.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static void wipe(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s/*", dir);
    assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
    (void)state;
    wipe();
    rmdir(dir);
    free(b1);
    free(b2);
    return 0;
}

static void open_agent(mote_agent_t *a)
{
    mote_agent_config_t c = {0};
    c.id = "dev-1";
    c.host = "127.0.0.1";
    c.port = 1;
    c.fleet_pk = pk;
    c.state_dir = dir;
    c.device_class = TARGET;
    c.sync = MOTE_EQUEUE_NOSYNC;
    assert_int_equal(mote_agent_open(a, &c), MOTE_OK);
}

static void deploy(mote_agent_t *a)
{
    mote_proto_cmd_t c;
    memset(&c, 0, sizeof c);
    strcpy(c.dev, "dev-1");
    c.seq = ++seq;
    c.op = MOTE_OP_DEPLOY;
    strcpy(c.model.name, "sine");
    c.model.version = 2;
    mote_pack_sha256(b2, b2_len, c.bundle);
    c.size = b2_len;
    c.chunk = CHUNK;
    uint8_t buf[2048];
    size_t len;
    assert_int_equal(mote_proto_cmd_encode(&c, sk, buf, sizeof buf, &len), MOTE_OK);
    mote_agent_on_cmd(a, buf, len, 1);
}

/* Answer the agent's chunk requests until it stops downloading. */
static void serve(mote_agent_t *a)
{
    static uint8_t buf[MOTE_PROTO_CHUNK_HDR + CHUNK];
    while (a->ota.active) {
        mote_proto_chunk_t ch;
        mote_pack_sha256(b2, b2_len, ch.bundle);
        ch.offset = a->ota.offset;
        ch.total = b2_len;
        ch.len = (uint32_t)(b2_len - ch.offset < CHUNK ? b2_len - ch.offset : CHUNK);
        ch.data = b2 + ch.offset;
        size_t len;
        assert_int_equal(mote_proto_chunk_encode(&ch, buf, sizeof buf, &len), MOTE_OK);
        uint64_t before = a->ota.offset;
        mote_agent_on_chunk(a, buf, len, 1);
        if (a->ota.active && a->ota.offset == before)
            break;
    }
}

static uint64_t active_version(mote_agent_t *a)
{
    return mote_slots_record(&a->slots)->version;
}

/* Boot after the crash: a loadable model of version 1 or 2. */
static void check_boot(mote_agent_t *a, long n)
{
    uint64_t v = active_version(a);
    if (v != 1 && v != 2)
        fail_msg("crash at %ld: booted version %llu", n, (unsigned long long)v);
    assert_int_equal(mote_slots_record(&a->slots)->state, MOTE_SLOT_CONFIRMED);
    assert_true(a->has_dev);
    assert_int_equal(a->dev.model->id.version, v);
}

static void test_crash_everywhere(void **state)
{
    (void)state;
    mote_agent_t a;
    /* count the mutations of an undisturbed update */
    wipe();
    seq = 0;
    open_agent(&a);
    assert_int_equal(mote_agent_provision(&a, b1, b1_len), MOTE_OK);
    mote_slots_set_crash_point(-1);
    deploy(&a);
    serve(&a);
    long total = mote_slots_op_count();
    assert_int_equal(active_version(&a), 2);
    assert_string_equal(a.ota_status, "confirmed");
    mote_agent_close(&a);
    assert_true(total > 5);

    long booted2 = 0;
    for (long n = 0; n <= total; n++) {
        wipe();
        seq = 0;
        open_agent(&a);
        assert_int_equal(mote_agent_provision(&a, b1, b1_len), MOTE_OK);
        mote_slots_set_crash_point(n);
        deploy(&a);
        serve(&a);
        mote_agent_close(&a);
        mote_slots_set_crash_point(-1);

        open_agent(&a); /* power is back */
        check_boot(&a, n);
        booted2 += active_version(&a) == 2;
        serve(&a); /* a saved download resumes by itself */
        if (active_version(&a) != 2) {
            deploy(&a); /* the manager reconciles */
            serve(&a);
        }
        if (active_version(&a) != 2 || mote_slots_record(&a.slots)->state != MOTE_SLOT_CONFIRMED)
            fail_msg("crash at %ld: update not finished (%s: %s)", n, a.ota_status, a.ota_reason);
        assert_int_equal(a.dev.model->id.version, 2);
        mote_agent_close(&a);
    }
    print_message("%ld crash points, %ld booted straight into version 2\n", total + 1, booted2);
    assert_true(booted2 > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_crash_everywhere)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
