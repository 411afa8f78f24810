"""Partner statements: per partner, month and currency, issued once from the ledger."""
