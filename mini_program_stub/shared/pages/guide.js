// Page definition of 办事指南 and 情景式导航, registered by both mini-programs as Page(guidePage(ui)).
// Everything here is the same on WeChat and Alipay; what differs goes through the project's `ui` port (shared/ui.js).
import { NAVIGATE, SERVICE_GUIDE } from '../graphql.js';

const PUBLIC = { anonymous: true };

export const guidePage = (ui) => ({
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
    const client = ui.app().client;
    try {
      const data = await client.graphql(SERVICE_GUIDE, { serviceCode: query.serviceCode }, PUBLIC);
      if (!data.serviceGuide) {
        ui.showError(new Error('事项不存在'));
        return;
      }
      ui.setTitle(data.serviceGuide.item.name);
      this.setData({ guide: data.serviceGuide, materials: data.serviceGuide.materials });
      await this.navigate([]);
    } catch (error) {
      ui.showError(error);
    }
  },

  // 情景式导航: every answer re-asks the server, which narrows the materials and may reveal follow-up questions.
  async navigate(answers) {
    const variables = { serviceCode: this.data.serviceCode, answers };
    const data = await ui.app().client.graphql(NAVIGATE, variables, PUBLIC);
    const result = ui.app().client.unwrap(data.navigate);
    this.setData({
      answers,
      questions: result.questions,
      materials: answers.length ? result.materials : this.data.materials,
      complete: result.complete,
      visitsReason: result.visitsReason,
    });
  },

  async chooseOption(event) {
    const { situationId, key } = ui.dataset(event);
    const answers = this.data.answers.filter((answer) => answer.situationId !== situationId);
    answers.push({ situationId, optionKey: key });
    try {
      await this.navigate(answers);
    } catch (error) {
      ui.showError(error);
    }
  },

  async resetAnswers() {
    try {
      await this.navigate([]);
      this.setData({ materials: this.data.guide.materials });
    } catch (error) {
      ui.showError(error);
    }
  },

  apply() {
    ui.navigateTo(`/pages/form/form?serviceCode=${this.data.serviceCode}`);
  },
});
