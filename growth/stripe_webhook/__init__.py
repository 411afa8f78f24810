"""Stripe webhooks: signed events in, orders and their lifecycle events out, each event once."""
