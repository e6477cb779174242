"""`valr-monitor bench`: measured figures, each with its floor in the same run."""
