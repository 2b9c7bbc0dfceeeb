/* mote fleet graph: the SPARQL 1.1 Protocol endpoint (/sparql) for moted. */
#ifndef MOTE_GRAPH_HTTP_H
#define MOTE_GRAPH_HTTP_H

#include "graph.h"
#include "http.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Route handler; `user` is the mote_graph_t. Accepts
 * GET ?query=..., POST application/sparql-query, POST
 * application/sparql-update, POST application/x-www-form-urlencoded with
 * query= or update=. Results as application/sparql-results+json or
 * text/csv, chosen by `format=json|csv` or else the Accept header (406 when
 * it allows neither). Updates (INSERT DATA / DELETE DATA) need role
 * engineer or admin: 401 anonymous, 403 viewer. Bad queries: 400 with
 * Rasqal's message as {"error": "..."}. */
void mote_graph_sparql_handler(void *user, const mote_http_req_t *req, mote_http_resp_t *resp);

/* Register the handler on `srv` for any method at "/sparql". `query_role`
 * is the least role needed to query (NULL: anonymous may query); updates
 * are checked by the handler itself. `g` must outlive the server. */
mote_status_t mote_graph_http_register(mote_http_t *srv, mote_graph_t *g, const char *query_role);

/* Decode form/query-string parameter `key` of `s` (`len` bytes,
 * '+' is a space, %XX escapes) into a malloc'ed string (*out, caller
 * frees). Returns 1 found, 0 absent, -1 malformed or out of memory. */
int mote_graph_form_get(const char *s, size_t len, const char *key, char **out);

#ifdef __cplusplus
}
#endif
#endif
