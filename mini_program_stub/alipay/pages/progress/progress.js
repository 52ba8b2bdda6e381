import { APPLICATION } from '../../graphql.js';
import { formatTime, go, showError } from '../../util.js';

// Rating is open once the case reached a moment worth rating; the server enforces the window and duplicates.
const RATEABLE = ['SUBMITTED', 'PENDING_ACCEPTANCE', 'IN_PROGRESS', 'PENDING_PAYMENT', 'DECIDED', 'COMPLETED'];

Page({
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
    this.load().then(() => my.stopPullDownRefresh());
  },

  async load() {
    const app = getApp();
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
      showError(error);
    }
  },

  pay() {
    go(`/pages/pay/pay?billNo=${this.data.bill.billNo}`);
  },

  rate() {
    go(`/pages/rate/rate?applicationId=${this.data.id}&status=${this.data.application.status}`);
  },
});
