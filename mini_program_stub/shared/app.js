// The App definition both mini-programs register: session and sync lifecycle around the shared client.
// The project's app.js supplies what differs:
//   createClient()           the client on the container's platform adapter and channel
//   signInSilently(auth)     signs in with the container's own code (wx.login / my.getAuthCode)
export const defineApp = ({ createClient, signInSilently }) => ({
  client: null,
  signingIn: null,

  onLaunch() {
    this.client = createClient();
    // A failed silent refresh drops the session: the next page that needs one signs in again with a fresh code.
    this.client.auth.onChange((session) => {
      if (!session) this.signingIn = null;
    });
    this.whenSignedIn().catch(() => {});
  },

  onShow() {
    if (this.signingIn) this.signingIn.then(() => this.client.drafts.start()).catch(() => {});
  },

  onHide() {
    // No background sync while hidden: the container freezes timers anyway and a half-sent push waits for onShow.
    if (this.client) this.client.drafts.stop();
  },

  // Pages await this before any signed-in call; a failure is not cached so the next page retries.
  whenSignedIn() {
    if (!this.signingIn) {
      this.signingIn = this.signIn().catch((error) => {
        this.signingIn = null;
        throw error;
      });
    }
    return this.signingIn;
  },

  async signIn() {
    await this.client.ready;
    if (!this.client.auth.session) await signInSilently(this.client.auth);
    await this.client.drafts.open();
    this.client.drafts.start();
    return this.client.auth.session;
  },
});
