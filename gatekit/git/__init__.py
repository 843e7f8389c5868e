"""Git access: the repository, candidate trees, shadow worktrees."""
