/* mote DSP: configuration defaults, validation, layout of the feature
 * vector, and the versioned binary form that model packages carry.
 *
 * The parser reads untrusted bytes: every multi-byte value is assembled
 * from single bytes (no alignment or endianness assumption), the length
 * and CRC are checked before any field is trusted, and the decoded config
 * then goes through the same validation as a hand-built one. */
#include <stdarg.h>
#include "mote/le.h"
#include <string.h>
#include "mote/crc32.h"
#include "dsp/dsp_internal.h"
#include "model/diag.h"

#define FEAT_SPECTRAL                                                                         \
    (MOTE_DSP_FEAT_CENTROID | MOTE_DSP_FEAT_PEAKS | MOTE_DSP_FEAT_MAGNITUDE |                  \
     MOTE_DSP_FEAT_LINBANDS | MOTE_DSP_FEAT_LOGMEL | MOTE_DSP_FEAT_MFCC)
#define FEAT_LOG (MOTE_DSP_FEAT_LINBANDS | MOTE_DSP_FEAT_LOGMEL | MOTE_DSP_FEAT_MFCC)
#define FEAT_MEL (MOTE_DSP_FEAT_LOGMEL | MOTE_DSP_FEAT_MFCC)

void mote_dsp_config_default(mote_dsp_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->sample_rate = 12000.0f;
    cfg->frame_len = 1024;
    cfg->hop = 512;
    cfg->fft_len = 1024;
    cfg->window = MOTE_DSP_WIN_HANN;
    cfg->features = MOTE_DSP_FEAT_STATS | MOTE_DSP_FEAT_LOGMEL | MOTE_DSP_FEAT_MFCC;
    cfg->stats = MOTE_DSP_STAT_ALL;
    cfg->n_mels = 32;
    cfg->n_mfcc = 13;
    cfg->mel_hi_hz = 6000.0f;
    cfg->log_floor = 1e-10f;
}

/* ---- validation ---------------------------------------------------- */

static mote_status_t fail(char *msg, size_t len, mote_status_t s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mote_vfmt(msg, len, fmt, ap);
    va_end(ap);
    return s;
}

/* A float as text for messages, without double or stdio (the shared
 * formatter's %f needs soft double and is absent from terse builds): fixed
 * with up to 3 decimals for 0.001 <= |v| < 1e9, else d.ddd e+-N. */
#define FSTR 24
static char *put_uint(char *p, uint32_t v)
{
    char t[10];
    int k = 0;
    do {
        t[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k)
        *p++ = t[--k];
    return p;
}

static const char *fstr(char *b, float v)
{
    char *p = b;
    int e = 0;
    if (v != v)
        return "nan";
    if (v < 0.0f) {
        *p++ = '-';
        v = -v;
    }
    if (v > 3.4028235e38f) {
        memcpy(p, "inf", 4);
        return b;
    }
    if (v != 0.0f && (v < 0.001f || v >= 1e9f)) {
        for (; v >= 10.0f; e++)
            v /= 10.0f;
        for (; v < 1.0f; e--)
            v *= 10.0f;
    }
    uint32_t ip = (uint32_t)v, fp = (uint32_t)((v - (float)ip) * 1000.0f + 0.5f);
    if (fp >= 1000) {
        ip++;
        fp -= 1000;
    }
    p = put_uint(p, ip);
    if (fp) {
        *p++ = '.';
        for (uint32_t d = 100; fp && d; d /= 10) {
            *p++ = (char)('0' + fp / d);
            fp %= d;
        }
    }
    if (e) {
        *p++ = 'e';
        *p++ = e < 0 ? '-' : '+';
        p = put_uint(p, (uint32_t)(e < 0 ? -e : e));
    }
    *p = '\0';
    return b;
}

static uint32_t popcount(uint32_t v)
{
    uint32_t c = 0;
    for (; v; v &= v - 1)
        c++;
    return c;
}

static mote_status_t check_count(const char *name, uint32_t v, uint32_t max, int used, char *msg,
                                 size_t len)
{
    if (v > max)
        return fail(msg, len, MOTE_ERR_ARG, "%s: %u exceeds the maximum %u", name, v, max);
    if (used && v == 0)
        return fail(msg, len, MOTE_ERR_ARG, "%s: must be >= 1 when its feature is enabled", name);
    return MOTE_OK;
}

/* Every frequency must be finite and in [0, fs/2]; a used pair needs lo < hi. */
static mote_status_t check_band(const char *name, float lo, float hi, float fs, int used,
                                char *msg, size_t len)
{
    float nyq = 0.5f * fs;
    char a[FSTR], b[FSTR];
    if (!dsp_finite(lo) || lo < 0.0f || lo > nyq)
        return fail(msg, len, MOTE_ERR_ARG, "%s_lo_hz: %s is not in [0, %s] (sample_rate / 2)",
                    name, fstr(a, lo), fstr(b, nyq));
    if (!dsp_finite(hi) || hi < 0.0f || hi > nyq)
        return fail(msg, len, MOTE_ERR_ARG, "%s_hi_hz: %s is not in [0, %s] (sample_rate / 2)",
                    name, fstr(a, hi), fstr(b, nyq));
    if (used && !(lo < hi))
        return fail(msg, len, MOTE_ERR_ARG, "%s_hi_hz: %s must exceed %s_lo_hz %s", name,
                    fstr(a, hi), name, fstr(b, lo));
    return MOTE_OK;
}

static mote_status_t check_core(const mote_dsp_config_t *c, char *msg, size_t len)
{
    char a[FSTR];
    if (!dsp_finite(c->sample_rate) || !(c->sample_rate > 0.0f) ||
        c->sample_rate > MOTE_DSP_MAX_SAMPLE_RATE)
        return fail(msg, len, MOTE_ERR_ARG, "sample_rate: %s Hz is not in (0, 1000000]",
                    fstr(a, c->sample_rate));
    if (!mote_dsp_fft_size_ok(c->fft_len) || c->fft_len < MOTE_DSP_MIN_FFT)
        return fail(msg, len, MOTE_ERR_ARG, "fft_len: %u is not a power of two in [%u, %u]",
                    c->fft_len, MOTE_DSP_MIN_FFT, MOTE_DSP_FFT_MAX);
    if (c->frame_len < 2 || c->frame_len > c->fft_len)
        return fail(msg, len, MOTE_ERR_ARG, "frame_len: %u is not in [2, fft_len = %u]",
                    c->frame_len, c->fft_len);
    if (c->hop < 1 || c->hop > MOTE_DSP_MAX_HOP)
        return fail(msg, len, MOTE_ERR_ARG, "hop: %u is not in [1, %u]", c->hop,
                    MOTE_DSP_MAX_HOP);
    if (c->window >= MOTE_DSP_WIN_COUNT)
        return fail(msg, len, MOTE_ERR_UNSUPPORTED, "window: unknown window %u (0 rect, 1 hann, "
                    "2 hamming)", (uint32_t)c->window);
    if (c->window_symmetric > 1)
        return fail(msg, len, MOTE_ERR_ARG, "window_symmetric: %u is not 0 or 1",
                    (uint32_t)c->window_symmetric);
    if (c->features == 0)
        return fail(msg, len, MOTE_ERR_ARG, "features: no feature enabled");
    if (c->features & ~MOTE_DSP_FEAT_ALL)
        return fail(msg, len, MOTE_ERR_UNSUPPORTED, "features: unknown bits %u",
                    c->features & ~MOTE_DSP_FEAT_ALL);
    if (c->features != dsp_built(c->features))
        return fail(msg, len, MOTE_ERR_UNSUPPORTED, "features: bits %u not built in "
                    "(MOTE_DSP_FEATURES %u)", c->features & ~dsp_built(c->features),
                    (uint32_t)(MOTE_DSP_FEATURES));
    if (c->stats & ~MOTE_DSP_STAT_ALL)
        return fail(msg, len, MOTE_ERR_UNSUPPORTED, "stats: unknown bits %u",
                    c->stats & ~MOTE_DSP_STAT_ALL);
    if ((c->features & MOTE_DSP_FEAT_STATS) && c->stats == 0)
        return fail(msg, len, MOTE_ERR_ARG, "stats: none selected but FEAT_STATS is enabled");
    return MOTE_OK;
}

static mote_status_t check_counts(const mote_dsp_config_t *c, char *msg, size_t len)
{
    uint32_t f = c->features, nb = c->fft_len / 2 + 1;
    mote_status_t s;
    if ((s = check_count("n_lin_bands", c->n_lin_bands, MOTE_DSP_MAX_LIN_BANDS,
                         f & MOTE_DSP_FEAT_LINBANDS, msg, len)) != MOTE_OK ||
        (s = check_count("n_mels", c->n_mels, MOTE_DSP_MAX_MELS, f & FEAT_MEL, msg, len)) !=
            MOTE_OK ||
        (s = check_count("n_mfcc", c->n_mfcc, c->n_mels, f & MOTE_DSP_FEAT_MFCC, msg, len)) !=
            MOTE_OK ||
        (s = check_count("n_peaks", c->n_peaks, MOTE_DSP_MAX_PEAKS, f & MOTE_DSP_FEAT_PEAKS, msg,
                         len)) != MOTE_OK ||
        (s = check_count("mag_bins", c->mag_bins, nb, f & MOTE_DSP_FEAT_MAGNITUDE, msg, len)) !=
            MOTE_OK ||
        (s = check_count("env_bins", c->env_bins, nb - 1, f & MOTE_DSP_FEAT_ENVELOPE, msg,
                         len)) != MOTE_OK)
        return s;
    if ((f & MOTE_DSP_FEAT_ENVELOPE) && c->frame_len != c->fft_len)
        return fail(msg, len, MOTE_ERR_ARG, "frame_len: %u must equal fft_len %u for the "
                    "envelope", c->frame_len, c->fft_len);
    return MOTE_OK;
}

static mote_status_t check_freqs(const mote_dsp_config_t *c, char *msg, size_t len)
{
    char a[FSTR];
    uint32_t f = c->features;
    mote_status_t s;
    if ((s = check_band("lin", c->lin_lo_hz, c->lin_hi_hz, c->sample_rate,
                        f & MOTE_DSP_FEAT_LINBANDS, msg, len)) != MOTE_OK ||
        (s = check_band("mel", c->mel_lo_hz, c->mel_hi_hz, c->sample_rate, f & FEAT_MEL, msg,
                        len)) != MOTE_OK ||
        (s = check_band("env", c->env_lo_hz, c->env_hi_hz, c->sample_rate,
                        f & MOTE_DSP_FEAT_ENVELOPE, msg, len)) != MOTE_OK)
        return s;
    if (!dsp_finite(c->log_floor) || c->log_floor < 0.0f || ((f & FEAT_LOG) && !(c->log_floor > 0.0f)))
        return fail(msg, len, MOTE_ERR_ARG, "log_floor: %s must be finite and > 0",
                    fstr(a, c->log_floor));
    return MOTE_OK;
}

/* Bands without bins would give constant features: almost certainly a
 * mistake (too many bands for the FFT size), so they are refused. */
static mote_status_t check_bins(const mote_dsp_config_t *c, char *msg, size_t len)
{
    /* dsp_built: validation refused unbuilt groups already; this lets
     * the compiler drop their checks (the mel code) too. */
    uint32_t f = dsp_built(c->features), n = c->fft_len, nb = n / 2 + 1;
    float fs = c->sample_rate, bin_hz = fs / (float)n;
    char a[FSTR], a2[FSTR];
    if (f & MOTE_DSP_FEAT_LINBANDS) {
        for (uint32_t b = 0; b < c->n_lin_bands; b++) {
            uint32_t k0 = dsp_linband_start(b, c->n_lin_bands, c->lin_lo_hz, c->lin_hi_hz, fs, n);
            uint32_t k1 = dsp_linband_start(b + 1, c->n_lin_bands, c->lin_lo_hz, c->lin_hi_hz, fs, n);
            if (k1 <= k0)
                return fail(msg, len, MOTE_ERR_ARG, "n_lin_bands: band %u of %u holds no FFT "
                            "bin (bins are %s Hz apart)", b, (uint32_t)c->n_lin_bands, fstr(a, bin_hz));
        }
    }
    if (f & FEAT_MEL) {
        for (uint32_t m = 0; m < c->n_mels; m++) {
            double lo = dsp_mel_point(m, c->n_mels, c->mel_lo_hz, c->mel_hi_hz);
            double hi = dsp_mel_point(m + 2, c->n_mels, c->mel_lo_hz, c->mel_hi_hz);
            uint32_t k = dsp_first_bin(lo, bin_hz, nb, 1);
            if (k >= nb || !((double)k * bin_hz < hi))
                return fail(msg, len, MOTE_ERR_ARG, "n_mels: mel filter %u of %u holds no FFT "
                            "bin (bins are %s Hz apart)", m, (uint32_t)c->n_mels, fstr(a, bin_hz));
        }
    }
    if ((f & MOTE_DSP_FEAT_ENVELOPE) &&
        mote_dsp_bin_ceil(c->env_lo_hz, fs, n) > mote_dsp_bin_floor(c->env_hi_hz, fs, n))
        return fail(msg, len, MOTE_ERR_ARG, "env_lo_hz: band %s..%s Hz holds no FFT bin",
                    fstr(a, c->env_lo_hz), fstr(a2, c->env_hi_hz));
    return MOTE_OK;
}

mote_status_t mote_dsp_config_validate(const mote_dsp_config_t *cfg, char *msg, size_t msg_len)
{
    mote_status_t s;
    if (msg && msg_len)
        msg[0] = '\0';
    if (!cfg)
        return fail(msg, msg_len, MOTE_ERR_ARG, "config: NULL");
    if ((s = check_core(cfg, msg, msg_len)) != MOTE_OK ||
        (s = check_counts(cfg, msg, msg_len)) != MOTE_OK ||
        (s = check_freqs(cfg, msg, msg_len)) != MOTE_OK)
        return s;
    return check_bins(cfg, msg, msg_len);
}

/* ---- feature vector layout ----------------------------------------- */

static uint32_t group_len(const mote_dsp_config_t *c, uint32_t bit)
{
    switch (bit) {
    case MOTE_DSP_FEAT_STATS: return popcount(c->stats);
    case MOTE_DSP_FEAT_CENTROID: return 1;
    case MOTE_DSP_FEAT_PEAKS: return 2u * c->n_peaks;
    case MOTE_DSP_FEAT_MAGNITUDE: return c->mag_bins;
    case MOTE_DSP_FEAT_LINBANDS: return c->n_lin_bands;
    case MOTE_DSP_FEAT_LOGMEL: return c->n_mels;
    case MOTE_DSP_FEAT_MFCC: return c->n_mfcc;
    default: return c->env_bins;
    }
}

/* Offsets of the 8 groups (disabled groups get the offset where they would
 * start, length 0); returns the total. cfg must be valid. */
uint32_t dsp_feature_offsets(const mote_dsp_config_t *cfg, uint32_t off[8])
{
    uint32_t total = 0;
    for (uint32_t i = 0; i < 8; i++) {
        off[i] = total;
        if (cfg->features & (1u << i))
            total += group_len(cfg, 1u << i);
    }
    return total;
}

size_t mote_dsp_features_size(const mote_dsp_config_t *cfg)
{
    uint32_t off[8];
    if (mote_dsp_config_validate(cfg, NULL, 0) != MOTE_OK)
        return 0;
    return dsp_feature_offsets(cfg, off);
}

mote_status_t mote_dsp_feature_range(const mote_dsp_config_t *cfg, uint32_t feat, size_t *offset,
                                     size_t *count)
{
    uint32_t off[8];
    if (!offset || !count || mote_dsp_config_validate(cfg, NULL, 0) != MOTE_OK ||
        popcount(feat) != 1 || !(cfg->features & feat))
        return MOTE_ERR_ARG;
    dsp_feature_offsets(cfg, off);
    uint32_t i = 0;
    while (!(feat & (1u << i)))
        i++;
    *offset = off[i];
    *count = group_len(cfg, feat);
    return MOTE_OK;
}

/* ---- binary form --------------------------------------------------- */

#define OFF_CRC 76u

static void encode(const mote_dsp_config_t *c, uint8_t *p)
{
    const float fl[7] = { c->lin_lo_hz, c->lin_hi_hz, c->mel_lo_hz, c->mel_hi_hz,
                          c->env_lo_hz, c->env_hi_hz, c->log_floor };
    const uint16_t cnt[6] = { c->n_lin_bands, c->n_mels, c->n_mfcc,
                              c->n_peaks, c->mag_bins, c->env_bins };
    memcpy(p, "MDSP", 4);
    mote_le_put16(p + 4, MOTE_DSP_CONFIG_VERSION);
    mote_le_put16(p + 6, MOTE_DSP_CONFIG_BYTES);
    mote_le_put32(p + 8, dsp_f2u(c->sample_rate));
    mote_le_put32(p + 12, c->frame_len);
    mote_le_put32(p + 16, c->hop);
    mote_le_put32(p + 20, c->fft_len);
    p[24] = c->window;
    p[25] = c->window_symmetric;
    mote_le_put16(p + 26, 0);
    mote_le_put32(p + 28, c->features);
    mote_le_put32(p + 32, c->stats);
    for (int i = 0; i < 6; i++)
        mote_le_put16(p + 36 + 2 * i, cnt[i]);
    for (int i = 0; i < 7; i++)
        mote_le_put32(p + 48 + 4 * i, dsp_f2u(fl[i]));
    mote_le_put32(p + OFF_CRC, mote_crc32(p, OFF_CRC));
}

static void decode(const uint8_t *p, mote_dsp_config_t *c)
{
    float *fl[7] = { &c->lin_lo_hz, &c->lin_hi_hz, &c->mel_lo_hz, &c->mel_hi_hz,
                     &c->env_lo_hz, &c->env_hi_hz, &c->log_floor };
    uint16_t *cnt[6] = { &c->n_lin_bands, &c->n_mels, &c->n_mfcc,
                         &c->n_peaks, &c->mag_bins, &c->env_bins };
    c->sample_rate = dsp_u2f(mote_le_get32(p + 8));
    c->frame_len = mote_le_get32(p + 12);
    c->hop = mote_le_get32(p + 16);
    c->fft_len = mote_le_get32(p + 20);
    c->window = p[24];
    c->window_symmetric = p[25];
    c->features = mote_le_get32(p + 28);
    c->stats = mote_le_get32(p + 32);
    for (int i = 0; i < 6; i++)
        *cnt[i] = (uint16_t)mote_le_get16(p + 36 + 2 * i);
    for (int i = 0; i < 7; i++)
        *fl[i] = dsp_u2f(mote_le_get32(p + 48 + 4 * i));
}

mote_status_t mote_dsp_config_write(const mote_dsp_config_t *cfg, void *out, size_t out_len,
                                    char *msg, size_t msg_len)
{
    mote_status_t s = mote_dsp_config_validate(cfg, msg, msg_len);
    if (s != MOTE_OK)
        return s;
    if (!out || out_len < MOTE_DSP_CONFIG_BYTES)
        return fail(msg, msg_len, MOTE_ERR_ARENA, "output: %u bytes needed",
                    MOTE_DSP_CONFIG_BYTES);
    encode(cfg, out);
    return MOTE_OK;
}

/* Header, length and checksum: everything before the fields are trusted. */
static mote_status_t check_frame(const uint8_t *p, size_t len, char *msg, size_t msg_len)
{
    if (len < 8)
        return fail(msg, msg_len, MOTE_ERR_TRUNCATED, "header: %u bytes, need 8",
                    (uint32_t)len);
    if (p[0] != 'M' || p[1] != 'D' || p[2] != 'S' || p[3] != 'P')
        return fail(msg, msg_len, MOTE_ERR_CORRUPT, "magic: not \"MDSP\"");
    if (mote_le_get16(p + 4) != MOTE_DSP_CONFIG_VERSION)
        return fail(msg, msg_len, MOTE_ERR_VERSION, "version: %u, this build reads %u",
                    mote_le_get16(p + 4), MOTE_DSP_CONFIG_VERSION);
    if (mote_le_get16(p + 6) != MOTE_DSP_CONFIG_BYTES)
        return fail(msg, msg_len, MOTE_ERR_CORRUPT, "length: %u, version 1 is %u bytes",
                    mote_le_get16(p + 6), MOTE_DSP_CONFIG_BYTES);
    if (len < MOTE_DSP_CONFIG_BYTES)
        return fail(msg, msg_len, MOTE_ERR_TRUNCATED, "length: %u bytes given, %u needed",
                    (uint32_t)len, MOTE_DSP_CONFIG_BYTES);
    uint32_t want = mote_le_get32(p + OFF_CRC), got = mote_crc32(p, OFF_CRC);
    if (want != got)
        return fail(msg, msg_len, MOTE_ERR_VERIFY, "crc: stored %u, computed %u", want, got);
    if (mote_le_get16(p + 26) != 0)
        return fail(msg, msg_len, MOTE_ERR_CORRUPT, "reserved: bytes 26..27 must be 0");
    return MOTE_OK;
}

mote_status_t mote_dsp_config_parse(mote_dsp_config_t *cfg, const void *buf, size_t len,
                                     char *msg, size_t msg_len)
{
    if (msg && msg_len)
        msg[0] = '\0';
    if (!cfg)
        return fail(msg, msg_len, MOTE_ERR_ARG, "config: NULL");
    memset(cfg, 0, sizeof *cfg);
    if (!buf && len)
        return fail(msg, msg_len, MOTE_ERR_ARG, "input: NULL");
    mote_status_t s = check_frame(buf, len, msg, msg_len);
    if (s != MOTE_OK)
        return s;
    decode(buf, cfg);
    s = mote_dsp_config_validate(cfg, msg, msg_len);
    if (s != MOTE_OK)
        memset(cfg, 0, sizeof *cfg);
    return s;
}
