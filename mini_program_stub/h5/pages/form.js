// 申请表 (an offline draft): every keystroke reaches client.drafts.edit (debounced ≤ 250 ms, flushed on blur, on
// leaving and on pagehide), the view follows drafts.subscribe without overwriting the field being typed in, open
// conflicts are resolved with a button per value, and 提交 sends SUBMIT with what the page shows.
import { el, errorBox, errorText, loading, openDrafts } from '../app.js';
import { startDraft } from './guide.js';
import { materialsSection, loadMaterialContext } from './form-materials.js';

const TEMPLATE = `query Template($serviceCode: String!, $version: String!) { formTemplate(serviceCode: $serviceCode, version: $version) }`;
const DEBOUNCE_MS = 250;
const PULL_EVERY_MS = 8000;

export const fieldTestId = (path) => `field-${path.split('/').join('--')}`;

export function show(value) {
  if (value === null || value === undefined || value === '') return '（空）';
  if (typeof value === 'object') return value.name || JSON.stringify(value);
  return String(value);
}

// The template is data the page needs offline too: cached per form version (it never changes once published).
async function template(client, serviceCode, version) {
  const key = `zsb.h5.template.${serviceCode}.${version}`;
  try {
    const data = await client.graphql(TEMPLATE, { serviceCode, version }, { anonymous: true });
    if (data.formTemplate) localStorage.setItem(key, JSON.stringify(data.formTemplate));
    return data.formTemplate;
  } catch (error) {
    const cached = localStorage.getItem(key);
    if (cached) return JSON.parse(cached);
    throw error;
  }
}

function inputFor(field, onValue) {
  const attrs = { testid: fieldTestId(field.path), name: field.path, dataset: { path: field.path } };
  let input;
  if (field.type === 'enum') {
    input = el('select', attrs, el('option', { value: '' }, '请选择'),
      (field.options || []).map((o) => el('option', { value: o }, o)));
  } else if (field.type === 'date') {
    input = el('input', { ...attrs, type: 'date' });
  } else {
    const kinds = { phone: ['tel', 'numeric'], number: ['text', 'numeric'], id_number: ['text', 'text'] };
    const [type, inputmode] = kinds[field.type] || ['text', 'text'];
    input = el('input', { ...attrs, type, inputmode, maxlength: field.maxLength, autocomplete: 'off' });
  }
  input.addEventListener('input', () => onValue(field, input, false));
  input.addEventListener('change', () => onValue(field, input, true));
  input.addEventListener('blur', () => onValue(field, input, true));
  return input;
}

// Form inputs travel as strings; a number field's digits go as the integer the form's schema expects.
function valueOf(field, input) {
  const raw = input.value;
  if (raw === '') return null;
  if (field.type === 'number' && /^\d{1,15}$/.test(raw.trim())) return Number(raw.trim());
  return raw;
}

function syncState(status, view, unsent) {
  if (view.lastError && !(view.lastError.offline || view.lastError.name === 'NetworkError')) return 'error';
  if (!status.online) return 'offline';
  if (status.syncing) return 'syncing';
  return view.pendingCount + unsent > 0 ? 'pending' : 'synced';
}

const STATE_TEXT = { synced: '已同步', pending: '待同步', syncing: '同步中…', offline: '离线：修改已保存在本机，联网后自动同步', error: '同步出错' };

export async function render(ctx, params) {
  const { client, root, navigate } = ctx;
  if (params.route === 'form/new/:serviceCode') {
    root.append(loading('正在创建草稿…'));
    try {
      navigate(`#/form/${await startDraft(client, params.serviceCode)}`, { replace: true });
    } catch (error) {
      root.replaceChildren(errorBox(error));
    }
    return;
  }
  const { draftId } = params;
  const { drafts } = client;
  root.append(loading());
  await openDrafts();
  if (!drafts.get(draftId)) await drafts.sync().catch(() => null); // made on another device: pull it first
  let view = drafts.get(draftId);
  if (!view) {
    root.replaceChildren(el('div', { class: 'error', testid: 'form-not-found' }, '本机没有这份草稿（联网后会自动同步）'));
    return;
  }
  let tpl;
  let materialContext;
  try {
    [tpl, materialContext] = await Promise.all([
      template(client, view.serviceCode, view.formVersion),
      loadMaterialContext(client, view.serviceCode),
    ]);
  } catch (error) {
    root.replaceChildren(errorBox(error));
    return;
  }
  if (!tpl) {
    root.replaceChildren(el('div', { class: 'error', testid: 'page-error' }, `表单版本 ${view.formVersion} 不存在`));
    return;
  }

  const timers = new Map(); // path -> [timer, value] not yet handed to drafts.edit
  const inputs = new Map(); // path -> input element
  function flush(path) {
    const waiting = timers.get(path);
    if (!waiting) return;
    clearTimeout(waiting[0]);
    timers.delete(path);
    drafts.edit(draftId, path, waiting[1]);
  }
  const flushAll = () => { for (const path of [...timers.keys()]) flush(path); };
  function onValue(field, input, now) {
    const value = valueOf(field, input);
    const known = view.fields[field.path] === undefined ? null : view.fields[field.path];
    if (!timers.has(field.path) && value === known) return;
    const waiting = timers.get(field.path);
    if (waiting) clearTimeout(waiting[0]);
    timers.set(field.path, [setTimeout(() => { flush(field.path); }, DEBOUNCE_MS), value]);
    if (now) flush(field.path);
    paintStatus();
  }
  window.addEventListener('pagehide', flushAll);
  document.addEventListener('visibilitychange', flushAll);
  ctx.onLeave(() => {
    flushAll();
    window.removeEventListener('pagehide', flushAll);
    document.removeEventListener('visibilitychange', flushAll);
  });

  const plain = tpl.fields.filter((f) => !f.path.includes('*') && f.type !== 'group' && f.type !== 'file');
  const fieldBox = el('section', { class: 'card', testid: 'form-fields' }, plain.map((field) => {
    const input = inputFor(field, onValue);
    inputs.set(field.path, input);
    return el('label', { class: 'field' },
      el('span', null, field.label || field.path, field.required ? el('span', { class: 'required' }, '*') : null), input);
  }));
  const materials = materialsSection(ctx, draftId, materialContext, () => view);
  const status = el('div', { class: 'sync-status', testid: 'sync-status', role: 'status' });
  const conflicts = el('div', { testid: 'form-conflicts' });
  const quarantined = el('div', { testid: 'form-quarantined' });
  const outcome = el('div', { testid: 'form-outcome' });
  const submit = el('button', { type: 'button', class: 'primary block', testid: 'form-submit' }, '提交申请');
  const title = el('h1', { testid: 'form-title' }, materialContext.name || view.serviceCode);

  function paintStatus() {
    const s = drafts.status;
    const state = syncState(s, view, timers.size);
    status.dataset.state = state;
    status.dataset.pending = String(view.pendingCount + timers.size);
    status.textContent = `${STATE_TEXT[state]}${view.pendingCount + timers.size ? `（${view.pendingCount + timers.size} 项待上传）` : ''}`;
    if (state === 'error') status.textContent += `：${errorText(view.lastError)}`;
  }

  function paintConflicts() {
    conflicts.replaceChildren(...view.conflicts.map((c) => {
      const label = (tpl.fields.find((f) => f.path === c.path) || {}).label || c.path;
      const choose = (value) => () => { drafts.resolveConflict(draftId, c.id, value); ctx.toast(`已选择：${show(value)}`); };
      return el('div', { class: 'conflict', testid: 'conflict', dataset: { path: c.path, id: c.id } },
        el('p', null, `「${label}」在另一台设备上也被修改了，请选择保留哪个值：`),
        el('div', { class: 'row' },
          el('span', { class: 'muted' }, '当前值'),
          el('button', { type: 'button', testid: 'conflict-server', onclick: choose(c.serverValue) }, show(c.serverValue))),
        el('div', { class: 'row' }, el('span', { class: 'muted' }, '其他设备'), c.candidates.map((k) =>
          el('button', { type: 'button', testid: 'conflict-candidate', dataset: { clientId: k.clientId },
            onclick: choose(k.value) }, show(k.value)))));
    }));
    quarantined.replaceChildren(...(view.quarantined || []).map((q) => el('div', { class: 'error', testid: 'quarantined-op',
      dataset: { path: q.path || '', code: q.code || '' } }, `未能保存的修改：${q.path || ''} = ${show(q.value)}（${q.code}）`)));
  }

  function paintOutcome() {
    if (view.status === 'SUBMITTED' && view.applicationId) {
      outcome.replaceChildren(el('div', { class: 'hint', testid: 'form-submitted' }, '已提交。',
        el('a', { href: `#/application/${view.applicationId}`, testid: 'form-application-link' }, '查看办件进度')));
    }
    const locked = view.status === 'SUBMITTED' || view.status === 'DELETED';
    submit.hidden = locked;
    for (const input of root.querySelectorAll('input, select')) input.disabled = locked;
  }

  function paint() {
    view = drafts.get(draftId) || view;
    for (const [path, input] of inputs) {
      // The field being typed in and edits not yet handed over keep what the person sees.
      if (document.activeElement === input || timers.has(path)) continue;
      const value = view.fields[path];
      const shown = value === null || value === undefined ? '' : String(value);
      if (input.value !== shown) input.value = shown;
    }
    materials.paint();
    paintConflicts();
    paintStatus();
    paintOutcome();
  }

  submit.addEventListener('click', async () => {
    flushAll();
    submit.disabled = true;
    outcome.replaceChildren(loading('提交中…'));
    try {
      const result = await drafts.submit(draftId);
      view = drafts.get(draftId) || view;
      if (result.applicationId) {
        outcome.replaceChildren(el('div', { class: 'hint', testid: 'form-submitted', dataset: { applicationId: result.applicationId } },
          '已提交，办件已生成。', el('a', { href: `#/application/${result.applicationId}`, testid: 'form-application-link' }, '查看办件进度')));
        submit.hidden = true;
      } else {
        const problem = result.error || { code: result.status, paths: [] };
        outcome.replaceChildren(el('div', { class: 'error', testid: 'form-error', dataset: { code: problem.code } },
          `未能提交（${problem.code}）${problem.message ? `：${problem.message}` : ''}`,
          problem.paths && problem.paths.length ? el('div', { testid: 'form-error-paths' }, `涉及：${problem.paths.join('、')}`) : null));
      }
    } catch (error) {
      outcome.replaceChildren(el('div', { class: 'error', testid: 'form-error', dataset: { code: error.code || 'NETWORK' } }, errorText(error)));
    } finally {
      submit.disabled = false;
      paint();
    }
  });

  root.replaceChildren(title, status, conflicts, quarantined, fieldBox, materials.node, outcome, submit,
    el('p', { class: 'muted' }, el('a', { href: '#/drafts', testid: 'form-drafts-link' }, '我的草稿')));
  paint();
  const unsubscribe = drafts.subscribe((event) => {
    if (!event || !event.draftId || event.draftId === draftId) paint();
  });
  ctx.onLeave(unsubscribe);
  // Pokes bring other devices' changes; while the form is on screen a pull every few seconds covers a lost poke.
  const pull = () => {
    if (document.visibilityState === 'visible' && drafts.status.online && !drafts.status.syncing) drafts.sync().catch(() => null);
  };
  const poll = setInterval(pull, PULL_EVERY_MS);
  window.addEventListener('focus', pull);
  ctx.onLeave(() => { clearInterval(poll); window.removeEventListener('focus', pull); });
}
