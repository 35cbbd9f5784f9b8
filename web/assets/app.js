// The console's entry point: the page frame (top bar, navigation, account menu), the routes, and
// the guard that sends a fresh install to /install and a signed-out visitor to /signin.

import { get, post, session, setUnauthorizedHandler, can } from './api.js';
import { h, mount } from './dom.js';
import { route, start, navigate, setGuard, setNotFound, navActive } from './router.js';
import { installPage, signinPage, activatePage } from './pages/auth.js';
import { datasetsPage } from './pages/datasets.js';
import { documentsPage } from './pages/documents.js';
import { uploadPage } from './pages/upload.js';
import { segmentsPage } from './pages/segments.js';
import { hitTestingPage } from './pages/hit_testing.js';
import { settingsPage } from './pages/settings.js';
import { appsPage, appPage } from './pages/apps.js';

const PUBLIC = ['/install', '/signin', '/activate'];
let setupChecked = false;

setUnauthorizedHandler(() => {
  session.profile = null;
  session.workspace = null;
  if (!PUBLIC.includes(location.pathname)) {
    navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  }
});

/** Loads the profile and workspace once; false when not signed in. */
export async function loadSession() {
  try {
    session.profile = await get('/account/profile', undefined, { quiet401: true });
    session.workspace = await post('/workspaces/current', {}, { quiet401: true });
    return true;
  } catch {
    session.profile = null;
    session.workspace = null;
    return false;
  }
}

setGuard(async (path) => {
  if (!setupChecked) {
    try {
      const setup = await get('/setup');
      setupChecked = setup.step === 'finished';
      if (!setupChecked && path !== '/install') {
        navigate('/install', { replace: true });
        return false;
      }
    } catch {
      // An older server without /setup: go on to sign in.
      setupChecked = true;
    }
  }
  if (PUBLIC.includes(path)) {
    renderTopbar();
    return true;
  }
  if (!session.profile && !(await loadSession())) {
    navigate(`/signin?next=${encodeURIComponent(path + location.search)}`, { replace: true });
    return false;
  }
  if (path === '/' || path === '') {
    navigate('/datasets', { replace: true });
    return false;
  }
  renderTopbar();
  return true;
});

export function renderTopbar() {
  const bar = document.getElementById('topbar');
  if (!session.profile) {
    bar.hidden = true;
    return;
  }
  bar.hidden = false;
  const signOut = h('button', { class: 'button ghost', type: 'button' }, 'Sign out');
  signOut.addEventListener('click', async () => {
    try { await post('/logout', {}); } catch { /* the cookies go anyway */ }
    session.profile = null;
    session.workspace = null;
    navigate('/signin');
  });
  const links = [['/datasets', 'Knowledge']];
  if (can('apps')) links.push(['/apps', 'Apps']);
  links.push(['/settings', 'Settings']);
  mount(bar,
    h('a', { class: 'brand', href: '/datasets' }, h('img', { src: '/assets/favicon.svg', alt: '', width: 24, height: 24 }), 'ragd'),
    h('nav', { 'aria-label': 'Main' }, links.map(([href, text]) => h('a', { href }, text))),
    h('div', { class: 'account' },
      h('span', { class: 'account-name', title: session.profile.email },
        session.profile.name, session.workspace ? h('span', { class: 'muted' }, ` · ${session.workspace.name}`) : null),
      signOut));
  for (const link of bar.querySelectorAll('nav a')) {
    const active = navActive(link.getAttribute('href'), location.pathname);
    link.classList.toggle('active', active);
    if (active) link.setAttribute('aria-current', 'page');
  }
}

route('/install', installPage);
route('/signin', signinPage);
route('/activate', activatePage);
route('/datasets', datasetsPage);
route('/datasets/:id', (ctx) => { navigate(`/datasets/${ctx.params.id}/documents`, { replace: true }); });
route('/datasets/:id/documents', documentsPage);
route('/datasets/:id/documents/create', uploadPage);
route('/datasets/:id/documents/:docId', segmentsPage);
route('/datasets/:id/hitTesting', hitTestingPage);
route('/settings', (ctx) => settingsPage({ ...ctx, params: { tab: 'api-keys' } }));
route('/settings/:tab', settingsPage);
route('/apps', appsPage);
route('/app/:id', (ctx) => { navigate(`/app/${ctx.params.id}/configuration`, { replace: true }); });
route('/app/:id/:tab', appPage);
setNotFound(({ main }) => {
  mount(main, h('div', { class: 'page' }, h('h1', {}, 'Page not found'),
    h('p', {}, 'There is nothing at this address. '), h('a', { href: '/datasets' }, 'Go to your knowledge bases')));
});

start();
