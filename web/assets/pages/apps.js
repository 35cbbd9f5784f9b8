// Apps: list and create; an app's configuration (prompt, bound knowledge bases, retrieval
// settings), a chat playground that streams answers with citations, and the app's API keys.

import { get, post, del, api, can } from '../api.js';
import { h, mount, field, modal, tabs, confirmAction, toast, announce, debounce, busy, formatTime } from '../dom.js';
import { navigate } from '../router.js';
import { readEvents } from '../sse.js';
import { showError } from './auth.js';
import { apiKeysPanel } from './settings.js';
import { annotationsPanel } from './annotations.js';
import { logsPanel } from './app_logs.js';
import { tagFilter, cardTags } from './tags.js';

const MODES = { chat: 'Chat', completion: 'Completion', 'agent-chat': 'Agent', 'advanced-chat': 'Chatflow', workflow: 'Workflow' };

export async function appsPage({ main }) {
  const search = h('input', { type: 'search', placeholder: 'Search apps', 'aria-label': 'Search apps' });
  const create = h('button', { class: 'button primary', type: 'button' }, 'Create app');
  const list = h('ul', { class: 'cards', 'aria-label': 'Apps' });
  const status = h('p', { class: 'muted', role: 'status' });
  let tagId = '';
  const filter = tagFilter('app', (id) => { tagId = id; load().catch((e) => toast(e.message, 'error')); });
  mount(main, h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Apps'), can('edit') ? create : null),
    h('div', { class: 'toolbar' }, search, filter.element), status, list));

  async function load() {
    const answer = await get('/apps', { page: 1, limit: 100, name: search.value.trim(), tag_ids: tagId });
    list.replaceChildren(...answer.data.map((app) => {
      const remove = h('button', { class: 'button ghost danger small', type: 'button', 'aria-label': `Delete ${app.name}` }, 'Delete');
      remove.addEventListener('click', async () => {
        if (!(await confirmAction(`Delete “${app.name}”?`, 'Its conversations and API keys are deleted too.'))) return;
        try {
          await del(`/apps/${app.id}`);
          announce(`${app.name} deleted`);
          await load();
        } catch (err) {
          toast(err.message, 'error');
        }
      });
      const tags = cardTags('app', app, can('edit'), () => filter.refresh().catch(() => {}));
      return h('li', { class: 'card' },
        h('h2', { class: 'card-title' }, h('a', { href: `/app/${app.id}/configuration` }, app.name)),
        h('p', { class: 'card-text' }, app.description || h('span', { class: 'muted' }, 'No description')),
        h('p', { class: 'card-meta' }, `${MODES[app.mode] || app.mode} · updated ${formatTime(app.updated_at || app.created_at)}`),
        tags.list,
        can('edit') ? h('div', { class: 'card-actions' }, tags.edit, remove) : null);
    }));
    status.textContent = answer.data.length ? '' : 'No apps yet. Create a chat app that answers from your knowledge bases.';
  }
  search.addEventListener('input', debounce(() => load().catch((e) => toast(e.message, 'error'))));
  create.addEventListener('click', createDialog);
  await load();
}

function createDialog() {
  const name = field('Name', h('input', { required: true, maxlength: 40, autocomplete: 'off' }));
  const description = field('Description', h('textarea', { rows: 3 }));
  const mode = field('Type', h('select', {}, h('option', { value: 'chat' }, 'Chat: a conversation with memory'),
    h('option', { value: 'completion' }, 'Completion: one answer per request')));
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { id: 'create-app', novalidate: true }, name.row, description.row, mode.row, error);
  const cancel = h('button', { class: 'button', type: 'button' }, 'Cancel');
  const submit = h('button', { class: 'button primary', type: 'submit', form: 'create-app' }, 'Create');
  const { close } = modal('Create app', form, [cancel, submit]);
  cancel.addEventListener('click', close);
  name.control.focus();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!name.control.value.trim()) { name.setError('Enter a name.'); name.control.focus(); return; }
    busy(submit, async () => {
      try {
        const app = await post('/apps', {
          name: name.control.value.trim(), description: description.control.value.trim(), mode: mode.control.value,
          icon_type: 'emoji', icon: '🤖', icon_background: '#E4FBCC',
        });
        close();
        navigate(`/app/${app.id}/configuration`);
      } catch (err) {
        showError(err, { name, description, mode }, error);
      }
    });
  });
}

export async function appPage({ params, main, disposers }) {
  const app = await get(`/apps/${params.id}`);
  const base = `/app/${app.id}`;
  const content = h('div');
  mount(main, h('div', { class: 'page' },
    h('p', { class: 'crumbs' }, h('a', { href: '/apps' }, 'Apps'), ' / '),
    h('h1', {}, app.name),
    h('p', { class: 'muted' }, MODES[app.mode] || app.mode),
    tabs('App', [[`${base}/configuration`, 'Configure and test'], [`${base}/develop`, 'API access'],
      [`${base}/annotations`, 'Annotations'], [`${base}/logs`, 'Logs']], `${base}/${params.tab}`),
    content));
  if (params.tab === 'annotations') {
    await annotationsPanel(content, app);
  } else if (params.tab === 'logs') {
    await logsPanel(content, app);
  } else if (params.tab === 'develop') {
    await apiKeysPanel(content, {
      path: `/apps/${app.id}/api-keys`,
      title: 'App API keys',
      intro: 'Clients call this app through the app API (/v1/chat-messages) with one of these keys.',
      baseUrl: `${location.origin}/v1`,
    });
  } else {
    await configurePanel(content, app, disposers);
  }
}

function defaultConfig() {
  return {
    pre_prompt: '',
    prompt_type: 'simple',
    opening_statement: '',
    suggested_questions: [],
    suggested_questions_after_answer: { enabled: false },
    speech_to_text: { enabled: false },
    text_to_speech: { enabled: false },
    retriever_resource: { enabled: true },
    sensitive_word_avoidance: { enabled: false },
    more_like_this: { enabled: false },
    user_input_form: [],
    dataset_query_variable: '',
    agent_mode: { enabled: false, strategy: 'router', tools: [] },
    model: { provider: '', name: '', mode: 'chat', completion_params: {} },
    dataset_configs: { retrieval_model: 'multiple', top_k: 4, score_threshold: null, score_threshold_enabled: false, reranking_enable: false, datasets: { datasets: [] } },
  };
}

async function configurePanel(container, app, disposers) {
  const config = { ...defaultConfig(), ...(app.model_config || {}) };
  const dc = { ...defaultConfig().dataset_configs, ...(config.dataset_configs || {}) };
  const bound = new Set(((dc.datasets && dc.datasets.datasets) || []).map((d) => (d.dataset ? d.dataset.id : d.id)));
  const datasets = (await get('/datasets', { page: 1, limit: 100 })).data;

  const prompt = field('Instructions', h('textarea', { rows: 5, value: config.pre_prompt || '' }), { hint: 'What the assistant should do; the retrieved context is added after it.' });
  const opening = field('Opening statement', h('textarea', { rows: 2, value: config.opening_statement || '' }));
  const boxes = datasets.map((d) => {
    const box = h('input', { type: 'checkbox', value: d.id, checked: bound.has(d.id) });
    return { id: d.id, box, row: field(d.name, box, { inline: true }).row };
  });
  const topK = field('Top K', h('input', { type: 'number', min: 1, max: 20, value: dc.top_k || 4 }));
  const thresholdOn = h('input', { type: 'checkbox', checked: !!dc.score_threshold_enabled });
  const threshold = field('Score threshold', h('input', { type: 'number', min: 0, max: 1, step: 0.01, value: dc.score_threshold ?? 0.5, disabled: !dc.score_threshold_enabled }));
  thresholdOn.addEventListener('change', () => { threshold.control.disabled = !thresholdOn.checked; });
  const citations = h('input', { type: 'checkbox', checked: config.retriever_resource ? config.retriever_resource.enabled !== false : true });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const save = h('button', { class: 'button primary', type: 'submit' }, 'Save');
  const form = h('form', { class: 'config', novalidate: true },
    prompt.row, opening.row,
    h('fieldset', { class: 'subfields' }, h('legend', {}, 'Knowledge bases'),
      boxes.length ? boxes.map((b) => b.row) : h('p', { class: 'muted' }, 'No knowledge base yet.')),
    h('fieldset', { class: 'subfields' }, h('legend', {}, 'Retrieval settings'),
      h('div', { class: 'field-grid' }, topK.row, h('div', {}, field('Use a score threshold', thresholdOn, { inline: true }).row, threshold.row))),
    field('Show citations with answers', citations, { inline: true }).row,
    error, can('edit') ? h('div', { class: 'form-actions' }, save) : null);

  function currentConfig() {
    const chosen = boxes.filter((b) => b.box.checked).map((b) => ({ dataset: { enabled: true, id: b.id } }));
    return {
      ...config,
      pre_prompt: prompt.control.value,
      opening_statement: opening.control.value,
      retriever_resource: { enabled: citations.checked },
      dataset_configs: {
        ...dc,
        retrieval_model: 'multiple',
        top_k: Number(topK.control.value) || 4,
        score_threshold_enabled: thresholdOn.checked,
        score_threshold: thresholdOn.checked ? Number(threshold.control.value) : null,
        datasets: { datasets: chosen },
      },
    };
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.hidden = true;
    const k = Number(topK.control.value);
    if (!Number.isInteger(k) || k < 1 || k > 20) { topK.setError('Use a whole number from 1 to 20.'); topK.control.focus(); return; }
    const t = Number(threshold.control.value);
    if (thresholdOn.checked && !(t >= 0 && t <= 1)) { threshold.setError('Use a number from 0 to 1.'); threshold.control.focus(); return; }
    busy(save, async () => {
      try {
        await post(`/apps/${app.id}/model-config`, currentConfig());
        Object.assign(config, currentConfig());
        toast('App saved');
        announce('App saved');
      } catch (err) {
        showError(err, {}, error);
      }
    });
  });

  mount(container, h('div', { class: 'app-grid' },
    h('section', { 'aria-label': 'Configuration' }, h('h2', {}, 'Configuration'), form),
    playground(app, currentConfig, disposers)));
}

/** The chat playground: streams the answer (SSE) and lists the citations under it. */
function playground(app, currentConfig, disposers) {
  const log = h('ol', { class: 'chat-log', 'aria-label': 'Conversation' });
  const question = field('Message', h('textarea', { rows: 2, placeholder: 'Ask a question' }));
  const send = h('button', { class: 'button primary', type: 'submit' }, 'Send');
  const stop = h('button', { class: 'button', type: 'button', hidden: true }, 'Stop');
  const reset = h('button', { class: 'button ghost', type: 'button' }, 'New conversation');
  const status = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const form = h('form', { class: 'chat-form', novalidate: true }, question.row, h('div', { class: 'form-actions' }, reset, stop, send));
  let conversationId = '';
  let controller = null;
  disposers.push(() => controller && controller.abort());

  const opening = () => {
    log.replaceChildren();
    const text = currentConfig().opening_statement;
    if (text) log.append(h('li', { class: 'msg msg-bot' }, h('p', {}, text)));
  };
  opening();
  reset.addEventListener('click', () => { conversationId = ''; opening(); question.control.focus(); });
  stop.addEventListener('click', () => controller && controller.abort());
  question.control.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = question.control.value.trim();
    if (!text) { question.setError('Type a question.'); question.control.focus(); return; }
    question.control.value = '';
    log.append(h('li', { class: 'msg msg-user' }, h('p', {}, text)));
    const answerText = h('p', { class: 'answer-text' });
    const answer = h('li', { class: 'msg msg-bot', 'aria-busy': 'true' }, answerText);
    log.append(answer);
    answer.scrollIntoView({ block: 'end' });
    send.disabled = true;
    stop.hidden = false;
    controller = new AbortController();
    status.textContent = 'Answering…';
    const path = app.mode === 'completion' ? 'completion-messages' : 'chat-messages';
    try {
      const response = await api('POST', `/apps/${app.id}/${path}`, {
        inputs: app.mode === 'completion' ? { query: text } : {},
        query: text,
        response_mode: 'streaming',
        conversation_id: conversationId || undefined,
        model_config: currentConfig(),
      }, { raw: true, signal: controller.signal });
      let full = '';
      await readEvents(response, (event) => {
        if (event.conversation_id) conversationId = event.conversation_id;
        if (event.event === 'message' || event.event === 'agent_message') {
          full += event.answer || '';
          answerText.textContent = full;
        } else if (event.event === 'message_replace') {
          full = event.answer || '';
          answerText.textContent = full;
        } else if (event.event === 'message_end') {
          const resources = (event.metadata && event.metadata.retriever_resources) || [];
          if (resources.length) answer.append(citationList(resources));
        } else if (event.event === 'error') {
          answer.append(h('p', { class: 'form-error', role: 'alert' }, event.message || 'The answer failed.'));
        }
      });
      status.textContent = full ? `Answer: ${full}` : 'No answer.';
    } catch (err) {
      if (err.name === 'AbortError') answer.append(h('p', { class: 'muted' }, 'Stopped.'));
      else answer.append(h('p', { class: 'form-error', role: 'alert' }, err.message));
    } finally {
      answer.removeAttribute('aria-busy');
      send.disabled = false;
      stop.hidden = true;
      controller = null;
      question.control.focus();
    }
  });

  return h('section', { class: 'playground', 'aria-label': 'Playground' },
    h('h2', {}, 'Playground'),
    h('p', { class: 'muted small' }, 'Answers use the configuration on the left, saved or not.'),
    log, form, status);
}

function citationList(resources) {
  return h('div', { class: 'citations' },
    h('h3', {}, 'Citations'),
    h('ol', {}, resources.map((r) => h('li', { class: 'citation' },
      h('details', {},
        h('summary', {}, h('span', { class: 'citation-doc' }, r.document_name || 'Document'),
          typeof r.score === 'number' ? h('span', { class: 'muted small' }, ` · score ${r.score.toFixed(3)}`) : null,
          r.dataset_name ? h('span', { class: 'muted small' }, ` · ${r.dataset_name}`) : null),
        h('p', { class: 'chunk-text' }, r.content || ''))))));
}

