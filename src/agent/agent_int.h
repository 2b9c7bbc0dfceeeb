/* mote agent internals shared by agent.c (connection, events, state) and
 * ota.c (commands, downloads). Not a public header. */
#ifndef MOTE_AGENT_INT_H
#define MOTE_AGENT_INT_H

#include "agent.h"

/* Log "ID: message" through the configured callback. */
void mote_agent_logf(mote_agent_t *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Publish on one of our topics. MOSQ_ERR_* (0 on success); *mid may be NULL. */
int mote_agent_publish(mote_agent_t *a, mote_proto_topic_t t, const void *buf, size_t len, int qos,
                       int retain, int *mid);

/* Encode and publish the reported state now (retained, QoS 1). */
void mote_agent_publish_state(mote_agent_t *a);

/* The slots configuration of this agent (points into a). */
void mote_agent_slots_config(mote_agent_t *a, mote_slots_config_t *sc);

/* Load the active slot's model into the signal path (or none). */
mote_status_t mote_agent_load_model(mote_agent_t *a);

/* Queue an event of `kind` (r may be NULL for OTA events). */
void mote_agent_queue_event(mote_agent_t *a, mote_proto_evt_kind_t kind, const mote_device_result_t *r,
                            int64_t now_ms);

/* Write `len` bytes to dir/name atomically (temp, rename); with `sync`
 * also fsync the file and the folder, so it survives a power cut. */
mote_status_t mote_agent_write_file(const char *dir, const char *name, const void *buf, size_t len, int sync);

/* ota.c */
void mote_agent_on_cmd(mote_agent_t *a, const void *buf, size_t len, int64_t now_ms);
void mote_agent_on_chunk(mote_agent_t *a, const void *buf, size_t len, int64_t now_ms);
void mote_agent_ota_step(mote_agent_t *a, int64_t now_ms);
/* At open: health check a pending model; resume a saved download. */
mote_status_t mote_agent_boot(mote_agent_t *a);
mote_status_t mote_agent_ota_resume(mote_agent_t *a);

#endif
