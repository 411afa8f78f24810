"""The payout-run feature: selecting who is paid, and paying them exactly once."""
