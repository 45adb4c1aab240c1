"""The context window (`nodes.context_window`): groups, trim, summarize with reuse, off."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from nodes.context_window import (
    MESSAGE_OVERHEAD_TOKENS,
    SUMMARY_PREFIX,
    WindowPlan,
    count_tokens,
    fit_window,
    group_starts,
    message_tokens,
)
from nodes.controls import WindowSettings
from state.window import WindowSummary

SYSTEM = [SystemMessage("You are a support agent.")]


def turn(n: int, size: int = 400) -> list[BaseMessage]:
    """One turn: a question, a tool call, its result, an answer (ids ``t<n>-...``)."""
    call = {"name": "lookup_order", "args": {"order_id": f"A-{n}"}, "id": f"call-{n}"}
    return [
        HumanMessage(f"question {n} " + "q" * size, id=f"t{n}-h"),
        AIMessage("", tool_calls=[call], id=f"t{n}-ai"),
        ToolMessage(f"result {n} " + "r" * size, tool_call_id=f"call-{n}", id=f"t{n}-tool"),
        AIMessage(f"answer {n} " + "a" * size, id=f"t{n}-answer"),
    ]


def thread(turns: int, size: int = 400) -> list[BaseMessage]:
    return [message for n in range(turns) for message in turn(n, size)]


def parallel_calls(n: int, calls: int = 3, size: int = 300) -> list[BaseMessage]:
    """An AI message with several tool calls, answered in another order than asked."""
    tool_calls = [
        {"name": "lookup_order", "args": {"order_id": f"B-{n}-{k}"}, "id": f"p{n}-{k}"}
        for k in range(calls)
    ]
    answers = [
        ToolMessage("x" * size, tool_call_id=f"p{n}-{k}", id=f"p{n}-tool-{k}")
        for k in reversed(range(calls))
    ]
    return [
        HumanMessage(f"several {n}", id=f"p{n}-h"),
        AIMessage("checking all", tool_calls=tool_calls, id=f"p{n}-ai"),
        *answers,
        AIMessage(f"all done {n}", id=f"p{n}-answer"),
    ]


def settings(**kwargs: object) -> WindowSettings:
    return WindowSettings(**kwargs)  # type: ignore[arg-type]


def conversation_sent(plan: WindowPlan) -> list[BaseMessage]:
    return [m for m in plan.messages if not isinstance(m, SystemMessage)]


class Recorder:
    """A summarizer that records what it was asked to fold."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str | None], str | None]] = []

    def __call__(self, folded: list[BaseMessage], previous: str | None) -> str:
        self.calls.append(([m.id for m in folded], previous))
        return f"summary #{len(self.calls)} of {len(folded)} messages"


def assert_pairs_whole(sent: Sequence[BaseMessage]) -> None:
    """Every sent tool call has its answer, and every sent answer its call."""
    asked = {c["id"] for m in sent if isinstance(m, AIMessage) for c in m.tool_calls}
    answered = {m.tool_call_id for m in sent if isinstance(m, ToolMessage)}
    assert asked == answered


def cut_of(conversation: Sequence[BaseMessage], plan: WindowPlan) -> int:
    """Where the plan cut: the sent conversation is everything from a group start on, led
    by the latest human message when the cut fell after it."""
    sent = [m for m in conversation_sent(plan) if not m.text.startswith(SUMMARY_PREFIX)]
    cut = len(conversation) - len(sent)
    if sent[:1] != list(conversation[cut : cut + 1]):  # the latest human message is pinned
        cut += 1
        humans = [m for m in conversation if isinstance(m, HumanMessage)]
        assert sent[0] is humans[-1] and conversation.index(sent[0]) < cut
    assert sent[-(len(conversation) - cut) :] == list(conversation[cut:])
    assert cut in [*group_starts(conversation), len(conversation)]
    return cut


def test_count_tokens_includes_tool_call_names_and_arguments() -> None:
    bare = AIMessage("", tool_calls=[{"name": "t", "args": {}, "id": "1"}])
    heavy = AIMessage("", tool_calls=[{"name": "t", "args": {"text": "z" * 400}, "id": "1"}])

    args_chars = len(json.dumps({"text": "z" * 400}))
    assert message_tokens(heavy) == MESSAGE_OVERHEAD_TOKENS + math.ceil((1 + args_chars) / 4)
    assert message_tokens(bare) == MESSAGE_OVERHEAD_TOKENS + 1  # "t" and "{}"
    assert count_tokens([bare, heavy]) == message_tokens(bare) + message_tokens(heavy)


def test_a_call_with_parallel_answers_is_one_group_and_an_orphan_joins_the_one_before() -> None:
    talk = [*parallel_calls(0), ToolMessage("late", tool_call_id="nobody", id="orphan")]

    assert group_starts(talk) == [0, 1, 5]
    assert group_starts(talk[1:]) == [0, 4]
    assert group_starts([]) == []


@pytest.mark.parametrize("budget", range(256, 2400, 37))
def test_trim_never_breaks_a_tool_call_from_its_answers(budget: int) -> None:
    conversation = [*parallel_calls(0), *thread(2, 200), *parallel_calls(1), HumanMessage("now?")]

    plan = fit_window(
        SYSTEM,
        conversation,
        settings=settings(max_tokens=budget, keep_last_messages=1),
        model_name="m",
    )

    sent = conversation_sent(plan)
    assert cut_of(conversation, plan) == plan.dropped
    assert_pairs_whole(sent)
    assert plan.tokens_after == count_tokens(plan.messages)
    if plan.tokens_after > budget:  # only when the latest human message alone is too big
        assert plan.messages[-1].text == "now?" and len(sent) == 1
        assert plan.event is not None and plan.event["over_budget"] is True


def test_trim_drops_the_oldest_turns_and_starts_on_a_human_message() -> None:
    conversation = [*thread(10), HumanMessage("and A-99?", id="last")]
    budget = 1500

    plan = fit_window(SYSTEM, conversation, settings=settings(max_tokens=budget), model_name="m")

    sent = conversation_sent(plan)
    assert plan.messages[0] is SYSTEM[0]
    assert isinstance(sent[0], HumanMessage) and sent[-1].id == "last"
    assert plan.tokens_after <= budget < plan.tokens_before
    # the next older turn would not have fitted
    assert count_tokens([*SYSTEM, *conversation[plan.dropped - 4 :]]) > budget
    assert plan.event == {
        "kind": "context_window",
        "policy": "trim",
        "configured_policy": "trim",
        "model": "m",
        "budget": budget,
        "tokens_before": plan.tokens_before,
        "tokens_after": plan.tokens_after,
        "dropped": plan.dropped,
        "kept": len(sent),
        "pinned_latest_human": False,
        "summary_used": False,
        "summarized": False,
        "summary_covers": None,
        "over_budget": False,
    }
    assert plan.summary is None


def test_the_kept_tail_is_sent_whole_even_over_budget_and_the_event_says_so() -> None:
    # the last 6 messages start at turn 4's tool result: rounded out to its call's group, 7
    conversation = thread(6)

    plan = fit_window(
        SYSTEM,
        conversation,
        settings=settings(max_tokens=256, keep_last_messages=6),
        model_name="m",
    )

    assert [m.id for m in conversation_sent(plan)][:2] == ["t4-ai", "t4-tool"]
    assert conversation_sent(plan) == conversation[-7:]
    assert plan.dropped == len(conversation) - 7
    assert plan.event is not None and plan.event["over_budget"] is True
    assert plan.tokens_after > 256


def test_the_latest_human_message_is_kept_with_everything_after_it() -> None:
    # the model is called after a tool result: the latest human message is 3 messages back
    conversation = [*thread(4), *turn(4)[:3]]

    plan = fit_window(
        SYSTEM,
        conversation,
        settings=settings(max_tokens=256, keep_last_messages=1),
        model_name="m",
    )

    assert [m.id for m in conversation_sent(plan)] == ["t4-h", "t4-ai", "t4-tool"]


def test_a_long_tool_loop_keeps_its_question_and_drops_the_middle_rounds_whole() -> None:
    rounds = [m for n in range(8) for m in parallel_calls(n)[1:-1]]  # calls and answers only
    conversation = [HumanMessage("check every order", id="question"), *rounds]
    budget = 1200

    plan = fit_window(SYSTEM, conversation, settings=settings(max_tokens=budget), model_name="m")

    sent = conversation_sent(plan)
    assert sent[0].id == "question" and sent[-1] is conversation[-1]
    assert isinstance(sent[1], AIMessage) and sent[1].tool_calls
    assert_pairs_whole(sent)
    assert plan.tokens_after <= budget and 0 < plan.dropped < len(conversation)
    assert cut_of(conversation, plan) == plan.dropped + 1
    assert plan.event is not None and plan.event["pinned_latest_human"] is True


def test_when_no_human_start_fits_the_cut_falls_on_an_ai_group_within_budget() -> None:
    conversation = [HumanMessage("h" * 4000, id="h"), *thread(1, 50)[1:]]  # one long question
    conversation.append(HumanMessage("short", id="last"))

    plan = fit_window(
        SYSTEM,
        conversation,
        settings=settings(max_tokens=256, keep_last_messages=3),
        model_name="m",
    )

    assert [m.id for m in conversation_sent(plan)] == ["t0-ai", "t0-tool", "t0-answer", "last"]
    assert plan.tokens_after <= 256


def test_a_conversation_that_fits_is_sent_whole_without_an_event() -> None:
    conversation = thread(2, 20)

    plan = fit_window(SYSTEM, conversation, settings=settings(), model_name="m")

    assert plan.messages == [*SYSTEM, *conversation]
    assert plan.dropped == 0 and plan.event is None and plan.summary is None
    assert plan.tokens_before == plan.tokens_after == count_tokens(plan.messages)


def test_off_sends_everything_even_over_budget() -> None:
    conversation = thread(20)
    summarizer = Recorder()

    plan = fit_window(
        SYSTEM,
        conversation,
        settings=settings(policy="off", max_tokens=256),
        model_name="m",
        summarize=summarizer,
    )

    assert plan.messages == [*SYSTEM, *conversation]
    assert plan.tokens_after > 256 and plan.event is None and summarizer.calls == []


def test_the_per_model_budget_overrides_the_default() -> None:
    conversation = thread(6)
    window = settings(max_tokens=100_000, per_model={"small-model": 800})

    big = fit_window(SYSTEM, conversation, settings=window, model_name="large-model")
    small = fit_window(SYSTEM, conversation, settings=window, model_name="small-model")

    assert big.dropped == 0 and big.event is None
    assert small.dropped > 0 and small.tokens_after <= 800
    assert small.event is not None and small.event["budget"] == 800


def test_summarize_folds_the_dropped_part_into_a_summary_after_the_system_prompt() -> None:
    conversation = thread(10)
    summarizer = Recorder()

    plan = fit_window(
        SYSTEM,
        conversation,
        settings=settings(policy="summarize", max_tokens=2000),
        model_name="m",
        summarize=summarizer,
    )

    [(folded, previous)] = summarizer.calls
    assert previous is None
    assert folded == [m.id for m in conversation[: plan.dropped]]
    assert plan.messages[0] is SYSTEM[0]
    assert plan.messages[1] == SystemMessage(
        SUMMARY_PREFIX + f"summary #1 of {len(folded)} messages"
    )
    assert plan.messages[2:] == conversation[plan.dropped :]
    assert isinstance(plan.messages[2], HumanMessage)
    assert plan.tokens_after <= 2000
    assert plan.summary == WindowSummary(
        text=f"summary #1 of {len(folded)} messages",
        through_id=conversation[plan.dropped - 1].id or "",
        covered=plan.dropped,
        tokens=message_tokens(plan.messages[1]),
    )
    assert plan.event is not None and plan.event["summarized"] is True
    assert plan.event["summary_covers"] == plan.dropped and plan.event["policy"] == "summarize"


def test_a_stored_summary_is_reused_until_more_must_be_folded_then_extended() -> None:
    window = settings(policy="summarize", max_tokens=2000)
    summarizer = Recorder()
    conversation = thread(10)
    first = fit_window(SYSTEM, conversation, settings=window, model_name="m", summarize=summarizer)
    stored = first.summary
    assert stored is not None

    conversation += turn(10)[:1]  # one more question: still fits beside the stored summary
    again = fit_window(
        SYSTEM, conversation, settings=window, model_name="m", summary=stored, summarize=summarizer
    )

    assert len(summarizer.calls) == 1 and again.summary is None
    assert again.messages[1].text == SUMMARY_PREFIX + stored["text"]
    assert again.dropped == stored["covered"]
    assert again.event is not None and again.event["summary_used"] and not again.event["summarized"]

    grown = fit_window(
        SYSTEM, [*conversation, *thread(20)[41:]], settings=window, model_name="m",
        summary=stored, summarize=summarizer,
    )  # fmt: skip

    folded, previous = summarizer.calls[-1]
    assert len(summarizer.calls) == 2 and previous == stored["text"]
    assert folded[0] == conversation[stored["covered"]].id  # only what follows the old summary
    assert grown.summary is not None and grown.summary["covered"] > stored["covered"]
    assert grown.tokens_after <= 2000


def test_a_summary_whose_last_message_is_gone_is_not_reused() -> None:
    conversation = thread(10)
    stale = WindowSummary(text="old", through_id="no-such-id", covered=12, tokens=10)
    summarizer = Recorder()

    plan = fit_window(
        SYSTEM,
        conversation,
        settings=settings(policy="summarize", max_tokens=2000),
        model_name="m",
        summary=stale,
        summarize=summarizer,
    )

    [(folded, previous)] = summarizer.calls
    assert previous is None and folded[0] == conversation[0].id
    assert plan.summary is not None and "old" not in plan.messages[1].text


def test_summarize_without_a_summarizer_falls_back_to_trim() -> None:
    conversation = thread(10)
    window = settings(policy="summarize", max_tokens=2000)

    plan = fit_window(SYSTEM, conversation, settings=window, model_name="m")
    trimmed = fit_window(SYSTEM, conversation, settings=settings(max_tokens=2000), model_name="m")

    assert plan.messages == trimmed.messages and plan.summary is None
    assert plan.event is not None
    assert plan.event["policy"] == "trim" and plan.event["configured_policy"] == "summarize"


def test_a_summary_too_long_for_the_room_left_is_cut_with_a_notice() -> None:
    conversation = thread(10)

    plan = fit_window(
        SYSTEM,
        conversation,
        settings=settings(policy="summarize", max_tokens=2000),
        model_name="m",
        summarize=lambda folded, previous: "s" * 50_000,
    )

    assert plan.tokens_after <= 2000
    assert plan.summary is not None and plan.summary["text"].endswith(
        "[summary cut to fit the context window]"
    )
    assert plan.summary["tokens"] == message_tokens(plan.messages[1])


def test_summary_keeps_tool_pairs_whole_for_every_budget() -> None:
    conversation = [*parallel_calls(0), *thread(3, 200), *parallel_calls(1), *thread(2, 200)]
    for budget in range(256, 3000, 53):
        plan = fit_window(
            SYSTEM,
            conversation,
            settings=settings(policy="summarize", max_tokens=budget, keep_last_messages=1),
            model_name="m",
            summarize=lambda folded, previous: "short",
        )
        assert_pairs_whole(conversation_sent(plan))
        cut_of(conversation, plan)
        assert plan.tokens_after <= budget or plan.event and plan.event["over_budget"]
