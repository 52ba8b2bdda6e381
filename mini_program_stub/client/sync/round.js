// One sync round: push everything unanswered, then pull to hasMore = false, then refresh quarantine lists whose
// server count changed. Rounds are single-flight: a caller arriving during one waits and runs the next.

import { SyncStop, SyncFatal } from './errors.js';

const MAX_PUSHES_PER_ROUND = 50;

function knownServerEntries(state, draftId) {
  const ids = new Set((state.quarantine[draftId] || []).filter((q) => q.id != null).map((q) => q.id));
  return ids.size;
}

export function createRound({ ctx, pushOnce, pullOnce, fetchQuarantine, unsentEntries, updateStatus, reRegister }) {
  let chain = Promise.resolve();

  async function handleRejected(rejected) {
    if (rejected.code === 'CLIENT_STATE_NOT_FOUND') {
      reRegister();
      await ctx.persist();
      return;
    }
    if (rejected.retryable || rejected.code === 'RATE_LIMITED' || rejected.code === 'SERVER_BUSY') {
      throw new SyncStop(rejected.code, rejected.message, rejected.retryAfterMs);
    }
    throw new SyncFatal(rejected.code, rejected.message);
  }

  async function once() {
    const state = ctx.state;
    updateStatus({ syncing: true });
    let stop = null;
    try {
      for (let n = 0; n < MAX_PUSHES_PER_ROUND && unsentEntries(state).length; n++) {
        const before = state.pushedThrough;
        const outcome = await pushOnce(ctx);
        if (outcome.rejected) {
          await handleRejected(outcome.rejected);
          continue;
        }
        if (outcome.stop) {
          stop = outcome.stop;
          break;
        }
        if (state.pushedThrough === before) {
          // An answer that acknowledged nothing new (a stale or foreign reply): retry later, never spin.
          stop = new SyncStop('NO_PROGRESS', 'the push answer acknowledged nothing new', null);
          break;
        }
      }
      // Pull even after a temporary stop: conflicts and other devices' changes still reach the user.
      await pullOnce(ctx);
      for (const [draftId, copy] of Object.entries(state.drafts)) {
        if ((copy.quarantinedOps || 0) !== knownServerEntries(state, draftId)) {
          await fetchQuarantine(ctx, draftId);
        }
      }
      await ctx.persist();
      if (stop) throw stop;
      updateStatus({ online: true, lastError: null });
    } catch (error) {
      const offline = Boolean(error && error.offline);
      updateStatus({ online: !offline, lastError: { code: error.code || error.name, message: error.message } });
      throw error;
    } finally {
      ctx.flushEvents();
      updateStatus({ syncing: false });
    }
  }

  function round() {
    const next = chain.catch(() => {}).then(once);
    chain = next;
    return next;
  }
  // Resolves once no round is running: the engine swaps its state only then.
  round.idle = () => chain.catch(() => {});
  return round;
}

