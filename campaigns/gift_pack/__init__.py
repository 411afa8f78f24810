"""Gift packs and free samples: stock per SKU, reservations, and shipments to customers."""
