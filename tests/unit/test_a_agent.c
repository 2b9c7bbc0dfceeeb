/* Agent core without a broker (src/agent/agent.c, ota.c): signed command
 * checks and their refusal reasons, the accepted command seq persisted
 * across a restart, a download record resumed after a restart, OTA events
 * queued on disk with persistent seqs, and bad configurations refused. */
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

static uint8_t pk[32], sk[64], other_pk[32], other_sk[64];
static char dir[64];
static char logbuf[16384];

static void log_line(void *user, const char *line)
{
    (void)user;
    size_t n = strlen(logbuf);
    if (n + strlen(line) + 2 < sizeof logbuf)
        snprintf(logbuf + n, sizeof logbuf - n, "%s\n", line);
}

static int setup(void **state)
{
    (void)state;
    uint8_t seed[32] = {7}, seed2[32] = {8};
    if (sodium_init() < 0)
        return -1;
    crypto_sign_seed_keypair(pk, sk, seed);
    crypto_sign_seed_keypair(other_pk, other_sk, seed2);
    snprintf(dir, sizeof dir, "/tmp/test_a_agent.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static mote_agent_config_t config(void)
{
    mote_agent_config_t c = {0};
    c.id = "dev-7";
    c.host = "127.0.0.1";
    c.port = 1;
    c.fleet_pk = pk;
    c.state_dir = dir;
    c.sync = MOTE_EQUEUE_NOSYNC;
    c.log = log_line;
    return c;
}

static void send(mote_agent_t *a, const uint8_t *key, const char *dev, uint64_t seq, mote_proto_op_t op)
{
    mote_proto_cmd_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.dev, sizeof c.dev, "%s", dev);
    c.seq = seq;
    c.ts = 1;
    c.op = op;
    c.heartbeat_s = 17;
    c.model.version = 3;
    snprintf(c.model.name, sizeof c.model.name, "cwru4");
    memset(c.bundle, 0xab, sizeof c.bundle);
    c.size = 6000;
    c.chunk = 1000;
    snprintf(c.reason, sizeof c.reason, "test");
    uint8_t buf[2048];
    size_t len;
    assert_int_equal(mote_proto_cmd_encode(&c, key, buf, sizeof buf, &len), MOTE_OK);
    mote_agent_on_cmd(a, buf, len, 1000);
}

static void expect(const mote_agent_t *a, const char *status, const char *reason)
{
    assert_string_equal(a->cmd_status, status);
    if (reason && !strstr(a->reason, reason))
        fail_msg("reason '%s' lacks '%s'", a->reason, reason);
}

static void test_commands(void **state)
{
    (void)state;
    mote_agent_t a;
    mote_agent_config_t c = config();
    assert_int_equal(mote_agent_open(&a, &c), MOTE_OK);
    assert_int_equal(a.has_dev, 0); /* empty store: no model */
    mote_agent_on_cmd(&a, "garbage", 7, 1000);
    expect(&a, "refused", "cmd:");
    send(&a, other_sk, "dev-7", 1, MOTE_OP_CONFIG);
    expect(&a, "refused", "signature");
    send(&a, sk, "dev-8", 1, MOTE_OP_CONFIG);
    expect(&a, "refused", "command for device 'dev-8'");
    send(&a, sk, "dev-7", 5, MOTE_OP_CONFIG);
    expect(&a, "ok", NULL);
    assert_int_equal(a.heartbeat_s, 17);
    assert_int_equal(a.cmd_seq, 5);
    send(&a, sk, "dev-7", 5, MOTE_OP_CONFIG);
    expect(&a, "refused", "replayed command: seq 5 <= last accepted 5");
    send(&a, sk, "dev-7", 6, MOTE_OP_ROLLBACK);
    expect(&a, "refused", "rollback:");
    send(&a, sk, "dev-7", 7, MOTE_OP_FL_ROUND);
    expect(&a, "refused", "not supported");
    assert_int_equal(a.st.cmd_refused, 6);
    assert_non_null(strstr(logbuf, "command refused: replayed command"));
    mote_agent_close(&a);

    /* the accepted seq survived */
    assert_int_equal(mote_agent_open(&a, &c), MOTE_OK);
    assert_int_equal(a.cmd_seq, 7);
    send(&a, sk, "dev-7", 4, MOTE_OP_CONFIG);
    expect(&a, "refused", "replayed");
    mote_agent_close(&a);
}

static void test_download_record(void **state)
{
    (void)state;
    mote_agent_t a;
    mote_agent_config_t c = config();
    assert_int_equal(mote_agent_open(&a, &c), MOTE_OK);
    send(&a, sk, "dev-7", 100, MOTE_OP_DEPLOY);
    expect(&a, "ok", NULL);
    assert_string_equal(a.ota_status, "downloading");
    assert_true(a.ota.active);
    assert_int_equal(a.ota.size, 6000);
    /* a chunk for another bundle or offset is ignored */
    uint8_t buf[MOTE_PROTO_CHUNK_HDR + 200];
    size_t len;
    mote_proto_chunk_t ch = {.offset = 0, .total = 6000, .len = 200};
    uint8_t data[200] = {0}; /* a whole header: the verifier judges it */
    ch.data = data;
    memset(ch.bundle, 0xcd, 32);
    assert_int_equal(mote_proto_chunk_encode(&ch, buf, sizeof buf, &len), MOTE_OK);
    mote_agent_on_chunk(&a, buf, len, 1000);
    assert_true(a.ota.active);
    assert_int_equal(a.ota.offset, 0);
    /* ours, but not a bundle: refused by the streaming verifier */
    memset(ch.bundle, 0xab, 32);
    assert_int_equal(mote_proto_chunk_encode(&ch, buf, sizeof buf, &len), MOTE_OK);
    mote_agent_close(&a);

    logbuf[0] = '\0';
    assert_int_equal(mote_agent_open(&a, &c), MOTE_OK);
    assert_non_null(strstr(logbuf, "resuming the download of version 3"));
    assert_true(a.ota.active);
    mote_agent_on_chunk(&a, buf, len, 1000);
    assert_false(a.ota.active);
    assert_string_equal(a.ota_status, "refused");
    assert_non_null(strstr(a.ota_reason, "magic"));
    mote_agent_close(&a);
    /* a refused download is forgotten */
    logbuf[0] = '\0';
    assert_int_equal(mote_agent_open(&a, &c), MOTE_OK);
    assert_null(strstr(logbuf, "resuming"));
    mote_agent_close(&a);
}

static void test_events_persist(void **state)
{
    (void)state;
    mote_agent_t a;
    mote_agent_config_t c = config();
    assert_int_equal(mote_agent_open(&a, &c), MOTE_OK);
    size_t before = mote_agent_pending(&a);
    uint64_t first = mote_equeue_next_seq(&a.q);
    mote_agent_queue_event(&a, MOTE_EVT_OTA, NULL, 1234);
    mote_agent_queue_event(&a, MOTE_EVT_OTA, NULL, 1235);
    assert_int_equal(mote_agent_pending(&a), before + 2);
    mote_agent_close(&a);
    assert_int_equal(mote_agent_open(&a, &c), MOTE_OK);
    assert_int_equal(mote_agent_pending(&a), before + 2);
    char buf[4096], err[200];
    size_t len;
    uint64_t seq;
    assert_int_equal(mote_equeue_peek(&a.q, first, &seq, buf, sizeof buf, &len), MOTE_OK);
    mote_proto_event_t e;
    assert_int_equal(mote_proto_event_decode(buf, len, &e, err, sizeof err), MOTE_OK);
    assert_int_equal(e.seq, first + 1);
    assert_int_equal(e.seq, seq);
    assert_int_equal(e.kind, MOTE_EVT_OTA);
    assert_int_equal(e.ts, 1235);
    assert_int_equal(mote_equeue_next_seq(&a.q), first + 2);
    mote_agent_close(&a);
}

static void test_bad_config(void **state)
{
    (void)state;
    mote_agent_t a;
    mote_agent_config_t c = config();
    c.id = "Bad Id";
    assert_int_equal(mote_agent_open(&a, &c), MOTE_ERR_ARG);
    assert_non_null(strstr(a.msg, "device id 'Bad Id'"));
    c = config();
    c.fleet_pk = NULL;
    assert_int_equal(mote_agent_open(&a, &c), MOTE_ERR_ARG);
    c = config();
    c.state_dir = "/nonexistent/mote/agent";
    assert_int_equal(mote_agent_open(&a, &c), MOTE_ERR_IO);
    assert_non_null(strstr(a.msg, "/nonexistent/mote/agent"));
    mote_agent_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_download_record),
        cmocka_unit_test(test_events_persist),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
