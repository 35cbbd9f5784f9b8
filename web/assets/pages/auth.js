// First-run setup (/install), sign-in (/signin) and invitation activation (/activate).

import { get, post, ApiError } from '../api.js';
import { h, mount, field, busy, announce } from '../dom.js';
import { navigate } from '../router.js';
import { loadSession } from '../app.js';

function authFrame(main, title, intro, form) {
  mount(main, h('div', { class: 'auth' },
    h('div', { class: 'auth-card' },
      h('p', { class: 'brand-line' }, h('img', { src: '/assets/favicon.svg', alt: '', width: 28, height: 28 }), ' ragd'),
      h('h1', {}, title), intro && h('p', { class: 'muted' }, intro), form)));
}

/** Shows an API error next to the field it names (its `params`), else above the button. */
export function showError(err, fields, formError) {
  const message = err instanceof ApiError ? err.message : String(err.message || err);
  // Dify names the field in `params`; otherwise the message usually names it.
  const named = Object.keys(fields).find((key) => new RegExp(`\\b${key.replace('_', '.')}\\b`, 'i').test(message));
  const target = (err && err.params && fields[err.params]) || fields[named];
  if (target) {
    target.setError(message);
    target.control.focus();
  } else {
    formError.textContent = message;
    formError.hidden = false;
  }
}

function formError() {
  return h('p', { class: 'form-error', role: 'alert', hidden: true });
}

function emailField() {
  return field('Email', h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true }));
}

// Dify's rule: at least 8 characters with letters and digits.
function checkPassword(value) {
  if (value.length < 8) return 'Use at least 8 characters.';
  if (!/[a-zA-Z]/.test(value) || !/\d/.test(value)) return 'Use letters and digits.';
  return '';
}

export async function installPage({ main }) {
  const setup = await get('/setup').catch(() => ({ step: 'not_started' }));
  if (setup.step === 'finished') {
    navigate('/signin', { replace: true });
    return;
  }
  const email = emailField();
  const name = field('Your name', h('input', { name: 'name', autocomplete: 'name', required: true, maxlength: 30 }));
  const password = field('Password', h('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true }),
    { hint: 'At least 8 characters, with letters and digits.' });
  const error = formError();
  const submit = h('button', { class: 'button primary wide', type: 'submit' }, 'Set up');
  const form = h('form', { novalidate: true }, email.row, name.row, password.row, error, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    const values = { email: email.control.value.trim(), name: name.control.value.trim(), password: password.control.value };
    let bad = false;
    if (!/^[^@\s]+@[^@\s]+$/.test(values.email)) { email.setError('Enter an email address.'); bad = true; }
    if (!values.name) { name.setError('Enter your name.'); bad = true; }
    const weak = checkPassword(values.password);
    if (weak) { password.setError(weak); bad = true; }
    if (bad) {
      form.querySelector('[aria-invalid="true"]').focus();
      return;
    }
    await busy(submit, async () => {
      try {
        await post('/setup', values);
        await post('/login', { email: values.email, password: values.password, remember_me: true });
        await loadSession();
        announce('Setup finished. You are signed in.');
        navigate('/datasets');
      } catch (err) {
        showError(err, { email, name, password }, error);
      }
    });
  });
  authFrame(main, 'Set up ragd', 'Create the administrator account. It owns the first workspace.', form);
  email.control.focus();
}

export async function signinPage({ main, query }) {
  const email = emailField();
  const password = field('Password', h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true }));
  const remember = h('input', { type: 'checkbox', name: 'remember_me', checked: true });
  const error = formError();
  const submit = h('button', { class: 'button primary wide', type: 'submit' }, 'Sign in');
  const form = h('form', { novalidate: true }, email.row, password.row,
    field('Keep me signed in', remember, { inline: true }).row, error, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    const values = { email: email.control.value.trim(), password: password.control.value, remember_me: remember.checked };
    if (!values.email) { email.setError('Enter your email address.'); email.control.focus(); return; }
    if (!values.password) { password.setError('Enter your password.'); password.control.focus(); return; }
    await busy(submit, async () => {
      try {
        await post('/login', values);
        await loadSession();
        announce('Signed in.');
        const next = query.next && query.next.startsWith('/') && !query.next.startsWith('//') ? query.next : '/datasets';
        navigate(next);
      } catch (err) {
        if (err.status === 401 || err.code === 'authentication_failed') {
          password.setError('The email or password is not right.');
          password.control.focus();
        } else {
          showError(err, { email, password }, error);
        }
      }
    });
  });
  authFrame(main, 'Sign in', null, form);
  email.control.focus();
}

/** Activation of an invitation: /activate?token=...&email=... (the link the invite answers). */
export async function activatePage({ main, query }) {
  const error = formError();
  let check = null;
  try {
    check = await get('/activate/check', { token: query.token, email: query.email, workspace_id: query.workspace_id });
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  }
  if (!check || check.is_valid === false) {
    authFrame(main, 'Invitation', null, h('div', {}, error.hidden ? h('p', { role: 'alert' }, 'This invitation is not valid any more.') : error,
      h('a', { href: '/signin' }, 'Sign in')));
    return;
  }
  const name = field('Your name', h('input', { name: 'name', autocomplete: 'name', required: true, maxlength: 30 }));
  const password = field('Password', h('input', { type: 'password', autocomplete: 'new-password', required: true }),
    { hint: 'At least 8 characters, with letters and digits.' });
  const submit = h('button', { class: 'button primary wide', type: 'submit' }, 'Join');
  const form = h('form', { novalidate: true }, name.row, password.row, error, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const weak = checkPassword(password.control.value);
    if (!name.control.value.trim()) { name.setError('Enter your name.'); return; }
    if (weak) { password.setError(weak); return; }
    await busy(submit, async () => {
      try {
        await post('/activate', {
          token: query.token, email: query.email, workspace_id: query.workspace_id,
          name: name.control.value.trim(), password: password.control.value,
          interface_language: 'en-US', timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
        });
        // Activation signs the new member in; an older server may not, then sign-in asks.
        navigate((await loadSession()) ? '/datasets' : '/signin');
      } catch (err) {
        showError(err, { name, password }, error);
      }
    });
  });
  const data = check.data || {};
  authFrame(main, `Join ${data.workspace_name || 'the workspace'}`, data.email ? `Invited as ${data.email}.` : null, form);
}
