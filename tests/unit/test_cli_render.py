"""`cli.render.StepPrinter`: concurrent steps stay apart and plan steps carry their names."""

from __future__ import annotations

import io

from langchain_core.messages import AIMessageChunk

from cli.render import StepPrinter


def chunk(text: str) -> tuple[AIMessageChunk, dict[str, str]]:
    return AIMessageChunk(content=text), {"langgraph_node": "call_model"}


def test_tokens_of_concurrent_steps_go_to_their_own_labelled_lines() -> None:
    out = io.StringIO()
    printer = StepPrinter(out)
    a, b = ("execute:1", "execute_step:a"), ("execute:1", "execute_step:b")
    for namespace, text in [(a, "Done: "), (b, "Done: "), (a, "one"), (b, "two")]:
        printer.on_event("messages", chunk(text), namespace)
    printer.on_event("updates", {"replan": {}}, ())

    assert out.getvalue().splitlines() == [
        "[execute/execute_step/call_model] answer: Done: ",
        "[execute/execute_step/call_model] answer: Done: ",
        "[execute/execute_step/call_model] answer: one",
        "[execute/execute_step/call_model] answer: two",
        "[replan] done",
    ]


def test_a_plan_step_task_is_named_after_its_step() -> None:
    out = io.StringIO()
    printer = StepPrinter(out)
    start = {"id": "t1", "name": "execute_step", "input": (({"step": {"id": "resize"}},), {})}
    printer.on_event("tasks", start, ())
    printer.on_event("messages", chunk("Done"), ("execute:0", "execute_step:t1"))
    result = {"status": "failed", "output": "", "error": "Error: fleet locked"}
    printer.on_event("updates", {"execute_step": {"step": "resize", "result": result}}, ())

    assert out.getvalue().splitlines() == [
        "[execute/execute_step[resize]/call_model] answer: Done",
        "[execute_step[resize]] failed: Error: fleet locked",
    ]


def test_a_verdict_and_a_test_run_are_shown() -> None:
    out = io.StringIO()
    printer = StepPrinter(out)
    verdict = {"round": 2, "score": 0.75, "passed": False, "issues": ["Next step: say it."]}
    printer.on_event("updates", {"judge": {"verdicts": [{"round": 1}, verdict]}}, ())
    run = {"trial": 1, "summary": "1 of 5 tests failed:\n- test_words: AssertionError"}
    printer.on_event("updates", {"evaluate": {"evaluations": [run]}}, ())

    assert out.getvalue().splitlines() == [
        "[judge] round 2: score 0.75, not passed",
        "[judge]   issue: Next step: say it.",
        "[evaluate] attempt 1: 1 of 5 tests failed: - test_words: AssertionError",
    ]
