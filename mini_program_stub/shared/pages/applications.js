// Page definition of 办件 (tab), registered by both mini-programs as Page(applicationsPage(ui)).
// Everything here is the same on WeChat and Alipay; what differs goes through the project's `ui` port (shared/ui.js).
import { MY_APPLICATIONS } from '../graphql.js';
import { formatTime } from '../ui.js';

export const applicationsPage = (ui) => ({
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
    this.load(null).then(() => ui.stopPullDownRefresh());
  },

  onReachBottom() {
    if (this.data.hasNextPage && !this.data.loading) this.load(this.data.endCursor);
  },

  async load(after) {
    const app = ui.app();
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
      ui.showError(error);
    }
  },

  openApplication(event) {
    ui.navigateTo(`/pages/progress/progress?id=${ui.dataset(event).id}`);
  },
});
