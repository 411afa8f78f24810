"""Delay alerts: items past their expected time, told to the customer or partner and listed for marketing."""
