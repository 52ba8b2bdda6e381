// Sign-in and the session: tokens persisted as one JSON value (so a rotated pair is never half-written), refreshed
// shortly before the access token expires or when the server refuses it, with one refresh in flight at a time:
// the server revokes the whole session when a refresh token is used twice (api/identity/sessions.py).
import { ApiError, isNetworkError } from './errors.js';

export const SESSION_KEY = 'zsb.session';
const REFRESH_AHEAD_MS = 30 * 1000; // clock skew plus a request's flight time
const PHONE_CHANNELS = ['APP', 'H5', 'PC'];

const TOKENS = 'accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt sessionId';
const PAYLOAD = `__typename ... on AuthPayload { ${TOKENS} newAccount me { id name } }
  ... on Error { code message path }`;
const OPERATOR = `... on OperatorAuthPayload { ${TOKENS} operator { id name username roles } }`;

const REQUEST_SMS = `mutation RequestSmsCode($input: RequestSmsCodeInput!) {
  requestSmsCode(input: $input) { __typename ... on SmsCodeSent { expiresInSeconds resendAfterSeconds }
    ... on Error { code message path } ... on RateLimitedError { retryAfterMs } } }`;
const SIGN_IN_SMS = `mutation SignInWithSms($input: SignInWithSmsInput!) {
  signInWithSms(input: $input) { ${PAYLOAD} ... on OtpRejectedError { attemptsLeft } } }`;
const SIGN_IN_WECHAT = `mutation SignInWithWechat($input: SignInWithWechatInput!) {
  signInWithWechat(input: $input) { ${PAYLOAD} } }`;
const SIGN_IN_ALIPAY = `mutation SignInWithAlipay($input: SignInWithAlipayInput!) {
  signInWithAlipay(input: $input) { ${PAYLOAD} } }`;
const REFRESH = `mutation RefreshSession($input: RefreshSessionInput!) {
  refreshSession(input: $input) { ${PAYLOAD} ${OPERATOR} } }`;
const SIGN_OUT = `mutation SignOut($input: SignOutInput!) {
  signOut(input: $input) { __typename ... on SignedOut { sessionsEnded } ... on Error { code message } } }`;

function refusal(payload) {
  return new ApiError(payload.code, payload.message, {
    path: payload.path,
    retryAfterMs: payload.retryAfterMs,
    extensions: payload.attemptsLeft === undefined ? {} : { attemptsLeft: payload.attemptsLeft },
    data: payload,
  });
}

function parseTime(value) {
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

// The stored session: the tokens, when they expire (ms), and who signed in.
export function sessionFromPayload(payload) {
  if (!payload || typeof payload.accessToken !== 'string' || typeof payload.refreshToken !== 'string') {
    throw new ApiError('BAD_RESPONSE', 'the sign-in answer holds no tokens');
  }
  const operator = payload.operator || null;
  return {
    kind: operator ? 'operator' : 'citizen',
    accessToken: payload.accessToken,
    refreshToken: payload.refreshToken,
    accessTokenExpiresAt: parseTime(payload.accessTokenExpiresAt),
    refreshTokenExpiresAt: parseTime(payload.refreshTokenExpiresAt),
    sessionId: payload.sessionId || null,
    personId: payload.me ? payload.me.id : null,
    name: payload.me ? payload.me.name : (operator ? operator.name : null),
    operator,
    newAccount: Boolean(payload.newAccount),
  };
}

// options: {platform, graphql (anonymous-capable transport), channel, deviceName}
export function createAuth(options) {
  const { platform, graphql } = options;
  const phoneChannel = PHONE_CHANNELS.includes(options.channel) ? options.channel : 'APP';
  const deviceName = options.deviceName || '';
  const listeners = new Set();
  let session = null;
  let refreshing = null;
  let loaded = null;

  function emit() {
    for (const listener of [...listeners]) {
      try { listener(session); } catch (error) { /* a page's listener must not break the others */ }
    }
  }

  async function readStored() {
    const text = await platform.storage.get(SESSION_KEY);
    if (!text) return null;
    try {
      const stored = JSON.parse(text);
      return stored && typeof stored.accessToken === 'string' && typeof stored.refreshToken === 'string'
        ? stored : null;
    } catch (error) {
      return null;
    }
  }

  async function adopt(next) {
    if (next) await platform.storage.set(SESSION_KEY, JSON.stringify(next));
    else await platform.storage.remove(SESSION_KEY);
    session = next;
    emit();
    return next;
  }

  async function signedIn(payload) {
    if (payload.__typename !== 'AuthPayload' && payload.__typename !== 'OperatorAuthPayload') throw refusal(payload);
    return adopt(sessionFromPayload(payload));
  }

  async function runRefresh() {
    // Another tab or page of the same storage may have rotated the pair already: its tokens are the live ones.
    const stored = await readStored();
    if (stored && session && stored.refreshToken !== session.refreshToken) {
      session = stored;
      emit();
      return stored.accessToken;
    }
    const current = session;
    if (!current) return null;
    // Offline, rate limited or a server fault reject here and say nothing about the session: it is kept.
    const data = await graphql(REFRESH, { input: { refreshToken: current.refreshToken } }, { anonymous: true });
    const payload = data.refreshSession;
    if (payload.__typename === 'AuthPayload' || payload.__typename === 'OperatorAuthPayload') {
      const next = sessionFromPayload(payload);
      if (!next.personId && current.personId && next.kind === 'citizen') next.personId = current.personId;
      if (!next.name) next.name = current.name;
      await adopt(next);
      return next.accessToken;
    }
    if (session === current) await adopt(null);
    throw refusal(payload);
  }

  function refresh() {
    if (!refreshing) {
      refreshing = runRefresh().finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  const auth = {
    get session() { return session; },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    load() {
      if (!loaded) loaded = readStored().then((stored) => { session = stored; return stored; });
      return loaded;
    },
    // The token for the next call, refreshed first when it is about to expire; null when signed out.
    async accessToken() {
      await auth.load();
      if (refreshing) await refreshing.catch(() => null);
      if (!session) return null;
      const expiresAt = session.accessTokenExpiresAt;
      if (expiresAt && expiresAt - REFRESH_AHEAD_MS <= platform.now()) {
        try {
          return await refresh();
        } catch (error) {
          // Offline: send the old token anyway; the call fails on its own (or succeeds if clocks disagree).
          if (isNetworkError(error)) return session ? session.accessToken : null;
          if (!session) return null;
          throw error;
        }
      }
      return session.accessToken;
    },
    // The server refused `staleToken`: refresh unless a concurrent call already did. Resolves the new token, or
    // null when the session ended; rejects (keeping the session) when the refresh could not reach the server.
    async refreshAfterRejection(staleToken) {
      if (refreshing) await refreshing.catch(() => null);
      if (!session) return null;
      if (session.accessToken !== staleToken) return session.accessToken;
      try {
        return await refresh();
      } catch (error) {
        if (!session) return null;
        throw error;
      }
    },
    refresh,
    // Stores tokens obtained elsewhere (operatorSignIn on the handle page): the same refresh rotation applies.
    adoptSession(payload) { return adopt(sessionFromPayload(payload)); },
    async requestSmsCode(phone) {
      const data = await graphql(REQUEST_SMS, { input: { phone } }, { anonymous: true });
      const payload = data.requestSmsCode;
      if (payload.__typename !== 'SmsCodeSent') throw refusal(payload);
      return { expiresInSeconds: payload.expiresInSeconds, resendAfterSeconds: payload.resendAfterSeconds };
    },
    async signInWithSms(phone, code) {
      const input = { phone, code, channel: phoneChannel, deviceName };
      const data = await graphql(SIGN_IN_SMS, { input }, { anonymous: true });
      return signedIn(data.signInWithSms);
    },
    async signInWithWechat(code) {
      const data = await graphql(SIGN_IN_WECHAT, { input: { code, deviceName } }, { anonymous: true });
      return signedIn(data.signInWithWechat);
    },
    async signInWithAlipay(authCode) {
      const data = await graphql(SIGN_IN_ALIPAY, { input: { authCode, deviceName } }, { anonymous: true });
      return signedIn(data.signInWithAlipay);
    },
    // Ends the session on the server when reachable; the local session ends either way.
    async signOut(signOutOptions) {
      const allDevices = Boolean(signOutOptions && signOutOptions.allDevices);
      const current = session;
      if (current) {
        try {
          await graphql(SIGN_OUT, { input: { allDevices } });
        } catch (error) {
          // The tokens are dropped below; an unreachable server lets the session expire on its own.
        }
      }
      await adopt(null);
    },
  };
  return auth;
}
