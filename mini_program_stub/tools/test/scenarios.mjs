// Page scenarios shared by both mini-programs; each platform's test file runs them in its own node process
// (the container globals are process-wide).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootProject, inputOf, settle, tapOn, tapOnTarget } from './harness.mjs';

const FAR_FUTURE = '2099-01-01T00:00:00Z';
const SERVICE = { serviceCode: '11440100MB2C9001XK', name: '食品经营许可', departmentName: '市场监管局', visitsRequired: 0, onlineDepthLevel: 4 };
const TEMPLATE = {
  serviceCode: SERVICE.serviceCode,
  version: '1',
  fields: [
    { path: 'applicant/name', type: 'string', required: true, policy: 'MANUAL', label: '姓名' },
    { path: 'shop/seats', type: 'number', required: false, policy: 'MANUAL', label: '座位数' },
    { path: 'delivery/method', type: 'enum', required: true, policy: 'MANUAL', label: '领取方式', options: ['邮寄', '窗口领取'] },
    { path: 'shop/opened', type: 'date', required: false, policy: 'MANUAL', label: '开业日期' },
    { path: 'shop/licence', type: 'file', required: false, policy: 'MANUAL', label: '营业执照' },
    { path: 'staff/*/name', type: 'string', required: false, policy: 'MANUAL', label: '从业人员' },
  ],
  renames: {},
  removed: [],
};
const QR_PAYLOAD = 'zsb:lic:v1:token-123';

function answers(platform) {
  const auth = () => ({
    __typename: 'AuthPayload', accessToken: 'access-1', accessTokenExpiresAt: FAR_FUTURE, refreshToken: 'refresh-1',
    refreshTokenExpiresAt: FAR_FUTURE, sessionId: 'session-1', newAccount: false, me: { id: 'p1', name: '测试居民' },
  });
  return {
    signInWithWechat: auth,
    signInWithAlipay: auth,
    me: () => ({ id: 'p1', name: '测试居民', maskedMobile: '199****0008', assuranceLevel: 'L2' }),
    myHomePage: () => ({
      unreadMessageCount: 2,
      applicationsInProgress: [{ id: 'a1', projectNo: 'P1', serviceName: '普通护照签发', status: 'PENDING_PAYMENT', nextAction: 'PAY', nextActionText: '缴费' }],
      billsDue: [{ id: 'b1', billNo: 'JF990000000001', title: '护照费', amountYuan: '140.00', applicationId: 'a1' }],
    }),
    suggestServices: () => [{ text: '开饭店', serviceCode: null }],
    searchServices: () => ({ edges: [{ node: { service: SERVICE } }], pageInfo: { hasNextPage: false, endCursor: null } }),
    serviceGuide: ({ serviceCode }) => (serviceCode === 'NONE' ? null : {
      item: { serviceCode: SERVICE.serviceCode, name: SERVICE.name, departmentName: SERVICE.departmentName, acceptsApplications: true, statusNote: '' },
      formVersion: '1', acceptCondition: '', transactTime: '', isFee: false, feeBasis: '', promiseLimit: null,
      materials: [{ id: 'm1', name: '营业执照', necessity: 'REQUIRED', originalCount: 1, copyCount: 0 }], fees: [], windows: [],
    }),
    navigate: ({ answers: given }) => ({
      __typename: 'NavigationGuide',
      complete: Boolean(given && given.length),
      questions: [{ situationId: 's1', question: '是否连锁经营？', chosenOptionKey: given && given.length ? given[0].optionKey : null, options: [{ key: 'yes', label: '是' }, { key: 'no', label: '否' }] }],
      materials: [{ id: 'm2', name: '连锁经营协议', necessity: 'REQUIRED', originalCount: 1, copyCount: 0 }],
      visitsRequired: 0, visitsReason: '',
    }),
    formTemplate: () => TEMPLATE,
    myApplications: () => ({
      edges: [{ node: { id: 'a1', projectNo: 'P1', itemName: '普通护照签发', status: 'PENDING_PAYMENT', statusLabel: '待缴费', applyTime: '2026-11-20T08:00:00Z', promiseDate: null } }],
      pageInfo: { hasNextPage: false, endCursor: null },
    }),
    application: ({ id }) => ({ id, projectNo: 'P1', itemName: '普通护照签发', status: 'PENDING_PAYMENT', statusLabel: '待缴费', evaluationStatus: null, applyTime: '2026-11-20T08:00:00Z', promiseDate: null, timeline: [{ seq: 1, type: 'SUBMITTED', stepName: '申报', actorName: '测试居民', opinion: '', at: '2026-11-20T08:00:00Z' }] }),
    lookupBill: () => ({ id: 'b1', billNo: 'JF990000000001', subject: '护照费', issuer: '出入境管理局', amountYuan: '140.00', status: 'UNPAID', applicationId: 'a1' }),
    createPayment: () => ({
      __typename: 'PaymentOrder', id: 'o1', status: 'CREATED', amountYuan: '140.00', sandboxCashierUrl: 'http://127.0.0.1:8000/sandbox/cashier/o1',
      payload: platform === 'wechat'
        ? { __typename: 'WechatJsapiPayload', appId: 'wx-app', timeStamp: '1700000000', nonceStr: 'n1', package: 'prepay_id=wx1', signType: 'RSA', paySign: 'sig' }
        : { __typename: 'AlipayJsapiPayload', tradeNo: '2026112322001' },
    }),
    confirmPayment: () => ({ __typename: 'PaymentOrder', id: 'o1', status: 'PAID', paidAt: '2026-11-23T04:00:00Z' }),
    myLicenses: () => ({ edges: [{ node: { id: 'l1', name: '居民身份证', typeName: '身份证', certNumber: '1101**********0011', holderName: '测试居民', validTo: null, status: 'VALID' } }] }),
    showLicense: () => ({ __typename: 'LicenseQrToken', licenseId: 'l1', qrPayload: QR_PAYLOAD, expiresAt: FAR_FUTURE, ttlSeconds: 120 }),
    myInbox: () => ({
      unreadCount: 1,
      edges: [{ node: { id: 'i1', category: 'SERVICE', title: '受理通知', body: '已受理', deeplink: '', createdAt: '2026-11-23T04:00:00Z', readAt: null, deliveryId: null } }],
      pageInfo: { hasNextPage: false, endCursor: null },
    }),
    markRead: () => ({ __typename: 'InboxMarkedRead', marked: 1 }),
    ratingForm: () => ({ version: '1', levels: [{ code: 1, stars: 5, label: '非常满意' }, { code: 5, stars: 1, label: '非常不满意' }], badReasons: [{ code: 'SLOW', label: '办理慢' }], textMaxChars: 200 }),
    rateService: ({ input }) => ({ __typename: 'ServiceRated', rating: { id: 'r1', levelLabel: input.satisfactionCode === 1 ? '非常满意' : '非常不满意', stars: 6 - input.satisfactionCode } }),
  };
}

// The toast each container shows (showToast takes title/icon on WeChat, content/type on Alipay).
function toastOf(platform, text, duration) {
  const shape = platform === 'wechat' ? { title: text, icon: 'none' } : { content: text, type: 'none' };
  return ['toast', duration ? { ...shape, duration } : shape];
}

export function defineScenarios({ platform, globalName, signInField, channel }) {
  const stub = process.env.MP_STUB_ROOT || resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  let env;

  before(async () => {
    env = await bootProject({ projectDir: join(stub, platform), globalName, answers: answers(platform) });
    await env.app.whenSignedIn();
  });

  after(() => {
    env.app.client.drafts.stop();
  });

  test('app signs in silently with the container code', () => {
    const [call] = env.server.called(signInField);
    assert.equal(call.variables.input[signInField === 'signInWithWechat' ? 'code' : 'authCode'],
      platform === 'wechat' ? 'wx-login-code' : 'alipay-auth-code');
    assert.equal(env.app.client.auth.session.accessToken, 'access-1');
  });

  test('my page shows the person, cases, bills and opens the bill', async () => {
    const page = await env.open('pages/my/my');
    assert.equal(page.data.me.name, '测试居民');
    assert.equal(page.data.applications.length, 1);
    page.payBill(tapOn({ billNo: 'JF990000000001' }));
    assert.deepEqual(env.log.at(-1), ['navigateTo', '/pages/pay/pay?billNo=JF990000000001']);
  });

  test('search suggests, finds and opens the guide', async () => {
    const page = await env.open('pages/search/search');
    await page.onQueryInput(inputOf('开饭'));
    assert.equal(page.data.suggestions[0].text, '开饭店');
    page.onSuggestionTap(tapOn({ index: 0 }));
    await settle();
    assert.equal(page.data.hits[0].name, '食品经营许可');
    page.openService(tapOn({ serviceCode: SERVICE.serviceCode }));
    assert.deepEqual(env.log.at(-1), ['navigateTo', `/pages/guide/guide?serviceCode=${SERVICE.serviceCode}`]);
  });

  test('guided navigation sends the chosen answer and narrows the materials', async () => {
    const page = await env.open('pages/guide/guide', { serviceCode: SERVICE.serviceCode });
    assert.deepEqual(page.data.materials.map((m) => m.name), ['营业执照']);
    await page.chooseOption(tapOn({ situationId: 's1', key: 'yes' }));
    assert.deepEqual(env.server.called('navigate').at(-1).variables.answers, [{ situationId: 's1', optionKey: 'yes' }]);
    assert.equal(page.data.complete, true);
    assert.deepEqual(page.data.materials.map((m) => m.name), ['连锁经营协议']);
  });

  test('form creates a local draft and edits go into the sync engine while offline', async () => {
    const page = await env.open('pages/form/form', { serviceCode: SERVICE.serviceCode });
    assert.deepEqual(page.data.fields.map((f) => f.path), ['applicant/name', 'shop/seats', 'delivery/method', 'shop/opened', 'shop/licence']);
    page.onFieldInput(inputOf('胡演示', { path: 'applicant/name', type: 'string' }));
    page.onFieldInput(inputOf('12', { path: 'shop/seats', type: 'number' }));
    page.onPickerChange(inputOf('1', { path: 'delivery/method' }));
    const draft = env.app.client.drafts.get(page.data.draftId);
    assert.deepEqual(draft.fields, { 'applicant/name': '胡演示', 'shop/seats': 12, 'delivery/method': '窗口领取' });
    assert.ok(draft.pendingCount >= 1);
    page.render();
    assert.equal(page.data.fields[2].text, '窗口领取');
    assert.notEqual(page.data.status.state, 'synced');
    page.onUnload();
  });

  test('form takes a date from the container\'s own date control', async () => {
    const page = await env.open('pages/form/form', { serviceCode: SERVICE.serviceCode });
    const path = 'shop/opened';
    // WeChat's template binds <picker mode="date"> to onDateChange; Alipay's has no date mode and taps pickDate.
    if (platform === 'wechat') page.onDateChange(inputOf('2026-12-01', { path }));
    else await page.pickDate(tapOn({ path }));
    assert.equal(env.app.client.drafts.get(page.data.draftId).fields[path], '2026-12-01');
    if (platform === 'alipay') assert.deepEqual(env.log.find((entry) => entry[0] === 'datePicker'), ['datePicker', undefined]);
    page.onUnload();
  });

  test('form picks a file with the container\'s picker and says so when it cannot read it', async () => {
    const page = await env.open('pages/form/form', { serviceCode: SERVICE.serviceCode });
    const before = env.log.length;
    await page.chooseFile(tapOn({ path: 'shop/licence' }));
    const picked = platform === 'wechat' ? ['chooseMessageFile', ['pdf', 'jpg', 'jpeg', 'png', 'ofd']] : ['chooseImage'];
    assert.deepEqual(env.log.slice(before), [
      picked, ['readFile', platform === 'wechat' ? '/tmp/scan.pdf' : '/tmp/scan.jpg'], toastOf(platform, '无法读取文件'),
    ]);
    assert.equal(env.app.client.drafts.get(page.data.draftId).fields['shop/licence'], undefined);
    page.onUnload();
  });

  test('an error reaches the user as the container\'s toast', async () => {
    await env.open('pages/guide/guide', { serviceCode: 'NONE' });
    assert.deepEqual(env.log.at(-1), toastOf(platform, '事项不存在', 2500));
  });

  test('applications list the cases and open one', async () => {
    const page = await env.open('pages/applications/applications');
    assert.deepEqual(page.data.applications.map((a) => [a.itemName, a.applyTime]), [['普通护照签发', '2026-11-20 08:00']]);
    page.openApplication(tapOn({ id: 'a1' }));
    assert.deepEqual(env.log.at(-1), ['navigateTo', '/pages/progress/progress?id=a1']);
    page.openApplication(tapOnTarget({ id: 'a2' }));
    assert.deepEqual(env.log.at(-1), ['navigateTo', '/pages/progress/progress?id=a2']);
  });

  test('form shows an open conflict and resolves it with the picked value', async () => {
    const drafts = env.app.client.drafts;
    const page = await env.open('pages/form/form', { serviceCode: SERVICE.serviceCode });
    const draft = drafts.get(page.data.draftId);
    const conflict = { id: 'k1', path: 'delivery/method', serverValue: '邮寄', candidates: [{ clientId: 'c2', value: '窗口领取' }] };
    const resolved = [];
    // The engine only opens conflicts from a server push reply; stand in for it to drive the page's side.
    const { get, resolveConflict } = drafts;
    drafts.get = (id) => (id === draft.id ? { ...draft, conflicts: [conflict] } : get.call(drafts, id));
    drafts.resolveConflict = (...args) => resolved.push(args);
    try {
      page.render();
      assert.deepEqual(page.data.conflicts, [{ id: 'k1', label: '领取方式', serverText: '邮寄', candidates: ['窗口领取'] }]);
      page.chooseCandidate(tapOn({ index: 0, candidate: 0 }));
      page.keepServerValue(tapOn({ index: 0 }));
      assert.deepEqual(resolved, [[draft.id, 'k1', '窗口领取'], [draft.id, 'k1', '邮寄']]);
    } finally {
      Object.assign(drafts, { get, resolveConflict });
      page.onUnload();
    }
  });

  test('progress shows the due bill and opens the pay page', async () => {
    const page = await env.open('pages/progress/progress', { id: 'a1' });
    assert.equal(page.data.application.statusLabel, '待缴费');
    assert.equal(page.data.bill.billNo, 'JF990000000001');
    assert.equal(page.data.timeline[0].stepName, '申报');
    page.pay();
    assert.deepEqual(env.log.at(-1), ['navigateTo', '/pages/pay/pay?billNo=JF990000000001']);
  });

  test('pay creates a JSAPI order, hands the payload to the container and confirms', async () => {
    const page = await env.open('pages/pay/pay', { billNo: 'JF990000000001' });
    await page.pay();
    const input = env.server.called('createPayment')[0].variables.input;
    assert.equal(input.channel, platform === 'wechat' ? 'WECHAT' : 'ALIPAY');
    assert.equal(input.product, 'JSAPI');
    if (platform === 'wechat') {
      const [, options] = env.log.find((entry) => entry[0] === 'requestPayment');
      assert.deepEqual([options.timeStamp, options.nonceStr, options.package, options.signType, options.paySign],
        ['1700000000', 'n1', 'prepay_id=wx1', 'RSA', 'sig']);
    } else {
      const [, options] = env.log.find((entry) => entry[0] === 'tradePay');
      assert.equal(options.tradeNO, '2026112322001');
    }
    assert.deepEqual(env.server.called('confirmPayment')[0].variables, { orderId: 'o1' });
    assert.equal(page.data.statusLabel, '已支付');
  });

  test('wallet shows a licence QR drawn module by module on the canvas', async () => {
    const { encodeQr } = await import(join(stub, platform, 'lib/zsb-client/qr.js'));
    const page = await env.open('pages/wallet/wallet');
    const before = env.log.length;
    await page.showQr(tapOn({ index: 0 }));
    assert.equal(page.data.shown.qrPayload, QR_PAYLOAD);
    assert.ok(page.data.secondsLeft > 0);
    const dark = env.log.slice(before).filter((entry) => entry[0] === 'fillRect' && entry[1] === '#000000');
    const { modules } = encodeQr(QR_PAYLOAD);
    assert.equal(dark.length, modules.flat().filter(Boolean).length);
    page.onUnload();
    assert.equal(page.data.shown, null);
  });

  test('inbox lists, badges the tab and marks read', async () => {
    const page = await env.open('pages/inbox/inbox');
    assert.equal(page.data.items[0].title, '受理通知');
    assert.deepEqual(env.log.filter((entry) => entry[0] === 'setTabBarBadge').at(-1)[1], { index: 4, text: '1' });
    await page.markRead(tapOn({ index: 0 }));
    assert.deepEqual(env.server.called('markRead')[0].variables, { input: { ids: ['i1'] } });
    page.onUnload();
  });

  test('rating refuses a 差评 without a reason, then sends it with one', async () => {
    const page = await env.open('pages/rate/rate', { applicationId: 'a1', status: 'COMPLETED' });
    page.chooseLevel(tapOn({ code: 5 }));
    await page.submit();
    assert.equal(env.server.called('rateService').length, 0);
    assert.ok(page.data.error);
    page.onReasonsChange(inputOf(['SLOW']));
    await page.submit();
    const { input } = env.server.called('rateService')[0].variables;
    assert.deepEqual([input.moment, input.satisfactionCode, input.reasons, input.channel], ['COMPLETE', 5, ['SLOW'], channel]);
    assert.equal(page.data.rated.levelLabel, '非常不满意');
  });
}
