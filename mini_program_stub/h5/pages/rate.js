// 好差评: one rating per service moment of a case, on the platform form (ratingForm): satisfaction codes 1 (非常满意)
// to 5 (非常不满意), stars = 6 − code; a 差评 (4 or 5) needs at least one reason and opens a rectification.
import { el, errorBox, errorText, loading } from '../app.js';
import { MOMENT_LABELS, rateableMoments } from './application.js';

const FORM = `query RatingForm($id: ID!) {
  ratingForm(kind: ONLINE) { version levels { code stars label } badReasons { code label } textMaxChars }
  application(id: $id) { id itemName projectNo status timeline { type } }
  myRatings(applicationId: $id, first: 6) { edges { node { moment } } } }`;
const RATE = `mutation RateService($input: RateServiceInput!) { rateService(input: $input) { __typename
  ... on ServiceRated { rating { id moment satisfactionCode stars levelLabel isBad rectification { status } } }
  ... on Error { code message path } } }`;
const BAD_CODES = new Set([4, 5]);
const CHECKBOX = 'width:auto;min-height:0;margin:0 .5rem 0 0';

export async function render(ctx, params) {
  const { client, root, toast } = ctx;
  const applicationId = params.applicationId;
  const back = el('a', { href: `#/application/${encodeURIComponent(applicationId)}`, testid: 'rate-back' }, '‹ 返回办件');
  const body = el('div', null, loading());
  root.append(el('p', null, back), el('h1', null, '评价服务'), body);
  let data;
  try {
    data = await client.graphql(FORM, { id: applicationId });
  } catch (error) {
    body.replaceChildren(errorBox(error));
    return;
  }
  const app = data.application;
  if (!app) {
    body.replaceChildren(el('div', { class: 'error', testid: 'rate-error' }, '没有找到这个办件'));
    return;
  }
  const form = data.ratingForm;
  const moments = rateableMoments(app, data.myRatings.edges.map((e) => e.node.moment));
  const wanted = params.query && params.query.moment;
  if (!moments.length) {
    body.replaceChildren(el('p', { testid: 'rate-nothing' }, '这个办件暂时没有可以评价的环节，或已全部评价。'));
    return;
  }
  const moment = el('select', { testid: 'rate-moment', value: moments.includes(wanted) ? wanted : moments[0] },
    moments.map((m) => el('option', { value: m }, MOMENT_LABELS[m] || m)));
  let code = null;
  const reasons = el('fieldset', { class: 'card', testid: 'rate-reasons', hidden: true },
    el('legend', null, '差评原因（至少选一项）'),
    form.badReasons.map((r) => el('label', { class: 'row' },
      el('input', { type: 'checkbox', value: r.code, testid: `rate-reason-${r.code}`, style: CHECKBOX }), r.label)));
  const levelButtons = form.levels.map((level) => el('button', {
    type: 'button', testid: `rate-code-${level.code}`, dataset: { code: String(level.code), stars: String(level.stars) },
    'aria-pressed': 'false',
    onclick: () => {
      code = level.code;
      for (const b of levelButtons) {
        const on = Number(b.dataset.code) === code;
        b.classList.toggle('chosen', on);
        b.setAttribute('aria-pressed', String(on));
      }
      reasons.hidden = !BAD_CODES.has(code);
    },
  }, `${'★'.repeat(level.stars)} ${level.label}`));
  const text = el('textarea', { testid: 'rate-text', rows: 3, maxlength: form.textMaxChars, placeholder: `意见建议（选填，${form.textMaxChars} 字以内）` });
  const anonymous = el('input', { type: 'checkbox', testid: 'rate-anonymous', style: CHECKBOX });
  const message = el('div', { testid: 'rate-message' });
  const submit = el('button', { type: 'button', class: 'primary block', testid: 'rate-submit' }, '提交评价');
  body.replaceChildren(
    el('p', { class: 'muted' }, `${app.itemName} · ${app.projectNo || ''}`),
    el('label', { class: 'field' }, el('span', null, '评价环节'), moment),
    el('div', { class: 'levels', testid: 'rate-levels', style: 'display:grid;gap:.5rem;margin-bottom:.75rem' }, levelButtons),
    reasons,
    el('label', { class: 'field' }, el('span', null, '意见建议'), text),
    el('label', { class: 'row', style: 'margin-bottom:.5rem' }, anonymous, '匿名评价'),
    message, submit);

  submit.addEventListener('click', async () => {
    if (code === null) {
      message.replaceChildren(el('div', { class: 'error', testid: 'rate-error' }, '请选择满意程度'));
      return;
    }
    const chosenReasons = BAD_CODES.has(code)
      ? [...reasons.querySelectorAll('input:checked')].map((i) => i.value) : [];
    if (BAD_CODES.has(code) && !chosenReasons.length) {
      message.replaceChildren(el('div', { class: 'error', testid: 'rate-error' }, '差评请至少选择一项原因'));
      return;
    }
    submit.disabled = true;
    try {
      const answer = (await client.graphql(RATE, { input: {
        applicationId, moment: moment.value, satisfactionCode: code, reasons: chosenReasons,
        text: text.value.trim(), anonymous: anonymous.checked, channel: 'H5',
      } })).rateService;
      if (answer.__typename !== 'ServiceRated') {
        message.replaceChildren(errorBox(answer, 'rate-error'));
        submit.disabled = false;
        return;
      }
      const r = answer.rating;
      body.replaceChildren(el('div', { class: 'card', testid: 'rate-done', dataset: { code: String(r.satisfactionCode), moment: r.moment } },
        el('h2', null, '感谢您的评价'),
        el('p', null, `${MOMENT_LABELS[r.moment] || r.moment}：${'★'.repeat(r.stars)} ${r.levelLabel}`),
        r.isBad ? el('p', { class: 'muted', testid: 'rate-rectification' }, '差评已转交办理部门整改，整改结果会通知您。') : null,
        el('a', { class: 'button block', href: `#/application/${encodeURIComponent(applicationId)}` }, '返回办件')));
    } catch (error) {
      toast(errorText(error));
      message.replaceChildren(errorBox(error, 'rate-error'));
      submit.disabled = false;
    }
  });
}
