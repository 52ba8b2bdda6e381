// 亮证: the licence's face and, on request, a single-scan QR valid for 120 s with a countdown; shown again on demand.
import { el, errorBox, errorText, loading, formatDate } from '../app.js';
import { encodeQr, qrToSvg } from '../client/qr.js';
import { LICENSE_STATUS, validity } from './wallet.js';

const LICENSE = `query License($id: ID!) { license(id: $id) {
  id name typeName certNumber issuerName holderName issueDate validFrom validTo expiresInDays status trustGrade
  surface { key value } } }`;
const SHOW = `mutation ShowLicense($input: ShowLicenseInput!) { showLicense(input: $input) { __typename
  ... on LicenseQrToken { licenseId qrPayload expiresAt ttlSeconds } ... on Error { code message path } } }`;

export function surfaceList(entries, testid = 'license-surface') {
  return el('dl', { class: 'facts', testid }, entries.map((s) => [el('dt', null, s.key), el('dd', null, s.value)]));
}

export function qrElement(text) {
  const holder = document.createElement('div');
  holder.innerHTML = qrToSvg(encodeQr(text, { ecl: 'M' }), { scale: 6, margin: 4 });
  const svg = holder.firstElementChild;
  svg.setAttribute('data-testid', 'license-qr');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', '亮证二维码');
  svg.style.maxWidth = '100%';
  svg.style.height = 'auto';
  return svg;
}

export async function render(ctx, params) {
  const { client, root, toast } = ctx;
  const body = el('div', null, loading());
  root.append(el('p', null, el('a', { href: '#/wallet', testid: 'license-back' }, '‹ 我的证照')), body);
  let license;
  try {
    license = (await client.graphql(LICENSE, { id: params.id })).license;
  } catch (error) {
    body.replaceChildren(errorBox(error));
    return;
  }
  if (!license) {
    body.replaceChildren(el('div', { class: 'error', testid: 'license-not-found' }, '没有找到这张证照'));
    return;
  }
  const qrBox = el('div', { class: 'qr-box', testid: 'license-qr-box', style: 'text-align:center;overflow-wrap:anywhere;margin:.75rem 0' });
  const show = el('button', { type: 'button', class: 'primary block', testid: 'license-show-qr' }, '亮证（出示二维码）');
  body.replaceChildren(
    el('div', { class: 'card', testid: 'license-card', dataset: { status: license.status } },
      el('h1', { testid: 'license-name' }, license.name),
      el('p', { class: 'muted' }, `${license.typeName} · 可信等级 ${license.trustGrade}`),
      el('p', null, `证照编号：${license.certNumber}`),
      el('p', null, `持证人：${license.holderName}`),
      el('p', null, `发证机关：${license.issuerName} · 发证日期 ${formatDate(license.issueDate)}`),
      el('p', null, validity(license), ' · ', LICENSE_STATUS[license.status] || license.status)),
    show, qrBox,
    license.surface.length ? el('div', { class: 'card' }, el('h2', null, '证照信息'), surfaceList(license.surface)) : el('span'));
  let countdown = null;
  const stopCountdown = () => { clearInterval(countdown); countdown = null; };
  async function showQr() {
    show.disabled = true;
    stopCountdown();
    try {
      const answer = (await client.graphql(SHOW, { input: { licenseId: license.id } })).showLicense;
      if (answer.__typename !== 'LicenseQrToken') {
        qrBox.replaceChildren(errorBox(answer, 'license-qr-error'));
        return;
      }
      const expiresAt = Date.parse(answer.expiresAt);
      const expires = el('p', { class: 'muted', testid: 'license-qr-expires', dataset: { expiresAt: answer.expiresAt } });
      const tick = () => {
        const left = Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000));
        expires.dataset.secondsLeft = String(left);
        expires.textContent = left > 0 ? `${left} 秒后失效，仅可扫码一次` : '二维码已失效，请重新出示';
        if (left === 0) {
          stopCountdown();
          qrBox.querySelector('[data-testid="license-qr"]')?.classList.add('expired');
          show.textContent = '重新出示二维码';
        }
        if (!root.isConnected) stopCountdown();
      };
      qrBox.replaceChildren(
        qrElement(answer.qrPayload),
        el('p', { class: 'muted' }, '核验方扫码内容：'),
        el('code', { class: 'qr-payload', testid: 'license-qr-payload' }, answer.qrPayload),
        expires);
      tick();
      countdown = setInterval(tick, 1000);
      show.textContent = '刷新二维码';
    } catch (error) {
      toast(errorText(error));
      qrBox.replaceChildren(errorBox(error, 'license-qr-error'));
    } finally {
      show.disabled = false;
    }
  }
  show.addEventListener('click', showQr);
  return stopCountdown;
}
