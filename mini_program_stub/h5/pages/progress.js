// 办件查询: anyone with the 办件编号 and its query password sees the status and the public steps (no personal data).
import { el, errorBox, formatDate, formatDateTime } from '../app.js';

const PROGRESS = `query ApplicationProgress($input: ApplicationProgressInput!) {
  applicationProgress(input: $input) { __typename
    ... on ApplicationProgress { projectNo itemName statusLabel applyTime acceptTime promiseDate resultTime
      steps { type label at } }
    ... on Error { code message path } } }`;

function result(p) {
  return el('div', { class: 'card', testid: 'progress-result', dataset: { projectNo: p.projectNo } },
    el('div', { class: 'row' },
      el('h2', { class: 'grow' }, p.itemName),
      el('span', { class: 'tag', testid: 'progress-status' }, p.statusLabel)),
    el('p', { class: 'muted' }, `办件编号 ${p.projectNo} · 申请 ${formatDateTime(p.applyTime)}`,
      p.acceptTime ? ` · 受理 ${formatDateTime(p.acceptTime)}` : '',
      p.promiseDate ? ` · 承诺办结 ${formatDate(p.promiseDate)}` : '',
      p.resultTime ? ` · 办结 ${formatDateTime(p.resultTime)}` : ''),
    el('ol', { class: 'list' }, p.steps.slice().reverse().map((s) =>
      el('li', { testid: 'progress-step', dataset: { type: s.type } }, s.label,
        el('span', { class: 'muted' }, ` · ${formatDateTime(s.at)}`)))));
}

export async function render(ctx, params) {
  const { client, root } = ctx;
  const query = params.query || {};
  const projectNo = el('input', { type: 'text', testid: 'progress-project-no', placeholder: '办件编号', value: query.no || '',
    autocomplete: 'off', required: true });
  const password = el('input', { type: 'password', testid: 'progress-password', placeholder: '查询密码',
    autocomplete: 'off', required: true });
  const submit = el('button', { type: 'submit', class: 'primary block', testid: 'progress-submit' }, '查询');
  const out = el('div', { testid: 'progress-output' });
  const form = el('form', { class: 'card' },
    el('label', { class: 'field' }, el('span', null, '办件编号'), projectNo),
    el('label', { class: 'field' }, el('span', null, '查询密码（提交申请时获得）'), password),
    submit);
  root.append(el('h1', null, '办件进度查询'), form, out);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = { projectNo: projectNo.value.trim(), queryPassword: password.value.trim() };
    if (!input.projectNo || !input.queryPassword) {
      out.replaceChildren(el('div', { class: 'error', testid: 'progress-error' }, '请输入办件编号和查询密码'));
      return;
    }
    submit.disabled = true;
    try {
      const answer = (await client.graphql(PROGRESS, { input }, { anonymous: true })).applicationProgress;
      if (answer.__typename === 'ApplicationProgress') {
        out.replaceChildren(result(answer));
      } else {
        const text = answer.__typename === 'NotFoundError' ? '办件编号或查询密码不正确' : null;
        out.replaceChildren(text
          ? el('div', { class: 'error', testid: 'progress-error', dataset: { code: answer.code } }, text)
          : errorBox(answer, 'progress-error'));
      }
    } catch (error) {
      out.replaceChildren(errorBox(error, 'progress-error'));
    } finally {
      submit.disabled = false;
    }
  });
}
