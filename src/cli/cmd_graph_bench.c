/* mote graph bench: a generated fleet and the timing of the shipped queries.
 *
 * Devices and models go through the same ingestion as real ones (Thing
 * Descriptions and model cards), so the load time is that of moted's path.
 * Then fit.rq for one device and needs-update.rq for one model run --runs
 * times each (first run excluded, median and minimum reported). --dump DIR
 * also writes the generated documents, for comparisons with rdflib. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "graph.h"

static const char *const OPS[] = {"FULLY_CONNECTED", "SOFTMAX", "CONV_2D", "DEPTHWISE_CONV_2D", "RESHAPE",
                                  "AVERAGE_POOL_2D", "MAX_POOL_2D", "LOGISTIC", "QUANTIZE", "DEQUANTIZE",
                                  "ADD", "MUL"};
static const char *const SENSORS[] = {"accelerometer", "microphone", "thermometer", "camera"};
enum { N_OPS = 12, N_SENSORS = 4, N_VERSIONS = 10 };

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static double clock_ms(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double now_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

/* Process CPU time: on a shared machine wall time includes waiting for a
 * core; CPU time is what the query itself cost. Both are reported. */
static double cpu_ms(void)
{
    return clock_ms(CLOCK_PROCESS_CPUTIME_ID);
}

/* Devices support the first 4..12 operators; models need 2..5 of the first 8. */
static int device_td(char *buf, size_t cap, long i, long n_names)
{
    static const long ram[] = {16384, 32768, 65536, 131072, 262144};
    int n_ops = 4 + (int)rnd(N_OPS - 3), k = 0;
    char ops[512] = "";
    for (int o = 0; o < n_ops; o++)
        k += snprintf(ops + k, sizeof ops - (size_t)k, "%s\"%s\"", o ? ", " : "", OPS[o]);
    const char *s1 = SENSORS[rnd(N_SENSORS)], *s2 = SENSORS[rnd(N_SENSORS)];
    return snprintf(buf, cap,
        "{\"@context\": [\"https://www.w3.org/2022/wot/td/v1.1\", {\"mote\": \"https://w3id.org/mote#\"}],"
        " \"id\": \"urn:mote:dev:dev-%05ld\", \"title\": \"Device %ld\","
        " \"securityDefinitions\": {\"nosec_sc\": {\"scheme\": \"nosec\"}}, \"security\": \"nosec_sc\","
        " \"mote:deviceClass\": \"class-%u\", \"mote:group\": \"plant-%u/line-%u\","
        " \"mote:ramBytes\": %ld, \"mote:flashBytes\": %ld, \"mote:runtime\": \"0.%u.0\", \"mote:ops\": [%s],"
        " \"mote:sensors\": [{\"type\": \"%s\", \"quantity\": \"q\", \"rateHz\": %u, \"location\": \"a\"},"
        " {\"type\": \"%s\", \"quantity\": \"q\", \"rateHz\": %u, \"location\": \"b\"}],"
        " \"mote:model\": {\"name\": \"model-%03ld\", \"version\": \"1.%u.0\"}, \"mote:trainableHead\": %s}",
        i, i, rnd(5), rnd(10), rnd(20), ram[rnd(5)], 131072L << rnd(4), 1 + rnd(3), ops, s1,
        4000 * (1 + rnd(4)), s2, 4000 * (1 + rnd(4)), (long)rnd((uint32_t)n_names), rnd(N_VERSIONS),
        rnd(2) ? "true" : "false");
}

static int model_card(char *buf, size_t cap, long i)
{
    int n_ops = 2 + (int)rnd(4), k = 0;
    char ops[256] = "";
    for (int o = 0; o < n_ops; o++)
        k += snprintf(ops + k, sizeof ops - (size_t)k, "%s\"%s\"", o ? ", " : "", OPS[(o * 3 + i) % 8]);
    return snprintf(buf, cap,
        "{\"format\": \"mote-model-card/1\", \"name\": \"model-%03ld\", \"version\": \"1.%ld.0\","
        " \"created\": \"2026-11-22\", \"description\": \"generated model %ld\", \"task\": \"classification\","
        " \"input\": {\"sensor\": \"%s\", \"sample_rate_hz\": %u, \"window\": 1024, \"features\": null},"
        " \"output\": {\"classes\": [\"a\", \"b\"]}, \"metrics\": {\"accuracy\": %.3f},"
        " \"macs\": %u, \"flash_bytes\": %u, \"arena_bytes\": %u, \"required_operators\": [%s],"
        " \"runtime_version\": \"0.%u.0\", \"quantization\": \"int8\","
        " \"files\": {\"tflite\": {\"name\": \"m.tflite\", \"sha256\": \"%064lx\"}, \"dspcfg\": null}}",
        i / N_VERSIONS, i % N_VERSIONS, i, SENSORS[rnd(N_SENSORS)], 4000 * (1 + rnd(4)), 0.5 + rnd(500) / 1000.0,
        1000 + rnd(1000000), 2000 + rnd(500000), 1000 + rnd(100000), ops, 1 + rnd(3), i + 1);
}

/* With --dump, also write each generated document to DIR (card-NNNN.json,
 * td-NNNNN.json) so another engine can load exactly the same fleet. */
static int dump(const char *dir, const char *kind, long i, const char *buf, int n)
{
    char path[1024];
    if (!dir)
        return CLI_OK;
    snprintf(path, sizeof path, "%s/%s-%05ld.json", dir, kind, i);
    return cli_write_file(path, buf, (size_t)n) ? CLI_FAIL : CLI_OK;
}

static int generate(mote_graph_t *g, long n_dev, long n_models, const char *dir)
{
    char buf[4096], err[MOTE_GRAPH_ERR_LEN];
    for (long i = 0; i < n_models; i++) {
        int n = model_card(buf, sizeof buf, i);
        if (dump(dir, "card", i, buf, n) != CLI_OK)
            return CLI_FAIL;
        if (mote_graph_add_card(g, buf, (size_t)n, err, sizeof err)) {
            cli_error("bench card", MOTE_ERR_FORMAT, "%s", err);
            return CLI_FAIL;
        }
    }
    long names = (n_models + N_VERSIONS - 1) / N_VERSIONS;
    for (long i = 0; i < n_dev; i++) {
        int n = device_td(buf, sizeof buf, i, names);
        if (dump(dir, "td", i, buf, n) != CLI_OK)
            return CLI_FAIL;
        if (mote_graph_add_td(g, buf, (size_t)n, err, sizeof err)) {
            cli_error("bench td", MOTE_ERR_FORMAT, "%s", err);
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

static char *read_query(const char *dir, const char *name, const char *var, const char *term)
{
    char path[1024];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *t = cli_read_file(path, &len);
    if (!t)
        return NULL;
    size_t vl = strlen(var), tl = strlen(term), cnt = 1;
    for (size_t i = 0; i < len; i++)
        cnt += t[i] == '$';
    char *out = malloc(len + cnt * tl + 1), *w = out;
    for (size_t i = 0; out && i < len;) {
        if (t[i] == '$' && i + 1 + vl <= len && !memcmp(t + i + 1, var, vl)) {
            memcpy(w, term, tl);
            w += tl;
            i += 1 + vl;
        } else {
            *w++ = t[i++];
        }
    }
    if (out)
        *w = 0;
    free(t);
    return out;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median and minimum of `runs` timed executions (after one warm-up). */
static int time_query(mote_graph_t *g, const char *label, const char *q, long runs)
{
    double t[101], c[101];
    long rows = 0;
    char err[MOTE_GRAPH_ERR_LEN];
    for (long r = 0; r <= runs; r++) {
        char *out = NULL;
        size_t len = 0;
        double t0 = now_ms(), c0 = cpu_ms();
        mote_status_t st = mote_graph_query(g, q, MOTE_GRAPH_CSV, &out, &len, err, sizeof err);
        double dt = now_ms() - t0, dc = cpu_ms() - c0;
        if (st) {
            cli_error(label, st, "%s", err);
            return CLI_FAIL;
        }
        rows = -1;
        for (size_t i = 0; i < len; i++)
            rows += out[i] == '\n';
        free(out);
        if (r) {
            t[r - 1] = dt;
            c[r - 1] = dc;
        }
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_dbl);
    qsort(c, (size_t)runs, sizeof c[0], cmp_dbl);
    printf("%-14s rows %6ld  wall median %8.2f ms  min %8.2f ms  cpu median %8.2f ms  (%ld runs)\n", label, rows,
           t[runs / 2], t[0], c[runs / 2], runs);
    return CLI_OK;
}

/* The same question answered by mote_graph_check over every model version
 * (index lookups only, no SPARQL): what a campaign calls per device. */
static int time_check(mote_graph_t *g, const char *dev, long runs)
{
    size_t cap = 100000, n = 0;
    mote_graph_model_t *ms = calloc(cap, sizeof *ms);
    char err[MOTE_GRAPH_ERR_LEN], r[1][MOTE_GRAPH_REASON_LEN];
    double t[101], c[101];
    long fits = 0;
    if (!ms || mote_graph_models(g, ms, cap, &n, err, sizeof err)) {
        free(ms);
        return CLI_FAIL;
    }
    for (long k = 0; k <= runs; k++) {
        double t0 = now_ms(), c0 = cpu_ms();
        fits = 0;
        for (size_t i = 0; i < n; i++) {
            size_t nr = 0;
            if (mote_graph_check(g, dev, ms[i].iri, r, 1, &nr, err, sizeof err) == MOTE_OK && nr == 0)
                fits++;
        }
        if (k) {
            t[k - 1] = now_ms() - t0;
            c[k - 1] = cpu_ms() - c0;
        }
    }
    free(ms);
    qsort(t, (size_t)runs, sizeof t[0], cmp_dbl);
    qsort(c, (size_t)runs, sizeof c[0], cmp_dbl);
    printf("%-14s rows %6ld  wall median %8.2f ms  min %8.2f ms  cpu median %8.2f ms  (%ld runs, %zu models)\n",
           "check-all", fits, t[runs / 2], t[0], c[runs / 2], runs, n);
    return CLI_OK;
}

int cli_graph_bench(mote_graph_t *g, int argc, char **argv);
int cli_graph_bench(mote_graph_t *g, int argc, char **argv)
{
    long n_dev = 10000, n_models = 1000, runs = 11;
    const char *qdir = NULL, *dir = NULL;
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        long *dst = NULL;
        int r;
        if ((r = cli_opt(argc, argv, &i, "--devices", &v)) != 0)
            dst = &n_dev;
        else if ((r = cli_opt(argc, argv, &i, "--models", &v)) != 0)
            dst = &n_models;
        else if ((r = cli_opt(argc, argv, &i, "--runs", &v)) != 0)
            dst = &runs;
        else if ((r = cli_opt(argc, argv, &i, "--dump", &dir)) != 0)
            ;
        else if ((r = cli_opt(argc, argv, &i, "--queries", &qdir)) == 0)
            return cli_usage("graph bench", "unknown argument '%s'", argv[i]);
        if (r < 0 || (dst && cli_parse_long(v, 1, dst == &runs ? 100 : 1000000, dst)))
            return cli_usage("graph bench", "bad value for %s", argv[i]);
    }
    if (!qdir)
        return cli_usage("graph bench", "needs --queries DIR (ontology/queries)");
    double t0 = now_ms(), c0 = cpu_ms();
    if (generate(g, n_dev, n_models, dir) != CLI_OK)
        return CLI_FAIL;
    double t1 = now_ms(), c1 = cpu_ms();
    printf("graph: %ld devices, %ld models, %ld triples, ingested in %.0f ms (cpu %.0f ms)\n", n_dev, n_models,
           mote_graph_size(g), t1 - t0, c1 - c0);
    char dev[64];
    snprintf(dev, sizeof dev, "<urn:mote:dev:dev-%05ld>", n_dev / 2);
    char *fit = read_query(qdir, "fit.rq", "device", dev);
    char *upd = read_query(qdir, "needs-update.rq", "model", "\"model-007\"");
    int rc = fit && upd ? CLI_OK : CLI_FAIL;
    if (rc == CLI_OK)
        rc = time_query(g, "fit", fit, runs);
    if (rc == CLI_OK)
        rc = time_query(g, "needs-update", upd, runs);
    snprintf(dev, sizeof dev, "dev-%05ld", n_dev / 2);
    if (rc == CLI_OK)
        rc = time_check(g, dev, runs);
    free(fit);
    free(upd);
    return rc;
}
