// Retrieval testing: a query with a retrieval method, top_k, score threshold and hybrid weights;
// the results with their scores and source documents; recent queries.

import { get, post } from '../api.js';
import { h, mount, field, uid, busy, announce, formatTime } from '../dom.js';
import { datasetHeader } from './documents.js';

const MAX_QUERY = 250;

export async function hitTestingPage({ params, main }) {
  const dataset = await get(`/datasets/${params.id}`);
  const base = `/datasets/${dataset.id}`;
  const stored = dataset.retrieval_model_dict || {};
  const economy = dataset.indexing_technique === 'economy';

  const query = field('Query', h('textarea', { rows: 4, maxlength: MAX_QUERY, required: true }), { hint: `Up to ${MAX_QUERY} characters.` });
  const counter = h('span', { class: 'muted small', 'aria-hidden': 'true' }, `0/${MAX_QUERY}`);
  query.control.addEventListener('input', () => { counter.textContent = `${query.control.value.length}/${MAX_QUERY}`; });

  const methods = economy
    ? [['keyword_search', 'Keyword search']]
    : [['semantic_search', 'Vector search'], ['full_text_search', 'Full-text search'], ['hybrid_search', 'Hybrid search']];
  const method = field('Retrieval method', h('select', {},
    methods.map(([value, label]) => h('option', { value, selected: stored.search_method === value }, label))));
  const topK = field('Top K', h('input', { type: 'number', min: 1, max: 20, value: stored.top_k || 4 }));
  const thresholdOn = h('input', { type: 'checkbox', checked: !!stored.score_threshold_enabled });
  const threshold = field('Score threshold', h('input', { type: 'number', min: 0, max: 1, step: 0.01, value: stored.score_threshold ?? 0.5, disabled: !stored.score_threshold_enabled }));
  thresholdOn.addEventListener('change', () => { threshold.control.disabled = !thresholdOn.checked; });
  const storedWeight = stored.weights && stored.weights.vector_setting ? stored.weights.vector_setting.vector_weight : 0.7;
  const weightId = uid('weight');
  const weight = h('input', { type: 'range', id: weightId, min: 0, max: 1, step: 0.1, value: storedWeight });
  const weightText = h('output', { for: weightId }, weightLabel(storedWeight));
  weight.addEventListener('input', () => { weightText.textContent = weightLabel(Number(weight.value)); });
  const weights = h('div', { class: 'field' }, h('label', { for: weightId }, 'Weights'), weight, weightText);
  const syncMethod = () => { weights.hidden = method.control.value !== 'hybrid_search'; };
  method.control.addEventListener('change', syncMethod);

  const submit = h('button', { class: 'button primary', type: 'submit' }, 'Test');
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'hit-form', novalidate: true },
    query.row, h('div', { class: 'counter' }, counter),
    h('div', { class: 'field-grid' }, method.row, topK.row,
      h('div', {}, field('Use a score threshold', thresholdOn, { inline: true }).row, threshold.row)),
    weights, error, h('div', { class: 'form-actions' }, submit));
  const results = h('section', { class: 'results', 'aria-label': 'Results', 'aria-live': 'polite' });
  const history = h('section', { class: 'history', 'aria-label': 'Recent queries' });

  mount(main, h('div', { class: 'page' },
    datasetHeader(dataset, `${base}/hitTesting`),
    h('div', { class: 'hit-grid' }, h('div', {}, form, history), results)));
  syncMethod();

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.hidden = true;
    const text = query.control.value.trim();
    if (!text) { query.setError('Enter a query.'); query.control.focus(); return; }
    const k = Number(topK.control.value);
    if (!Number.isInteger(k) || k < 1 || k > 20) { topK.setError('Use a whole number from 1 to 20.'); topK.control.focus(); return; }
    const t = Number(threshold.control.value);
    if (thresholdOn.checked && !(t >= 0 && t <= 1)) { threshold.setError('Use a number from 0 to 1.'); threshold.control.focus(); return; }
    const vector = Number(weight.value);
    const retrievalModel = {
      search_method: method.control.value,
      reranking_enable: false,
      reranking_mode: method.control.value === 'hybrid_search' ? 'weighted_score' : null,
      reranking_model: { reranking_provider_name: '', reranking_model_name: '' },
      top_k: k,
      score_threshold_enabled: thresholdOn.checked,
      score_threshold: thresholdOn.checked ? t : null,
      weights: method.control.value === 'hybrid_search'
        ? {
          weight_type: 'customized',
          vector_setting: { vector_weight: vector, embedding_provider_name: dataset.embedding_model_provider || '', embedding_model_name: dataset.embedding_model || '' },
          keyword_setting: { keyword_weight: Math.round((1 - vector) * 10) / 10 },
        }
        : null,
    };
    busy(submit, async () => {
      try {
        const answer = await post(`${base}/hit-testing`, { query: text, retrieval_model: retrievalModel });
        showResults(answer.records || []);
        loadHistory();
      } catch (err) {
        if (err.params === 'query') query.setError(err.message);
        else { error.textContent = err.message; error.hidden = false; }
      }
    });
  });

  function showResults(records) {
    const count = `${records.length} ${records.length === 1 ? 'result' : 'results'}`;
    announce(count);
    if (!records.length) {
      mount(results, h('h2', {}, 'Results'), h('p', { class: 'muted' }, 'Nothing matched. Try other words, a lower threshold or another method.'));
      return;
    }
    mount(results, h('h2', {}, count),
      h('ol', { class: 'records' }, records.map((record) => {
        const segment = record.segment || {};
        const document = segment.document || {};
        const score = typeof record.score === 'number' ? record.score : null;
        return h('li', { class: 'record' },
          h('div', { class: 'record-head' },
            score === null ? h('span', { class: 'score' }, 'no score')
              : h('span', { class: 'score' }, h('meter', { min: 0, max: 1, value: Math.max(0, Math.min(1, score)), 'aria-hidden': 'true' }), ` Score ${score.toFixed(4)}`),
            h('span', { class: 'muted small' }, `Chunk ${segment.position ?? '?'}`)),
          h('p', { class: 'chunk-text' }, segment.content),
          record.child_chunks && record.child_chunks.length
            ? h('ul', { class: 'children' }, record.child_chunks.map((c) => h('li', {}, `${c.content} (${Number(c.score || 0).toFixed(3)})`)))
            : null,
          h('p', { class: 'source' }, 'Source: ',
            document.id && segment.document_id
              ? h('a', { href: `${base}/documents/${segment.document_id}` }, document.name)
              : document.name || 'unknown'));
      })));
  }

  async function loadHistory() {
    try {
      const answer = await get(`${base}/queries`, { page: 1, limit: 10 });
      const items = (answer.data || []).map((q) => ({
        text: q.content ?? (q.queries && q.queries[0] ? q.queries[0].content : ''),
        at: q.created_at,
      })).filter((q) => q.text);
      if (!items.length) { history.replaceChildren(); return; }
      mount(history, h('h2', {}, 'Recent queries'), h('ul', { class: 'plain' }, items.map((q) => {
        const b = h('button', { class: 'linkish', type: 'button' }, q.text);
        b.addEventListener('click', () => { query.control.value = q.text; query.control.focus(); });
        return h('li', {}, b, h('span', { class: 'muted small' }, ` ${formatTime(q.at)}`));
      })));
    } catch {
      history.replaceChildren();
    }
  }
  loadHistory();
  query.control.focus();
}

function weightLabel(vector) {
  const keyword = Math.round((1 - vector) * 10) / 10;
  return `Semantic ${vector.toFixed(1)} · Keyword ${keyword.toFixed(1)}`;
}
