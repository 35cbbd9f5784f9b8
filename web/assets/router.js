// Client-side routing over the History API. The server answers index.html for every page path,
// so each route is also a real URL that can be bookmarked and reloaded.

const routes = [];
let current = null; // {dispose}

/** Registers `pattern` ('/datasets/:id/documents') with a page function (params, query, main). */
export function route(pattern, page) {
  const names = [];
  const regex = new RegExp(`^${pattern.replace(/:[a-zA-Z]+/g, (m) => { names.push(m.slice(1)); return '([^/]+)'; })}/?$`);
  routes.push({ regex, names, page });
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState({}, '', path);
  else history.pushState({}, '', path);
  render();
}

let notFound = () => {};
export function setNotFound(page) {
  notFound = page;
}

let guard = async () => true;
/** Runs before each page; returns false to stop (it navigated elsewhere). */
export function setGuard(fn) {
  guard = fn;
}

export async function render() {
  const path = location.pathname;
  if (current && current.dispose) current.dispose();
  current = null;
  if (!(await guard(path))) return;
  const main = document.getElementById('main');
  const query = Object.fromEntries(new URLSearchParams(location.search));
  for (const { regex, names, page } of routes) {
    const match = path.match(regex);
    if (!match) continue;
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1])]));
    main.replaceChildren();
    const ctx = { params, query, main, disposers: [] };
    current = { dispose: () => ctx.disposers.forEach((d) => d()) };
    try {
      await page(ctx);
    } catch (err) {
      main.replaceChildren();
      const p = document.createElement('p');
      p.className = 'form-error';
      p.setAttribute('role', 'alert');
      p.textContent = `This page could not be loaded: ${err.message}`;
      main.append(p);
    }
    focusHeading(main);
    markNav(path);
    return;
  }
  notFound({ main });
  focusHeading(main);
}

// Moves focus to the new page's heading so screen readers announce the change.
function focusHeading(main) {
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    document.title = `${heading.textContent} · ragd`;
    if (document.activeElement === document.body || !main.contains(document.activeElement)) heading.focus({ preventScroll: true });
  }
}

function markNav(path) {
  for (const link of document.querySelectorAll('.topbar nav a')) {
    const active = navActive(link.getAttribute('href'), path);
    link.classList.toggle('active', active);
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** Whether the top-bar link `href` is the section of `path` (an app's pages live under /app/). */
export function navActive(href, path) {
  return path.startsWith(href) || (href === '/apps' && path.startsWith('/app/'));
}

/** Same-origin links navigate on the client; modified clicks and downloads behave as usual. */
export function start() {
  document.addEventListener('click', (e) => {
    const link = e.target.closest('a');
    if (!link || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (link.target || link.hasAttribute('download') || link.origin !== location.origin) return;
    const href = link.getAttribute('href');
    if (!href || href.startsWith('#') || href.startsWith('/v1') || href.startsWith('/console/api')) return;
    e.preventDefault();
    navigate(link.pathname + link.search);
  });
  window.addEventListener('popstate', render);
  render();
}
