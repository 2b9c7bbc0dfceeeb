/* Fleet message codecs (src/fleet/proto.c): every message survives an
 * encode/decode round trip field for field; decoders refuse malformed input
 * with a message naming the field; commands are bound to the fleet key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"

static char buf[16384];
static char err[256];

static void test_topics(void **state)
{
    (void)state;
    char t[MOTE_PROTO_TOPIC_LEN], id[MOTE_PROTO_ID_LEN];
    mote_proto_topic_t k;
    for (int i = 0; i < MOTE_TOPIC_COUNT; i++) {
        assert_int_equal(mote_proto_topic(t, sizeof t, "dev-0042", (mote_proto_topic_t)i), MOTE_OK);
        assert_int_equal(mote_proto_topic_parse(t, id, &k), MOTE_OK);
        assert_string_equal(id, "dev-0042");
        assert_int_equal(k, i);
    }
    assert_int_equal(mote_proto_topic(t, sizeof t, "dev-0042", MOTE_TOPIC_OTA_REQ), MOTE_OK);
    assert_string_equal(t, "mote/v1/d/dev-0042/ota/req");
    assert_int_equal(mote_proto_topic(t, sizeof t, "Dev/1", MOTE_TOPIC_EVT), MOTE_ERR_ARG);
    assert_int_equal(mote_proto_topic(t, 10, "dev-1", MOTE_TOPIC_EVT), MOTE_ERR_LIMIT);
    const char *bad[] = {"mote/v1/d//evt", "mote/v1/d/dev-1/evt/x", "mote/v1/d/dev-1", "other/v1/d/a/evt",
                         "mote/v1/d/DEV/evt", "mote/v1/d/a+b/evt"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(mote_proto_topic_parse(bad[i], id, &k), MOTE_ERR_CORRUPT);
    char longid[60];
    memset(longid, 'a', 49);
    longid[49] = '\0';
    assert_false(mote_proto_id_valid(longid));
    longid[48] = '\0';
    assert_true(mote_proto_id_valid(longid));
}

static void test_event_roundtrip(void **state)
{
    (void)state;
    mote_proto_event_t e = {0}, d;
    e.seq = 123456789012ull;
    e.ts = 1763779200123ll;
    e.kind = MOTE_EVT_ANOMALY;
    snprintf(e.model.name, sizeof e.model.name, "cwru10");
    e.model.version = 7;
    e.score = 0.8125;
    e.threshold = 0.5;
    e.n_explain = 2;
    snprintf(e.explain[0].feature, sizeof e.explain[0].feature, "band 150-175 Hz");
    e.explain[0].share = 0.62;
    snprintf(e.explain[1].feature, sizeof e.explain[1].feature, "kurtosis");
    e.explain[1].share = 0.21;
    e.n_summary = 1;
    snprintf(e.summary[0].name, sizeof e.summary[0].name, "rms");
    e.summary[0].value = 0.0123;
    size_t n = 0;
    assert_int_equal(mote_proto_event_encode(&e, buf, sizeof buf, &n), MOTE_OK);
    assert_int_equal(n, strlen(buf));
    assert_int_equal(mote_proto_event_decode(buf, n, &d, err, sizeof err), MOTE_OK);
    assert_memory_equal(&e, &d, sizeof e); /* zero-initialized both: padding equal too */
    /* too small a buffer is an error, not a truncated message */
    assert_int_equal(mote_proto_event_encode(&e, buf, n, &n), MOTE_ERR_LIMIT);
}

static void expect_event_error(const char *json, const char *needle)
{
    mote_proto_event_t d;
    mote_status_t st = mote_proto_event_decode(json, strlen(json), &d, err, sizeof err);
    assert_true(st < 0);
    if (!strstr(err, needle))
        fail_msg("decoding %s: message '%s' lacks '%s'", json, err, needle);
}

static void test_event_errors(void **state)
{
    (void)state;
    expect_event_error("", "invalid JSON");
    expect_event_error("[1]", "not a JSON object");
    expect_event_error("{\"ts\":1,\"kind\":\"drift\",\"detector\":\"adwin\"}", "'seq' missing");
    expect_event_error("{\"seq\":-1,\"ts\":1,\"kind\":\"drift\"}", "'seq' is not a non-negative integer");
    expect_event_error("{\"seq\":1,\"ts\":1,\"kind\":\"boom\"}", "'kind' has an unknown value");
    expect_event_error("{\"seq\":1,\"ts\":1,\"kind\":\"anomaly\"}", "'score' missing");
    expect_event_error("{\"seq\":1,\"ts\":1,\"kind\":\"class\"}", "'class' missing");
    expect_event_error("{\"seq\":1,\"seq\":2,\"ts\":1,\"kind\":\"drift\",\"detector\":\"ph\"}", "invalid JSON");
    expect_event_error("{\"seq\":1,\"ts\":1,\"kind\":\"drift\",\"detector\":\"ph\",\"explain\":[1,2,3,4,5]}",
                       "'explain'");
    expect_event_error("{\"seq\":1,\"ts\":1,\"kind\":\"drift\",\"detector\":\"ph\",\"model\":{\"name\":\"m\"}}",
                       "'version' missing");
    char longcls[200];
    snprintf(longcls, sizeof longcls, "{\"seq\":1,\"ts\":1,\"kind\":\"class\",\"class\":\"%0100d\"}", 0);
    expect_event_error(longcls, "'class' is too long");
    /* a NUL inside the buffer is not JSON */
    mote_proto_event_t d;
    const char withnul[] = "{\"seq\":1,\0\"ts\":1}";
    assert_true(mote_proto_event_decode(withnul, sizeof withnul - 1, &d, err, sizeof err) < 0);
}

static void test_heartbeat_state_roundtrip(void **state)
{
    (void)state;
    mote_proto_heartbeat_t h = {0}, hd;
    h.seq = 5;
    h.ts = 1000;
    h.uptime_s = 3600;
    snprintf(h.model.name, sizeof h.model.name, "cwru4");
    h.model.version = 2;
    h.slot = 'b';
    snprintf(h.slot_state, sizeof h.slot_state, "confirmed");
    h.arena = 14432;
    h.windows = 99999;
    h.events = 3;
    h.queue = 1;
    for (int i = 0; i < MOTE_PROTO_HIST_BINS; i++)
        h.hist[i] = (uint32_t)(i * i);
    h.period_s = 60;
    size_t n;
    assert_int_equal(mote_proto_heartbeat_encode(&h, buf, sizeof buf, &n), MOTE_OK);
    assert_int_equal(mote_proto_heartbeat_decode(buf, n, &hd, err, sizeof err), MOTE_OK);
    assert_memory_equal(&h, &hd, sizeof h);

    mote_proto_state_t s = {0}, sd;
    s.ts = 77;
    snprintf(s.model.name, sizeof s.model.name, "cwru10");
    s.model.version = 3;
    snprintf(s.previous.name, sizeof s.previous.name, "cwru10");
    s.previous.version = 2;
    s.slot = 'a';
    snprintf(s.slot_state, sizeof s.slot_state, "pending");
    s.cmd_seq = 41;
    snprintf(s.cmd_status, sizeof s.cmd_status, "refused");
    snprintf(s.reason, sizeof s.reason, "downgrade: version 1 <= installed 3");
    snprintf(s.ota.status, sizeof s.ota.status, "downloading");
    s.ota.version = 4;
    s.ota.offset = 16384;
    s.ota.total = 40000;
    s.heartbeat_s = 30;
    s.event_threshold = 0.25;
    assert_int_equal(mote_proto_state_encode(&s, buf, sizeof buf, &n), MOTE_OK);
    assert_int_equal(mote_proto_state_decode(buf, n, &sd, err, sizeof err), MOTE_OK);
    assert_memory_equal(&s, &sd, sizeof s);
    const char *bad = "{\"ts\":1,\"slot\":\"c\"}";
    assert_true(mote_proto_state_decode(bad, strlen(bad), &sd, err, sizeof err) < 0);
    assert_non_null(strstr(err, "'slot'"));
    const char *badhist = "{\"seq\":1,\"ts\":1,\"uptime_s\":1,\"hist\":[1,2]}";
    assert_true(mote_proto_heartbeat_decode(badhist, strlen(badhist), &hd, err, sizeof err) < 0);
    assert_non_null(strstr(err, "'hist'"));
}

static void test_ota_req_and_chunk(void **state)
{
    (void)state;
    mote_proto_ota_req_t r = {0}, rd;
    for (int i = 0; i < 32; i++)
        r.bundle[i] = (uint8_t)(i * 7 + 1);
    r.offset = 65536;
    r.len = 4096;
    size_t n;
    assert_int_equal(mote_proto_ota_req_encode(&r, buf, sizeof buf, &n), MOTE_OK);
    assert_int_equal(mote_proto_ota_req_decode(buf, n, &rd, err, sizeof err), MOTE_OK);
    assert_memory_equal(&r, &rd, sizeof r);
    const char *big = "{\"bundle\":\"00000000000000000000000000000000000000000000000000000000000000zz\","
                      "\"offset\":0,\"len\":1}";
    assert_true(mote_proto_ota_req_decode(big, strlen(big), &rd, err, sizeof err) < 0);
    assert_non_null(strstr(err, "'bundle' is not 64 hex digits"));

    uint8_t data[300], out[512];
    for (int i = 0; i < 300; i++)
        data[i] = (uint8_t)i;
    mote_proto_chunk_t c = {0}, cd;
    memcpy(c.bundle, r.bundle, 32);
    c.offset = 100;
    c.total = 400;
    c.data = data;
    c.len = 300;
    assert_int_equal(mote_proto_chunk_encode(&c, out, sizeof out, &n), MOTE_OK);
    assert_int_equal(n, MOTE_PROTO_CHUNK_HDR + 300);
    assert_int_equal(mote_proto_chunk_decode(out, n, &cd, err, sizeof err), MOTE_OK);
    assert_int_equal(cd.offset, 100);
    assert_int_equal(cd.total, 400);
    assert_int_equal(cd.len, 300);
    assert_memory_equal(cd.data, data, 300);
    assert_memory_equal(cd.bundle, c.bundle, 32);
    /* every truncation of the header, and a chunk past the end, are refused */
    for (size_t k = 0; k < MOTE_PROTO_CHUNK_HDR; k++)
        assert_int_equal(mote_proto_chunk_decode(out, k, &cd, err, sizeof err), MOTE_ERR_TRUNCATED);
    c.offset = 101;
    assert_int_equal(mote_proto_chunk_encode(&c, out, sizeof out, &n), MOTE_ERR_ARG);
    out[48] = 0x2b; /* total 0x12b = 299 < 100 + 300 */
    out[49] = 0x01;
    assert_int_equal(mote_proto_chunk_decode(out, MOTE_PROTO_CHUNK_HDR + 300, &cd, err, sizeof err),
                     MOTE_ERR_CORRUPT);
    out[0] = 'X';
    assert_int_equal(mote_proto_chunk_decode(out, MOTE_PROTO_CHUNK_HDR, &cd, err, sizeof err), MOTE_ERR_CORRUPT);
}

static void test_cmd_signed(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    uint8_t pk2[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(pk2, sk2);
    mote_proto_cmd_t c = {0}, d;
    snprintf(c.dev, sizeof c.dev, "dev-0007");
    c.seq = 12;
    c.ts = 55;
    c.op = MOTE_OP_DEPLOY;
    snprintf(c.model.name, sizeof c.model.name, "cwru10");
    c.model.version = 3;
    memset(c.bundle, 0xab, 32);
    c.size = 9000;
    c.chunk = 4096;
    snprintf(c.campaign, sizeof c.campaign, "c-1");
    uint8_t out[2048];
    size_t n;
    assert_int_equal(mote_proto_cmd_encode(&c, sk, out, sizeof out, &n), MOTE_OK);
    assert_int_equal(mote_proto_cmd_decode(out, n, pk, &d, err, sizeof err), MOTE_OK);
    assert_memory_equal(&c, &d, sizeof c);
    assert_int_equal(mote_proto_cmd_decode(out, n, pk2, &d, err, sizeof err), MOTE_ERR_VERIFY);
    assert_non_null(strstr(err, "bad signature"));
    /* flipping any byte (signature or body) breaks the signature */
    for (size_t i = 0; i < n; i += 7) {
        out[i] ^= 0x10;
        assert_int_equal(mote_proto_cmd_decode(out, n, pk, &d, err, sizeof err), MOTE_ERR_VERIFY);
        out[i] ^= 0x10;
    }
    assert_int_equal(mote_proto_cmd_decode(out, n - 1, pk, &d, err, sizeof err), MOTE_ERR_VERIFY);
    assert_int_equal(mote_proto_cmd_decode(out, 64, pk, &d, err, sizeof err), MOTE_ERR_TRUNCATED);

    mote_proto_cmd_t r = {0};
    snprintf(r.dev, sizeof r.dev, "dev-0007");
    r.seq = 13;
    r.op = MOTE_OP_ROLLBACK;
    snprintf(r.reason, sizeof r.reason, "campaign c-1 aborted");
    assert_int_equal(mote_proto_cmd_encode(&r, sk, out, sizeof out, &n), MOTE_OK);
    assert_int_equal(mote_proto_cmd_decode(out, n, pk, &d, err, sizeof err), MOTE_OK);
    assert_memory_equal(&r, &d, sizeof r);
    c.chunk = 0;
    assert_int_equal(mote_proto_cmd_encode(&c, sk, out, sizeof out, &n), MOTE_ERR_ARG);
}

static void fill_td(mote_proto_td_t *td)
{
    memset(td, 0, sizeof *td);
    snprintf(td->id, sizeof td->id, "dev-0001");
    snprintf(td->title, sizeof td->title, "Pump 1 drive-end bearing");
    snprintf(td->device_class, sizeof td->device_class, "cwru-gw");
    snprintf(td->group, sizeof td->group, "plant-a/line-1");
    td->ram_bytes = 32768;
    td->flash_bytes = 262144;
    snprintf(td->runtime, sizeof td->runtime, "0.1.0");
    td->n_ops = 3;
    snprintf(td->ops[0], sizeof td->ops[0], "FULLY_CONNECTED");
    snprintf(td->ops[1], sizeof td->ops[1], "SOFTMAX");
    snprintf(td->ops[2], sizeof td->ops[2], "RESHAPE");
    td->n_sensors = 1;
    snprintf(td->sensors[0].type, sizeof td->sensors[0].type, "accelerometer");
    snprintf(td->sensors[0].quantity, sizeof td->sensors[0].quantity, "acceleration");
    snprintf(td->sensors[0].location, sizeof td->sensors[0].location, "drive end");
    td->sensors[0].rate_hz = 12000;
    snprintf(td->model.name, sizeof td->model.name, "cwru4");
    td->model.version = 1;
    td->trainable_head = 1;
}

static void test_td(void **state)
{
    (void)state;
    mote_proto_td_t td, d;
    fill_td(&td);
    size_t n;
    assert_int_equal(mote_proto_td_encode(&td, "127.0.0.1:8883", buf, sizeof buf, &n), MOTE_OK);
    assert_non_null(strstr(buf, "\"href\":\"mqtt://127.0.0.1:8883/mote/v1/d/dev-0001/evt\""));
    assert_int_equal(mote_proto_td_decode(buf, n, &d, err, sizeof err), MOTE_OK);
    assert_memory_equal(&td, &d, sizeof td);
    const char *cases[][2] = {
        {"{\"@context\":\"https://example.org\"}", "'@context'"},
        {"{\"@context\":\"https://www.w3.org/2022/wot/td/v1.1\",\"id\":\"urn:x:1\"}", "'id'"},
        {"{\"@context\":\"https://www.w3.org/2022/wot/td/v1.1\",\"id\":\"urn:mote:dev:a\",\"title\":\"t\"}",
         "'securityDefinitions' missing"},
        {"{\"@context\":\"https://www.w3.org/2022/wot/td/v1.1\",\"id\":\"urn:mote:dev:a\",\"title\":\"t\","
         "\"securityDefinitions\":{\"n\":{\"scheme\":\"nosec\"}},\"security\":\"n\",\"mote:deviceClass\":\"c\","
         "\"mote:ramBytes\":-5}",
         "'mote:ramBytes'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_true(mote_proto_td_decode(cases[i][0], strlen(cases[i][0]), &d, err, sizeof err) < 0);
        if (!strstr(err, cases[i][1]))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_event_roundtrip),
        cmocka_unit_test(test_event_errors),
        cmocka_unit_test(test_heartbeat_state_roundtrip),
        cmocka_unit_test(test_ota_req_and_chunk),
        cmocka_unit_test(test_cmd_signed),
        cmocka_unit_test(test_td),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
