// The engine's persisted state in platform.storage. WeChat caps one key at 1 MB, so every server copy of a draft
// has its own key and the meta key holds the queue, ids and cursor. Writes are chained so they never interleave;
// drafts are written before the meta key that names the cursor, so a crash in between only repeats a pull.

const META_VERSION = 1;

export function emptyState(spaceKey) {
  return {
    spaceKey,
    clientId: null,
    issued: 0, // highest mutation id ever handed out under clientId: ids are never reused
    lmid: 0, // highest lastMutationId the server reported for clientId
    pushedThrough: 0, // highest id the server has answered; later ones are (re)sent
    pulledLmid: 0, // LMID confirmed by a pull: results through it may be deleted (ackResultsThrough)
    cursor: null,
    epoch: null,
    lastSyncedAt: null,
    drafts: {}, // draftId -> server copy (only what pulls and push results said)
    queue: [], // {mutation, sent, result}: pending, or answered but not yet covered by a pull
    quarantine: {}, // draftId -> [{id, clientId, mutationId, path, value, code, message}]
    errors: {}, // draftId -> {code, message, paths}
  };
}

export function createStore(storage, spaceKey) {
  const prefix = `zsb.sync.${spaceKey}`;
  const metaKey = `${prefix}.meta`;
  const draftKey = (id) => `${prefix}.d.${id}`;
  let chain = Promise.resolve();

  async function load() {
    const state = emptyState(spaceKey);
    const text = await storage.get(metaKey);
    if (!text) return state;
    const meta = JSON.parse(text);
    if (meta.v !== META_VERSION) throw new Error(`sync store version ${meta.v} is not supported`);
    Object.assign(state, meta.state);
    state.drafts = {};
    for (const id of meta.draftIds) {
      const copy = await storage.get(draftKey(id));
      if (copy) state.drafts[id] = JSON.parse(copy);
    }
    return state;
  }

  // dirtyDrafts: ids whose server copy changed (written or, when gone from state.drafts, removed).
  function save(state, dirtyDrafts) {
    const ids = [...(dirtyDrafts || [])];
    const { drafts, ...rest } = state;
    const meta = JSON.stringify({ v: META_VERSION, state: rest, draftIds: Object.keys(drafts) });
    const copies = ids.filter((id) => drafts[id]).map((id) => [id, JSON.stringify(drafts[id])]);
    const gone = ids.filter((id) => !drafts[id]);
    const write = chain.then(async () => {
      for (const [id, text] of copies) await storage.set(draftKey(id), text);
      await storage.set(metaKey, meta);
      for (const id of gone) await storage.remove(draftKey(id));
    });
    chain = write.catch(() => {});
    return { written: write, bytes: meta.length };
  }

  return { load, save, flushed: () => chain };
}
