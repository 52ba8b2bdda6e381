"""Outbox relays: each consumer of the generic outbox reads it in id order and handles an event at most once."""
