// Page definition of the offline draft form, registered by both mini-programs as Page(formPage(ui)).
// Everything here is the same on WeChat and Alipay; what differs goes through the project's `ui` port (shared/ui.js).
import { FORM_TEMPLATE, SERVICE_GUIDE } from '../graphql.js';
import { describeValue, fieldRows, guessMime, syncBadge } from '../form-model.js';

export const formPage = (ui) => ({
  data: {
    draftId: '',
    title: '',
    fields: [],
    conflicts: [],
    quarantined: [],
    status: { state: 'synced', label: '', pending: 0 },
    draftStatus: 'DRAFT',
    submitting: false,
    submitError: '',
    uploadProgress: '',
  },

  async onLoad(query) {
    const app = ui.app();
    try {
      await app.whenSignedIn();
      const drafts = app.client.drafts;
      let draftId = query.draftId;
      if (!draftId) draftId = await this.createDraft(query.serviceCode);
      const draft = drafts.get(draftId);
      if (!draft) throw new Error('草稿不存在');
      this.template = await this.loadTemplate(draft.serviceCode, draft.formVersion);
      this.setData({ draftId, title: draft.serviceCode });
      this.unsubscribe = drafts.subscribe(() => this.render());
      this.render();
    } catch (error) {
      ui.showError(error);
    }
  },

  onUnload() {
    if (this.unsubscribe) this.unsubscribe();
  },

  async createDraft(serviceCode) {
    const client = ui.app().client;
    const data = await client.graphql(SERVICE_GUIDE, { serviceCode }, { anonymous: true });
    if (!data.serviceGuide) throw new Error('事项不存在');
    ui.setTitle(data.serviceGuide.item.name);
    return client.drafts.createDraft({ serviceCode, formVersion: data.serviceGuide.formVersion });
  },

  async loadTemplate(serviceCode, version) {
    const data = await ui.app().client.graphql(FORM_TEMPLATE, { serviceCode, version }, { anonymous: true });
    const template = typeof data.formTemplate === 'string' ? JSON.parse(data.formTemplate) : data.formTemplate;
    if (!template) throw new Error('表单模板不存在');
    return template;
  },

  // The engine's optimistic view is the single source of truth; every change event re-derives the page from it.
  render() {
    const drafts = ui.app().client.drafts;
    const draft = drafts.get(this.data.draftId);
    if (!draft || !this.template) return;
    const labels = {};
    this.template.fields.forEach((field) => { labels[field.path] = field.label || field.path; });
    this.setData({
      fields: fieldRows(this.template, draft),
      conflicts: draft.conflicts.map((conflict) => ({
        id: conflict.id,
        label: labels[conflict.path] || conflict.path,
        serverText: describeValue(conflict.serverValue),
        candidates: conflict.candidates.map((candidate) => describeValue(candidate.value)),
      })),
      quarantined: draft.quarantined.map((entry) => ({
        key: String(entry.mutationId) + entry.path,
        label: labels[entry.path] || entry.path,
        text: describeValue(entry.value),
        code: entry.code,
      })),
      status: syncBadge(drafts.status),
      draftStatus: draft.status,
    });
  },

  edit(path, value) {
    ui.app().client.drafts.edit(this.data.draftId, path, value === '' ? null : value);
  },

  onFieldInput(event) {
    const { path, type } = ui.dataset(event);
    const raw = event.detail.value;
    const numeric = type === 'number' && raw !== '' && !Number.isNaN(Number(raw));
    this.edit(path, numeric ? Number(raw) : raw);
  },

  onPickerChange(event) {
    const { path } = ui.dataset(event);
    const field = this.data.fields.find((row) => row.path === path);
    this.edit(path, field.optionValues[Number(event.detail.value)]);
  },

  // WeChat's <picker mode="date"> hands the chosen date to its change event.
  onDateChange(event) {
    this.edit(ui.dataset(event).path, event.detail.value);
  },

  // Alipay's <picker> has no date mode: its template taps this, and the port opens the container's date sheet.
  async pickDate(event) {
    const { path } = ui.dataset(event);
    const field = this.data.fields.find((row) => row.path === path);
    const date = await ui.pickDate(field.text || undefined);
    if (date) this.edit(path, date);
  },

  async chooseFile(event) {
    const { path } = ui.dataset(event);
    const file = await ui.chooseFile();
    if (file) await this.uploadFile(path, file);
  },

  async uploadFile(path, file) {
    let data;
    try {
      data = await ui.readFile(file.path);
    } catch (error) {
      ui.showMessage('无法读取文件');
      return;
    }
    try {
      const ref = await ui.app().client.uploads.upload({
        bytes: new Uint8Array(data),
        fileName: file.name,
        mime: guessMime(file.name),
        onProgress: (sent, total) => this.setData({ uploadProgress: `${Math.floor((sent * 100) / total)}%` }),
      });
      this.setData({ uploadProgress: '' });
      this.edit(path, { blobSha256: ref.blobSha256, name: ref.name, size: ref.size, mime: ref.mime });
    } catch (error) {
      this.setData({ uploadProgress: '' });
      ui.showError(error);
    }
  },

  keepServerValue(event) {
    const conflict = this.conflictAt(event);
    ui.app().client.drafts.resolveConflict(this.data.draftId, conflict.id, conflict.serverValue);
  },

  chooseCandidate(event) {
    const conflict = this.conflictAt(event);
    const candidate = conflict.candidates[Number(ui.dataset(event).candidate)];
    ui.app().client.drafts.resolveConflict(this.data.draftId, conflict.id, candidate.value);
  },

  conflictAt(event) {
    const draft = ui.app().client.drafts.get(this.data.draftId);
    return draft.conflicts[Number(ui.dataset(event).index)];
  },

  async syncNow() {
    try {
      await ui.app().client.drafts.sync();
    } catch (error) {
      ui.showError(error);
    }
  },

  async submit() {
    this.setData({ submitting: true, submitError: '' });
    try {
      const outcome = await ui.app().client.drafts.submit(this.data.draftId);
      this.setData({ submitting: false });
      if (outcome.applicationId) {
        ui.redirectTo(`/pages/progress/progress?id=${outcome.applicationId}`);
        return;
      }
      const error = outcome.error || { code: outcome.status, paths: [] };
      this.setData({ submitError: `${error.code} ${(error.paths || []).join(', ')}` });
    } catch (error) {
      this.setData({ submitting: false });
      ui.showError(error);
    }
  },
});
