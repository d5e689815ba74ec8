"""Hash sets: known-bad (CAID, Project VIC) and known-good (NSRL) lists in one normalised store."""
