// 搜索: plain words ("开饭店") find the services; typing suggests names. A hit opens the 办事指南.
import { el, errorBox, loading } from '../app.js';

const SEARCH = `query Search($query: String!, $first: Int) {
  searchServices(query: $query, first: $first) {
    edges { node { score matchedBy service { serviceCode name departmentName forPersons forEnterprises
      promisedLimit { text } visitsRequired onlineDepthLevel } } }
  }
}`;
const SUGGEST = `query Suggest($prefix: String!) { suggestServices(prefix: $prefix, first: 6) { text kind serviceCode } }`;

function audience(service) {
  if (service.forPersons && service.forEnterprises) return '个人/企业';
  return service.forEnterprises ? '企业' : '个人';
}

export async function render(ctx, params) {
  const { client, root, navigate } = ctx;
  const query = (params.query.q || '').trim();
  const input = el('input', {
    type: 'search', name: 'q', value: query, placeholder: '说说你要办什么，如：开饭店', autocomplete: 'off',
    enterkeyhint: 'search', testid: 'search-input',
  });
  const suggestions = el('ul', { class: 'list card', testid: 'search-suggestions', hidden: true });
  const results = el('div', { testid: 'search-results' });
  const form = el('form', { class: 'row', role: 'search' },
    el('div', { class: 'grow' }, input),
    el('button', { type: 'submit', class: 'primary', testid: 'search-submit' }, '搜索'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (q) navigate(`#/search?q=${encodeURIComponent(q)}`);
  });

  let typed = 0;
  let timer = null;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    const prefix = input.value.trim();
    const mine = ++typed;
    if (!prefix) {
      suggestions.hidden = true;
      return;
    }
    timer = setTimeout(async () => {
      try {
        const data = await client.graphql(SUGGEST, { prefix }, { anonymous: true });
        if (mine !== typed) return;
        suggestions.replaceChildren(...data.suggestServices.map((s) => el('li', null,
          el('a', {
            href: s.serviceCode ? `#/guide/${s.serviceCode}` : `#/search?q=${encodeURIComponent(s.text)}`,
            testid: 'search-suggestion',
          }, s.text))));
        suggestions.hidden = data.suggestServices.length === 0;
      } catch (error) {
        suggestions.hidden = true; // suggestions are a convenience: searching still works
      }
    }, 250);
  });
  ctx.onLeave(() => clearTimeout(timer));

  root.append(el('h1', null, '找服务'), form, suggestions, results);
  if (!query) {
    results.append(el('p', { class: 'muted' }, '试试：开饭店、身份证丢了、生孩子、交社保'));
    input.focus();
    return;
  }
  results.append(loading('搜索中…'));
  try {
    const data = await client.graphql(SEARCH, { query, first: 20 }, { anonymous: true });
    const hits = data.searchServices.edges.map((edge) => edge.node);
    results.replaceChildren(
      el('p', { class: 'muted', testid: 'search-count', dataset: { count: hits.length } },
        hits.length ? `找到 ${hits.length} 项服务` : `没有找到与「${query}」相关的服务`),
      el('ul', { class: 'list card' }, hits.map((hit) => el('li', null,
        el('a', { href: `#/guide/${hit.service.serviceCode}`, testid: 'search-hit',
          dataset: { serviceCode: hit.service.serviceCode } },
          el('div', null, hit.service.name, ' ', el('span', { class: 'tag' }, audience(hit.service))),
          el('div', { class: 'muted' }, [hit.service.departmentName,
            hit.service.promisedLimit && `承诺 ${hit.service.promisedLimit.text}`,
            `跑动 ${hit.service.visitsRequired} 次`].filter(Boolean).join(' · ')))))),
    );
  } catch (error) {
    results.replaceChildren(errorBox(error));
  }
}
