/* mote fed: federated learning of heads; `mote fed sim` runs devices and
 * the server in one process through the fleet library (src/fleet/fed*.h),
 * `plot` draws accuracy per round from rounds.csv files, `status` / `run`
 * ask a moted running rounds over MQTT (moted --fed) through its API. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "fed_sim.h"
#include "head_pkg.h"
#include "httpc.h"
#include "plot.h"
#include "train_cli.h"

static const char help[] =
    "usage: mote fed sim CONFIG.json [--out DIR] [--rounds N] [--quiet]\n"
    "       mote fed plot --out FILE.svg|.png [--central PCT] [--local PCT] LABEL=CSV[@VARIANT]...\n"
    "       mote fed status|run [--rounds N] [--url URL] [--token T]\n"
    "       mote fed package PKG_DIR HEAD.motl --out DIR [--name NAME] [--fed CONFIG]\n"
    "                        [--sig FILE --pk FLEET.pk --round R --version V]\n\n"
    "Simulate federated learning of a softmax head over a fleet, in process,\n"
    "through the same library calls and wire bytes devices and the server use:\n"
    "non-IID device slices of a dataset (DSP features), round 0 pooled feature\n"
    "statistics, then per round: select devices, broadcast the signed global\n"
    "head, local SGD with the FedProx term, int8 deltas with error feedback,\n"
    "secure aggregation (X25519 pair masks, Shamir recovery of devices that\n"
    "drop after masking), FedAvg weighted by sample count, a hash-chained\n"
    "ledger. Variants: secagg, plain (must equal secagg bit for bit), attack\n"
    "(poisoned updates rejected), dp (clipping + Gaussian noise, RDP epsilon).\n"
    "References: a head trained centrally on the pooled data, local-only heads.\n\n"
    "  --out DIR     output folder (created; default: fed_out)\n"
    "  --rounds N    override the config's round count (1..1000)\n"
    "  --quiet       no progress on stderr\n\n"
    "Writes rounds.csv, summary.json, accuracy.svg/.png, ledger.jsonl,\n"
    "global_final.motl (state blob) and global_final.sig. Config keys and the\n"
    "protocol: docs/federated.md.\n\n"
    "plot: accuracy per round of each CSV (columns round and accuracy, a\n"
    "fraction; with @VARIANT only the rows whose variant column matches, as in\n"
    "`mote fed sim`'s rounds.csv; moted --fed writes one too), with the central\n"
    "head as a dashed line and the local-only mean as a flat line (percent).\n\n"
    "status / run: ask a moted started with --fed (federated rounds over MQTT,\n"
    "docs/federated.md) for its round, version, accuracy, or for N more rounds\n"
    "(default 1). --url defaults to $MOTE_URL or http://127.0.0.1:8080, --token\n"
    "to $MOTE_TOKEN (viewer for status, engineer for run).\n\n"
    "package: a new model package: PKG_DIR's backbone (NAME.tflite, .dspcfg) plus\n"
    "the federated head as NAME.head.motl and in the model card's \"head\" object\n"
    "(round, version, BLAKE2b-256, classes, the state blob in hex), ready for\n"
    "`mote fleet models register`. The head's input width must equal the\n"
    "backbone tap's (input of the last FULLY_CONNECTED layer). A signature\n"
    "(--sig, or HEAD.sig beside HEAD.motl) is verified with --pk for --round and\n"
    "--version. A head saved without a standardizer (moted --fed's) gets the\n"
    "pooled feature statistics of --fed CONFIG. docs/federated.md.\n\n"
    "exit status: 0 success, 1 failure (bad config, data, I/O), 2 usage error\n";

typedef struct fed_args {
    const char *config;
    mote_fed_sim_opts_t opts;
} fed_args_t;

static int parse_opt(int argc, char **argv, int *i, fed_args_t *a, int *matched)
{
    const char *v = NULL;
    long n = 0;
    int r;
    *matched = 1;
    if ((r = cli_opt(argc, argv, i, "--out", &v)) != 0) {
        a->opts.out_dir = v;
        return r < 0 ? cli_usage("fed", "--out needs a folder") : CLI_OK;
    }
    if ((r = cli_opt(argc, argv, i, "--rounds", &v)) != 0) {
        if (r < 0 || cli_parse_long(v, 1, MOTE_FED_SIM_MAX_ROUNDS, &n) != 0)
            return cli_usage("fed", "--rounds needs an integer in [1, %u]",
                             MOTE_FED_SIM_MAX_ROUNDS);
        a->opts.has_rounds = 1, a->opts.rounds = (uint32_t)n;
        return CLI_OK;
    }
    if (strcmp(argv[*i], "--quiet") == 0 || strcmp(argv[*i], "-q") == 0) {
        a->opts.quiet = 1;
        return CLI_OK;
    }
    *matched = 0;
    return CLI_OK;
}

static int parse(int argc, char **argv, fed_args_t *a)
{
    memset(a, 0, sizeof *a);
    if (argc < 1 || strcmp(argv[0], "sim") != 0)
        return cli_usage("fed", argc < 1 ? "missing ACTION (sim, plot, status, run)" : "unknown action '%s'",
                         argc < 1 ? "" : argv[0]);
    for (int i = 1; i < argc; i++) {
        int matched, rc = parse_opt(argc, argv, &i, a, &matched);
        if (rc != CLI_OK)
            return rc;
        if (matched)
            continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage("fed", "unknown option '%s'", argv[i]);
        if (a->config)
            return cli_usage("fed", "more than one CONFIG ('%s', '%s')", a->config, argv[i]);
        a->config = argv[i];
    }
    if (!a->opts.out_dir)
        a->opts.out_dir = "fed_out";
    return a->config ? CLI_OK : cli_usage("fed", "missing CONFIG");
}

/* ---- mote fed plot ---- */

#define PLOT_MAX_LINES 6

typedef struct plot_line {
    char label[64];
    double x[MOTE_FED_SIM_MAX_ROUNDS], y[MOTE_FED_SIM_MAX_ROUNDS];
    size_t n;
} plot_line_t;

/* Index of column `name` in a CSV header line, -1 when absent. */
static int csv_col(const char *header, const char *name)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", header);
    buf[strcspn(buf, "\r\n")] = '\0';
    const size_t want = strlen(name);
    int k = 0;
    for (const char *t = buf; t; k++) {
        const size_t n = strcspn(t, ",");
        if (n == want && strncmp(t, name, n) == 0)
            return k;
        t = t[n] ? t + n + 1 : NULL;
    }
    return -1;
}

/* Field k of a CSV line (no quoting: these files have none). */
static int csv_field(const char *line, int k, char *out, size_t cap)
{
    const char *p = line;
    for (int i = 0; i < k && p; i++)
        p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
    if (!p)
        return -1;
    size_t n = strcspn(p, ",\r\n");
    if (n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int read_series(const char *spec, plot_line_t *l)
{
    char path[1024], variant[64] = "";
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof l->label)
        return cli_usage("fed", "plot: '%s' is not LABEL=CSV[@VARIANT]", spec);
    snprintf(l->label, sizeof l->label, "%.*s", (int)(eq - spec), spec);
    snprintf(path, sizeof path, "%s", eq + 1);
    char *at = strrchr(path, '@');
    if (at)
        snprintf(variant, sizeof variant, "%s", at + 1), *at = '\0';
    FILE *f = fopen(path, "r");
    char line[1024];
    if (!f || !fgets(line, sizeof line, f)) {
        fprintf(stderr, "mote fed: plot: %s: cannot read\n", path);
        if (f)
            fclose(f);
        return CLI_FAIL;
    }
    const int cr = csv_col(line, "round"), ca = csv_col(line, "accuracy"), cv = csv_col(line, "variant");
    int rc = cr < 0 || ca < 0 || (variant[0] && cv < 0) ? CLI_FAIL : CLI_OK;
    if (rc)
        fprintf(stderr, "mote fed: plot: %s: header lacks round, accuracy%s\n", path, variant[0] ? " or variant" : "");
    for (int ln = 2; !rc && fgets(line, sizeof line, f) && l->n < MOTE_FED_SIM_MAX_ROUNDS; ln++) {
        char r[32], a[32], v[64];
        if (variant[0] && (csv_field(line, cv, v, sizeof v) || strcmp(v, variant) != 0))
            continue;
        char *e1, *e2;
        if (csv_field(line, cr, r, sizeof r) || csv_field(line, ca, a, sizeof a) ||
            (l->x[l->n] = strtod(r, &e1), *e1) || (l->y[l->n] = 100.0 * strtod(a, &e2), *e2)) {
            fprintf(stderr, "mote fed: plot: %s:%d: bad round or accuracy\n", path, ln);
            rc = CLI_FAIL;
        }
        l->n++;
    }
    fclose(f);
    if (!rc && l->n == 0) {
        fprintf(stderr, "mote fed: plot: %s: no rows%s%s\n", path, variant[0] ? " of variant " : "", variant);
        rc = CLI_FAIL;
    }
    return rc;
}

static int plot_save(plot_line_t *pl, size_t n, double central, double local, const char *out)
{
    mote_plot_line_t lines[PLOT_MAX_LINES + 1];
    double lx[2] = {1, 1}, ly[2] = {local, local};
    for (size_t i = 0; i < n; i++) {
        lines[i] = (mote_plot_line_t){pl[i].label, pl[i].x, pl[i].y, pl[i].n};
        lx[1] = pl[i].x[pl[i].n - 1] > lx[1] ? pl[i].x[pl[i].n - 1] : lx[1];
    }
    if (local >= 0)
        lines[n++] = (mote_plot_line_t){"local-only heads (mean)", lx, ly, 2};
    mote_plot_series_t sp = {.title = "Federated head: test accuracy", .x_title = "round",
                             .y_title = "accuracy (%)", .lines = lines, .n_lines = n,
                             .has_threshold = central >= 0, .threshold = central,
                             .threshold_label = "central head (pooled data)", .fixed_y = 1, .y_min = 0,
                             .y_max = 100};
    char msg[256];
    mote_plot_t *p = NULL;
    mote_status_t st = mote_plot_series(&sp, &p, msg, sizeof msg);
    if (!st)
        st = mote_plot_save(p, out, msg, sizeof msg);
    mote_plot_free(p);
    if (st)
        fprintf(stderr, "mote fed: plot: %s: %s\n", out, msg);
    return st ? CLI_FAIL : CLI_OK;
}

static int plot_pct(const char *name, const char *v, double *out)
{
    char *e;
    *out = strtod(v ? v : "", &e);
    if (!v || !*v || *e || !(*out >= 0 && *out <= 100))
        return cli_usage("fed", "plot: %s needs a percentage in [0, 100]", name);
    return CLI_OK;
}

static int plot_run(int argc, char **argv)
{
    static plot_line_t pl[PLOT_MAX_LINES];
    const char *out = NULL, *v = NULL;
    double central = -1, local = -1;
    size_t n = 0;
    int r, rc = CLI_OK;
    memset(pl, 0, sizeof pl);
    for (int i = 1; i < argc && rc == CLI_OK; i++) {
        if ((r = cli_opt(argc, argv, &i, "--out", &v)) != 0)
            rc = r < 0 ? cli_usage("fed", "plot: --out needs a file") : (out = v, CLI_OK);
        else if ((r = cli_opt(argc, argv, &i, "--central", &v)) != 0)
            rc = plot_pct("--central", r < 0 ? NULL : v, &central);
        else if ((r = cli_opt(argc, argv, &i, "--local", &v)) != 0)
            rc = plot_pct("--local", r < 0 ? NULL : v, &local);
        else if (argv[i][0] == '-')
            rc = cli_usage("fed", "plot: unknown option '%s'", argv[i]);
        else if (n == PLOT_MAX_LINES)
            rc = cli_usage("fed", "plot: at most %d series", PLOT_MAX_LINES);
        else
            rc = read_series(argv[i], &pl[n++]);
    }
    if (rc == CLI_OK && (!out || n == 0))
        rc = cli_usage("fed", "plot: needs --out and at least one LABEL=CSV");
    return rc == CLI_OK ? plot_save(pl, n, central, local, out) : rc;
}

/* ---- mote fed status | run: moted's /api/fed ---- */

static int api_print(const char *url, const char *method, const char *path, const char *token, const char *body)
{
    mote_httpc_resp_t r;
    char err[300];
    mote_status_t st = mote_httpc_request(url, method, path, token, body, body ? strlen(body) : 0, 0, &r, err,
                                          sizeof err);
    if (st != MOTE_OK) {
        cli_error(url, st, "%s", err);
        return CLI_FAIL;
    }
    json_error_t je;
    json_t *j = json_loadb(r.body, r.len, 0, &je);
    int rc = CLI_OK;
    if (r.status >= 300 || !j) {
        const char *msg = json_string_value(json_object_get(j, "error"));
        cli_error(url, MOTE_ERR_STATE, "%s %s: HTTP %d: %s", method, path, r.status, msg ? msg : r.body);
        rc = CLI_FAIL;
    } else if (strcmp(method, "POST") == 0) {
        /* the answer's "round" is the first of the queued rounds */
        printf("rounds %lld to %lld queued\n", (long long)json_integer_value(json_object_get(j, "round")),
               (long long)json_integer_value(json_object_get(j, "target")));
    } else {
        printf("round %lld of %lld%s, global version %lld, accuracy %.2f %%, roster %lld, received %lld, "
               "rejected %lld\n",
               (long long)json_integer_value(json_object_get(j, "round")),
               (long long)json_integer_value(json_object_get(j, "target")),
               json_is_true(json_object_get(j, "open")) ? " (open)" : "",
               (long long)json_integer_value(json_object_get(j, "version")),
               100.0 * json_number_value(json_object_get(j, "accuracy")),
               (long long)json_integer_value(json_object_get(j, "roster")),
               (long long)json_integer_value(json_object_get(j, "received")),
               (long long)json_integer_value(json_object_get(j, "rejected")));
    }
    json_decref(j);
    mote_httpc_free(&r);
    return rc;
}

static int api_run(int argc, char **argv)
{
    const char *url = getenv("MOTE_URL"), *token = getenv("MOTE_TOKEN"), *v = NULL;
    long rounds = 1;
    int r, rc = CLI_OK;
    const int is_run = strcmp(argv[0], "run") == 0;
    for (int i = 1; i < argc && rc == CLI_OK; i++) {
        if ((r = cli_opt(argc, argv, &i, "--url", &v)) != 0)
            rc = r < 0 ? cli_usage("fed", "--url needs a value") : (url = v, CLI_OK);
        else if ((r = cli_opt(argc, argv, &i, "--token", &v)) != 0)
            rc = r < 0 ? cli_usage("fed", "--token needs a value") : (token = v, CLI_OK);
        else if (is_run && (r = cli_opt(argc, argv, &i, "--rounds", &v)) != 0)
            rc = r < 0 || cli_parse_long(v, 1, MOTE_FED_SIM_MAX_ROUNDS, &rounds) != 0
                     ? cli_usage("fed", "--rounds needs an integer in [1, %u]", MOTE_FED_SIM_MAX_ROUNDS)
                     : CLI_OK;
        else
            rc = cli_usage("fed", "%s: unknown argument '%s'", argv[0], argv[i]);
    }
    if (rc != CLI_OK)
        return rc;
    if (!url || !*url)
        url = "http://127.0.0.1:8080";
    if (!is_run)
        return api_print(url, "GET", "/api/fed", token, NULL);
    char body[64];
    snprintf(body, sizeof body, "{\"rounds\": %ld}", rounds);
    return api_print(url, "POST", "/api/fed/rounds", token, body);
}

static int package_opt(int argc, char **argv, int *i, mote_head_pkg_opts_t *o)
{
    static const char *const names[] = {"--out", "--name", "--fed", "--sig", "--pk", "--round", "--version"};
    const char **dst[] = {&o->out_dir, &o->name, &o->fed_config, &o->sig, &o->pk, NULL, NULL};
    const char *v;
    long n;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        int r = cli_opt(argc, argv, i, names[k], &v);
        if (r < 0)
            return cli_usage("fed", "package: %s needs a value", names[k]);
        if (r == 0)
            continue;
        if (dst[k])
            *dst[k] = v;
        else if (cli_parse_long(v, 0, k == 5 ? (long)UINT32_MAX : LONG_MAX, &n) != 0)
            return cli_usage("fed", "package: %s needs a non-negative integer, not '%s'", names[k], v);
        else if (k == 5)
            o->round = (uint32_t)n;
        else
            o->version = (uint64_t)n;
        return CLI_OK;
    }
    return cli_usage("fed", "package: unknown option '%s'", argv[*i]);
}

static int package_run(int argc, char **argv)
{
    mote_head_pkg_opts_t o;
    memset(&o, 0, sizeof o);
    for (int i = 1; i < argc; i++) {
        int rc = CLI_OK;
        if (argv[i][0] == '-' && argv[i][1] == '-')
            rc = package_opt(argc, argv, &i, &o);
        else if (!o.pkg_dir)
            o.pkg_dir = argv[i];
        else if (!o.head)
            o.head = argv[i];
        else
            rc = cli_usage("fed", "package: unexpected argument '%s'", argv[i]);
        if (rc != CLI_OK)
            return rc;
    }
    if (!o.pkg_dir || !o.head || !o.out_dir)
        return cli_usage("fed", "package: needs PKG_DIR, HEAD.motl and --out DIR");
    char msg[MOTE_HEAD_PKG_MSG_LEN] = "";
    mote_head_pkg_result_t r;
    mote_status_t st = mote_head_pkg_write(&o, &r, msg, sizeof msg);
    if (st != MOTE_OK) {
        cli_error(o.head, st, "%s", msg);
        return CLI_FAIL;
    }
    printf("package %s/%s: head %u -> %u classes on tensor %u, %zu bytes, blake2b %s, signature %s, "
           "standardizer %s\n",
           o.out_dir, r.name, r.n_features, r.n_classes, r.tap_tensor, r.head_bytes, r.blake2b,
           r.signed_ok ? "verified" : "none", r.pooled_std ? "pooled from --fed" : "from the blob");
    if (r.accuracy >= 0)
        printf("accuracy on the test split of --fed (raw tapped features, as on the device): %.4f\n", r.accuracy);
    return CLI_OK;
}

static int run(int argc, char **argv)
{
    fed_args_t a;
    if (argc >= 1 && strcmp(argv[0], "package") == 0)
        return package_run(argc, argv);
    if (argc >= 1 && strcmp(argv[0], "plot") == 0)
        return plot_run(argc, argv);
    if (argc >= 1 && (strcmp(argv[0], "status") == 0 || strcmp(argv[0], "run") == 0))
        return api_run(argc, argv);
    int rc = parse(argc, argv, &a);
    if (rc != CLI_OK)
        return rc;
    char msg[MOTE_FED_SIM_MSG_LEN] = "";
    mote_fed_sim_result_t res;
    mote_status_t st = mote_fed_sim_run(a.config, &a.opts, &res, msg, sizeof msg);
    if (st == MOTE_OK) {
        mote_fed_sim_print(stdout, &res);
        if (!a.opts.quiet)
            fprintf(stderr, "mote fed: wrote %s/ (rounds.csv, summary.json, accuracy.svg/.png, "
                            "ledger.jsonl, global_final.motl/.sig)\n", a.opts.out_dir);
    }
    mote_fed_sim_result_free(&res);
    return st == MOTE_OK ? CLI_OK : cli_train_fail(a.config, st, msg);
}

const cli_cmd_t cli_cmd_fed = {"fed", "federated learning of heads: in-process fleet simulation",
                               help, run};
