"""The reflexion graph: structure, happy path, learning from failures, bounds, lessons."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from demo.reflexion_stand_ins import (
    SLUGIFY_ATTEMPTS,
    demo_coder,
    demo_reflector,
    register_stand_ins,
)
from graphs.reflexion import SCENARIOS, build_reflexion_graph, extract_code, parse_task
from memory.episodic import EpisodicMemory
from memory.namespaces import namespace_label
from models import ScriptedChatModel
from state.reflexion import CODER_ROLE, REFLECTOR_ROLE, CoderInputs, CodeTask, ReflectorInputs
from tests.snapshots import assert_matches_snapshot
from tests.stand_ins import recording_stand_ins

GOOD = (
    "```python\nimport re\n\n\ndef slugify(text):\n"
    "    return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')\n```"
)
NO_STRIP = (
    "```python\nimport re\n\n\ndef slugify(text):\n"
    "    return re.sub(r'[^a-z0-9]+', '-', text.lower())\n```"
)
UNICODE = (
    "```python\nimport re\n\n\ndef slugify(text):\n"
    "    return re.sub(r'\\W+', '-', text.lower()).strip('-')\n```"
)
LESSON_1 = "Strip '-' from both ends after replacing separators."
LESSON_2 = "\\w matches non-ASCII letters; use [^a-z0-9] after lower-casing."


def run(
    replies: list[Any], *, store: InMemoryStore | None = None, **context: Any
) -> tuple[dict[str, Any], ScriptedChatModel]:
    model = ScriptedChatModel(replies=replies)
    graph = build_reflexion_graph(model, checkpointer=InMemorySaver(), store=store)
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    result = graph.invoke(
        {"messages": [("user", "Please do the slugify task.")]}, config, context=context or None
    )
    return {**result, "thread_id": config["configurable"]["thread_id"]}, model


def test_graph_structure_snapshot() -> None:
    assert_matches_snapshot("reflexion", build_reflexion_graph().get_graph().draw_mermaid())


def test_parse_task_and_extract_code() -> None:
    assert parse_task("slugify please") == SCENARIOS["slugify"]
    custom = {"task": "add", "tests": "from solution import add\ndef test():\n    assert add()\n"}
    assert parse_task(json.dumps(custom)).task == "add"  # type: ignore[union-attr]
    assert parse_task("hello") is None and parse_task("{not json") is None
    assert extract_code("Here:\n```python\nx = 1\n```\nDone.") == "x = 1\n"
    assert extract_code("x = 2") == "x = 2\n"


def test_happy_path_succeeds_on_the_first_attempt() -> None:
    result, model = run([GOOD])

    assert result["succeeded"] is True
    assert len(result["attempts"]) == 1 and result["reflections"] == []
    assert result["evaluations"][0]["passed"] and result["evaluations"][0]["tests"] == 5
    answer = result["messages"][-1]
    assert answer.name == "reflexion"
    assert answer.text.startswith("Succeeded on attempt 1 of 3.")
    assert "def slugify" in answer.text
    assert len(model.calls) == 1
    prompt = model.calls[0].last_text
    assert "slugify" in prompt and "def test_words" in prompt and "Reflections" not in prompt


def test_fails_twice_then_succeeds_using_the_reflections() -> None:
    result, model = run([NO_STRIP, LESSON_1, UNICODE, LESSON_2, GOOD])

    assert result["succeeded"] is True
    assert [e["passed"] for e in result["evaluations"]] == [False, False, True]
    assert [r["lesson"] for r in result["reflections"]] == [LESSON_1, LESSON_2]
    # the reflect calls see the failing test; the third attempt sees both reflections
    assert "test_strips_dashes" in model.calls[1].last_text
    assert "test_non_ascii_is_a_separator" in model.calls[3].last_text
    third = model.calls[4].last_text
    assert f"attempt 1: {LESSON_1}" in third and f"attempt 2: {LESSON_2}" in third
    assert LESSON_1 in model.calls[2].last_text and LESSON_2 not in model.calls[2].last_text
    assert result["messages"][-1].text.startswith("Succeeded on attempt 3 of 3.")


def test_bounded_attempts_end_with_a_clear_failure() -> None:
    result, model = run([NO_STRIP, LESSON_1, NO_STRIP, LESSON_1], max_attempts=2)

    assert result["succeeded"] is False
    assert len(result["attempts"]) == 2 and len(model.calls) == 4
    text = result["messages"][-1].text
    assert text.startswith("Did not succeed: 2 of 2 attempts failed the tests.")
    assert "test_strips_dashes" in text and "Final code:" in text


def test_code_that_loops_forever_is_a_timed_out_failure() -> None:
    loop = "```python\ndef slugify(text):\n    while True:\n        pass\n```"
    result, _ = run([loop, "Never loop without an exit."], max_attempts=1, time_limit_s=1.0)

    assert result["succeeded"] is False
    assert result["evaluations"][0]["timed_out"] is True
    assert "Timed out" in result["messages"][-1].text


def test_request_without_a_task_ends_with_instructions() -> None:
    model = ScriptedChatModel(replies=[])
    graph = build_reflexion_graph(model)
    result = graph.invoke({"messages": [("user", "hello")]})

    assert result["succeeded"] is False and model.calls == []
    assert "No coding task found" in result["messages"][-1].text


def test_a_second_run_starts_from_the_stored_lesson() -> None:
    store = InMemoryStore()
    first, _ = run([NO_STRIP, LESSON_1, GOOD], store=store)
    assert first["succeeded"] is True

    lessons = EpisodicMemory(store, "reflexion").recall(SCENARIOS["slugify"].task, same_task=True)
    assert {lesson.lesson for lesson in lessons if not lesson.success} == {LESSON_1}
    assert any(lesson.success for lesson in lessons)
    assert {lesson.thread_id for lesson in lessons} == {first["thread_id"]}  # provenance

    second, model = run([GOOD], store=store)
    assert second["succeeded"] is True
    assert LESSON_1 in second["lessons"]
    prompt = model.calls[0].last_text
    assert "Lessons from earlier runs" in prompt and LESSON_1 in prompt


def test_lessons_are_per_owner_and_per_task_id() -> None:
    store = InMemoryStore()
    run([NO_STRIP, LESSON_1, GOOD], store=store, owner="alice", task_id="slug")

    _, bob = run([GOOD], store=store, owner="bob", task_id="slug")
    assert "Lessons from earlier runs" not in bob.calls[0].last_text
    _, alice = run([GOOD], store=store, owner="alice", task_id="slug")
    assert LESSON_1 in alice.calls[0].last_text


def test_offline_demo_stand_ins_fail_twice_learn_and_pass() -> None:
    """On the demo model the scripted coder learns from each reflection; the tests are real."""
    store = InMemoryStore()
    graph = build_reflexion_graph(checkpointer=InMemorySaver(), store=store)

    def ask() -> dict[str, Any]:
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        return graph.invoke({"messages": [("user", "slugify")]}, config, context={"model": "demo"})

    first = ask()
    assert first["succeeded"] is True and len(first["attempts"]) == 3
    assert [e["passed"] for e in first["evaluations"]] == [False, False, True]
    assert "test_words" in first["evaluations"][0]["summary"]
    assert "Punctuation is a separator" in first["reflections"][0]["lesson"]
    assert "\\w also matches accented letters" in first["reflections"][1]["lesson"]

    second = ask()  # recalls the stored lessons, so it starts from what the first run learnt
    assert second["lessons"] and second["succeeded"] is True
    assert len(second["attempts"]) == 1 and second["reflections"] == []


@pytest.fixture
def stand_in_inputs() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Spy on the stand-ins: record the inputs each role's factory is built with."""
    with recording_stand_ins(
        {CODER_ROLE: demo_coder, REFLECTOR_ROLE: demo_reflector}, register_stand_ins
    ) as seen:
        yield seen


def test_the_stand_ins_get_the_declared_inputs_on_every_call(
    stand_in_inputs: dict[str, list[dict[str, Any]]],
) -> None:
    """The contract between the graph and a role's stand-in is `CoderInputs`/`ReflectorInputs`."""
    store = InMemoryStore()
    graph = build_reflexion_graph(checkpointer=InMemorySaver(), store=store)
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    result = graph.invoke({"messages": [("user", "slugify")]}, config, context={"model": "demo"})
    assert result["succeeded"] is True and len(result["attempts"]) == 3

    coder, reflector = stand_in_inputs[CODER_ROLE], stand_in_inputs[REFLECTOR_ROLE]
    assert all(set(call) == set(CoderInputs.__annotations__) for call in coder)
    assert all(set(call) == set(ReflectorInputs.__annotations__) for call in reflector)
    reflections = result["reflections"]
    assert coder == [
        {"task": SCENARIOS["slugify"], "lessons": [], "reflections": reflections[:n]}
        for n in range(3)
    ]
    assert reflector == [
        {
            "task": SCENARIOS["slugify"],
            "trial": attempt["trial"],
            "code": attempt["code"],
            "failures": evaluation["failures"],
            "summary": evaluation["summary"],
        }
        for attempt, evaluation in zip(
            result["attempts"][:2], result["evaluations"][:2], strict=True
        )
    ]
    assert "test_words" in {failure["test"] for failure in reflector[0]["failures"]}

    stand_in_inputs[CODER_ROLE].clear()
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    graph.invoke({"messages": [("user", "slugify")]}, config, context={"model": "demo"})
    assert len(coder) == 1 and coder[0]["lessons"] and coder[0]["reflections"] == []


def test_the_stand_ins_play_from_their_inputs_not_the_prompt() -> None:
    slugify = SCENARIOS["slugify"]
    first = demo_coder(task=slugify, lessons=[], reflections=[]).invoke("unrelated").text
    assert extract_code(first) == SLUGIFY_ATTEMPTS[0]
    learnt = demo_coder(task=slugify, lessons=["a"], reflections=[{"trial": 1, "lesson": "b"}])
    assert extract_code(learnt.invoke("unrelated").text) == SLUGIFY_ATTEMPTS[2]
    other = CodeTask(task="Implement add(a, b).", tests="from solution import add\n")
    assert "only knows the shipped scenario" in demo_coder(task=other).invoke("x").text

    failures = [{"test": "test_strips_dashes", "error": "AssertionError", "where": ""}]
    lesson = demo_reflector(failures=failures, summary="1 of 5 tests failed:").invoke("x").text
    assert lesson == "Strip '-' from both ends after replacing separators."
    unknown = demo_reflector(failures=[], summary="Timed out: killed.\nmore").invoke("x").text
    assert unknown == "Fix what the tests reported first: Timed out: killed. more"


def test_lessons_belong_to_the_authenticated_user_not_the_context_owner() -> None:
    """Finding 5 (issue 11): on an authenticated server the owner field cannot pick lessons."""
    store = InMemoryStore()

    def run_as(user: str, owner: str, replies: list[Any]) -> ScriptedChatModel:
        model = ScriptedChatModel(replies=replies)
        graph = build_reflexion_graph(model, checkpointer=InMemorySaver(), store=store)
        configurable = {"thread_id": uuid.uuid4().hex, "langgraph_auth_user_id": user}
        graph.invoke(
            {"messages": [("user", "slugify")]},
            {"configurable": configurable},
            context={"owner": owner},
        )
        return model

    run_as("ana@example.com", "bob", [NO_STRIP, LESSON_1, GOOD])

    assert store.search(("lessons", "bob")) == []  # not where the client's owner pointed
    ana = EpisodicMemory(store, namespace_label("ana@example.com"))
    assert LESSON_1 in {lesson.lesson for lesson in ana.recall(SCENARIOS["slugify"].task)}
    # bob naming ana's namespace as owner recalls nothing of hers; ana, naming bob, gets hers
    bob_model = run_as("bob", namespace_label("ana@example.com"), [GOOD])
    assert "Lessons from earlier runs" not in bob_model.calls[0].last_text
    ana_model = run_as("ana@example.com", "bob", [GOOD])
    assert LESSON_1 in ana_model.calls[0].last_text
