"""The gate plan: a frozen, canonical description of what a check will do."""
