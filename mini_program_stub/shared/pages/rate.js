// Page definition of 好差评, registered by both mini-programs as Page(ratePage(ui)).
// Everything here is the same on WeChat and Alipay; what differs goes through the project's `ui` port (shared/ui.js).
import { RATE_SERVICE, RATING_FORM } from '../graphql.js';

// Codes 4 and 5 are 差评: the API refuses them without a reason and opens a rectification.
const BAD_FROM_CODE = 4;

export const ratePage = (ui) => ({
  data: {
    applicationId: '',
    moment: 'APPLY',
    levels: [],
    badReasons: [],
    textMaxChars: 200,
    chosenCode: 0,
    isBad: false,
    reasons: [],
    text: '',
    submitting: false,
    rated: null,
    error: '',
  },

  async onLoad(query) {
    // A completed case rates its 办结 moment; before that the 申报 moment is the one open for rating.
    this.setData({ applicationId: query.applicationId, moment: query.status === 'COMPLETED' ? 'COMPLETE' : 'APPLY' });
    try {
      const data = await ui.app().client.graphql(RATING_FORM, {}, { anonymous: true });
      const form = data.ratingForm;
      this.setData({
        levels: form.levels,
        badReasons: form.badReasons.map((reason) => ({ ...reason, checked: false })),
        textMaxChars: form.textMaxChars,
      });
    } catch (error) {
      ui.showError(error);
    }
  },

  chooseLevel(event) {
    const code = Number(ui.dataset(event).code);
    this.setData({ chosenCode: code, isBad: code >= BAD_FROM_CODE, error: '' });
  },

  onReasonsChange(event) {
    const reasons = event.detail.value;
    this.setData({ reasons, badReasons: this.data.badReasons.map((reason) => ({ ...reason, checked: reasons.includes(reason.code) })) });
  },

  onTextInput(event) {
    this.setData({ text: event.detail.value });
  },

  async submit() {
    if (!this.data.chosenCode) return;
    if (this.data.isBad && !this.data.reasons.length) {
      this.setData({ error: '差评请至少选择一个原因' });
      return;
    }
    const client = ui.app().client;
    const input = {
      applicationId: this.data.applicationId,
      moment: this.data.moment,
      satisfactionCode: this.data.chosenCode,
      indicatorScores: [],
      reasons: this.data.isBad ? this.data.reasons : [],
      text: this.data.text,
      anonymous: false,
      channel: ui.channels.app,
    };
    this.setData({ submitting: true, error: '' });
    try {
      await ui.app().whenSignedIn();
      const data = await client.graphql(RATE_SERVICE, { input });
      const result = client.unwrap(data.rateService);
      this.setData({ rated: result.rating, submitting: false });
    } catch (error) {
      this.setData({ submitting: false, error: error.message || String(error) });
    }
  },
});
