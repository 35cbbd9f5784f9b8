// A knowledge base's documents: status with live indexing progress, errors in words,
// enable/disable/archive, pause/resume, retry, delete.

import { get, post, patch, del, can } from '../api.js';
import { h, mount, tabs, statusBadge, confirmAction, toast, announce, debounce, formatNumber, formatTime } from '../dom.js';

const POLL_MS = 1500;
const UNFINISHED = new Set(['queuing', 'indexing', 'paused']);

/** The header shared by a knowledge base's pages: name, description and tabs. */
export function datasetHeader(dataset, current) {
  const base = `/datasets/${dataset.id}`;
  return h('div', { class: 'dataset-head' },
    h('p', { class: 'crumbs' }, h('a', { href: '/datasets' }, 'Knowledge'), ' / '),
    h('h1', {}, dataset.name),
    dataset.description ? h('p', { class: 'muted' }, dataset.description) : null,
    tabs('Knowledge base', [[`${base}/documents`, 'Documents'], [`${base}/hitTesting`, 'Retrieval testing']], current));
}

export async function documentsPage({ params, main, disposers }) {
  const dataset = await get(`/datasets/${params.id}`);
  const base = `/datasets/${dataset.id}`;
  const search = h('input', { type: 'search', placeholder: 'Search documents', 'aria-label': 'Search documents by name' });
  const add = h('a', { class: 'button primary', href: `${base}/documents/create` }, 'Add files');
  const body = h('tbody');
  const empty = h('p', { class: 'muted', role: 'status' });
  const live = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const table = h('table', { class: 'table documents' },
    h('caption', { class: 'visually-hidden' }, 'Documents'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Words'), h('th', { scope: 'col' }, 'Hits'),
      h('th', { scope: 'col' }, 'Uploaded'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Enabled'),
      h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
    body);
  mount(main, h('div', { class: 'page' },
    datasetHeader(dataset, `${base}/documents`),
    h('div', { class: 'toolbar' }, search, can('edit-datasets') ? add : null),
    h('div', { class: 'table-wrap' }, table), empty, live));

  const rows = new Map(); // id -> {doc, tr, statusCell, actionsCell, toggle}
  let timer = null;
  let stopped = false;
  disposers.push(() => { stopped = true; clearTimeout(timer); });

  async function load() {
    const answer = await get(`${base}/documents`, { page: 1, limit: 100, keyword: search.value.trim() });
    const seen = new Set();
    const ordered = [];
    for (const doc of answer.data) {
      seen.add(doc.id);
      let row = rows.get(doc.id);
      if (!row) {
        row = makeRow(doc);
        rows.set(doc.id, row);
      } else {
        updateRow(row, doc);
      }
      ordered.push(row.tr);
    }
    for (const [id, row] of rows) if (!seen.has(id)) { row.tr.remove(); rows.delete(id); }
    body.replaceChildren(...ordered);
    empty.textContent = ordered.length ? '' : (search.value.trim() ? 'No document matches.' : 'No documents yet. Add files to start.');
    schedule();
  }

  // Polls while anything is unfinished: statuses from the list, segment counts from indexing-status.
  function schedule() {
    clearTimeout(timer);
    if (stopped) return;
    const running = [...rows.values()].some((r) => UNFINISHED.has(r.doc.display_status));
    if (!running) return;
    timer = setTimeout(async () => {
      try {
        const progress = await get(`${base}/indexing-status`).catch(() => null);
        if (progress && progress.data) {
          for (const item of progress.data) {
            const row = rows.get(item.id);
            if (row) { row.progress = item; renderStatus(row); }
          }
        }
        await load();
      } catch {
        schedule();
      }
    }, POLL_MS);
  }

  function makeRow(doc) {
    const statusCell = h('td', { class: 'status-cell' });
    const actionsCell = h('td', { class: 'actions-cell' });
    const toggle = h('input', { type: 'checkbox', role: 'switch', class: 'switch', 'aria-label': `Enabled: ${doc.name}` });
    const row = { doc, statusCell, actionsCell, toggle, progress: null };
    toggle.addEventListener('change', () => act(row, toggle.checked ? 'enable' : 'disable'));
    row.tr = h('tr', { dataset: { id: doc.id } },
      h('th', { scope: 'row', class: 'name-cell' }, h('a', { href: `${base}/documents/${doc.id}` }, doc.name)),
      h('td', { 'data-label': 'Words' }),
      h('td', { 'data-label': 'Hits' }),
      h('td', { 'data-label': 'Uploaded' }, formatTime(doc.created_at)),
      statusCell,
      h('td', { 'data-label': 'Enabled' }, toggle),
      actionsCell);
    updateRow(row, doc, true);
    return row;
  }

  function updateRow(row, doc, first = false) {
    const before = row.doc.display_status;
    row.doc = doc;
    row.tr.children[1].textContent = formatNumber(doc.word_count);
    row.tr.children[2].textContent = formatNumber(doc.hit_count);
    row.toggle.checked = !!doc.enabled;
    row.toggle.disabled = !can('edit-datasets') || doc.archived || UNFINISHED.has(doc.display_status) || doc.display_status === 'error';
    if (!UNFINISHED.has(doc.display_status)) row.progress = null;
    renderStatus(row);
    if (first || before !== doc.display_status) {
      renderActions(row);
      if (!first) live.textContent = `${doc.name}: ${statusWord(doc.display_status)}`;
    }
  }

  function renderStatus(row) {
    const { doc, progress } = row;
    const parts = [statusBadge(doc.display_status)];
    if (doc.display_status === 'indexing' || doc.display_status === 'paused') {
      const done = progress ? progress.completed_segments || 0 : 0;
      const total = progress ? progress.total_segments || 0 : 0;
      const percent = total ? Math.round((100 * done) / total) : 0;
      parts.push(h('progress', { max: 100, value: percent, 'aria-label': `Indexing ${doc.name}` }),
        h('span', { class: 'muted small' }, total ? `${percent}% · ${done}/${total} chunks` : stageWord(doc.indexing_status)));
    }
    if (doc.display_status === 'error' && doc.error) parts.push(h('p', { class: 'field-error' }, doc.error));
    mount(row.statusCell, h('div', { class: 'status-stack' }, parts));
  }

  function renderActions(row) {
    const { doc } = row;
    const buttons = [];
    const button = (label, onClick, cls = 'button small') => {
      const b = h('button', { class: cls, type: 'button', 'aria-label': `${label}: ${doc.name}` }, label);
      b.addEventListener('click', onClick);
      buttons.push(b);
    };
    if (can('edit-datasets')) {
      const s = doc.display_status;
      if (s === 'queuing' || s === 'indexing') button('Pause', () => processing(row, 'pause'));
      if (s === 'paused') button('Resume', () => processing(row, 'resume'));
      if (s === 'error') button('Retry', () => retry(row));
      if (s === 'available' || s === 'disabled') button('Archive', () => act(row, 'archive'));
      if (s === 'archived') button('Unarchive', () => act(row, 'un_archive'));
      if (!UNFINISHED.has(s)) button('Delete', () => remove(row), 'button small ghost danger');
    }
    mount(row.actionsCell, h('div', { class: 'row-actions' }, buttons));
  }

  async function act(row, action) {
    try {
      await patch(`${base}/documents/status/${action}/batch?document_id=${encodeURIComponent(row.doc.id)}`);
      announce(`${row.doc.name}: ${action.replace('_', '')}d`);
    } catch (err) {
      toast(err.message, 'error');
    }
    await load();
  }

  async function processing(row, action) {
    try {
      await patch(`${base}/documents/${row.doc.id}/processing/${action}`);
    } catch (err) {
      toast(err.message, 'error');
    }
    await load();
  }

  async function retry(row) {
    try {
      await post(`${base}/retry`, { document_ids: [row.doc.id] });
      announce(`Retrying ${row.doc.name}`);
    } catch (err) {
      toast(err.message, 'error');
    }
    await load();
  }

  async function remove(row) {
    if (!(await confirmAction(`Delete “${row.doc.name}”?`, 'The document and its chunks are removed from the knowledge base.'))) return;
    try {
      await del(`${base}/documents`, { document_id: [row.doc.id] });
      announce(`${row.doc.name} deleted.`);
    } catch (err) {
      toast(err.message, 'error');
    }
    await load();
  }

  search.addEventListener('input', debounce(() => load().catch((e) => toast(e.message, 'error'))));
  await load();
}

function statusWord(status) {
  return { queuing: 'queuing', indexing: 'indexing', paused: 'paused', error: 'failed', available: 'available', disabled: 'disabled', archived: 'archived' }[status] || status;
}

function stageWord(stage) {
  return { waiting: 'Waiting', parsing: 'Parsing', cleaning: 'Cleaning', splitting: 'Splitting', indexing: 'Embedding' }[stage] || '';
}
