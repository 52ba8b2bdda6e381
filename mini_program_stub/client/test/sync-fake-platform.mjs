// A platform for the sync tests: storage in a Map the test can keep across engine restarts, a fake clock whose
// sleeps resolve only when the test advances time, a fixed random(), and online events on demand.
export function fakePlatform({ store = new Map(), random = 0.5, syncPlatform = 'WEB' } = {}) {
  let clock = 1_700_000_000_000;
  let seq = 0;
  const timers = [];
  const online = new Set();
  const platform = {
    name: 'memory',
    syncPlatform,
    store,
    sleeps: [], // every sleep duration asked for, in order
    storage: {
      async get(key) { return store.has(key) ? store.get(key) : null; },
      async set(key, value) {
        if (typeof value !== 'string') throw new TypeError('storage holds strings');
        store.set(key, value);
      },
      async remove(key) { store.delete(key); },
    },
    now: () => clock,
    random: () => random,
    sleep(ms) {
      platform.sleeps.push(ms);
      return new Promise((resolve) => timers.push({ at: clock + ms, seq: seq++, resolve }));
    },
    onOnline(callback) {
      online.add(callback);
      return () => online.delete(callback);
    },
    goOnline() { for (const callback of [...online]) callback(); },
    async advance(ms) {
      const target = clock + ms;
      for (;;) {
        await settle();
        timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
        if (!timers.length || timers[0].at > target) break;
        const due = timers.shift();
        clock = due.at;
        due.resolve();
      }
      clock = target;
      await settle();
    },
  };
  return platform;
}

export async function settle(rounds = 30) {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}
