// The knowledge base list: search, create, delete with confirmation.

import { get, post, del, can } from '../api.js';
import { h, mount, field, modal, confirmAction, toast, announce, debounce, formatNumber, busy } from '../dom.js';
import { navigate } from '../router.js';
import { showError } from './auth.js';
import { tagFilter, cardTags } from './tags.js';

const PAGE_SIZE = 30;

export async function datasetsPage({ main }) {
  const search = h('input', { type: 'search', placeholder: 'Search knowledge bases', 'aria-label': 'Search knowledge bases' });
  const create = h('button', { class: 'button primary', type: 'button' }, 'Create knowledge base');
  const list = h('ul', { class: 'cards', 'aria-label': 'Knowledge bases' });
  const more = h('button', { class: 'button', type: 'button', hidden: true }, 'Show more');
  const status = h('p', { class: 'muted', role: 'status' });
  let tagId = '';
  const filter = tagFilter('knowledge', (id) => { tagId = id; load(true).catch((e) => toast(e.message, 'error')); });
  mount(main, h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Knowledge'), can('edit-datasets') ? create : null),
    h('div', { class: 'toolbar' }, search, filter.element),
    status, list, more));

  let page = 1;
  async function load(reset) {
    if (reset) page = 1;
    const answer = await get('/datasets', { page, limit: PAGE_SIZE, keyword: search.value.trim(), tag_ids: tagId });
    if (reset) list.replaceChildren();
    for (const dataset of answer.data) list.append(card(dataset));
    more.hidden = !answer.has_more;
    const count = list.children.length;
    status.textContent = count ? '' : (search.value.trim() || tagId ? 'No knowledge base matches.' : 'No knowledge base yet. Create one to upload documents.');
  }

  function card(dataset) {
    const remove = h('button', { class: 'button ghost danger small', type: 'button', 'aria-label': `Delete ${dataset.name}` }, 'Delete');
    remove.addEventListener('click', async () => {
      const ok = await confirmAction(`Delete “${dataset.name}”?`,
        'Its documents, chunks and indexes are removed. Apps that use it must be unbound first.');
      if (!ok) return;
      try {
        await del(`/datasets/${dataset.id}`);
        item.remove();
        announce(`${dataset.name} deleted.`);
        toast(`Deleted ${dataset.name}`);
      } catch (err) {
        toast(err.message, 'error');
      }
    });
    const tags = cardTags('knowledge', dataset, can('edit-datasets'), () => filter.refresh().catch(() => {}));
    const item = h('li', { class: 'card' },
      h('h2', { class: 'card-title' }, h('a', { href: `/datasets/${dataset.id}/documents` }, dataset.name)),
      dataset.description ? h('p', { class: 'card-text' }, dataset.description) : h('p', { class: 'card-text muted' }, 'No description'),
      h('p', { class: 'card-meta' },
        `${formatNumber(dataset.document_count)} documents · ${formatNumber(dataset.word_count)} words · ${formatNumber(dataset.app_count)} apps`),
      h('p', { class: 'card-meta' }, dataset.provider === 'external' ? 'External knowledge API' : dataset.indexing_technique === 'economy' ? 'Economy (keywords)' : dataset.indexing_technique === 'high_quality' ? `High quality (embeddings${dataset.embedding_model ? `: ${dataset.embedding_model}` : ''})` : 'Not indexed yet'),
      tags.list,
      can('edit-datasets') ? h('div', { class: 'card-actions' }, tags.edit, remove) : null);
    return item;
  }

  search.addEventListener('input', debounce(() => load(true).catch((e) => toast(e.message, 'error'))));
  more.addEventListener('click', () => { page += 1; load(false).catch((e) => toast(e.message, 'error')); });
  create.addEventListener('click', () => createDialog());
  await load(true);
}

/** The create form in a dialog; on success opens the new knowledge base's upload page. */
function createDialog() {
  const name = field('Name', h('input', { name: 'name', required: true, maxlength: 40, autocomplete: 'off' }), { hint: 'Up to 40 characters, unique in the workspace.' });
  const description = field('Description', h('textarea', { name: 'description', rows: 3, maxlength: 400 }));
  const technique = field('Index mode', h('select', { name: 'indexing_technique' },
    h('option', { value: 'high_quality' }, 'High quality: embeddings with full text'),
    h('option', { value: 'economy' }, 'Economy: keywords only')));
  // The installed embedding models; the first is the server's default.
  const modelSelect = h('select', { name: 'embedding_model' });
  const model = field('Embedding model', modelSelect, { hint: 'Multilingual models suit documents that are not in English. Changing it later re-embeds every document.' });
  get('/workspaces/current/models/model-types/text-embedding').then((answer) => {
    const models = (answer.data || []).flatMap((provider) => (provider.models || []).map((m) => ({ provider: provider.provider, model: m.model })));
    modelSelect.replaceChildren(...models.map((m, i) => h('option', { value: m.model, 'data-provider': m.provider, selected: i === 0 }, m.model)));
  }).catch(() => { model.row.hidden = true; });
  technique.control.addEventListener('change', () => { model.row.hidden = technique.control.value === 'economy'; });
  const permission = field('Visible to', h('select', { name: 'permission' },
    h('option', { value: 'only_me' }, 'Only me'),
    h('option', { value: 'all_team_members' }, 'All team members')));
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { id: 'create-dataset', novalidate: true }, name.row, description.row, technique.row, model.row, permission.row, error);
  const cancel = h('button', { class: 'button', type: 'button' }, 'Cancel');
  const submit = h('button', { class: 'button primary', type: 'submit', form: 'create-dataset' }, 'Create');
  const { close } = modal('Create knowledge base', form, [cancel, submit]);
  cancel.addEventListener('click', close);
  name.control.focus();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    const value = name.control.value.trim();
    if (!value) { name.setError('Enter a name.'); name.control.focus(); return; }
    await busy(submit, async () => {
      try {
        const dataset = await post('/datasets', {
          name: value,
          description: description.control.value.trim(),
          indexing_technique: technique.control.value,
          permission: permission.control.value,
          ...(technique.control.value === 'high_quality' && modelSelect.value ? {
            embedding_model: modelSelect.value,
            embedding_model_provider: modelSelect.selectedOptions[0]?.dataset.provider,
          } : {}),
        });
        close();
        announce(`${dataset.name} created.`);
        navigate(`/datasets/${dataset.id}/documents/create`);
      } catch (err) {
        if (err.code === 'dataset_name_duplicate') { name.setError(err.message); name.control.focus(); }
        else showError(err, { name, description }, error);
      }
    });
  });
}
