"""The one path for model calls (`nodes.ask`) and offline stand-ins by role (`models.offline`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables.config import var_child_runnable_config
from pydantic import BaseModel, Field

import nodes.ask
import nodes.model_call
from graphs.critique import JUDGE_ROLE, WRITER_ROLE
from graphs.plan_execute import EXECUTOR_ROLE, PLANNER_ROLE, REPLANNER_ROLE
from graphs.react import build_react_graph
from graphs.reflexion import CODER_ROLE, REFLECTOR_ROLE
from models import HeuristicDemoModel, ScriptedChatModel
from models.offline import (
    build_stand_in,
    is_offline_demo,
    offline_roles,
    offline_stand_in,
    plays_offline,
    register_offline,
)
from nodes.ask import InvalidOutput, ask_structured, ask_text, describe_error, invoke_model
from nodes.controls import CONTROLS_KEY, Controls, RetrySettings
from nodes.model_call import resolve_model

ROOT = Path(__file__).resolve().parents[2]


class Score(BaseModel):
    value: float = Field(ge=0, le=1)
    note: str = ""


PROMPT = [SystemMessage("Rate it."), HumanMessage("A fine answer.")]


# -- ask_structured: the policy ---------------------------------------------------------------


def test_a_valid_answer_is_returned_after_one_call_through_a_forced_schema() -> None:
    model = ScriptedChatModel(replies=[{"value": 0.8}])

    answer = ask_structured(model, PROMPT, Score, role="rater")

    assert answer == Score(value=0.8)
    [call] = model.calls
    assert call.structured_output == "Score" and call.last_text == "A fine answer."


def test_an_invalid_answer_is_asked_again_with_the_validation_error() -> None:
    model = ScriptedChatModel(replies=[{"value": 7}, {"value": 0.7}])

    answer = ask_structured(model, PROMPT, Score, role="rater", label="score", hint="0 to 1.")

    assert answer == Score(value=0.7)
    first, second = model.calls
    assert second.messages[: len(first.messages)] == first.messages, "the prompt is kept"
    assert second.last_text == (
        "Your score was invalid (ValidationError: value: Input should be less than or equal "
        "to 1). Answer again with a valid score: 0 to 1."
    )


def test_an_answer_invalid_every_time_ends_with_the_recorded_reason_not_an_exception() -> None:
    model = ScriptedChatModel(replies=[{"value": 7}, {"note": "no value"}, {"value": 0.5}])

    answer = ask_structured(model, PROMPT, Score, role="rater")

    assert isinstance(answer, InvalidOutput) and len(model.calls) == 2, "one re-ask by default"
    assert answer.attempts == 2 and answer.role == "rater" and answer.schema == "Score"
    assert answer.errors[0].startswith("ValidationError: value: Input should be less")
    assert answer.errors[1] == "ValidationError: value: Field required"
    assert answer.reason == (
        "the rater gave no valid Score in 2 attempts (ValidationError: value: Field required)"
    )
    record = answer.record()
    assert json.loads(json.dumps(record)) == record, "JSON-safe, for state"
    assert record["outcome"] == "ended" and record["fallback"] is None
    assert record["errors"] == list(answer.errors) and record["reason"] == answer.reason
    with pytest.raises(ValueError, match="no fallback"):
        answer.use_fallback()


@pytest.mark.parametrize("reasks", [0, 2, 5])
def test_the_re_asks_are_bounded_by_max_reasks(reasks: int) -> None:
    model = ScriptedChatModel(replies=[{"value": 9}], cycle=True)

    answer = ask_structured(model, PROMPT, Score, max_reasks=reasks)

    assert isinstance(answer, InvalidOutput) and answer.attempts == reasks + 1
    assert len(model.calls) == reasks + 1
    assert sum(m.text.startswith("Your answer was invalid") for m in model.calls[-1].messages) == (
        reasks
    ), "each re-ask keeps the earlier errors in the prompt"


@pytest.mark.parametrize("bad", [-1, 6])
def test_max_reasks_out_of_range_is_refused_before_any_call(bad: int) -> None:
    model = ScriptedChatModel(replies=[])
    with pytest.raises(ValueError, match="max_reasks"):
        ask_structured(model, PROMPT, Score, max_reasks=bad)
    assert model.calls == []


def test_a_reply_that_calls_no_schema_is_invalid_and_says_what_the_model_said() -> None:
    model = ScriptedChatModel(replies=["I think it is quite good.", {"value": 0.6}])

    answer = ask_structured(model, PROMPT, Score)

    assert answer == Score(value=0.6)
    assert "NoStructuredAnswer: the reply did not call Score" in model.calls[1].last_text
    assert "quite good" in model.calls[1].last_text


def test_arguments_that_do_not_parse_are_invalid_output() -> None:
    broken = AIMessage(
        content="",
        tool_calls=[],
        invalid_tool_calls=[
            {
                "name": "Score",
                "args": "{value: ",
                "id": "c1",
                "error": "bad JSON",
                "type": "invalid_tool_call",
            }
        ],
    )
    model = ScriptedChatModel(replies=[broken, broken])

    answer = ask_structured(model, PROMPT, Score)

    assert isinstance(answer, InvalidOutput) and answer.attempts == 2


def test_fallback_needs_a_value_and_is_recorded_with_it() -> None:
    with pytest.raises(ValueError, match="fallback"):
        ask_structured(ScriptedChatModel(replies=[]), PROMPT, Score, on_invalid="fallback")
    model = ScriptedChatModel(replies=[{}], cycle=True)

    answer = ask_structured(
        model, PROMPT, Score, on_invalid="fallback", fallback=Score(value=0.0, note="default")
    )

    assert isinstance(answer, InvalidOutput)
    assert answer.use_fallback() == Score(value=0.0, note="default")
    record = answer.record()
    assert record["outcome"] == "fallback" and record["fallback"] == {
        "value": 0.0,
        "note": "default",
    }


def test_errors_of_the_call_itself_are_retried_then_propagate() -> None:
    fast = Controls(model_retry=RetrySettings(max_attempts=3, initial_delay_s=0, jitter=0))
    token = var_child_runnable_config.set({"configurable": {CONTROLS_KEY: fast}})
    try:
        flaky = ScriptedChatModel(replies=[ConnectionError("reset"), {"value": 0.5}])
        assert ask_structured(flaky, PROMPT, Score) == Score(value=0.5)
        down = ScriptedChatModel(replies=[ConnectionError("network down")], cycle=True)
        with pytest.raises(ConnectionError):
            ask_structured(down, PROMPT, Score)
        assert len(down.calls) == 3  # every attempt made, then no invalid-output re-ask
    finally:
        var_child_runnable_config.reset(token)


def test_describe_error_is_one_short_line() -> None:
    try:
        Score.model_validate({"value": "x" * 2000})
    except Exception as exc:  # noqa: BLE001
        text = describe_error(exc)
    assert "\n" not in text and text.startswith("ValidationError: value:")
    assert len(describe_error(RuntimeError("boom\n" * 500))) <= 500


# -- ask_text and invoke_model ----------------------------------------------------------------


def test_ask_text_returns_the_answer_text_and_takes_message_likes() -> None:
    model = ScriptedChatModel(replies=["Hello there."])

    assert ask_text(model, [("system", "Be brief."), ("user", "Hi")], role="greeter") == (
        "Hello there."
    )
    assert [type(m).__name__ for m in model.calls[0].messages] == ["SystemMessage", "HumanMessage"]


def test_every_model_call_of_a_run_goes_through_invoke_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    roles: list[str] = []
    original = nodes.ask.invoke_model

    def recording(runnable: Any, messages: Any, *, role: str, rebind: Any = None) -> Any:
        roles.append(role)
        return original(runnable, messages, role=role, rebind=rebind)

    monkeypatch.setattr(nodes.ask, "invoke_model", recording)
    monkeypatch.setattr(nodes.model_call, "invoke_model", recording)
    model = ScriptedChatModel(replies=["Sure."])
    build_react_graph(model, []).invoke({"messages": [("user", "hi")]})
    ask_text(ScriptedChatModel(replies=["x"]), ["hi"], role="writer")
    ask_structured(ScriptedChatModel(replies=[{"value": 0.1}]), ["hi"], Score, role="judge")

    assert roles == ["agent", "writer", "judge"]


def test_invoke_model_passes_the_messages_on() -> None:
    model = ScriptedChatModel(replies=["ok"])
    assert invoke_model(model, [HumanMessage("hi")], role="x").text == "ok"


def test_no_module_calls_a_model_around_the_one_path() -> None:
    """Structured output is asked for in nodes/ask.py only; the demo model is told apart in
    models/offline.py only."""
    sources = [
        p
        for folder in ("graphs", "nodes", "memory", "server", "cli", "state", "tools")
        for p in (ROOT / folder).rglob("*.py")
    ]
    structured = [p for p in sources if ".with_structured_output(" in p.read_text()]
    assert [p.relative_to(ROOT).as_posix() for p in structured] == ["nodes/ask.py"]
    demo_check = re.compile(r"isinstance\([^)]*HeuristicDemoModel")
    checks = [
        p.relative_to(ROOT).as_posix()
        for p in [*sources, *(ROOT / "models").rglob("*.py")]
        if demo_check.search(p.read_text())
    ]
    assert checks == ["models/offline.py"]


# -- offline stand-ins by role ----------------------------------------------------------------


def test_the_patterns_register_their_stand_ins_by_role() -> None:
    roles = set(offline_roles())
    assert {JUDGE_ROLE, WRITER_ROLE, CODER_ROLE, REFLECTOR_ROLE} <= roles
    assert {PLANNER_ROLE, REPLANNER_ROLE, EXECUTOR_ROLE} <= roles


def test_a_stand_in_plays_its_role_only_on_the_demo_model() -> None:
    made: list[dict[str, Any]] = []

    def factory(**inputs: Any) -> ScriptedChatModel:
        made.append(inputs)
        return ScriptedChatModel(replies=["stand-in"])

    register_offline("test.role", factory)
    demo, scripted = HeuristicDemoModel(), ScriptedChatModel(replies=["real"])

    assert is_offline_demo(demo) and not is_offline_demo(scripted)
    assert plays_offline(demo, "test.role") and not plays_offline(scripted, "test.role")
    assert not plays_offline(demo, "test.unregistered") and not plays_offline(demo, None)
    stand_in = resolve_model(demo, "", role="test.role", inputs={"request": "hi"})
    assert ask_text(stand_in, ["hi"], role="x") == "stand-in" and made == [{"request": "hi"}]
    assert resolve_model(scripted, "", role="test.role") is scripted
    assert resolve_model(demo, "", role="test.unregistered") is demo
    assert resolve_model(demo, "") is demo, "no role, no stand-in"
    assert offline_stand_in(scripted, "test.role") is None
    assert isinstance(build_stand_in("test.role"), ScriptedChatModel)


def test_a_run_on_the_demo_spec_resolves_to_the_stand_in() -> None:
    stand_in = resolve_model(None, "demo", role=JUDGE_ROLE)
    assert isinstance(stand_in, ScriptedChatModel)
    assert isinstance(resolve_model(None, "demo"), HeuristicDemoModel)
