/* mote fleet graph: SPARQL 1.1 queries (Rasqal) and INSERT/DELETE DATA. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "graph_int.h"

/* Skip blanks and '#' comments. */
static const char *skip_ws(const char *p)
{
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (*p != '#')
            return p;
        while (*p && *p != '\n')
            p++;
    }
}

static int keyword(const char *p, const char *kw)
{
    size_t n = strlen(kw);
    return strncasecmp(p, kw, n) == 0 && !isalnum((unsigned char)p[n]) && p[n] != '_';
}

/* Past "PREFIX p: <iri>" or "BASE <iri>"; NULL when malformed. */
static const char *skip_decl(const char *p)
{
    const char *lt = strchr(p, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    return gt ? gt + 1 : NULL;
}

int mote_graph_is_update(const char *q)
{
    static const char *const verbs[] = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE",
                                        "DROP", "COPY", "MOVE", "ADD", "WITH"};
    const char *p = q ? skip_ws(q) : "";
    while (p && (keyword(p, "PREFIX") || keyword(p, "BASE")))
        p = (p = skip_decl(p)) ? skip_ws(p) : NULL;
    for (size_t i = 0; p && i < sizeof verbs / sizeof verbs[0]; i++)
        if (keyword(p, verbs[i]))
            return 1;
    return 0;
}

static const char *fmt_name(mote_graph_fmt_t f)
{
    return f == MOTE_GRAPH_CSV ? "csv" : f == MOTE_GRAPH_TABLE ? "table" : "json";
}

/* CONSTRUCT and DESCRIBE give triples: serialize them as Turtle. */
static char *graph_results(mote_graph_t *g, librdf_query_results *r, size_t *len)
{
    librdf_stream *s = librdf_query_results_as_stream(r);
    librdf_serializer *ser = s ? librdf_new_serializer(g->world, "turtle", NULL, NULL) : NULL;
    unsigned char *t = NULL;
    if (ser)
        t = librdf_serializer_serialize_stream_to_string(ser, NULL, s);
    if (ser)
        librdf_free_serializer(ser);
    if (s)
        librdf_free_stream(s);
    char *out = t ? strdup((const char *)t) : NULL;
    if (t)
        librdf_free_memory(t);
    *len = out ? strlen(out) : 0;
    return out;
}

static char *format_results(mote_graph_t *g, librdf_query_results *r, mote_graph_fmt_t fmt, size_t *len)
{
    if (librdf_query_results_is_graph(r))
        return graph_results(g, r, len);
    unsigned char *t = librdf_query_results_to_string2(r, fmt_name(fmt), NULL, NULL, NULL);
    char *out = t ? strdup((const char *)t) : NULL;
    if (t)
        librdf_free_memory(t);
    *len = out ? strlen(out) : 0;
    return out;
}

/* Rasqal 0.9.33 dereferences NULL formatting the result of a CONSTRUCT
 * with an empty template (found by fuzz_f_sparql): parse first and refuse
 * it. 0 = fine (or a syntax error, which librdf_new_query reports). */
static int empty_construct(mote_graph_t *g, const char *sparql)
{
    rasqal_query *rq = rasqal_new_query(librdf_world_get_rasqal(g->world), "sparql", NULL);
    int bad = 0;
    if (rq && !rasqal_query_prepare(rq, (const unsigned char *)sparql, NULL) &&
        rasqal_query_get_verb(rq) == RASQAL_QUERY_VERB_CONSTRUCT) {
        raptor_sequence *t = rasqal_query_get_construct_triples_sequence(rq);
        bad = !t || raptor_sequence_size(t) == 0;
    }
    if (rq)
        rasqal_free_query(rq);
    g_log_reset(g);
    return bad;
}

mote_status_t mote_graph_query(mote_graph_t *g, const char *sparql, mote_graph_fmt_t fmt, char **out,
                               size_t *out_len, char *err, size_t errsz)
{
    if (!g || !sparql || !out || !out_len)
        return g_err(err, errsz, MOTE_ERR_ARG, "graph: NULL argument");
    *out = NULL;
    *out_len = 0;
    if (mote_graph_is_update(sparql))
        return g_err(err, errsz, MOTE_ERR_ARG, "query: this is an update, not a query");
    pthread_mutex_lock(&g->mu);
    if (empty_construct(g, sparql)) {
        pthread_mutex_unlock(&g->mu);
        return g_err(err, errsz, MOTE_ERR_FORMAT, "query: empty CONSTRUCT template");
    }
    g_log_reset(g);
    mote_status_t st = MOTE_OK;
    librdf_query *q = librdf_new_query(g->world, "sparql", NULL, (const unsigned char *)sparql, NULL);
    librdf_query_results *r = q ? librdf_model_query_execute(g->model, q) : NULL;
    if (!q || !r || g->logged) {
        st = g_err(err, errsz, MOTE_ERR_FORMAT, "query: %s",
                   g->logged ? g->log : q ? "execution failed" : "syntax error");
    } else {
        *out = format_results(g, r, fmt, out_len);
        if (!*out)
            st = g->logged ? g_err(err, errsz, MOTE_ERR_FORMAT, "query: %s", g->log)
                           : g_err(err, errsz, MOTE_ERR_NOMEM, "query: results could not be formatted");
    }
    if (r)
        librdf_free_query_results(r);
    if (q)
        librdf_free_query(q);
    pthread_mutex_unlock(&g->mu);
    return st;
}

/* ---- updates: INSERT DATA / DELETE DATA through Rasqal's parser ---- */

librdf_node *g_literal_node(mote_graph_t *g, rasqal_literal *l)
{
    librdf_world *w = g->world;
    if (!l)
        return NULL;
    /* Redland shares its raptor world with Rasqal, so a Rasqal URI is a
     * librdf_uri: copying it is a reference count, not a parse */
    if (l->type == RASQAL_LITERAL_URI)
        return librdf_new_node_from_uri(w, (librdf_uri *)l->value.uri);
    if (l->type == RASQAL_LITERAL_BLANK)
        return librdf_new_node_from_blank_identifier(w, l->string);
    if (l->type == RASQAL_LITERAL_VARIABLE)
        return NULL;
    const unsigned char *lex = rasqal_literal_as_string(l);
    raptor_uri *rdt = rasqal_literal_datatype(l);
    librdf_uri *dt = rdt ? librdf_new_uri(w, raptor_uri_as_string(rdt)) : NULL;
    librdf_node *n = lex ? librdf_new_node_from_typed_literal(w, lex, l->language, dt) : NULL;
    if (dt)
        librdf_free_uri(dt);
    return n;
}

/* Statements of one operation's data block into a scratch model. */
static int collect(mote_graph_t *g, raptor_sequence *seq, librdf_model *into)
{
    int n = seq ? raptor_sequence_size(seq) : 0;
    for (int i = 0; i < n; i++) {
        rasqal_triple *t = raptor_sequence_get_at(seq, i);
        librdf_node *s = g_literal_node(g, t->subject), *p = g_literal_node(g, t->predicate), *o = g_literal_node(g, t->object);
        if (!s || !p || !o || librdf_model_add(into, s, p, o)) {
            if (!s || !p || !o) {
                if (s)
                    librdf_free_node(s);
                if (p)
                    librdf_free_node(p);
                if (o)
                    librdf_free_node(o);
            }
            return -1;
        }
    }
    return 0;
}

/* Validate every operation and gather its triples before changing anything. */
static mote_status_t plan_update(mote_graph_t *g, rasqal_query *rq, librdf_model *ins, librdf_model *del, char *err,
                                 size_t errsz)
{
    for (int i = 0;; i++) {
        rasqal_update_operation *op = rasqal_query_get_update_operation(rq, i);
        if (!op)
            return i ? MOTE_OK : g_err(err, errsz, MOTE_ERR_FORMAT, "update: no operation");
        int data = (op->flags & RASQAL_UPDATE_FLAGS_DATA) != 0;
        if (op->type != RASQAL_UPDATE_TYPE_UPDATE || !data || op->where || op->graph_uri)
            return g_err(err, errsz, MOTE_ERR_UNSUPPORTED,
                         "update: operation %d: only INSERT DATA and DELETE DATA on the default graph", i + 1);
        if (collect(g, op->insert_templates, ins) || collect(g, op->delete_templates, del))
            return g_err(err, errsz, MOTE_ERR_FORMAT, "update: operation %d: variables or bad terms in data", i + 1);
    }
}

static long apply(mote_graph_t *g, librdf_model *from, int add)
{
    long n = 0;
    librdf_stream *s = librdf_model_as_stream(from);
    for (; s && !librdf_stream_end(s); librdf_stream_next(s)) {
        librdf_statement *st = librdf_stream_get_object(s);
        int present = g_has(g, librdf_statement_get_subject(st), librdf_statement_get_predicate(st),
                            librdf_statement_get_object(st));
        if (add && !present && !librdf_model_add_statement(g->model, st))
            n++;
        else if (!add && present && !librdf_model_remove_statement(g->model, st))
            n++;
    }
    if (s)
        librdf_free_stream(s);
    return n;
}

static mote_status_t run_update(mote_graph_t *g, const char *sparql, long *changed, char *err, size_t errsz)
{
    rasqal_world *rw = librdf_world_get_rasqal(g->world);
    rasqal_query *rq = rasqal_new_query(rw, "sparql11-update", NULL);
    g_batch_t ins, del;
    int oi = g_batch_open(&ins, g), od = g_batch_open(&del, g);
    mote_status_t st = MOTE_OK;
    if (!rq || oi || od)
        st = g_err(err, errsz, MOTE_ERR_NOMEM, "update: out of memory");
    else if (rasqal_query_prepare(rq, (const unsigned char *)sparql, NULL) || g->logged)
        st = g_err(err, errsz, MOTE_ERR_FORMAT, "update: %s", g->logged ? g->log : "syntax error");
    else
        st = plan_update(g, rq, ins.model, del.model, err, errsz);
    if (!st) {
        /* DELETE DATA then INSERT DATA, as the operations usually intend */
        long n = apply(g, del.model, 0);
        n += apply(g, ins.model, 1);
        g_fts_index(g, ins.model, "");
        librdf_model_sync(g->model);
        if (changed)
            *changed = n;
    }
    g_batch_close(&ins);
    g_batch_close(&del);
    if (rq)
        rasqal_free_query(rq);
    return st;
}

mote_status_t mote_graph_update(mote_graph_t *g, const char *sparql, long *changed, char *err, size_t errsz)
{
    if (!g || !sparql)
        return g_err(err, errsz, MOTE_ERR_ARG, "graph: NULL argument");
    if (changed)
        *changed = 0;
    pthread_mutex_lock(&g->mu);
    g_log_reset(g);
    mote_status_t st = run_update(g, sparql, changed, err, errsz);
    pthread_mutex_unlock(&g->mu);
    return st;
}
