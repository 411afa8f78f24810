"""The risk firewall: a referred order is allowed, held for review, or rejected, with its reasons."""
