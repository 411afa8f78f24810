"""Where partners are paid: their payout account, and the providers that move the money."""
