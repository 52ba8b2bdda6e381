import { dataset, formatTime, showError } from '../../util.js';

const INBOX_TAB_INDEX = 4;

function showUnreadBadge(count) {
  if (count > 0) my.setTabBarBadge({ index: INBOX_TAB_INDEX, text: count > 99 ? '99+' : String(count) });
  else my.removeTabBarBadge({ index: INBOX_TAB_INDEX });
}

Page({
  data: {
    items: [],
    unreadCount: 0,
    hasNextPage: false,
    endCursor: null,
  },

  async onShow() {
    const app = getApp();
    try {
      await app.whenSignedIn();
      await this.load(null);
      // Live while visible: a notice arriving now shows up without pulling (polling fallback inside the client).
      if (!this.unsubscribe) this.unsubscribe = app.client.inbox.subscribe(() => this.load(null).catch(() => {}));
    } catch (error) {
      showError(error);
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
    if (this.data.hasNextPage) this.load(this.data.endCursor).catch(showError);
  },

  async load(after) {
    const connection = await getApp().client.inbox.list({ first: 20, after });
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
    showUnreadBadge(connection.unreadCount);
  },

  async markRead(event) {
    const item = this.data.items[Number(dataset(event).index)];
    if (item.read) return;
    await this.markIds([item.id]);
  },

  async markAllRead() {
    await this.markIds(this.data.items.filter((item) => !item.read).map((item) => item.id));
  },

  async markIds(ids) {
    if (!ids.length) return;
    try {
      await getApp().client.inbox.markRead(ids);
      await this.load(null);
    } catch (error) {
      showError(error);
    }
  },
});
