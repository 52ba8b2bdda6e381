// 办件处理 (operator console for the demo): an operator signs in with password + TOTP into a session of its own
// (stored under its own key prefix, so the resident signed in on the same browser stays signed in), sees the
// department's caseQueue and moves each case on with one button per allowed next step.
import { el, errorBox, errorText, formatDateTime } from '../app.js';
import { createClient } from '../client/index.js';
import { webPlatform } from '../client/platform/web.js';

const SIGN_IN = `mutation OperatorSignIn($input: OperatorSignInInput!) { operatorSignIn(input: $input) { __typename
  ... on OperatorAuthPayload { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt sessionId
    operator { id name username roles departmentId } }
  ... on Error { code message path } } }`;
// Pages of 20: allowedActions (up to 30 entries) makes each case expensive under the query-cost limit.
const QUEUE = `query CaseQueue($after: String) { caseQueue(first: 20, after: $after) { totalCount
  pageInfo { hasNextPage endCursor }
  edges { node { id projectNo itemName status statusLabel applyTime currentStep allowedActions timerState
    applicant { name } } } } }`;
const MAX_PAGES = 10;
const CASE = 'id projectNo status statusLabel currentStep allowedActions';
const RESULT = `__typename ... on HandledApplication { application { ${CASE} } }
  ... on ApplicationTransitionError { allowedEvents } ... on Error { code message path }`;

// The allowed event (Application.allowedActions for an operator) → the mutation that performs it.
export const ACTIONS = {
  PRECHECK_PASS: { label: '预审通过', field: 'passApplicationPrecheck', input: 'PassApplicationPrecheckInput', build: () => ({ opinion: '材料齐全' }) },
  RECEIVE: { label: '接件', field: 'receiveApplication', input: 'ReceiveApplicationInput', build: () => ({}) },
  ACCEPT: { label: '受理', field: 'acceptApplication', input: 'AcceptApplicationInput', build: () => ({ opinion: '予以受理' }) },
  STEP: { label: (c) => `${c.currentStep || '环节'}通过`, field: 'completeApplicationStep', input: 'CompleteApplicationStepInput',
    build: (c) => ({ step: c.currentStep, outcome: 'PASS', opinion: '同意' }), when: (c) => Boolean(c.currentStep) },
  FEE_NOTICE: { label: '发起缴费', field: 'requestApplicationPayment', input: 'RequestApplicationPaymentInput',
    build: (c, amount) => ({ amountFen: amount || null, note: '请缴纳办件费用' }) },
  DECIDE: { label: '审批通过', field: 'decideApplication', input: 'DecideApplicationInput',
    build: () => ({ decision: 'APPROVED' }), when: (c) => !c.currentStep },
  ISSUE_LICENCE: { label: '出证', field: 'issueApplicationResult', input: 'IssueApplicationResultInput', build: () => ({}) },
  COMPLETE: { label: '办结', field: 'issueApplicationResult', input: 'IssueApplicationResultInput', build: () => ({}) },
  DELIVERY_ELECTRONIC: { label: '电子送达', field: 'deliverApplicationResult', input: 'DeliverApplicationResultInput',
    build: () => ({ method: 'ELECTRONIC' }) },
  VISIT: { label: '记录到场', field: 'recordApplicationVisit', input: 'RecordApplicationVisitInput', build: () => ({ note: '现场办理' }) },
};

let operatorClient = null;
function operator() {
  if (!operatorClient) {
    operatorClient = createClient({ platform: webPlatform({ baseUrl: location.origin, prefix: 'zsb-operator:' }), channel: 'H5' });
  }
  return operatorClient;
}

async function perform(client, event, app, amount) {
  const action = ACTIONS[event];
  const mutation = `mutation Handle($input: ${action.input}!) { ${action.field}(input: $input) { ${RESULT} } }`;
  const data = await client.graphql(mutation, { input: { applicationId: app.id, ...action.build(app, amount) } });
  return data[action.field];
}

function signInForm(client, onSignedIn) {
  const username = el('input', { type: 'text', testid: 'handle-username', autocomplete: 'username', placeholder: '如 handler.ga' });
  const password = el('input', { type: 'password', testid: 'handle-password', autocomplete: 'current-password' });
  const totp = el('input', { type: 'text', testid: 'handle-totp', inputmode: 'numeric', maxlength: 6, autocomplete: 'one-time-code' });
  const message = el('div');
  const submit = el('button', { type: 'submit', class: 'primary block', testid: 'handle-signin' }, '工作人员登录');
  const form = el('form', { class: 'card' },
    el('label', { class: 'field' }, el('span', null, '用户名'), username),
    el('label', { class: 'field' }, el('span', null, '密码'), password),
    el('label', { class: 'field' }, el('span', null, '动态口令（TOTP，演示环境：zsb demo-totp 用户名）'), totp),
    message, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const answer = (await client.graphql(SIGN_IN, { input: {
        username: username.value.trim(), password: password.value, totpCode: totp.value.trim(), deviceName: 'H5 办件处理',
      } }, { anonymous: true })).operatorSignIn;
      if (answer.__typename !== 'OperatorAuthPayload') {
        message.replaceChildren(errorBox(answer, 'handle-error'));
        return;
      }
      await client.auth.adoptSession(answer);
      onSignedIn();
    } catch (error) {
      message.replaceChildren(errorBox(error, 'handle-error'));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function caseCard(app, act) {
  const amount = el('input', { type: 'text', inputmode: 'numeric', testid: 'handle-amount', placeholder: '金额（分），空则按收费标准' });
  const buttons = app.allowedActions
    .filter((event) => ACTIONS[event] && (!ACTIONS[event].when || ACTIONS[event].when(app)))
    .map((event) => {
      const { label } = ACTIONS[event];
      const button = el('button', { type: 'button', testid: `handle-action-${event}`, dataset: { event } },
        typeof label === 'function' ? label(app) : label);
      button.addEventListener('click', () => act(event, app, amount.value.trim(), button));
      return button;
    });
  const wantsAmount = app.allowedActions.includes('FEE_NOTICE');
  return el('li', { class: 'card', testid: 'handle-case', dataset: { id: app.id, status: app.status, projectNo: app.projectNo || '' } },
    el('div', { class: 'row' },
      el('strong', { class: 'grow' }, app.itemName),
      el('span', { class: 'tag', testid: 'handle-case-status', dataset: { status: app.status } }, app.statusLabel)),
    el('p', { class: 'muted' }, `${app.projectNo || ''} · ${app.applicant.name} · ${formatDateTime(app.applyTime)}`,
      app.currentStep ? ` · 当前环节 ${app.currentStep}` : '', ` · ${app.status}`),
    wantsAmount ? el('label', { class: 'field' }, el('span', null, '缴费金额（分）'), amount) : null,
    el('div', { class: 'row' }, buttons.length ? buttons : el('span', { class: 'muted' }, '当前没有可在此办理的步骤')));
}

export async function render(ctx) {
  const { root, toast } = ctx;
  const client = operator();
  await client.ready;
  const body = el('div');
  root.append(el('h1', null, '办件处理（工作人员）'), body);

  function showSignIn() {
    body.replaceChildren(signInForm(client, showQueue));
  }

  async function showQueue(done) {
    const session = client.auth.session;
    const who = session && session.operator ? `${session.operator.name}（${session.operator.username}）` : '';
    const filter = el('input', { type: 'search', testid: 'handle-filter', placeholder: '按办件编号或事项筛选' });
    const list = el('ul', { class: 'list', testid: 'handle-queue' });
    const status = el('div');
    const signOut = el('button', { type: 'button', class: 'link', testid: 'handle-signout', onclick: async () => {
      try { await client.auth.signOut(); } catch (error) { /* the tokens are dropped locally all the same */ }
      showSignIn();
    } }, '退出');
    body.replaceChildren(...[
      el('div', { class: 'row' }, el('span', { class: 'grow', testid: 'handle-operator' }, who), signOut),
      done, filter, status, list].filter(Boolean));
    let cases = [];
    const draw = () => {
      const q = filter.value.trim();
      const shown = cases.filter((c) => !q || (c.projectNo || '').includes(q) || c.itemName.includes(q) || c.id === q);
      list.replaceChildren(...shown.map((c) => caseCard(c, act)));
      status.replaceChildren(el('p', { class: 'muted', testid: 'handle-count' }, `待办 ${cases.length} 件`));
    };
    filter.addEventListener('input', draw);
    async function act(event, app, amount, button) {
      if (event === 'FEE_NOTICE' && amount && !/^\d+$/.test(amount)) {
        toast('金额请填写整数（分）');
        return;
      }
      button.disabled = true;
      // The previous outcome goes at once, so whoever waits for handle-done sees this action's.
      for (const old of body.querySelectorAll('[data-testid="handle-done"], [data-testid="handle-error"]')) old.remove();
      try {
        const answer = await perform(client, event, app, amount);
        if (answer.__typename !== 'HandledApplication') {
          const extra = answer.allowedEvents ? `；当前允许：${answer.allowedEvents.join('、')}` : '';
          toast(`${answer.message}${extra}`);
          await showQueue(el('div', { class: 'error', testid: 'handle-error', dataset: { code: answer.code, event } }, `${answer.message}${extra}`));
          return;
        }
        const after = answer.application;
        await showQueue(el('div', { class: 'hint', testid: 'handle-done', dataset: { event, id: after.id, status: after.status } },
          `已办理 ${after.projectNo || ''}：${typeof ACTIONS[event].label === 'function' ? ACTIONS[event].label(app) : ACTIONS[event].label}，现为「${after.statusLabel}」`));
      } catch (error) {
        if (error.code === 'UNAUTHENTICATED' || !client.auth.session) {
          showSignIn();
          return;
        }
        toast(errorText(error));
        button.disabled = false;
      }
    }
    try {
      // Oldest first: a case submitted just now is on the last page, so every page is read (up to 200 cases).
      let after = null;
      for (let page = 0; page < MAX_PAGES; page++) {
        const conn = (await client.graphql(QUEUE, { after })).caseQueue;
        cases.push(...conn.edges.map((e) => e.node));
        if (!conn.pageInfo.hasNextPage) break;
        after = conn.pageInfo.endCursor;
      }
      draw();
    } catch (error) {
      if (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN' || !client.auth.session) {
        showSignIn();
        return;
      }
      status.replaceChildren(errorBox(error, 'handle-error'));
    }
  }

  if (client.auth.session && client.auth.session.kind === 'operator') await showQueue();
  else showSignIn();
}
