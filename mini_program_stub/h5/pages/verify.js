// 扫码核验 (verifier side): a verifier app's client id and credential plus the scanned QR text; shows authenticity
// and the licence's face. Each QR token verifies once: a second scan is refused and shown as such.
import { el, errorText, formatDate, formatDateTime } from '../app.js';
import { LICENSE_STATUS } from './wallet.js';
import { surfaceList } from './license.js';

const VERIFY = `mutation VerifyLicenseToken($input: VerifyLicenseTokenInput!) { verifyLicenseToken(input: $input) {
  __typename
  ... on LicenseVerification { authentic valid verifiedAt
    license { identifier name typeName certNumber issuerName holderName validFrom validTo status surface { key value } } }
  ... on Error { code message path } } }`;

const CLIENT_ID_KEY = 'zsb.h5.verifier.clientId';

function verified(v) {
  const ok = v.authentic && v.valid;
  const l = v.license;
  return el('div', { class: `card ${ok ? '' : 'warn'}`, testid: 'verify-result', dataset: { valid: String(ok), authentic: String(v.authentic) } },
    el('h2', { testid: 'verify-verdict' }, ok ? '✔ 证照真实有效' : (v.authentic ? '证照真实，但当前无效' : '✘ 证照不真实')),
    el('p', null, `${l.name}（${l.typeName}）`),
    el('p', { testid: 'verify-holder' }, `持证人：${l.holderName}`),
    el('p', { testid: 'verify-cert-number' }, `证照编号：${l.certNumber}`),
    el('p', null, `发证机关：${l.issuerName}`),
    el('p', null, `有效期：${formatDate(l.validFrom)} 至 ${l.validTo ? formatDate(l.validTo) : '长期'} · ${LICENSE_STATUS[l.status] || l.status}`),
    l.surface.length ? surfaceList(l.surface, 'verify-surface') : null,
    el('p', { class: 'muted' }, `核验时间 ${formatDateTime(v.verifiedAt)}`));
}

function refused(code, message) {
  const text = {
    TOKEN_EXPIRED: '二维码已过期，请持证人刷新后重新出示',
    TOKEN_USED: '该二维码已被核验过，每个二维码只能核验一次',
    TOKEN_INVALID: '这不是本平台签发的亮证二维码',
  }[code];
  return el('div', { class: 'card warn', testid: 'verify-result', dataset: { valid: 'false', code: code || '' } },
    el('h2', { testid: 'verify-verdict' }, '✘ 核验未通过'),
    el('p', { class: 'error', testid: 'verify-error', dataset: { code: code || '' } }, text ? `${text}（${code}）` : `${message}（${code}）`));
}

export async function render(ctx, params) {
  const { client, root } = ctx;
  const query = params.query || {};
  const clientId = el('input', { type: 'text', testid: 'verify-client-id', autocomplete: 'off',
    value: query.clientId || localStorage.getItem(CLIENT_ID_KEY) || '', placeholder: '核验方应用 client id' });
  const credential = el('input', { type: 'password', testid: 'verify-credential', autocomplete: 'off', placeholder: '核验方应用凭证' });
  const token = el('textarea', { testid: 'verify-token', rows: 3, placeholder: '扫码得到的内容，如 zsb-license:…', value: query.token || '' });
  const purpose = el('input', { type: 'text', testid: 'verify-purpose', value: '现场核验', maxlength: 100 });
  const submit = el('button', { type: 'submit', class: 'primary block', testid: 'verify-submit' }, '核验');
  const out = el('div', { testid: 'verify-output' });
  const form = el('form', { class: 'card' },
    el('label', { class: 'field' }, el('span', null, '核验方 client id'), clientId),
    el('label', { class: 'field' }, el('span', null, '核验方凭证'), credential),
    el('label', { class: 'field' }, el('span', null, '二维码内容'), token),
    el('label', { class: 'field' }, el('span', null, '用途'), purpose),
    submit);
  root.append(el('h1', null, '证照核验（核验方）'),
    el('p', { class: 'muted' }, '用核验方应用的身份核验持证人出示的亮证二维码。'), form, out);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = { token: token.value.trim(), purpose: purpose.value.trim(), clientId: clientId.value.trim(),
      credential: credential.value };
    if (!input.token || !input.clientId || !input.credential) {
      out.replaceChildren(el('div', { class: 'error', testid: 'verify-error' }, '请填写 client id、凭证和二维码内容'));
      return;
    }
    localStorage.setItem(CLIENT_ID_KEY, input.clientId);
    submit.disabled = true;
    try {
      // Anonymous: the verifier app proves itself with its credential, never with a resident's session.
      const answer = (await client.graphql(VERIFY, { input }, { anonymous: true })).verifyLicenseToken;
      out.replaceChildren(answer.__typename === 'LicenseVerification' ? verified(answer) : refused(answer.code, answer.message));
    } catch (error) {
      out.replaceChildren(refused(error.code || 'ERROR', errorText(error)));
    } finally {
      submit.disabled = false;
    }
  });
}
