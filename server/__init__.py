"""Hooks `langgraph.json` names for `langgraph dev` and LangGraph server deployments."""
