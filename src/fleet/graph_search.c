/* mote fleet graph: full-text search over names and descriptions.
 *
 * Rasqal has no text index (SeLoC-ML used GraphDB's Lucene connector), so
 * the literals of a few naming properties are copied into an SQLite FTS5
 * table as they enter the graph, keyed by the named graph they came with so
 * that replacing a device's description replaces its text too. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include "graph_int.h"

static const struct { const char *iri, *field; } indexed[] = {
    {G_SCHEMA "name", "name"},         {G_SCHEMA "description", "description"},
    {G_TD "title", "title"},           {G_TD "description", "description"},
    {G_RDFS "label", "label"},         {G_RDFS "comment", "comment"},
    {"http://purl.org/dc/terms/title", "title"}, {"http://purl.org/dc/terms/description", "description"},
};

mote_status_t g_fts_open(mote_graph_t *g, const char *dir, char *err, size_t errsz)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/search.db", dir ? dir : "");
    if (sqlite3_open(dir ? path : ":memory:", &g->fts) != SQLITE_OK)
        return g_err(err, errsz, MOTE_ERR_IO, "search index %s: %s", dir ? path : "(memory)",
                     g->fts ? sqlite3_errmsg(g->fts) : "out of memory");
    /* ctx is looked up on every re-ingestion: a plain indexed table maps it
     * to the FTS rows (an UNINDEXED FTS5 column would be a full scan) */
    const char *ddl = "CREATE VIRTUAL TABLE IF NOT EXISTS doc USING fts5("
                      "iri UNINDEXED, field UNINDEXED, text, tokenize='unicode61');"
                      "CREATE TABLE IF NOT EXISTS docctx(ctx TEXT NOT NULL, docid INTEGER NOT NULL);"
                      "CREATE INDEX IF NOT EXISTS docctx_ctx ON docctx(ctx);";
    if (sqlite3_exec(g->fts, ddl, NULL, NULL, NULL) != SQLITE_OK)
        return g_err(err, errsz, MOTE_ERR_IO, "search index: %s", sqlite3_errmsg(g->fts));
    return MOTE_OK;
}

void g_fts_drop(mote_graph_t *g, const char *ctx)
{
    static const char *const sql[2] = {
        "DELETE FROM doc WHERE rowid IN (SELECT docid FROM docctx WHERE ctx = ?)",
        "DELETE FROM docctx WHERE ctx = ?"};
    for (int i = 0; ctx && *ctx && i < 2; i++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(g->fts, sql[i], -1, &st, NULL) != SQLITE_OK)
            return;
        sqlite3_bind_text(st, 1, ctx, -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
}

static const char *field_of(librdf_node *p)
{
    librdf_uri *u = librdf_node_get_uri(p);
    const char *s = u ? (const char *)librdf_uri_as_string(u) : "";
    for (size_t i = 0; i < sizeof indexed / sizeof indexed[0]; i++)
        if (!strcmp(s, indexed[i].iri))
            return indexed[i].field;
    return NULL;
}

static void index_one(sqlite3_stmt *ins, sqlite3_stmt *map, librdf_statement *s, const char *ctx)
{
    librdf_node *sn = librdf_statement_get_subject(s), *o = librdf_statement_get_object(s);
    const char *field = field_of(librdf_statement_get_predicate(s));
    if (!field || !librdf_node_is_literal(o))
        return;
    char iri[256];
    if (librdf_node_is_resource(sn))
        snprintf(iri, sizeof iri, "%s", (const char *)librdf_uri_as_string(librdf_node_get_uri(sn)));
    else
        snprintf(iri, sizeof iri, "_:%s", (const char *)librdf_node_get_blank_identifier(sn));
    sqlite3_reset(ins);
    sqlite3_bind_text(ins, 1, iri, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, (const char *)librdf_node_get_literal_value(o), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(ins) != SQLITE_DONE || !*ctx)
        return;
    sqlite3_reset(map);
    sqlite3_bind_text(map, 1, ctx, -1, SQLITE_STATIC);
    sqlite3_bind_int64(map, 2, sqlite3_last_insert_rowid(sqlite3_db_handle(ins)));
    sqlite3_step(map);
}

void g_fts_index(mote_graph_t *g, librdf_model *m, const char *ctx)
{
    sqlite3_stmt *ins = NULL, *map = NULL;
    g_fts_drop(g, ctx);
    if (sqlite3_prepare_v2(g->fts, "INSERT INTO doc(iri, field, text) VALUES (?, ?, ?)", -1, &ins, NULL) ||
        sqlite3_prepare_v2(g->fts, "INSERT INTO docctx(ctx, docid) VALUES (?, ?)", -1, &map, NULL)) {
        sqlite3_finalize(ins);
        return;
    }
    sqlite3_exec(g->fts, "BEGIN", NULL, NULL, NULL);
    librdf_stream *s = librdf_model_as_stream(m);
    for (; s && !librdf_stream_end(s); librdf_stream_next(s))
        index_one(ins, map, librdf_stream_get_object(s), ctx);
    if (s)
        librdf_free_stream(s);
    sqlite3_exec(g->fts, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(ins);
    sqlite3_finalize(map);
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

mote_status_t mote_graph_search(mote_graph_t *g, const char *terms, mote_graph_hit_t *hits, size_t max, size_t *n,
                                char *err, size_t errsz)
{
    if (!g || !terms || (!hits && max) || !n)
        return g_err(err, errsz, MOTE_ERR_ARG, "search: NULL argument");
    *n = 0;
    pthread_mutex_lock(&g->mu);
    sqlite3_stmt *st = NULL;
    mote_status_t rc = MOTE_OK;
    const char *sql = "SELECT iri, field, text, bm25(doc) FROM doc WHERE doc MATCH ? ORDER BY bm25(doc) LIMIT ?";
    if (sqlite3_prepare_v2(g->fts, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = g_err(err, errsz, MOTE_ERR_IO, "search: %s", sqlite3_errmsg(g->fts));
    } else {
        sqlite3_bind_text(st, 1, terms, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
        int s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
            mote_graph_hit_t *h = &hits[(*n)++];
            copy_col(h->iri, sizeof h->iri, st, 0);
            copy_col(h->field, sizeof h->field, st, 1);
            copy_col(h->text, sizeof h->text, st, 2);
            h->rank = sqlite3_column_double(st, 3);
        }
        if (s != SQLITE_DONE && s != SQLITE_ROW)
            rc = g_err(err, errsz, MOTE_ERR_FORMAT, "search: %s", sqlite3_errmsg(g->fts));
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&g->mu);
    return rc;
}
