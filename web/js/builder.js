// Low-code pipeline builder: sensor data → DSP block → model → learning
// head → event rule, as forms. The result is the JSON config `mote train`
// reads (saved on the server, runnable from the CLI too) plus the device
// side (head and rule) beside it; training runs `mote train` on moted.
import { can, get, list, post } from './api.js';
import { announce, clear, field, h } from './dom.js';
import { confusion, keyNumbers } from './metrics.js';

const FEATURES = ['linbands', 'logmel', 'mfcc', 'stats', 'envelope', 'peaks', 'centroid', 'magnitude'];

function input(name, value, attrs = {}) {
  return h('input', { name, value, ...attrs });
}

function select(name, options, value) {
  return h('select', { name }, options.map((o) => h('option', { value: o, selected: o === value }, o)));
}

function step(n, title, ...controls) {
  return h('fieldset', {}, h('legend', {}, `${n}. ${title}`), ...controls);
}

function featureBoxes() {
  return h('fieldset', { class: 'inline' }, h('legend', {}, 'Features'),
    FEATURES.map((f) => h('label', {}, h('input', { type: 'checkbox', name: 'feature', value: f, checked: f === 'linbands' }), ` ${f}`)));
}

function form(datasets) {
  const ds = h('select', { name: 'dataset', required: true },
    datasets.map((d) => h('option', { value: d.id }, `${d.id} — ${d.name || ''} (${(d.classes || []).length} classes, ${d.sample_rate} Hz)`)));
  return h('form', { id: 'builder', novalidate: true },
    h('div', { class: 'steps' },
      step(1, 'Sensor data', field('b-dataset', 'Recorded dataset', ds),
        h('p', { class: 'muted', id: 'b-dataset-info' })),
      step(2, 'DSP block', field('b-frame', 'Frame length (samples)', input('frame_len', 1024, { type: 'number', min: 16 })),
        field('b-fft', 'FFT length', input('fft_len', 1024, { type: 'number', min: 16 })),
        field('b-window', 'Window', select('window', ['hann', 'hamming', 'rect'], 'hann')), featureBoxes(),
        field('b-bands', 'Linear bands', input('lin_bands', 48, { type: 'number', min: 1 })),
        field('b-lo', 'Lowest frequency (Hz)', input('lin_lo_hz', 0, { type: 'number', min: 0 })),
        field('b-hi', 'Highest frequency (Hz)', input('lin_hi_hz', 6000, { type: 'number', min: 1 }))),
      step(3, 'Model', field('b-type', 'Type', select('type', ['mlp', 'cnn1d', 'autoencoder'], 'mlp')),
        field('b-layers', 'Hidden layers (units, comma-separated)', input('layers', '32,16')),
        field('b-epochs', 'Epochs', input('epochs', 30, { type: 'number', min: 1, max: 1000 })),
        field('b-lr', 'Learning rate', input('learning_rate', 0.002, { type: 'number', step: 'any', min: 0 })),
        field('b-batch', 'Batch', input('batch', 32, { type: 'number', min: 1 }))),
      step(4, 'Learning head (on device)', h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'head', checked: true }), ' Trainable output layer'),
        field('b-head-lr', 'Head learning rate', input('head_lr', 0.01, { type: 'number', step: 'any', min: 0 })),
        field('b-anomaly', 'Anomaly detector', select('anomaly', ['none', 'iforest', 'autoencoder'], 'iforest')),
        field('b-drift', 'Drift detector', select('drift', ['none', 'page-hinkley', 'adwin', 'ddm'], 'page-hinkley'))),
      step(5, 'Event rule', field('b-on', 'Raise an event on', select('rule_on', ['class change', 'anomaly score', 'both'], 'both')),
        field('b-thr', 'Score threshold (× calibrated threshold)', input('rule_threshold', 1.0, { type: 'number', step: 'any', min: 0 })),
        field('b-min', 'Consecutive windows', input('rule_windows', 3, { type: 'number', min: 1 })),
        field('b-explain', 'Explanation entries', input('rule_explain', 4, { type: 'number', min: 0, max: 4 }))),
      step(6, 'Package', field('b-name', 'Name ([a-z0-9_-])', input('name', 'bearing-demo', { pattern: '[a-z0-9_-]{1,48}', required: true })),
        field('b-version', 'Version', input('version', '1.0.0')),
        field('b-desc', 'Description', input('description', 'Bearing fault class from drive-end vibration.')))),
    h('div', {}, h('button', { type: 'button', id: 'b-validate', class: 'secondary' }, 'Validate'),
      h('button', { type: 'button', id: 'b-save' }, 'Save pipeline'),
      h('button', { type: 'button', id: 'b-train' }, 'Train and evaluate')),
    h('p', { id: 'b-msg', role: 'alert' }));
}

function layers(text, type) {
  const units = String(text).split(',').map((x) => parseInt(x, 10)).filter((x) => x > 0);
  if (type !== 'cnn1d') return units;
  return [...units.map((u) => ({ conv: u, kernel: 5, stride: 2 })), 'gap'];
}

// The form as {config (mote train's JSON), device (head + rule)}.
export function spec(f) {
  const v = (n) => f.elements[n].value;
  const num = (n) => Number(v(n));
  const features = [...f.querySelectorAll('input[name=feature]:checked')].map((x) => x.value);
  const dsp = { frame_len: num('frame_len'), fft_len: num('fft_len'), window: v('window'), features };
  if (features.includes('linbands')) Object.assign(dsp, { lin_bands: num('lin_bands'), lin_lo_hz: num('lin_lo_hz'), lin_hi_hz: num('lin_hi_hz') });
  const config = {
    dataset: v('dataset'), dsp,
    model: { type: v('type'), layers: layers(v('layers'), v('type')) },
    train: { optimizer: 'adam', learning_rate: num('learning_rate'), epochs: num('epochs'), batch: num('batch'),
      patience: 10, class_weights: 'auto', seed: 1, threads: 1 },
    quantize: { calibration: 'minmax', samples: 1000 },
    package: { name: v('name'), version: v('version'), description: v('description') },
  };
  const device = {
    head: f.elements.head.checked ? { trainable: true, learning_rate: num('head_lr') } : { trainable: false },
    anomaly: v('anomaly'), drift: v('drift'),
    rule: { on: v('rule_on'), threshold: num('rule_threshold'), windows: num('rule_windows'), explain: num('rule_explain') },
  };
  return { config, device };
}

function showMsg(el, text, ok) {
  el.className = ok ? 'ok' : 'error';
  el.textContent = text;
}

async function watch(jobId, out) {
  const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Training progress' });
  const status = h('p', { 'aria-live': 'polite' }, `Job ${jobId}: starting`);
  const log = h('pre', { class: 'log', tabindex: '0', 'aria-label': 'Training log' });
  const result = h('div');
  clear(out).append(h('h2', {}, `Training job ${jobId}`), status, bar, log, result);
  for (;;) {
    const j = await get(`/api/jobs/${jobId}`);
    if (j.epochs) { bar.max = j.epochs; bar.value = j.epoch; }
    status.textContent = `Job ${jobId}: ${j.state}${j.epochs ? `, epoch ${j.epoch} of ${j.epochs}` : ''}`;
    // The progress bar redraws its line with '\r': keep each line's last state.
    log.textContent = (j.log || '').split('\n').map((l) => l.split('\r').filter(Boolean).pop() || '').join('\n');
    log.scrollTop = log.scrollHeight;
    if (j.state !== 'running') {
      announce(`Training ${j.state}`);
      if (j.state === 'done') showResult(result, j);
      return j;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function showResult(box, j) {
  const m = j.metrics || {};
  const rep = m.evaluation?.report_b || {};
  const img = h('img', { class: 'plot', src: `/api/jobs/${j.id}/files/confusion_int8.svg`, alt: 'Confusion matrix of the int8 model on the test split' });
  box.append(h('h3', { id: 'b-result' }, 'Evaluation (int8 model in the mote runtime, test split)'),
    keyNumbers(m), confusion(rep.classes, rep.confusion) || '', img, registerForm(j));
}

function registerForm(j) {
  const target = h('input', { name: 'target', value: 'cwru-gw', required: true });
  const msg = h('p', { role: 'status' });
  const btn = h('button', { type: 'button' }, 'Register in the model catalogue');
  btn.addEventListener('click', async () => {
    try {
      const r = await post('/api/models', { dir: j.out, name: j.pipeline, target: target.value });
      showMsg(msg, `Registered ${r.name || j.pipeline}@${r.version ?? ''}`, true);
    } catch (e) { showMsg(msg, e.message, false); }
  });
  return h('div', { class: 'card' }, field('b-target', 'Target device class', target), btn, msg);
}

export async function builderPage(root) {
  const datasets = list(await get('/api/datasets'), 'datasets');
  const f = form(datasets);
  const msg = f.querySelector('#b-msg');
  const preview = h('pre', { class: 'log', tabindex: '0', 'aria-label': 'Pipeline JSON' });
  const out = h('section', { 'aria-label': 'Training' });
  const info = f.querySelector('#b-dataset-info');
  const update = () => {
    const d = datasets.find((x) => x.id === f.elements.dataset.value);
    info.textContent = d ? `${d.description || ''} Classes: ${(d.classes || []).join(', ')}; window ${d.window} samples.` : 'No dataset specs offered by this moted.';
    preview.textContent = JSON.stringify(spec(f), null, 2);
  };
  f.addEventListener('input', update);
  f.addEventListener('change', update);
  const writer = can('engineer');
  for (const id of ['#b-save', '#b-train']) {
    if (!writer) { f.querySelector(id).disabled = true; f.querySelector(id).title = 'Needs the engineer role'; }
  }
  f.querySelector('#b-validate').addEventListener('click', async () => {
    try { await post('/api/pipelines?dry_run=1', spec(f)); showMsg(msg, 'Valid: mote train accepts this pipeline.', true); }
    catch (e) { showMsg(msg, `Invalid: ${e.message}`, false); }
  });
  f.querySelector('#b-save').addEventListener('click', async () => {
    try { const r = await post('/api/pipelines', spec(f)); showMsg(msg, `Saved pipeline ${r.name}.`, true); }
    catch (e) { showMsg(msg, `Not saved: ${e.message}`, false); }
  });
  f.querySelector('#b-train').addEventListener('click', async () => {
    try {
      const r = await post('/api/pipelines', spec(f));
      const job = await post(`/api/pipelines/${encodeURIComponent(r.name)}/train`);
      showMsg(msg, `Training started (job ${job.job}).`, true);
      await watch(job.job, out);
    } catch (e) { showMsg(msg, `Cannot train: ${e.message}`, false); }
  });
  root.append(h('h1', {}, 'Pipeline builder'),
    h('p', {}, 'Compose the pipeline step by step; it is saved as the same JSON `mote train` reads.'),
    f, h('details', {}, h('summary', {}, 'Pipeline JSON'), preview), out);
  update();
}
