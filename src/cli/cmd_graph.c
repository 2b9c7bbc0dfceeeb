/* mote graph: the fleet knowledge graph from the command line.
 *
 *   mote graph query FILE.rq [--data FILE|DIR]... [--db DIR] [--bind NAME=TERM]... [--format json|csv|table]
 *   mote graph load FILE|DIR... [--db DIR]
 *   mote graph fit DEVICE [--model NAME@VERSION|IRI] [--data ...] [--db DIR]
 *   mote graph search TERMS [--data ...] [--db DIR] [--limit N]
 *   mote graph bench [--devices N] [--models N] [--runs N] [--dump DIR] --queries DIR
 *
 * --data adds files to the graph for this run only: Turtle (.ttl), Thing
 * Descriptions and model cards (.json); a directory adds its .ttl and
 * .json files in name order. --db opens a persistent graph (N-Triples
 * snapshot and FTS5 index in DIR). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "graph.h"

int cli_graph_bench(mote_graph_t *g, int argc, char **argv); /* cmd_graph_bench.c */

enum { MAX_DATA = 256, MAX_BIND = 16 };

typedef struct gopts {
    const char *data[MAX_DATA];
    int n_data;
    const char *bind[MAX_BIND];
    int n_bind;
    const char *db, *format, *model, *limit;
    const char *pos[MAX_DATA];
    int n_pos;
} gopts_t;

static int parse(const char *cmd, int argc, char **argv, gopts_t *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        int r;
        if ((r = cli_opt(argc, argv, &i, "--data", &v)) != 0) {
            if (r < 0 || o->n_data == MAX_DATA)
                return cli_usage(cmd, r < 0 ? "--data needs a file" : "too many --data");
            o->data[o->n_data++] = v;
        } else if ((r = cli_opt(argc, argv, &i, "--bind", &v)) != 0) {
            if (r < 0 || o->n_bind == MAX_BIND || !strchr(v, '='))
                return cli_usage(cmd, "--bind needs NAME=TERM (at most %d)", MAX_BIND);
            o->bind[o->n_bind++] = v;
        } else if ((r = cli_opt(argc, argv, &i, "--db", &o->db)) != 0 ||
                   (r = cli_opt(argc, argv, &i, "--format", &o->format)) != 0 ||
                   (r = cli_opt(argc, argv, &i, "--model", &o->model)) != 0 ||
                   (r = cli_opt(argc, argv, &i, "--limit", &o->limit)) != 0) {
            if (r < 0)
                return cli_usage(cmd, "%s needs a value", argv[i]);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage(cmd, "unknown option '%s'", argv[i]);
        } else if (o->n_pos < MAX_DATA) {
            o->pos[o->n_pos++] = argv[i];
        }
    }
    return CLI_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_one(mote_graph_t *g, const char *path)
{
    char err[MOTE_GRAPH_ERR_LEN];
    mote_status_t st = mote_graph_load_file(g, path, err, sizeof err);
    if (st)
        cli_error(path, st, "%s", err);
    return st ? CLI_FAIL : CLI_OK;
}

static int has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && !strcmp(name + n - e, ext);
}

/* A directory's .ttl and .json files (any number), in name order. */
static int load_dir(mote_graph_t *g, const char *dir)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = d ? CLI_OK : load_one(g, dir); /* reports why it cannot be read */
    struct dirent *e;
    while (d && rc == CLI_OK && (e = readdir(d)))
        if (has_ext(e->d_name, ".ttl") || has_ext(e->d_name, ".json")) {
            char **more = n < cap ? names : realloc(names, (cap = cap ? 2 * cap : 256) * sizeof *names);
            char *name = more ? strdup(e->d_name) : NULL;
            names = more ? more : names;
            if (name)
                names[n++] = name;
            else
                rc = CLI_FAIL;
        }
    if (d)
        closedir(d);
    if (d && rc != CLI_OK)
        cli_error(dir, MOTE_ERR_NOMEM, "out of memory listing the directory");
    else if (n)
        qsort(names, n, sizeof names[0], by_name);
    for (size_t i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (rc == CLI_OK)
            rc = load_one(g, path);
        free(names[i]);
    }
    free(names);
    return rc;
}

static int load_path(mote_graph_t *g, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return load_dir(g, path);
    return load_one(g, path);
}

static int open_graph(const gopts_t *o, mote_graph_t **g)
{
    char err[MOTE_GRAPH_ERR_LEN];
    mote_status_t st = mote_graph_open(g, o->db, err, sizeof err);
    if (st) {
        cli_error(o->db ? o->db : "graph", st, "%s", err);
        return CLI_FAIL;
    }
    for (int i = 0; i < o->n_data; i++)
        if (load_path(*g, o->data[i]) != CLI_OK) {
            mote_graph_close(*g);
            *g = NULL;
            return CLI_FAIL;
        }
    return CLI_OK;
}

/* Replace each "$NAME" token by TERM for every --bind NAME=TERM, so a
 * parameter becomes a constant Rasqal can look up instead of scan for. */
static char *bind_params(const char *q, const gopts_t *o)
{
    size_t cap = strlen(q) + 1;
    for (int b = 0; b < o->n_bind; b++)
        cap += 64 * strlen(o->bind[b]);
    char *out = malloc(cap * 4), *w = out;
    if (!out)
        return NULL;
    for (const char *p = q; *p;) {
        int done = 0;
        for (int b = 0; b < o->n_bind && *p == '$' && !done; b++) {
            const char *eq = strchr(o->bind[b], '=');
            size_t n = (size_t)(eq - o->bind[b]);
            char c = p[1 + n];
            int end = !(c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'));
            if (!strncmp(p + 1, o->bind[b], n) && end && (size_t)(w - out) + strlen(eq + 1) < cap * 4 - 1) {
                w += sprintf(w, "%s", eq + 1);
                p += 1 + n;
                done = 1;
            }
        }
        if (!done && (size_t)(w - out) < cap * 4 - 1)
            *w++ = *p++;
        else if (!done)
            p++;
    }
    *w = 0;
    return out;
}

static int fmt_of(const char *f, mote_graph_fmt_t *out)
{
    if (!f || !strcmp(f, "table"))
        *out = MOTE_GRAPH_TABLE;
    else if (!strcmp(f, "json"))
        *out = MOTE_GRAPH_JSON;
    else if (!strcmp(f, "csv"))
        *out = MOTE_GRAPH_CSV;
    else
        return -1;
    return 0;
}

static int cmd_query(int argc, char **argv)
{
    gopts_t o;
    mote_graph_fmt_t fmt;
    if (parse("graph query", argc, argv, &o) || o.n_pos != 1 || fmt_of(o.format, &fmt))
        return cli_usage("graph query", "needs one FILE.rq and --format json|csv|table");
    size_t len;
    char *text = cli_read_file(o.pos[0], &len), *q = NULL, *out = NULL, err[MOTE_GRAPH_ERR_LEN];
    mote_graph_t *g = NULL;
    int rc = text ? CLI_OK : CLI_FAIL;
    if (text && memchr(text, 0, len)) {
        cli_error(o.pos[0], MOTE_ERR_FORMAT, "NUL byte in query");
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK) {
        char *z = realloc(text, len + 1);
        text = z ? z : text;
        rc = z ? (z[len] = 0, open_graph(&o, &g)) : CLI_FAIL;
    }
    if (rc == CLI_OK && !(q = bind_params(text, &o)))
        rc = CLI_FAIL;
    if (rc == CLI_OK) {
        mote_status_t st = mote_graph_query(g, q, fmt, &out, &len, err, sizeof err);
        if (st) {
            cli_error(o.pos[0], st, "%s", err);
            rc = CLI_FAIL;
        } else {
            fwrite(out, 1, len, stdout);
        }
    }
    free(out);
    free(q);
    free(text);
    mote_graph_close(g);
    return rc;
}

static int cmd_load(int argc, char **argv)
{
    gopts_t o;
    mote_graph_t *g = NULL;
    if (parse("graph load", argc, argv, &o) || o.n_pos < 1)
        return cli_usage("graph load", "needs FILE or DIR arguments");
    int rc = open_graph(&o, &g);
    for (int i = 0; rc == CLI_OK && i < o.n_pos; i++)
        rc = load_path(g, o.pos[i]);
    if (rc == CLI_OK)
        printf("%ld triples\n", mote_graph_size(g));
    mote_graph_close(g);
    return rc;
}

static void print_fit(mote_graph_t *g, const char *dev, const mote_graph_model_t *m, int *fits)
{
    char reasons[8][MOTE_GRAPH_REASON_LEN], err[MOTE_GRAPH_ERR_LEN];
    size_t n = 0;
    if (mote_graph_check(g, dev, m->iri, reasons, 8, &n, err, sizeof err)) {
        printf("%-24s %-10s error: %s\n", m->name, m->version, err);
        return;
    }
    printf("%-24s %-10s %s", m->name, m->version, n ? "no:" : "fits");
    for (size_t i = 0; i < n && i < 8; i++)
        printf("%s %s", i ? ";" : "", reasons[i]);
    printf("\n");
    *fits += n == 0;
}

static int cmd_fit(int argc, char **argv)
{
    gopts_t o;
    mote_graph_t *g = NULL;
    if (parse("graph fit", argc, argv, &o) || o.n_pos != 1)
        return cli_usage("graph fit", "needs one DEVICE id");
    int rc = open_graph(&o, &g);
    size_t n = 0, cap = 4096;
    mote_graph_model_t *ms = rc == CLI_OK ? calloc(cap, sizeof *ms) : NULL;
    char err[MOTE_GRAPH_ERR_LEN];
    if (rc == CLI_OK && o.model) {
        snprintf(ms[0].iri, sizeof ms[0].iri, "%s", o.model);
        snprintf(ms[0].name, sizeof ms[0].name, "%s", o.model);
        n = 1;
    } else if (rc == CLI_OK && (!ms || mote_graph_models(g, ms, cap, &n, err, sizeof err))) {
        rc = CLI_FAIL;
    }
    int fits = 0;
    char probe[MOTE_GRAPH_REASON_LEN];
    size_t k;
    mote_status_t st = rc == CLI_OK && n ? mote_graph_check(g, o.pos[0], ms[0].iri, &probe, 0, &k, err, sizeof err)
                                         : MOTE_OK;
    if (st) {
        cli_error(o.pos[0], st, "%s", err);
        rc = CLI_FAIL;
    }
    for (size_t i = 0; rc == CLI_OK && i < n; i++)
        print_fit(g, o.pos[0], &ms[i], &fits);
    if (rc == CLI_OK)
        printf("%d of %zu models fit %s\n", fits, n, o.pos[0]);
    free(ms);
    mote_graph_close(g);
    return rc;
}

static int cmd_search(int argc, char **argv)
{
    gopts_t o;
    mote_graph_t *g = NULL;
    long limit = 20;
    if (parse("graph search", argc, argv, &o) || o.n_pos != 1 ||
        (o.limit && cli_parse_long(o.limit, 1, 1000, &limit)))
        return cli_usage("graph search", "needs one TERMS argument (quote several words)");
    int rc = open_graph(&o, &g);
    mote_graph_hit_t *hits = rc == CLI_OK ? calloc((size_t)limit, sizeof *hits) : NULL;
    size_t n = 0;
    char err[MOTE_GRAPH_ERR_LEN];
    if (rc == CLI_OK) {
        mote_status_t st = hits ? mote_graph_search(g, o.pos[0], hits, (size_t)limit, &n, err, sizeof err)
                                : MOTE_ERR_NOMEM;
        if (st) {
            cli_error("search", st, "%s", hits ? err : "out of memory");
            rc = CLI_FAIL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        char text[256];
        cli_printable(text, sizeof text, hits[i].text);
        printf("%8.3f  %-11s %s  %s\n", hits[i].rank, hits[i].field, hits[i].iri, text);
    }
    free(hits);
    mote_graph_close(g);
    return rc;
}

static int cmd_bench(int argc, char **argv)
{
    mote_graph_t *g = NULL;
    char err[MOTE_GRAPH_ERR_LEN];
    mote_status_t st = mote_graph_open(&g, NULL, err, sizeof err);
    if (st) {
        cli_error("graph", st, "%s", err);
        return CLI_FAIL;
    }
    int rc = cli_graph_bench(g, argc, argv);
    mote_graph_close(g);
    return rc;
}

static int run_graph(int argc, char **argv)
{
    static const struct { const char *name; int (*fn)(int, char **); } sub[] = {
        {"query", cmd_query}, {"load", cmd_load}, {"fit", cmd_fit}, {"search", cmd_search}, {"bench", cmd_bench}};
    if (argc < 1)
        return cli_usage("graph", "needs a subcommand: query, load, fit, search or bench");
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++)
        if (!strcmp(argv[0], sub[i].name))
            return sub[i].fn(argc - 1, argv + 1);
    return cli_usage("graph", "unknown subcommand '%s'", argv[0]);
}

const cli_cmd_t cli_cmd_graph = {
    "graph", "knowledge graph of models and devices: SPARQL, fit, search",
    "usage: mote graph query FILE.rq [--data FILE|DIR]... [--db DIR] [--bind NAME=TERM]...\n"
    "                        [--format json|csv|table]\n"
    "       mote graph load FILE|DIR... [--db DIR]\n"
    "       mote graph fit DEVICE [--model NAME@VERSION|IRI] [--data ...] [--db DIR]\n"
    "       mote graph search TERMS [--data ...] [--db DIR] [--limit N]\n"
    "       mote graph bench --queries DIR [--devices N] [--models N] [--runs N] [--dump DIR]\n\n"
    "The fleet's knowledge graph (Redland, SPARQL 1.1 by Rasqal). --data adds\n"
    "Turtle files, Thing Descriptions and model cards (JSON) for this run; a\n"
    "directory adds its .ttl and .json files. --db DIR keeps a persistent graph\n"
    "(an N-Triples snapshot and an FTS5 search index) that `load` adds to.\n\n"
    "query   run a SPARQL query; --bind NAME=TERM replaces $NAME by TERM, e.g.\n"
    "        --bind device='<urn:mote:dev:dev-0001>' --bind model='\"cwru4\"'.\n"
    "        Shipped queries: ontology/queries/*.rq (docs/graph.md).\n"
    "load    add files to the graph and print its size\n"
    "fit     every model (or --model) against DEVICE: \"fits\" or the reasons\n"
    "search  full-text search of names and descriptions (SQLite FTS5 syntax)\n"
    "bench   generate a fleet (default 10000 devices, 1000 models) and time\n"
    "        the fit and needs-update queries from --queries DIR; --dump DIR\n"
    "        also writes the generated TDs and model cards there\n\n"
    "exit status: 0 success, 1 failure (bad data, bad query, I/O), 2 usage error\n",
    run_graph};
