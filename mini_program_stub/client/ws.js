// A graphql-transport-ws client (the protocol schema/websocket.py speaks): connection_init with the bearer token,
// subscribe / next / error / complete, pong for every ping, and reconnection with capped, jittered backoff.
// Close codes: 4401 the token expired (refresh, reconnect at once), 4403 connection_init refused (refresh once),
// 4400 / 4406 a bug on our side (give up: retrying cannot help).

export const PROTOCOL = 'graphql-transport-ws';
const FATAL_CLOSES = [4400, 4406];

// options: {platform, url, token: async () => string|null, refreshAfterRejection?: async (token) => string|null,
//           onStatus?({state: 'open'|'retrying'|'unavailable'|'stopped', failures}), ackTimeoutMs?, maxDelayMs?}
// Returns {subscribe({query, variables}, {next, error, complete}) -> unsubscribe, onStatus(listener) -> off,
//          failures, connected}.
export function createSubscriptionClient(options) {
  const { platform, url } = options;
  const ackTimeoutMs = options.ackTimeoutMs || 10000;
  const maxDelayMs = options.maxDelayMs || 60000;
  const statusListeners = new Set(options.onStatus ? [options.onStatus] : []);
  const active = new Map(); // id -> {payload, sink}
  let socket = null;
  let acked = false;
  let tokenSent = null;
  let failures = 0;
  let nextId = 1;
  let wakeUp = null; // resolves the pending backoff sleep early (network back, new subscriber)
  let stopped = false;
  let stopOnline = null;
  let renewing = false; // a close we asked for to reconnect under a new token: no backoff

  function report(state) {
    for (const listener of [...statusListeners]) {
      try { listener({ state, failures }); } catch (error) { /* one listener's bug must not stop the socket */ }
    }
  }

  function sendFrame(message) {
    if (socket) {
      try { socket.send(JSON.stringify(message)); } catch (error) { /* closing: onclose reconnects */ }
    }
  }

  function stop(state) {
    stopped = true;
    if (stopOnline) stopOnline();
    stopOnline = null;
    report(state);
  }

  async function connect() {
    if (socket || stopped || !active.size) return;
    let token;
    try {
      token = await options.token();
    } catch (error) {
      closed(1011); // the refresh ahead of expiry failed (rate limited, server fault): back off and retry
      return;
    }
    if (!token) { stop('stopped'); return; } // signed out: nothing to subscribe as
    if (socket || stopped || !active.size) return;
    const current = platform.openSocket(url, PROTOCOL);
    if (!current) { stop('unavailable'); return; }
    socket = current;
    acked = false;
    tokenSent = token;
    let ended = false;
    const end = (code) => {
      if (ended) return;
      ended = true;
      if (socket === current) {
        socket = null;
        acked = false;
      }
      closed(code);
    };
    current.onopen = () => {
      sendFrame({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } });
      platform.sleep(ackTimeoutMs).then(() => {
        if (socket === current && !acked) current.close(4408, 'connection_init timeout');
      });
    };
    current.onmessage = (text) => received(text, current);
    current.onclose = (code) => end(code);
    // Some containers report a failed connect only through onerror: treat it as the close it stands for.
    current.onerror = () => {
      if (acked && socket === current) return;
      end(1006);
      try { current.close(1000, 'error'); } catch (error) { /* already closed */ }
    };
  }

  function received(text, from) {
    if (from !== socket) return; // a late frame of a socket already replaced
    let message;
    try { message = JSON.parse(text); } catch (error) { return; }
    const entry = message.id !== undefined ? active.get(message.id) : null;
    switch (message.type) {
      case 'connection_ack':
        acked = true;
        failures = 0;
        for (const [id, item] of active) sendFrame({ id, type: 'subscribe', payload: item.payload });
        report('open');
        break;
      case 'ping':
        sendFrame({ type: 'pong' });
        break;
      case 'next':
        if (entry && entry.sink.next) entry.sink.next(message.payload);
        break;
      case 'error':
        if (entry) {
          active.delete(message.id);
          if (entry.sink.error) entry.sink.error(message.payload);
        }
        break;
      case 'complete':
        if (entry) {
          active.delete(message.id);
          if (entry.sink.complete) entry.sink.complete();
        }
        break;
      default:
        break;
    }
  }

  async function closed(code) {
    if (stopped || !active.size) return;
    if (renewing) { renewing = false; connect(); return; }
    if (FATAL_CLOSES.includes(code)) { stop('unavailable'); return; }
    if ((code === 4401 || code === 4403) && options.refreshAfterRejection) {
      let fresh = null;
      try { fresh = await options.refreshAfterRejection(tokenSent); } catch (error) { fresh = undefined; }
      if (fresh === null) { stop('stopped'); return; } // the session ended
      if (fresh && fresh !== tokenSent) { connect(); return; }
    }
    failures += 1; // an acknowledged connection reset the count: only consecutive failures add up
    report('retrying');
    const delay = Math.min(maxDelayMs, 1000 * 2 ** Math.min(failures - 1, 16));
    await new Promise((resolve) => {
      wakeUp = resolve;
      platform.sleep(delay * (0.5 + platform.random() / 2)).then(resolve);
    });
    wakeUp = null;
    connect();
  }

  return {
    subscribe(payload, sink) {
      if (stopped) { stopped = false; failures = 0; }
      if (!stopOnline) stopOnline = platform.onOnline(() => { if (wakeUp) wakeUp(); });
      const id = String(nextId++);
      active.set(id, { payload, sink: sink || {} });
      if (socket && acked) sendFrame({ id, type: 'subscribe', payload });
      else if (wakeUp) wakeUp();
      else connect();
      return () => {
        if (!active.delete(id)) return;
        if (socket && acked) sendFrame({ id, type: 'complete' });
        if (!active.size) {
          if (socket) socket.close(1000, 'no subscriptions');
          if (stopOnline) stopOnline();
          stopOnline = null;
        }
      };
    },
    // Several features share one socket (Alipay's classic API allows only one): each may watch its state.
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    // Reconnects under the current token; every active subscription is sent again once acknowledged.
    renew() {
      if (socket) {
        renewing = true;
        try { socket.close(1000, 'identity changed'); } catch (error) { /* already closing */ }
      }
    },
    get failures() { return failures; },
    get connected() { return Boolean(socket && acked); },
  };
}
