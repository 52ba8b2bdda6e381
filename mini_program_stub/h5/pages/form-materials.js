// The 申请材料 part of the form: per material, files uploaded in chunks (client.uploads) and referenced at
// materials/{requirementId}/files/{itemId}, or a wallet licence at materials/{requirementId}/licenceId. Materials
// the wallet already satisfies need nothing: the server fills them in at submission.
import { el, errorText } from '../app.js';
import { uuid7 } from '../client/sync/ids.js';
import { sha256Hex } from '../client/sha256.js';
import { NECESSITY } from './guide.js';

const CONTEXT = `query MaterialContext($serviceCode: String!) {
  serviceGuide(serviceCode: $serviceCode) { item { name } materials { id name necessity elicenseTypeCodes fillGuide }
    walletCoverage { materialId licenseName } }
  me { actingAs { id } }
  myLicenses(first: 50) { edges { node { id name typeCode certNumber status } } }
}`;
const ENTERPRISE_LICENCES = `query EnterpriseLicences($id: ID!) {
  enterpriseLicenses(enterpriseId: $id, first: 50) { edges { node { id name typeCode certNumber status } } } }`;
const ACCEPT = 'image/jpeg,image/png,application/pdf,.ofd';

// What the materials part needs, cached so that a draft opened offline still shows its materials.
export async function loadMaterialContext(client, serviceCode) {
  const key = `zsb.h5.materials.${serviceCode}`;
  try {
    const data = await client.graphql(CONTEXT, { serviceCode });
    let licences = data.myLicenses.edges.map((e) => e.node);
    if (data.me.actingAs) {
      const more = await client.graphql(ENTERPRISE_LICENCES, { id: data.me.actingAs.id });
      licences = [...more.enterpriseLicenses.edges.map((e) => e.node), ...licences];
    }
    const context = {
      name: data.serviceGuide.item.name,
      materials: data.serviceGuide.materials,
      covered: Object.fromEntries((data.serviceGuide.walletCoverage || []).map((c) => [c.materialId, c.licenseName])),
      licences: licences.filter((l) => l.status === 'VALID'),
    };
    localStorage.setItem(key, JSON.stringify(context));
    return context;
  } catch (error) {
    const cached = localStorage.getItem(key);
    if (cached) return JSON.parse(cached);
    if (error.offline || error.name === 'NetworkError') return { name: '', materials: [], covered: {}, licences: [] };
    throw error;
  }
}

// The order of sync-protocol.md §11.2: hash the file here, put the reference in the draft first (it syncs like any
// value, and that first push is what registers this device's sync client, which createUpload needs), then upload.
// A failed upload never takes the reference out of the draft: the status shows the error, and choosing the same
// file again for the material reuses its reference (no duplicate) while createUpload resumes the same upload.
async function attach(client, draftId, base, file, onProgress) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes.length === 0) throw Object.assign(new Error('文件是空的'), { code: 'EMPTY_FILE' });
  const reference = { blobSha256: sha256Hex(bytes), name: file.name, size: bytes.length, mime: mimeOf(file) };
  const view = client.drafts.get(draftId);
  const fields = (view && view.fields) || {};
  const same = Object.keys(fields).find((p) => p.startsWith(`${base}/files/`) && fields[p]
    && fields[p].blobSha256 === reference.blobSha256 && fields[p].name === reference.name);
  if (!same) client.drafts.edit(draftId, `${base}/files/${uuid7()}`, reference);
  await client.drafts.sync().catch(() => null); // offline: the reference waits with the other edits
  await client.uploads.upload({ bytes, fileName: reference.name, mime: reference.mime, sha256: reference.blobSha256, onProgress });
  return reference;
}

function mimeOf(file) {
  if (file.type) return file.type;
  return /\.ofd$/i.test(file.name) ? 'application/ofd' : 'application/octet-stream';
}

export function materialsSection(ctx, draftId, context, currentView) {
  const { client } = ctx;
  const { drafts } = client;
  const painters = [];
  const blocks = context.materials.map((m) => {
    const base = `materials/${m.id}`;
    const list = el('ul', { class: 'list', testid: 'material-files', dataset: { id: m.id } });
    const progress = el('div', { class: 'muted', testid: 'material-upload-status', dataset: { id: m.id } });
    const picker = el('input', { type: 'file', accept: ACCEPT, multiple: true, testid: `field-materials--${m.id}--files` });
    picker.addEventListener('change', async () => {
      const files = [...picker.files];
      picker.value = '';
      for (const file of files) {
        progress.textContent = `正在上传 ${file.name}…`;
        progress.dataset.state = 'uploading';
        try {
          await attach(client, draftId, base, file, (sent, total) => {
            progress.textContent = `正在上传 ${file.name}：${Math.round((100 * sent) / Math.max(1, total))}%`;
          });
          progress.textContent = `${file.name} 已上传`;
          progress.dataset.state = 'done';
        } catch (error) {
          progress.textContent = `${file.name} 上传失败：${errorText(error)}`;
          progress.dataset.state = 'error';
        }
      }
    });
    const options = context.licences.filter((l) => m.elicenseTypeCodes.includes(l.typeCode));
    const licence = options.length > 0 && el('select', { testid: `field-materials--${m.id}--licenceId`, dataset: { path: `${base}/licenceId` } },
      el('option', { value: '' }, '不使用电子证照'),
      options.map((l) => el('option', { value: l.id }, `${l.name}（${l.certNumber}）`)));
    if (licence) licence.addEventListener('change', () => drafts.edit(draftId, `${base}/licenceId`, licence.value || null));

    painters.push((view) => {
      if (licence && document.activeElement !== licence) licence.value = view.fields[`${base}/licenceId`] || '';
      const prefix = `${base}/files/`;
      const files = Object.keys(view.fields).filter((p) => p.startsWith(prefix) && view.fields[p]).sort();
      list.replaceChildren(...files.map((path) => el('li', { testid: 'material-file', dataset: { path } }, el('div', { class: 'row' },
        el('span', { class: 'grow' }, view.fields[path].name || path.slice(prefix.length)),
        el('button', { type: 'button', class: 'link', testid: 'material-file-remove', onclick: () => drafts.edit(draftId, path, null) }, '删除')))));
    });
    return el('div', { class: 'material', testid: 'form-material', dataset: { id: m.id } },
      el('h3', null, m.name, ' ', el('span', { class: 'tag' }, NECESSITY[m.necessity] || m.necessity)),
      context.covered[m.id]
        ? el('p', { class: 'muted', testid: 'material-covered' }, `证照夹已有「${context.covered[m.id]}」，无需提交`)
        : null,
      m.fillGuide && el('p', { class: 'muted' }, m.fillGuide),
      licence && el('label', { class: 'field' }, el('span', null, '使用电子证照'), licence),
      list,
      el('label', { class: 'field' }, el('span', null, '上传文件（JPG、PNG、PDF、OFD）'), picker),
      progress);
  });
  return {
    node: el('section', { class: 'card', testid: 'form-materials' }, el('h2', null, '申请材料'),
      blocks.length ? blocks : el('p', { class: 'muted' }, '材料清单暂不可用（离线）')),
    paint() {
      const view = currentView();
      for (const paintOne of painters) paintOne(view);
    },
  };
}
