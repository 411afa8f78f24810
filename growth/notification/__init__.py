"""Notifications: e-mail to customers and partners, and signed outgoing webhooks."""
