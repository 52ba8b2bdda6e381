// Page definition of 办件进度, registered by both mini-programs as Page(progressPage(ui)).
// Everything here is the same on WeChat and Alipay; what differs goes through the project's `ui` port (shared/ui.js).
import { APPLICATION } from '../graphql.js';
import { formatTime } from '../ui.js';

// Rating is open once the case reached a moment worth rating; the server enforces the window and duplicates.
const RATEABLE = ['SUBMITTED', 'PENDING_ACCEPTANCE', 'IN_PROGRESS', 'PENDING_PAYMENT', 'DECIDED', 'COMPLETED'];

export const progressPage = (ui) => ({
  data: {
    id: '',
    application: null,
    timeline: [],
    bill: null,
    rateable: false,
  },

  onLoad(query) {
    this.setData({ id: query.id });
  },

  // Back from the pay or rate page the status has usually moved on, so reload on every show.
  onShow() {
    if (this.data.id) this.load();
  },

  onPullDownRefresh() {
    this.load().then(() => ui.stopPullDownRefresh());
  },

  async load() {
    const app = ui.app();
    try {
      await app.whenSignedIn();
      const data = await app.client.graphql(APPLICATION, { id: this.data.id });
      const application = data.application;
      if (!application) throw new Error('办件不存在');
      // billsDue holds exactly the UNPAID bills, so a match is one this case can pay now.
      const bill = data.myHomePage.billsDue.find((due) => due.applicationId === application.id);
      this.setData({
        application: { ...application, applyTime: formatTime(application.applyTime) },
        timeline: application.timeline.map((event) => ({ ...event, at: formatTime(event.at) })).reverse(),
        bill: bill || null,
        rateable: RATEABLE.includes(application.status),
      });
    } catch (error) {
      ui.showError(error);
    }
  },

  pay() {
    ui.navigateTo(`/pages/pay/pay?billNo=${this.data.bill.billNo}`);
  },

  rate() {
    ui.navigateTo(`/pages/rate/rate?applicationId=${this.data.id}&status=${this.data.application.status}`);
  },
});
