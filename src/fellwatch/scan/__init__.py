"""The scan: evidence items through signals and matching into findings, resumable."""
