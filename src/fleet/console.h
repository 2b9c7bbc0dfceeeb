/* mote fleet: the web console moted serves (docs/console.md).
 *
 * Two parts, both registered on moted's HTTP server (http.h):
 * - static files of web/ under "/" (GET only, anonymous: the login page
 *   must load before anyone is logged in; every datum the pages show comes
 *   from role-checked /api routes);
 * - the low-code pipeline API (console_jobs.c): dataset specs to choose
 *   from, saved pipelines (the JSON config `mote train` reads), training
 *   jobs run as `mote train` child processes with their progress.
 *
 * Route order matters (first match wins): register the API routes before
 * moted's own, the static route after everything else. */
#ifndef MOTE_CONSOLE_H
#define MOTE_CONSOLE_H

#include <stddef.h>
#include <stdint.h>
#include "http.h"
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_CONSOLE_MAX_FILE (8u * 1024u * 1024u) /* bytes: larger static files are refused */
#define MOTE_CONSOLE_MAX_JOBS 64                   /* jobs remembered; the oldest finished one is forgotten */

typedef struct mote_console_opts {
    const char *web_dir;      /* required: folder with index.html */
    const char *work_dir;     /* required: pipelines/ and runs/ are created under it */
    const char *mote_exe;     /* the `mote` binary that trains; NULL: no training (503) */
    const char *datasets_dir; /* dataset specs offered to the builder: DIR/<sub>/dataset*.json; NULL: none */
    int max_running;          /* trainings at once, 0: 1 (each uses one thread) */
    struct mote_graph *graph; /* knowledge graph for GET /api/compat; NULL: 503 (caller-owned, outlives) */
} mote_console_opts_t;

typedef struct mote_console mote_console_t;

/* Something worth recording happened: `kind` is "pipeline_saved",
 * "training_started", "training_cancel" (asked), "training_done",
 * "training_failed" or "training_cancelled" (ended); `user` who asked or
 * who started the training (may be ""), `detail` the pipeline and job. Same signature as mote_auth_audit_fn, so moted points
 * both at its ledger. Called without console locks held; for finished
 * trainings from the console's own thread. */
typedef void (*mote_console_audit_fn)(void *ctx, const char *kind, const char *user, const char *detail);

/* Check the folders (web_dir must hold index.html) and create the work
 * folders. Nothing is registered yet. */
mote_status_t mote_console_create(mote_console_t **out, const mote_console_opts_t *o, char *err, size_t errsz);
/* Stop running trainings (SIGTERM, then wait) and free. NULL is fine. */
void mote_console_destroy(mote_console_t *c);

/* Record console actions through `fn` (NULL to stop). */
void mote_console_set_audit(mote_console_t *c, mote_console_audit_fn fn, void *ctx);

/* Register GET /api/datasets, GET|POST /api/pipelines[/NAME[/train]],
 * GET /api/jobs[/ID[/files/F]], POST /api/jobs/ID/cancel and
 * GET /api/compat?model=NAME@VERSION (every device of the knowledge graph
 * with mote_graph_check's verdict and reasons; VERSION is the model
 * card's). Viewers read, engineers write. */
mote_status_t mote_console_api_routes(mote_console_t *c, mote_http_t *srv);
/* Register GET "/" for the static files. Call last. */
mote_status_t mote_console_static_route(mote_console_t *c, mote_http_t *srv);

/* 1 if `path` (decoded URL path) may name a static file: segments of
 * [A-Za-z0-9._-] not starting with '.', at most 8 deep and 255 bytes. */
int mote_console_path_ok(const char *path);
/* Content type for a file name by its extension; NULL if not served. */
const char *mote_console_mime(const char *path);

/* Progress of a training log (`mote train` stderr): the last "epoch N/M"
 * seen, 0/0 if none. */
void mote_console_parse_progress(const char *log, size_t len, int *epoch, int *epochs);

/* GET /api/stream (a mote_http_handler_fn; `moted` is the mote_moted_t):
 * stored events as Server-Sent Events, one message per event ("id: ID",
 * "event: event", "data: " + the row of GET /api/events), a ": keepalive"
 * comment after 15 s of silence. Starts after the "Last-Event-ID" header,
 * else after ?since=ID, else after the newest event preceded by the latest
 * ?tail=N (0..1000). 400 names a malformed id. */
void mote_console_events_stream(void *moted, const mote_http_req_t *req, mote_http_resp_t *resp);

#ifdef __cplusplus
}
#endif
#endif
