// A document's chunks: search, enable/disable, edit, add (and child chunks for parent-child).

import { get, post, patch, del, can } from '../api.js';
import { h, mount, field, modal, statusBadge, toast, announce, debounce, formatNumber, busy, confirmAction } from '../dom.js';

const PAGE_SIZE = 20;

export async function segmentsPage({ params, main }) {
  const base = `/datasets/${params.id}`;
  const [dataset, doc] = await Promise.all([
    get(base),
    get(`${base}/documents/${params.docId}`, { metadata: 'without' }),
  ]);
  const docBase = `${base}/documents/${doc.id}`;
  const editable = can('edit-datasets') && !doc.archived && doc.display_status !== 'indexing' && doc.display_status !== 'queuing';
  const qa = doc.doc_form === 'qa_model';

  const search = h('input', { type: 'search', placeholder: 'Search chunks', 'aria-label': 'Search chunks' });
  const filter = h('select', { 'aria-label': 'Show chunks' },
    h('option', { value: 'all' }, 'All chunks'), h('option', { value: 'true' }, 'Enabled'), h('option', { value: 'false' }, 'Disabled'));
  const add = h('button', { class: 'button primary', type: 'button' }, 'Add chunk');
  const list = h('ol', { class: 'chunks', 'aria-label': 'Chunks' });
  const more = h('button', { class: 'button', type: 'button', hidden: true }, 'Show more');
  const count = h('p', { class: 'muted', role: 'status' });

  mount(main, h('div', { class: 'page' },
    h('p', { class: 'crumbs' }, h('a', { href: '/datasets' }, 'Knowledge'), ' / ', h('a', { href: `${base}/documents` }, dataset.name), ' / '),
    h('div', { class: 'page-head' }, h('h1', {}, doc.name), statusBadge(doc.display_status)),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Chunks'), h('dd', {}, formatNumber(doc.segment_count)),
      h('dt', {}, 'Words'), h('dd', {}, formatNumber(doc.word_count)),
      h('dt', {}, 'Tokens'), h('dd', {}, formatNumber(doc.tokens)),
      h('dt', {}, 'Hits'), h('dd', {}, formatNumber(doc.hit_count)),
      h('dt', {}, 'Structure'), h('dd', {}, doc.doc_form === 'hierarchical_model' ? 'Parent-child' : qa ? 'Q&A' : 'General')),
    doc.error ? h('p', { class: 'form-error', role: 'alert' }, doc.error) : null,
    h('div', { class: 'toolbar' }, search, filter, editable ? add : null),
    count, list, more));

  let page = 1;
  async function load(reset) {
    if (reset) page = 1;
    const answer = await get(`${docBase}/segments`, { page, limit: PAGE_SIZE, keyword: search.value.trim(), enabled: filter.value });
    if (reset) list.replaceChildren();
    for (const segment of answer.data) list.append(chunk(segment));
    more.hidden = !answer.has_more;
    count.textContent = `${formatNumber(answer.total ?? list.children.length)} chunks`;
  }

  function chunk(segment) {
    const li = h('li', { class: 'chunk', dataset: { id: segment.id } });
    const render = () => {
      const toggle = h('input', { type: 'checkbox', role: 'switch', class: 'switch', checked: segment.enabled, disabled: !editable, 'aria-label': `Chunk ${segment.position} enabled` });
      toggle.addEventListener('change', async () => {
        try {
          await patch(`${docBase}/segment/${toggle.checked ? 'enable' : 'disable'}?segment_id=${encodeURIComponent(segment.id)}`);
          segment.enabled = toggle.checked;
          announce(`Chunk ${segment.position} ${segment.enabled ? 'enabled' : 'disabled'}`);
          render();
        } catch (err) {
          toggle.checked = !toggle.checked;
          toast(err.message, 'error');
        }
      });
      const edit = h('button', { class: 'button small', type: 'button', 'aria-label': `Edit chunk ${segment.position}` }, 'Edit');
      edit.addEventListener('click', () => editor(segment, (updated) => { Object.assign(segment, updated); render(); edit.focus(); }));
      const remove = h('button', { class: 'button small ghost danger', type: 'button', 'aria-label': `Delete chunk ${segment.position}` }, 'Delete');
      remove.addEventListener('click', async () => {
        if (!(await confirmAction(`Delete chunk ${segment.position}?`, 'It is removed from the indexes too.'))) return;
        try {
          await del(`${docBase}/segments`, { segment_id: [segment.id] });
          li.remove();
          announce(`Chunk ${segment.position} deleted`);
        } catch (err) {
          toast(err.message, 'error');
        }
      });
      mount(li,
        h('div', { class: 'chunk-head' },
          h('span', { class: 'chunk-label' }, `Chunk ${String(segment.position).padStart(2, '0')}`),
          h('span', { class: 'muted small' }, `${formatNumber(segment.word_count)} characters · ${formatNumber(segment.hit_count)} hits`),
          segment.enabled ? null : statusBadge('disabled'),
          h('span', { class: 'spacer' }),
          h('label', { class: 'switch-label' }, toggle, h('span', { class: 'visually-hidden' }, 'Enabled')),
          editable ? edit : null, editable ? remove : null),
        qa ? h('p', { class: 'chunk-text' }, h('strong', {}, 'Q: '), segment.content) : h('p', { class: 'chunk-text' }, segment.content),
        qa && segment.answer ? h('p', { class: 'chunk-text' }, h('strong', {}, 'A: '), segment.answer) : null,
        segment.keywords && segment.keywords.length ? h('p', { class: 'keywords' }, segment.keywords.map((k) => h('span', { class: 'tag' }, k))) : null,
        segment.child_chunks && segment.child_chunks.length
          ? h('details', { class: 'children' }, h('summary', {}, `${segment.child_chunks.length} child chunks`),
            h('ol', {}, segment.child_chunks.map((c) => h('li', {}, c.content))))
          : null);
    };
    render();
    return li;
  }

  /** The add/edit form in a dialog; `done` gets the saved segment. */
  function editor(segment, done) {
    const content = field(qa ? 'Question' : 'Content', h('textarea', { rows: 10, value: segment ? segment.content : '' }));
    const answer = qa ? field('Answer', h('textarea', { rows: 5, value: segment ? segment.answer || '' : '' })) : null;
    const keywords = field('Keywords', h('input', { value: segment && segment.keywords ? segment.keywords.join(', ') : '' }), { hint: 'Comma-separated; full-text search finds the chunk by these words too. Left empty, they are extracted from the text.' });
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const formId = `chunk-form-${segment ? segment.id : 'new'}`;
    const form = h('form', { id: formId, novalidate: true }, content.row, answer && answer.row, keywords.row, error);
    const cancel = h('button', { class: 'button', type: 'button' }, 'Cancel');
    const save = h('button', { class: 'button primary', type: 'submit', form: formId }, 'Save');
    const { close } = modal(segment ? `Edit chunk ${segment.position}` : 'Add chunk', form, [cancel, save]);
    cancel.addEventListener('click', close);
    content.control.focus();
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = content.control.value.trim();
      if (!text) { content.setError('A chunk needs some text.'); content.control.focus(); return; }
      if (qa && !answer.control.value.trim()) { answer.setError('Enter the answer.'); answer.control.focus(); return; }
      const payload = {
        content: text,
        answer: qa ? answer.control.value.trim() : undefined,
        keywords: keywords.control.value.split(',').map((k) => k.trim()).filter(Boolean),
      };
      busy(save, async () => {
        try {
          const saved = segment
            ? await patch(`${docBase}/segments/${segment.id}`, payload)
            : await post(`${docBase}/segment`, payload);
          close();
          announce(segment ? 'Chunk saved' : 'Chunk added');
          done(saved.data || saved);
        } catch (err) {
          error.textContent = err.message;
          error.hidden = false;
        }
      });
    });
  }

  add.addEventListener('click', () => editor(null, (created) => { list.prepend(chunk(created)); }));
  search.addEventListener('input', debounce(() => load(true).catch((e) => toast(e.message, 'error'))));
  filter.addEventListener('change', () => load(true).catch((e) => toast(e.message, 'error')));
  more.addEventListener('click', () => { page += 1; load(false).catch((e) => toast(e.message, 'error')); });
  await load(true);
}
