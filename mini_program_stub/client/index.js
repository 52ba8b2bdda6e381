// The 掌上办 client: one object per app (H5 page, WeChat or Alipay mini-program) over a platform adapter.
// README "JS client" describes the surface; each piece lives in its own module.
import { createGraphQL } from './graphql.js';
import { createAuth } from './auth.js';
import { createUploads } from './uploads.js';
import { createInbox } from './inbox.js';
import { createSubscriptionClient } from './ws.js';
import { createSyncEngine } from './sync/index.js';
import { ApiError, NetworkError, isNetworkError, unwrap } from './errors.js';
import { spaceKeyOf, tokenClaims } from './claims.js';

export { ApiError, NetworkError, isNetworkError, unwrap, spaceKeyOf, tokenClaims };

const POKE = 'subscription SyncPoke($clientId: ID!) { syncPoke(clientId: $clientId) }';

// options: {platform, channel = 'H5' ('APP'|'H5'|'PC' for SMS sign-in; others sign in as APP),
//           endpoint = '/graphql', deviceName = ''}
export function createClient(options) {
  const { platform } = options || {};
  if (!platform || typeof platform.request !== 'function') throw new TypeError('createClient needs a platform');
  const endpoint = options.endpoint || '/graphql';
  const graphql = createGraphQL({ platform, endpoint });
  const auth = createAuth({ platform, graphql, channel: options.channel || 'H5', deviceName: options.deviceName });
  graphql.setAuth(auth);

  // One socket for every subscription: Alipay's classic socket API allows only one per mini-program.
  const sockets = createSubscriptionClient({
    platform,
    url: endpoint,
    token: () => auth.accessToken(),
    refreshAfterRejection: (token) => auth.refreshAfterRejection(token),
  });

  // Drafts are stored per signed-in person and sync space, so two residents sharing a phone never see each
  // other's drafts and a clientId never crosses spaces (actAs switches to the enterprise's space).
  const spaceOf = () => spaceKeyOf(auth.session) || 'anonymous';
  const drafts = createSyncEngine({ graphql, storage: platform.storage, platform, space: spaceOf });

  // syncPoke needs a client the server knows (registered by its first push): a refused subscription is
  // attached again after the next successful sync round.
  let pokesLive = false;
  function pokeSource(clientId, onPoke) {
    pokesLive = true;
    return sockets.subscribe({ query: POKE, variables: { clientId } }, {
      next: onPoke,
      error: () => { pokesLive = false; },
      complete: () => { pokesLive = false; },
    });
  }
  function attachPokes() {
    const citizen = auth.session && auth.session.kind !== 'operator';
    if (drafts.clientId) drafts.attachPokes(citizen ? pokeSource : null);
    if (!citizen) pokesLive = false;
  }
  let pokesTriedAt = null; // one new attempt per successful round, not per status event
  drafts.subscribe((event) => {
    const syncedAt = drafts.status.lastSyncedAt;
    if (event.type !== 'status' || pokesLive || !auth.session || !syncedAt || syncedAt === pokesTriedAt) return;
    pokesTriedAt = syncedAt;
    attachPokes();
  });

  const ready = auth.load()
    .then(() => drafts.open())
    .then(() => { if (auth.session) attachPokes(); });
  // A new identity behind the token (another person, actAs) must not keep the old socket: the server checks
  // syncPoke's clientId and the inbox against the token the socket was opened with.
  let socketSpace = null;
  auth.onChange(() => {
    const space = spaceOf();
    if (socketSpace !== null && space !== socketSpace) sockets.renew();
    socketSpace = space;
    ready.then(() => drafts.open()).then(attachPokes).catch(() => null);
  });

  const uploads = createUploads({
    graphql, platform, auth,
    clientId: async () => {
      await ready;
      return drafts.clientId;
    },
    registerClient: () => drafts.sync(),
  });
  const inbox = createInbox({ graphql, platform, auth, sockets });

  return {
    platform,
    ready,
    auth,
    graphql,
    unwrap,
    uploads,
    inbox,
    drafts,
    sockets,
  };
}
