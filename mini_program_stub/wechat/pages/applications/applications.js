import { MY_APPLICATIONS } from '../../graphql.js';
import { formatTime, go, showError } from '../../util.js';

Page({
  data: {
    applications: [],
    hasNextPage: false,
    endCursor: null,
    loading: false,
  },

  onShow() {
    this.load(null);
  },

  onPullDownRefresh() {
    this.load(null).then(() => wx.stopPullDownRefresh());
  },

  onReachBottom() {
    if (this.data.hasNextPage && !this.data.loading) this.load(this.data.endCursor);
  },

  async load(after) {
    const app = getApp();
    this.setData({ loading: true });
    try {
      await app.whenSignedIn();
      const data = await app.client.graphql(MY_APPLICATIONS, { after });
      const rows = data.myApplications.edges.map((edge) => ({ ...edge.node, applyTime: formatTime(edge.node.applyTime) }));
      this.setData({
        loading: false,
        applications: after ? this.data.applications.concat(rows) : rows,
        hasNextPage: data.myApplications.pageInfo.hasNextPage,
        endCursor: data.myApplications.pageInfo.endCursor,
      });
    } catch (error) {
      this.setData({ loading: false });
      showError(error);
    }
  },

  openApplication(event) {
    go(`/pages/progress/progress?id=${event.currentTarget.dataset.id}`);
  },
});
