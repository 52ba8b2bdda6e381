// The background loop: run a round when there is work or a trigger (edit, poke, online event, poll interval);
// after a failure wait with exponential backoff and jitter, or what the server asked (retryAfterMs).

export const BACKOFF = { baseMs: 1000, maxMs: 60000, pollMs: 30000 };

// "Equal jitter": half the exponential delay fixed, half random, so devices that failed together spread out.
export function backoffDelay(attempt, random, options) {
  const opts = options || BACKOFF;
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export function retryDelay(error, attempt, random, options) {
  const backoff = backoffDelay(attempt, random, options);
  const asked = error && error.retryAfterMs != null ? Number(error.retryAfterMs) : null;
  // The server's retryAfterMs is a floor: never earlier, plus a little jitter so a busy server is not hit at once.
  return asked == null ? backoff : asked + Math.round(random() * Math.min(asked, 1000) * 0.2);
}

export function createLoop({ platform, round, hasWork, onDelay, options }) {
  const opts = { ...BACKOFF, ...(options || {}) };
  let running = false;
  let wake = null;
  let woken = false;
  let attempt = 0;
  let generation = 0;

  // Edits do not cut a backoff short (typing must not hammer a failing server); online events and pokes do.
  function trigger(urgent) {
    if (!urgent && attempt > 0) return;
    attempt = 0;
    woken = true;
    if (wake) wake();
  }

  function wait(ms) {
    if (woken) return Promise.resolve();
    return new Promise((resolve) => {
      wake = resolve;
      platform.sleep(ms).then(resolve);
    }).then(() => { wake = null; });
  }

  async function run(myGeneration) {
    // Every wake-up runs a round: a trigger, the end of a backoff, or the poll interval.
    while (running && generation === myGeneration) {
      woken = false;
      let delay;
      try {
        await round();
        attempt = 0;
        delay = hasWork() ? 0 : opts.pollMs;
      } catch (error) {
        if (error && error.name === 'SyncFatal') {
          running = false;
          break;
        }
        delay = retryDelay(error, attempt, () => platform.random(), opts);
        attempt += 1;
        if (onDelay) onDelay(delay, error);
      }
      if (!running || generation !== myGeneration) break;
      if (delay > 0) await wait(delay);
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      generation += 1;
      run(generation);
    },
    stop() {
      running = false;
      generation += 1;
      if (wake) wake();
    },
    trigger,
    get running() { return running; },
  };
}
