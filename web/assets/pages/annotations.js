// An app's annotations: curated answers to questions, annotation reply (answer a close enough
// question with the annotation instead of the model) with its threshold, and each annotation's
// hits.

import { get, post, del, can } from '../api.js';
import { h, mount, field, modal, confirmAction, toast, announce, debounce, busy, formatTime } from '../dom.js';
import { showError } from './auth.js';

/** Polls a reply job until it is finished. */
async function waitForJob(appId, action, jobId) {
  for (let i = 0; i < 600; i += 1) {
    const job = await get(`/apps/${appId}/annotation-reply/${action}/status/${jobId}`);
    if (job.job_status === 'completed') return;
    if (job.job_status === 'error') throw new Error(job.error_msg || 'The job failed.');
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error('The job did not finish.');
}

export async function annotationsPanel(container, app) {
  const editor = can('edit');
  const replyOn = h('input', { type: 'checkbox', disabled: !editor });
  const threshold = field('Score threshold', h('input', { type: 'number', min: 0, max: 1, step: 0.01, value: 0.9, disabled: !editor }),
    { hint: 'How similar a question must be to an annotated one (0 to 1) to get its answer.' });
  const saveReply = h('button', { class: 'button', type: 'button' }, 'Apply');
  const replyStatus = h('p', { class: 'muted small', role: 'status' });
  const search = h('input', { type: 'search', placeholder: 'Search annotations', 'aria-label': 'Search annotations' });
  const add = h('button', { class: 'button primary', type: 'button' }, 'Add annotation');
  const rows = h('tbody');
  const empty = h('p', { class: 'muted', role: 'status' });
  let setting = { enabled: false };

  async function loadSetting() {
    setting = await get(`/apps/${app.id}/annotation-setting`);
    replyOn.checked = !!setting.enabled;
    if (setting.enabled) threshold.control.value = setting.score_threshold;
    replyStatus.textContent = setting.enabled
      ? `Annotation reply is on (threshold ${setting.score_threshold}).`
      : 'Annotation reply is off: the model answers every question.';
  }

  async function load() {
    const page = await get(`/apps/${app.id}/annotations`, { page: 1, limit: 100, keyword: search.value.trim() });
    rows.replaceChildren(...page.data.map((a) => {
      const actions = [];
      const hits = h('button', { class: 'button ghost small', type: 'button', 'aria-label': `Hits of “${a.question}”` }, 'Hits');
      hits.addEventListener('click', () => hitsDialog(app, a).catch((e) => toast(e.message, 'error')));
      actions.push(hits);
      if (editor) {
        const edit = h('button', { class: 'button ghost small', type: 'button', 'aria-label': `Edit “${a.question}”` }, 'Edit');
        edit.addEventListener('click', () => editDialog(app, a, load));
        const remove = h('button', { class: 'button ghost danger small', type: 'button', 'aria-label': `Delete “${a.question}”` }, 'Delete');
        remove.addEventListener('click', async () => {
          if (!(await confirmAction('Delete this annotation?', a.question))) return;
          try {
            await del(`/apps/${app.id}/annotations/${a.id}`);
            announce('Annotation deleted');
            await load();
          } catch (err) {
            toast(err.message, 'error');
          }
        });
        actions.push(edit, remove);
      }
      return h('tr', {},
        h('td', { class: 'annotation-question' }, a.question),
        h('td', { class: 'annotation-answer' }, a.answer),
        h('td', { class: 'num' }, String(a.hit_count)),
        h('td', {}, formatTime(a.created_at)),
        h('td', { class: 'row-actions' }, actions));
    }));
    empty.textContent = page.data.length ? `${page.total} annotation${page.total === 1 ? '' : 's'}` : 'No annotations yet.';
  }

  saveReply.addEventListener('click', () => busy(saveReply, async () => {
    const t = Number(threshold.control.value);
    if (replyOn.checked && !(t >= 0 && t <= 1)) { threshold.setError('Use a number from 0 to 1.'); threshold.control.focus(); return; }
    const action = replyOn.checked ? 'enable' : 'disable';
    try {
      replyStatus.textContent = action === 'enable' ? 'Embedding the annotated questions…' : 'Turning annotation reply off…';
      const job = await post(`/apps/${app.id}/annotation-reply/${action}`, {
        score_threshold: replyOn.checked ? t : (setting.score_threshold ?? 0.9),
        embedding_provider_name: 'ragd',
        embedding_model_name: 'local',
      });
      await waitForJob(app.id, action, job.job_id);
      await loadSetting();
      toast(replyOn.checked ? 'Annotation reply on' : 'Annotation reply off');
      announce(replyStatus.textContent);
    } catch (err) {
      replyStatus.textContent = err.message;
      toast(err.message, 'error');
    }
  }));
  add.addEventListener('click', () => editDialog(app, null, load));
  search.addEventListener('input', debounce(() => load().catch((e) => toast(e.message, 'error'))));

  mount(container, h('div', { class: 'annotations' },
    h('section', { class: 'subfields', 'aria-label': 'Annotation reply' },
      h('h2', {}, 'Annotation reply'),
      field('Answer close questions with their annotation', replyOn, { inline: true }).row,
      threshold.row, editor ? h('div', { class: 'form-actions' }, saveReply) : null, replyStatus),
    h('div', { class: 'toolbar' }, search, editor ? add : null),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'aria-label': 'Annotations' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Question'), h('th', {}, 'Answer'), h('th', {}, 'Hits'), h('th', {}, 'Created'), h('th', {}, h('span', { class: 'visually-hidden' }, 'Actions')))),
      rows)),
    empty));
  await loadSetting();
  await load();
}

function editDialog(app, annotation, reload) {
  const question = field('Question', h('textarea', { rows: 2, maxlength: 2000, value: annotation ? annotation.question : '' }));
  const answer = field('Answer', h('textarea', { rows: 4, maxlength: 10000, value: annotation ? annotation.answer : '' }));
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { id: 'annotation-form', novalidate: true }, question.row, answer.row, error);
  const cancel = h('button', { class: 'button', type: 'button' }, 'Cancel');
  const submit = h('button', { class: 'button primary', type: 'submit', form: 'annotation-form' }, 'Save');
  const { close } = modal(annotation ? 'Edit annotation' : 'Add annotation', form, [cancel, submit]);
  cancel.addEventListener('click', close);
  question.control.focus();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!question.control.value.trim()) { question.setError('Enter a question.'); question.control.focus(); return; }
    if (!answer.control.value.trim()) { answer.setError('Enter an answer.'); answer.control.focus(); return; }
    busy(submit, async () => {
      try {
        const body = { question: question.control.value.trim(), answer: answer.control.value.trim() };
        await post(annotation ? `/apps/${app.id}/annotations/${annotation.id}` : `/apps/${app.id}/annotations`, body);
        close();
        announce('Annotation saved');
        await reload();
      } catch (err) {
        showError(err, { question, answer }, error);
      }
    });
  });
}

async function hitsDialog(app, annotation) {
  const page = await get(`/apps/${app.id}/annotations/${annotation.id}/hit-histories`, { page: 1, limit: 50 });
  const body = page.data.length
    ? h('table', { class: 'table', 'aria-label': 'Hits' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Question asked'), h('th', {}, 'Score'), h('th', {}, 'Source'), h('th', {}, 'When'))),
      h('tbody', {}, page.data.map((hit) => h('tr', {},
        h('td', {}, hit.question), h('td', { class: 'num' }, Number(hit.score).toFixed(3)),
        h('td', {}, hit.source), h('td', {}, formatTime(hit.created_at))))))
    : h('p', { class: 'muted' }, 'No question has been answered by this annotation yet.');
  const ok = h('button', { class: 'button', type: 'button' }, 'Close');
  const { close } = modal(`Hits of “${annotation.question}”`, body, [ok]);
  ok.addEventListener('click', close);
  ok.focus();
}
