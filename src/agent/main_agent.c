/* mote-agent: one device of the fleet (docs/agent.md), or a tool
 * (keygen, bundle, cmd, serve: tools.h). Logs go to stderr. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"
#include "keys.h"
#include "pack.h"
#include "source.h"
#include "tools.h"

static const char *USAGE =
    "usage: mote-agent --id ID --broker HOST:PORT --fleet-pk FILE --state DIR --replay FILE|-\n"
    "                  [--user U --pass P] [--cafile CA [--cert C --key K]]\n"
    "                  [--class CLASS] [--group G] [--heartbeat S] [--speed X] [--loop]\n"
    "                  [--install BUNDLE] [--threshold X] [--warmup N] [--retry-ms MS]\n"
    "                  [--ram-bytes B] [--nosync] [--exit-when-drained]\n"
    "       mote-agent keygen|bundle|cmd|serve ... (mote-agent TOOL --help)\n"
    "Runs one device: replays a raw float32 recording (or stdin with '-') through\n"
    "the active model, queues events on disk and sends them over MQTT v5.\n"
    "  --replay FILE  paced at the model's sample rate times --speed (default 1);\n"
    "                 with --loop it restarts at the end, else the agent stops\n"
    "                 reading there. '-' reads float32 from stdin as it comes.\n"
    "  --install B    provision bundle B when the store has no newer model.\n"
    "  --exit-when-drained  exit 0 once the input ended and every event is acknowledged.\n"
    "Exit status: 0 ok, 1 failure, 2 usage.\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void log_line(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "mote-agent: %s\n", line);
}

typedef struct opts {
    mote_agent_config_t cfg;
    const char *broker, *pk, *replay, *install;
    double speed;
    int loop, drain;
    char host[256];
    uint8_t fleet_pk[32];
} opts_t;

static int num(const char *s, double *v)
{
    char *end;
    *v = s ? strtod(s, &end) : 0;
    return s && *s && !*end && *v >= 0 ? 0 : -1;
}

static int parse_opt(opts_t *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    double d;
    if (!strcmp(a, "--loop"))
        return o->loop = 1, 0;
    if (!strcmp(a, "--nosync"))
        return o->cfg.sync = MOTE_EQUEUE_NOSYNC, 0;
    if (!strcmp(a, "--exit-when-drained"))
        return o->drain = 1, 0;
    if (*i + 1 >= argc)
        return -1;
    const char *v = argv[++*i];
    if (!strcmp(a, "--id")) o->cfg.id = v;
    else if (!strcmp(a, "--broker")) o->broker = v;
    else if (!strcmp(a, "--user")) o->cfg.user = v;
    else if (!strcmp(a, "--pass")) o->cfg.pass = v;
    else if (!strcmp(a, "--cafile")) o->cfg.cafile = v;
    else if (!strcmp(a, "--cert")) o->cfg.cert = v;
    else if (!strcmp(a, "--key")) o->cfg.key = v;
    else if (!strcmp(a, "--fleet-pk")) o->pk = v;
    else if (!strcmp(a, "--state")) o->cfg.state_dir = v;
    else if (!strcmp(a, "--replay")) o->replay = v;
    else if (!strcmp(a, "--install")) o->install = v;
    else if (!strcmp(a, "--class")) o->cfg.device_class = v;
    else if (!strcmp(a, "--group")) o->cfg.group = v;
    else if (!strcmp(a, "--speed")) return num(v, &o->speed) || o->speed <= 0 ? -1 : 0;
    else if (!strcmp(a, "--heartbeat") && !num(v, &d) && d >= 1) o->cfg.heartbeat_s = (uint32_t)d;
    else if (!strcmp(a, "--threshold") && !num(v, &d)) o->cfg.device.threshold = d;
    else if (!strcmp(a, "--warmup") && !num(v, &d) && d >= 5) o->cfg.device.warmup = (uint32_t)d;
    else if (!strcmp(a, "--retry-ms") && !num(v, &d) && d >= 10) o->cfg.retry_ms = (uint32_t)d;
    else if (!strcmp(a, "--ram-bytes") && !num(v, &d) && d >= 1) o->cfg.ram_bytes = (uint64_t)d;
    else return -1;
    return 0;
}

static int parse(opts_t *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->speed = 1.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(USAGE, stdout);
            exit(0);
        }
        if (parse_opt(o, argc, argv, &i) != 0) {
            fprintf(stderr, "mote-agent: bad or incomplete option '%s'\n%s", argv[i], USAGE);
            return 2;
        }
    }
    if (!o->cfg.id || !o->broker || !o->pk || !o->cfg.state_dir || !o->replay) {
        fprintf(stderr, "mote-agent: --id, --broker, --fleet-pk, --state and --replay are required\n%s",
                USAGE);
        return 2;
    }
    if (mote_tools_parse_broker(o->broker, o->host, sizeof o->host, &o->cfg.port) != 0) {
        fprintf(stderr, "mote-agent: --broker '%s': want HOST:PORT\n", o->broker);
        return 2;
    }
    o->cfg.host = o->host;
    char err[256];
    if (mote_key_load_pk(o->pk, o->fleet_pk, err, sizeof err) != MOTE_OK) {
        fprintf(stderr, "mote-agent: %s: %s\n", o->pk, err);
        return 1;
    }
    o->cfg.fleet_pk = o->fleet_pk;
    o->cfg.log = log_line;
    return 0;
}

static int provision(mote_agent_t *a, const char *path)
{
    uint8_t *b;
    size_t len;
    char msg[MOTE_PACK_MSG_LEN];
    if (mote_pack_read_file(path, (size_t)64 << 20, &b, &len, msg, sizeof msg) != MOTE_OK) {
        fprintf(stderr, "mote-agent: %s\n", msg);
        return 1;
    }
    mote_status_t st = mote_agent_provision(a, b, len);
    free(b);
    if (st == MOTE_ERR_VERSION || st == MOTE_ERR_STATE)
        return 0; /* already as new (or an update in progress): keep it */
    if (st != MOTE_OK) {
        fprintf(stderr, "mote-agent: %s: %s\n", path, a->msg);
        return 1;
    }
    return 0;
}

/* The input stream: a paced recording or stdin. */
typedef struct input {
    mote_source_t src;
    int fd;                 /* stdin, or -1 */
    int ended;
    uint8_t part[4];
    size_t part_len;
    int64_t t0;
    uint64_t fed;
} input_t;

static int input_open(input_t *in, const opts_t *o)
{
    memset(in, 0, sizeof *in);
    in->fd = -1;
    if (!strcmp(o->replay, "-")) {
        in->fd = 0;
        fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
        return 0;
    }
    mote_recording_t *r;
    char msg[MOTE_PACK_MSG_LEN];
    if (mote_recording_load(o->replay, 1, &r, msg, sizeof msg) != MOTE_OK) {
        fprintf(stderr, "mote-agent: %s\n", msg);
        return 1;
    }
    mote_source_init(&in->src, r, 0);
    mote_recording_unref(r);
    return 0;
}

static void feed_stdin(input_t *in, mote_agent_t *a, int64_t now)
{
    uint8_t buf[16384];
    memcpy(buf, in->part, in->part_len);
    ssize_t r = read(0, buf + in->part_len, sizeof buf - in->part_len);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        in->ended = 1;
        return;
    }
    if (r < 0)
        return;
    size_t have = in->part_len + (size_t)r, n = have / 4;
    float x[4096];
    memcpy(x, buf, n * 4);
    in->part_len = have - n * 4;
    memcpy(in->part, buf + n * 4, in->part_len);
    mote_agent_feed(a, x, n, now);
}

static void feed_replay(input_t *in, mote_agent_t *a, const opts_t *o, int64_t now)
{
    uint32_t hop = mote_agent_hop(a);
    if (!hop || in->ended)
        return;
    if (!in->t0)
        in->t0 = now;
    double rate = a->dev.model->dsp.sample_rate * o->speed;
    uint64_t due = (uint64_t)((double)(now - in->t0) * rate / 1000.0);
    float x[4096];
    for (int k = 0; k < 64 && in->fed + hop <= due; k++) {
        uint32_t n = hop < 4096 ? hop : 4096;
        if (!o->loop && in->fed + n > in->src.rec->n) {
            in->ended = 1;
            return;
        }
        mote_source_read(&in->src, x, n);
        mote_agent_feed(a, x, n, now);
        in->fed += n;
    }
}

static void loop(mote_agent_t *a, const opts_t *o, input_t *in)
{
    while (!stop) {
        int64_t now = mote_agent_now_ms();
        mote_agent_step(a, now);
        struct pollfd p[2];
        int n = 0, fd = mote_agent_fd(a);
        if (fd >= 0)
            p[n++] = (struct pollfd){fd, (short)(POLLIN | (mote_agent_want_write(a) ? POLLOUT : 0)), 0};
        int si = in->fd >= 0 && !in->ended ? n : -1;
        if (si >= 0)
            p[n++] = (struct pollfd){0, POLLIN, 0};
        if (poll(p, (nfds_t)n, 20) < 0 && errno != EINTR)
            break;
        now = mote_agent_now_ms();
        if (fd >= 0 && p[0].revents)
            mote_agent_io(a, (p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0,
                          (p[0].revents & POLLOUT) != 0, now);
        if (si >= 0 && p[si].revents)
            feed_stdin(in, a, now);
        if (in->fd < 0)
            feed_replay(in, a, o, now);
        if (o->drain && in->ended && mote_agent_pending(a) == 0 && a->connected == 1 && !a->ota.active)
            break;
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && argv[1][0] != '-') {
        const char *t = argv[1];
        int rc = !strcmp(t, "keygen")   ? mote_tools_keygen(argc - 1, argv + 1)
                 : !strcmp(t, "bundle") ? mote_tools_bundle(argc - 1, argv + 1)
                 : !strcmp(t, "cmd")    ? mote_tools_cmd(argc - 1, argv + 1)
                 : !strcmp(t, "serve")  ? (mosquitto_lib_init(), mote_tools_serve(argc - 1, argv + 1))
                                        : (fprintf(stderr, "mote-agent: unknown tool '%s'\n%s", t, USAGE), 2);
        return rc;
    }
    opts_t o;
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc;
    if (sodium_init() < 0)
        return 1;
    mosquitto_lib_init();
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    static mote_agent_t a;
    if (mote_agent_open(&a, &o.cfg) != MOTE_OK) {
        fprintf(stderr, "mote-agent: %s: %s\n", o.cfg.state_dir, a.msg);
        return 1;
    }
    input_t in;
    rc = o.install ? provision(&a, o.install) : 0;
    if (!rc)
        rc = input_open(&in, &o);
    if (!rc) {
        loop(&a, &o, &in);
        fprintf(stderr,
                "mote-agent: %s: %llu windows, %llu events (%llu anomaly, %llu class, %llu drift, "
                "%llu ota), %llu acknowledged, %zu waiting\n",
                a.id, (unsigned long long)a.st.windows, (unsigned long long)a.st.events,
                (unsigned long long)a.st.by_kind[0], (unsigned long long)a.st.by_kind[1],
                (unsigned long long)a.st.by_kind[2], (unsigned long long)a.st.by_kind[3],
                (unsigned long long)a.st.acked, mote_agent_pending(&a));
        if (in.fd < 0)
            mote_source_free(&in.src);
    }
    mote_agent_close(&a);
    mosquitto_lib_cleanup();
    return rc;
}
