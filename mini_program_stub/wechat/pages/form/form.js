import { FORM_TEMPLATE, SERVICE_GUIDE } from '../../graphql.js';
import { showError, showMessage } from '../../util.js';
import { describeValue, fieldRows, guessMime, syncBadge } from './form-model.js';

Page({
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
    const app = getApp();
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
      showError(error);
    }
  },

  onUnload() {
    if (this.unsubscribe) this.unsubscribe();
  },

  async createDraft(serviceCode) {
    const client = getApp().client;
    const data = await client.graphql(SERVICE_GUIDE, { serviceCode }, { anonymous: true });
    if (!data.serviceGuide) throw new Error('事项不存在');
    wx.setNavigationBarTitle({ title: data.serviceGuide.item.name });
    return client.drafts.createDraft({ serviceCode, formVersion: data.serviceGuide.formVersion });
  },

  async loadTemplate(serviceCode, version) {
    const data = await getApp().client.graphql(FORM_TEMPLATE, { serviceCode, version }, { anonymous: true });
    const template = typeof data.formTemplate === 'string' ? JSON.parse(data.formTemplate) : data.formTemplate;
    if (!template) throw new Error('表单模板不存在');
    return template;
  },

  // The engine's optimistic view is the single source of truth; every change event re-derives the page from it.
  render() {
    const drafts = getApp().client.drafts;
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
    getApp().client.drafts.edit(this.data.draftId, path, value === '' ? null : value);
  },

  onFieldInput(event) {
    const { path, type } = event.currentTarget.dataset;
    const raw = event.detail.value;
    const numeric = type === 'number' && raw !== '' && !Number.isNaN(Number(raw));
    this.edit(path, numeric ? Number(raw) : raw);
  },

  onPickerChange(event) {
    const { path } = event.currentTarget.dataset;
    const field = this.data.fields.find((row) => row.path === path);
    this.edit(path, field.optionValues[Number(event.detail.value)]);
  },

  onDateChange(event) {
    this.edit(event.currentTarget.dataset.path, event.detail.value);
  },

  chooseFile(event) {
    const { path } = event.currentTarget.dataset;
    wx.chooseMessageFile({
      count: 1,
      type: 'file',
      extension: ['pdf', 'jpg', 'jpeg', 'png', 'ofd'],
      success: (result) => this.uploadFile(path, result.tempFiles[0]),
    });
  },

  uploadFile(path, file) {
    wx.getFileSystemManager().readFile({
      filePath: file.path,
      success: async (read) => {
        try {
          const mime = guessMime(file.name);
          const ref = await getApp().client.uploads.upload({
            bytes: new Uint8Array(read.data),
            fileName: file.name,
            mime,
            onProgress: (sent, total) => this.setData({ uploadProgress: `${Math.floor((sent * 100) / total)}%` }),
          });
          this.setData({ uploadProgress: '' });
          this.edit(path, { blobSha256: ref.blobSha256, name: ref.name, size: ref.size, mime: ref.mime });
        } catch (error) {
          this.setData({ uploadProgress: '' });
          showError(error);
        }
      },
      fail: () => showMessage('无法读取文件'),
    });
  },

  keepServerValue(event) {
    const conflict = this.conflictAt(event);
    getApp().client.drafts.resolveConflict(this.data.draftId, conflict.id, conflict.serverValue);
  },

  chooseCandidate(event) {
    const conflict = this.conflictAt(event);
    const candidate = conflict.candidates[Number(event.currentTarget.dataset.candidate)];
    getApp().client.drafts.resolveConflict(this.data.draftId, conflict.id, candidate.value);
  },

  conflictAt(event) {
    const draft = getApp().client.drafts.get(this.data.draftId);
    return draft.conflicts[Number(event.currentTarget.dataset.index)];
  },

  async syncNow() {
    try {
      await getApp().client.drafts.sync();
    } catch (error) {
      showError(error);
    }
  },

  async submit() {
    this.setData({ submitting: true, submitError: '' });
    try {
      const outcome = await getApp().client.drafts.submit(this.data.draftId);
      this.setData({ submitting: false });
      if (outcome.applicationId) {
        wx.redirectTo({ url: `/pages/progress/progress?id=${outcome.applicationId}` });
        return;
      }
      const error = outcome.error || { code: outcome.status, paths: [] };
      this.setData({ submitError: `${error.code} ${(error.paths || []).join(', ')}` });
    } catch (error) {
      this.setData({ submitting: false });
      showError(error);
    }
  },
});
