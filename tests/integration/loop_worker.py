"""Runs the critique or reflexion loop in its own process so crash tests can SIGKILL it.

Usage: python -m tests.integration.loop_worker --graph critique|reflexion --url URL
--thread ID --steps-log PATH [--pause-before-task N]

Each graph plays the scripted scenario of its unit tests, so the loop goes round several
times:

- ``critique`` "improves to pass on round 3": three drafts, judged 0.30 (not passed), 0.60
  (not passed), 0.85 (passed);
- ``reflexion`` "fails twice then succeeds using the reflections": two failing attempts,
  each followed by a reflection, then a passing one; every attempt is checked by running
  the task's tests in the sandbox (a real subprocess, `tools.sandbox`).

The scripted models are stateless: each reply is chosen from the prompt the node built
(the round of the draft being revised, the draft being judged, the reflections an attempt
sees, the attempt being reflected on), never from a per-process call counter, so a process
that resumes a thread decides exactly as an uninterrupted one. (``index_by="turn"`` would not
help here: these nodes send a fresh system and human message, no AI turns.)

The worker logs to ``--steps-log``, one JSON line each, tagged with its pid: every model call
(``model_call``: ``draft-N``, ``verdict-N``, ``attempt-N``, ``reflect-N``), every sandbox run
(``sandbox``: ``attempt-N``) and every completed graph task (``name``). Tasks are counted as
in `graph_worker`: each task event with an ``input`` is a start; at the N-th start
(``--pause-before-task N``) it prints ``PAUSED`` and blocks, waiting to be killed. At the end
it prints ``RESULT <json>``: what must match between an interrupted and a clean run.

Reflexion's episodic lessons go to an `InMemoryStore`, one per process: the crash test is
about the checkpointer. The result lists the lessons this process's store holds at the end.
"""

from __future__ import annotations

import os

os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
os.environ["LANGSMITH_TRACING"] = "false"
os.environ.pop("OPENAI_API_KEY", None)

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from langchain_core.messages import BaseMessage, HumanMessage  # noqa: E402
from langgraph.graph.state import CompiledStateGraph  # noqa: E402
from langgraph.store.base import Item  # noqa: E402
from langgraph.store.memory import InMemoryStore  # noqa: E402

import graphs.reflexion  # noqa: E402
from checkpointers.factory import open_checkpointer  # noqa: E402
from graphs.critique import build_critique_graph  # noqa: E402
from graphs.reflexion import build_reflexion_graph, extract_code  # noqa: E402
from memory.episodic import LESSONS_NAMESPACE  # noqa: E402
from models import ScriptedChatModel  # noqa: E402
from nodes.messages import latest_human_text  # noqa: E402
from state.critique import Verdict  # noqa: E402
from tests.integration.graph_worker import drive, log_entry, log_tasks, summarise  # noqa: E402
from tools.sandbox import SandboxResult  # noqa: E402

# -- the scenarios ---------------------------------------------------------------------------

CRITIQUE_REQUEST = "Write a one-line apology for the late order A-1002."
DRAFTS = ["late.", "Sorry, it is late.", "Sorry, A-1002 is late; it arrives Friday."]
"""The writer's drafts, round 1 first (tests/unit/test_critique_graph.py, round 3 passes)."""
VERDICTS = [
    Verdict(score=0.3, passed=False, issues=["no apology", "no order id"]),
    Verdict(score=0.6, passed=False, issues=["no order id"]),
    Verdict(score=0.85, passed=True, issues=[]),
]
"""The judge's verdict on each draft, in the same order."""

REFLEXION_REQUEST = "Please do the slugify task."
ATTEMPTS = [
    "```python\nimport re\n\n\ndef slugify(text):\n"
    "    return re.sub(r'[^a-z0-9]+', '-', text.lower())\n```",  # does not strip the dashes
    "```python\nimport re\n\n\ndef slugify(text):\n"
    "    return re.sub(r'\\W+', '-', text.lower()).strip('-')\n```",  # keeps accented letters
    "```python\nimport re\n\n\ndef slugify(text):\n"
    "    return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')\n```",  # passes
]
"""The coder's attempts (tests/unit/test_reflexion_graph.py): two fail, the third passes."""
LESSONS = [
    "Strip '-' from both ends after replacing separators.",
    "\\w matches non-ASCII letters; use [^a-z0-9] after lower-casing.",
]
"""The reflection on each failed attempt."""

_REVISED_ROUND = re.compile(r"^Previous draft \(round (\d+),", re.MULTILINE)
_REFLECTION = re.compile(r"^- attempt \d+: ", re.MULTILINE)
_REFLECTED_ATTEMPT = re.compile(r"^Attempt (\d+):$", re.MULTILINE)


# -- logging ---------------------------------------------------------------------------------


def logged_model(steps_log: str, decide: Callable[[str], tuple[str, Any]]) -> ScriptedChatModel:
    """A stateless scripted model: `decide` maps the prompt to (call label, reply).

    Each call is logged with its label after the reply was chosen.
    """

    def reply(messages: list[BaseMessage]) -> Any:
        label, answer = decide(latest_human_text(messages))
        log_entry(steps_log, model_call=label)
        return answer

    return ScriptedChatModel(replies=[reply], cycle=True)


def write_draft(prompt: str) -> tuple[str, str]:
    """The writer: draft 1 for the request, draft N+1 when revising round N."""
    revising = _REVISED_ROUND.search(prompt)
    number = int(revising.group(1)) + 1 if revising else 1
    return f"draft-{number}", DRAFTS[number - 1]


def judge_draft(prompt: str) -> tuple[str, Verdict]:
    """The judge: the scripted verdict on the draft quoted at the end of the prompt."""
    number = DRAFTS.index(prompt.rsplit("Draft:\n", 1)[1]) + 1
    return f"verdict-{number}", VERDICTS[number - 1]


def code_or_reflect(prompt: str) -> tuple[str, str]:
    """The coder (attempt N+1 after N reflections) or the reflector (lesson on attempt N)."""
    reflected = _REFLECTED_ATTEMPT.search(prompt)
    if reflected and "Test result:" in prompt:
        number = int(reflected.group(1))
        return f"reflect-{number}", LESSONS[number - 1]
    number = len(_REFLECTION.findall(prompt)) + 1
    return f"attempt-{number}", ATTEMPTS[number - 1]


def log_sandbox_runs(steps_log: str) -> None:
    """Log each sandbox run of the reflexion graph with the attempt it checks."""
    run = graphs.reflexion.run_in_sandbox
    codes = [extract_code(attempt) for attempt in ATTEMPTS]

    def logged(code: str, tests: str, **options: Any) -> SandboxResult:
        result = run(code, tests, **options)
        log_entry(steps_log, sandbox=f"attempt-{codes.index(code) + 1}", passed=result.passed)
        return result

    graphs.reflexion.run_in_sandbox = logged


# -- the graphs and their results ------------------------------------------------------------


def build(
    name: str, saver: Any, store: InMemoryStore, steps_log: str
) -> tuple[CompiledStateGraph[Any, Any, Any, Any], str]:
    """The graph on its scripted models, and the request that starts the scenario."""
    if name == "critique":
        writer = logged_model(steps_log, write_draft)
        judge = logged_model(steps_log, judge_draft)
        return build_critique_graph(writer, judge, checkpointer=saver), CRITIQUE_REQUEST
    log_sandbox_runs(steps_log)
    model = logged_model(steps_log, code_or_reflect)
    graph = build_reflexion_graph(model, checkpointer=saver, store=store)
    return graph, REFLEXION_REQUEST


def result_of(name: str, values: dict[str, Any], store: InMemoryStore) -> dict[str, Any]:
    """What must match between an interrupted and a clean run of `name`."""
    messages = [summarise(m) | {"name": m.name} for m in values["messages"]]
    if name == "critique":
        keys = ("request", "drafts", "verdicts", "round", "best", "outcome")
        return {"messages": messages, **{key: values[key] for key in keys}}
    stored = store.search((LESSONS_NAMESPACE,), limit=100)
    return {
        "messages": messages,
        **{key: values[key] for key in ("task", "lessons", "attempts", "reflections")},
        "succeeded": values["succeeded"],
        # how long each sandbox run took differs from run to run; everything else must match
        "evaluations": [
            {k: v for k, v in e.items() if k != "duration_s"} for e in values["evaluations"]
        ],
        "stored_lessons": sorted((_stored_lesson(item) for item in stored), key=str),
    }


def _stored_lesson(item: Item) -> dict[str, Any]:
    """A lesson in the store, without when it was stored (which differs from run to run)."""
    value = {k: v for k, v in item.value.items() if k != "recorded_at"}
    return {"namespace": list(item.namespace), "key": item.key, **value}


def main() -> int:
    """Run (or resume) the thread and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--graph", required=True, choices=["critique", "reflexion"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--steps-log", required=True)
    parser.add_argument("--pause-before-task", type=int, default=0)
    args = parser.parse_args()

    store = InMemoryStore()
    with open_checkpointer(args.url) as saver:
        graph, request_text = build(args.graph, saver, store, args.steps_log)
        config: Any = {"configurable": {"thread_id": args.thread}}
        request = {"messages": [HumanMessage(request_text, id="request")]}
        drive(graph, config, request, log_tasks(args.steps_log, args.pause_before_task))
        final = graph.get_state(config)
        assert not final.next, f"the run stopped before the end, at {final.next}"
        result = result_of(args.graph, final.values, store)
        print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
