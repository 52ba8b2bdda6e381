"""Channel adapters: one per delivery channel, all with the `ChannelAdapter` shape of `base`."""
