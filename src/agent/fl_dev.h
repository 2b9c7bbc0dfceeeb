/* mote agent: federated rounds on a device (docs/agent.md, "Federated
 * rounds"): the glue between the agent core's fl_round / fl_global hooks
 * and the federated client (src/fleet/fed_client.h).
 *
 * A round needs both the verified fl_round command and the global head of
 * the version it names; they travel on different topics, so whichever
 * arrives second starts the local training. The upload goes out at QoS 1
 * on mote/v1/d/<id>/fl/up; a round past its deadline is dropped.
 *
 * Secure rounds (docs/federated.md, "Over MQTT"): moted's signed MFLA,
 * MFLR, MFLF and MFLQ broadcasts arrive on mote/v1/fl/global beside the
 * head; the answers (MFLK, MFLS, MFLV) go out on fl/up. Training waits for
 * the forwarded shares (MFLF) of the command's round; a device told to go
 * silent in a round masks and then neither uploads nor reveals. */
#ifndef MOTE_FL_DEV_H
#define MOTE_FL_DEV_H

#include <stdint.h>
#include "agent.h"
#include "fed_client.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mote_fl_dev {
    mote_fed_client_t c;
    const uint8_t *fleet_pk;   /* 32 bytes, caller-owned */
    int pending;               /* a command waits for its global */
    mote_fed_client_round_t r;
    int64_t deadline_ms;
    uint32_t silent_round;     /* train but never upload in this round (0: none) */
    uint32_t last_round;       /* last round trained: a re-sent command for it is ignored */
    uint64_t rounds, uploads, bytes_up, bytes_down;
    uint64_t bytes_sec;        /* secure-aggregation messages sent (keys, shares, reveals) */
} mote_fl_dev_t;

/* Device `slice` of data; fleet_pk verifies the global heads. Install
 * with mote_fl_dev_hook before mote_agent_open. MOTE_ERR_ARG, NOMEM. */
mote_status_t mote_fl_dev_init(mote_fl_dev_t *f, const fsim_t *data, uint32_t slice, const uint8_t *fleet_pk);
/* Release the client (NULL or a zeroed f is fine). */
void mote_fl_dev_free(mote_fl_dev_t *f);
/* Point an agent configuration's federated hooks at f. */
void mote_fl_dev_hook(mote_fl_dev_t *f, mote_agent_config_t *cfg);

#ifdef __cplusplus
}
#endif
#endif
