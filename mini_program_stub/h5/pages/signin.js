// 登录: phone, SMS code, sign-in. In the sandbox mode the code is readable at /sandbox/sms/messages, linked here.
import { el, errorText } from '../app.js';

const PHONE = /^1\d{10}$/;

async function sandboxIsOn() {
  try {
    return (await fetch(`${location.origin}/sandbox`, { headers: { accept: 'application/json' } })).ok;
  } catch (error) {
    return false;
  }
}

async function latestSandboxCode(phone) {
  const url = `${location.origin}/sandbox/sms/messages?phone=${encodeURIComponent(phone)}`;
  const body = await (await fetch(url)).json();
  const messages = body.messages || [];
  const last = messages[messages.length - 1];
  return last && last.params ? last.params.code : null;
}

export async function render(ctx, params) {
  const { client, root, navigate, toast } = ctx;
  const next = params.query.next && params.query.next.startsWith('/') ? params.query.next : '/';
  if (client.auth.session && client.auth.session.kind !== 'operator') {
    navigate(`#${next}`, { replace: true }); // already signed in (another tab, a reload): straight on
    return;
  }
  const phone = el('input', {
    type: 'tel', inputmode: 'numeric', autocomplete: 'tel', maxlength: 11, placeholder: '11 位手机号',
    testid: 'signin-phone',
  });
  const code = el('input', {
    type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, placeholder: '6 位验证码',
    testid: 'signin-code',
  });
  const message = el('div', { testid: 'signin-message' });
  const hint = el('div', { class: 'hint', testid: 'signin-sandbox-hint', hidden: true });
  const requestButton = el('button', { type: 'button', testid: 'signin-request-code' }, '获取验证码');
  const submitButton = el('button', { type: 'submit', class: 'primary block', testid: 'signin-submit' }, '登录');
  const sandbox = sandboxIsOn();

  const fail = (error) => message.replaceChildren(el('div', { class: 'error', testid: 'signin-error' }, errorText(error)));

  let cooldown = null;
  function startCooldown(seconds) {
    let left = Math.max(1, Number(seconds) || 60);
    requestButton.disabled = true;
    requestButton.textContent = `${left} 秒后重发`;
    clearInterval(cooldown);
    cooldown = setInterval(() => {
      left -= 1;
      if (left > 0) {
        requestButton.textContent = `${left} 秒后重发`;
      } else {
        clearInterval(cooldown);
        requestButton.disabled = false;
        requestButton.textContent = '重新获取';
      }
    }, 1000);
  }
  ctx.onLeave(() => clearInterval(cooldown));

  async function showSandboxHint(number) {
    if (!(await sandbox)) return;
    const url = `/sandbox/sms/messages?phone=${encodeURIComponent(number)}`;
    const fill = el('button', { type: 'button', class: 'link', testid: 'signin-fill-code' }, '读取并填入');
    fill.addEventListener('click', async () => {
      try {
        const found = await latestSandboxCode(number);
        if (found) code.value = found;
        else toast('沙箱里还没有这条短信');
      } catch (error) {
        toast(errorText(error));
      }
    });
    hint.replaceChildren(
      '演示环境：短信由沙箱代发，验证码见 ',
      el('a', { href: url, target: '_blank', rel: 'noopener', testid: 'signin-sms-link' }, url),
      ' ',
      fill,
    );
    hint.hidden = false;
  }

  requestButton.addEventListener('click', async () => {
    const number = phone.value.trim();
    if (!PHONE.test(number)) {
      fail({ message: '请输入 11 位手机号' });
      return;
    }
    message.replaceChildren();
    requestButton.disabled = true;
    try {
      const sent = await client.auth.requestSmsCode(number);
      toast('验证码已发送');
      startCooldown(sent && sent.resendAfterSeconds);
      showSandboxHint(number);
      code.focus();
    } catch (error) {
      requestButton.disabled = false;
      fail(error);
      if (error.code === 'RATE_LIMITED') showSandboxHint(number);
    }
  });

  const form = el('form', { class: 'card', novalidate: true, testid: 'signin-form' },
    el('label', { class: 'field' }, el('span', null, '手机号'), phone),
    el('label', { class: 'field' }, el('span', null, '验证码'), el('div', { class: 'row' },
      el('div', { class: 'grow' }, code), requestButton)),
    hint,
    message,
    submitButton,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const number = phone.value.trim();
    const otp = code.value.trim();
    if (!PHONE.test(number) || !/^\d{6}$/.test(otp)) {
      fail({ message: '请输入手机号和 6 位验证码' });
      return;
    }
    submitButton.disabled = true;
    try {
      await client.auth.signInWithSms(number, otp);
      toast('登录成功');
      navigate(`#${next}`, { replace: true });
    } catch (error) {
      submitButton.disabled = false;
      const left = error.extensions && error.extensions.attemptsLeft;
      fail(left === undefined ? error : { ...error, message: `${error.message}，还可尝试 ${left} 次` });
    }
  });

  root.append(
    el('h1', null, '登录掌上办'),
    el('p', { class: 'muted' }, '使用手机号和短信验证码登录，未注册的手机号将自动创建账号。'),
    form,
  );
  phone.focus();
}
