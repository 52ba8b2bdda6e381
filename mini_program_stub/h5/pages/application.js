// 办件详情: status, the pay button while a fee bill of this case is unpaid, the rate link for each moment not yet
// rated, materials and the timeline. Refreshes on inbox updates and every few seconds while the tab is visible.
import { el, errorBox, loading, formatDate, formatDateTime } from '../app.js';
import { statusTag } from './applications.js';

const DETAIL = `query ApplicationDetail($id: ID!) {
  application(id: $id) { id projectNo itemName serviceCode status statusLabel timerState evaluationStatus
    applyTime acceptTime promiseDate resultTime resultReason currentStep decision allowedActions resultLicenseIds
    materials { id name providedVia licenseName }
    openSupplement { id }
    timeline { seq type stepName actionResult opinion at toStatus } }
  myBills(first: 20) { edges { node { id billNo subject amountYuan status applicationId dueAt } } }
  myRatings(applicationId: $id, first: 6) { edges { node { id moment levelLabel } } } }`;

// The timeline event that opens each rating moment (api/ratings/common.py).
const MOMENT_EVENTS = [
  ['COMPLETE', ['COMPLETE']],
  ['SIGN', ['DELIVERY_RECEIVED', 'DELIVERY_ELECTRONIC']],
  ['PAY', ['PAID']],
  ['SUPPLEMENT', ['SUPPLEMENT_DONE']],
  ['APPLY', ['SUBMIT']],
];
export const MOMENT_LABELS = {
  APPLY: '申请受理', SUPPLEMENT: '补正', PAY: '缴费', SIGN: '签收', COMPLETE: '办结', CONSULT: '咨询',
};
const EVENT_LABELS = {
  SUBMIT: '提交申请', PRECHECK_PASS: '预审通过', PRECHECK_RETURN: '预审退回', RECEIVE: '接件', ACCEPT: '受理',
  NOT_ACCEPT: '不予受理', SUPPLEMENT_NOTICE: '补正告知', SUPPLEMENT_DONE: '补正完成', STEP: '办理环节',
  SPECIAL_START: '特别程序开始', SPECIAL_END: '特别程序结束', FEE_NOTICE: '缴费通知', PAID: '已缴费', DECIDE: '审批决定',
  ISSUE_LICENCE: '出证', COMPLETE: '办结', WITHDRAW: '撤回', TERMINATE: '终止', DELIVERY_READY: '待领取',
  DELIVERY_SHIPPED: '已寄出', DELIVERY_RECEIVED: '已签收', DELIVERY_ELECTRONIC: '电子送达', URGE: '督办', VISIT: '到场办理',
};
const VIA = { UPLOAD: '上传', ELICENSE: '电子证照', REUSED: '复用', COMMITMENT: '告知承诺' };
const REFRESH_MS = 4000;

/** Moments reached on the timeline and not yet rated, most recent kind first. */
export function rateableMoments(app, ratedMoments) {
  const happened = new Set(app.timeline.map((e) => e.type));
  return MOMENT_EVENTS
    .filter(([moment, events]) => events.some((t) => happened.has(t)) && !ratedMoments.includes(moment))
    .filter(([moment]) => moment !== 'COMPLETE' || app.status === 'COMPLETED')
    .map(([moment]) => moment);
}

function view(data) {
  const app = data.application;
  const bill = data.myBills.edges.map((e) => e.node)
    .find((b) => b.applicationId === app.id && b.status === 'UNPAID');
  const rated = data.myRatings.edges.map((e) => e.node);
  const moments = rateableMoments(app, rated.map((r) => r.moment));
  return el('div', null,
    el('div', { class: 'card' },
      el('div', { class: 'row' },
        el('h1', { class: 'grow', testid: 'app-item-name' }, app.itemName),
        statusTag(app.status, app.statusLabel, 'app-status')),
      el('p', { class: 'muted', style: 'overflow-wrap:anywhere', testid: 'app-project-no' }, `办件编号 ${app.projectNo || '待分配'}`),
      el('p', { class: 'muted' }, `申请 ${formatDateTime(app.applyTime)}`,
        app.acceptTime ? ` · 受理 ${formatDateTime(app.acceptTime)}` : '',
        app.promiseDate ? ` · 承诺办结 ${formatDate(app.promiseDate)}` : '',
        app.resultTime ? ` · 办结 ${formatDateTime(app.resultTime)}` : ''),
      app.currentStep ? el('p', { testid: 'app-current-step' }, `当前环节：${app.currentStep}`) : null,
      app.resultReason ? el('p', null, `结果说明：${app.resultReason}`) : null),
    bill ? el('div', { class: 'card warn', testid: 'app-bill' },
      el('p', { style: 'overflow-wrap:anywhere' }, `待缴费：${bill.subject} ¥${bill.amountYuan}`, el('span', { class: 'muted' }, ` （${bill.billNo}）`)),
      el('a', { class: 'button primary block', href: `#/pay/${encodeURIComponent(bill.id)}`, testid: 'app-pay',
        dataset: { billId: bill.id } }, `去缴费 ¥${bill.amountYuan}`)) : null,
    app.openSupplement ? el('p', { class: 'hint', testid: 'app-supplement' }, '需要补正材料，请在表单中补充后提交。') : null,
    app.resultLicenseIds.length ? el('p', null,
      el('a', { href: `#/license/${encodeURIComponent(app.resultLicenseIds[0])}`, testid: 'app-license' }, '查看办结证照')) : null,
    moments.length ? el('a', { class: 'button block', testid: 'app-rate', dataset: { moment: moments[0] },
      href: `#/rate/${encodeURIComponent(app.id)}?moment=${moments[0]}` }, `评价本次服务（${MOMENT_LABELS[moments[0]]}）`) : null,
    rated.length ? el('p', { class: 'muted', testid: 'app-rated' },
      `已评价：${rated.map((r) => `${MOMENT_LABELS[r.moment] || r.moment} ${r.levelLabel}`).join('，')}`) : null,
    el('h2', null, '材料'),
    el('ul', { class: 'list card', testid: 'app-materials' }, app.materials.length
      ? app.materials.map((m) => el('li', { testid: 'app-material' }, m.name,
        el('span', { class: 'muted' }, ` · ${VIA[m.providedVia] || m.providedVia}${m.licenseName ? `（${m.licenseName}）` : ''}`)))
      : el('li', { class: 'muted' }, '无')),
    el('h2', null, '办理进度'),
    el('ol', { class: 'list card timeline', testid: 'app-timeline' }, app.timeline.slice().reverse().map((e) =>
      el('li', { testid: 'app-timeline-entry', dataset: { type: e.type } },
        el('div', null, e.stepName || EVENT_LABELS[e.type] || e.type, e.opinion ? el('span', { class: 'muted' }, ` · ${e.opinion}`) : null),
        el('div', { class: 'muted' }, formatDateTime(e.at))))),
  );
}

export async function render(ctx, params) {
  const { client, root } = ctx;
  const body = el('div', null, loading());
  root.append(el('p', null, el('a', { href: '#/applications', testid: 'app-back' }, '‹ 我的办件')), body);
  let shown = '';
  let left = false;
  async function refresh() {
    if (left) return;
    try {
      const data = await client.graphql(DETAIL, { id: params.id });
      if (left) return;
      if (!data.application) {
        body.replaceChildren(el('div', { class: 'error', testid: 'app-not-found' }, '没有找到这个办件'));
        return;
      }
      const key = JSON.stringify(data);
      if (key !== shown) {
        shown = key;
        body.replaceChildren(view(data));
      }
    } catch (error) {
      if (!shown) body.replaceChildren(errorBox(error));
    }
  }
  await refresh();
  const timer = setInterval(() => {
    if (!root.isConnected) { stop(); return; }
    if (document.visibilityState === 'visible') refresh();
  }, REFRESH_MS);
  const unsubscribe = client.inbox && client.inbox.subscribe ? client.inbox.subscribe(() => refresh()) : () => {};
  function stop() {
    left = true;
    clearInterval(timer);
    try { unsubscribe(); } catch (error) { /* already closed */ }
  }
  return stop;
}
