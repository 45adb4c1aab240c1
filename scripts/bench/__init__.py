"""The benchmark suite: `python -m scripts.bench` (see `scripts/bench/__main__.py`).

Not part of the test suite. Every benchmark compares two or more ways of doing the same work
side by side, interleaved round by round in one process (this machine is noisy: absolute
times drift, ratios measured together do not), and reports ratios of medians with their spread.
"""
