// DOM helpers: elements are built with h(), never from HTML strings, so text from the server
// (document names, chunk contents) can never run as markup.

/** h('button', {class: 'x', onclick: f}, 'text', child) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'value' || key === 'checked' || key === 'selected' || key === 'indeterminate') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
export function uid(prefix = 'f') {
  ids += 1;
  return `${prefix}-${ids}`;
}

/**
 * A labelled form field with a hint and an error slot tied to the control by aria-describedby.
 * `control` is an input/select/textarea element; returns {row, control, setError}.
 */
export function field(label, control, { hint, inline } = {}) {
  const id = control.id || uid('field');
  control.id = id;
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const error = h('p', { class: 'field-error', id: errorId, hidden: true });
  control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  const labelEl = h('label', { for: id }, label);
  const row = inline
    ? h('div', { class: 'field field-inline' }, control, labelEl, hint && h('p', { class: 'hint', id: hintId }, hint), error)
    : h('div', { class: 'field' }, labelEl, hint && h('p', { class: 'hint', id: hintId }, hint), control, error);
  const setError = (message) => {
    error.textContent = message || '';
    error.hidden = !message;
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  };
  control.addEventListener('input', () => setError(''));
  return { row, control, setError };
}

/** Says `message` to screen readers (polite). */
export function announce(message) {
  const el = document.getElementById('announcer');
  el.textContent = '';
  // A fresh text node after a tick makes screen readers read repeated messages too.
  setTimeout(() => { el.textContent = message; }, 30);
}

/** A short notice at the corner; errors stay until dismissed. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const close = h('button', { class: 'icon-button', 'aria-label': 'Dismiss' }, '×');
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('span', {}, message), close);
  close.addEventListener('click', () => el.remove());
  box.append(el);
  if (kind !== 'error') setTimeout(() => el.remove(), 4000);
}

/**
 * A modal dialog (native <dialog>: focus is trapped and Escape closes it). `body` is an element;
 * `actions` a list of buttons. Returns {dialog, close}. Focus goes back to where it was.
 */
export function modal(title, body, actions = []) {
  const previous = document.activeElement;
  const titleId = uid('dialog-title');
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, title), body, h('div', { class: 'dialog-actions' }, actions));
  document.body.append(dialog);
  const close = () => {
    if (dialog.open) dialog.close();
  };
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (previous && previous.focus) previous.focus();
  });
  dialog.showModal();
  return { dialog, close };
}

/** Asks a yes/no question; resolves true when confirmed. */
export function confirmAction(title, message, confirmLabel = 'Delete') {
  return new Promise((resolve) => {
    let answered = false;
    const cancel = h('button', { class: 'button', type: 'button' }, 'Cancel');
    const ok = h('button', { class: 'button danger', type: 'button' }, confirmLabel);
    const { dialog, close } = modal(title, h('p', {}, message), [cancel, ok]);
    cancel.addEventListener('click', close);
    ok.addEventListener('click', () => { answered = true; close(); });
    dialog.addEventListener('close', () => resolve(answered));
    cancel.focus();
  });
}

export function formatTime(seconds) {
  if (!seconds) return '';
  return new Date(seconds * 1000).toLocaleString();
}

export function formatNumber(n) {
  if (n === null || n === undefined) return '0';
  return Number(n).toLocaleString();
}

export function debounce(fn, ms = 300) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** The label and colour class of a document's display_status. */
export function statusBadge(status, text) {
  const labels = {
    queuing: 'Queuing', indexing: 'Indexing', paused: 'Paused', error: 'Error',
    available: 'Available', enabled: 'Available', disabled: 'Disabled', archived: 'Archived',
  };
  return h('span', { class: `badge badge-${status}` }, text || labels[status] || status);
}

/** Sets a button busy (disabled, aria-busy) while `work` runs. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** A tab strip of links (client-side routes); `current` is the active href. */
export function tabs(label, items, current) {
  return h('nav', { class: 'tabs', 'aria-label': label },
    items.map(([href, text]) => h('a', { href, class: href === current ? 'tab active' : 'tab', 'aria-current': href === current ? 'page' : null }, text)));
}

/** Masks a secret for lists: its start and its last four characters. */
export function masked(token) {
  if (!token) return '';
  if (token.includes('*') || token.includes('…')) return token;
  const dash = token.indexOf('-');
  const head = dash > 0 ? token.slice(0, dash + 1) : token.slice(0, 3);
  return `${head}…${token.slice(-4)}`;
}
