// The platform of the sync tests: the client's memory platform with its storage in a Map the test keeps across
// engine restarts, its fake clock (sleeps resolve only when the test advances time), a fixed random() and online
// events on demand. The engine talks to its GraphQL function directly, so no request handler is needed.
import { memoryPlatform, settle as settleTurns } from '../platform/memory.js';

export function fakePlatform({ store = new Map(), random = 0.5, syncPlatform = 'WEB' } = {}) {
  return memoryPlatform({ store, random, syncPlatform, sockets: false });
}

export const settle = (rounds = 30) => settleTurns(rounds);
