// Drives moted's web console in headless Chromium (playwright-core) and
// checks every page with axe-core (WCAG 2 A/AA). Prints "ok - ..." /
// "not ok - ..." lines and "N passed, N failed"; screenshots and axe
// reports go to --artifacts. Run by tests/cli/test_console.sh, which
// starts the real broker, moted and devices.
//
//   node run.mjs --base http://127.0.0.1:PORT --artifacts DIR --user U --password P
//                --fault-device ID --odd-device ID --target CLASS [--chromium PATH]
//   node run.mjs --scenario scale --devices N --base ... --artifacts DIR --user U --password P
//                (the fleet map with N devices: paging, last page, search, timings)
import { readFileSync, mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

function args() {
  const a = {};
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) a[v[i].replace(/^--/, '')] = v[i + 1];
  a.scenario = a.scenario || 'console';
  const need = ['base', 'artifacts', 'user', 'password'].concat(a.scenario === 'scale' ? ['devices']
    : ['fault-device', 'odd-device', 'target']);
  for (const k of need) {
    if (!a[k]) { console.error(`run.mjs: --${k} is required`); process.exit(2); }
  }
  a.chromium = a.chromium || '/usr/bin/chromium';
  return a;
}

const opt = args();
mkdirSync(opt.artifacts, { recursive: true });
for (const f of readdirSync(opt.artifacts)) { // only what an earlier run wrote
  if (/^\d\d-.*\.png$|^axe-.*\.json$/.test(f)) unlinkSync(`${opt.artifacts}/${f}`);
}
let passed = 0, failed = 0, shot = 0;
const requests = []; // every URL the page asked for, in order
const problems = []; // uncaught page errors and CSP violations

function ok(desc) { passed++; console.log(`ok - ${desc}`); }
function notOk(desc, why) {
  failed++;
  console.log(`not ok - ${desc}`);
  if (why) console.log(String(why).split('\n').slice(0, 8).map((l) => `#   ${l}`).join('\n'));
}

async function screenshot(page, name) {
  shot++;
  const file = `${opt.artifacts}/${String(shot).padStart(2, '0')}-${name}.png`;
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
}

// One scenario step: a failure is reported and the run goes on (later
// steps may still pass), with a screenshot either way.
async function step(page, name, fn) {
  try {
    await fn();
    ok(name);
  } catch (e) {
    notOk(name, e.stack || e.message);
  }
  await screenshot(page, name.replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 50));
}

// axe-core on the current page: serious or critical WCAG 2 A/AA
// violations fail; every finding is saved for reading.
async function accessible(page, name) {
  await step(page, `accessibility (axe, WCAG 2 AA): ${name}`, async () => {
    // Evaluated through the DevTools protocol: the page's CSP (script-src
    // 'self') rightly blocks an injected <script>, this is not one.
    if (!(await page.evaluate('typeof window.axe'))?.startsWith('object')) await page.evaluate(AXE_SOURCE);
    const r = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }));
    writeFileSync(`${opt.artifacts}/axe-${name.replace(/[^a-z0-9]+/gi, '-')}.json`, JSON.stringify(r.violations, null, 2));
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    if (bad.length) {
      throw new Error(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`).join('\n'));
    }
  });
}

async function textOf(page, sel) {
  return (await page.locator(sel).first().textContent({ timeout: 10000 })) || '';
}

async function main() {
  const browser = await chromium.launch({
    executablePath: opt.chromium,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  try {
    await (opt.scenario === 'scale' ? scale(page) : scenarios(page));
  } finally {
    await browser.close();
  }
}

async function login(page) {
  await step(page, 'the login page loads', async () => {
    await page.goto(opt.base + '/');
    await page.locator('#login-form').waitFor();
  });
  await accessible(page, 'login');
  await step(page, 'keyboard: focus starts in the user field; Tab order user, password, Log in; skip link before', async () => {
    const focused = () => page.evaluate(() => {
      const a = document.activeElement;
      return a ? (a.id || a.textContent || a.tagName).trim() : '';
    });
    const seen = [await focused()];
    for (let i = 0; i < 2; i++) { await page.keyboard.press('Tab'); seen.push(await focused()); }
    for (let i = 0; i < 3; i++) await page.keyboard.press('Shift+Tab');
    seen.push(await focused());
    const want = ['login-user', 'login-pass', 'Log in', 'Skip to content'];
    if (seen.join('|') !== want.join('|')) throw new Error(`focus went ${seen.join(' → ')}`);
  });
  await step(page, 'a wrong password is refused with a message', async () => {
    await page.fill('#login-user', opt.user);
    await page.fill('#login-pass', 'definitely-wrong');
    await page.press('#login-pass', 'Enter');
    await page.locator('#login-error', { hasText: 'Wrong user name or password' }).waitFor();
  });
  await step(page, 'log in (keyboard only) and land on the fleet map', async () => {
    await page.fill('#login-user', opt.user);
    await page.fill('#login-pass', opt.password);
    await page.press('#login-pass', 'Enter');
    await page.locator('h1', { hasText: 'Fleet' }).waitFor();
    const who = await textOf(page, '#who-name');
    if (!who.includes(opt.user)) throw new Error(`header shows '${who}'`);
  });
}

async function fleetAndDevice(page) {
  await step(page, 'the fleet map lists devices with server-side paging', async () => {
    await page.locator('table tbody tr').first().waitFor();
    const info = await textOf(page, '.pager span');
    if (!/Devices 1–\d+ of (\d+)/.test(info)) throw new Error(`pager says '${info}'`);
  });
  await step(page, 'the live feed fills from the event stream (SSE), without polling /api/events', async () => {
    await page.locator('ol[aria-label="Latest events"] li').first().waitFor();
    await page.locator('h2 .badge', { hasText: 'live' }).waitFor();
    const path = (u) => new URL(u).pathname;
    if (!requests.some((u) => path(u) === '/api/stream')) throw new Error('the page never opened /api/stream');
    const polled = requests.filter((u) => path(u) === '/api/events');
    if (polled.length) throw new Error(`the page polled: ${polled.slice(0, 3).join(', ')}`);
    const n = await page.locator('ol[aria-label="Latest events"] li').count();
    console.log(`# live feed: ${n} events delivered over /api/stream`);
  });
  await accessible(page, 'fleet');
  await step(page, `search finds the faulty device ${opt['fault-device']}`, async () => {
    await page.fill('#f-q', opt['fault-device']);
    await page.press('#f-q', 'Enter');
    await page.locator(`tr[data-device="${opt['fault-device']}"]`).waitFor();
    const rows = await page.locator('table tbody tr').count();
    if (rows < 1) throw new Error('no rows');
  });
  let explanation = '';
  await step(page, 'the device page shows a fault event with its explanation', async () => {
    await page.click(`tr[data-device="${opt['fault-device']}"] a`);
    await page.locator('h1', { hasText: `Device ${opt['fault-device']}` }).waitFor();
    const li = page.locator('.explain li').first();
    await li.waitFor();
    explanation = (await li.textContent()) || '';
    if (!/\d+% (of score|of the class logit)/.test(explanation)) throw new Error(`explanation reads '${explanation}'`);
    console.log(`# explanation: ${explanation}`);
  });
  await step(page, 'the device page draws the score chart and the twin', async () => {
    await page.locator('svg.chart, p.muted', { hasText: /./ }).first().waitFor();
    await page.locator('caption', { hasText: 'Twin: desired vs reported' }).waitFor();
  });
  await accessible(page, 'device');
}

async function builder(page) {
  await step(page, 'the pipeline builder offers the CWRU dataset', async () => {
    await page.goto(opt.base + '/#/builder');
    await page.locator('h1', { hasText: 'Pipeline builder' }).waitFor();
    await page.selectOption('#b-dataset', 'cwru/dataset.json');
  });
  await accessible(page, 'builder');
  await step(page, 'an invalid pipeline is reported by Validate', async () => {
    await page.fill('#b-layers', '');
    await page.fill('#b-frame', '999999');
    await page.click('#b-validate');
    await page.locator('#b-msg', { hasText: 'Invalid' }).waitFor();
  });
  await step(page, 'the composed pipeline validates', async () => {
    await page.fill('#b-frame', '1024');
    await page.fill('#b-layers', '32,16');
    await page.fill('#b-epochs', '30');
    await page.fill('#b-name', 'console-cwru');
    await page.click('#b-validate');
    await page.locator('#b-msg', { hasText: 'Valid' }).waitFor();
  });
  await step(page, 'training on CWRU runs with progress and finishes', async () => {
    await page.click('#b-train');
    await page.locator('progress').waitFor();
    await page.locator('p', { hasText: /Job \d+: done/ }).waitFor({ timeout: 180000 });
  });
  await step(page, 'the evaluation shows int8 accuracy and a confusion matrix', async () => {
    const row = page.locator('tr', { hasText: 'Int8 accuracy' }).first();
    const t = (await row.textContent()) || '';
    const acc = Number((t.match(/([\d.]+)%/) || [])[1]);
    if (!(acc >= 80)) throw new Error(`int8 accuracy '${t}'`);
    console.log(`# int8 accuracy of the console-trained model: ${acc}%`);
    await page.locator('caption', { hasText: 'Confusion matrix' }).waitFor();
    const w = await page.locator('img.plot').evaluate(async (img) => { await img.decode().catch(() => {}); return img.naturalWidth; });
    if (!(w > 0)) throw new Error('the confusion matrix SVG did not load');
  });
  await step(page, 'the trained model is registered in the catalogue', async () => {
    await page.fill('#b-target', opt.target);
    await page.click('button:has-text("Register in the model catalogue")');
    await page.locator('p', { hasText: /Registered console-cwru@\d+/ }).waitFor();
  });
  await step(page, 'the model catalogue shows its card', async () => {
    await page.goto(opt.base + '/#/models');
    await page.locator('h1', { hasText: 'Model catalogue' }).waitFor();
    await page.click('table button:has-text("console-cwru")');
    await page.locator('h2', { hasText: 'Model card: console-cwru@' }).waitFor();
    await page.locator('caption', { hasText: 'Metrics' }).waitFor();
    await page.locator('caption', { hasText: 'Confusion matrix of the int8 model' }).waitFor();
    const compat = page.locator('caption', { hasText: /can run console-cwru/ }).or(page.locator('p', { hasText: 'Compatibility check unavailable' }));
    console.log(`# compatible devices: ${await compat.first().textContent()}`);
  });
  await accessible(page, 'models');
}

async function campaigns(page) {
  const model = await (async () => {
    await page.goto(opt.base + '/#/campaigns');
    await page.locator('h1', { hasText: 'Campaigns' }).waitFor();
    return page.locator('#c-model option', { hasText: 'console-cwru@' }).first().getAttribute('value');
  })().catch(() => null);
  await accessible(page, 'campaigns');
  await step(page, `the compatibility check flags ${opt['odd-device']}; a campaign naming it is refused`, async () => {
    if (!model) throw new Error('console-cwru is not offered as a model');
    await page.selectOption('#c-model', model);
    await page.selectOption('#c-kind', 'devices');
    await page.fill('#c-target', `${opt['fault-device']} ${opt['odd-device']}`);
    await page.click('#c-check');
    const item = page.locator('#c-compat li', { hasText: opt['odd-device'] });
    await item.waitFor();
    console.log(`# compatibility check: ${await item.textContent()}`);
    if (await page.locator('#c-compat li', { hasText: opt['fault-device'] }).count()) throw new Error('the compatible device is listed as incompatible');
    await page.click('#c-start');
    const msg = page.locator('#c-msg', { hasText: 'Refused' });
    await msg.waitFor();
    const t = (await msg.textContent()) || '';
    if (!t.includes(opt['odd-device'])) throw new Error(`the refusal does not name the device: '${t}'`);
  });
  await step(page, `a staged rollout to class ${opt.target} starts`, async () => {
    await page.selectOption('#c-kind', 'class');
    await page.fill('#c-target', opt.target);
    await page.fill('#c-stages', '25,100');
    await page.fill('#c-timeout', '600');
    await page.click('#c-start');
    await page.locator('h1', { hasText: /Campaign c/ }).or(page.locator('h1', { hasText: 'Campaign ' })).first().waitFor();
    await page.locator('#c-state', { hasText: /running|done/ }).waitFor();
    await page.locator('caption', { hasText: 'Waves' }).waitFor();
  });
  await accessible(page, 'campaign');
  await step(page, 'the campaign is aborted (two-step confirm)', async () => {
    await page.click('#c-abort');
    await page.locator('#c-abort', { hasText: 'Confirm abort' }).waitFor();
    await page.click('#c-abort');
    await page.locator('#c-state', { hasText: 'aborted' }).waitFor({ timeout: 20000 });
  });
  await step(page, 'a device of the first wave shows the deploy in its model history (from the ledger)', async () => {
    const campaign = (await textOf(page, '#page h1')).replace(/^Campaign /, '');
    const row = page.locator('tr', { has: page.locator('td:text-is("1")') }).first();
    const dev = ((await row.locator('th').textContent()) || '').trim();
    await page.goto(`${opt.base}/#/devices/${encodeURIComponent(dev)}`);
    await page.locator('h1', { hasText: `Device ${dev}` }).waitFor();
    const entry = page.locator('tr', { hasText: `deploy (campaign ${campaign})` }).first();
    await entry.waitFor();
    const t = (await entry.textContent()) || '';
    if (!/console-cwru@\d+/.test(t) || !/#\d+ [0-9a-f]{16}/.test(t)) throw new Error(`history row reads '${t}'`);
    console.log(`# model history of ${dev}: ${t}`);
  });
}

// Time from an action to a condition, in ms.
async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return Math.round(performance.now() - t0);
}

async function scale(page) {
  const n = Number(opt.devices);
  // Polled every animation frame: the timings below are not Playwright's
  // retry back-off.
  const pagerIs = (text) => page.waitForFunction((t) => {
    const el = document.querySelector('.pager span');
    return el && (t.startsWith('/') ? new RegExp(t.slice(1)).test(el.textContent) : el.textContent.includes(t));
  }, typeof text === 'string' ? text : `/${text.source}`, { polling: 'raf', timeout: 15000 });
  await step(page, 'log in', async () => {
    await page.goto(opt.base + '/');
    await page.fill('#login-user', opt.user);
    await page.fill('#login-pass', opt.password);
    await page.press('#login-pass', 'Enter');
    await page.locator('h1', { hasText: 'Fleet' }).waitFor();
  });
  await step(page, `the fleet map opens on page 1 of ${n} devices`, async () => {
    const ms = await timed(async () => {
      await page.goto(opt.base + '/#/builder');
      await page.locator('h1', { hasText: 'Pipeline builder' }).waitFor();
      await page.goto(opt.base + '/#/fleet');
      await pagerIs(`Devices 1–50 of ${n}`);
    });
    const rows = await page.locator('table tbody tr').count();
    if (rows !== 50) throw new Error(`${rows} rows, want 50 (one page)`);
    console.log(`# timing: fleet map, first page of ${n} devices: ${ms} ms (from a page switch)`);
  });
  await accessible(page, `fleet with ${n} devices`);
  await step(page, 'the health filter pages on the server (offline devices only)', async () => {
    let total = 0;
    const ms = await timed(async () => {
      await page.selectOption('#f-health', 'offline');
      await page.press('#f-q', 'Enter');
      await page.waitForFunction(() => {
        const t = document.querySelector('.pager span')?.textContent || '';
        const m = t.match(/of (\d+)/);
        return m && [...document.querySelectorAll('td.health')].every((c) => c.textContent === 'offline');
      }, null, { polling: 'raf', timeout: 15000 });
    });
    total = Number(((await textOf(page, '.pager span')).match(/of (\d+)/) || [])[1]);
    if (!(total > 0 && total < n)) throw new Error(`${total} offline devices of ${n}`);
    console.log(`# timing: health=offline filter (${total} of ${n} devices): ${ms} ms`);
    await page.selectOption('#f-health', '');
    await page.press('#f-q', 'Enter');
    await pagerIs(`Devices 1–50 of ${n}`);
  });
  await step(page, 'the last page is one click away', async () => {
    const ms = await timed(async () => {
      await page.click('button:has-text("Last page")');
      await pagerIs(`–${n} of ${n}`);
    });
    console.log(`# timing: last page: ${ms} ms`);
  });
  await step(page, 'search narrows 10,000 devices to one', async () => {
    const id = `dev-${String(Math.floor(n * 0.7777)).padStart(5, '0')}`;
    const ms = await timed(async () => {
      await page.fill('#f-q', id);
      await page.press('#f-q', 'Enter');
      await pagerIs('Devices 1–1 of 1');
    });
    await page.locator(`tr[data-device="${id}"]`).waitFor();
    console.log(`# timing: search for ${id}: ${ms} ms`);
  });
  const heap = await page.evaluate(() => (performance.memory ? performance.memory.usedJSHeapSize : 0));
  console.log(`# page JS heap after paging ${n} devices: ${(heap / 1048576).toFixed(1)} MiB`);
  if (problems.length) notOk('no uncaught page errors or CSP violations', problems.join('\n'));
  else ok('no uncaught page errors or CSP violations');
}

async function scenarios(page) {
  await login(page);
  await fleetAndDevice(page);
  await builder(page);
  await campaigns(page);
  await step(page, 'the federated page loads', async () => {
    await page.goto(opt.base + '/#/federated');
    await page.locator('h1', { hasText: 'Federated learning' }).waitFor();
  });
  await accessible(page, 'federated');
  await step(page, 'log out returns to the login form', async () => {
    await page.click('#logout');
    await page.locator('#login-form').waitFor();
    const r = await page.evaluate(async () => (await fetch('/api/devices')).status);
    if (r !== 401) throw new Error(`after logout /api/devices answers ${r}`);
  });
  if (opt['viewer-user']) await viewer(page);
  if (problems.length) notOk('no uncaught page errors or CSP violations', problems.join('\n'));
  else ok('no uncaught page errors or CSP violations');
}

// A viewer sees everything but every action button is disabled.
async function viewer(page) {
  await step(page, 'a viewer logs in', async () => {
    await page.fill('#login-user', opt['viewer-user']);
    await page.fill('#login-pass', opt['viewer-password']);
    const login = page.waitForResponse((r) => r.url().endsWith('/api/login'));
    await page.press('#login-pass', 'Enter');
    if ((await login).status() !== 200) throw new Error('viewer login refused');
    // Same page, no reload: what the previous session left running (pages
    // still loading, pollers, the stream) must not end the new one.
    await page.locator('#who-name', { hasText: '(viewer)' }).waitFor();
    await page.locator('#page h1').first().waitFor(); // the page of the current address
    await page.waitForTimeout(3000); // longer than every page's poll period (2 s)
    if (await page.locator('#nav').isHidden()) throw new Error('the app shell went hidden after the second login');
    if (await page.locator('#login').isVisible()) throw new Error('the login form came back after the second login');
  });
  await step(page, 'a viewer cannot save or train in the builder', async () => {
    await page.goto(opt.base + '/#/builder');
    await page.locator('h1', { hasText: 'Pipeline builder' }).waitFor();
    for (const id of ['#b-save', '#b-train']) {
      if (!(await page.locator(id).isDisabled())) throw new Error(`${id} is enabled for a viewer`);
    }
  });
  await step(page, 'a viewer cannot start a campaign', async () => {
    await page.goto(opt.base + '/#/campaigns');
    await page.locator('h1', { hasText: 'Campaigns' }).waitFor();
    if (!(await page.locator('#c-start').isDisabled())) throw new Error('Start rollout is enabled for a viewer');
  });
}

main().catch((e) => notOk('browser run', e.stack || e.message)).finally(() => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});
