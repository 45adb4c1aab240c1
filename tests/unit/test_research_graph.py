"""The hierarchical research graph: decomposition, capability-matched workers, recursion to a
depth limit, failures reported in the brief, invalid and misbehaving models, the served demo."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from demo.market_research import RESEARCH_REQUEST
from graphs.research import build_research_graph, check_brief, graph
from models import ScriptedChatModel
from nodes.research_assign import match_worker
from state.agent_spec import AgentSpec
from state.research import ExecutiveBrief, WorkstreamRecord
from tests.snapshots import assert_matches_snapshot

REQUEST: Any = {"messages": [HumanMessage("Should we open a shop in Lyon?")]}
OFFLINE: Any = {"model": "demo"}

CAPABILITIES = {"market": ("demand", "competit"), "legal": ("regulat", "permit")}


def stream(name: str, *questions: str) -> dict[str, Any]:
    return {"name": name, "deliverable": f"The {name.lower()}.", "questions": list(questions)}


PLAN = {
    "workstreams": [
        stream("Local demand", "How many buyers?"),
        stream("Permits and regulation", "Which permits?"),
        stream("Competitors", "Who else sells here?"),
    ]
}


def findings(claim: str, *, assumption: str = "", gap: str = "") -> dict[str, Any]:
    return {
        "kind": "findings",
        "findings": [{"claim": claim, "evidence": "data"}],
        "assumptions": [assumption] if assumption else [],
        "gaps": [gap] if gap else [],
    }


def split(*names: str) -> dict[str, Any]:
    return {"kind": "split", "split": [stream(n, f"{n}?") for n in names]}


def brief(conflicts: list[list[str]] = (), **extra: Any) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "summary": "Lyon looks promising.",
        "recommendation": "Open a pilot shop.",
        "conflicts": [{"workstreams": ids, "description": "They disagree."} for ids in conflicts],
        **extra,
    }


def by_workstream(replies: dict[str, Any]) -> Callable[[list[BaseMessage]], Any]:
    """A reply chosen by the workstream named in the prompt (workers run in parallel)."""

    def reply(messages: list[BaseMessage]) -> Any:
        text = messages[1].text
        for name, answer in replies.items():
            if f'"name": "{name}"' in text:
                if isinstance(answer, BaseException):
                    raise answer
                return answer
        raise AssertionError(f"no reply for {text}")

    return reply


def worker(name: str, replies: dict[str, Any]) -> AgentSpec:
    model = ScriptedChatModel(replies=[by_workstream(replies)], cycle=True)
    return AgentSpec(
        name, f"the {name} specialist", instructions=f"You research {name}.", model=model
    )


def root(*replies: Any) -> ScriptedChatModel:
    return ScriptedChatModel(replies=list(replies))


def statuses(out: dict[str, Any]) -> dict[str, tuple[str | None, str]]:
    return {r["id"]: (r["worker"], r["status"]) for r in out["workstreams"]}


def test_structure_matches_snapshot() -> None:
    assert_matches_snapshot("research", graph.get_graph().draw_mermaid())


def test_the_root_plans_workers_research_and_the_root_writes_the_brief() -> None:
    market = worker(
        "market",
        {
            "Local demand": findings("8,000 buyers.", assumption="Census is current."),
            "Competitors": findings("Two rivals.", gap="Rival prices."),
        },
    )
    legal = worker("legal", {"Permits and regulation": findings("One permit, 6 weeks.")})
    chief = root(PLAN, brief([["ws1", "ws3"]]))
    out = build_research_graph([market, legal], capabilities=CAPABILITIES, root=chief).invoke(
        REQUEST
    )

    assert statuses(out) == {
        "ws1": ("market", "done"),
        "ws2": ("legal", "done"),
        "ws3": ("market", "done"),
    }
    assert out["workstreams"][0]["findings"] == [{"claim": "8,000 buyers.", "evidence": "data"}]
    assert out["status"] == "answered" and out["flags"] == [] and out["level"] == 1
    assert out["brief"]["conflicts"] == [
        {"workstreams": ["ws1", "ws3"], "description": "They disagree."}
    ]
    assert out["brief"]["failed_workstreams"] == []
    last = out["messages"][-1]
    assert isinstance(last, AIMessage) and last.name == "research"
    assert "Recommendation: Open a pilot shop." in last.text
    assert "- ws1 (Local demand) vs ws3 (Competitors): They disagree." in last.text
    # the root was asked twice (plan, brief) and saw every workstream's findings and notes
    assert len(chief.calls) == 2
    sent = chief.calls[1].last_text
    assert "[ws1] Local demand (market): done" in sent
    assert "assumption: Census is current." in sent and "gap: Rival prices." in sent
    # a worker sees the goal, its own workstream and may split it
    (legal_call,) = legal.model.calls  # type: ignore[union-attr]
    assert "Should we open a shop in Lyon?" in legal_call.last_text
    assert '"name": "Permits and regulation"' in legal_call.last_text
    assert "sub-workstreams" in legal_call.messages[0].text


def test_a_workstream_recurses_one_level_and_a_failing_worker_is_reported() -> None:
    market = worker(
        "market",
        {
            "Local demand": split("Tourist demand", "Resident demand"),
            "Tourist demand": findings("Tourists buy 30%."),
            "Resident demand": findings("Residents buy 70%."),
            "Competitors": findings("Two rivals."),
        },
    )
    legal = worker("legal", {"Permits and regulation": RuntimeError("permit database down")})
    chief = root(PLAN, brief([["ws1.1", "ws3"]]))
    out = build_research_graph(
        [market, legal], capabilities=CAPABILITIES, root=chief, max_depth=2
    ).invoke(REQUEST)

    assert statuses(out) == {
        "ws1": ("market", "split"),
        "ws2": ("legal", "failed"),
        "ws3": ("market", "done"),
        "ws1.1": ("market", "done"),
        "ws1.2": ("market", "done"),
    }
    by_id = {r["id"]: r for r in out["workstreams"]}
    assert by_id["ws1"]["children"] == ["ws1.1", "ws1.2"]
    assert by_id["ws1.1"]["parent"] == "ws1" and by_id["ws1.1"]["depth"] == 2
    assert by_id["ws1.1"]["must_answer"] is True  # at the depth limit
    assert by_id["ws2"]["error"] == (
        "the research.worker.legal failed: RuntimeError: permit database down"
    )
    assert out["level"] == 2 and out["status"] == "answered"
    failed = out["brief"]["failed_workstreams"]
    assert [(f["id"], f["status"]) for f in failed] == [("ws2", "failed")]
    assert {"workstream": "ws2", "text": (
        "Permits and regulation: no findings (the research.worker.legal failed: "
        "RuntimeError: permit database down)"
    )} in out["brief"]["missing_evidence"]  # fmt: skip
    text = out["messages"][-1].text
    assert "Workstreams without findings:\n- ws2 Permits and regulation: the research" in text
    assert "[ws1.2] Resident demand (market): done" in chief.calls[1].last_text


def test_beyond_the_depth_limit_a_worker_must_answer_or_is_reported() -> None:
    market = worker(
        "market",
        {"Local demand": split("A", "B"), "Competitors": findings("Two rivals.")},
    )
    stubborn = ScriptedChatModel(replies=[split("C", "D"), findings("One permit.")])
    legal = AgentSpec("legal", "law", model=stubborn)
    chief = root(PLAN, brief())
    out = build_research_graph(
        [market, legal], capabilities=CAPABILITIES, root=chief, max_depth=1
    ).invoke(REQUEST)

    # market insisted on splitting twice: invalid at the depth limit, reported as failed
    by_id = {r["id"]: r for r in out["workstreams"]}
    assert [r["id"] for r in out["workstreams"]] == ["ws1", "ws2", "ws3"]
    assert by_id["ws1"]["status"] == "failed"
    assert "gave no valid FinalReport in 2 attempts" in str(by_id["ws1"]["error"])
    # legal split once, was told it may not, and answered with findings
    assert by_id["ws2"]["status"] == "done" and len(stubborn.calls) == 2
    assert "you may not split this workstream" in stubborn.calls[1].last_text
    assert "may not be split further" in stubborn.calls[0].messages[0].text
    assert out["status"] == "answered"


def test_a_run_may_lower_the_depth_limit_never_raise_it() -> None:
    def build() -> Any:
        market = worker(
            "market",
            {
                "Local demand": split("Demand A", "Demand B"),
                "Demand A": split("A1", "A2"),
                "Demand B": findings("B."),
                "A1": findings("A1."),
                "A2": findings("A2."),
                "Competitors": findings("Two rivals."),
            },
        )
        legal = worker("legal", {"Permits and regulation": findings("One permit.")})
        chief = ScriptedChatModel(replies=[PLAN, brief()], cycle=True)
        return build_research_graph(
            [market, legal], capabilities=CAPABILITIES, root=chief, max_depth=2
        )

    higher = build().invoke(REQUEST, context={"max_depth": 5})
    assert higher["limits"]["max_depth"] == 2
    assert max(r["depth"] for r in higher["workstreams"]) == 2
    assert "Demand A" in {r["name"] for r in higher["workstreams"]}  # one level of splits
    assert {r["id"]: r["status"] for r in higher["workstreams"]}["ws1.1"] == "failed"

    lower = build().invoke(REQUEST, context={"max_depth": 1})
    assert lower["limits"]["max_depth"] == 1
    assert [r["id"] for r in lower["workstreams"]] == ["ws1", "ws2", "ws3"]


def test_a_split_past_max_workstreams_is_refused_and_its_worker_answers() -> None:
    calls: list[str] = []

    def demand(messages: list[BaseMessage]) -> Any:
        calls.append("split allowed" if "sub-workstreams" in messages[0].text else "answer")
        return split("A", "B") if calls[-1] == "split allowed" else findings("Demand.")

    market = AgentSpec(
        "market",
        "market",
        model=ScriptedChatModel(
            replies=[lambda m: demand(m) if "Local demand" in m[1].text else findings("Rivals.")],
            cycle=True,
        ),
    )
    legal = worker("legal", {"Permits and regulation": findings("One permit.")})
    out = build_research_graph(
        [market, legal],
        capabilities=CAPABILITIES,
        root=root(PLAN, brief()),
        max_workstreams=4,
    ).invoke(REQUEST)

    assert calls == ["split allowed", "answer"]
    assert [r["id"] for r in out["workstreams"]] == ["ws1", "ws2", "ws3"]
    assert out["workstreams"][0]["status"] == "done"
    assert out["flags"] == [
        {
            "source": "market",
            "problem": "ws1: a split into 2 was refused (max_workstreams=4); its worker is "
            "asked for findings",
        }
    ]


def test_capability_matching_picks_the_best_worker_the_generalist_or_nobody() -> None:
    caps = {"market": ("demand", "competit"), "legal": ("regulat", "permit", "tax")}
    assert match_worker("Local demand", ["Who competes?"], caps)["worker"] == "market"
    assert match_worker("Permits", ["Any tax or regulations?"], caps)["matched"] == [
        "regulat",
        "permit",
        "tax",
    ]
    # a tie goes to the worker declared first
    assert match_worker("Demand and permits", [], caps)["worker"] == "market"
    # a phrase matches only when each of its words begins a word of the workstream
    assert match_worker("Unit costs", [], {"finance": ("unit economics",)})["worker"] is None
    assert match_worker("Brand", [], caps, generalist="market")["how"] == "generalist"


def test_the_graph_assigns_by_capability_and_reports_what_nobody_covers() -> None:
    plan = {
        "workstreams": [
            stream("Permits", "Which permits?"),
            stream("Demand", "Who buys?"),
            stream("Brand perception", "Is the brand known?"),
        ]
    }
    market = worker("market", {"Demand": findings("Many buyers.")})
    legal = worker("legal", {"Permits": findings("One permit.")})
    chief = root(plan, brief())
    out = build_research_graph([market, legal], capabilities=CAPABILITIES, root=chief).invoke(
        REQUEST
    )

    assert statuses(out) == {
        "ws1": ("legal", "done"),
        "ws2": ("market", "done"),
        "ws3": (None, "unassigned"),
    }
    assert out["workstreams"][0]["assignment"] == {
        "how": "capabilities",
        "score": 1,
        "matched": ["permit"],
    }
    assert out["brief"]["failed_workstreams"][0]["error"] == (
        "no worker's capabilities match it and there is no generalist"
    )
    assert "[ws3] Brand perception (unassigned): unassigned" in chief.calls[1].last_text

    helper = worker("helper", {"Brand perception": findings("Unknown brand.")})
    out = build_research_graph(
        [market, legal, helper],
        capabilities=CAPABILITIES,
        generalist="helper",
        root=root(plan, brief()),
    ).invoke(REQUEST)
    assert statuses(out)["ws3"] == ("helper", "done")
    assert out["workstreams"][2]["assignment"]["how"] == "generalist"


def test_an_invalid_plan_is_asked_again_then_the_run_ends_cleanly() -> None:
    two = {"workstreams": PLAN["workstreams"][:2]}
    chief = root(two, two)
    market = worker("market", {})
    out = build_research_graph([market], root=chief).invoke(REQUEST)

    assert out["status"] == "invalid_output" and out["workstreams"] == []
    assert out["invalid_output"]["attempts"] == 2
    assert "workstreams: List should have at least 3 items" in chief.calls[1].last_text
    last = out["messages"][-1]
    assert isinstance(last, AIMessage) and last.text.startswith(
        "The research could not start: the research.root.plan gave no valid ResearchPlan in "
        "2 attempts"
    )
    assert market.model.calls == []  # type: ignore[union-attr]

    # a plan valid on the re-ask goes on
    market = worker("market", {n["name"]: findings("x") for n in PLAN["workstreams"]})
    out = build_research_graph([market], generalist="market", root=root(two, PLAN, brief())).invoke(
        REQUEST
    )
    assert out["status"] == "answered" and len(out["workstreams"]) == 3


def test_misbehaving_models_end_the_run_cleanly_saying_why() -> None:
    broken = ScriptedChatModel(replies=[ValueError("model exploded")], cycle=True)
    out = build_research_graph([AgentSpec("a", "A")], model=broken).invoke(REQUEST)
    assert out["status"] == "failed"
    assert out["messages"][-1].text == (
        "The research could not start: the research.root.plan failed: ValueError: model exploded."
    )

    # every worker fails: no brief, one line per workstream
    out = build_research_graph(
        [AgentSpec("a", "A", model=broken)], generalist="a", root=root(PLAN)
    ).invoke(REQUEST)
    assert out["status"] == "no_findings"
    assert out["messages"][-1].text.startswith(
        "The research produced no findings, so there is no brief (ws1: the research.worker.a "
        "failed: ValueError: model exploded;"
    )

    # the brief stays invalid: the run ends cleanly with the reason
    a = worker("a", {n["name"]: findings("x") for n in PLAN["workstreams"]})
    chief = root(PLAN, {"summary": "x"}, {"summary": "x"})
    out = build_research_graph([a], generalist="a", root=chief).invoke(REQUEST)
    assert out["status"] == "invalid_output" and out["brief"] is None
    assert out["messages"][-1].text.startswith(
        "The research ended without a brief: the research.root.synthesis gave no valid "
        "ExecutiveBrief in 2 attempts"
    )


def test_the_brief_names_only_workstreams_of_the_tree() -> None:
    def record(ident: str, status: str = "done") -> WorkstreamRecord:
        return WorkstreamRecord(
            id=ident, parent=None, depth=1, name=ident.upper(), deliverable="d",
            questions=["q"], worker="w", assignment=None, status=status, must_answer=False,
            findings=[], assumptions=[], gaps=[], children=[],
            error="boom" if status == "failed" else None,
        )  # fmt: skip

    answer = ExecutiveBrief.model_validate(
        brief(
            [["ws1", "ghost"], ["ws1", "ws2", "ws2"]],
            unsupported_assumptions=[{"workstream": "ws9", "text": "?"}],
            missing_evidence=[{"workstream": "ws1", "text": "prices"}],
        )
    )
    checked, flags = check_brief(answer, [record("ws1"), record("ws2"), record("ws3", "failed")])
    assert checked["conflicts"] == [
        {"workstreams": ["ws1", "ws2"], "description": "They disagree."}
    ]
    assert checked["unsupported_assumptions"] == []
    assert checked["missing_evidence"] == [
        {"workstream": "ws1", "text": "prices"},
        {"workstream": "ws3", "text": "WS3: no findings (boom)"},
    ]
    assert [f["problem"] for f in flags] == [
        "a conflict naming ['ws1', 'ghost'] is not between workstreams of the tree; dropped",
        "unsupported_assumptions names unknown workstream 'ws9'; dropped",
    ]


def test_factory_validation() -> None:
    @tool
    def lookup(query: str) -> str:
        """Look something up."""
        return query

    with pytest.raises(ValueError, match="has tools or a graph"):
        build_research_graph([AgentSpec("a", "A", tools=[lookup])])
    with pytest.raises(ValueError, match="unknown workers"):
        build_research_graph([AgentSpec("a", "A")], capabilities={"b": ("x",)})
    with pytest.raises(ValueError, match="generalist 'b'"):
        build_research_graph([AgentSpec("a", "A")], generalist="b")
    with pytest.raises(ValueError, match="max_depth must be at least 1"):
        build_research_graph([AgentSpec("a", "A")], max_depth=0)
    with pytest.raises(ValueError, match="max_workstreams must be at least 3"):
        build_research_graph([AgentSpec("a", "A")], max_workstreams=2)
    with pytest.raises(ValueError, match="reserved"):
        build_research_graph([AgentSpec("research", "A")])


def test_a_new_turn_starts_a_fresh_research() -> None:
    a = worker("a", {n["name"]: findings("x") for n in PLAN["workstreams"]})
    chief = ScriptedChatModel(replies=[PLAN, brief()], cycle=True)
    compiled = build_research_graph([a], generalist="a", root=chief, checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    compiled.invoke(REQUEST, config)
    out = compiled.invoke({"messages": [HumanMessage("And Marseille?")]}, config)
    assert out["goal"] == "And Marseille?" and len(out["workstreams"]) == 3
    assert [m.type for m in out["messages"]] == ["human", "ai", "human", "ai"]


async def test_the_async_path_researches_the_tree() -> None:
    market = worker(
        "market",
        {
            "Local demand": split("A", "B"),
            "A": findings("A."),
            "B": findings("B."),
            "Competitors": findings("Two rivals."),
        },
    )
    legal = worker("legal", {"Permits and regulation": findings("One permit.")})
    out = await build_research_graph(
        [market, legal], capabilities=CAPABILITIES, root=root(PLAN, brief())
    ).ainvoke(REQUEST)
    assert [r["id"] for r in out["workstreams"]] == ["ws1", "ws2", "ws3", "ws1.1", "ws1.2"]
    assert out["status"] == "answered"


def test_a_levels_workers_run_at_the_same_time() -> None:
    """Each workstream's worker waits at a barrier for the others: one at a time would fail."""
    barrier = threading.Barrier(3, timeout=10)

    def meeting(messages: list[BaseMessage]) -> Any:
        barrier.wait()
        return findings("met")

    specs = [
        AgentSpec(name, name, model=ScriptedChatModel(replies=[meeting], cycle=True))
        for name in ("market", "legal")
    ]
    out = build_research_graph(specs, capabilities=CAPABILITIES, root=root(PLAN, brief())).invoke(
        REQUEST
    )
    assert [r["status"] for r in out["workstreams"]] == ["done", "done", "done"]


def test_the_market_expansion_demo_runs_offline_and_names_a_real_conflict() -> None:
    out = graph.invoke({"messages": [HumanMessage(RESEARCH_REQUEST)]}, context=OFFLINE)

    assert statuses(out) == {
        "ws1": ("market", "done"),
        "ws2": ("regulatory", "done"),
        "ws3": ("logistics", "split"),
        "ws4": ("finance", "done"),
        "ws5": ("generalist", "done"),
        "ws3.1": ("logistics", "done"),
        "ws3.2": ("logistics", "done"),
    }
    (conflict,) = out["brief"]["conflicts"]
    assert conflict["workstreams"] == ["ws4", "ws3.1"]
    by_id = {r["id"]: r for r in out["workstreams"]}
    # the conflict is in the findings: finance assumes 4.50 a box, last-mile found 8.20
    assert "EUR 4.50 delivery cost per box" in by_id["ws4"]["findings"][0]["claim"]
    assert "EUR 8.20 a box elsewhere" in by_id["ws3.1"]["findings"][0]["claim"]
    assert out["flags"] == [] and out["status"] == "answered"
    assert "ws4 (Unit economics) vs ws3.1 (Last-mile delivery)" in out["messages"][-1].text
