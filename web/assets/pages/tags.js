// Tags on the knowledge and app lists (Dify's console tags): a filter of the list by tag, the
// tags of each card, and a dialog to add and remove them (creating a tag on the way).

import { get, post } from '../api.js';
import { h, field, modal, toast, announce, busy } from '../dom.js';

/** A select that filters a list by one tag of `kind` (`knowledge` or `app`). */
export function tagFilter(kind, onChange) {
  const select = h('select', { 'aria-label': 'Filter by tag', class: 'tag-filter' }, h('option', { value: '' }, 'All tags'));
  async function refresh() {
    const chosen = select.value;
    const tags = await get('/tags', { type: kind });
    select.replaceChildren(h('option', { value: '' }, 'All tags'),
      ...tags.map((t) => h('option', { value: t.id, selected: t.id === chosen }, `${t.name} (${t.binding_count})`)));
    if (chosen && !tags.some((t) => t.id === chosen)) { select.value = ''; onChange(''); }
  }
  select.addEventListener('change', () => onChange(select.value));
  refresh().catch(() => { select.hidden = true; });
  return { element: select, refresh };
}

/**
 * The tags of a card and, for those who may change them, a button that opens the tag dialog.
 * `onChanged` runs after a change (to refresh the filter).
 */
export function cardTags(kind, target, editable, onChanged) {
  const list = h('ul', { class: 'tag-list', 'aria-label': `Tags of ${target.name}` });
  let current = [...(target.tags || [])];
  function render() {
    list.replaceChildren(...current.map((t) => h('li', { class: 'tag' }, t.name)));
  }
  render();
  const edit = h('button', { class: 'button ghost small', type: 'button', 'aria-label': `Edit tags of ${target.name}` }, 'Tags');
  edit.addEventListener('click', () => tagDialog(kind, target, current, (tags) => {
    current = tags;
    render();
    onChanged?.();
  }));
  return { list, edit: editable ? edit : null };
}

/** Checkboxes of the workspace's tags of `kind`, a field for a new one; saves the difference. */
async function tagDialog(kind, target, current, done) {
  let all;
  try {
    all = await get('/tags', { type: kind });
  } catch (err) {
    toast(err.message, 'error');
    return;
  }
  const chosen = new Set(current.map((t) => t.id));
  const boxes = all.map((t) => {
    const box = h('input', { type: 'checkbox', value: t.id, checked: chosen.has(t.id) });
    return { tag: t, box, row: h('label', { class: 'check' }, box, ` ${t.name}`) };
  });
  const fresh = field('New tag', h('input', { maxlength: 50, autocomplete: 'off', name: 'new-tag' }), { hint: 'Created and added when you save.' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { id: 'edit-tags', novalidate: true },
    h('fieldset', { class: 'tag-choices' }, h('legend', {}, 'Tags'),
      ...(boxes.length ? boxes.map((b) => b.row) : [h('p', { class: 'muted' }, 'No tags yet.')])),
    fresh.row, error);
  const cancel = h('button', { class: 'button', type: 'button' }, 'Cancel');
  const submit = h('button', { class: 'button primary', type: 'submit', form: 'edit-tags' }, 'Save');
  const { close } = modal(`Tags of “${target.name}”`, form, [cancel, submit]);
  cancel.addEventListener('click', close);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.hidden = true;
    busy(submit, async () => {
      try {
        const wanted = boxes.filter((b) => b.box.checked).map((b) => b.tag);
        const name = fresh.control.value.trim();
        if (name) wanted.push(await post('/tags', { name, type: kind }));
        const add = wanted.filter((t) => !chosen.has(t.id)).map((t) => t.id);
        const remove = [...chosen].filter((id) => !wanted.some((t) => t.id === id));
        if (add.length) await post('/tag-bindings/create', { tag_ids: add, target_id: target.id, type: kind });
        for (const id of remove) await post('/tag-bindings/remove', { tag_id: id, target_id: target.id, type: kind });
        close();
        announce(`Tags of ${target.name} saved.`);
        done(wanted.map((t) => ({ id: t.id, name: t.name, type: kind })).sort((a, b) => a.name.localeCompare(b.name)));
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      }
    });
  });
}
