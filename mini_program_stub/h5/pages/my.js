// 我的 (市民主页): who I am, what waits for me (cases, bills, expiring licences, messages), recommendations, and the
// enterprises I may act for (法定代表人 or 经办人): acting for one switches the session and the draft space.
import { el, fill, errorBox, errorText, formatDate, loading, actAs } from '../app.js';

const HOME = `query MyHome {
  me { id name maskedMobile assuranceLevel sessionLevel actingAs { id name uscc } }
  myHomePage {
    applicationsInProgress { id projectNo serviceName status nextAction nextActionText updatedAt }
    billsDue { id title billNo amountYuan dueAt applicationId }
    expiringLicenses { id name certNumber validTo daysLeft }
    unreadMessageCount
    recommendations { reason text item { serviceCode name } }
    shortcuts { key title route }
  }
}`;
// Apart from the home page: together they pass the API's query cost limit.
const ENTERPRISES = `query MyEnterprises { myEnterprises { enterprise { id name uscc } role authorizationId validTo } }`;

const ROLE = { LEGAL_REPRESENTATIVE: '法定代表人', AGENT: '经办人', STAFF: '经办人' };

function section(title, testid, items, renderItem, empty) {
  return el('section', { class: 'card', testid },
    el('h2', null, title, ' ', el('span', { class: 'muted', testid: `${testid}-count` }, `(${items.length})`)),
    items.length
      ? el('ul', { class: 'list' }, items.map((item) => el('li', null, renderItem(item))))
      : el('p', { class: 'muted' }, empty));
}

function enterprises(ctx, me, memberships) {
  const acting = me.actingAs;
  const switchTo = async (enterpriseId, button) => {
    button.disabled = true;
    try {
      const now = await actAs(enterpriseId);
      ctx.toast(now ? `正在以「${now.name}」身份办事` : '已切换回个人身份');
      ctx.navigate('#/');
    } catch (error) {
      button.disabled = false;
      ctx.toast(errorText(error));
    }
  };
  const rows = memberships.map((m) => {
    const isActing = acting && acting.id === m.enterprise.id;
    const button = el('button', {
      type: 'button', class: isActing ? 'chosen' : 'primary', testid: 'my-act-as',
      dataset: { id: m.enterprise.id }, disabled: isActing,
    }, isActing ? '办理中' : '以企业身份办事');
    if (!isActing) button.addEventListener('click', () => switchTo(m.enterprise.id, button));
    return el('li', { testid: 'my-enterprise', dataset: { id: m.enterprise.id } }, el('div', { class: 'row' },
      el('div', { class: 'grow' },
        el('div', null, m.enterprise.name),
        el('div', { class: 'muted' }, `${ROLE[m.role] || m.role} · ${m.enterprise.uscc}`)),
      button));
  });
  const self = acting && el('button', { type: 'button', testid: 'my-act-self' }, '切换回个人身份');
  if (self) self.addEventListener('click', () => switchTo(null, self));
  return el('section', { class: 'card', testid: 'my-enterprises' },
    el('h2', null, '我的企业'),
    acting && el('p', { class: 'hint', testid: 'my-acting-as', dataset: { id: acting.id } },
      `当前以「${acting.name}」身份办事：企业事项的草稿和办件归属该企业。`),
    rows.length ? el('ul', { class: 'list' }, rows) : el('p', { class: 'muted' }, '没有可代为办事的企业'),
    self);
}

export async function render(ctx) {
  const { client, root } = ctx;
  root.append(loading());
  let data;
  let memberships;
  try {
    [data, { myEnterprises: memberships }] = await Promise.all([client.graphql(HOME), client.graphql(ENTERPRISES)]);
  } catch (error) {
    root.replaceChildren(errorBox(error));
    return;
  }
  const { me, myHomePage: home } = data;
  fill(root,
    el('section', { class: 'card' },
      el('h1', null, el('span', { testid: 'my-name' }, me.name || '未实名用户')),
      el('p', { class: 'muted' }, `${me.maskedMobile || ''} · 实名等级 ${me.assuranceLevel} · 本次登录 ${me.sessionLevel}`),
      el('div', { class: 'row' },
        el('a', { class: 'button', href: '#/search', testid: 'my-search' }, '找服务'),
        el('a', { class: 'button', href: '#/drafts', testid: 'my-drafts' }, '我的草稿'),
        el('a', { class: 'button', href: '#/inbox', testid: 'my-inbox' }, '消息'))),
    section('办理中的事项', 'my-todo', home.applicationsInProgress, (a) =>
      el('a', { href: `#/application/${a.id}`, testid: 'my-application', dataset: { id: a.id, next: a.nextAction } },
        el('div', null, a.serviceName, ' ', el('span', { class: 'tag' }, a.status)),
        el('div', { class: 'muted' }, `${a.projectNo} · ${a.nextActionText}`)),
    '暂无办理中的事项'),
    section('待缴费用', 'my-bills', home.billsDue, (b) =>
      el('a', { href: `#/pay/${b.id}`, testid: 'my-bill', dataset: { id: b.id } },
        el('div', null, `${b.title} ¥${b.amountYuan}`),
        el('div', { class: 'muted' }, `${b.billNo}${b.dueAt ? ` · ${formatDate(b.dueAt)} 前缴纳` : ''}`)),
    '暂无待缴费用'),
    section('即将到期的证照', 'my-licences', home.expiringLicenses, (l) =>
      el('a', { href: `#/license/${l.id}`, testid: 'my-licence', dataset: { id: l.id } },
        el('div', null, l.name),
        el('div', { class: 'muted' }, `${l.certNumber} · ${l.daysLeft == null ? '长期有效' : `${l.daysLeft} 天后到期`}`)),
    '近 90 天没有到期的证照'),
    section('为你推荐', 'my-recommendations', home.recommendations.filter((r) => r.item), (r) =>
      el('a', { href: `#/guide/${r.item.serviceCode}`, testid: 'my-recommendation' },
        el('div', null, r.item.name), el('div', { class: 'muted' }, r.text)),
    '暂无推荐'),
    enterprises(ctx, me, memberships),
    el('p', { class: 'muted' }, el('a', { href: '#/applications', testid: 'my-applications-link' }, '全部办件'), ' · ',
      el('a', { href: '#/bills', testid: 'my-bills-link' }, '全部账单'), ' · ',
      el('a', { href: '#/wallet', testid: 'my-wallet-link' }, '证照夹')),
  );
}
