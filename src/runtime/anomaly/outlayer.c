/* A decoder's linear output layer that keeps learning on normal samples.
 *
 * Each output row j only sees its own error e_j = (W h + b)_j - t_j, so
 * rows are updated one at a time and no scratch buffer is needed. */
#include "anomaly_internal.h"

mote_status_t mote_anomaly_ol_init(mote_anomaly_ol_t *o, float *w, float *b, uint32_t n_in,
                                   uint32_t n_out, float lr, int normalized)
{
    if (!o || !w || !b || n_in == 0 || n_out == 0 || !anom_finite(lr) || !(lr > 0.0f) ||
        (normalized && !(lr < 2.0f)))
        return MOTE_ERR_ARG;
    o->w = w;
    o->b = b;
    o->n_in = n_in;
    o->n_out = n_out;
    o->lr = lr;
    o->normalized = normalized != 0;
    return MOTE_OK;
}

static float row_out(const float *w, float b, const float *h, uint32_t n)
{
    float y = b;
    for (uint32_t i = 0; i < n; i++)
        y += w[i] * h[i];
    return y;
}

void mote_anomaly_ol_forward(const mote_anomaly_ol_t *o, const float *h, float *y)
{
    for (uint32_t j = 0; j < o->n_out; j++)
        y[j] = row_out(o->w + (size_t)j * o->n_in, o->b[j], h, o->n_in);
}

static float error_energy(const mote_anomaly_ol_t *o, const float *h, const float *target)
{
    float sum = 0.0f;
    for (uint32_t j = 0; j < o->n_out; j++) {
        float e = row_out(o->w + (size_t)j * o->n_in, o->b[j], h, o->n_in) - target[j];
        sum += e * e;
    }
    return sum;
}

float mote_anomaly_ol_update(mote_anomaly_ol_t *o, const float *h, const float *target)
{
    return mote_anomaly_ol_update_below(o, h, target, anom_u2f(0x7F800000u));
}

float mote_anomaly_ol_update_below(mote_anomaly_ol_t *o, const float *h, const float *target,
                                   float limit)
{
    /* A first pass for the loss so that a NaN or inf sample is caught
     * before it touches (and poisons) any weight; the same pass gates. */
    float loss = error_energy(o, h, target) / (float)o->n_out;
    if (!anom_finite(loss) || !(loss < limit))
        return loss;
    float step = o->lr * 2.0f / (float)o->n_out;
    if (o->normalized) {
        /* the bias is an input fixed at 1, hence the 1 + |h|^2 */
        float norm = 1.0f;
        for (uint32_t i = 0; i < o->n_in; i++)
            norm += h[i] * h[i];
        step = o->lr / norm;
    }
    for (uint32_t j = 0; j < o->n_out; j++) {
        float *w = o->w + (size_t)j * o->n_in;
        float g = step * (row_out(w, o->b[j], h, o->n_in) - target[j]);
        for (uint32_t i = 0; i < o->n_in; i++)
            w[i] -= g * h[i];
        o->b[j] -= g;
    }
    return loss;
}
