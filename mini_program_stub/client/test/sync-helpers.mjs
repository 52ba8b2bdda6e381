// Shared setup for the sync engine tests.
import { createSyncEngine } from '../sync/index.js';
import { fakePlatform } from './sync-fake-platform.mjs';

export async function device(server, { store, syncPlatform = 'WEB', random, backoff } = {}) {
  const link = server.connect();
  const platform = fakePlatform({ store, syncPlatform, random });
  const drafts = createSyncEngine({ graphql: link.graphql, platform, storage: platform.storage, space: 'P:13',
    backoff });
  await drafts.open();
  return { drafts, link, platform, store: platform.store };
}

export const pushes = (server, clientId) => server.requests
  .filter((r) => r.op === 'push' && (!clientId || r.input.clientId === clientId)).map((r) => r.input);

export const pushedIds = (server, clientId) => pushes(server, clientId).map((input) => input.mutations.map((m) => m.id));

export function historyOf(server, draftId, path) {
  return (server.history || []).filter((h) => h.draftId === draftId && (!path || h.path === path));
}
