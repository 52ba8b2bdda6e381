// Pure view-model helpers of the form page (pages/form.js): no platform calls, so both mini-programs use them.

const INPUT_TYPES = { number: 'digit', phone: 'number', id_number: 'idcard' };
const MIME_BY_EXTENSION = { pdf: 'application/pdf', jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', ofd: 'application/ofd' };

function normalizeOptions(options) {
  return (options || []).map((option) => (
    option !== null && typeof option === 'object'
      ? { value: option.value, label: option.label || String(option.value) }
      : { value: option, label: String(option) }
  ));
}

export function describeValue(value) {
  if (value === null || value === undefined) return '（空）';
  if (typeof value === 'object') return value.name || JSON.stringify(value);
  return String(value);
}

// Repeating groups (`*` paths) and group headers need the app's richer editor; the mini-program edits plain fields.
export function fieldRows(template, draft) {
  return template.fields
    .filter((field) => field.type !== 'group' && !field.path.includes('*'))
    .map((field) => {
      const value = Object.prototype.hasOwnProperty.call(draft.fields, field.path) ? draft.fields[field.path] : null;
      const options = normalizeOptions(field.options);
      const optionIndex = options.findIndex((option) => option.value === value);
      return {
        path: field.path,
        label: field.label || field.path,
        type: field.type,
        required: Boolean(field.required),
        maxLength: field.maxLength || 140,
        inputType: INPUT_TYPES[field.type] || 'text',
        isEnum: field.type === 'enum',
        isDate: field.type === 'date',
        isFile: field.type === 'file',
        isText: !['enum', 'date', 'file'].includes(field.type),
        text: value === null || value === undefined ? '' : describeValue(value),
        optionLabels: options.map((option) => option.label),
        optionValues: options.map((option) => option.value),
        optionIndex: optionIndex < 0 ? 0 : optionIndex,
      };
    });
}

const SYNC_LABELS = {
  offline: '离线，修改已保存在本机',
  syncing: '同步中…',
  error: '同步出错，稍后重试',
  pending: '待同步',
  synced: '已同步',
};

export function syncBadge(status) {
  let state = 'synced';
  if (!status.online) state = 'offline';
  else if (status.syncing) state = 'syncing';
  else if (status.lastError) state = 'error';
  else if (status.pending > 0) state = 'pending';
  return { state, label: SYNC_LABELS[state], pending: status.pending };
}

export function guessMime(fileName) {
  const extension = String(fileName).split('.').pop().toLowerCase();
  return MIME_BY_EXTENSION[extension] || 'application/octet-stream';
}
