// Page definition of 消息 (tab), registered by both mini-programs as Page(inboxPage(ui)).
// Everything here is the same on WeChat and Alipay; what differs goes through the project's `ui` port (shared/ui.js).
import { formatTime } from '../ui.js';

// The tabBar position of pages/inbox/inbox in both app.json files.
const INBOX_TAB_INDEX = 4;

export const inboxPage = (ui) => ({
  data: {
    items: [],
    unreadCount: 0,
    hasNextPage: false,
    endCursor: null,
  },

  async onShow() {
    const app = ui.app();
    try {
      await app.whenSignedIn();
      await this.load(null);
      // Live while visible: a notice arriving now shows up without pulling (polling fallback inside the client).
      if (!this.unsubscribe) this.unsubscribe = app.client.inbox.subscribe(() => this.load(null).catch(() => {}));
    } catch (error) {
      ui.showError(error);
    }
  },

  onHide() {
    this.stopLive();
  },

  onUnload() {
    this.stopLive();
  },

  stopLive() {
    if (this.unsubscribe) this.unsubscribe();
    this.unsubscribe = null;
  },

  onReachBottom() {
    if (this.data.hasNextPage) this.load(this.data.endCursor).catch(ui.showError);
  },

  async load(after) {
    const connection = await ui.app().client.inbox.list({ first: 20, after });
    const rows = connection.edges.map((edge) => ({
      ...edge.node,
      read: Boolean(edge.node.readAt),
      createdAt: formatTime(edge.node.createdAt),
    }));
    this.setData({
      items: after ? this.data.items.concat(rows) : rows,
      unreadCount: connection.unreadCount,
      hasNextPage: connection.pageInfo.hasNextPage,
      endCursor: connection.pageInfo.endCursor,
    });
    ui.setTabBadge(INBOX_TAB_INDEX, connection.unreadCount);
  },

  async markRead(event) {
    const item = this.data.items[Number(ui.dataset(event).index)];
    if (item.read) return;
    await this.markIds([item.id]);
  },

  async markAllRead() {
    await this.markIds(this.data.items.filter((item) => !item.read).map((item) => item.id));
  },

  async markIds(ids) {
    if (!ids.length) return;
    try {
      await ui.app().client.inbox.markRead(ids);
      await this.load(null);
    } catch (error) {
      ui.showError(error);
    }
  },
});
