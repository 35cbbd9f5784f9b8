// Workspace settings: dataset API keys (shown once, listed masked, deleted), members and roles,
// model settings, and the API key panel that app pages reuse.

import { get, post, put, del, can, session } from '../api.js';
import { h, mount, field, modal, tabs, confirmAction, toast, announce, masked, formatTime, busy } from '../dom.js';
import { showError } from './auth.js';

export async function settingsPage({ params, main }) {
  const tab = params.tab;
  const items = [['/settings/api-keys', 'API keys'], ['/settings/members', 'Members']];
  if (can('admin')) items.push(['/settings/models', 'Model settings']);
  const content = h('div', { class: 'settings-body' });
  mount(main, h('div', { class: 'page' },
    h('h1', {}, 'Settings'),
    h('p', { class: 'muted' }, session.workspace ? `Workspace: ${session.workspace.name}` : ''),
    tabs('Settings', items, `/settings/${tab}`), content));
  if (tab === 'members') await membersPanel(content);
  else if (tab === 'models') await modelsPanel(content);
  else {
    const info = await get('/datasets/api-base-info').catch(() => ({ api_base_url: `${location.origin}/v1` }));
    await apiKeysPanel(content, {
      path: '/datasets/api-keys',
      title: 'Knowledge API keys',
      intro: 'A key reaches every knowledge base of this workspace through the knowledge API.',
      baseUrl: info.api_base_url,
    });
  }
}

/** Lists, creates (showing the secret once) and deletes API keys at `path` (dataset or app). */
export async function apiKeysPanel(container, { path, title, intro, baseUrl }) {
  const list = h('tbody');
  const create = h('button', { class: 'button primary', type: 'button' }, 'Create key');
  const empty = h('p', { class: 'muted', role: 'status' });
  mount(container,
    h('section', { class: 'panel' },
      h('div', { class: 'page-head' }, h('h2', {}, title), can('edit') || can('edit-datasets') ? create : null),
      h('p', { class: 'muted' }, intro),
      baseUrl ? h('p', {}, 'API base URL: ', h('code', { class: 'api-base' }, baseUrl)) : null,
      h('div', { class: 'table-wrap' }, h('table', { class: 'table keys' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Created'),
          h('th', { scope: 'col' }, 'Last used'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        list)),
      empty));

  async function load() {
    const answer = await get(path);
    const keys = answer.data || [];
    list.replaceChildren(...keys.map((key) => {
      const remove = h('button', { class: 'button small ghost danger', type: 'button', 'aria-label': `Delete key ${masked(key.token)}` }, 'Delete');
      remove.addEventListener('click', async () => {
        if (!(await confirmAction('Delete this key?', 'Clients using it stop working at once.'))) return;
        try {
          await del(`${path}/${key.id}`);
          announce('Key deleted');
          await load();
        } catch (err) {
          toast(err.message, 'error');
        }
      });
      return h('tr', {},
        h('td', {}, h('code', {}, masked(key.token))),
        h('td', { 'data-label': 'Created' }, formatTime(key.created_at)),
        h('td', { 'data-label': 'Last used' }, key.last_used_at ? formatTime(key.last_used_at) : 'Never'),
        h('td', {}, remove));
    }));
    empty.textContent = keys.length ? '' : 'No keys yet.';
  }

  create.addEventListener('click', () => busy(create, async () => {
    try {
      const key = await post(path, {});
      await load();
      showSecret(key.token);
    } catch (err) {
      toast(err.message, 'error');
    }
  }));
  await load();
}

function showSecret(token) {
  const input = h('input', { class: 'secret', readonly: true, value: token, 'aria-label': 'New API key' });
  const copy = h('button', { class: 'button', type: 'button' }, 'Copy');
  const done = h('button', { class: 'button primary', type: 'button' }, 'Done');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(token);
      copy.textContent = 'Copied';
      announce('Key copied');
    } catch {
      input.select();
    }
  });
  const { close } = modal('Your new API key',
    h('div', {}, h('p', {}, 'Copy it now: it is shown only this once and stored hashed.'), h('div', { class: 'secret-row' }, input, copy)),
    [done]);
  done.addEventListener('click', close);
  input.focus();
  input.select();
}

const ROLES = [['admin', 'Admin'], ['editor', 'Editor'], ['normal', 'Member'], ['dataset_operator', 'Knowledge operator']];

async function membersPanel(container) {
  const body = h('tbody');
  const admin = can('admin');
  const email = field('Email addresses', h('input', { type: 'text', placeholder: 'ana@example.com, li@example.com' }), { hint: 'Separate several with commas.' });
  const role = field('Role', h('select', {}, ROLES.map(([value, label]) => h('option', { value, selected: value === 'normal' }, label))));
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const invited = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { class: 'button primary', type: 'submit' }, 'Invite');
  const form = h('form', { class: 'inline-form', novalidate: true }, email.row, role.row, h('div', { class: 'form-actions' }, submit));
  mount(container,
    h('section', { class: 'panel' }, h('h2', {}, 'Members'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Email'),
          h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        body))),
    admin ? h('section', { class: 'panel' }, h('h2', {}, 'Invite members'), form, error, invited) : null);

  async function load() {
    const answer = await get('/workspaces/current/members');
    body.replaceChildren(...(answer.accounts || []).map((member) => {
      const self = session.profile && member.id === session.profile.id;
      const editable = admin && member.role !== 'owner' && !self;
      const select = h('select', { 'aria-label': `Role of ${member.name || member.email}`, disabled: !editable },
        member.role === 'owner' ? h('option', { value: 'owner' }, 'Owner') : null,
        ROLES.map(([value, label]) => h('option', { value, selected: member.role === value }, label)));
      select.addEventListener('change', async () => {
        try {
          await put(`/workspaces/current/members/${member.id}/update-role`, { role: select.value });
          announce(`${member.name || member.email} is now ${select.selectedOptions[0].textContent}`);
        } catch (err) {
          toast(err.message, 'error');
          await load();
        }
      });
      const remove = h('button', { class: 'button small ghost danger', type: 'button', 'aria-label': `Remove ${member.name || member.email}` }, 'Remove');
      remove.addEventListener('click', async () => {
        if (!(await confirmAction(`Remove ${member.name || member.email}?`, 'They lose access to this workspace.', 'Remove'))) return;
        try {
          await del(`/workspaces/current/members/${member.id}`);
          await load();
        } catch (err) {
          toast(err.message, 'error');
        }
      });
      return h('tr', {},
        h('td', {}, member.name || '—', self ? h('span', { class: 'muted' }, ' (you)') : null),
        h('td', {}, member.email), h('td', {}, select), h('td', {}, member.status || ''),
        h('td', {}, editable ? remove : null));
    }));
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.hidden = true;
    const emails = email.control.value.split(',').map((s) => s.trim()).filter(Boolean);
    const wrong = emails.find((s) => !/^[^@\s]+@[^@\s]+$/.test(s));
    if (!emails.length || wrong) { email.setError(wrong ? `${wrong} is not an email address.` : 'Enter an email address.'); email.control.focus(); return; }
    busy(submit, async () => {
      try {
        const answer = await post('/workspaces/current/members/invite-email', { emails, role: role.control.value, language: 'en-US' });
        const results = answer.invitation_results || [];
        mount(invited, h('h3', {}, 'Activation links'),
          h('p', { class: 'muted' }, 'ragd sends no mail: give each person their link.'),
          h('ul', { class: 'plain' }, results.map((r) => h('li', {}, `${r.email}: `,
            r.url ? h('code', { class: 'wrap' }, new URL(r.url, location.origin).href) : (r.message || r.status)))));
        email.control.value = '';
        await load();
      } catch (err) {
        showError(err, { emails: email, role }, error);
      }
    });
  });
  await load();
}

async function modelsPanel(container) {
  const settings = await get('/workspaces/current/model-settings');
  const embeddingInfo = settings.embedding || {};
  const rerankInfo = settings.rerank || {};
  const llm = settings.llm || {};
  const embedding = field('Embedding model', h('select', {},
    (embeddingInfo.available || []).map((m) => h('option', { value: m, selected: m === embeddingInfo.model }, m))),
  { hint: 'Used by new high-quality knowledge bases.' });
  const rerankValue = (m) => `${m.provider}/${m.model}`;
  const rerank = field('Rerank model', h('select', {},
    h('option', { value: '' }, 'None'),
    (rerankInfo.available || []).map((m) => h('option', { value: rerankValue(m), selected: m.provider === rerankInfo.provider && m.model === rerankInfo.model }, rerankValue(m)))),
  { hint: (rerankInfo.available || []).length ? null : 'No rerank model is configured on this server.' });

  const sourceText = {
    workspace: 'This workspace uses its own chat model below.',
    server: `The server's default chat model is used (${llm.model || ''} at ${llm.base_url || ''}).`,
    extractive: 'No chat model is configured: apps answer with the built-in extractive answerer, quoting the best passages.',
  }[llm.source] || '';
  const own = h('input', { type: 'checkbox', checked: llm.source === 'workspace' });
  const mine = llm.source === 'workspace' ? llm : {};
  const params = mine.parameters || {};
  const baseUrl = field('Base URL', h('input', { type: 'url', value: mine.base_url || '', placeholder: 'http://127.0.0.1:8000/v1' }),
    { hint: 'An OpenAI-compatible server (OpenAI, vLLM, llama.cpp server, Ollama); /chat/completions is appended.' });
  const model = field('Model', h('input', { value: mine.model || '' }));
  const apiKey = field('API key', h('input', { type: 'password', autocomplete: 'off', placeholder: mine.api_key_set ? `Saved: ${mine.api_key || ''} (leave empty to keep)` : 'None' }));
  const contextWindow = field('Context window (tokens)', h('input', { type: 'number', min: 256, value: mine.context_window || '' }), { hint: 'Empty: 4096.' });
  const temperature = field('Temperature', h('input', { type: 'number', min: 0, max: 2, step: 0.1, value: params.temperature ?? '' }));
  const maxTokens = field('Maximum answer tokens', h('input', { type: 'number', min: 1, value: params.max_tokens ?? '' }));
  const llmFields = h('div', {}, baseUrl.row, model.row, apiKey.row, h('div', { class: 'field-grid' }, contextWindow.row, temperature.row, maxTokens.row));
  const syncOwn = () => { llmFields.hidden = !own.checked; };
  own.addEventListener('change', syncOwn);
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { class: 'button primary', type: 'submit' }, 'Save');
  const form = h('form', { novalidate: true },
    h('section', { class: 'panel' }, h('h2', {}, 'Retrieval models'), embedding.row, rerank.row),
    h('section', { class: 'panel' }, h('h2', {}, 'Chat model for apps'), h('p', { class: 'muted' }, sourceText),
      field('Use a chat model of this workspace', own, { inline: true }).row, llmFields),
    error, h('div', { class: 'form-actions' }, submit));
  mount(container, form);
  syncOwn();

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.hidden = true;
    const body = {
      embedding_model: embedding.control.value || null,
      rerank: rerank.control.value
        ? { provider: rerank.control.value.slice(0, rerank.control.value.lastIndexOf('/')), model: rerank.control.value.slice(rerank.control.value.lastIndexOf('/') + 1) }
        : null,
    };
    if (own.checked) {
      if (!/^https?:\/\/\S+$/.test(baseUrl.control.value.trim())) { baseUrl.setError('Use an http:// or https:// URL.'); baseUrl.control.focus(); return; }
      if (!model.control.value.trim()) { model.setError('Name the model.'); model.control.focus(); return; }
      const parameters = {};
      if (temperature.control.value !== '') parameters.temperature = Number(temperature.control.value);
      if (maxTokens.control.value !== '') parameters.max_tokens = Number(maxTokens.control.value);
      body.llm = {
        base_url: baseUrl.control.value.trim(),
        model: model.control.value.trim(),
        parameters,
        context_window: contextWindow.control.value ? Number(contextWindow.control.value) : null,
      };
      if (apiKey.control.value) body.llm.api_key = apiKey.control.value;
    } else if (llm.source === 'workspace') {
      body.llm = null;
    }
    busy(submit, async () => {
      try {
        await post('/workspaces/current/model-settings', body);
        toast('Model settings saved');
        announce('Model settings saved');
        await modelsPanel(container);
      } catch (err) {
        const message = err.message || '';
        const target = /base_url/.test(message) ? baseUrl : /llm\.model/.test(message) ? model
          : /context_window/.test(message) ? contextWindow : /temperature/.test(message) ? temperature
            : /max_tokens/.test(message) ? maxTokens : /Rerank/.test(message) ? rerank : /Embedding/.test(message) ? embedding : null;
        if (target) { target.setError(message); target.control.focus(); } else { error.textContent = message; error.hidden = false; }
      }
    });
  });
}
