"""Operating runs: monitor, timeline, retry and fork, dead letters, retention."""
