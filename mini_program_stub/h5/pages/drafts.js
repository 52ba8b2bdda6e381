// 我的草稿: the drafts of this device's current space (self, or the enterprise the session acts for), with their
// sync state; deleted ones can be restored for 30 days.
import { el, fill, errorBox, loading, actingAs, openDrafts } from '../app.js';

const STATUS = { DRAFT: '草稿', EDITING: '草稿', CORRECTION: '待补正后重新提交', SUBMITTED: '已提交', DELETED: '已删除' };

export async function render(ctx) {
  const { client, root } = ctx;
  const { drafts } = client;
  root.append(loading());
  try {
    await openDrafts();
  } catch (error) {
    root.replaceChildren(errorBox(error));
    return;
  }
  const names = new Map();
  const list = el('ul', { class: 'list card', testid: 'draft-list' });
  const acting = actingAs();

  async function nameOf(serviceCode) {
    if (names.has(serviceCode)) return;
    names.set(serviceCode, serviceCode);
    try {
      const data = await client.graphql('query DraftItemName($c: String!) { serviceItem(serviceCode: $c) { name } }',
        { c: serviceCode }, { anonymous: true });
      if (data.serviceItem) names.set(serviceCode, data.serviceItem.name);
      paint();
    } catch (error) {
      // Offline: the 实施编码 stands in for the name.
    }
  }

  function paint() {
    const views = drafts.list();
    views.forEach((v) => nameOf(v.serviceCode));
    fill(list, views.length ? views.map((v) => el('li', {
      testid: 'draft-item', dataset: { id: v.id, status: v.status, pending: String(v.pendingCount) },
    }, el('div', { class: 'row' },
      el('a', { class: 'grow', href: `#/form/${v.id}`, testid: 'draft-open' },
        el('div', null, names.get(v.serviceCode) || v.serviceCode, ' ', el('span', { class: 'tag' }, STATUS[v.status] || v.status)),
        el('div', { class: 'muted' }, [
          v.pendingCount ? `${v.pendingCount} 项待同步` : '已同步',
          v.conflicts.length ? `${v.conflicts.length} 处冲突` : '',
          v.applicationId ? '已生成办件' : '',
        ].filter(Boolean).join(' · '))),
      v.status === 'DELETED'
        ? el('button', { type: 'button', testid: 'draft-restore', onclick: () => drafts.restore(v.id) }, '恢复')
        : v.status !== 'SUBMITTED' && el('button', { type: 'button', class: 'link', testid: 'draft-remove',
          onclick: () => { if (window.confirm('删除这份草稿？30 天内可恢复。')) drafts.remove(v.id); } }, '删除')),
    )) : el('li', { class: 'muted', testid: 'draft-empty' }, '还没有草稿：在办事指南里点「在线申请」开始填写'));
  }

  fill(root,
    el('h1', null, '我的草稿'),
    acting && el('p', { class: 'hint' }, `以「${acting.name}」身份办事时，这里是该企业的草稿。`),
    list,
  );
  paint();
  ctx.onLeave(drafts.subscribe(() => paint()));
  drafts.sync().catch(() => null); // fresh from the other devices when online; the list repaints on change
}
