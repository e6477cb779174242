"""`valr-monitor chaos`: a seeded soak of faults, checked against the exchange's ground truth."""
