"""Evidence in git: checkpoint chains, result notes, rollback, fixes, promotion, sharing."""
