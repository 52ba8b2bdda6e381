// 办事指南 and 情景式导航: what the service needs, then questions that narrow the materials, then 申请 (a new draft).
// An enterprise-only item is applied for while acting for the enterprise: its draft lives in the enterprise's space.
import { el, fill, errorBox, errorText, loading, actAs, openDrafts } from '../app.js';

const GUIDE = `query Guide($serviceCode: String!) {
  serviceGuide(serviceCode: $serviceCode) {
    item { serviceCode name version departmentName forPersons forEnterprises acceptsApplications statusNote
      visitsRequired }
    acceptCondition handleFlow transactTime formVersion minAssuranceLevel isFee feeBasis
    legalLimit { text } promiseLimit { text }
    materials { id name necessity forms source issuingOrg fillGuide elicenseTypeCodes allowCommitment }
    fees { name standard amountYuan }
    windows { name address hours phone }
    faqs { question answer }
    walletCoverage { materialId licenseName }
  }
}`;
const NAVIGATE = `query Navigate($serviceCode: String!, $answers: [NavigationAnswerInput!]) {
  navigate(serviceCode: $serviceCode, answers: $answers) { __typename
    ... on NavigationGuide { complete visitsRequired visitsReason isFee
      questions { situationId question chosenOptionKey options { key label } }
      materials { id name necessity acceptedElicenseTypeCodes allowCommitment }
      windows { name address hours }
      fees { name standard amountYuan }
      legalLimit { text } promisedLimit { text } }
    ... on Error { code message } } }`;
const WHO = `query GuideWho { me { id name actingAs { id name uscc } } myEnterprises { enterprise { id name uscc } role } }`;
const TEMPLATE = `query Template($serviceCode: String!, $version: String!) { formTemplate(serviceCode: $serviceCode, version: $version) }`;

export const NECESSITY = { REQUIRED: '必需', OPTIONAL: '非必需', TOLERATED_LATER: '容缺后补' };

function dl(pairs) {
  return el('dl', { class: 'facts' }, pairs.filter(([, v]) => v).map(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
}

// Creates a draft of the item in the session's current space, prefilled with what the server already knows, and
// answers its id. An enterprise-only item first makes the session act for the person's enterprise (if one).
export async function startDraft(client, serviceCode) {
  const { serviceGuide: guide } = await client.graphql(GUIDE, { serviceCode }, { anonymous: true });
  if (!guide) throw Object.assign(new Error('没有这个事项'), { code: 'NOT_FOUND' });
  if (!guide.item.acceptsApplications) throw Object.assign(new Error(guide.item.statusNote || '该事项暂不受理'), { code: 'SERVICE_CLOSED' });
  let who = await client.graphql(WHO);
  if (!guide.item.forPersons && !who.me.actingAs) {
    if (who.myEnterprises.length !== 1) {
      throw Object.assign(new Error(who.myEnterprises.length
        ? '该事项须以企业身份办理：请先在下方选择要代为办事的企业'
        : '该事项须以企业身份办理，你不是任何企业的法定代表人或经办人'), { code: 'ENTERPRISE_REQUIRED' });
    }
    await actAs(who.myEnterprises[0].enterprise.id);
    who = await client.graphql(WHO);
  }
  const known = {
    'enterprise/name': who.me.actingAs && who.me.actingAs.name,
    'enterprise/uscc': who.me.actingAs && who.me.actingAs.uscc,
    'applicant/name': !who.me.actingAs && who.me.name,
    'contact/name': who.me.name,
  };
  const fields = {};
  try {
    const { formTemplate } = await client.graphql(TEMPLATE, { serviceCode, version: guide.formVersion }, { anonymous: true });
    for (const field of (formTemplate && formTemplate.fields) || []) {
      if (known[field.path]) fields[field.path] = known[field.path];
    }
  } catch (error) {
    // Offline between the guide and the form: the draft starts empty, which is fine.
  }
  await openDrafts();
  return client.drafts.createDraft({ serviceCode, formVersion: guide.formVersion, fields });
}

function navigation(ctx, serviceCode) {
  const box = el('section', { class: 'card', testid: 'nav-panel' }, el('h2', null, '情景导航'));
  const answers = new Map();
  async function refresh() {
    box.replaceChildren(el('h2', null, '情景导航'), loading());
    let result;
    try {
      const data = await ctx.client.graphql(NAVIGATE, {
        serviceCode, answers: [...answers].map(([situationId, optionKey]) => ({ situationId, optionKey })),
      }, { anonymous: true });
      result = ctx.client.unwrap(data.navigate);
    } catch (error) {
      box.replaceChildren(el('h2', null, '情景导航'), errorBox(error, 'nav-error'));
      return;
    }
    const questions = result.questions.map((q) => el('div', { class: 'nav-question-block' },
      el('p', { testid: 'nav-question', dataset: { situationId: q.situationId, chosen: q.chosenOptionKey || '' } }, q.question),
      el('div', { class: 'row' }, q.options.map((o) => el('button', {
        type: 'button', class: q.chosenOptionKey === o.key ? 'chosen' : '', testid: 'nav-option',
        dataset: { key: o.key, chosen: q.chosenOptionKey === o.key ? 'true' : 'false' },
        onclick: () => { answers.set(q.situationId, o.key); refresh(); },
      }, o.label)))));
    const outcome = result.complete && el('div', { testid: 'nav-result', class: 'nav-result' },
      el('h3', null, '你需要准备'),
      el('ul', { class: 'list' }, result.materials.map((m) => el('li', { testid: 'nav-material', dataset: { id: m.id } },
        m.name, ' ', el('span', { class: 'tag' }, NECESSITY[m.necessity] || m.necessity),
        m.acceptedElicenseTypeCodes.length ? el('span', { class: 'muted' }, ' 可用电子证照') : null,
        m.allowCommitment ? el('span', { class: 'muted' }, ' 可告知承诺') : null))),
      dl([
        ['跑动次数', `${result.visitsRequired} 次${result.visitsReason ? `（${result.visitsReason}）` : ''}`],
        ['承诺时限', result.promisedLimit && result.promisedLimit.text],
        ['法定时限', result.legalLimit && result.legalLimit.text],
        ['收费', result.isFee ? result.fees.map((f) => `${f.name} ${f.amountYuan ? `¥${f.amountYuan}` : f.standard}`).join('；') : '不收费'],
        ['办理地点', result.windows.map((w) => `${w.name}（${w.address}）`).join('；')],
      ]));
    fill(box, el('h2', null, '情景导航'),
      questions.length ? questions : el('p', { class: 'muted' }, '本事项没有需要选择的情形'),
      outcome || el('p', { class: 'muted', testid: 'nav-pending' }, '请回答以上问题，查看需要准备的材料'));
  }
  refresh();
  return box;
}

export async function render(ctx, params) {
  const { client, root, navigate } = ctx;
  const { serviceCode } = params;
  root.append(loading());
  let guide;
  try {
    guide = (await client.graphql(GUIDE, { serviceCode }, ctx.signedIn() ? {} : { anonymous: true })).serviceGuide;
  } catch (error) {
    root.replaceChildren(errorBox(error));
    return;
  }
  if (!guide) {
    root.replaceChildren(el('div', { class: 'error', testid: 'page-error' }, '没有这个事项'));
    return;
  }
  const { item } = guide;
  const covered = new Map((guide.walletCoverage || []).map((c) => [c.materialId, c.licenseName]));
  const message = el('div', { testid: 'guide-message' });
  const apply = el('button', { type: 'button', class: 'primary block', testid: 'guide-apply',
    disabled: !item.acceptsApplications }, item.acceptsApplications ? '在线申请' : '暂不受理');
  apply.addEventListener('click', async () => {
    if (!ctx.signedIn()) {
      navigate(`#/signin?next=${encodeURIComponent(`/guide/${serviceCode}`)}`);
      return;
    }
    apply.disabled = true;
    message.replaceChildren();
    try {
      const draftId = await startDraft(client, serviceCode);
      navigate(`#/form/${draftId}`);
    } catch (error) {
      apply.disabled = false;
      message.replaceChildren(el('div', { class: 'error', testid: 'guide-error', dataset: { code: error.code || '' } }, errorText(error)));
      if (error.code === 'ENTERPRISE_REQUIRED') message.append(await enterprisePicker(ctx));
    }
  });
  const navBox = el('div');
  const startNav = el('button', { type: 'button', class: 'block', testid: 'guide-navigate' }, '情景导航：问几个问题，告诉你要准备什么');
  startNav.addEventListener('click', () => { startNav.hidden = true; navBox.replaceChildren(navigation(ctx, serviceCode)); });

  fill(root,
    el('section', { class: 'card' },
      el('h1', { testid: 'guide-title', dataset: { serviceCode } }, item.name),
      el('p', { class: 'muted' }, `${item.departmentName} · ${item.forPersons ? '个人' : ''}${item.forPersons && item.forEnterprises ? '/' : ''}${item.forEnterprises ? '企业' : ''}办理`),
      !item.acceptsApplications && el('p', { class: 'error', testid: 'guide-status-note' }, item.statusNote),
      !item.forPersons && el('p', { class: 'hint', testid: 'guide-enterprise-only' }, '本事项由企业申请：法定代表人或经办人以企业身份办理。'),
      dl([
        ['承诺时限', guide.promiseLimit && guide.promiseLimit.text],
        ['法定时限', guide.legalLimit && guide.legalLimit.text],
        ['跑动次数', `${item.visitsRequired} 次`],
        ['办理时间', guide.transactTime],
      ]),
      apply, message, startNav),
    navBox,
    el('section', { class: 'card', testid: 'guide-conditions' }, el('h2', null, '受理条件'), el('p', null, guide.acceptCondition)),
    el('section', { class: 'card', testid: 'guide-materials' }, el('h2', null, '申请材料'),
      el('ul', { class: 'list' }, guide.materials.map((m) => el('li', { testid: 'guide-material', dataset: { id: m.id } },
        el('div', null, m.name, ' ', el('span', { class: 'tag' }, NECESSITY[m.necessity] || m.necessity)),
        covered.has(m.id) && el('div', { class: 'muted', testid: 'guide-wallet-covered' }, `证照夹已有：${covered.get(m.id)}，无需提交`),
        m.fillGuide && el('div', { class: 'muted' }, m.fillGuide))))),
    el('section', { class: 'card', testid: 'guide-fees' }, el('h2', null, '收费'),
      guide.isFee && guide.fees.length
        ? el('ul', { class: 'list' }, guide.fees.map((f) => el('li', null, `${f.name}：${f.amountYuan ? `¥${f.amountYuan}` : f.standard}`)))
        : el('p', null, '不收费')),
    guide.handleFlow && el('section', { class: 'card' }, el('h2', null, '办理流程'), el('p', null, guide.handleFlow)),
    guide.windows.length > 0 && el('section', { class: 'card' }, el('h2', null, '办理地点'),
      el('ul', { class: 'list' }, guide.windows.map((w) => el('li', null, el('div', null, w.name),
        el('div', { class: 'muted' }, `${w.address} · ${w.hours} · ${w.phone}`))))),
    guide.faqs.length > 0 && el('section', { class: 'card', testid: 'guide-faqs' }, el('h2', null, '常见问题'),
      guide.faqs.map((f) => el('details', { testid: 'guide-faq' }, el('summary', null, f.question), el('p', null, f.answer)))),
  );
}

async function enterprisePicker(ctx) {
  let data;
  try {
    data = await ctx.client.graphql(WHO);
  } catch (error) {
    return errorBox(error);
  }
  return el('ul', { class: 'list', testid: 'guide-enterprises' }, data.myEnterprises.map((m) => el('li', null,
    el('button', { type: 'button', testid: 'guide-act-as', dataset: { id: m.enterprise.id }, onclick: async (event) => {
      event.target.disabled = true;
      try {
        await actAs(m.enterprise.id);
        ctx.toast(`正在以「${m.enterprise.name}」身份办事，请再点「在线申请」`);
      } catch (error) {
        event.target.disabled = false;
        ctx.toast(errorText(error));
      }
    } }, `以「${m.enterprise.name}」身份办理`))));
}
