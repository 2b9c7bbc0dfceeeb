/* moted: the fleet manager daemon (docs/moted.md). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auth.h"
#include "console.h"
#include "graph_http.h"
#include "fl_server.h"
#include "keys.h"
#include "moted.h"

#ifndef MOTE_CLI_VERSION
#define MOTE_CLI_VERSION "0.0.0-unknown"
#endif

static const char USAGE[] =
    "usage: moted --state DIR --fleet-key SK --http 127.0.0.1:PORT [options]\n"
    "\n"
    "The mote fleet manager: device registry, twins, events, signed model\n"
    "bundles, OTA chunks, rollout campaigns, HTTP/JSON API (docs/moted.md).\n"
    "\n"
    "  --state DIR          state folder (created): bundles/, ledger.jsonl, moted.db\n"
    "  --fleet-key SK       fleet secret key (mote key gen): signs bundles, commands, ledger\n"
    "  --http HOST:PORT     HTTP API address (IPv4; port 0 picks one, written to DIR/moted.http)\n"
    "  --token-file F       API tokens, one per line: TOKEN ROLE USER (viewer|engineer|admin)\n"
    "  --broker HOST:PORT   MQTT broker (MQTT 5); without it moted serves the API only\n"
    "  --user U --pass P    MQTT credentials (or --pass-file F)\n"
    "  --cafile CA [--cert C --key K]  TLS to the broker (client certificate optional)\n"
    "  --client-id ID       MQTT client id (default moted; unique per instance)\n"
    "  --shared             subscribe as $share/moted/... (several instances)\n"
    "  --db URL             postgresql://... (default: SQLite DIR/moted.db)\n"
    "  --chunk BYTES        chunk size devices ask for (default 16384, max 65536)\n"
    "  --resend-ms MS       minimum gap between two commands to a device (default 5000)\n"
    "  --tick-ms MS         campaign ticker period (default 200)\n"
    "  --graph DIR          knowledge graph in DIR (TDs, cards, deployments), /sparql,\n"
    "                       campaign targets by SPARQL query\n"
    "  --web DIR            serve the web console from DIR (needs --users)\n"
    "  --users FILE         console users (mote user add); --datasets DIR: specs offered to it\n"
    "  --fed CONFIG         federated rounds over MQTT on a `mote fed sim` config (docs/federated.md);\n"
    "                       --fed-rounds N (run N rounds; more via POST /api/fed/rounds),\n"
    "                       --fed-out DIR (rounds.csv, final head), --fed-deadline-ms MS (5000),\n"
    "                       --fed-devices N (trainable devices to wait for; default: the config's)\n"
    "\n"
    "Logs go to stderr. SIGTERM or SIGINT stops it cleanly.\n"
    "exit status: 0 stopped by a signal, 1 failure, 2 usage error\n";

typedef struct opts {
    const char *state, *key, *http, *tokens, *broker, *user, *pass, *pass_file, *cafile, *cert, *key_file, *client, *db,
        *users, *web, *datasets, *graph, *fed, *fed_out;
    long fed_rounds, fed_deadline, fed_devices;
    int shared;
    long chunk, resend, tick;
} opts_t;

static int usage_err(const char *fmt, const char *arg)
{
    fprintf(stderr, "moted: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see moted --help)\n");
    return 2;
}

static int num_opt(const char *v, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

static int parse_args(int argc, char **argv, opts_t *o)
{
    struct {
        const char *name;
        const char **dst;
    } str[] = {
        {"--state", &o->state},   {"--fleet-key", &o->key}, {"--http", &o->http},    {"--token-file", &o->tokens},
        {"--broker", &o->broker}, {"--user", &o->user},     {"--pass", &o->pass},    {"--pass-file", &o->pass_file},
        {"--cafile", &o->cafile}, {"--cert", &o->cert},     {"--key", &o->key_file}, {"--client-id", &o->client},
        {"--db", &o->db},         {"--users", &o->users},   {"--web", &o->web},      {"--datasets", &o->datasets},
        {"--graph", &o->graph},   {"--fed", &o->fed},       {"--fed-out", &o->fed_out}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int done = 0;
        for (size_t k = 0; !done && k < sizeof str / sizeof str[0]; k++) {
            if (strcmp(a, str[k].name) == 0) {
                if (i + 1 >= argc)
                    return usage_err("option %s needs a value", a);
                *str[k].dst = argv[++i];
                done = 1;
            }
        }
        if (done)
            continue;
        if (strcmp(a, "--shared") == 0) {
            o->shared = 1;
        } else if (strcmp(a, "--chunk") == 0 || strcmp(a, "--resend-ms") == 0 || strcmp(a, "--tick-ms") == 0) {
            long *dst = a[2] == 'c' ? &o->chunk : a[2] == 'r' ? &o->resend : &o->tick;
            long hi = a[2] == 'c' ? 65536 : 3600000;
            if (i + 1 >= argc || num_opt(argv[i + 1], 1, hi, dst) != 0)
                return usage_err("option %s needs a positive number in range", a);
            i++;
        } else if (strcmp(a, "--fed-rounds") == 0 || strcmp(a, "--fed-deadline-ms") == 0 ||
                   strcmp(a, "--fed-devices") == 0) {
            long *dst = strcmp(a, "--fed-rounds") == 0        ? &o->fed_rounds
                        : strcmp(a, "--fed-deadline-ms") == 0 ? &o->fed_deadline
                                                              : &o->fed_devices;
            if (i + 1 >= argc || num_opt(argv[i + 1], 1, 3600000, dst) != 0)
                return usage_err("option %s needs a positive number in range", a);
            i++;
        } else {
            return usage_err("unknown argument '%s'", a);
        }
    }
    if (!o->state || !o->key || !o->http)
        return usage_err("--state, --fleet-key and --http are required%s", "");
    return 0;
}

/* "host:port" -> host, port (port 0 allowed when allow0). */
static int split_hostport(const char *s, char *host, size_t cap, int *port, int allow0)
{
    const char *c = strrchr(s, ':');
    long p = 0;
    if (!c || c == s || (size_t)(c - s) >= cap || num_opt(c + 1, allow0 ? 0 : 1, 65535, &p) != 0)
        return -1;
    memcpy(host, s, (size_t)(c - s));
    host[c - s] = '\0';
    *port = (int)p;
    return 0;
}

static int read_pass(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, (int)cap, f)) {
        fprintf(stderr, "moted: %s: cannot read the password: %s\n", path, f ? "empty file" : strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static void write_http_addr(const char *state, const char *host, unsigned port)
{
    char path[1024], tmp[1100];
    snprintf(path, sizeof path, "%s/moted.http", state);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%s:%u\n", host, port);
    if (fclose(f) == 0)
        rename(tmp, path);
}

static int mkdir_state(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "moted: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

typedef struct run {
    mote_moted_t *m;
    mote_http_t *srv;
    mote_auth_t *auth;
    mote_console_t *con;
    mote_fl_t *fl;
} run_t;

/* Console logins go to the ledger. */
static void audit(void *ctx, const char *kind, const char *user, const char *detail)
{
    char k[48];
    snprintf(k, sizeof k, "console.%s", kind);
    json_t *b = json_pack("{s:s,s:s}", "user", user ? user : "", "detail", detail ? detail : "");
    mote_moted_ledger(ctx, k, b);
    json_decref(b);
}

/* The `mote` binary beside this moted, for console trainings. */
static void sibling_mote(char *buf, size_t cap)
{
    char self[900];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(buf, cap, "%s/mote", n > 0 ? self : ".");
}

/* Web console (optional): login routes and its API first, moted's own
 * routes next, the static-file catch-all last. */
static int console_setup(const opts_t *o, run_t *r, mote_graph_t *graph, char *err, size_t errsz)
{
    if (!o->web && !o->users)
        return 0;
    if (!o->web || !o->users) {
        snprintf(err, errsz, "--web and --users go together");
        return -1;
    }
    char work[1024], exe[1024];
    snprintf(work, sizeof work, "%s/console", o->state);
    sibling_mote(exe, sizeof exe);
    mote_console_opts_t co = {.web_dir = o->web, .work_dir = work, .mote_exe = exe, .datasets_dir = o->datasets,
                              .graph = graph};
    if (mote_auth_open(&r->auth, o->users, err, errsz) != MOTE_OK ||
        mote_console_create(&r->con, &co, err, errsz) != MOTE_OK)
        return -1;
    mote_auth_set_audit(r->auth, audit, r->m);
    mote_console_set_audit(r->con, audit, r->m);
    mote_http_set_session(r->srv, mote_auth_session_hook, r->auth);
    if (mote_auth_routes(r->auth, r->srv) != MOTE_OK || mote_console_api_routes(r->con, r->srv) != MOTE_OK) {
        snprintf(err, errsz, "too many routes");
        return -1;
    }
    return 0;
}

/* Federated rounds (optional): data loaded and an open round resumed
 * before MQTT starts, routes before moted's own. */
static int fed_setup(const opts_t *o, run_t *r, char *err, size_t errsz)
{
    if (!o->fed)
        return 0;
    const mote_fl_config_t fc = {.config = o->fed, .out_dir = o->fed_out, .rounds = (uint32_t)o->fed_rounds,
                                 .deadline_ms = (uint32_t)o->fed_deadline, .min_devices = (uint32_t)o->fed_devices};
    if (o->fed_out && mkdir(o->fed_out, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errsz, "--fed-out %s: %s", o->fed_out, strerror(errno));
        return -1;
    }
    if (mote_fl_create(r->m, &fc, &r->fl, err, errsz) != MOTE_OK)
        return -1;
    if (mote_fl_routes(r->fl, r->srv) != MOTE_OK) {
        snprintf(err, errsz, "too many routes");
        return -1;
    }
    return 0;
}

static int serve(const opts_t *o, mote_moted_config_t *cfg, const char *http_host, int http_port)
{
    char err[512];
    run_t r = {NULL, NULL, NULL, NULL, NULL};
    mote_graph_t *graph = NULL;
    err[0] = '\0';
    int rc = 1;
    if (o->graph && mote_graph_open(&graph, o->graph, err, sizeof err) != MOTE_OK) {
        fprintf(stderr, "moted: graph %s: %s\n", o->graph, err);
        return 1;
    }
    cfg->graph = graph;
    if (mote_moted_create(&r.m, cfg, err, sizeof err) != MOTE_OK || mote_http_create(&r.srv) != MOTE_OK) {
        fprintf(stderr, "moted: %s\n", r.m ? "out of memory" : err);
        goto out;
    }
    if (o->tokens && mote_http_load_tokens(r.srv, o->tokens, err, sizeof err) != MOTE_OK) {
        fprintf(stderr, "moted: %s\n", err);
        goto out;
    }
    if (console_setup(o, &r, graph, err, sizeof err) != 0) {
        fprintf(stderr, "moted: console: %s\n", err);
        goto out;
    }
    if (fed_setup(o, &r, err, sizeof err) != 0) {
        fprintf(stderr, "moted: %s\n", err);
        goto out;
    }
    if ((graph && mote_graph_http_register(r.srv, graph, "viewer") != MOTE_OK) ||
        mote_moted_routes(r.m, r.srv) != MOTE_OK || (r.con && mote_console_static_route(r.con, r.srv) != MOTE_OK) ||
        mote_http_start(r.srv, http_host, (uint16_t)http_port, err, sizeof err) != MOTE_OK) {
        fprintf(stderr, "moted: %s\n", err);
        goto out;
    }
    write_http_addr(o->state, http_host, mote_http_port(r.srv));
    if (mote_moted_start(r.m, err, sizeof err) != MOTE_OK) {
        fprintf(stderr, "moted: %s\n", err);
        goto out;
    }
    mote_moted_log(r.m, "listening on http://%s:%u, store %s", http_host, mote_http_port(r.srv),
                   mote_store_kind(mote_moted_store(r.m)));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    mote_moted_log(r.m, "signal %d: stopping", sig);
    rc = 0;
out:
    mote_http_destroy(r.srv);
    mote_console_destroy(r.con);
    mote_auth_close(r.auth);
    mote_moted_stop(r.m); /* its threads use the federated rounds too */
    mote_fl_destroy(r.fl);
    mote_moted_destroy(r.m); /* its threads use the graph: stop them first */
    mote_graph_close(graph);
    return rc;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("moted %s\n", MOTE_CLI_VERSION);
            return 0;
        }
    }
    opts_t o;
    memset(&o, 0, sizeof o);
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    char bhost[256] = "", hhost[64], pass[256] = "", err[256];
    int bport = 0, hport = 0;
    if (split_hostport(o.http, hhost, sizeof hhost, &hport, 1) != 0)
        return usage_err("--http wants HOST:PORT, got '%s'", o.http);
    if (o.broker && split_hostport(o.broker, bhost, sizeof bhost, &bport, 0) != 0)
        return usage_err("--broker wants HOST:PORT, got '%s'", o.broker);
    if (o.pass_file && read_pass(o.pass_file, pass, sizeof pass) != 0)
        return 1;
    uint8_t sk[MOTE_KEY_SK_LEN];
    if (mote_key_load_sk(o.key, sk, err, sizeof err) != MOTE_OK) {
        fprintf(stderr, "moted: %s: %s\n", o.key, err);
        return 1;
    }
    /* Block the stop signals before any thread starts, so only sigwait sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    mote_moted_config_t cfg = {.state_dir = o.state,
                               .db_url = o.db,
                               .broker_host = o.broker ? bhost : NULL,
                               .broker_port = bport,
                               .user = o.user,
                               .pass = o.pass_file ? pass : o.pass,
                               .cafile = o.cafile,
                               .cert = o.cert,
                               .key = o.key_file,
                               .client_id = o.client,
                               .fleet_sk = sk,
                               .shared = o.shared,
                               .chunk = (uint32_t)o.chunk,
                               .resend_ms = (uint32_t)o.resend,
                               .tick_ms = (uint32_t)o.tick};
    if (mkdir_state(o.state) != 0)
        return 1;
    rc = serve(&o, &cfg, hhost, hport);
    sodium_memzero(sk, sizeof sk);
    return rc;
}
