/* mote fleet: web console internals shared by console.c and console_jobs.c. */
#ifndef MOTE_CONSOLE_INT_H
#define MOTE_CONSOLE_INT_H

#include <pthread.h>
#include <sys/types.h>
#include "console.h"

typedef enum { JOB_RUNNING, JOB_DONE, JOB_FAILED, JOB_CANCELLED } job_state_t;

typedef struct console_job {
    int id;                  /* 0: free slot */
    char pipeline[64];
    char out_dir[1200];      /* <work>/runs/<pipeline>-<id> */
    char log_path[1300];
    pid_t pid;
    job_state_t state;
    int exit_code;
    int64_t started_ms, ended_ms;
    char user[64];
} console_job_t;

struct mote_console {
    char web_dir[1024];
    char work_dir[1024];
    char mote_exe[1024];
    char datasets_dir[1024];
    int max_running;
    struct mote_graph *graph;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    console_job_t jobs[MOTE_CONSOLE_MAX_JOBS];
    int next_id;
    int running;
    int stopping;
    mote_console_audit_fn audit;
    void *audit_ctx;
    pthread_t reaper;
    int reaper_started;
};

/* Set extra response headers when the server supports them (http.h). */
void console_headers(mote_http_resp_t *resp, const char *lines);

/* Report an action to the audit hook (if any); never under c->mu. */
void console_audit(mote_console_t *c, const char *kind, const char *user, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* GET /api/compat (console_graph.c). */
void console_on_compat(void *user, const mote_http_req_t *req, mote_http_resp_t *resp);

/* Start the reaper thread that waits for finished trainings. */
int console_jobs_start(mote_console_t *c);
/* Kill running trainings and join the reaper. */
void console_jobs_stop(mote_console_t *c);

#endif
