/* mote-agent subcommands: keygen, bundle, cmd, serve (tools.h). */
#define _POSIX_C_SOURCE 200809L
#include "tools.h"

#include <errno.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "keys.h"
#include "pack.h"

#define MAX_BUNDLE (64u << 20)

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "mote-agent: %s: %s\n", what, msg);
    return 1;
}

static int usage(const char *text)
{
    fprintf(stderr, "usage: mote-agent %s\n", text);
    return 2;
}

/* Value of option argv[*i] (advancing *i), or NULL when missing. */
static const char *value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "mote-agent: %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int parse_u64(const char *s, unsigned long long *v)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    *v = strtoull(s, &end, 10);
    return errno || *end ? -1 : 0;
}

int mote_tools_parse_broker(const char *s, char *host, size_t cap, int *port)
{
    const char *c = s ? strrchr(s, ':') : NULL;
    unsigned long long p;
    if (!c || c == s || (size_t)(c - s) >= cap || parse_u64(c + 1, &p) || p == 0 || p > 65535)
        return -1;
    memcpy(host, s, (size_t)(c - s));
    host[c - s] = '\0';
    *port = (int)p;
    return 0;
}

int mote_tools_keygen(int argc, char **argv)
{
    const char *out = NULL;
    int force = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out")) {
            if (!(out = value(argc, argv, &i)))
                return 2;
        } else if (!strcmp(argv[i], "--force")) {
            force = 1;
        } else {
            return usage("keygen --out PREFIX [--force]");
        }
    }
    if (!out)
        return usage("keygen --out PREFIX [--force]");
    char err[256];
    if (mote_key_generate(out, force, NULL, err, sizeof err) != MOTE_OK)
        return fail(out, err);
    printf("%s.sk\n%s.pk\n", out, out);
    return 0;
}

static int load_sk(const char *path, uint8_t sk[crypto_sign_SECRETKEYBYTES])
{
    char err[256];
    if (!path)
        return usage("... --key SK (a secret key file)");
    if (mote_key_load_sk(path, sk, err, sizeof err) != MOTE_OK)
        return fail(path, err);
    return 0;
}

int mote_tools_bundle(int argc, char **argv)
{
    static const char *u = "bundle --key SK --name NAME --version V --target CLASS --out FILE FILES...";
    const char *key = NULL, *name = NULL, *target = NULL, *out = NULL, *ver = NULL;
    const char *files[MOTE_BUNDLE_MAX_PAYLOADS + 1];
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        const char **dst = !strcmp(argv[i], "--key")       ? &key
                           : !strcmp(argv[i], "--name")    ? &name
                           : !strcmp(argv[i], "--target")  ? &target
                           : !strcmp(argv[i], "--out")     ? &out
                           : !strcmp(argv[i], "--version") ? &ver
                                                           : NULL;
        if (dst && !(*dst = value(argc, argv, &i)))
            return 2;
        if (!dst && (argv[i][0] == '-' || n == MOTE_BUNDLE_MAX_PAYLOADS + 1))
            return usage(u);
        if (!dst)
            files[n++] = argv[i];
    }
    unsigned long long v;
    if (!key || !name || !target || !out || n == 0 || parse_u64(ver, &v) || v == 0)
        return usage(u);
    uint8_t sk[crypto_sign_SECRETKEYBYTES], *b = NULL;
    size_t len;
    char msg[MOTE_PACK_MSG_LEN];
    int rc = load_sk(key, sk);
    if (rc)
        return rc;
    mote_status_t st = mote_pack_bundle(sk, name, v, target, files, n, &b, &len, msg, sizeof msg);
    sodium_memzero(sk, sizeof sk);
    if (st == MOTE_OK)
        st = mote_pack_write_file(out, b, len, msg, sizeof msg);
    free(b);
    if (st != MOTE_OK)
        return fail(out, msg);
    printf("%s: %zu bytes, %s version %llu for %s\n", out, len, name, v, target);
    return 0;
}

/* ---- cmd ----------------------------------------------------------- */

static int cmd_deploy(mote_proto_cmd_t *c, const char *bundle, const char *size, const char *chunk,
                      const uint8_t *pk)
{
    uint8_t *b;
    size_t len;
    char msg[MOTE_PACK_MSG_LEN];
    if (!bundle)
        return usage("cmd ... deploy --bundle FILE [--chunk BYTES] [--size BYTES]");
    if (mote_pack_read_file(bundle, MAX_BUNDLE, &b, &len, msg, sizeof msg) != MOTE_OK)
        return fail(bundle, msg);
    /* name and version come from the header; a truncated or foreign
     * bundle still gives them as long as its prefix is there */
    mote_bundle_key_t k;
    memcpy(k.pk, pk, sizeof k.pk);
    mote_bundle_policy_t p = {&k, 1, NULL, 0};
    mote_bundle_verifier_t *v = malloc(sizeof *v);
    const mote_bundle_info_t *info = NULL;
    if (v && mote_bundle_verify_init(v, &p) == MOTE_OK) {
        mote_bundle_verify_update(v, b, len);
        info = mote_bundle_verify_info(v);
    }
    if (info) {
        snprintf(c->model.name, sizeof c->model.name, "%s", info->name);
        c->model.version = info->version;
    } else if (len >= 96) {
        memcpy(&c->model.version, b + 16, 8); /* unsigned: read raw (host is little-endian) */
        snprintf(c->model.name, sizeof c->model.name, "%.63s", (const char *)b + 32);
    }
    free(v);
    mote_pack_sha256(b, len, c->bundle);
    free(b);
    unsigned long long s = len, ch = 4096;
    if ((size && parse_u64(size, &s)) || (chunk && (parse_u64(chunk, &ch) || !ch || ch > 65536)))
        return usage("cmd ... deploy --size BYTES --chunk 1..65536");
    c->size = s;
    c->chunk = (uint32_t)ch;
    return 0;
}

int mote_tools_cmd(int argc, char **argv)
{
    static const char *u = "cmd --key SK --dev ID --seq N [--version V] [--model NAME]\n"
                           "    deploy --bundle FILE [--chunk BYTES] [--size BYTES]\n"
                           "  | rollback [--reason TEXT] | config [--heartbeat S] [--threshold X]";
    const char *key = NULL, *dev = NULL, *seq = NULL, *op = NULL, *bundle = NULL, *size = NULL;
    const char *chunk = NULL, *reason = NULL, *hb = NULL, *thr = NULL, *ver = NULL, *model = NULL;
    for (int i = 1; i < argc; i++) {
        const char **dst = !strcmp(argv[i], "--key")         ? &key
                           : !strcmp(argv[i], "--dev")       ? &dev
                           : !strcmp(argv[i], "--seq")       ? &seq
                           : !strcmp(argv[i], "--bundle")    ? &bundle
                           : !strcmp(argv[i], "--size")      ? &size
                           : !strcmp(argv[i], "--chunk")     ? &chunk
                           : !strcmp(argv[i], "--reason")    ? &reason
                           : !strcmp(argv[i], "--heartbeat") ? &hb
                           : !strcmp(argv[i], "--threshold") ? &thr
                           : !strcmp(argv[i], "--version")   ? &ver
                           : !strcmp(argv[i], "--model")     ? &model
                                                             : NULL;
        if (dst && !(*dst = value(argc, argv, &i)))
            return 2;
        if (!dst && (argv[i][0] == '-' || op))
            return usage(u);
        if (!dst)
            op = argv[i];
    }
    unsigned long long s;
    if (!dev || !op || parse_u64(seq, &s))
        return usage(u);
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    int rc = load_sk(key, sk);
    if (rc)
        return rc;
    mote_proto_cmd_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.dev, sizeof c.dev, "%s", dev);
    c.seq = s;
    c.ts = (int64_t)time(NULL) * 1000;
    if (!strcmp(op, "deploy")) {
        c.op = MOTE_OP_DEPLOY;
        rc = cmd_deploy(&c, bundle, size, chunk, sk + 32);
    } else if (!strcmp(op, "rollback")) {
        c.op = MOTE_OP_ROLLBACK;
        snprintf(c.reason, sizeof c.reason, "%s", reason ? reason : "requested");
    } else if (!strcmp(op, "config")) {
        c.op = MOTE_OP_CONFIG;
        c.heartbeat_s = hb ? (uint32_t)atoi(hb) : 0;
        c.event_threshold = thr ? atof(thr) : 0;
    } else {
        rc = usage(u);
    }
    unsigned long long v;
    if (!rc && ver && !parse_u64(ver, &v))
        c.model.version = v; /* forced, to test refusals */
    if (!rc && model)
        snprintf(c.model.name, sizeof c.model.name, "%s", model);
    uint8_t buf[4096];
    size_t len;
    if (!rc && mote_proto_cmd_encode(&c, sk, buf, sizeof buf, &len) != MOTE_OK)
        rc = fail("cmd", "cannot encode the command");
    sodium_memzero(sk, sizeof sk);
    if (!rc && fwrite(buf, 1, len, stdout) != len)
        rc = fail("stdout", strerror(errno));
    return rc;
}

/* ---- serve --------------------------------------------------------- */

typedef struct serve_bundle {
    uint8_t sha[32];
    uint8_t *data;
    size_t len;
} serve_bundle_t;

typedef struct serve {
    serve_bundle_t b[16];
    size_t n;
    unsigned long long drop, limit, served;
    int quiet;
} serve_t;

static void serve_reply(struct mosquitto *mq, serve_t *s, const char *dev, const mote_proto_ota_req_t *r)
{
    for (size_t i = 0; i < s->n; i++) {
        serve_bundle_t *b = &s->b[i];
        if (memcmp(b->sha, r->bundle, 32) != 0 || r->offset > b->len)
            continue;
        if (s->limit && r->offset >= s->limit)
            return; /* simulate a stalled manager */
        static uint8_t out[MOTE_PROTO_CHUNK_HDR + MOTE_PROTO_MAX_CHUNK];
        mote_proto_chunk_t c;
        memcpy(c.bundle, b->sha, 32);
        c.offset = r->offset;
        c.total = b->len;
        c.len = (uint32_t)(b->len - r->offset < r->len ? b->len - r->offset : r->len);
        c.data = b->data + r->offset;
        size_t len;
        char topic[MOTE_PROTO_TOPIC_LEN];
        if (mote_proto_chunk_encode(&c, out, sizeof out, &len) == MOTE_OK &&
            mote_proto_topic(topic, sizeof topic, dev, MOTE_TOPIC_OTA_DATA) == MOTE_OK)
            mosquitto_publish_v5(mq, NULL, topic, (int)len, out, 1, false, NULL);
        s->served++;
        if (!s->quiet)
            fprintf(stderr, "mote-agent serve: %s: %u bytes at %llu\n", dev, c.len,
                    (unsigned long long)c.offset);
        return;
    }
}

static void serve_message(struct mosquitto *mq, void *user, const struct mosquitto_message *m,
                          const mosquitto_property *p)
{
    serve_t *s = user;
    char dev[MOTE_PROTO_ID_LEN], err[200];
    mote_proto_topic_t t;
    mote_proto_ota_req_t r;
    (void)p;
    if (mote_proto_topic_parse(m->topic, dev, &t) != MOTE_OK || t != MOTE_TOPIC_OTA_REQ)
        return;
    if (mote_proto_ota_req_decode(m->payload, (size_t)m->payloadlen, &r, err, sizeof err) != MOTE_OK) {
        fprintf(stderr, "mote-agent serve: %s: %s\n", dev, err);
        return;
    }
    if (s->drop) {
        s->drop--;
        fprintf(stderr, "mote-agent serve: %s: request at %llu dropped on purpose\n", dev,
                (unsigned long long)r.offset);
        return;
    }
    serve_reply(mq, s, dev, &r);
}

static void serve_connect(struct mosquitto *mq, void *user, int rc, int flags, const mosquitto_property *p)
{
    (void)user;
    (void)flags;
    (void)p;
    if (rc == 0)
        mosquitto_subscribe_v5(mq, NULL, "mote/v1/d/+/ota/req", 1, 0, NULL);
    else
        fprintf(stderr, "mote-agent serve: connection refused: %s\n", mosquitto_reason_string(rc));
}

static volatile sig_atomic_t serve_stop;

static void on_signal(int sig)
{
    (void)sig;
    serve_stop = 1;
}

static int serve_load(serve_t *s, const char *path)
{
    char msg[MOTE_PACK_MSG_LEN];
    if (s->n == sizeof s->b / sizeof s->b[0])
        return fail(path, "too many bundles");
    serve_bundle_t *b = &s->b[s->n];
    if (mote_pack_read_file(path, MAX_BUNDLE, &b->data, &b->len, msg, sizeof msg) != MOTE_OK)
        return fail(path, msg);
    mote_pack_sha256(b->data, b->len, b->sha);
    s->n++;
    return 0;
}

int mote_tools_serve(int argc, char **argv)
{
    static const char *u = "serve --broker HOST:PORT [--user U --pass P] --bundle FILE... "
                           "[--drop N] [--limit OFFSET] [--quiet]";
    serve_t s;
    memset(&s, 0, sizeof s);
    const char *broker = NULL, *user = "moted", *pass = NULL, *v;
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        if (!strcmp(argv[i], "--quiet"))
            s.quiet = 1;
        else if (!(v = value(argc, argv, &i)))
            rc = 2;
        else if (!strcmp(argv[i - 1], "--broker"))
            broker = v;
        else if (!strcmp(argv[i - 1], "--user"))
            user = v;
        else if (!strcmp(argv[i - 1], "--pass"))
            pass = v;
        else if (!strcmp(argv[i - 1], "--bundle"))
            rc = serve_load(&s, v);
        else if (!strcmp(argv[i - 1], "--drop"))
            rc = parse_u64(v, &s.drop) ? usage(u) : 0;
        else if (!strcmp(argv[i - 1], "--limit"))
            rc = parse_u64(v, &s.limit) ? usage(u) : 0;
        else
            rc = usage(u);
    }
    char host[256];
    int port;
    if (!rc && (!broker || !s.n || mote_tools_parse_broker(broker, host, sizeof host, &port)))
        rc = usage(u);
    struct mosquitto *mq = rc ? NULL : mosquitto_new(NULL, true, &s);
    if (mq) {
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        mosquitto_int_option(mq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
        mosquitto_username_pw_set(mq, user, pass);
        mosquitto_connect_v5_callback_set(mq, serve_connect);
        mosquitto_message_v5_callback_set(mq, serve_message);
        if (mosquitto_connect_bind_v5(mq, host, port, 30, NULL, NULL) != MOSQ_ERR_SUCCESS)
            rc = fail(broker, "cannot connect");
        while (!rc && !serve_stop) {
            int lrc = mosquitto_loop(mq, 100, 1);
            if (lrc != MOSQ_ERR_SUCCESS && mosquitto_reconnect(mq) != MOSQ_ERR_SUCCESS) {
                struct timespec ts = {0, 200000000};
                nanosleep(&ts, NULL);
            }
        }
        mosquitto_destroy(mq);
        fprintf(stderr, "mote-agent serve: %llu chunks served\n", s.served);
    }
    for (size_t i = 0; i < s.n; i++)
        free(s.b[i].data);
    return rc;
}
