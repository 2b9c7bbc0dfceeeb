/* moted core: life cycle, MQTT message handling, commands, reconciliation
 * and model registration (moted.h). */
#define _POSIX_C_SOURCE 200809L
#include "fl_server.h"
#include "moted_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "bundle.h"
#include "graph.h"
#include "keys.h"

/* ---- logging and ledger ---- */

void mote_moted_log(mote_moted_t *m, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    struct tm tm;
    gmtime_r(&t.tv_sec, &tm);
    pthread_mutex_lock(&m->log_mu);
    fprintf(stderr, "%02d:%02d:%02d.%03ld moted: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec, t.tv_nsec / 1000000, line);
    pthread_mutex_unlock(&m->log_mu);
}

mote_status_t mote_moted_ledger(mote_moted_t *m, const char *kind, json_t *body)
{
    if (!m->ledger)
        return MOTE_OK;
    char *s = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        return MOTE_ERR_NOMEM;
    char err[256];
    mote_status_t st = mote_ledger_append(m->ledger, kind, s, NULL, err, sizeof err);
    if (st != MOTE_OK)
        mote_moted_log(m, "ledger: cannot append %s: %s", kind, err);
    free(s);
    return st;
}

/* ---- life cycle ---- */

static void copy_opt(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static mote_status_t open_ledger(mote_moted_t *m, char *err, size_t errsz)
{
    if (m->cfg.no_ledger)
        return MOTE_OK;
    char path[600];
    snprintf(path, sizeof path, "%s/ledger.jsonl", m->state_dir);
    return mote_ledger_open(&m->ledger, path, m->sk, err, errsz);
}

static mote_status_t open_store(mote_moted_t *m, char *err, size_t errsz)
{
    char path[600];
    snprintf(path, sizeof path, "%s/moted.db", m->state_dir);
    char bdir[600];
    snprintf(bdir, sizeof bdir, "%s/bundles", m->state_dir);
    if (mkdir(bdir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errsz, "%s: %s", bdir, strerror(errno));
        return MOTE_ERR_IO;
    }
    return mote_store_open(&m->store, m->cfg.db_url ? m->cfg.db_url : path, err, errsz);
}

mote_status_t mote_moted_create(mote_moted_t **out, const mote_moted_config_t *cfg, char *err, size_t errsz)
{
    *out = NULL;
    if (!cfg || !cfg->state_dir || !cfg->fleet_sk || strlen(cfg->state_dir) >= 400) {
        snprintf(err, errsz, "moted: state dir and fleet key are required");
        return MOTE_ERR_ARG;
    }
    if (sodium_init() < 0) {
        snprintf(err, errsz, "moted: libsodium failed to initialize");
        return MOTE_ERR_STATE;
    }
    mote_moted_t *m = calloc(1, sizeof *m);
    if (!m)
        return MOTE_ERR_NOMEM;
    m->cfg = *cfg;
    copy_opt(m->state_dir, sizeof m->state_dir, cfg->state_dir);
    copy_opt(m->host, sizeof m->host, cfg->broker_host);
    copy_opt(m->user, sizeof m->user, cfg->user);
    copy_opt(m->pass, sizeof m->pass, cfg->pass);
    copy_opt(m->cafile, sizeof m->cafile, cfg->cafile);
    copy_opt(m->cert, sizeof m->cert, cfg->cert);
    copy_opt(m->key, sizeof m->key, cfg->key);
    copy_opt(m->client_id, sizeof m->client_id, cfg->client_id ? cfg->client_id : "moted");
    memcpy(m->sk, cfg->fleet_sk, sizeof m->sk);
    if (!m->cfg.chunk || m->cfg.chunk > MOTE_PROTO_MAX_CHUNK)
        m->cfg.chunk = 16384;
    if (!m->cfg.resend_ms)
        m->cfg.resend_ms = 5000;
    if (!m->cfg.tick_ms)
        m->cfg.tick_ms = 200;
    pthread_mutex_init(&m->log_mu, NULL);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&m->cmd_mu, &ma);
    pthread_mutexattr_destroy(&ma);
    mote_status_t st = open_store(m, err, errsz);
    if (st == MOTE_OK)
        st = open_ledger(m, err, errsz);
    if (st != MOTE_OK) {
        mote_moted_destroy(m);
        return st;
    }
    *out = m;
    return MOTE_OK;
}

mote_store_t *mote_moted_store(mote_moted_t *m)
{
    return m->store;
}

void mote_moted_stats(mote_moted_t *m, mote_moted_stats_t *st)
{
    st->messages = m->n_msg;
    st->bad = m->n_bad;
    st->events = m->n_evt;
    st->duplicates = m->n_dup;
    st->chunks = m->n_chunk;
    st->commands = m->n_cmd;
    st->connected = m->connected;
}

/* ---- MQTT ---- */

static const char *const SUFFIX[] = {"td", "evt", "hb", "state", "ota/req", "fl/up"};

static void on_connect(struct mosquitto *mq, void *user, int rc, int flags, const mosquitto_property *props)
{
    (void)flags;
    (void)props;
    mote_moted_t *m = user;
    if (rc != 0) {
        mote_moted_log(m, "broker refused the connection: %s", mosquitto_reason_string(rc));
        return;
    }
    m->connected = 1;
    for (size_t i = 0; i < sizeof SUFFIX / sizeof SUFFIX[0]; i++) {
        char filter[128];
        snprintf(filter, sizeof filter, "%smote/v1/d/+/%s", m->cfg.shared ? "$share/moted/" : "", SUFFIX[i]);
        if (mosquitto_subscribe_v5(mq, NULL, filter, 1, 0, NULL) != MOSQ_ERR_SUCCESS)
            mote_moted_log(m, "cannot subscribe to %s", filter);
    }
    mote_moted_log(m, "connected to the broker as %s%s", m->client_id, m->cfg.shared ? " (shared)" : "");
}

static void on_disconnect(struct mosquitto *mq, void *user, int rc, const mosquitto_property *props)
{
    (void)mq;
    (void)props;
    mote_moted_t *m = user;
    m->connected = 0;
    if (!m->stop)
        mote_moted_log(m, "disconnected from the broker (%s), reconnecting", mosquitto_reason_string(rc));
}

mote_status_t moted_publish(mote_moted_t *m, const char *topic, const void *buf, size_t len, int qos)
{
    if (!m->mq)
        return MOTE_ERR_STATE;
    int rc = mosquitto_publish_v5(m->mq, NULL, topic, (int)len, buf, qos, false, NULL);
    /* NO_CONN: libmosquitto queues QoS>0 messages and sends them on reconnect. */
    return rc == MOSQ_ERR_SUCCESS || (rc == MOSQ_ERR_NO_CONN && qos > 0) ? MOTE_OK : MOTE_ERR_IO;
}

static void bad(mote_moted_t *m, const char *dev, const char *what, const char *err)
{
    m->n_bad++;
    mote_moted_log(m, "%s: refused %s: %s", dev, what, err);
}

static void handle_td(mote_moted_t *m, const char *dev, const struct mosquitto_message *msg)
{
    mote_proto_td_t td;
    char err[256];
    if (mote_proto_td_decode(msg->payload, (size_t)msg->payloadlen, &td, err, sizeof err) != MOTE_OK) {
        bad(m, dev, "td", err);
        return;
    }
    if (strcmp(td.id, dev) != 0) {
        bad(m, dev, "td", "its id names another device");
        return;
    }
    char *json = strndup(msg->payload, (size_t)msg->payloadlen);
    mote_status_t st = json ? mote_store_device_upsert(m->store, dev, json, td.device_class, td.group, td.ram_bytes,
                                                       td.flash_bytes, td.runtime, mote_store_now_ms(), err, sizeof err)
                            : MOTE_ERR_NOMEM;
    free(json);
    if (st != MOTE_OK) {
        mote_moted_log(m, "%s: store: %s", dev, err);
        return;
    }
    if (m->cfg.graph &&
        mote_graph_add_td(m->cfg.graph, msg->payload, (size_t)msg->payloadlen, err, sizeof err) != MOTE_OK)
        mote_moted_log(m, "%s: graph: %s", dev, err);
    moted_reconcile(m, dev, 1);
}

static void handle_evt(mote_moted_t *m, const char *dev, const struct mosquitto_message *msg)
{
    mote_proto_event_t e;
    char err[256], json[4096];
    size_t len = 0;
    if (mote_proto_event_decode(msg->payload, (size_t)msg->payloadlen, &e, err, sizeof err) != MOTE_OK) {
        bad(m, dev, "event", err);
        return;
    }
    /* Store the re-encoded event: only fields the protocol knows, normalized. */
    if (mote_proto_event_encode(&e, json, sizeof json, &len) != MOTE_OK) {
        bad(m, dev, "event", "cannot re-encode");
        return;
    }
    /* Queued for the batch writer; last_seen is left to heartbeats and
     * state, so an event costs one insert. */
    moted_evq_put(m, dev, e.seq, e.ts, mote_proto_evt_kind_str(e.kind), json);
}

static void handle_hb(mote_moted_t *m, const char *dev, const struct mosquitto_message *msg)
{
    mote_proto_heartbeat_t h;
    char err[256], json[2048];
    size_t len = 0;
    if (mote_proto_heartbeat_decode(msg->payload, (size_t)msg->payloadlen, &h, err, sizeof err) != MOTE_OK) {
        bad(m, dev, "heartbeat", err);
        return;
    }
    if (mote_proto_heartbeat_encode(&h, json, sizeof json, &len) != MOTE_OK) {
        bad(m, dev, "heartbeat", "cannot re-encode");
        return;
    }
    moted_evq_put_hb(m, dev, json);
}

static void graph_deployment(mote_moted_t *m, const char *dev, const mote_proto_state_t *s);

static void handle_state(mote_moted_t *m, const char *dev, const struct mosquitto_message *msg)
{
    mote_proto_state_t s;
    char err[256], json[2048];
    size_t len = 0;
    if (mote_proto_state_decode(msg->payload, (size_t)msg->payloadlen, &s, err, sizeof err) != MOTE_OK) {
        bad(m, dev, "state", err);
        return;
    }
    if (mote_proto_state_encode(&s, json, sizeof json, &len) != MOTE_OK) {
        bad(m, dev, "state", "cannot re-encode");
        return;
    }
    moted_evq_put_state(m, dev, &s, json);
}

void moted_state_applied(mote_moted_t *m, const char *dev, const mote_proto_state_t *s)
{
    graph_deployment(m, dev, s);
    moted_reconcile(m, dev, 0);
}

/* Keep "what runs where" in the knowledge graph (when there is one). */
static void graph_deployment(mote_moted_t *m, const char *dev, const mote_proto_state_t *s)
{
    char ver[24], err[256];
    if (!m->cfg.graph)
        return;
    snprintf(ver, sizeof ver, "%" PRIu64, s->model.version);
    if (mote_graph_set_deployment(m->cfg.graph, dev, s->model.version ? s->model.name : NULL, ver,
                                  s->slot_state[0] ? s->slot_state : NULL, err, sizeof err) != MOTE_OK)
        mote_moted_log(m, "%s: graph: %s", dev, err);
}

static void handle_ota_req(mote_moted_t *m, const char *dev, const struct mosquitto_message *msg)
{
    mote_proto_ota_req_t r;
    char err[256];
    if (mote_proto_ota_req_decode(msg->payload, (size_t)msg->payloadlen, &r, err, sizeof err) != MOTE_OK) {
        bad(m, dev, "chunk request", err);
        return;
    }
    mote_ota_serve(m, dev, &r);
}

static void on_message(struct mosquitto *mq, void *user, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void)mq;
    (void)props;
    mote_moted_t *m = user;
    char dev[MOTE_PROTO_ID_LEN];
    mote_proto_topic_t t;
    m->n_msg++;
    if (mote_proto_topic_parse(msg->topic, dev, &t) != MOTE_OK || msg->payloadlen <= 0) {
        m->n_bad++;
        return;
    }
    switch (t) {
    case MOTE_TOPIC_TD: handle_td(m, dev, msg); break;
    case MOTE_TOPIC_EVT: handle_evt(m, dev, msg); break;
    case MOTE_TOPIC_HB: handle_hb(m, dev, msg); break;
    case MOTE_TOPIC_STATE: handle_state(m, dev, msg); break;
    case MOTE_TOPIC_OTA_REQ: handle_ota_req(m, dev, msg); break;
    case MOTE_TOPIC_FL_UP: mote_fl_on_up(m->fl, dev, msg->payload, (size_t)msg->payloadlen); break;
    default: m->n_bad++; break;
    }
}

static mote_status_t mqtt_setup(mote_moted_t *m, char *err, size_t errsz)
{
    mosquitto_lib_init();
    /* clean_session false + a session expiry: the broker keeps our
     * subscriptions and queues QoS 1 messages while moted restarts. */
    m->mq = mosquitto_new(m->client_id, false, m);
    if (!m->mq) {
        snprintf(err, errsz, "mqtt: cannot create a client");
        return MOTE_ERR_NOMEM;
    }
    mosquitto_int_option(m->mq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(m->mq, on_connect);
    mosquitto_disconnect_v5_callback_set(m->mq, on_disconnect);
    mosquitto_message_v5_callback_set(m->mq, on_message);
    mosquitto_reconnect_delay_set(m->mq, 1, 4, false);
    mosquitto_max_inflight_messages_set(m->mq, 100);
    if (m->user[0] && mosquitto_username_pw_set(m->mq, m->user, m->pass[0] ? m->pass : NULL) != MOSQ_ERR_SUCCESS) {
        snprintf(err, errsz, "mqtt: bad credentials");
        return MOTE_ERR_ARG;
    }
    if (m->cafile[0] && mosquitto_tls_set(m->mq, m->cafile, NULL, m->cert[0] ? m->cert : NULL,
                                          m->key[0] ? m->key : NULL, NULL) != MOSQ_ERR_SUCCESS) {
        snprintf(err, errsz, "mqtt: cannot use TLS files (%s)", m->cafile);
        return MOTE_ERR_IO;
    }
    return MOTE_OK;
}

static void *ticker_main(void *arg)
{
    mote_moted_t *m = arg;
    unsigned ticks = 0;
    prctl(PR_SET_NAME, "moted-ticker"); /* names the thread in top -H, perf, gdb */
    while (!m->stop) {
        mote_campaign_tick(m);
        mote_fl_tick(m->fl); /* federated rounds, when moted --fed */
        if (++ticks % 10 == 0)
            moted_reconcile_sweep(m);
        struct timespec d = {0, (long)m->cfg.tick_ms * 1000000L};
        while (d.tv_nsec >= 1000000000L) {
            d.tv_sec++;
            d.tv_nsec -= 1000000000L;
        }
        nanosleep(&d, NULL);
    }
    return NULL;
}

mote_status_t mote_moted_start(mote_moted_t *m, char *err, size_t errsz)
{
    m->stop = 0;
    if (moted_evq_start(m) != MOTE_OK) {
        snprintf(err, errsz, "moted: cannot start the event writer");
        return MOTE_ERR_STATE;
    }
    if (m->host[0]) {
        mote_status_t st = mqtt_setup(m, err, errsz);
        if (st != MOTE_OK)
            return st;
        mosquitto_property *props = NULL;
        mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 86400);
        int rc = mosquitto_connect_bind_v5(m->mq, m->host, m->cfg.broker_port, 30, NULL, props);
        mosquitto_property_free_all(&props);
        if (rc != MOSQ_ERR_SUCCESS)
            mote_moted_log(m, "broker %s:%d: %s; retrying", m->host, m->cfg.broker_port,
                           rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        if (mosquitto_loop_start(m->mq) != MOSQ_ERR_SUCCESS) {
            snprintf(err, errsz, "mqtt: cannot start the network thread");
            return MOTE_ERR_STATE;
        }
    }
    if (pthread_create(&m->ticker, NULL, ticker_main, m) != 0) {
        snprintf(err, errsz, "moted: cannot start the ticker");
        return MOTE_ERR_STATE;
    }
    m->ticker_running = 1;
    return MOTE_OK;
}

void mote_moted_stop(mote_moted_t *m)
{
    if (!m)
        return;
    m->stop = 1;
    if (m->ticker_running) {
        pthread_join(m->ticker, NULL);
        m->ticker_running = 0;
    }
    if (m->mq) {
        mosquitto_disconnect_v5(m->mq, 0, NULL);
        mosquitto_loop_stop(m->mq, false);
        m->connected = 0;
    }
    /* After the MQTT thread (nothing queues any more) and before the
     * client goes: draining may still reconcile, i.e. publish. */
    moted_evq_stop(m);
    if (m->mq) {
        mosquitto_destroy(m->mq);
        m->mq = NULL;
    }
}

void mote_moted_destroy(mote_moted_t *m)
{
    if (!m)
        return;
    mote_moted_stop(m);
    mote_ledger_close(m->ledger);
    mote_store_close(m->store);
    sodium_memzero(m->sk, sizeof m->sk);
    pthread_mutex_destroy(&m->log_mu);
    pthread_mutex_destroy(&m->cmd_mu);
    free(m);
}

/* ---- commands ---- */

static mote_status_t send_cmd(mote_moted_t *m, mote_proto_cmd_t *c, char *err, size_t errsz)
{
    mote_status_t st = mote_store_cmd_seq_next(m->store, c->dev, &c->seq, err, errsz);
    if (st != MOTE_OK)
        return st;
    c->ts = mote_store_now_ms();
    uint8_t buf[4096];
    size_t len = 0;
    char topic[MOTE_PROTO_TOPIC_LEN];
    st = mote_proto_cmd_encode(c, m->sk, buf, sizeof buf, &len);
    if (st == MOTE_OK)
        st = mote_proto_topic(topic, sizeof topic, c->dev, MOTE_TOPIC_CMD);
    if (st == MOTE_OK)
        st = moted_publish(m, topic, buf, len, 1);
    if (st != MOTE_OK) {
        snprintf(err, errsz, "cannot send %s to %s: %s", mote_proto_op_str(c->op), c->dev, mote_status_str(st));
        return st;
    }
    m->n_cmd++;
    return mote_store_twin_sent(m->store, c->dev, c->seq, c->ts, err, errsz);
}

static mote_status_t send_rollback(mote_moted_t *m, const char *dev, const char *reason, char *err, size_t errsz)
{
    mote_proto_cmd_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.dev, sizeof c.dev, "%s", dev);
    c.op = MOTE_OP_ROLLBACK;
    snprintf(c.reason, sizeof c.reason, "%s", reason ? reason : "");
    mote_status_t st = send_cmd(m, &c, err, errsz);
    if (st != MOTE_OK)
        return st;
    mote_moted_log(m, "%s: rollback (seq %" PRIu64 "): %s", dev, c.seq, c.reason);
    json_t *b = json_pack("{s:s,s:I,s:s}", "device", dev, "seq", (json_int_t)c.seq, "reason", c.reason);
    mote_moted_ledger(m, "rollback", b);
    json_decref(b);
    return MOTE_OK;
}

/* Store part of a deploy batch, one transaction: desired model, a fresh
 * command seq and "sent" for every device. Committed before anything is
 * published, so a crash can lose a command (the reconcile sweep resends
 * it) but never reuse a seq a device has already seen. */
static mote_status_t reserve_batch(mote_moted_t *m, const char *const *devs, size_t n, const mote_store_model_t *md,
                                   const char *campaign, int64_t now, mote_moted_deploy_result_t *res, char *err,
                                   size_t errsz)
{
    mote_status_t st = mote_store_begin(m->store, err, errsz);
    for (size_t i = 0; st == MOTE_OK && i < n; i++) {
        res[i].seq = 0;
        res[i].st = MOTE_ERR_ARG;
        if (!mote_proto_id_valid(devs[i])) {
            snprintf(res[i].why, sizeof res[i].why, "'%.64s' is not a valid device id", devs[i]);
            continue;
        }
        st = mote_store_twin_desired(m->store, devs[i], md->name, md->version, campaign, now, err, errsz);
        if (st == MOTE_OK)
            st = mote_store_cmd_seq_next(m->store, devs[i], &res[i].seq, err, errsz);
        if (st == MOTE_OK)
            st = mote_store_twin_sent(m->store, devs[i], res[i].seq, now, err, errsz);
        res[i].st = st;
    }
    if (st != MOTE_OK) {
        mote_store_rollback(m->store);
        return st;
    }
    return mote_store_commit(m->store, err, errsz);
}

/* One ledger entry per device, written with one fsync. */
static void ledger_batch(mote_moted_t *m, const char *const *devs, size_t n, const mote_store_model_t *md,
                         const char *campaign, const mote_moted_deploy_result_t *res)
{
    if (!m->ledger)
        return;
    mote_ledger_item_t *items = calloc(n ? n : 1, sizeof *items);
    char **bodies = calloc(n ? n : 1, sizeof *bodies);
    size_t k = 0;
    for (size_t i = 0; items && bodies && i < n; i++) {
        if (res[i].st != MOTE_OK)
            continue;
        json_t *b = json_pack("{s:s,s:s,s:I,s:I,s:s}", "device", devs[i], "model", md->name, "version",
                              (json_int_t)md->version, "seq", (json_int_t)res[i].seq, "campaign",
                              campaign ? campaign : "");
        bodies[k] = b ? json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(b);
        if (bodies[k])
            items[k].kind = "deploy", items[k].body_json = bodies[k], k++;
    }
    char err[256] = "out of memory";
    if (!items || !bodies || mote_ledger_append_many(m->ledger, items, k, NULL, err, sizeof err) != MOTE_OK)
        mote_moted_log(m, "ledger: cannot append %zu deploy entries: %s", k, err);
    for (size_t i = 0; bodies && i < k; i++)
        free(bodies[i]);
    free(bodies);
    free(items);
}

static void publish_deploy(mote_moted_t *m, const char *dev, const mote_store_model_t *md, const uint8_t sha[32],
                           const char *campaign, int64_t now, mote_moted_deploy_result_t *r)
{
    mote_proto_cmd_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.dev, sizeof c.dev, "%s", dev);
    c.op = MOTE_OP_DEPLOY;
    c.seq = r->seq;
    c.ts = now;
    snprintf(c.model.name, sizeof c.model.name, "%s", md->name);
    c.model.version = md->version;
    memcpy(c.bundle, sha, 32);
    c.size = md->size;
    c.chunk = m->cfg.chunk;
    snprintf(c.campaign, sizeof c.campaign, "%s", campaign ? campaign : "");
    uint8_t buf[4096];
    size_t len = 0;
    char topic[MOTE_PROTO_TOPIC_LEN];
    mote_status_t st = mote_proto_cmd_encode(&c, m->sk, buf, sizeof buf, &len);
    if (st == MOTE_OK)
        st = mote_proto_topic(topic, sizeof topic, dev, MOTE_TOPIC_CMD);
    if (st == MOTE_OK)
        st = moted_publish(m, topic, buf, len, 1);
    r->st = st;
    if (st != MOTE_OK) {
        snprintf(r->why, sizeof r->why, "cannot send deploy to %s: %s", dev, mote_status_str(st));
        return;
    }
    m->n_cmd++;
    mote_moted_log(m, "%s: deploy %s v%" PRIu64 " (seq %" PRIu64 ")", dev, md->name, md->version, c.seq);
}

static mote_status_t deploy_many_locked(mote_moted_t *m, const char *const *devs, size_t n, const char *model,
                                        uint64_t version, const char *campaign, mote_moted_deploy_result_t *res,
                                        char *err, size_t errsz)
{
    mote_store_model_t md;
    int r = mote_store_model_get(m->store, model, version, &md, err, errsz);
    if (r <= 0) {
        if (r == 0)
            snprintf(err, errsz, "model %s version %" PRIu64 " is not registered", model, version);
        return r < 0 ? (mote_status_t)r : MOTE_ERR_NOT_FOUND;
    }
    uint8_t sha[32];
    if (mote_hex_decode(md.sha256, 32, sha, 0) != MOTE_OK) {
        snprintf(err, errsz, "model %s v%" PRIu64 ": bad stored hash", md.name, md.version);
        return MOTE_ERR_CORRUPT;
    }
    int64_t now = mote_store_now_ms();
    mote_status_t st = reserve_batch(m, devs, n, &md, campaign, now, res, err, errsz);
    if (st != MOTE_OK)
        return st;
    /* Ledger before the wire: every command a device can act on is recorded. */
    ledger_batch(m, devs, n, &md, campaign, res);
    for (size_t i = 0; i < n; i++)
        if (res[i].st == MOTE_OK)
            publish_deploy(m, devs[i], &md, sha, campaign, now, &res[i]);
    return MOTE_OK;
}

/* Why one lock around "read the twin, decide, send, record": the campaign
 * ticker and the MQTT thread (a device reconnecting) may act on the same
 * device at once, and each would otherwise see the other's command as not
 * sent yet and send its own. */
mote_status_t mote_moted_deploy_many(mote_moted_t *m, const char *const *devs, size_t n, const char *model,
                                     uint64_t version, const char *campaign, mote_moted_deploy_result_t *res,
                                     char *err, size_t errsz)
{
    if (n == 0)
        return MOTE_OK;
    pthread_mutex_lock(&m->cmd_mu);
    mote_status_t st = deploy_many_locked(m, devs, n, model, version, campaign, res, err, errsz);
    pthread_mutex_unlock(&m->cmd_mu);
    return st;
}

mote_status_t mote_moted_deploy(mote_moted_t *m, const char *dev, const char *model, uint64_t version,
                                const char *campaign, char *err, size_t errsz)
{
    mote_moted_deploy_result_t r;
    memset(&r, 0, sizeof r);
    mote_status_t st = mote_moted_deploy_many(m, &dev, 1, model, version, campaign, &r, err, errsz);
    if (st == MOTE_OK && r.st != MOTE_OK) {
        snprintf(err, errsz, "%s", r.why[0] ? r.why : mote_status_str(r.st));
        st = r.st;
    }
    return st;
}

static mote_status_t rollback_locked(mote_moted_t *m, const char *dev, const char *reason, char *err, size_t errsz)
{
    mote_store_twin_t t;
    int r = mote_store_twin_get(m->store, dev, &t, err, errsz);
    if (r <= 0) {
        if (r == 0)
            snprintf(err, errsz, "device '%s' has no twin", dev);
        return r < 0 ? (mote_status_t)r : MOTE_ERR_NOT_FOUND;
    }
    mote_status_t st =
        mote_store_twin_desired(m->store, dev, t.prev_model, t.prev_version, NULL, mote_store_now_ms(), err, errsz);
    return st != MOTE_OK ? st : send_rollback(m, dev, reason, err, errsz);
}

/* ---- reconciliation ---- */

static int in_progress(const mote_store_twin_t *t)
{
    return t->ota_version == t->desired_version &&
           (strcmp(t->ota_status, "downloading") == 0 || strcmp(t->ota_status, "installed") == 0);
}

static int failed_desired(const mote_store_twin_t *t)
{
    return t->ota_version == t->desired_version &&
           (strcmp(t->ota_status, "refused") == 0 || strcmp(t->ota_status, "failed") == 0 ||
            strcmp(t->ota_status, "rolled_back") == 0);
}

/* When to act, and why not on every message: a device that refused or
 * failed the desired version would otherwise be asked again forever. On a
 * reconnect (TD) the device is asked again unless it has not answered a
 * command sent less than resend_ms ago. On a state message only when it
 * has answered our last command with "ok" and is not busy with or done
 * failing the desired version. A rollback towards a desired previous model
 * follows the same rules but has no rate limit: it answers a new fact. */
mote_status_t mote_moted_rollback(mote_moted_t *m, const char *dev, const char *reason, char *err, size_t errsz)
{
    pthread_mutex_lock(&m->cmd_mu);
    mote_status_t st = rollback_locked(m, dev, reason, err, errsz);
    pthread_mutex_unlock(&m->cmd_mu);
    return st;
}

static void reconcile_locked(mote_moted_t *m, const char *dev, int on_connect);

void moted_reconcile(mote_moted_t *m, const char *dev, int on_connect)
{
    pthread_mutex_lock(&m->cmd_mu);
    reconcile_locked(m, dev, on_connect);
    pthread_mutex_unlock(&m->cmd_mu);
}

static void reconcile_locked(mote_moted_t *m, const char *dev, int on_connect)
{
    mote_store_twin_t t;
    char err[256];
    if (mote_store_twin_get(m->store, dev, &t, err, sizeof err) <= 0 || t.desired_version == 0)
        return;
    if ((strcmp(t.model, t.desired_model) == 0 && t.version == t.desired_version) || in_progress(&t))
        return;
    int answered = t.cmd_seq >= t.sent_seq;
    int recent = mote_store_now_ms() - t.sent_at < (int64_t)m->cfg.resend_ms;
    int ok = t.cmd_status[0] == '\0' || strcmp(t.cmd_status, "ok") == 0;
    int back = strcmp(t.prev_model, t.desired_model) == 0 && t.prev_version == t.desired_version &&
               t.version > t.desired_version;
    if (on_connect ? (!answered && recent) : (!answered || !ok || failed_desired(&t) || (recent && !back)))
        return;
    mote_status_t st;
    if (back)
        st = send_rollback(m, dev, "reconcile: desired is the previous model", err, sizeof err);
    else
        st = mote_moted_deploy(m, dev, t.desired_model, t.desired_version, t.campaign[0] ? t.campaign : NULL, err,
                               sizeof err);
    if (st != MOTE_OK)
        mote_moted_log(m, "%s: reconcile: %s", dev, err);
}

typedef struct devlist {
    char ids[64][MOTE_PROTO_ID_LEN];
    size_t n;
} devlist_t;

static int collect_dev(void *user, int ncol, const char *const *names, const char *const *v,
                       const mote_store_type_t *types)
{
    (void)names;
    (void)types;
    devlist_t *l = user;
    if (ncol > 0 && v[0] && l->n < sizeof l->ids / sizeof l->ids[0])
        snprintf(l->ids[l->n++], MOTE_PROTO_ID_LEN, "%s", v[0]);
    return l->n >= sizeof l->ids / sizeof l->ids[0];
}

void moted_reconcile_sweep(mote_moted_t *m)
{
    /* A command can be lost (broker restart, device session gone) while
     * the device stays online: ask again those heard from since we sent
     * and that never answered. */
    char err[256], before[24];
    snprintf(before, sizeof before, "%" PRId64, mote_store_now_ms() - 2 * (int64_t)m->cfg.resend_ms);
    const char *p[] = {before};
    devlist_t *l = calloc(1, sizeof *l);
    if (!l)
        return;
    if (mote_store_exec(m->store,
                        "SELECT t.device FROM twin t JOIN devices d ON d.id = t.device WHERE t.desired_version > 0"
                        " AND (t.model <> t.desired_model OR t.version <> t.desired_version)"
                        " AND t.cmd_seq < t.sent_seq AND t.sent_at < ? AND d.last_seen > t.sent_at",
                        p, 1, collect_dev, l, NULL, err, sizeof err) != MOTE_OK)
        mote_moted_log(m, "reconcile: %s", err);
    for (size_t i = 0; i < l->n; i++)
        moted_reconcile(m, l->ids[i], 1);
    free(l);
}

/* ---- model registration ---- */

static void *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *b = cap <= MOTE_BUNDLE_MAX_PAYLOAD_LEN ? realloc(buf, cap) : NULL;
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int e = ferror(f);
    fclose(f);
    if (e) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static mote_status_t write_atomic(const char *path, const void *buf, size_t len, char *err, size_t errsz)
{
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int ok = fd >= 0;
    size_t off = 0;
    while (ok && off < len) {
        ssize_t w = write(fd, (const uint8_t *)buf + off, len - off);
        ok = w > 0;
        off += ok ? (size_t)w : 0;
    }
    ok = ok && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return MOTE_ERR_IO;
    }
    return MOTE_OK;
}

typedef struct pkg {
    void *data[3];
    size_t len[3];
    char names[3][MOTE_BUNDLE_PNAME_LEN];
    size_t n;
    json_t *card;
} pkg_t;

static void pkg_free(pkg_t *p)
{
    for (size_t i = 0; i < 3; i++)
        free(p->data[i]);
    json_decref(p->card);
}

static mote_status_t pkg_read(pkg_t *p, const char *dir, const char *name, char *err, size_t errsz)
{
    static const char *const ext[] = {".tflite", ".dspcfg", ".json"};
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < 3; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s%s", dir, name, ext[i]);
        void *d = read_all(path, &p->len[p->n]);
        if (!d && i == 0) {
            snprintf(err, errsz, "%s: cannot read (%s)", path, strerror(errno ? errno : EIO));
            return MOTE_ERR_IO;
        }
        if (!d || p->len[p->n] == 0) {
            free(d);
            continue;
        }
        if (i == 2 && !(p->card = json_loadb(d, p->len[p->n], 0, NULL))) {
            snprintf(err, errsz, "%s: model card is not JSON", path);
            free(d);
            return MOTE_ERR_FORMAT;
        }
        snprintf(p->names[p->n], sizeof p->names[0], "%s%s", name, ext[i]);
        p->data[p->n++] = d;
    }
    return MOTE_OK;
}

static int name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.'))
            return 0;
    }
    return 1;
}

static mote_status_t build_bundle(mote_moted_t *m, const pkg_t *p, mote_store_model_t *md, char *err, size_t errsz)
{
    mote_bundle_input_t in[3];
    for (size_t i = 0; i < p->n; i++)
        in[i] = (mote_bundle_input_t){p->names[i], p->data[i], p->len[i]};
    mote_bundle_info_t hdr;
    memset(&hdr, 0, sizeof hdr);
    snprintf(hdr.name, sizeof hdr.name, "%s", md->name);
    snprintf(hdr.target, sizeof hdr.target, "%s", md->target);
    hdr.version = md->version;
    hdr.created = (uint64_t)time(NULL);
    uint8_t *b = NULL;
    size_t blen = 0;
    mote_status_t st = mote_bundle_build(&hdr, in, p->n, m->sk, &b, &blen, err, errsz);
    if (st != MOTE_OK)
        return st;
    uint8_t h[32];
    crypto_hash_sha256(h, b, blen);
    mote_hex_encode(h, 32, md->sha256);
    md->size = blen;
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/bundles/%s-%" PRIu64 ".bundle", m->state_dir, md->name, md->version);
    if (n < 0 || (size_t)n >= sizeof md->bundle_path) {
        free(b);
        snprintf(err, errsz, "bundle path too long");
        return MOTE_ERR_LIMIT;
    }
    memcpy(md->bundle_path, path, (size_t)n + 1);
    st = write_atomic(md->bundle_path, b, blen, err, errsz);
    free(b);
    return st;
}

mote_status_t mote_moted_model_register(mote_moted_t *m, const char *dir, const char *name, uint64_t version,
                                        const char *target, mote_store_model_t *out, char *err, size_t errsz)
{
    if (!dir || !name || !target || !name_ok(name, 63) || !target[0] || strlen(target) > 63) {
        snprintf(err, errsz, "need a package dir, a model name of 1..63 [A-Za-z0-9_.-] and a target class");
        return MOTE_ERR_ARG;
    }
    mote_store_model_t md;
    memset(&md, 0, sizeof md);
    snprintf(md.name, sizeof md.name, "%s", name);
    snprintf(md.target, sizeof md.target, "%s", target);
    if (version == 0) {
        int64_t latest = mote_store_model_latest(m->store, name, err, errsz);
        if (latest < 0)
            return (mote_status_t)latest;
        version = (uint64_t)latest + 1;
    }
    md.version = version;
    mote_store_model_t dup;
    int r = mote_store_model_get(m->store, name, version, &dup, err, errsz);
    if (r != 0) {
        if (r > 0)
            snprintf(err, errsz, "model %s version %" PRIu64 " is already registered", name, version);
        return r > 0 ? MOTE_ERR_STATE : (mote_status_t)r;
    }
    pkg_t p;
    mote_status_t st = pkg_read(&p, dir, name, err, errsz);
    if (st == MOTE_OK)
        st = build_bundle(m, &p, &md, err, errsz);
    char *card = st == MOTE_OK && p.card ? json_dumps(p.card, JSON_COMPACT) : NULL;
    if (st == MOTE_OK)
        st = mote_store_model_insert(m->store, &md, card, mote_store_now_ms(), err, errsz);
    if (st == MOTE_OK && card && m->cfg.graph &&
        mote_graph_add_card(m->cfg.graph, card, strlen(card), err, errsz) != MOTE_OK)
        mote_moted_log(m, "model %s: graph: %s", name, err); /* the model stays registered */
    free(card);
    pkg_free(&p);
    if (st != MOTE_OK)
        return st;
    mote_moted_log(m, "model %s v%" PRIu64 " registered for %s (%" PRIu64 " bytes)", name, version, target, md.size);
    json_t *b = json_pack("{s:s,s:I,s:s,s:s,s:I}", "model", name, "version", (json_int_t)version, "target", target,
                          "sha256", md.sha256, "size", (json_int_t)md.size);
    mote_moted_ledger(m, "model.register", b);
    json_decref(b);
    if (out)
        *out = md;
    return MOTE_OK;
}
