/* mote fleet graph: registration of /sparql on moted's server.
 *
 * Kept apart from the handler so that programs using the handler alone
 * (tests, fuzzers, the CLI) do not need moted's HTTP server linked in. */
#include "graph_http.h"

mote_status_t mote_graph_http_register(mote_http_t *srv, mote_graph_t *g, const char *query_role)
{
    if (!srv || !g)
        return MOTE_ERR_ARG;
    return mote_http_route(srv, "*", "/sparql", query_role, mote_graph_sparql_handler, g);
}
