// Page definition of 我的 (tab), registered by both mini-programs as Page(myPage(ui)).
// Everything here is the same on WeChat and Alipay; what differs goes through the project's `ui` port (shared/ui.js).
import { MY_PAGE } from '../graphql.js';

const DRAFT_STATUS_LABELS = { DRAFT: '草稿', CORRECTION: '待修改', SUBMITTED: '已提交' };

export const myPage = (ui) => ({
  data: {
    loading: true,
    me: null,
    applications: [],
    bills: [],
    unread: 0,
    drafts: [],
  },

  onShow() {
    this.load();
  },

  onPullDownRefresh() {
    this.load().then(() => ui.stopPullDownRefresh());
  },

  async load() {
    const app = ui.app();
    try {
      await app.whenSignedIn();
      const data = await app.client.graphql(MY_PAGE);
      this.setData({
        loading: false,
        me: data.me,
        applications: data.myHomePage.applicationsInProgress,
        bills: data.myHomePage.billsDue,
        unread: data.myHomePage.unreadMessageCount,
        drafts: this.draftRows(app.client.drafts.list()),
      });
    } catch (error) {
      this.setData({ loading: false });
      ui.showError(error);
    }
  },

  draftRows(drafts) {
    return drafts
      .filter((draft) => draft.status === 'DRAFT' || draft.status === 'CORRECTION')
      .map((draft) => ({
        id: draft.id,
        serviceCode: draft.serviceCode,
        statusLabel: DRAFT_STATUS_LABELS[draft.status] || draft.status,
        conflictCount: draft.conflicts.length,
        pendingCount: draft.pendingCount,
      }));
  },

  openApplication(event) {
    ui.navigateTo(`/pages/progress/progress?id=${ui.dataset(event).id}`);
  },

  openDraft(event) {
    ui.navigateTo(`/pages/form/form?draftId=${ui.dataset(event).id}`);
  },

  payBill(event) {
    ui.navigateTo(`/pages/pay/pay?billNo=${ui.dataset(event).billNo}`);
  },

  openInbox() {
    ui.switchTab('/pages/inbox/inbox');
  },
});
