// Why a sync round ended early without a network failure; the loop waits `retryAfterMs` (or backs off) and goes on.
export class SyncStop extends Error {
  constructor(code, message, retryAfterMs, stoppedAt) {
    super(message || code);
    this.name = 'SyncStop';
    this.code = code;
    this.retryAfterMs = retryAfterMs == null ? null : Number(retryAfterMs);
    this.stoppedAt = stoppedAt == null ? null : Number(stoppedAt);
  }
}

// The server refused in a way retrying cannot fix (CLIENT_NOT_OWNED, CLIENT_UPGRADE_REQUIRED, INVALID_BATCH...):
// the loop stops and the queue stays on the device until the app is fixed or the user signs in again.
export class SyncFatal extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = 'SyncFatal';
    this.code = code;
  }
}
