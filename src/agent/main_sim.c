/* mote-sim: N simulated devices in one process and one poll() loop, each a
 * full agent core (agent.h) with its own state folder and MQTT connection,
 * replaying real CWRU recordings faster than real time with faults and
 * drift injected at known windows; prints what was injected and what the
 * devices reported (docs/agent.md). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <mosquitto.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include "agent.h"
#include "fl_dev.h"
#include "keys.h"
#include "pack.h"
#include "source.h"
#include "tools.h"

static const char *USAGE =
    "usage: mote-sim --broker HOST:PORT --fleet-pk FILE --state DIR --install BUNDLE\n"
    "                [--devices N] [--windows W] [--speed X] [--data DIR]\n"
    "                [--faults FILE | --fault-rate R] [--seed S] [--prefix P]\n"
    "                [--pass P | --pass-file FILE] [--cafile CA --cert-dir DIR]\n"
    "                [--first K] [--small-ram N:BYTES] [--heartbeat S] [--warmup N]\n"
    "                [--sync] [--drain-s S]\n"
    "                [--fed CONFIG [--fed-silent FRAC@ROUND] [--fed-attack K]]\n"
    "Simulates N devices (default 10), each running W windows (default 600) of\n"
    "the CWRU recordings in --data (default ../shared/data/cwru) at X times real\n"
    "time (default 50; 0 = as fast as the CPU allows). Device k starts on\n"
    "normal_0hp_097.f32 at its own offset. Faults file, one per line:\n"
    "  DEVICE WINDOW fault FILE        switch to recording FILE (in --data)\n"
    "  DEVICE WINDOW drift GAIN RAMP   ramp the gain to GAIN over RAMP windows\n"
    "  DEVICE WINDOW normal            back to the normal recording\n"
    "(# starts a comment). --fault-rate R gives each device a fault with\n"
    "probability R at a random window after warm-up. Device k is PREFIX and\n"
    "the number K+k on 4 digits (--prefix, default sim-; --first, default 0).\n"
    "--pass-file: lines 'ID PASSWORD' (scripts/fleet-pki.sh passwords.txt);\n"
    "--cert-dir: client certificates DIR/ID.crt and DIR/ID.key (with --cafile);\n"
    "--small-ram N:BYTES: the last N devices announce mote:ramBytes BYTES.\n"
    "--fed CONFIG: federated rounds (docs/federated.md) on the data of a `mote fed\n"
    "sim` config whose backbone is a .tflite; device k trains slice k; runs until\n"
    "SIGTERM/SIGINT. --fed-silent F@R: the last F (0..1) of the devices train\n"
    "round R but never upload it; --fed-attack K: device 0 sends a saturated\n"
    "update, device 1 (K >= 2) a NaN step.\n"
    "--sync: fsync each device's storage (event queue, slots, state files) as a\n"
    "real device does; off by default, as all simulated devices share one disk.\n"
    "Summary on stdout.\n"
    "Exit status: 0 every event acknowledged, 1 failure, 2 usage.\n";

#define MAX_FAULTS 4

typedef struct fault {
    uint32_t window;
    int kind;               /* 0 fault, 1 drift, 2 normal */
    mote_recording_t *rec;  /* fault: the recording */
    float gain;
    uint32_t ramp;
    int applied;
} fault_t;

typedef struct simdev {
    mote_agent_t a;
    mote_source_t src;
    char id[MOTE_PROTO_ID_LEN];
    char *pass, *cert, *key; /* heap, owned; NULL when not used */
    uint64_t windows;       /* fed */
    fault_t f[MAX_FAULTS];
    int nf;
    int64_t inject_win;     /* first fault/drift window, -1 none */
    int64_t detect_win;     /* first anomaly/class event at or after it */
    uint64_t false_alarms;  /* anomaly/class events before any injection */
    uint64_t seen;          /* anomaly + class events counted so far */
    mote_fl_dev_t fl;       /* with --fed */
} simdev_t;

typedef struct sim {
    const char *broker, *pk, *state, *install, *data, *faults, *prefix, *pass;
    const char *pass_file, *cafile, *cert_dir, *fed;
    double fed_silent;
    uint32_t fed_silent_round, fed_attack;
    fsim_t fsim;
    int has_fsim;
    uint32_t n, windows, heartbeat, warmup, drain_s, first, small_n;
    uint64_t small_ram;
    double speed, rate;
    uint64_t seed;
    int sync;
    char host[256];
    int port;
    uint8_t fleet_pk[32];
    mote_recording_t *normal;
    mote_recording_t **recs;
    size_t n_recs;
    mote_agent_cache_t cache;
    simdev_t *d;
} sim_t;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int quiet_logs;

static void log_line(void *user, const char *line)
{
    (void)user;
    if (!quiet_logs || strstr(line, "refused") || strstr(line, "lost") || strstr(line, "cannot"))
        fprintf(stderr, "mote-sim: %s\n", line);
}

/* ---- options ------------------------------------------------------- */

static int num(const char *s, double lo, double hi, double *v)
{
    char *end;
    if (!s)
        return -1;
    *v = strtod(s, &end);
    return *s && !*end && *v >= lo && *v <= hi ? 0 : -1;
}

static int parse_small_ram(sim_t *s, const char *x)
{
    unsigned n;
    unsigned long long b;
    char end;
    if (sscanf(x, "%u:%llu%c", &n, &b, &end) != 2 || b == 0)
        return -1;
    s->small_n = n;
    s->small_ram = b;
    return 0;
}

static int parse_silent(sim_t *s, const char *x)
{
    double f;
    unsigned r;
    char end;
    if (sscanf(x, "%lf@%u%c", &f, &r, &end) != 2 || !(f >= 0 && f <= 1) || r == 0)
        return -1;
    s->fed_silent = f;
    s->fed_silent_round = r;
    return 0;
}

static int parse_opt(sim_t *s, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    double v;
    if (!strcmp(a, "--sync"))
        return s->sync = 1, 0;
    if (*i + 1 >= argc)
        return -1;
    const char *x = argv[++*i];
    if (!strcmp(a, "--broker")) s->broker = x;
    else if (!strcmp(a, "--fleet-pk")) s->pk = x;
    else if (!strcmp(a, "--state")) s->state = x;
    else if (!strcmp(a, "--install")) s->install = x;
    else if (!strcmp(a, "--data")) s->data = x;
    else if (!strcmp(a, "--faults")) s->faults = x;
    else if (!strcmp(a, "--prefix")) s->prefix = x;
    else if (!strcmp(a, "--pass")) s->pass = x;
    else if (!strcmp(a, "--pass-file")) s->pass_file = x;
    else if (!strcmp(a, "--cafile")) s->cafile = x;
    else if (!strcmp(a, "--cert-dir")) s->cert_dir = x;
    else if (!strcmp(a, "--first") && !num(x, 0, 1e8, &v)) s->first = (uint32_t)v;
    else if (!strcmp(a, "--small-ram")) return parse_small_ram(s, x);
    else if (!strcmp(a, "--fed")) s->fed = x;
    else if (!strcmp(a, "--fed-silent")) return parse_silent(s, x);
    else if (!strcmp(a, "--fed-attack") && !num(x, 0, 2, &v)) s->fed_attack = (uint32_t)v;
    else if (!strcmp(a, "--devices") && !num(x, 1, 100000, &v)) s->n = (uint32_t)v;
    else if (!strcmp(a, "--windows") && !num(x, 1, 1e9, &v)) s->windows = (uint32_t)v;
    else if (!strcmp(a, "--speed") && !num(x, 0, 1e9, &v)) s->speed = v;
    else if (!strcmp(a, "--fault-rate") && !num(x, 0, 1, &v)) s->rate = v;
    else if (!strcmp(a, "--seed") && !num(x, 0, 1e18, &v)) s->seed = (uint64_t)v;
    else if (!strcmp(a, "--heartbeat") && !num(x, 1, 86400, &v)) s->heartbeat = (uint32_t)v;
    else if (!strcmp(a, "--warmup") && !num(x, 5, 100000, &v)) s->warmup = (uint32_t)v;
    else if (!strcmp(a, "--drain-s") && !num(x, 0, 3600, &v)) s->drain_s = (uint32_t)v;
    else return -1;
    return 0;
}

static int parse(sim_t *s, int argc, char **argv)
{
    memset(s, 0, sizeof *s);
    s->n = 10;
    s->windows = 600;
    s->speed = 50;
    s->seed = 1;
    s->prefix = "sim-";
    s->data = "../shared/data/cwru";
    s->warmup = 64;
    s->drain_s = 20;
    s->heartbeat = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(USAGE, stdout);
            exit(0);
        }
        if (parse_opt(s, argc, argv, &i)) {
            fprintf(stderr, "mote-sim: bad or incomplete option '%s'\n%s", argv[i], USAGE);
            return 2;
        }
    }
    if (!s->broker || !s->pk || !s->state || !s->install) {
        fprintf(stderr, "mote-sim: --broker, --fleet-pk, --state and --install are required\n%s", USAGE);
        return 2;
    }
    if ((s->pass && s->pass_file) || (s->cert_dir && !s->cafile)) {
        fprintf(stderr, "mote-sim: --pass and --pass-file exclude each other; --cert-dir needs --cafile\n");
        return 2;
    }
    if (s->faults && s->rate > 0) {
        fprintf(stderr, "mote-sim: --faults and --fault-rate exclude each other\n");
        return 2;
    }
    if (mote_tools_parse_broker(s->broker, s->host, sizeof s->host, &s->port)) {
        fprintf(stderr, "mote-sim: --broker '%s': want HOST:PORT\n", s->broker);
        return 2;
    }
    char err[256];
    if (mote_key_load_pk(s->pk, s->fleet_pk, err, sizeof err) != MOTE_OK) {
        fprintf(stderr, "mote-sim: %s: %s\n", s->pk, err);
        return 1;
    }
    return 0;
}

/* ---- recordings and the fault schedule ----------------------------- */

static mote_recording_t *recording(sim_t *s, const char *name, char *msg, size_t msg_size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", s->data, name);
    for (size_t i = 0; i < s->n_recs; i++)
        if (!strcmp(s->recs[i]->path, path))
            return s->recs[i];
    mote_recording_t *r;
    if (mote_recording_load(path, 4096, &r, msg, msg_size) != MOTE_OK)
        return NULL;
    mote_recording_t **p = realloc(s->recs, (s->n_recs + 1) * sizeof *p);
    if (!p) {
        mote_recording_unref(r);
        return NULL;
    }
    s->recs = p;
    s->recs[s->n_recs++] = r;
    return r;
}

static int add_fault(simdev_t *d, fault_t f)
{
    if (d->nf == MAX_FAULTS)
        return -1;
    d->f[d->nf++] = f;
    if (f.kind != 2 && (d->inject_win < 0 || (int64_t)f.window < d->inject_win))
        d->inject_win = f.window;
    return 0;
}

static int parse_fault_line(sim_t *s, char *line, int ln)
{
    char kind[16], arg[256], msg[512];
    unsigned dev, win, ramp = 1;
    float gain = 1;
    char *h = strchr(line, '#');
    if (h)
        *h = '\0';
    int n = sscanf(line, "%u %u %15s %255s %u", &dev, &win, kind, arg, &ramp);
    if (n <= 0)
        return 0;
    fault_t f = {.window = win, .ramp = 1};
    if (n >= 4 && !strcmp(kind, "fault")) {
        if (!(f.rec = recording(s, arg, msg, sizeof msg))) {
            fprintf(stderr, "mote-sim: %s:%d: %s\n", s->faults, ln, msg);
            return -1;
        }
    } else if (n == 5 && !strcmp(kind, "drift") && sscanf(arg, "%f", &gain) == 1 && gain > 0 &&
               ramp >= 1) {
        f.kind = 1;
        f.gain = gain;
        f.ramp = ramp;
    } else if (n == 3 && !strcmp(kind, "normal")) {
        f.kind = 2;
    } else {
        fprintf(stderr, "mote-sim: %s:%d: want 'DEVICE WINDOW fault FILE', "
                        "'DEVICE WINDOW drift GAIN RAMP' or 'DEVICE WINDOW normal'\n", s->faults, ln);
        return -1;
    }
    if (dev >= s->n || add_fault(&s->d[dev], f)) {
        fprintf(stderr, "mote-sim: %s:%d: device %u out of range (0..%u) or more than %d entries\n",
                s->faults, ln, dev, s->n - 1, MAX_FAULTS);
        return -1;
    }
    return 0;
}

static int load_faults(sim_t *s)
{
    FILE *f = fopen(s->faults, "r");
    if (!f) {
        fprintf(stderr, "mote-sim: %s: %s\n", s->faults, strerror(errno));
        return 1;
    }
    char line[512];
    int ln = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f))
        rc = parse_fault_line(s, line, ++ln);
    fclose(f);
    return rc ? 1 : 0;
}

static uint64_t rng(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Fault recordings: every .f32 in --data except the normal one. */
static int random_faults(sim_t *s)
{
    DIR *dir = opendir(s->data);
    char names[64][128], msg[512];
    int n = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir)) && n < 64) {
        size_t l = strlen(e->d_name);
        if (l > 4 && l < 128 && !strcmp(e->d_name + l - 4, ".f32") && strncmp(e->d_name, "normal", 6))
            memcpy(names[n++], e->d_name, l + 1);
    }
    if (dir)
        closedir(dir);
    if (!n) {
        fprintf(stderr, "mote-sim: %s: no fault recordings (*.f32)\n", s->data);
        return 1;
    }
    uint64_t x = s->seed * 2654435761u + 1;
    uint32_t lo = 2 * s->warmup + 40;
    for (uint32_t k = 0; k < s->n; k++) {
        if ((double)(rng(&x) % 1000000) / 1e6 >= s->rate || s->windows <= lo + 20)
            continue;
        fault_t f = {.window = lo + (uint32_t)(rng(&x) % (s->windows - lo - 20))};
        if (!(f.rec = recording(s, names[rng(&x) % (uint64_t)n], msg, sizeof msg))) {
            fprintf(stderr, "mote-sim: %s\n", msg);
            return 1;
        }
        add_fault(&s->d[k], f);
    }
    return 0;
}

static void apply_faults(sim_t *s, simdev_t *d)
{
    for (int i = 0; i < d->nf; i++) {
        fault_t *f = &d->f[i];
        if (f->applied || d->windows < f->window)
            continue;
        f->applied = 1;
        if (f->kind == 0) {
            mote_source_switch(&d->src, f->rec, 0);
        } else if (f->kind == 1) {
            d->src.gain_max = f->gain;
            d->src.gain_step = (f->gain - d->src.gain) / (float)(f->ramp * mote_agent_hop(&d->a));
        } else {
            mote_source_switch(&d->src, s->normal, d->src.pos);
            d->src.gain = d->src.gain_max = 1;
            d->src.gain_step = 0;
        }
    }
}

/* ---- devices ------------------------------------------------------- */

/* The password of `id` in a file of "ID PASSWORD" lines, malloc'ed. */
static char *lookup_pass(const char *file, const char *id)
{
    FILE *f = fopen(file, "r");
    char line[512], who[128], pw[256];
    char *found = NULL;
    while (f && !found && fgets(line, sizeof line, f))
        if (sscanf(line, "%127s %255s", who, pw) == 2 && !strcmp(who, id))
            found = strdup(pw);
    if (f)
        fclose(f);
    return found;
}

/* One of the last small_n devices, which announce less RAM. */
static int k_small(const sim_t *s, const simdev_t *d)
{
    return s->small_n && (uint32_t)(d - s->d) + s->small_n >= s->n;
}

static int credentials(sim_t *s, simdev_t *d, mote_agent_config_t *c)
{
    char path[1024];
    if (s->pass_file) {
        if (!(d->pass = lookup_pass(s->pass_file, d->id))) {
            fprintf(stderr, "mote-sim: %s: no password for %s\n", s->pass_file, d->id);
            return 1;
        }
        c->pass = d->pass;
    }
    if (s->cert_dir) {
        snprintf(path, sizeof path, "%s/%s.crt", s->cert_dir, d->id);
        d->cert = strdup(path);
        snprintf(path, sizeof path, "%s/%s.key", s->cert_dir, d->id);
        d->key = strdup(path);
        if (!d->cert || !d->key)
            return 1;
        c->cert = d->cert;
        c->key = d->key;
    }
    c->cafile = s->cafile;
    if (k_small(s, d))
        c->ram_bytes = s->small_ram;
    return 0;
}

/* Device k trains slice k; the last fed_silent of them drop out of one
 * round, the first fed_attack misbehave. */
static int fed_device(sim_t *s, uint32_t k, mote_agent_config_t *c)
{
    simdev_t *d = &s->d[k];
    if (mote_fl_dev_init(&d->fl, &s->fsim, k, s->fleet_pk) != MOTE_OK) {
        fprintf(stderr, "mote-sim: %s: cannot set up the federated client\n", d->id);
        return 1;
    }
    const uint32_t n_silent = (uint32_t)ceil(s->fed_silent * s->n - 1e-9);
    if (k + n_silent >= s->n && n_silent)
        d->fl.silent_round = s->fed_silent_round;
    if (k < s->fed_attack)
        d->fl.c.attack = k == 0 ? MOTE_FED_SATURATE : MOTE_FED_NAN_STEP;
    mote_fl_dev_hook(&d->fl, c);
    return 0;
}

static int open_device(sim_t *s, uint32_t k, const uint8_t *bundle, size_t blen)
{
    simdev_t *d = &s->d[k];
    char dir[600];
    snprintf(d->id, sizeof d->id, "%s%04u", s->prefix, s->first + k);
    snprintf(dir, sizeof dir, "%s/%s", s->state, d->id);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mote-sim: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    mote_agent_config_t c = {0};
    c.id = d->id;
    c.host = s->host;
    c.port = s->port;
    c.pass = s->pass;
    c.fleet_pk = s->fleet_pk;
    c.state_dir = dir;
    c.heartbeat_s = s->heartbeat;
    c.sync = s->sync ? MOTE_EQUEUE_SYNC : MOTE_EQUEUE_NOSYNC;
    c.device.warmup = s->warmup;
    c.cache = &s->cache;
    c.log = log_line;
    if (credentials(s, d, &c))
        return 1;
    if (s->has_fsim && fed_device(s, k, &c))
        return 1;
    if (mote_agent_open(&d->a, &c) != MOTE_OK) {
        fprintf(stderr, "mote-sim: %s: %s\n", dir, d->a.msg);
        return 1;
    }
    mote_status_t st = mote_agent_provision(&d->a, bundle, blen);
    if (st != MOTE_OK && st != MOTE_ERR_VERSION && st != MOTE_ERR_STATE) {
        fprintf(stderr, "mote-sim: %s: %s\n", d->id, d->a.msg);
        return 1;
    }
    if (!mote_agent_hop(&d->a) || mote_agent_hop(&d->a) > 4096) {
        fprintf(stderr, "mote-sim: %s: no model, or a hop above 4096 samples\n", d->id);
        return 1;
    }
    /* distinct, deterministic starting points in the normal recording */
    mote_source_init(&d->src, s->normal, (size_t)k * 7919u * 64u);
    return 0;
}

static void count_events(simdev_t *d)
{
    uint64_t seen = d->a.st.by_kind[MOTE_EVT_ANOMALY] + d->a.st.by_kind[MOTE_EVT_CLASS];
    if (seen == d->seen)
        return;
    d->seen = seen;
    if (d->inject_win < 0 || (int64_t)d->windows <= d->inject_win)
        d->false_alarms++;
    else if (d->detect_win < 0)
        d->detect_win = (int64_t)d->windows - 1;
}

/* Feed up to `budget` windows' worth of hops to device d; returns hops fed. */
static uint32_t feed(sim_t *s, simdev_t *d, uint64_t due_samples, uint32_t budget, int64_t now)
{
    uint32_t hop = mote_agent_hop(&d->a), done = 0;
    float x[4096];
    while (done < budget && d->windows < s->windows && (d->windows + 1) * hop <= due_samples) {
        apply_faults(s, d);
        mote_source_read(&d->src, x, hop);
        mote_agent_feed(&d->a, x, hop, now);
        d->windows++;
        count_events(d);
        done++;
    }
    return done;
}

/* ---- the loop ------------------------------------------------------ */

static int all_done(const sim_t *s, int drained)
{
    for (uint32_t k = 0; k < s->n; k++)
        if (s->d[k].windows < s->windows || (drained && mote_agent_pending(&s->d[k].a)))
            return 0;
    return 1;
}

static void poll_all(sim_t *s, struct pollfd *p, uint32_t *idx, int timeout_ms)
{
    nfds_t n = 0;
    for (uint32_t k = 0; k < s->n; k++) {
        int fd = mote_agent_fd(&s->d[k].a);
        if (fd < 0)
            continue;
        p[n] = (struct pollfd){fd, (short)(POLLIN | (mote_agent_want_write(&s->d[k].a) ? POLLOUT : 0)), 0};
        idx[n++] = k;
    }
    if (poll(p, n, timeout_ms) <= 0)
        return;
    int64_t now = mote_agent_now_ms();
    for (nfds_t i = 0; i < n; i++)
        if (p[i].revents)
            mote_agent_io(&s->d[idx[i]].a, (p[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0,
                          (p[i].revents & POLLOUT) != 0, now);
}

static void run(sim_t *s)
{
    struct pollfd *p = calloc(s->n, sizeof *p);
    uint32_t *idx = calloc(s->n, sizeof *idx);
    int64_t t0 = mote_agent_now_ms(), last_step = 0, drain_end = 0;
    double sr = s->d[0].a.dev.model->dsp.sample_rate;
    while (p && idx && !stop) {
        int64_t now = mote_agent_now_ms();
        uint64_t due = s->speed > 0 ? (uint64_t)((double)(now - t0) * sr * s->speed / 1000.0) : UINT64_MAX;
        uint32_t fed = 0;
        for (uint32_t k = 0; k < s->n; k++)
            fed += feed(s, &s->d[k], due, 4, now);
        if (now - last_step >= 20 || fed == 0) {
            for (uint32_t k = 0; k < s->n; k++)
                mote_agent_step(&s->d[k].a, now);
            last_step = now;
        }
        poll_all(s, p, idx, fed ? 0 : 10);
        if (all_done(s, 0) && !drain_end && !s->has_fsim) {
            drain_end = now + (int64_t)s->drain_s * 1000;
            fprintf(stderr, "mote-sim: every window processed after %.2f s, draining\n",
                    (double)(now - t0) / 1000.0);
        }
        if (drain_end && (all_done(s, 1) || now > drain_end))
            break;
    }
    free(p);
    free(idx);
}

/* ---- report -------------------------------------------------------- */

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static void fed_report(const sim_t *s)
{
    uint64_t rounds = 0, up = 0, bup = 0, bdown = 0;
    for (uint32_t k = 0; k < s->n; k++)
        rounds += s->d[k].fl.rounds, up += s->d[k].fl.uploads, bup += s->d[k].fl.bytes_up,
            bdown += s->d[k].fl.bytes_down;
    printf("fl: rounds trained %llu, uploads %llu, update bytes up %llu (%.0f per device), "
           "global bytes down %llu (%.0f per device)\n",
           (unsigned long long)rounds, (unsigned long long)up, (unsigned long long)bup,
           (double)bup / s->n, (unsigned long long)bdown, (double)bdown / s->n);
    uint64_t bsec = 0;
    for (uint32_t k = 0; k < s->n; k++)
        bsec += s->d[k].fl.bytes_sec;
    if (bsec)
        printf("fl: secure-aggregation bytes up %llu (%.0f per device: keys, boxed shares, revealed shares)\n",
               (unsigned long long)bsec, (double)bsec / s->n);
}

static int report(const sim_t *s, double wall, double cpu)
{
    uint64_t win = 0, ev = 0, acked = 0, pend = 0, bev = 0, bhb = 0, nhb = 0, kinds[4] = {0};
    uint64_t injected = 0, detected = 0, fa = 0, lat = 0;
    printf("device        windows  events anomaly class drift  acked  queue  injected  detected  latency\n");
    for (uint32_t k = 0; k < s->n; k++) {
        const simdev_t *d = &s->d[k];
        const mote_agent_stats_t *st = &d->a.st;
        size_t q = mote_agent_pending(&d->a);
        printf("%-12s %8llu %7llu %7llu %5llu %5llu %6llu %6zu %9lld %9lld %8lld\n", d->id,
               (unsigned long long)d->windows, (unsigned long long)st->events,
               (unsigned long long)st->by_kind[0], (unsigned long long)st->by_kind[1],
               (unsigned long long)st->by_kind[2], (unsigned long long)st->acked, q,
               (long long)d->inject_win, (long long)d->detect_win,
               d->detect_win >= 0 ? (long long)(d->detect_win - d->inject_win) : -1LL);
        win += d->windows, ev += st->events, acked += st->acked, pend += q;
        bev += st->bytes_evt, bhb += st->bytes_hb, nhb += st->heartbeats;
        for (int i = 0; i < 4; i++)
            kinds[i] += st->by_kind[i];
        injected += d->inject_win >= 0;
        detected += d->inject_win >= 0 && d->detect_win >= 0;
        fa += d->false_alarms;
        lat += d->detect_win >= 0 ? (uint64_t)(d->detect_win - d->inject_win) : 0;
    }
    uint32_t hop = mote_agent_hop(&s->d[0].a);
    double raw = (double)win * hop * 4.0;
    printf("summary: devices %u, windows %llu, events %llu (anomaly %llu, class %llu, drift %llu), "
           "acknowledged %llu, waiting %llu\n",
           s->n, (unsigned long long)win, (unsigned long long)ev, (unsigned long long)kinds[0],
           (unsigned long long)kinds[1], (unsigned long long)kinds[2], (unsigned long long)acked,
           (unsigned long long)pend);
    printf("faults: injected %llu, reported %llu, mean latency %.1f windows, false alarms %llu\n",
           (unsigned long long)injected, (unsigned long long)detected,
           detected ? (double)lat / (double)detected : 0.0, (unsigned long long)fa);
    printf("traffic: events %llu B (%.0f B/event), heartbeats %llu B (%llu, %.0f B each), "
           "raw float32 stream %.0f B, reduction %.4f%%\n",
           (unsigned long long)bev, ev ? (double)bev / (double)ev : 0.0, (unsigned long long)bhb,
           (unsigned long long)nhb, nhb ? (double)bhb / (double)nhb : 0.0, raw,
           raw > 0 ? 100.0 * (1.0 - (double)(bev + bhb) / raw) : 0.0);
    if (s->has_fsim)
        fed_report(s);
    printf("time: wall %.2f s, cpu %.2f s, %.1f us cpu per device-window\n", wall, cpu,
           win ? cpu * 1e6 / (double)win : 0.0);
    return pend ? 1 : 0;
}

/* Per device: the queue file, and libmosquitto's TCP socket plus the
 * socket pair it keeps for waking its loop. */
#define FDS_PER_DEVICE 4

static void raise_nofile(uint32_t n)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < (rlim_t)n * FDS_PER_DEVICE + 64)
        fprintf(stderr, "mote-sim: warning: %llu open files allowed, %u devices need about %u\n",
                (unsigned long long)r.rlim_cur, n, n * FDS_PER_DEVICE + 64);
}

static int load_fed(sim_t *s)
{
    char msg[MOTE_FED_SIM_MSG_LEN];
    if (fsim_load(&s->fsim, s->fed, NULL, 1, msg, sizeof msg) != MOTE_OK) {
        fprintf(stderr, "mote-sim: --fed %s: %s\n", s->fed, msg);
        fsim_free(&s->fsim);
        return 1;
    }
    s->has_fsim = 1;
    if (s->n > s->fsim.cfg.devices) {
        fprintf(stderr, "mote-sim: --fed %s: %u devices but the config has %u slices\n", s->fed, s->n,
                s->fsim.cfg.devices);
        return 1;
    }
    fprintf(stderr, "mote-sim: federated data: %u slices, %u parameters per head\n", s->fsim.cfg.devices,
            s->fsim.n_params);
    return 0;
}

static int setup(sim_t *s)
{
    char msg[512];
    uint8_t *b;
    size_t blen;
    if (mkdir(s->state, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mote-sim: %s: %s\n", s->state, strerror(errno));
        return 1;
    }
    if (!(s->normal = recording(s, "normal_0hp_097.f32", msg, sizeof msg))) {
        fprintf(stderr, "mote-sim: %s\n", msg);
        return 1;
    }
    if (s->fed && load_fed(s))
        return 1;
    s->d = calloc(s->n, sizeof *s->d);
    if (!s->d)
        return 1;
    for (uint32_t k = 0; k < s->n; k++)
        s->d[k].inject_win = s->d[k].detect_win = -1;
    if ((s->faults && load_faults(s)) || (s->rate > 0 && random_faults(s)))
        return 1;
    if (mote_pack_read_file(s->install, (size_t)64 << 20, &b, &blen, msg, sizeof msg) != MOTE_OK) {
        fprintf(stderr, "mote-sim: %s\n", msg);
        return 1;
    }
    int rc = 0;
    for (uint32_t k = 0; k < s->n && !rc; k++)
        rc = open_device(s, k, b, blen);
    free(b);
    return rc;
}

int main(int argc, char **argv)
{
    sim_t s;
    int rc = parse(&s, argc, argv);
    if (rc)
        return rc;
    if (sodium_init() < 0)
        return 1;
    mosquitto_lib_init();
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile(s.n);
    quiet_logs = s.n > 20;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = setup(&s);
    double cpu0 = cpu_s();
    if (!rc) {
        fprintf(stderr, "mote-sim: %u devices ready (setup %.2f s cpu)\n", s.n, cpu0);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        run(&s);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        rc = report(&s, wall, cpu_s() - cpu0);
    }
    for (uint32_t k = 0; s.d && k < s.n; k++) {
        mote_source_free(&s.d[k].src);
        mote_agent_close(&s.d[k].a);
        mote_fl_dev_free(&s.d[k].fl);
        free(s.d[k].pass);
        free(s.d[k].cert);
        free(s.d[k].key);
    }
    free(s.d);
    for (size_t i = 0; i < s.n_recs; i++)
        mote_recording_unref(s.recs[i]);
    free(s.recs);
    if (s.has_fsim)
        fsim_free(&s.fsim);
    mote_agent_cache_clear(&s.cache);
    mosquitto_lib_cleanup();
    return rc;
}
