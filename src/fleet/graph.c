/* mote fleet graph: store, transactions and Turtle loading (see graph.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "graph_int.h"

mote_status_t g_err(char *err, size_t errsz, mote_status_t st, const char *fmt, ...)
{
    if (err && errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* Redland and Rasqal report parse errors through the world's logger, not
 * through return values: keep the first error so callers can show it. */
static int g_logger(void *user, librdf_log_message *msg)
{
    mote_graph_t *g = user;
    if (librdf_log_message_level(msg) >= LIBRDF_LOG_ERROR && !g->logged) {
        const char *t = librdf_log_message_message(msg);
        snprintf(g->log, sizeof g->log, "%s", t ? t : "error");
        g->logged = 1;
    }
    return 1; /* handled: nothing on stderr */
}

void g_log_reset(mote_graph_t *g)
{
    g->log[0] = 0;
    g->logged = 0;
}

/* Redland's BDB hashes read past a key buffer when iterating a key's
 * values (AddressSanitizer, librdf 1.0.17), so a persistent graph is the
 * in-memory store plus an N-Triples snapshot in `dir`, read at open and
 * written (to a temporary file, then renamed) by mote_graph_save. */
static mote_status_t open_storage(mote_graph_t *g, const char *dir, char *err, size_t errsz)
{
    /* MOTE_GRAPH_OPTS overrides the storage options for experiments (bench/RESULTS.md) */
    const char *opts = getenv("MOTE_GRAPH_OPTS") ? getenv("MOTE_GRAPH_OPTS") : "hash-type='memory',index-predicates='yes'";
    if (dir && mkdir(dir, 0700) && errno != EEXIST)
        return g_err(err, errsz, MOTE_ERR_IO, "%s: %s", dir, strerror(errno));
    g->storage = librdf_new_storage(g->world, "hashes", "mote", opts);
    if (!g->storage)
        return g_err(err, errsz, MOTE_ERR_IO, "graph storage: %s", g->logged ? g->log : "cannot open");
    g->model = librdf_new_model(g->world, g->storage, NULL);
    if (!g->model)
        return g_err(err, errsz, MOTE_ERR_NOMEM, "graph model");
    if (!dir)
        return MOTE_OK;
    snprintf(g->snapshot, sizeof g->snapshot, "%s/graph.nt", dir);
    struct stat st;
    if (stat(g->snapshot, &st))
        return MOTE_OK; /* a new graph */
    librdf_parser *p = librdf_new_parser(g->world, "ntriples", NULL, NULL);
    librdf_uri *u = librdf_new_uri_from_filename(g->world, g->snapshot);
    g_log_reset(g);
    int rc = !p || !u || librdf_parser_parse_into_model(p, u, NULL, g->model) || g->logged;
    if (u)
        librdf_free_uri(u);
    if (p)
        librdf_free_parser(p);
    return rc ? g_err(err, errsz, MOTE_ERR_FORMAT, "%s: %s", g->snapshot, g->logged ? g->log : "unreadable") : MOTE_OK;
}

mote_status_t mote_graph_save(mote_graph_t *g, char *err, size_t errsz)
{
    if (!g)
        return g_err(err, errsz, MOTE_ERR_ARG, "graph: NULL handle");
    if (!g->snapshot[0])
        return MOTE_OK;
    char tmp[sizeof g->snapshot + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", g->snapshot);
    pthread_mutex_lock(&g->mu);
    librdf_serializer *ser = librdf_new_serializer(g->world, "ntriples", NULL, NULL);
    int rc = !ser || librdf_serializer_serialize_model_to_file(ser, tmp, NULL, g->model) || rename(tmp, g->snapshot);
    if (ser)
        librdf_free_serializer(ser);
    pthread_mutex_unlock(&g->mu);
    return rc ? g_err(err, errsz, MOTE_ERR_IO, "%s: cannot write", g->snapshot) : MOTE_OK;
}

mote_status_t mote_graph_open(mote_graph_t **out, const char *dir, char *err, size_t errsz)
{
    if (!out)
        return g_err(err, errsz, MOTE_ERR_ARG, "graph: NULL handle");
    *out = NULL;
    mote_graph_t *g = calloc(1, sizeof *g);
    if (!g)
        return g_err(err, errsz, MOTE_ERR_NOMEM, "graph: out of memory");
    pthread_mutex_init(&g->mu, NULL);
    g->world = librdf_new_world();
    if (!g->world) {
        mote_graph_close(g);
        return g_err(err, errsz, MOTE_ERR_NOMEM, "graph: no Redland world");
    }
    librdf_world_set_logger(g->world, g, g_logger);
    librdf_world_open(g->world);
    if (g_source_install(g)) {
        mote_graph_close(g);
        return g_err(err, errsz, MOTE_ERR_NOMEM, "graph: cannot install the triples source");
    }
    mote_status_t st = open_storage(g, dir, err, errsz);
    if (!st)
        st = g_fts_open(g, dir, err, errsz);
    if (st) {
        mote_graph_close(g);
        return st;
    }
    *out = g;
    return MOTE_OK;
}

void mote_graph_close(mote_graph_t *g)
{
    if (!g)
        return;
    if (g->model && g->snapshot[0])
        mote_graph_save(g, NULL, 0);
    if (g->fts)
        sqlite3_close(g->fts);
    if (g->model)
        librdf_free_model(g->model);
    if (g->storage)
        librdf_free_storage(g->storage);
    if (g->world)
        librdf_free_world(g->world);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

long mote_graph_size(mote_graph_t *g)
{
    if (!g)
        return -1;
    pthread_mutex_lock(&g->mu);
    long n = 0;
    /* librdf_model_size is -1 on BDB hashes: count the stream instead */
    librdf_stream *s = librdf_model_as_stream(g->model);
    for (; s && !librdf_stream_end(s); librdf_stream_next(s))
        n++;
    if (s)
        librdf_free_stream(s);
    pthread_mutex_unlock(&g->mu);
    return n;
}

/* ---- scratch batches ---- */

mote_status_t g_batch_open(g_batch_t *b, mote_graph_t *g)
{
    memset(b, 0, sizeof *b);
    b->g = g;
    b->storage = librdf_new_storage(g->world, "hashes", NULL, "hash-type='memory'");
    b->model = b->storage ? librdf_new_model(g->world, b->storage, NULL) : NULL;
    if (!b->model) {
        g_batch_close(b);
        return MOTE_ERR_NOMEM;
    }
    return MOTE_OK;
}

void g_batch_close(g_batch_t *b)
{
    if (b->model)
        librdf_free_model(b->model);
    if (b->storage)
        librdf_free_storage(b->storage);
    b->model = NULL;
    b->storage = NULL;
}

/* librdf_model_add takes ownership of the three nodes, also on failure. */
static void g_add_node(g_batch_t *b, const char *s, const char *p, librdf_node *o)
{
    librdf_world *w = b->g->world;
    librdf_node *sn = librdf_new_node_from_uri_string(w, (const unsigned char *)s);
    librdf_node *pn = librdf_new_node_from_uri_string(w, (const unsigned char *)p);
    if (!sn || !pn || !o || librdf_model_add(b->model, sn, pn, o)) {
        b->failed = 1;
        if (!sn || !pn || !o) {
            if (sn)
                librdf_free_node(sn);
            if (pn)
                librdf_free_node(pn);
            if (o)
                librdf_free_node(o);
        }
    }
}

void g_add_iri(g_batch_t *b, const char *s, const char *p, const char *o)
{
    g_add_node(b, s, p, librdf_new_node_from_uri_string(b->g->world, (const unsigned char *)o));
}

void g_add_str(g_batch_t *b, const char *s, const char *p, const char *o)
{
    g_add_node(b, s, p, librdf_new_node_from_literal(b->g->world, (const unsigned char *)o, NULL, 0));
}

void g_add_typed(g_batch_t *b, const char *s, const char *p, const char *lex, const char *dtype)
{
    librdf_uri *u = librdf_new_uri(b->g->world, (const unsigned char *)dtype);
    librdf_node *o = u ? librdf_new_node_from_typed_literal(b->g->world, (const unsigned char *)lex, NULL, u) : NULL;
    if (u)
        librdf_free_uri(u);
    g_add_node(b, s, p, o);
}

void g_add_int(g_batch_t *b, const char *s, const char *p, long long v)
{
    char t[32];
    snprintf(t, sizeof t, "%lld", v);
    g_add_typed(b, s, p, t, G_XSD "integer");
}

void g_add_dbl(g_batch_t *b, const char *s, const char *p, double v)
{
    char t[40];
    snprintf(t, sizeof t, "%.9g", v);
    /* xsd:decimal keeps "12000" comparable and readable; exponents need double */
    g_add_typed(b, s, p, t, strpbrk(t, "eEn") ? G_XSD "double" : G_XSD "decimal");
}

void g_add_bool(g_batch_t *b, const char *s, const char *p, int v)
{
    g_add_typed(b, s, p, v ? "true" : "false", G_XSD "boolean");
}

mote_status_t g_batch_commit(g_batch_t *b, const char *root, int deployment, char *err, size_t errsz)
{
    mote_graph_t *g = b->g;
    if (b->failed)
        return g_err(err, errsz, MOTE_ERR_NOMEM, "graph: could not build triples");
    if (root)
        g_remove_tree(g, root, deployment);
    librdf_stream *s = librdf_model_as_stream(b->model);
    int rc = !s || librdf_model_add_statements(g->model, s);
    if (s)
        librdf_free_stream(s);
    if (rc)
        return g_err(err, errsz, MOTE_ERR_IO, "graph: adding statements failed");
    char key[300];
    snprintf(key, sizeof key, "%s%s", root ? root : "", deployment ? "#deployment" : "");
    g_fts_index(g, b->model, key);
    librdf_model_sync(g->model);
    return MOTE_OK;
}

/* ---- Turtle ---- */

static mote_status_t parse_turtle(g_batch_t *b, const char *text, size_t len, const char *base, char *err,
                                  size_t errsz)
{
    mote_graph_t *g = b->g;
    librdf_parser *p = librdf_new_parser(g->world, "turtle", NULL, NULL);
    librdf_uri *u = librdf_new_uri(g->world, (const unsigned char *)(base ? base : "urn:mote:load"));
    char *z = malloc(len + 1);
    mote_status_t st = MOTE_OK;
    if (!p || !u || !z) {
        st = g_err(err, errsz, MOTE_ERR_NOMEM, "turtle: out of memory");
    } else {
        memcpy(z, text, len);
        z[len] = 0;
        g_log_reset(g);
        int rc = librdf_parser_parse_string_into_model(p, (const unsigned char *)z, u, b->model);
        if (rc || g->logged)
            st = g_err(err, errsz, MOTE_ERR_FORMAT, "turtle: %s", g->logged ? g->log : "parse failed");
    }
    free(z);
    if (u)
        librdf_free_uri(u);
    if (p)
        librdf_free_parser(p);
    return st;
}

mote_status_t mote_graph_load_turtle(mote_graph_t *g, const char *text, size_t len, const char *base, char *err,
                                     size_t errsz)
{
    if (!g || (!text && len))
        return g_err(err, errsz, MOTE_ERR_ARG, "graph: NULL argument");
    pthread_mutex_lock(&g->mu);
    g_batch_t b;
    mote_status_t st = g_batch_open(&b, g);
    if (st)
        g_err(err, errsz, st, "graph: out of memory");
    else
        st = parse_turtle(&b, text ? text : "", len, base, err, errsz);
    if (!st)
        st = g_batch_commit(&b, NULL, 0, err, errsz);
    g_batch_close(&b);
    pthread_mutex_unlock(&g->mu);
    return st;
}

static char *read_all(const char *path, size_t *len, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        g_err(err, errsz, MOTE_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    while (p) {
        n += fread(p + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *q = realloc(p, cap * 2);
        if (!q) {
            free(p);
            p = NULL;
        } else {
            p = q;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!p || bad) {
        free(p);
        g_err(err, errsz, p ? MOTE_ERR_IO : MOTE_ERR_NOMEM, "%s: read failed", path);
        return NULL;
    }
    *len = n;
    return p;
}

/* JSON files are told apart by content: a TD has "@context", a card "format". */
mote_status_t mote_graph_load_file(mote_graph_t *g, const char *path, char *err, size_t errsz)
{
    if (!g || !path)
        return g_err(err, errsz, MOTE_ERR_ARG, "graph: NULL argument");
    size_t len = 0;
    char *text = read_all(path, &len, err, errsz);
    if (!text)
        return MOTE_ERR_IO;
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", text[i]))
        i++;
    mote_status_t st;
    if (i < len && text[i] == '{') {
        int td = 0;
        for (size_t k = i; k + 10 <= len && !td; k++)
            td = !memcmp(text + k, "\"@context\"", 10);
        st = td ? mote_graph_add_td(g, text, len, err, errsz) : mote_graph_add_card(g, text, len, err, errsz);
    } else {
        char base[1100];
        snprintf(base, sizeof base, "file://%s", path);
        st = mote_graph_load_turtle(g, text, len, base, err, errsz);
    }
    free(text);
    return st;
}

/* ---- lookups used by mote_graph_check ---- */

static librdf_node *first_target(mote_graph_t *g, librdf_node *s, const char *p)
{
    librdf_node *pn = librdf_new_node_from_uri_string(g->world, (const unsigned char *)p);
    if (!pn)
        return NULL;
    librdf_node *t = librdf_model_get_target(g->model, s, pn);
    librdf_free_node(pn);
    return t;
}

int g_get_str(mote_graph_t *g, librdf_node *s, const char *p, char *buf, size_t cap)
{
    librdf_node *t = first_target(g, s, p);
    if (!t)
        return 0;
    const unsigned char *v = librdf_node_is_literal(t) ? librdf_node_get_literal_value(t) : NULL;
    if (v)
        snprintf(buf, cap, "%s", (const char *)v);
    librdf_free_node(t);
    return v != NULL;
}

int g_get_num(mote_graph_t *g, librdf_node *s, const char *p, double *v)
{
    char t[64], *end;
    if (!g_get_str(g, s, p, t, sizeof t))
        return 0;
    *v = strtod(t, &end);
    return end != t && *end == 0;
}

int64_t mote_graph_version_number(const char *v)
{
    int64_t part[3] = {0, 0, 0};
    int n = 0;
    const char *p = v;
    if (!p || !*p)
        return -1;
    for (;;) {
        if (*p < '0' || *p > '9')
            return -1;
        int64_t x = 0;
        while (*p >= '0' && *p <= '9' && x < 1000000000000LL)
            x = x * 10 + (*p++ - '0');
        part[n++] = x;
        if (!*p)
            break;
        if (*p != '.' || n == 3)
            return -1;
        p++;
    }
    if (n == 1)
        return part[0];
    for (int i = 1; i < 3; i++)
        if (part[i] >= 1000)
            return -1;
    return part[0] > 9000000 ? -1 : part[0] * 1000000 + part[1] * 1000 + part[2];
}

/* (s, p, o) in the graph? librdf_model_contains_statement missed present
 * statements on the hashes store here, and a fully bound find scans the
 * whole store, so walk the (s, p) index instead. */
int g_has(mote_graph_t *g, librdf_node *s, librdf_node *p, librdf_node *o)
{
    librdf_iterator *it = librdf_model_get_targets(g->model, s, p);
    int yes = 0;
    for (; it && !librdf_iterator_end(it) && !yes; librdf_iterator_next(it))
        yes = librdf_node_equals(librdf_iterator_get_object(it), o);
    if (it)
        librdf_free_iterator(it);
    return yes;
}
