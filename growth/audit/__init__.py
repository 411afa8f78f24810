"""The audit log: an append-only, hash-chained record of every action that changes money or access."""
