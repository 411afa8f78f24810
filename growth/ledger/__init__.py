"""The double-entry ledger: every money movement is one balanced journal entry; balances are sums."""
