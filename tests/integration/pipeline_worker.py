"""Runs the contract-review pipeline in its own process so crash tests can SIGKILL it.

Usage: python -m tests.integration.pipeline_worker --url URL --thread ID --steps-log PATH
[--pause-before-task N | --pause-in-stage STAGE]

The served stages run on the demo model, so each plays its offline stand-in
(`demo.contract_review_stand_ins`), which this worker registers with logging: every model
call is logged as ``{"model_call": <stage>}`` and a stage's final answer as
``{"finished_stage": <stage>}``. The stand-ins are deterministic, so a resumed process decides
exactly as an uninterrupted one. The worker accepts every approval itself (the risks, after
``assess_risks``), logs each completed graph node, prints ``PAUSED`` and blocks at the pause
point (before the N-th graph node starts, or at a stage's first model call: the earlier
stages are finished and saved, durability ``sync``), and at the end prints ``RESULT <json>``.
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

from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage  # noqa: E402

from checkpointers.factory import open_checkpointer  # noqa: E402
from demo.contract_review import CONTRACT_REQUEST, contract_stages  # noqa: E402
from demo.contract_review_stand_ins import STAND_INS  # noqa: E402
from graphs.pipeline import build_pipeline_graph  # noqa: E402
from models import ScriptedChatModel, register_offline  # noqa: E402
from state.pipeline import stage_role  # noqa: E402
from tests.integration.graph_worker import drive, log_entry, log_tasks, pause  # noqa: E402


def logging_stand_in(stage: str, steps_log: str, pause_in: str) -> Callable[..., BaseChatModel]:
    """The stage's stand-in, logging each model call (and pausing at `pause_in`'s first)."""
    play = STAND_INS[stage]

    def factory(**inputs: Any) -> BaseChatModel:
        inner = play(**inputs)

        def logged(messages: list[BaseMessage]) -> Any:
            if stage == pause_in:
                pause()
            reply = inner.invoke(messages)
            log_entry(steps_log, model_call=stage)
            if isinstance(reply, AIMessage) and not reply.tool_calls:
                log_entry(steps_log, finished_stage=stage)
            return reply

        return ScriptedChatModel(replies=[logged], cycle=True)

    return factory


def main() -> int:
    """Run (or resume) the thread and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--steps-log", required=True)
    parser.add_argument("--pause-before-task", type=int, default=0)
    parser.add_argument("--pause-in-stage", default="")
    args = parser.parse_args()
    for stage in STAND_INS:
        register_offline(
            stage_role(stage), logging_stand_in(stage, args.steps_log, args.pause_in_stage)
        )

    with open_checkpointer(args.url) as saver:
        config: Any = {"configurable": {"thread_id": args.thread}}
        graph = build_pipeline_graph(
            contract_stages(), approve_after=("assess_risks",), checkpointer=saver
        )
        on_task = log_tasks(args.steps_log, args.pause_before_task)
        request = {"messages": [HumanMessage(CONTRACT_REQUEST, id="request")]}
        drive(graph, config, request, on_task, context={"model": "demo"})
        final = graph.get_state(config).values
        result = {
            "answer": final["messages"][-1].text,
            "stages": final["stages"],
            "approvals": sorted((r["action"], r["decision"]) for r in final["approvals"]),
            "status": final["status"],
        }
        print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
