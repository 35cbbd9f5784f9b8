// An app's logs: its conversations (chat) or answers (completion) of every user, searchable,
// newest first; a chat conversation opens to its messages.

import { get } from '../api.js';
import { h, mount, toast, debounce, formatTime } from '../dom.js';

export async function logsPanel(container, app) {
  const chat = app.mode === 'chat';
  const search = h('input', { type: 'search', placeholder: 'Search questions and answers', 'aria-label': 'Search logs' });
  const rows = h('tbody');
  const status = h('p', { class: 'muted', role: 'status' });
  const detail = h('section', { class: 'log-detail', 'aria-label': 'Conversation', hidden: true });

  async function open(conversation) {
    const page = await get(`/apps/${app.id}/chat-messages`, { conversation_id: conversation.id, limit: 100 });
    detail.hidden = false;
    mount(detail, h('h2', {}, conversation.name || 'Conversation'),
      h('ol', { class: 'chat-log', 'aria-label': 'Messages' }, page.data.map((m) => [
        h('li', { class: 'msg msg-user' }, h('p', {}, m.query)),
        h('li', { class: 'msg msg-bot' }, h('p', {}, m.answer),
          m.annotation_hit_history ? h('p', { class: 'muted small annotation-mark' }, 'Answered by an annotation') : null),
      ])));
    detail.scrollIntoView({ block: 'nearest' });
  }

  async function load() {
    const path = chat ? 'chat-conversations' : 'completion-conversations';
    const page = await get(`/apps/${app.id}/${path}`, { page: 1, limit: 50, keyword: search.value.trim() });
    rows.replaceChildren(...page.data.map((c) => {
      const question = chat ? c.summary : (c.message ? c.message.query : '');
      const cells = [
        h('td', {}, chat
          ? h('button', { class: 'link-button', type: 'button', onclick: () => open(c).catch((e) => toast(e.message, 'error')) }, question || c.name)
          : question),
        h('td', {}, chat ? String(c.message_count) : (c.message ? c.message.answer : '')),
        h('td', {}, c.from_end_user_session_id || ''),
        h('td', {}, formatTime(c.updated_at || c.created_at)),
      ];
      return h('tr', {}, cells);
    }));
    const nothing = search.value.trim() ? 'Nothing matches this search.' : 'Nothing logged yet.';
    status.textContent = page.total ? `${page.total} ${chat ? 'conversation' : 'answer'}${page.total === 1 ? '' : 's'}` : nothing;
  }
  search.addEventListener('input', debounce(() => load().catch((e) => toast(e.message, 'error'))));
  mount(container, h('div', { class: 'logs' },
    h('div', { class: 'toolbar' }, search),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'aria-label': 'Logs' },
      h('thead', {}, h('tr', {}, h('th', {}, chat ? 'First question' : 'Question'), h('th', {}, chat ? 'Messages' : 'Answer'),
        h('th', {}, 'User'), h('th', {}, 'Updated'))),
      rows)),
    status, detail));
  await load();
}
