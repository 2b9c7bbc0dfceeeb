// mote console: login, navigation and the hash router (#/page/arg).
import { login, logout, restore, session, setUnauthorizedHandler } from './api.js';
import { announce, clear, h } from './dom.js';
import { fleetPage } from './fleet.js';
import { devicePage } from './device.js';
import { modelsPage } from './models.js';
import { builderPage } from './builder.js';
import { campaignsPage } from './campaigns.js';
import { federatedPage } from './federated.js';

const pages = {
  fleet: { title: 'Fleet', render: fleetPage },
  devices: { title: 'Device', render: devicePage, nav: 'fleet' },
  models: { title: 'Models', render: modelsPage },
  builder: { title: 'Pipeline builder', render: builderPage },
  campaigns: { title: 'Campaigns', render: campaignsPage },
  federated: { title: 'Federated learning', render: federatedPage },
};

let cleanup = null; // the current page's stop function (streams, timers)
// Bumped when a page is left (navigation, logout): a page whose render
// finishes after that stops its streams and timers at once instead of
// living on unseen (and polling with a dead session).
let pageGen = 0;

function leavePage() {
  pageGen++;
  if (cleanup) { cleanup(); cleanup = null; }
}

function showLogin(message) {
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  clear(document.getElementById('page'));
  document.getElementById('login').hidden = false;
  document.getElementById('login-error').textContent = message || '';
  document.getElementById('login-user').focus();
}

function showApp() {
  document.getElementById('login').hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('who').hidden = false;
  document.getElementById('who-name').textContent = `${session.user} (${session.role})`;
}

async function route() {
  if (!session.user) return;
  leavePage();
  const gen = pageGen;
  const parts = (location.hash.replace(/^#\/?/, '') || 'fleet').split('/').map(decodeURIComponent);
  const page = pages[parts[0]] || pages.fleet;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.page === (page.nav || parts[0])) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const root = clear(document.getElementById('page'));
  document.title = `${page.title} — mote console`;
  let stop = null;
  try {
    stop = (await page.render(root, parts.slice(1))) || null;
  } catch (e) {
    if (gen === pageGen) root.append(h('p', { class: 'error', role: 'alert' }, `Could not load this page: ${e.message}`));
  }
  if (gen !== pageGen) { if (stop) stop(); return; }
  cleanup = stop;
  const heading = root.querySelector('h1');
  if (heading) { heading.tabIndex = -1; heading.focus(); }
  announce(`${page.title} page loaded`);
}

async function onLogin(ev) {
  ev.preventDefault();
  const user = document.getElementById('login-user').value.trim();
  const pass = document.getElementById('login-pass');
  try {
    await login(user, pass.value);
    pass.value = '';
    showApp();
    if (!location.hash) location.hash = '#/fleet';
    await route();
  } catch (e) {
    pass.value = '';
    showLogin(e.status === 401 ? 'Wrong user name or password.' : e.message);
  }
}

async function onLogout() {
  leavePage();
  await logout().catch(() => {});
  showLogin('You are logged out.');
}

async function start() {
  document.getElementById('login-form').addEventListener('submit', onLogin);
  document.getElementById('logout').addEventListener('click', onLogout);
  window.addEventListener('hashchange', route);
  setUnauthorizedHandler(() => { leavePage(); session.user = null; showLogin('Your session ended: log in again.'); });
  if (await restore() && session.user) {
    showApp();
    await route();
  } else {
    showLogin('');
  }
}

start();
