import { NAVIGATE, SERVICE_GUIDE } from '../../graphql.js';
import { go, showError } from '../../util.js';

const PUBLIC = { anonymous: true };

Page({
  data: {
    serviceCode: '',
    guide: null,
    questions: [],
    materials: [],
    complete: false,
    visitsReason: '',
    answers: [],
  },

  async onLoad(query) {
    this.setData({ serviceCode: query.serviceCode });
    const client = getApp().client;
    try {
      const data = await client.graphql(SERVICE_GUIDE, { serviceCode: query.serviceCode }, PUBLIC);
      if (!data.serviceGuide) {
        showError(new Error('事项不存在'));
        return;
      }
      wx.setNavigationBarTitle({ title: data.serviceGuide.item.name });
      this.setData({ guide: data.serviceGuide, materials: data.serviceGuide.materials });
      await this.navigate([]);
    } catch (error) {
      showError(error);
    }
  },

  // 情景式导航: every answer re-asks the server, which narrows the materials and may reveal follow-up questions.
  async navigate(answers) {
    const variables = { serviceCode: this.data.serviceCode, answers };
    const data = await getApp().client.graphql(NAVIGATE, variables, PUBLIC);
    const result = getApp().client.unwrap(data.navigate);
    this.setData({
      answers,
      questions: result.questions,
      materials: answers.length ? result.materials : this.data.materials,
      complete: result.complete,
      visitsReason: result.visitsReason,
    });
  },

  async chooseOption(event) {
    const { situationId, key } = event.currentTarget.dataset;
    const answers = this.data.answers.filter((answer) => answer.situationId !== situationId);
    answers.push({ situationId, optionKey: key });
    try {
      await this.navigate(answers);
    } catch (error) {
      showError(error);
    }
  },

  async resetAnswers() {
    try {
      await this.navigate([]);
      this.setData({ materials: this.data.guide.materials });
    } catch (error) {
      showError(error);
    }
  },

  apply() {
    go(`/pages/form/form?serviceCode=${this.data.serviceCode}`);
  },
});
