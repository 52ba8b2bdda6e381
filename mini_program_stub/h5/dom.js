// DOM helpers of the H5 pages (re-exported by app.js, where pages import them from): dependency-free, no framework.

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'multiple', 'readOnly']);

// el('button', {testid: 'x', class: 'primary', onclick: fn, dataset: {id}}, '文本', childNode, [more], null)
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  let value;
  for (const [key, given] of Object.entries(attrs || {})) {
    if (given === undefined || given === null || given === false) continue;
    if (key === 'class') node.className = given;
    else if (key === 'testid') node.setAttribute('data-testid', given);
    else if (key === 'dataset') Object.assign(node.dataset, given);
    else if (key === 'text') node.textContent = given;
    else if (key === 'value') value = given; // after the children: a <select> needs its options first
    else if (key.startsWith('on') && typeof given === 'function') node.addEventListener(key.slice(2), given);
    else if (PROPERTIES.has(key)) node[key] = given;
    else node.setAttribute(key, given === true ? '' : String(given));
  }
  append(node, children);
  if (value !== undefined) node.value = value;
  return node;
}

// node.replaceChildren with el's rules for children (null, false and arrays are fine).
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

let toastTimer = null;
export function toast(text) {
  const box = document.querySelector('[data-testid="toast"]');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
}

export function errorText(error) {
  if (!error) return '未知错误';
  if (error.offline || error.name === 'NetworkError') return '网络不可用，请联网后重试';
  if (error.code) return `${error.message || error.code}（${error.code}）`;
  return error.message || String(error);
}

export function errorBox(error, testid = 'page-error') {
  return el('div', { class: 'error', testid, dataset: { code: (error && error.code) || '' } }, errorText(error));
}

export function loading(text = '加载中…') {
  return el('div', { class: 'loading', testid: 'loading' }, text);
}

const pad = (n) => String(n).padStart(2, '0');
export function formatDate(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
export function formatDateTime(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : `${formatDate(d)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// A Relay connection shown page by page: `more` (加载更多) fetches the page after the last cursor; `empty()` is
// what an empty list says.
export async function pageThrough({ fetchPage, item, status, list, more, empty }) {
  let after = null;
  async function next() {
    more.disabled = true;
    try {
      const connection = await fetchPage(after);
      status.replaceChildren();
      list.append(...connection.edges.map((edge) => item(edge.node)));
      if (!list.children.length) status.append(empty());
      after = connection.pageInfo.endCursor;
      more.hidden = !connection.pageInfo.hasNextPage;
    } catch (error) {
      status.replaceChildren(errorBox(error));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', next);
  await next();
}
