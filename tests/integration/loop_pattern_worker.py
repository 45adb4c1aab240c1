"""Runs the loop pattern's supplier-CSV scenario in its own process so crash tests can kill it.

Usage: python -m tests.integration.loop_pattern_worker --url URL --thread ID --steps-log PATH
[--pause-before-task N | --pause-in-body ROUND]

(Not `loop_worker`: that one runs the ReAct tool loop for `test_loop_crash`.)

The body and the judge run on the demo model, so they play the scenario's offline stand-ins
(`demo.supplier_csv`), which this worker registers again with logging: each body model call
(``body_call``: its round), each round the body finished (``finished_round``: its final reply,
the plan) and each judge call (``judge_call``). Both stand-ins are stateless and deterministic,
so a resumed process decides exactly as an uninterrupted one. It logs each completed graph node
to ``--steps-log``, prints ``PAUSED`` and blocks at the pause point, and at the end prints
``RESULT <json>``.

Pause points: before the N-th graph node starts; or inside round N's body, at its first model
call (the earlier rounds are finished and saved).
"""

from __future__ import annotations

import os

os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
os.environ["LANGSMITH_TRACING"] = "false"
os.environ.pop("OPENAI_API_KEY", None)

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage  # noqa: E402

from checkpointers.factory import open_checkpointer  # noqa: E402
from demo.supplier_csv import (  # noqa: E402
    BODY_NAME,
    SUPPLIER_REQUEST,
    csv_repair_body,
    demo_body,
    demo_judge,
)
from graphs.loop import build_loop_graph  # noqa: E402
from models import HeuristicDemoModel, ScriptedChatModel, register_offline  # noqa: E402
from state.loop import body_role, judge_role  # noqa: E402
from tests.integration.graph_worker import drive, log_entry, log_tasks, pause  # noqa: E402


def logging_body(steps_log: str, pause_in_round: int) -> Callable[..., ScriptedChatModel]:
    """The body's stand-in, logging each model call (and pausing in `pause_in_round`)."""

    def for_round(**inputs: Any) -> ScriptedChatModel:
        play = demo_body(**inputs).replies[0]
        number = inputs["round"]

        def logged(messages: list[BaseMessage]) -> Any:
            if number == pause_in_round:
                pause()
            reply = play(messages)
            log_entry(steps_log, body_call=number)
            if not (isinstance(reply, AIMessage) and reply.tool_calls):
                log_entry(steps_log, finished_round=number)
            return reply

        return ScriptedChatModel(replies=[logged], cycle=True)

    return for_round


def logging_judge(steps_log: str) -> Callable[..., ScriptedChatModel]:
    """The judge's stand-in, logging each call with its round."""

    def for_round(**inputs: Any) -> ScriptedChatModel:
        verdict = demo_judge(**inputs).replies[0]

        def logged(messages: list[BaseMessage]) -> Any:
            log_entry(steps_log, judge_call=inputs["round"])
            return verdict

        return ScriptedChatModel(replies=[logged], cycle=True)

    return for_round


def main() -> int:
    """Run (or resume) the thread and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--steps-log", required=True)
    parser.add_argument("--pause-before-task", type=int, default=0)
    parser.add_argument("--pause-in-body", type=int, default=0)
    args = parser.parse_args()
    register_offline(body_role(BODY_NAME), logging_body(args.steps_log, args.pause_in_body))
    register_offline(judge_role(BODY_NAME), logging_judge(args.steps_log))

    with open_checkpointer(args.url) as saver:
        config: Any = {"configurable": {"thread_id": args.thread}}
        graph = build_loop_graph(csv_repair_body(), model=HeuristicDemoModel(), checkpointer=saver)
        on_task = log_tasks(args.steps_log, args.pause_before_task)
        request = {"messages": [HumanMessage(SUPPLIER_REQUEST, id="request")]}
        drive(graph, config, request, on_task)
        final = graph.get_state(config).values
        result = {
            "answer": final["messages"][-1].text,
            "messages": len(final["messages"]),
            "rounds": [
                {"round": r["round"], "output": r["output"], "verdict": r["verdict"]}
                for r in final["rounds"]
            ],
            "outcome": final["outcome"],
        }
        print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
