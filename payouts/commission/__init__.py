"""Commission plans and the commissions partners earn on the orders they bring, booked in the ledger."""
