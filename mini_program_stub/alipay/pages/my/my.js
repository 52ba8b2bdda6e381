import { MY_PAGE } from '../../graphql.js';
import { dataset, go, showError } from '../../util.js';

const DRAFT_STATUS_LABELS = { DRAFT: '草稿', CORRECTION: '待修改', SUBMITTED: '已提交' };

Page({
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
    this.load().then(() => my.stopPullDownRefresh());
  },

  async load() {
    const app = getApp();
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
      showError(error);
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
    go(`/pages/progress/progress?id=${dataset(event).id}`);
  },

  openDraft(event) {
    go(`/pages/form/form?draftId=${dataset(event).id}`);
  },

  payBill(event) {
    go(`/pages/pay/pay?billNo=${dataset(event).billNo}`);
  },

  openInbox() {
    my.switchTab({ url: '/pages/inbox/inbox' });
  },
});
