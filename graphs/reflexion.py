"""Reflexion: attempt, check externally, reflect on the failure, retry with the reflections.

For a coding task the external check is the task's tests, run against the generated code in an
isolated sandbox (`tools.sandbox`: bubblewrap, an unprivileged user, no network, a read-only
root; the code is never executed in-process). Each failure becomes a written reflection the
next attempt sees. Lessons are kept in episodic memory (`memory.episodic`, in ``runtime.store``
when the graph has a store, under ``("lessons", owner)``), so a later run of the same or a
similar task starts from them. The owner is the server's authenticated user when there is one
(`nodes.identity`), never a client's ``context.owner``; outside a server it is
``context.owner``.

    recall_lessons ──(no task)──────────────────────────────► finish ─► record_lesson ─► END
          │                                                      ▲
          ▼                                                      │(passed / out of attempts)
       attempt ─► evaluate ──(failed)──► reflect ──(attempts left)──► attempt
                     └──────(passed)──────────────────────────────► finish

The task comes from the latest user message: a message naming a shipped scenario
(`SCENARIOS`, e.g. "slugify"), or, only where client-supplied code is allowed, a JSON object
``{"task": ..., "tests": ..., "tests_description": ...}`` (tests: a module of ``test_*``
functions importing from ``solution``). A task's tests are code the server runs, so client
tasks are refused unless the operator opts in (``AGENT_PATTERNS_ALLOW_CLIENT_CODE=1``, or
``build_reflexion_graph(allow_client_code=True)``); the model's code is always run, and is
treated as just as untrusted. The evaluate node enforces the same rule on whatever task the
state holds, so a task written through the state API is refused too. Where the sandbox cannot
isolate the code (no bubblewrap), the evaluation records that the code was not run and the run
ends with that message.

Each model call names its role (`CODER_ROLE`, `REFLECTOR_ROLE`) and passes the inputs declared
for it (`state.reflexion.CoderInputs`, `state.reflexion.ReflectorInputs`). On the offline demo
model (keyword heuristics, not an LLM) a stand-in registered for the role plays it from those
inputs; the served graph registers the demo's (`demo.reflexion_stand_ins`, which know the
``slugify`` scenario: the run fails twice, learns, and passes; a later run that recalls the
lessons passes at once).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from pydantic import ValidationError

from graphs._compile import compile_pattern
from memory.episodic import EpisodicMemory
from memory.namespaces import namespace_label
from nodes.ask import ask_text
from nodes.context import AgentNode, context_as
from nodes.identity import authenticated_user_id
from nodes.messages import latest_human_text
from nodes.model_call import resolve_model
from nodes.retry import MODEL_RETRY, TRANSIENT_RETRY
from nodes.runtime import PatternRuntime
from state.agent import AgentInput
from state.reflexion import (
    CODER_ROLE,
    REFLECTOR_ROLE,
    Attempt,
    CoderInputs,
    CodeTask,
    Reflection,
    ReflectorInputs,
    ReflexionContext,
    ReflexionState,
)
from tools.sandbox import SandboxResult, SandboxUnavailableError, run_in_sandbox

__all__ = [
    "ALLOW_CLIENT_CODE_ENV",
    "CODER_ROLE",
    "DEFAULT_RECURSION_LIMIT",
    "REFLECTOR_ROLE",
    "SCENARIOS",
    "SERVED_OPTIONS",
    "build_reflexion_graph",
    "client_code_allowed",
    "extract_code",
    "graph",
    "parse_task",
    "route_after_evaluate",
    "route_after_reflect",
]

DEFAULT_RECURSION_LIMIT = 40
"""Super-steps per run: three per attempt (attempt, evaluate, reflect) plus four; 10 fit."""

REPLY_NAME = "reflexion"

ALLOW_CLIENT_CODE_ENV = "AGENT_PATTERNS_ALLOW_CLIENT_CODE"
"""Environment variable by which the operator allows client-supplied tasks (``1``)."""

SCENARIOS: dict[str, CodeTask] = {
    "slugify": CodeTask(
        task="Implement `slugify(text: str) -> str` in Python: lower-case the text, turn every "
        "run of characters other than ASCII letters and digits into a single '-', and strip "
        "'-' from both ends.",
        tests_description="'Hello, World!' -> 'hello-world'; '  A  b ' -> 'a-b'; "
        "'--x--' -> 'x'; '' -> ''; 'Déjà vu' -> 'd-j-vu' (non-ASCII letters are separators).",
        tests=(
            "from solution import slugify\n\n\n"
            "def test_words():\n"
            "    assert slugify('Hello, World!') == 'hello-world'\n\n\n"
            "def test_spaces_collapse():\n"
            "    assert slugify('  A  b ') == 'a-b'\n\n\n"
            "def test_strips_dashes():\n"
            "    assert slugify('--x--') == 'x'\n\n\n"
            "def test_empty():\n"
            "    assert slugify('') == ''\n\n\n"
            "def test_non_ascii_is_a_separator():\n"
            "    assert slugify('Déjà vu') == 'd-j-vu'\n"
        ),
    ),
}
"""Coding tasks shipped with the pattern, selected by naming them in the request."""

_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


# -- helpers ---------------------------------------------------------------------------------


def parse_task(text: str) -> CodeTask | None:
    """The coding task a request describes: task JSON, or a scenario named in it, or None."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            return CodeTask.model_validate(json.loads(stripped))
        except (json.JSONDecodeError, ValidationError):
            return None
    lowered = stripped.lower()
    return next((task for name, task in SCENARIOS.items() if name in lowered), None)


def extract_code(text: str) -> str:
    """The code in a model reply: the first fenced block, else the whole text."""
    match = _FENCE.search(text)
    return (match.group(1) if match else text).strip() + "\n"


def client_code_allowed(explicit: bool | None = None) -> bool:
    """Whether client-supplied tasks (their test code) may run.

    Args:
        explicit: the graph's own setting; None defers to the operator's environment variable
            `ALLOW_CLIENT_CODE_ENV` (``1``, ``true`` or ``yes``), read on every run.

    Example:
        >>> client_code_allowed(True), client_code_allowed(False)
        (True, False)
    """
    if explicit is not None:
        return explicit
    return os.environ.get(ALLOW_CLIENT_CODE_ENV, "").strip().lower() in ("1", "true", "yes")


def _refusal() -> str:
    names = ", ".join(sorted(SCENARIOS))
    return (
        "Client-supplied tasks are turned off here: a task's tests are code this server "
        f"would run. Name one of the shipped scenarios instead: {names}. (The operator "
        f"can allow client tasks with {ALLOW_CLIENT_CODE_ENV}=1; they then run in the same "
        "isolated sandbox as the model's code.)"
    )


def _is_server_task(task: CodeTask) -> bool:
    return any(task == scenario for scenario in SCENARIOS.values())


def _memory_key(task: CodeTask, context: ReflexionContext) -> str:
    return context.task_id or task.task


def _lessons_owner(context: ReflexionContext) -> str:
    """Whose lessons: the authenticated user (escaped to a label), else ``context.owner``."""
    user = authenticated_user_id()
    return namespace_label(user) if user else context.owner


def _attempt_prompt(state: ReflexionState, task: CodeTask) -> str:
    parts = [f"Task:\n{task.task}"]
    if task.tests_description:
        parts.append(f"The tests check:\n{task.tests_description}")
    parts.append(f"Tests (test_solution.py; your module is solution.py):\n{task.tests}")
    if state.get("lessons"):
        parts.append(
            "Lessons from earlier runs of this or a similar task:\n"
            + "\n".join(f"- {lesson}" for lesson in state["lessons"])
        )
    if state.get("reflections"):
        parts.append(
            "Reflections on your failed attempts so far:\n"
            + "\n".join(f"- attempt {r['trial']}: {r['lesson']}" for r in state["reflections"])
        )
    return "\n\n".join(parts)


# -- nodes -----------------------------------------------------------------------------------


def make_recall_lessons(allow_client_code: bool | None = None) -> AgentNode:
    """Build the node reading the task from the request and recalling lessons for it."""

    def recall_lessons(
        state: ReflexionState, *, runtime: Runtime[ReflexionContext]
    ) -> dict[str, Any]:
        """Read the task (refusing client code unless allowed); recall lessons (with a store)."""
        context = context_as(runtime, ReflexionContext)
        text = latest_human_text(state["messages"])
        task = parse_task(text)
        refusal = None
        if text.strip().startswith("{") and not client_code_allowed(allow_client_code):
            if task is None or not _is_server_task(task):
                task, refusal = None, _refusal()
        lessons: list[str] = []
        if task is not None and runtime.store is not None:
            memory = EpisodicMemory(runtime.store, _lessons_owner(context))
            key = _memory_key(task, context)
            found = memory.recall(key, limit=context.lesson_limit, same_task=bool(context.task_id))
            lessons = list(dict.fromkeys(lesson.lesson for lesson in found))
        return {
            "task": task.model_dump(mode="json") if task else None,
            "refusal": refusal,
            "lessons": lessons,
            "attempts": [],
            "evaluations": [],
            "reflections": [],
            "succeeded": False,
        }

    return recall_lessons


def make_attempt(model: BaseChatModel | None) -> AgentNode:
    """Build the node where the model writes code for the task."""

    def attempt(state: ReflexionState, *, runtime: Runtime[ReflexionContext]) -> dict[str, Any]:
        """Write the next attempt from the task, lessons and reflections so far."""
        context = context_as(runtime, ReflexionContext)
        task = CodeTask.model_validate(state["task"])
        inputs = CoderInputs(
            task=task,
            lessons=list(state.get("lessons", [])),
            reflections=list(state.get("reflections", [])),
        )
        coder = resolve_model(model, context.model, role=CODER_ROLE, inputs=inputs)
        text = ask_text(
            coder,
            [SystemMessage(context.system_prompt), HumanMessage(_attempt_prompt(state, task))],
            role="coder",
        )
        trial = len(state.get("attempts", [])) + 1
        record = Attempt(trial=trial, code=extract_code(text)).model_dump(mode="json")
        return {"attempts": [*state.get("attempts", []), record]}

    return attempt


def make_evaluate(allow_client_code: bool | None = None) -> AgentNode:
    """Build the node running the task's tests against the latest attempt in the sandbox."""

    def evaluate(state: ReflexionState, *, runtime: Runtime[ReflexionContext]) -> dict[str, Any]:
        """Run the tests in the isolated sandbox; a task not allowed here, or no sandbox: not run.

        Whatever the state holds is checked again here, where code runs: a task written
        through the state API is refused like one in a message.
        """
        context = context_as(runtime, ReflexionContext)
        task = CodeTask.model_validate(state["task"])
        latest = state["attempts"][-1]
        error = None
        if not (client_code_allowed(allow_client_code) or _is_server_task(task)):
            error = _refusal()
        else:
            try:
                result = run_in_sandbox(
                    latest["code"], task.tests, time_limit_s=context.time_limit_s
                )
            except SandboxUnavailableError as exc:
                error = str(exc)
        if error is not None:
            result = SandboxResult(passed=False)
            entry = {"trial": latest["trial"], "summary": f"Not run: {error}", "error": error}
        else:
            entry = {"trial": latest["trial"], "summary": result.summary()}
        entry |= result.to_dict()
        return {
            "evaluations": [*state.get("evaluations", []), entry],
            "succeeded": result.passed,
        }

    return evaluate


def make_reflect(model: BaseChatModel | None) -> AgentNode:
    """Build the node where the model turns a failure into a lesson."""

    def reflect(state: ReflexionState, *, runtime: Runtime[ReflexionContext]) -> dict[str, Any]:
        """Reflect on the latest failed attempt."""
        context = context_as(runtime, ReflexionContext)
        task = CodeTask.model_validate(state["task"])
        latest, result = state["attempts"][-1], state["evaluations"][-1]
        inputs = ReflectorInputs(
            task=task,
            trial=latest["trial"],
            code=latest["code"],
            failures=list(result.get("failures", [])),
            summary=result["summary"],
        )
        reflector = resolve_model(model, context.model, role=REFLECTOR_ROLE, inputs=inputs)
        reply = ask_text(
            reflector,
            [
                SystemMessage(context.reflect_prompt),
                HumanMessage(
                    f"Task:\n{task.task}\n\nAttempt {latest['trial']}:\n```python\n"
                    f"{latest['code']}```\n\nTest result:\n{result['summary']}"
                ),
            ],
            role="reflector",
        )
        text = reply.strip()
        lesson = text or result["summary"]
        record = Reflection(trial=latest["trial"], lesson=lesson).model_dump(mode="json")
        return {"reflections": [*state.get("reflections", []), record]}

    return reflect


def finish(state: ReflexionState, *, runtime: Runtime[ReflexionContext]) -> dict[str, Any]:
    """Say whether an attempt succeeded, with the final code."""
    context = context_as(runtime, ReflexionContext)
    if state.get("task") is None:
        names = ", ".join(sorted(SCENARIOS))
        text = state.get("refusal") or (
            f"No coding task found. Name a scenario: {names}; or, where client-supplied tasks "
            f'are allowed ({ALLOW_CLIENT_CODE_ENV}=1), send a JSON object {{"task": ..., '
            '"tests": ...} (tests: test_* functions importing from `solution`).'
        )
        return {"messages": [AIMessage(text, name=REPLY_NAME)], "succeeded": False}
    attempts = state.get("attempts", [])
    code = attempts[-1]["code"] if attempts else ""
    evaluations = state.get("evaluations", [])
    if state.get("succeeded"):
        head = f"Succeeded on attempt {len(attempts)} of {context.max_attempts}."
    elif evaluations and evaluations[-1].get("error"):
        head = f"Did not succeed: the code was not run. {evaluations[-1]['error']}"
    else:
        last = state["evaluations"][-1]["summary"] if state.get("evaluations") else ""
        head = (
            f"Did not succeed: {len(attempts)} of {context.max_attempts} attempts failed the "
            f"tests. Last result: {last}"
        )
    text = f"{head}\n\nFinal code:\n```python\n{code}```"
    return {"messages": [AIMessage(text, name=REPLY_NAME)]}


def record_lesson(state: ReflexionState, *, runtime: Runtime[ReflexionContext]) -> dict[str, Any]:
    """Store this run's lessons in episodic memory (each reflection; a success summary)."""
    if runtime.store is None or state.get("task") is None:
        return {}
    context = context_as(runtime, ReflexionContext)
    task = CodeTask.model_validate(state["task"])
    memory = EpisodicMemory(runtime.store, _lessons_owner(context))
    key = _memory_key(task, context)
    thread_id = get_config().get("configurable", {}).get("thread_id")
    for reflection in state.get("reflections", []):
        memory.record(
            key,
            reflection["lesson"],
            success=False,
            trial=reflection["trial"],
            thread_id=thread_id,
            source="reflexion.reflect",
        )
    if state.get("succeeded") and state.get("reflections"):
        fixes = " ".join(r["lesson"] for r in state["reflections"])
        memory.record(
            key,
            f"Passed on attempt {len(state['attempts'])} after applying: {fixes}",
            success=True,
            trial=len(state["attempts"]),
            thread_id=thread_id,
            source="reflexion.finish",
        )
    return {}


# -- routers ---------------------------------------------------------------------------------


def route_after_recall(state: ReflexionState) -> Literal["attempt", "finish"]:
    """Attempt the task, or finish at once when the request held none."""
    return "attempt" if state.get("task") is not None else "finish"


def route_after_evaluate(state: ReflexionState) -> Literal["reflect", "finish"]:
    """Finish when the tests passed or could not run at all, else reflect on the failure."""
    evaluations = state.get("evaluations") or []
    not_run = bool(evaluations and evaluations[-1].get("error"))
    return "finish" if state.get("succeeded") or not_run else "reflect"


def route_after_reflect(
    state: ReflexionState, *, runtime: Runtime[ReflexionContext]
) -> Literal["attempt", "finish"]:
    """Try again while attempts are left."""
    context = context_as(runtime, ReflexionContext)
    return "attempt" if len(state.get("attempts", [])) < context.max_attempts else "finish"


# -- graph -----------------------------------------------------------------------------------


def build_reflexion_graph(
    model: BaseChatModel | None = None,
    *,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "reflexion",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    allow_client_code: bool | None = None,
) -> CompiledStateGraph[ReflexionState, ReflexionContext, AgentInput, ReflexionState]:
    """Build the reflexion graph.

    Args:
        model: chat model writing the code (role `CODER_ROLE`) and the reflections (role
            `REFLECTOR_ROLE`); None resolves ``context.model`` per run. The offline demo model
            is not an LLM and cannot write code: a run on it plays the stand-ins registered
            for the roles, given the declared inputs (the tests still run in the sandbox).
        runtime: checkpointer, store, effect ledger and tool timeout (`PatternRuntime`); its
            store is where episodic lessons live (none disables them; the server provides
            its store to the module-level `graph`).
        checkpointer: shorthand for ``runtime=PatternRuntime(checkpointer=...)``; None for
            stateless runs, or when a server provides its own.
        store: shorthand for the runtime's long-term memory store (``runtime.store`` in nodes,
            where the episodic lessons live).
        name: graph name.
        recursion_limit: hard cap on super-steps per run, on top of ``context.max_attempts``.
        allow_client_code: whether a task sent as JSON (its tests are client code the sandbox
            runs) is accepted; otherwise only `SCENARIOS` run. None (the default, and the
            served graph) reads `ALLOW_CLIENT_CODE_ENV` on every run, so it is the operator's
            choice. The model's code always runs, in the same isolated sandbox.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `ReflexionContext`; the
        result holds ``succeeded``, ``attempts``, ``evaluations`` and ``reflections``.
    """
    builder = StateGraph(
        ReflexionState,
        context_schema=ReflexionContext,
        input_schema=AgentInput,
        output_schema=ReflexionState,
    )
    builder.add_node(
        "recall_lessons", make_recall_lessons(allow_client_code), retry_policy=TRANSIENT_RETRY
    )
    builder.add_node("attempt", make_attempt(model), retry_policy=MODEL_RETRY)
    builder.add_node("evaluate", make_evaluate(allow_client_code))
    builder.add_node("reflect", make_reflect(model), retry_policy=MODEL_RETRY)
    builder.add_node("finish", finish)
    builder.add_node("record_lesson", record_lesson, retry_policy=TRANSIENT_RETRY)
    builder.add_edge(START, "recall_lessons")
    builder.add_conditional_edges("recall_lessons", route_after_recall)
    builder.add_edge("attempt", "evaluate")
    builder.add_conditional_edges("evaluate", route_after_evaluate)
    builder.add_conditional_edges("reflect", route_after_reflect)
    builder.add_edge("finish", "record_lesson")
    builder.add_edge("record_lesson", END)
    return compile_pattern(
        builder,
        runtime=PatternRuntime.of(runtime, checkpointer=checkpointer, store=store),
        name=name,
        recursion_limit=recursion_limit,
    )


from demo.reflexion_stand_ins import register_stand_ins  # noqa: E402  (the served graph's wiring only)

register_stand_ins()

SERVED_OPTIONS: dict[str, Any] = {"runtime": PatternRuntime.served()}
"""The demo's wiring of the served graph (`graphs.registry` builds it with a saver)."""

graph = build_reflexion_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one).

Client-supplied tasks are refused unless the operator sets ``AGENT_PATTERNS_ALLOW_CLIENT_CODE=1``.
"""
