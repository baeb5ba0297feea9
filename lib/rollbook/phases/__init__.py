"""One module per runbook step; the notebooks call these."""
