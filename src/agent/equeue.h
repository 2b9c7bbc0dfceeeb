/* mote agent: crash-safe on-disk event queue.
 *
 * A folder holds two files:
 *   events.q   append-only log: an 8-byte magic "MOTEEQ01", then records
 *                [u32 length][u64 seq][u32 crc][length bytes]
 *              little-endian; crc = CRC-32 of the length, seq and payload
 *              bytes. Seqs strictly increase along the file.
 *   cursor     16 bytes: [u64 acked][u32 magic "EQCU"][u32 crc of the first
 *              12], only ever replaced by rename() of cursor.tmp: every
 *              event with seq <= acked was acknowledged by the broker.
 *
 * A crash (or power loss with the SYNC policy) while appending leaves at
 * most a torn last record; open() detects it (short, bad CRC, seq not
 * increasing), logs it, and truncates the file there, so every record
 * written before stays readable. An event leaves the queue only when
 * acknowledged (mote_equeue_ack); once all are, the cursor is advanced and
 * the log emptied. Seqs survive restarts: the next seq is one past the
 * largest of the log's last seq and the cursor.
 *
 * Not thread-safe; one process owns a folder at a time. */
#ifndef MOTE_EQUEUE_H
#define MOTE_EQUEUE_H

#include <stddef.h>
#include <stdint.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_EQUEUE_MAGIC "MOTEEQ01"
#define MOTE_EQUEUE_HDR 8u          /* file magic */
#define MOTE_EQUEUE_REC_HDR 16u     /* length, seq, crc */
#define MOTE_EQUEUE_MAX_RECORD 65536u /* payload bytes per event */
#define MOTE_EQUEUE_MSG_LEN 256
#define MOTE_EQUEUE_PATH_LEN 512

/* When appended bytes reach the disk. */
typedef enum mote_equeue_sync {
    MOTE_EQUEUE_SYNC = 0,  /* fsync after every append and ack: survives power loss */
    MOTE_EQUEUE_NOSYNC = 1 /* leave it to the OS: survives a process crash only
                              (simulated devices, tests) */
} mote_equeue_sync_t;

/* One record still waiting for its acknowledgement. */
typedef struct mote_equeue_entry {
    uint64_t seq;
    uint64_t offset;  /* of its payload in events.q */
    uint32_t len;     /* payload bytes */
    uint8_t acked;    /* acknowledged out of order, cursor not yet past it */
} mote_equeue_entry_t;

typedef struct mote_equeue {
    char path[MOTE_EQUEUE_PATH_LEN];   /* events.q */
    char cursor[MOTE_EQUEUE_PATH_LEN]; /* cursor file */
    char dir[MOTE_EQUEUE_PATH_LEN];
    int fd;
    mote_equeue_sync_t sync;
    uint64_t size;        /* bytes of events.q */
    uint64_t acked;       /* cursor: every seq <= acked is acknowledged */
    uint64_t next_seq;    /* seq the next append must use at least */
    uint64_t max_bytes;   /* append refused past this log size */
    mote_equeue_entry_t *e; /* pending records, seq order (heap, owned) */
    size_t n, cap;
    uint64_t dropped_tail; /* bytes of torn tail removed at open */
    char msg[MOTE_EQUEUE_MSG_LEN];
} mote_equeue_t;

/* Called by mote_equeue_scan for each valid record, in file order. The
 * payload points into the scanned buffer. Return non-zero to stop. */
typedef int (*mote_equeue_record_fn)(void *user, uint64_t seq, uint64_t offset,
                                     const uint8_t *payload, uint32_t len);

/* Parse a log held in memory (untrusted bytes). Calls `fn` (may be NULL)
 * for each valid record and stores in *valid_len the length of the longest
 * valid prefix (magic plus whole records with good CRCs and increasing
 * seqs). Returns MOTE_OK when the whole buffer is valid, MOTE_ERR_TRUNCATED
 * for a torn last record, MOTE_ERR_CORRUPT for a bad magic, CRC, length or
 * seq order; `msg` (may be NULL) then names the record and offset. An empty
 * buffer is a valid empty log. */
mote_status_t mote_equeue_scan(const void *buf, size_t len, mote_equeue_record_fn fn, void *user,
                               size_t *valid_len, char *msg, size_t msg_size);

/* Open (creating if needed) the queue in the existing folder `dir`:
 * read the cursor, scan the log, drop a torn or corrupt tail (logged in
 * q->msg, size in q->dropped_tail), and index the unacknowledged records.
 * max_bytes caps the log size (0: 64 MiB). Errors: MOTE_ERR_ARG,
 * MOTE_ERR_IO, MOTE_ERR_CORRUPT (damaged cursor), MOTE_ERR_NOMEM; the
 * message is in q->msg. */
mote_status_t mote_equeue_open(mote_equeue_t *q, const char *dir, mote_equeue_sync_t sync,
                               uint64_t max_bytes);
/* Close the file and free the index; the folder keeps everything. */
void mote_equeue_close(mote_equeue_t *q);

/* The seq the next event must carry (persistent, strictly increasing). */
uint64_t mote_equeue_next_seq(const mote_equeue_t *q);

/* Append one event: `seq` >= mote_equeue_next_seq(), len 1..MAX_RECORD
 * bytes (copied). Written with one write() (and fsync with SYNC). Errors:
 * MOTE_ERR_ARG (seq or length), MOTE_ERR_FULL (log would pass max_bytes),
 * MOTE_ERR_IO (then the log is truncated back to its previous size). */
mote_status_t mote_equeue_append(mote_equeue_t *q, uint64_t seq, const void *data, size_t len);

/* Number of records not yet acknowledged. */
size_t mote_equeue_pending(const mote_equeue_t *q);

/* Copy the first pending, unacknowledged record with seq > after into buf
 * (cap bytes): *seq and *len get its seq and length. MOTE_ERR_NOT_FOUND
 * when there is none, MOTE_ERR_LIMIT when cap is too small, MOTE_ERR_IO,
 * MOTE_ERR_CORRUPT if the bytes on disk changed under us. */
mote_status_t mote_equeue_peek(mote_equeue_t *q, uint64_t after, uint64_t *seq, void *buf,
                               size_t cap, size_t *len);

/* The broker acknowledged `seq` (any order). Advances the cursor over the
 * acknowledged prefix (atomic replace) and empties the log when nothing is
 * left. An unknown or already acknowledged seq is ignored (MOTE_OK).
 * MOTE_ERR_IO if the cursor cannot be written (the ack is then retried at
 * the next ack or reopen: the event may be sent twice, never lost). */
mote_status_t mote_equeue_ack(mote_equeue_t *q, uint64_t seq);

#ifdef __cplusplus
}
#endif
#endif
