"""The demo shop: what the served graphs, the CLI demos and the notebooks are wired with.

An online shop's order support (orders, refunds, tickets, the help centre), a delivery fleet,
the departments and teams the multi-agent patterns coordinate, routing examples, the offline
stand-ins that play the LLM's roles without a network, and the simulated outside systems where
the tools' side effects land (`demo.effects`).

None of this is framework: `graphs/`, `nodes/`, `state/`, `tools/`, `models/`,
`checkpointers/`, `memory/` and `server/` never import it, except the one line at the bottom
of each `graphs/<pattern>.py` that wires the module-level ``graph`` `langgraph.json` serves
(tests/unit/test_layers.py enforces both). Import the submodules you need; this package
imports nothing on its own, so importing it never builds a graph.
"""
