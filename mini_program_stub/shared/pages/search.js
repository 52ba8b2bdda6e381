// Page definition of 搜索 (tab), registered by both mini-programs as Page(searchPage(ui)).
// Everything here is the same on WeChat and Alipay; what differs goes through the project's `ui` port (shared/ui.js).
import { SEARCH_SERVICES, SUGGEST_SERVICES } from '../graphql.js';

// Public catalog reads go anonymous: the server caches them per catalog version.
const PUBLIC = { anonymous: true };

export const searchPage = (ui) => ({
  data: {
    query: '',
    suggestions: [],
    hits: [],
    searched: false,
    hasNextPage: false,
    endCursor: null,
    loading: false,
  },

  async onQueryInput(event) {
    const query = event.detail.value;
    this.setData({ query });
    if (!query.trim()) {
      this.setData({ suggestions: [] });
      return;
    }
    try {
      const data = await ui.app().client.graphql(SUGGEST_SERVICES, { prefix: query }, PUBLIC);
      // Typing outruns the network: drop answers for a prefix the user has already changed.
      if (this.data.query === query) this.setData({ suggestions: data.suggestServices });
    } catch (error) {
      this.setData({ suggestions: [] });
    }
  },

  onSuggestionTap(event) {
    const suggestion = this.data.suggestions[ui.dataset(event).index];
    if (suggestion.serviceCode) {
      ui.navigateTo(`/pages/guide/guide?serviceCode=${suggestion.serviceCode}`);
      return;
    }
    this.setData({ query: suggestion.text, suggestions: [] });
    this.onSearch();
  },

  async onSearch() {
    const query = this.data.query.trim();
    if (!query) return;
    this.setData({ loading: true, suggestions: [] });
    try {
      const data = await ui.app().client.graphql(SEARCH_SERVICES, { query, after: null }, PUBLIC);
      this.showPage(data.searchServices, []);
    } catch (error) {
      this.setData({ loading: false });
      ui.showError(error);
    }
  },

  async onReachBottom() {
    if (!this.data.hasNextPage || this.data.loading) return;
    this.setData({ loading: true });
    try {
      const variables = { query: this.data.query.trim(), after: this.data.endCursor };
      const data = await ui.app().client.graphql(SEARCH_SERVICES, variables, PUBLIC);
      this.showPage(data.searchServices, this.data.hits);
    } catch (error) {
      this.setData({ loading: false });
      ui.showError(error);
    }
  },

  showPage(connection, previous) {
    this.setData({
      loading: false,
      searched: true,
      hits: previous.concat(connection.edges.map((edge) => edge.node.service)),
      hasNextPage: connection.pageInfo.hasNextPage,
      endCursor: connection.pageInfo.endCursor,
    });
  },

  openService(event) {
    ui.navigateTo(`/pages/guide/guide?serviceCode=${ui.dataset(event).serviceCode}`);
  },
});
