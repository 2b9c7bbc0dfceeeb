/* moted end to end, in process, against a real mosquitto broker: simulated
 * devices are real MQTT clients speaking the protocol through proto.h
 * (Thing Description, state, chunk requests, signed commands, bundle
 * verification). Covers the registry, events stored exactly once under
 * redelivery, desired vs reported twins, reconciliation of a returning
 * device, campaigns that complete, fail their gate (abort + rollback) or
 * are stopped by the HTTP API, and campaigns that survive a moted restart
 * and a broker restart. With MOTE_TEST_PG=postgresql://... the same tests
 * run on PostgreSQL (tests/cli/test_moted_pg.sh sets it). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include "f_fixture.h"
#include "http.h"
#include "httpc.h"
#include "moted.h"
#include "proto.h"

#define CLS "sim-gw"
#define MOTED_PASS "moted-pass"
#define DEV_PASS "device-pass"
#define TOKEN "engineer-token-0123456789"
#define MAX_DEVS 256

static f_keys_t key;
static char root[64];
static int broker_port;
static pid_t broker_pid;
static int run_no;

/* ---- broker ---- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &l) != 0)
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

static int can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void sleep_ms(int ms)
{
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

static int broker_start(void)
{
    char conf[128], cmd[512];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", root);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    /* `user root`: mosquitto started as root would otherwise switch to the
     * mosquitto user and could not read our 0700 folder. */
    fprintf(f,
            "listener %d 127.0.0.1\nallow_anonymous false\npassword_file %s/passwd\nuser root\n"
            "max_queued_messages 100000\npersistence true\npersistence_location %s/\n"
            "log_dest file %s/mosquitto.log\n",
            broker_port, root, root, root);
    fclose(f);
    broker_pid = fork();
    if (broker_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* no stray broker if this test crashes */
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && !can_connect(broker_port); i++)
        sleep_ms(10);
    (void)cmd;
    return can_connect(broker_port) ? 0 : -1;
}

static void broker_stop(void)
{
    if (broker_pid > 0) {
        kill(broker_pid, SIGTERM);
        waitpid(broker_pid, NULL, 0);
        broker_pid = 0;
    }
}

/* ---- simulated devices ---- */

typedef enum { DEV_GOOD, DEV_BAD_HEALTH, DEV_SILENT } dev_kind_t;

typedef struct simdev {
    char id[MOTE_PROTO_ID_LEN];
    char group[32];
    dev_kind_t kind;
    struct mosquitto *mq;
    pthread_mutex_t mu;
    mote_proto_model_t model, previous;
    char slot_state[16], cmd_status[16], reason[64], ota_status[16];
    uint64_t last_seq, ota_version;
    uint8_t want[32];
    uint64_t size, got;
    uint32_t chunk;
    uint8_t *buf;
    mote_proto_model_t dl;
    int deploys, rollbacks, chunks;
    int hold, held; /* hold: wait for dev_release() before switching */
} simdev_t;

static simdev_t devs[MAX_DEVS];
static int n_devs;

static void dev_publish(simdev_t *d, mote_proto_topic_t t, const void *buf, size_t len, int retain)
{
    char topic[MOTE_PROTO_TOPIC_LEN];
    assert_int_equal(mote_proto_topic(topic, sizeof topic, d->id, t), MOTE_OK);
    mosquitto_publish_v5(d->mq, NULL, topic, (int)len, buf, 1, retain, NULL);
}

static void dev_state(simdev_t *d)
{
    mote_proto_state_t s;
    memset(&s, 0, sizeof s);
    s.ts = mote_store_now_ms();
    s.model = d->model;
    s.previous = d->previous;
    s.slot = 'a';
    snprintf(s.slot_state, sizeof s.slot_state, "%s", d->slot_state);
    s.cmd_seq = d->last_seq;
    snprintf(s.cmd_status, sizeof s.cmd_status, "%s", d->cmd_status);
    snprintf(s.reason, sizeof s.reason, "%s", d->reason);
    snprintf(s.ota.status, sizeof s.ota.status, "%s", d->ota_status);
    s.ota.version = d->ota_version;
    s.ota.offset = d->got;
    s.ota.total = d->size;
    s.heartbeat_s = 60;
    char buf[2048];
    size_t len = 0;
    assert_int_equal(mote_proto_state_encode(&s, buf, sizeof buf, &len), MOTE_OK);
    dev_publish(d, MOTE_TOPIC_STATE, buf, len, 1);
}

static void dev_td(simdev_t *d)
{
    mote_proto_td_t td;
    memset(&td, 0, sizeof td);
    snprintf(td.id, sizeof td.id, "%s", d->id);
    snprintf(td.title, sizeof td.title, "simulated %s", d->id);
    snprintf(td.device_class, sizeof td.device_class, CLS);
    snprintf(td.group, sizeof td.group, "%s", d->group);
    td.ram_bytes = 65536;
    td.flash_bytes = 262144;
    snprintf(td.runtime, sizeof td.runtime, "0.1.0");
    td.model = d->model;
    char *buf = malloc(16384); /* per call: device threads encode at the same time */
    size_t len = 0;
    assert_non_null(buf);
    assert_int_equal(mote_proto_td_encode(&td, "127.0.0.1", buf, 16384, &len), MOTE_OK);
    dev_publish(d, MOTE_TOPIC_TD, buf, len, 1);
    free(buf);
}

static void dev_request(simdev_t *d)
{
    mote_proto_ota_req_t r;
    memcpy(r.bundle, d->want, 32);
    r.offset = d->got;
    r.len = d->chunk;
    char buf[256];
    size_t len = 0;
    assert_int_equal(mote_proto_ota_req_encode(&r, buf, sizeof buf, &len), MOTE_OK);
    dev_publish(d, MOTE_TOPIC_OTA_REQ, buf, len, 0);
}

static void dev_finish(simdev_t *d)
{
    mote_bundle_key_t k;
    memcpy(k.pk, key.pk, sizeof k.pk);
    mote_bundle_policy_t pol = {&k, 1, CLS, d->model.version};
    mote_bundle_info_t info;
    char msg[MOTE_BUNDLE_MSG_LEN];
    if (mote_bundle_verify(d->buf, d->size, &pol, &info, NULL, msg, sizeof msg) != MOTE_OK) {
        snprintf(d->ota_status, sizeof d->ota_status, "failed");
        snprintf(d->reason, sizeof d->reason, "%.63s", msg);
    } else if (d->kind == DEV_BAD_HEALTH) {
        snprintf(d->ota_status, sizeof d->ota_status, "rolled_back");
        snprintf(d->reason, sizeof d->reason, "health check failed");
    } else {
        d->previous = d->model;
        d->model = d->dl;
        snprintf(d->slot_state, sizeof d->slot_state, "confirmed");
        snprintf(d->ota_status, sizeof d->ota_status, "confirmed");
    }
    dev_state(d);
}

static void dev_deploy(simdev_t *d, const mote_proto_cmd_t *c)
{
    d->deploys++;
    if (d->kind == DEV_SILENT)
        return;
    memcpy(d->want, c->bundle, 32);
    d->size = c->size;
    d->chunk = c->chunk;
    d->got = 0;
    d->dl = c->model;
    d->ota_version = c->model.version;
    free(d->buf);
    d->buf = malloc(c->size);
    snprintf(d->ota_status, sizeof d->ota_status, "downloading");
    snprintf(d->cmd_status, sizeof d->cmd_status, "ok");
    d->reason[0] = '\0';
    dev_state(d);
    dev_request(d);
}

static void dev_rollback(simdev_t *d)
{
    d->rollbacks++;
    if (d->previous.version) {
        d->model = d->previous;
        memset(&d->previous, 0, sizeof d->previous);
    }
    snprintf(d->slot_state, sizeof d->slot_state, "rolled_back");
    snprintf(d->ota_status, sizeof d->ota_status, "rolled_back");
    snprintf(d->cmd_status, sizeof d->cmd_status, "ok");
    dev_state(d);
}

static void dev_cmd(simdev_t *d, const struct mosquitto_message *msg)
{
    mote_proto_cmd_t c;
    char err[256];
    assert_int_equal(mote_proto_cmd_decode(msg->payload, (size_t)msg->payloadlen, key.pk, &c, err, sizeof err),
                     MOTE_OK);
    if (strcmp(c.dev, d->id) != 0 || c.seq <= d->last_seq) {
        snprintf(d->cmd_status, sizeof d->cmd_status, "refused");
        snprintf(d->reason, sizeof d->reason, "replayed command");
        dev_state(d);
        return;
    }
    d->last_seq = c.seq;
    if (c.op == MOTE_OP_DEPLOY)
        dev_deploy(d, &c);
    else if (c.op == MOTE_OP_ROLLBACK)
        dev_rollback(d);
}

static void dev_chunk(simdev_t *d, const struct mosquitto_message *msg)
{
    mote_proto_chunk_t c;
    char err[256];
    if (mote_proto_chunk_decode(msg->payload, (size_t)msg->payloadlen, &c, err, sizeof err) != MOTE_OK ||
        memcmp(c.bundle, d->want, 32) != 0 || c.offset != d->got || !d->buf || c.offset + c.len > d->size)
        return;
    memcpy(d->buf + d->got, c.data, c.len);
    d->got += c.len;
    d->chunks++;
    if (d->got == d->size && d->hold)
        d->held = 1;
    else if (d->got == d->size)
        dev_finish(d);
    else
        dev_request(d);
}

/* Let a held device switch to the model it downloaded. */
static void dev_release(simdev_t *d)
{
    pthread_mutex_lock(&d->mu);
    d->hold = 0;
    if (d->held) {
        d->held = 0;
        dev_finish(d);
    }
    pthread_mutex_unlock(&d->mu);
}

static int dev_held(simdev_t *d)
{
    pthread_mutex_lock(&d->mu);
    int r = d->held;
    pthread_mutex_unlock(&d->mu);
    return r;
}

static int wait_held(int from, int to, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 20) {
        int n = 0;
        for (int i = from; i < to; i++)
            n += dev_held(&devs[i]);
        if (n == to - from)
            return 1;
        sleep_ms(20);
    }
    return 0;
}

static void dev_on_message(struct mosquitto *mq, void *user, const struct mosquitto_message *msg,
                           const mosquitto_property *props)
{
    (void)mq;
    (void)props;
    simdev_t *d = user;
    char id[MOTE_PROTO_ID_LEN];
    mote_proto_topic_t t;
    if (mote_proto_topic_parse(msg->topic, id, &t) != MOTE_OK)
        return;
    pthread_mutex_lock(&d->mu);
    if (t == MOTE_TOPIC_CMD)
        dev_cmd(d, msg);
    else if (t == MOTE_TOPIC_OTA_DATA)
        dev_chunk(d, msg);
    pthread_mutex_unlock(&d->mu);
}

static void dev_on_connect(struct mosquitto *mq, void *user, int rc, int flags, const mosquitto_property *props)
{
    (void)flags;
    (void)props;
    simdev_t *d = user;
    if (rc != 0)
        return;
    char t1[MOTE_PROTO_TOPIC_LEN], t2[MOTE_PROTO_TOPIC_LEN];
    mote_proto_topic(t1, sizeof t1, d->id, MOTE_TOPIC_CMD);
    mote_proto_topic(t2, sizeof t2, d->id, MOTE_TOPIC_OTA_DATA);
    mosquitto_subscribe_v5(mq, NULL, t1, 1, 0, NULL);
    mosquitto_subscribe_v5(mq, NULL, t2, 1, 0, NULL);
    pthread_mutex_lock(&d->mu);
    dev_td(d);
    dev_state(d);
    pthread_mutex_unlock(&d->mu);
}

static void dev_connect(simdev_t *d)
{
    d->mq = mosquitto_new(d->id, true, d);
    assert_non_null(d->mq);
    mosquitto_int_option(d->mq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_username_pw_set(d->mq, "devices", DEV_PASS);
    mosquitto_connect_v5_callback_set(d->mq, dev_on_connect);
    mosquitto_message_v5_callback_set(d->mq, dev_on_message);
    mosquitto_reconnect_delay_set(d->mq, 1, 2, false);
    assert_int_equal(mosquitto_connect_bind_v5(d->mq, "127.0.0.1", broker_port, 30, NULL, NULL), MOSQ_ERR_SUCCESS);
    assert_int_equal(mosquitto_loop_start(d->mq), MOSQ_ERR_SUCCESS);
}

static void dev_disconnect(simdev_t *d)
{
    if (!d->mq)
        return;
    mosquitto_disconnect_v5(d->mq, 0, NULL);
    mosquitto_loop_stop(d->mq, false);
    mosquitto_destroy(d->mq);
    d->mq = NULL;
}

/* n devices "<prefix>-NN" of `group`, all on sine v1; kinds[i] or GOOD. */
static void devs_start(int n, const char *prefix, const char *group, const dev_kind_t *kinds, int connect)
{
    n_devs = n;
    for (int i = 0; i < n; i++) {
        simdev_t *d = &devs[i];
        memset(d, 0, sizeof *d);
        pthread_mutex_init(&d->mu, NULL);
        snprintf(d->id, sizeof d->id, "%s-%02d", prefix, i);
        snprintf(d->group, sizeof d->group, "%s", group);
        d->kind = kinds ? kinds[i] : DEV_GOOD;
        snprintf(d->model.name, sizeof d->model.name, "sine");
        d->model.version = 1;
        snprintf(d->slot_state, sizeof d->slot_state, "confirmed");
        snprintf(d->ota_status, sizeof d->ota_status, "idle");
        if (connect)
            dev_connect(d);
    }
}

static void devs_stop(void)
{
    for (int i = 0; i < n_devs; i++) {
        dev_disconnect(&devs[i]);
        free(devs[i].buf);
        pthread_mutex_destroy(&devs[i].mu);
    }
    n_devs = 0;
}

static uint64_t dev_version(simdev_t *d)
{
    pthread_mutex_lock(&d->mu);
    uint64_t v = d->model.version;
    pthread_mutex_unlock(&d->mu);
    return v;
}

/* ---- moted ---- */

typedef struct harness {
    char state[128];
    mote_moted_t *m;
    mote_http_t *http;
    char url[64];
} harness_t;

static harness_t h, h2; /* h2: a second moted instance */

static const char *pg_url(void)
{
    const char *u = getenv("MOTE_TEST_PG");
    return u && *u ? u : NULL;
}

/* PostgreSQL is shared by the tests: start each from empty tables. */
static void fresh_db(void)
{
    if (!pg_url())
        return;
    mote_store_t *s = NULL;
    char err[256];
    assert_int_equal(mote_store_open(&s, pg_url(), err, sizeof err), MOTE_OK);
    assert_int_equal(mote_store_exec(s, "DROP TABLE IF EXISTS devices, models, twin, events, campaigns, campaign_devices",
                                     NULL, 0, NULL, NULL, NULL, err, sizeof err),
                     MOTE_OK);
    mote_store_close(s);
}

static void moted_up(harness_t *h, const char *state, int with_mqtt)
{
    snprintf(h->state, sizeof h->state, "%s/%s", root, state);
    mkdir(h->state, 0700);
    char cid[32];
    snprintf(cid, sizeof cid, "moted-%s", state);
    mote_moted_config_t cfg = {.state_dir = h->state, .db_url = pg_url(), .broker_host = with_mqtt ? "127.0.0.1" : NULL,
                               .broker_port = broker_port, .user = "moted", .pass = MOTED_PASS, .client_id = cid,
                               .fleet_sk = key.sk, .chunk = 1024, .resend_ms = 400, .tick_ms = 50,
                               .claim_batch = 3};
    char err[256];
    assert_int_equal(mote_moted_create(&h->m, &cfg, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_http_create(&h->http), MOTE_OK);
    assert_int_equal(mote_http_add_token(h->http, TOKEN, "erin", "engineer"), MOTE_OK);
    assert_int_equal(mote_moted_routes(h->m, h->http), MOTE_OK);
    assert_int_equal(mote_http_start(h->http, "127.0.0.1", 0, err, sizeof err), MOTE_OK);
    snprintf(h->url, sizeof h->url, "http://127.0.0.1:%u", mote_http_port(h->http));
    assert_int_equal(mote_moted_start(h->m, err, sizeof err), MOTE_OK);
}

static void moted_down(harness_t *h)
{
    mote_http_destroy(h->http);
    mote_moted_destroy(h->m);
    h->http = NULL;
    h->m = NULL;
}

/* Package folder with sine.tflite (TFLM hello_world) and its card. */
static const char *package(void)
{
    static char dir[128];
    snprintf(dir, sizeof dir, "%s/pkg", root);
    mkdir(dir, 0700);
    size_t len = 0;
    void *model = tu_read(tu_shared("models/tflm-examples/hello_world_int8.tflite"), &len);
    assert_non_null(model);
    char path[256];
    snprintf(path, sizeof path, "%s/sine.tflite", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(model, 1, len, f);
    fclose(f);
    free(model);
    snprintf(path, sizeof path, "%s/sine.json", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"schema\":\"mote-model-card/1\",\"name\":\"sine\",\"version\":\"1.0.0\"}\n", f);
    fclose(f);
    return dir;
}

static void register_models(harness_t *h, uint64_t upto)
{
    char err[256];
    for (uint64_t v = 1; v <= upto; v++)
        assert_int_equal(mote_moted_model_register(h->m, package(), "sine", v, CLS, NULL, err, sizeof err), MOTE_OK);
}

static int64_t count(harness_t *h, const char *sql, const char *arg)
{
    char buf[32], err[256];
    const char *p[] = {arg};
    int r = mote_store_query_text(mote_moted_store(h->m), sql, p, arg ? 1 : 0, buf, sizeof buf, err, sizeof err);
    if (r < 0)
        fail_msg("%s", err);
    return r > 0 ? strtoll(buf, NULL, 10) : -1;
}

static int wait_count(harness_t *h, const char *sql, const char *arg, int64_t want, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 20) {
        if (count(h, sql, arg) == want)
            return 1;
        sleep_ms(20);
    }
    print_message("waited for %s [%s] = %lld, got %lld\n", sql, arg ? arg : "", (long long)want,
                  (long long)count(h, sql, arg));
    return 0;
}

static char *campaign_state(harness_t *h, const char *id, char *buf, size_t cap)
{
    char err[256];
    const char *p[] = {id};
    mote_store_query_text(mote_moted_store(h->m), "SELECT state FROM campaigns WHERE id = ?", p, 1, buf, cap, err,
                          sizeof err);
    return buf;
}

static int wait_campaign(harness_t *h, const char *id, const char *want, int timeout_ms)
{
    char s[32];
    for (int t = 0; t < timeout_ms; t += 20) {
        if (strcmp(campaign_state(h, id, s, sizeof s), want) == 0)
            return 1;
        sleep_ms(20);
    }
    print_message("campaign %s is %s, want %s\n", id, campaign_state(h, id, s, sizeof s), want);
    return 0;
}

static void create_campaign(harness_t *h, const char *spec, char id[64])
{
    json_error_t je;
    json_t *j = json_loads(spec, 0, &je);
    assert_non_null(j);
    char err[256];
    mote_status_t st = mote_campaign_create(h->m, j, "test", id, err, sizeof err);
    if (st != MOTE_OK)
        fail_msg("campaign: %s", err);
    json_decref(j);
}

static int ledger_has(harness_t *h, const char *kind)
{
    char path[256];
    snprintf(path, sizeof path, "%s/ledger.jsonl", h->state);
    size_t len = 0;
    char *raw = tu_read(path, &len);
    char *txt = raw ? malloc(len + 1) : NULL; /* tu_read does not NUL-terminate */
    if (!txt) {
        free(raw);
        return 0;
    }
    memcpy(txt, raw, len);
    txt[len] = '\0';
    free(raw);
    char pat[64];
    snprintf(pat, sizeof pat, "\"kind\":\"%s\"", kind);
    int n = 0;
    for (const char *p = txt; (p = strstr(p, pat)) != NULL; p++)
        n++;
    free(txt);
    return n;
}

/* ---- tests ---- */

static int setup(void **state)
{
    (void)state;
    run_no++;
    fresh_db();
    return 0;
}

/* Also runs after a failed test, so the next one starts clean. */
static int teardown(void **state)
{
    (void)state;
    devs_stop();
    if (h.m)
        moted_down(&h);
    if (h2.m)
        moted_down(&h2);
    return 0;
}

static void test_registry_events_twin(void **state)
{
    (void)state;
    moted_up(&h, "reg", 1);
    devs_start(3, "reg", "plant-a/line-1", NULL, 1);
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM devices WHERE class = 'sim-gw' AND id LIKE 'reg-%'", NULL, 3,
                           10000));
    assert_int_equal(count(&h, "SELECT COUNT(*) FROM devices WHERE grp = ?", "plant-a/line-1"), 3);
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM twin WHERE version = 1 AND slot_state = 'confirmed'", NULL, 3,
                           10000));
    /* 200 events, each published twice as a broker redelivers after a lost PUBACK. */
    simdev_t *d = &devs[0];
    for (int round = 0; round < 2; round++) {
        for (uint64_t seq = 1; seq <= 200; seq++) {
            mote_proto_event_t e;
            memset(&e, 0, sizeof e);
            e.seq = seq;
            e.ts = 1700000000000 + (int64_t)seq;
            e.kind = MOTE_EVT_ANOMALY;
            e.model = d->model;
            e.score = 0.5 + (double)seq / 1000.0;
            e.threshold = 0.4;
            char buf[2048];
            size_t len = 0;
            assert_int_equal(mote_proto_event_encode(&e, buf, sizeof buf, &len), MOTE_OK);
            dev_publish(d, MOTE_TOPIC_EVT, buf, len, 0);
        }
    }
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM events WHERE device = ?", d->id, 200, 15000));
    mote_moted_stats_t st;
    for (int t = 0; t < 5000; t += 20) {
        mote_moted_stats(h.m, &st);
        if (st.duplicates >= 200)
            break;
        sleep_ms(20);
    }
    assert_int_equal(st.duplicates, 200);
    assert_int_equal(count(&h, "SELECT COUNT(*) FROM events WHERE device = ?", d->id), 200);
    /* A malformed event is refused and stores nothing. */
    dev_publish(d, MOTE_TOPIC_EVT, "{\"seq\":\"x\"}", 11, 0);
    /* HTTP: list, twin, events. */
    mote_httpc_resp_t r;
    char err[256];
    assert_int_equal(mote_httpc_request(h.url, "GET", "/api/devices?q=reg&limit=2", TOKEN, NULL, 0, 0, &r, err,
                                        sizeof err),
                     MOTE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"total\":3"));
    mote_httpc_free(&r);
    assert_int_equal(mote_httpc_request(h.url, "GET", "/api/devices/reg-00/twin", TOKEN, NULL, 0, 0, &r, err,
                                        sizeof err),
                     MOTE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"slot_state\":\"confirmed\""));
    mote_httpc_free(&r);
    assert_int_equal(mote_httpc_request(h.url, "GET", "/api/devices", NULL, NULL, 0, 0, &r, err, sizeof err), MOTE_OK);
    assert_int_equal(r.status, 401);
    mote_httpc_free(&r);
    for (int t = 0; t < 5000; t += 20) {
        mote_moted_stats(h.m, &st);
        if (st.bad >= 1)
            break;
        sleep_ms(20);
    }
    assert_true(st.bad >= 1);
    devs_stop();
    moted_down(&h);
}

static void test_deploy_reconcile(void **state)
{
    (void)state;
    moted_up(&h, "rec", 1);
    register_models(&h, 2);
    devs_start(2, "rec", "g", NULL, 1);
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM twin WHERE device LIKE 'rec-%' AND version = 1", NULL, 2, 10000));
    /* Online device: deploy through the API, the twin converges. */
    mote_httpc_resp_t r;
    char err[256];
    const char *body = "{\"model\":\"sine\",\"version\":2}";
    assert_int_equal(mote_httpc_request(h.url, "POST", "/api/devices/rec-00/twin", TOKEN, body, strlen(body), 0, &r,
                                        err, sizeof err),
                     MOTE_OK);
    assert_int_equal(r.status, 202);
    mote_httpc_free(&r);
    assert_true(wait_count(&h, "SELECT version FROM twin WHERE device = ?", "rec-00", 2, 10000));
    assert_int_equal(dev_version(&devs[0]), 2);
    assert_true(devs[0].chunks > 1); /* the bundle came in several 1 KiB chunks */
    /* Offline device: the command is lost (clean session); it is sent
     * again when the device comes back with its reported model still old. */
    dev_disconnect(&devs[1]);
    assert_int_equal(mote_moted_deploy(h.m, "rec-01", "sine", 2, NULL, err, sizeof err), MOTE_OK);
    assert_int_equal(count(&h, "SELECT desired_version FROM twin WHERE device = ?", "rec-01"), 2);
    assert_int_equal(count(&h, "SELECT version FROM twin WHERE device = ?", "rec-01"), 1);
    sleep_ms(500); /* past resend_ms, so the reconnect may trigger a resend */
    dev_connect(&devs[1]);
    assert_true(wait_count(&h, "SELECT version FROM twin WHERE device = ?", "rec-01", 2, 10000));
    assert_int_equal(dev_version(&devs[1]), 2);
    assert_true(ledger_has(&h, "deploy") >= 2);
    assert_int_equal(ledger_has(&h, "model.register"), 2);
    devs_stop();
    moted_down(&h);
}

static void test_campaign_completes(void **state)
{
    (void)state;
    moted_up(&h, "ok", 1);
    register_models(&h, 2);
    devs_start(10, "ok", "line-9", NULL, 1);
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM twin WHERE device LIKE 'ok-%' AND version = 1", NULL, 10, 10000));
    char id[64];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    create_campaign(&h,
                    "{\"model\":\"sine\",\"version\":2,\"target\":{\"group\":\"line-9\"},\"stages\":[10,50,100],"
                    "\"max_fail_pct\":20,\"stage_timeout_s\":30}",
                    id);
    assert_int_equal(count(&h, "SELECT COUNT(*) FROM campaign_devices WHERE campaign = ? AND stage = 0", id), 1);
    assert_int_equal(count(&h, "SELECT COUNT(*) FROM campaign_devices WHERE campaign = ? AND stage = 1", id), 4);
    assert_true(wait_campaign(&h, id, "done", 20000));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("campaign of 10 devices, 3 stages: %.0f ms\n",
                  (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
    for (int i = 0; i < 10; i++)
        assert_int_equal(dev_version(&devs[i]), 2);
    assert_int_equal(count(&h, "SELECT COUNT(*) FROM campaign_devices WHERE campaign = ? AND state = 'confirmed'", id),
                     10);
    assert_int_equal(ledger_has(&h, "campaign.start"), 1);
    /* batches of 3 (claim_batch): every device still has its own entry */
    assert_int_equal(ledger_has(&h, "deploy"), 10);
    assert_int_equal(ledger_has(&h, "campaign.stage"), 2);
    assert_int_equal(ledger_has(&h, "campaign.done"), 1);
    devs_stop();
    moted_down(&h);
}

static void test_campaign_gate_aborts(void **state)
{
    (void)state;
    moted_up(&h, "gate", 1);
    register_models(&h, 2);
    dev_kind_t kinds[8] = {DEV_GOOD, DEV_BAD_HEALTH, DEV_GOOD, DEV_GOOD, DEV_GOOD, DEV_GOOD, DEV_GOOD, DEV_GOOD};
    devs_start(8, "gate", "line-2", kinds, 1);
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM twin WHERE device LIKE 'gate-%' AND version = 1", NULL, 8, 10000));
    char id[64];
    create_campaign(&h,
                    "{\"model\":\"sine\",\"version\":2,\"target\":{\"group\":\"line-2\"},\"stages\":[25,100],"
                    "\"max_fail_pct\":10,\"stage_timeout_s\":30}",
                    id);
    assert_true(wait_campaign(&h, id, "aborted", 20000));
    /* gate-00 switched, then was rolled back; gate-01 failed its health
     * check; the second stage never started. */
    for (int t = 0; t < 10000 && dev_version(&devs[0]) != 1; t += 20)
        sleep_ms(20);
    assert_int_equal(dev_version(&devs[0]), 1);
    assert_int_equal(devs[0].rollbacks, 1);
    assert_int_equal(dev_version(&devs[1]), 1);
    for (int i = 2; i < 8; i++)
        assert_int_equal(devs[i].deploys, 0);
    /* The campaign reads "aborted" before the abort has gone through every
     * device. gate-00 may or may not have confirmed before gate-01's failure
     * tripped the gate (it is rolled back either way), so count stage 1 only. */
    assert_true(wait_count(&h,
                           "SELECT COUNT(*) FROM campaign_devices WHERE campaign = ? AND stage = 1 AND state = 'cancelled'",
                           id, 6, 10000));
    assert_true(wait_count(&h, "SELECT version FROM twin WHERE device = ?", "gate-00", 1, 10000));
    assert_int_equal(count(&h, "SELECT desired_version FROM twin WHERE device = ?", "gate-00"), 1);
    assert_int_equal(ledger_has(&h, "campaign.abort"), 1);
    assert_int_equal(ledger_has(&h, "rollback"), 1);
    /* No reconciliation fight afterwards: nobody gets another deploy. */
    sleep_ms(600);
    assert_int_equal(devs[0].deploys, 1);
    devs_stop();
    moted_down(&h);
}

static void test_campaign_emergency_stop(void **state)
{
    (void)state;
    moted_up(&h, "stop", 1);
    register_models(&h, 2);
    dev_kind_t kinds[4] = {DEV_SILENT, DEV_SILENT, DEV_SILENT, DEV_SILENT};
    devs_start(4, "stop", "line-3", kinds, 1);
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM devices WHERE id LIKE 'stop-%'", NULL, 4, 10000));
    char id[64];
    create_campaign(&h,
                    "{\"model\":\"sine\",\"version\":2,\"target\":{\"devices\":[\"stop-00\",\"stop-01\",\"stop-02\","
                    "\"stop-03\"]},\"stages\":[50,100],\"max_fail_pct\":50,\"stage_timeout_s\":600}",
                    id);
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM campaign_devices WHERE campaign = ? AND state = 'sent'", id, 2,
                           10000));
    char path[128], err[256];
    mote_httpc_resp_t r;
    snprintf(path, sizeof path, "/api/campaigns/%s/stop", id);
    assert_int_equal(mote_httpc_request(h.url, "POST", path, NULL, NULL, 0, 0, &r, err, sizeof err), MOTE_OK);
    assert_int_equal(r.status, 401); /* writes need a token */
    mote_httpc_free(&r);
    assert_int_equal(mote_httpc_request(h.url, "POST", path, TOKEN, NULL, 0, 0, &r, err, sizeof err), MOTE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "emergency stop by erin"));
    mote_httpc_free(&r);
    assert_true(wait_campaign(&h, id, "aborted", 1000));
    sleep_ms(300);
    assert_int_equal(devs[2].deploys + devs[3].deploys, 0);
    assert_int_equal(mote_httpc_request(h.url, "POST", path, TOKEN, NULL, 0, 0, &r, err, sizeof err), MOTE_OK);
    assert_int_equal(r.status, 409); /* already aborted */
    mote_httpc_free(&r);
    devs_stop();
    moted_down(&h);
}

static void test_campaign_survives_restarts(void **state)
{
    (void)state;
    moted_up(&h, "rs", 1);
    register_models(&h, 2);
    devs_start(6, "rs", "line-4", NULL, 0);
    for (int i = 0; i < 6; i++) {
        devs[i].hold = 1;
        dev_connect(&devs[i]);
    }
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM twin WHERE device LIKE 'rs-%' AND version = 1", NULL, 6, 10000));
    char id[64];
    create_campaign(&h,
                    "{\"model\":\"sine\",\"version\":2,\"target\":{\"group\":\"line-4\"},\"stages\":[50,100],"
                    "\"max_fail_pct\":0,\"stage_timeout_s\":60}",
                    id);
    /* Stage 0 has downloaded; moted dies before the devices switch. They
     * report while it is down: the broker keeps that for its session. */
    assert_true(wait_held(0, 3, 10000));
    moted_down(&h);
    for (int i = 0; i < 3; i++)
        dev_release(&devs[i]);
    sleep_ms(200);
    moted_up(&h, "rs", 1);
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM campaign_devices WHERE campaign = ? AND state = 'confirmed'", id,
                           3, 10000));
    /* Stage 1 has downloaded; now the broker dies, the devices switch
     * meanwhile, everybody reconnects to a new broker process. */
    assert_true(wait_held(3, 6, 10000));
    broker_stop();
    for (int i = 3; i < 6; i++)
        dev_release(&devs[i]);
    sleep_ms(300);
    assert_int_equal(broker_start(), 0);
    assert_true(wait_campaign(&h, id, "done", 30000));
    for (int i = 0; i < 6; i++)
        assert_int_equal(dev_version(&devs[i]), 2);
    for (int i = 0; i < 6; i++)
        assert_int_equal(devs[i].deploys, 1); /* no device was sent the campaign twice */
    assert_int_equal(ledger_has(&h, "campaign.done"), 1);
    devs_stop();
    moted_down(&h);
}

/* Two moted instances on one PostgreSQL database, both subscribed as
 * $share/moted/...: every message reaches one of them, every event is
 * stored once, and a campaign both of them tick sends each device its
 * deploy exactly once. Runs only with MOTE_TEST_PG. */
static void test_two_instances_shared(void **state)
{
    (void)state;
    if (!pg_url())
        skip();
    char err[256];
    for (int k = 0; k < 2; k++) {
        harness_t *x = k ? &h2 : &h;
        snprintf(x->state, sizeof x->state, "%s/sh%d", root, k + 1);
        mkdir(x->state, 0700);
        char cid[32];
        snprintf(cid, sizeof cid, "moted-shared-%d", k + 1);
        mote_moted_config_t cfg = {.state_dir = x->state, .db_url = pg_url(), .broker_host = "127.0.0.1",
                                   .broker_port = broker_port, .user = "moted", .pass = MOTED_PASS,
                                   .client_id = cid, .fleet_sk = key.sk, .shared = 1, .chunk = 1024,
                                   .resend_ms = 400, .tick_ms = 50};
        assert_int_equal(mote_moted_create(&x->m, &cfg, err, sizeof err), MOTE_OK);
        assert_int_equal(mote_moted_start(x->m, err, sizeof err), MOTE_OK);
        x->http = NULL;
    }
    register_models(&h, 2);
    devs_start(6, "sh", "line-5", NULL, 1);
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM twin WHERE device LIKE 'sh-%' AND version = 1", NULL, 6, 10000));
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 6; i++) {
            for (uint64_t seq = 1; seq <= 100; seq++) {
                mote_proto_event_t e;
                memset(&e, 0, sizeof e);
                e.seq = seq;
                e.ts = 1700000000000 + (int64_t)seq;
                e.kind = MOTE_EVT_DRIFT;
                snprintf(e.detector, sizeof e.detector, "adwin");
                char buf[2048];
                size_t len = 0;
                assert_int_equal(mote_proto_event_encode(&e, buf, sizeof buf, &len), MOTE_OK);
                dev_publish(&devs[i], MOTE_TOPIC_EVT, buf, len, 0);
            }
        }
    }
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM events WHERE device LIKE 'sh-%'", NULL, 600, 20000));
    mote_moted_stats_t a, b;
    for (int t = 0; t < 10000; t += 20) {
        mote_moted_stats(h.m, &a);
        mote_moted_stats(h2.m, &b);
        if (a.events + b.events + a.duplicates + b.duplicates >= 1200)
            break;
        sleep_ms(20);
    }
    print_message("shared: instance 1 stored %llu (+%llu dup), instance 2 stored %llu (+%llu dup)\n",
                  (unsigned long long)a.events, (unsigned long long)a.duplicates, (unsigned long long)b.events,
                  (unsigned long long)b.duplicates);
    assert_int_equal(a.events + b.events, 600);
    assert_int_equal(a.duplicates + b.duplicates, 600);
    assert_true(a.messages > 0 && b.messages > 0); /* the broker split the load */
    char id[64];
    create_campaign(&h,
                    "{\"model\":\"sine\",\"version\":2,\"target\":{\"group\":\"line-5\"},\"stages\":[50,100],"
                    "\"max_fail_pct\":0,\"stage_timeout_s\":60}",
                    id);
    assert_true(wait_campaign(&h, id, "done", 20000));
    for (int i = 0; i < 6; i++) {
        assert_int_equal(dev_version(&devs[i]), 2);
        assert_int_equal(devs[i].deploys, 1);
    }
    assert_int_equal(count(&h, "SELECT COUNT(*) FROM twin WHERE device LIKE 'sh-%' AND version = 2"
                               " AND desired_version = 2", NULL), 6);
    devs_stop();
    mote_moted_destroy(h2.m);
    h2.m = NULL;
    mote_moted_destroy(h.m);
    h.m = NULL;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Figures for docs/scaling.md, only with MOTE_SCALE=N (devices, <= 256):
 * event throughput (N devices x 500 events, QoS 1, each sent twice) and
 * the time of a 3-stage campaign to N devices. */
static void test_scale(void **state)
{
    (void)state;
    const char *env = getenv("MOTE_SCALE");
    int n = env ? atoi(env) : 0;
    if (n <= 0)
        skip();
    if (n > MAX_DEVS)
        n = MAX_DEVS;
    moted_up(&h, "scale", 1);
    register_models(&h, 2);
    devs_start(n, "sc", "line-s", NULL, 1);
    assert_true(wait_count(&h, "SELECT COUNT(*) FROM twin WHERE device LIKE 'sc-%' AND version = 1", NULL, n, 60000));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const int per = 500;
    for (int round = 0; round < 2; round++)
        for (uint64_t seq = 1; seq <= (uint64_t)per; seq++)
            for (int i = 0; i < n; i++) {
                mote_proto_event_t e;
                memset(&e, 0, sizeof e);
                e.seq = seq;
                e.ts = 1700000000000 + (int64_t)seq;
                e.kind = MOTE_EVT_ANOMALY;
                e.score = 0.9;
                e.threshold = 0.5;
                e.n_explain = 2;
                snprintf(e.explain[0].feature, sizeof e.explain[0].feature, "band 150-175 Hz");
                e.explain[0].share = 0.62;
                snprintf(e.explain[1].feature, sizeof e.explain[1].feature, "rms");
                e.explain[1].share = 0.21;
                char buf[2048];
                size_t len = 0;
                assert_int_equal(mote_proto_event_encode(&e, buf, sizeof buf, &len), MOTE_OK);
                dev_publish(&devs[i], MOTE_TOPIC_EVT, buf, len, 0);
            }
    double pub_ms = ms_since(&t0);
    mote_moted_stats_t st;
    for (int t = 0; t < 300000; t += 10) {
        mote_moted_stats(h.m, &st);
        if (st.events + st.duplicates >= (uint64_t)(2 * per * n))
            break;
        sleep_ms(10);
    }
    double ms = ms_since(&t0);
    print_message("scale: %s, %d devices: %d events (+%d redelivered) in %.0f ms = %.0f msg/s"
                  " (publishing took %.0f ms)\n",
                  mote_store_kind(mote_moted_store(h.m)), n, per * n, per * n, ms, 2.0 * per * n / (ms / 1e3), pub_ms);
    assert_int_equal(st.events, per * n);
    assert_int_equal(count(&h, "SELECT COUNT(*) FROM events WHERE device LIKE 'sc-%'", NULL), per * n);
    char id[64];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    create_campaign(&h,
                    "{\"model\":\"sine\",\"version\":2,\"target\":{\"group\":\"line-s\"},\"stages\":[10,50,100],"
                    "\"max_fail_pct\":0,\"stage_timeout_s\":120}",
                    id);
    assert_true(wait_campaign(&h, id, "done", 300000));
    ms = ms_since(&t0);
    mote_moted_stats(h.m, &st);
    print_message("scale: %s, campaign to %d devices (3 stages, 3207-byte bundle in 1 KiB chunks): %.0f ms,"
                  " %llu chunks sent\n",
                  mote_store_kind(mote_moted_store(h.m)), n, ms, (unsigned long long)st.chunks);
    for (int i = 0; i < n; i++)
        assert_int_equal(dev_version(&devs[i]), 2);
    devs_stop();
    moted_down(&h);
}

int main(void)
{
    (void)f_bundle; /* fixture helper this test does not need */
    f_keygen(&key, 7);
    snprintf(root, sizeof root, "/tmp/mote-campaign-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "mosquitto_passwd -c -b %s/passwd moted %s && mosquitto_passwd -b %s/passwd devices %s", root,
             MOTED_PASS, root, DEV_PASS);
    if (system(cmd) != 0)
        return 1;
    mosquitto_lib_init();
    broker_port = free_port();
    struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registry_events_twin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deploy_reconcile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_campaign_completes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_campaign_gate_aborts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_campaign_emergency_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_campaign_survives_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_instances_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scale, setup, teardown),
    };
    int rc = broker_start() == 0 ? cmocka_run_group_tests(tests, NULL, NULL) : 1;
    broker_stop();
    mosquitto_lib_cleanup();
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
