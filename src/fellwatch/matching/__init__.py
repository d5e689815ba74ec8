"""Matching: exact digest lookups and perceptual (PDQ) lookups against hash sets."""
