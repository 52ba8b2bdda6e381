// The inbox (站内信): list and mark read over GraphQL, and live unread counts from the `inboxUpdates`
// subscription. A container without WebSocket, or a socket that keeps failing, gets the count by polling
// myInbox every 15 s instead, until the socket is back.
import { createSubscriptionClient } from './ws.js';
import { unwrap } from './errors.js';

const POLL_MS = 15000;
const FALLBACK_AFTER_FAILURES = 3;

const UPDATES = 'subscription InboxUpdates { inboxUpdates { itemId unreadCount } }';
const LATEST = 'query InboxLatest { myInbox(first: 1) { unreadCount edges { node { id } } } }';
const LIST = `query MyInbox($first: Int, $after: String) { myInbox(first: $first, after: $after) {
  unreadCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id category title body deeplink createdAt readAt deliveryId } } } }`;
const MARK_READ = `mutation MarkRead($input: MarkReadInput!) {
  markRead(input: $input) { __typename ... on InboxMarkedRead { marked } ... on Error { code message path } } }`;

// options: {graphql, platform, auth, sockets? (a shared ws.js client), url = '/graphql', pollMs?,
//           fallbackAfterFailures?}
export function createInbox(options) {
  const { graphql, platform, auth } = options;
  const pollMs = options.pollMs || POLL_MS;
  const fallbackAfter = options.fallbackAfterFailures || FALLBACK_AFTER_FAILURES;
  const listeners = new Set();
  let last = null;
  let polling = false;
  let pollRound = 0;
  let unsubscribeSocket = null;
  let state = 'idle';

  function emit(update) {
    last = update;
    for (const listener of [...listeners]) {
      try { listener(update); } catch (error) { /* one page's bug must not starve the others */ }
    }
  }

  async function fetchLatest() {
    const inbox = (await graphql(LATEST)).myInbox;
    const itemId = inbox.edges.length ? inbox.edges[0].node.id : null;
    if (!last || last.unreadCount !== inbox.unreadCount || last.itemId !== itemId) {
      emit({ itemId, unreadCount: inbox.unreadCount });
    }
  }

  async function pollLoop(round) {
    while (polling && round === pollRound && listeners.size) {
      if (auth.session) {
        try { await fetchLatest(); } catch (error) { /* offline or refused: the next round tries again */ }
      }
      await platform.sleep(pollMs);
    }
  }

  function startPolling() {
    if (polling) return;
    polling = true;
    state = 'polling';
    pollRound += 1;
    pollLoop(pollRound);
  }

  function stopPolling() {
    polling = false;
    pollRound += 1;
  }

  const socketClient = options.sockets || createSubscriptionClient({
    platform,
    url: options.url || '/graphql',
    token: () => auth.accessToken(),
    refreshAfterRejection: (token) => auth.refreshAfterRejection(token),
  });
  socketClient.onStatus(({ state: socketState, failures }) => {
    if (!listeners.size) return; // the shared socket also serves others (syncPoke)
    if (socketState === 'open') {
      stopPolling();
      state = 'live';
      // Updates only cover what happens from now on: catch up once.
      fetchLatest().catch(() => null);
    } else if (socketState === 'unavailable' || (socketState === 'retrying' && failures >= fallbackAfter)) {
      startPolling();
    } else if (socketState === 'stopped') {
      stopPolling();
      state = 'idle';
    }
  });

  function start() {
    unsubscribeSocket = socketClient.subscribe({ query: UPDATES, variables: {} }, {
      next(payload) {
        const update = payload && payload.data && payload.data.inboxUpdates;
        if (update) emit({ itemId: update.itemId, unreadCount: update.unreadCount });
      },
      error() { startPolling(); },
      complete() { startPolling(); },
    });
    if (socketClient.connected) { // a shared socket already up: no 'open' will come
      state = 'live';
      fetchLatest().catch(() => null);
    }
  }

  function stop() {
    stopPolling();
    if (unsubscribeSocket) unsubscribeSocket();
    unsubscribeSocket = null;
    state = 'idle';
  }

  return {
    get mode() { return state; },
    subscribe(onUpdate) {
      listeners.add(onUpdate);
      if (listeners.size === 1) start();
      else if (last) onUpdate(last);
      return () => {
        if (listeners.delete(onUpdate) && !listeners.size) stop();
      };
    },
    async list(page) {
      const { first = 20, after = null } = page || {};
      return (await graphql(LIST, { first, after })).myInbox;
    },
    async markRead(ids) {
      const payload = unwrap((await graphql(MARK_READ, { input: { ids: Array.from(ids) } })).markRead);
      // The socket pushes the new count itself; a polling inbox would show the old one for up to 15 s.
      if (polling && listeners.size) fetchLatest().catch(() => null);
      return payload;
    },
  };
}
