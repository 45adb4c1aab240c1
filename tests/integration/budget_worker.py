"""One run of the ReAct graph as an authenticated user, in its own process (budget tests).

Usage: python -m tests.integration.budget_worker --url URL --user U --thread T [--question Q]

The user id is put where the LangGraph server's auth handler puts it
(``langgraph_auth_user_id``), so the caps of that user apply. Prints ``RESULT <json>``: the
last message's name and text, and the thread's usage totals from the table.
"""

from __future__ import annotations

import os

os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
os.environ["LANGSMITH_TRACING"] = "false"
os.environ.pop("OPENAI_API_KEY", None)

import argparse  # noqa: E402
import json  # noqa: E402

from checkpointers.factory import open_checkpointer  # noqa: E402
from graphs.registry import build_graph  # noqa: E402
from nodes.usage import usage_log  # noqa: E402


def main() -> int:
    """Run once and print the result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--question", default="Where is my order A-1001?")
    args = parser.parse_args()
    with open_checkpointer(args.url) as saver:
        graph = build_graph("react", checkpointer=saver)
        config = {"configurable": {"thread_id": args.thread, "langgraph_auth_user_id": args.user}}
        final = graph.invoke(
            {"messages": [("user", args.question)]},
            config,
            context={"model": "demo", "approval_policy": "never"},
        )
        last = final["messages"][-1]
        result = {
            "name": last.name,
            "text": last.text,
            "usage": usage_log(saver).totals(thread_id=args.thread),
            "run_stop": final.get("run_stop"),
        }
    print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
