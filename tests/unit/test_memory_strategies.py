"""Memory strategies: supersession with versions, procedural preferences, forget, the rules.

The memory agent runs on LangGraph's `InMemoryStore` with the offline hash embedding. The
scripted model states facts, preferences and forget requests precisely (a real model's
structured output); the last tests run the offline demo model, whose extractor is the
rule-based stand-in (`memory.fact_rules`).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from demo.orders import order_tools
from graphs.memory_agent import build_memory_agent_graph
from memory import HashEmbeddings
from memory.fact_rules import extract_memories
from memory.facts import Provenance, forget, history, remember
from models import ScriptedChatModel
from nodes.runtime import PatternRuntime

NO_FACTS: dict[str, Any] = {"facts": []}


def lives_in(city: str, attribute: str = "location") -> dict[str, Any]:
    fact = {"text": f"Lives in {city}", "category": "profile", "attribute": attribute}
    return {"facts": [fact]}


def hash_store() -> InMemoryStore:
    return InMemoryStore(index={"dims": 512, "embed": HashEmbeddings(), "fields": ["text"]})


def build(replies: list[Any], store: InMemoryStore) -> tuple[Any, ScriptedChatModel]:
    model = ScriptedChatModel(replies=replies)
    runtime = PatternRuntime(checkpointer=InMemorySaver(), store=store)
    return build_memory_agent_graph(tools=order_tools(), model=model, runtime=runtime), model


def ask(graph: Any, text: str, thread: str | None = None, **context: Any) -> dict[str, Any]:
    config = {"configurable": {"thread_id": thread or uuid.uuid4().hex}}
    return dict(graph.invoke({"messages": [HumanMessage(text)]}, config, context=context))


def system_prompt(model: ScriptedChatModel, call: int) -> str:
    first = model.calls[call].messages[0]
    assert isinstance(first, SystemMessage)
    return first.text


def first_message_id(graph: Any, thread: str) -> str:
    values = graph.get_state({"configurable": {"thread_id": thread}}).values
    return str(values["messages"][0].id)


# -- supersession -------------------------------------------------------------------------------


def test_a_contradicting_fact_supersedes_the_stored_one_and_only_the_new_one_is_recalled() -> None:
    store = hash_store()
    replies = ["ok", lives_in("Berlin"), "ok", lives_in("Lisbon", "Location"), "ok", NO_FACTS]
    graph, model = build(replies, store)

    ask(graph, "I live in Berlin.", "t1", user_id="ana")
    moved = ask(graph, "I moved to Lisbon.", "t2", user_id="ana")
    [record] = moved["remembered"]
    assert record["status"] == "stored" and record["change"] == "superseded"
    assert record["version"] == 2 and record["previous_text"] == "Lives in Berlin"

    # even a threshold that recalls everything in the namespace finds only the current version
    later = ask(graph, "Do I live in Berlin or Lisbon?", "t3", user_id="ana", recall_threshold=-1)
    assert [m["text"] for m in later["recalled_memories"]] == ["Lives in Lisbon"]
    assert "- Lives in Lisbon" in system_prompt(model, 4)
    assert "Lives in Berlin" not in system_prompt(model, 4)

    [current] = store.search(("memories", "ana"))
    assert current.value["text"] == "Lives in Lisbon" and current.value["version"] == 2
    audit = [(v["version"], v["status"], v["text"]) for v in history(store, "ana")]
    assert audit == [(1, "superseded", "Lives in Berlin"), (2, "current", "Lives in Lisbon")]


def test_versions_keep_their_provenance_and_link_to_each_other() -> None:
    store = hash_store()
    replies = ["ok", lives_in("Berlin"), "ok", lives_in("Lisbon"), "ok", lives_in("Lisbon")]
    graph, _ = build(replies, store)

    ask(graph, "I live in Berlin.", "t1", user_id="ana")
    ask(graph, "I moved to Lisbon.", "t2", user_id="ana")
    again = ask(graph, "Still in Lisbon, by the way.", "t3", user_id="ana")

    [restated] = again["remembered"]
    assert restated["change"] == "restated" and restated["version"] == 2  # no new version
    old, new = history(store, "ana")
    key = new["key"]
    assert old["key"] == f"{key}:v1" and old["slot"] == key
    assert old["superseded_by"] == f"{key}:v2" and new["supersedes"] == f"{key}:v1"
    assert old["thread_id"] == "t1" and old["source_message_id"] == first_message_id(graph, "t1")
    assert new["thread_id"] == "t3"  # the latest statement of the same text
    assert new["source_message_id"] == first_message_id(graph, "t3")
    assert old["user_id"] == new["user_id"] == "ana"
    assert old["superseded_at"] >= old["recorded_at"]


def test_facts_without_an_attribute_sit_beside_each_other() -> None:
    store = InMemoryStore()
    remember(store, "ana", "Has a dog", provenance=Provenance(user_id="ana", thread_id="t1"))
    remember(store, "ana", "Has a cat", provenance=Provenance(user_id="ana", thread_id="t2"))
    assert sorted(i.value["text"] for i in store.search(("memories", "ana"))) == [
        "Has a cat",
        "Has a dog",
    ]
    assert history(store, "ana", key=None)[0]["status"] == "current"
    assert store.search(("memories_history", "ana")) == []


# -- procedural preferences ---------------------------------------------------------------------


def procedure(text: str) -> dict[str, Any]:
    return {"facts": [], "procedures": [{"text": text, "attribute": "answer_format"}]}


def test_a_procedural_preference_shapes_the_next_calls_system_prompt() -> None:
    store = hash_store()
    replies = ["ok", procedure("Answer in bullet points"), "ok", NO_FACTS]
    replies += ["ok", procedure("Answer in full sentences"), "ok", NO_FACTS, "ok", NO_FACTS]
    graph, model = build(replies, store)

    first = ask(graph, "From now on, answer in bullet points.", "t1", user_id="ana")
    assert "bullet" not in system_prompt(model, 0)  # learnt after this answer
    assert first["remembered"][0]["kind"] == "procedure"

    second = ask(graph, "Where is A-1001?", "t2", user_id="ana")  # no word in common
    assert [p["text"] for p in second["recalled_procedures"]] == ["Answer in bullet points"]
    assert second["recalled_memories"] == []  # preferences are not facts
    assert "- Answer in bullet points" in system_prompt(model, 2)

    ask(graph, "Actually, answer in full sentences.", "t3", user_id="ana")
    ask(graph, "Where is A-1001?", "t4", user_id="ana")
    assert "- Answer in full sentences" in system_prompt(model, 6)
    assert "bullet points" not in system_prompt(model, 6)
    assert store.search(("memories", "ana")) == []  # facts and preferences are apart
    versions = [(v["version"], v["status"]) for v in history(store, "ana")]
    assert versions == [(1, "superseded"), (2, "current")]

    bob = ask(graph, "Where is A-1001?", "t5", user_id="bob")
    assert bob["recalled_procedures"] == []


# -- forget -------------------------------------------------------------------------------------


def seeded(store: InMemoryStore) -> None:
    origin = Provenance(user_id="ana", thread_id="seed")
    remember(store, "ana", "Lives in Berlin", attribute="location", provenance=origin)
    remember(store, "ana", "Lives in Lisbon", attribute="location", provenance=origin)
    remember(store, "ana", "Is vegetarian", provenance=origin)
    remember(store, "ana", "Keep it short", kind="procedure", attribute="answer_length")


def texts(store: InMemoryStore) -> list[str]:
    return sorted(v["text"] for v in history(store, "ana"))


def test_forgetting_one_fact_deletes_all_its_versions_and_records_it() -> None:
    store = hash_store()
    seeded(store)
    forget_location = {"facts": [], "forget": [{"attribute": "location", "text": ""}]}
    nothing = {"facts": [], "forget": [{"text": "my cat Tom"}]}
    graph, model = build(["Done.", forget_location, "Done.", nothing], store)

    result = ask(graph, "Forget where I live.", "t1", user_id="ana", recall_threshold=-1)

    # the answer to the request is not told what is being forgotten; the rest is recalled
    assert [m["text"] for m in result["recalled_memories"]] == ["Is vegetarian"]
    assert "Lives in" not in system_prompt(model, 0)

    assert texts(store) == ["Is vegetarian", "Keep it short"]
    assert sorted((r["text"], r["status"]) for r in result["forgotten"]) == [
        ("Lives in Berlin", "superseded"),
        ("Lives in Lisbon", "current"),
    ]
    assert {r["request"] for r in result["forgotten"]} == {"location"}
    missed = ask(graph, "Forget my cat Tom.", "t2", user_id="ana")
    assert missed["forgotten"] == [{"status": "nothing matched", "request": "my cat Tom"}]
    assert texts(store) == ["Is vegetarian", "Keep it short"]


def test_forgetting_everything_empties_every_namespace_of_that_user_only() -> None:
    store = hash_store()
    seeded(store)
    remember(store, "bob", "Lives in Rome", attribute="location")
    graph, _ = build(["Done.", {"facts": [], "forget": [{"everything": True}]}], store)

    result = ask(graph, "Forget everything about me.", "t1", user_id="ana")

    assert len(result["forgotten"]) == 4 and history(store, "ana") == []
    assert {r["request"] for r in result["forgotten"]} == {"everything"}
    assert [v["text"] for v in history(store, "bob")] == ["Lives in Rome"]


def test_the_python_api_forgets_an_old_version_alone_or_by_words() -> None:
    store = InMemoryStore()
    seeded(store)

    old = forget(store, "ana", attribute="location", text="I live in Berlin")

    assert [(r["text"], r["status"]) for r in old] == [("Lives in Berlin", "superseded")]
    assert "Lives in Lisbon" in texts(store)  # where she lives now stays
    assert [r["text"] for r in forget(store, "ana", text="vegetarian")] == ["Is vegetarian"]
    assert forget(store, "ana", text="") == []  # no target: nothing


# -- the rule extractor -------------------------------------------------------------------------

Label = tuple[str, str | None]

LABELLED: list[tuple[str, set[Label]]] = [
    ("My name is Ana Souza.", {("fact", "name")}),
    ("Call me Sam, please.", {("fact", "name")}),
    ("I live in Berlin.", {("fact", "location")}),
    ("I moved to Lisbon last month.", {("fact", "location")}),
    ("We relocated; I now live in Porto.", {("fact", "location")}),
    ("I no longer live in Madrid.", {("fact", "location")}),
    ("I don't live in Madrid anymore.", {("fact", "location")}),
    ("My name's Bea.", {("fact", "name")}),
    ("I prefer email over phone calls.", {("fact", "contact_preference")}),
    ("Please only contact me by SMS.", {("fact", "contact_preference")}),
    ("Never call me, I work nights.", {("fact", "contact_preference")}),
    ("I'd rather be contacted by email.", {("fact", "contact_preference")}),
    ("My native language is Portuguese.", {("fact", "language")}),
    ("I speak German and a bit of French.", {("fact", "language")}),
    ("My email address is ana@example.com.", {("fact", "email_address")}),
    ("My phone number is +49 30 1234567.", {("fact", "phone_number")}),
    ("I work as a nurse at the city hospital.", {("fact", "occupation")}),
    ("My dog Biscuit is allergic to chicken.", {("fact", None)}),
    ("I am vegetarian.", {("fact", None)}),
    ("I have two cats.", {("fact", None)}),
    ("From now on, answer in bullet points.", {("procedure", "answer_format")}),
    ("Keep your answers short.", {("procedure", "answer_length")}),
    ("Please reply in Spanish.", {("procedure", "answer_language")}),
    (
        "Always include the order number in your reply.",
        {("procedure", "always_include:order_number")},
    ),
    ("Don't use jargon with me.", {("procedure", "tone")}),
    ("Forget that I live in Berlin.", {("forget", "location")}),
    ("Please forget everything about me.", {("forget", "everything")}),
    ("Delete all my data.", {("forget", "everything")}),
    ("Forget my phone number.", {("forget", "phone_number")}),
    ("My name is Bo. Keep it short.", {("fact", "name"), ("procedure", "answer_length")}),
    # negatives: questions, small talk, one-off requests
    ("Where is my order A-1001?", set()),
    ("Hi there!", set()),
    ("Thanks, that was helpful.", set()),
    ("My order A-1002 arrived broken, please refund it.", set()),
    ("Can you email me the invoice?", set()),
    ("Call me back tomorrow.", set()),
    ("I want a refund for the kettle.", set()),
    ("I'm not happy with the delivery.", set()),
    ("Give me a list of my orders.", set()),
    ("Forget it, I found the tracking number.", set()),
    ("I am waiting for my refund.", set()),
    ("Answer me quickly, is the store open today?", set()),
    ("I'm looking for a gift for my mother.", set()),
    ("Never mind.", set()),
    ("I need the refund today.", set()),
]


def labels(text: str) -> set[Label]:
    found = extract_memories(text)
    return (
        {("fact", f.attribute) for f in found.facts}
        | {("procedure", p.attribute) for p in found.procedures}
        | {("forget", "everything" if f.everything else f.attribute) for f in found.forget}
    )


def test_rule_extractor_precision_and_recall_on_a_labelled_list() -> None:
    predicted = expected = correct = 0
    wrong = []
    for text, truth in LABELLED:
        got = labels(text)
        predicted, expected, correct = (
            predicted + len(got),
            expected + len(truth),
            correct + len(got & truth),
        )
        if got != truth:
            wrong.append(f"{text!r}: got {sorted(got, key=str)}, want {sorted(truth, key=str)}")
    negatives = [text for text, truth in LABELLED if not truth]
    assert len(LABELLED) >= 30 and len(negatives) >= 10
    precision, recall = correct / predicted, correct / expected
    print(f"rule extractor: precision {precision:.2f}, recall {recall:.2f} on {len(LABELLED)}")
    assert precision >= 0.95 and recall >= 0.9, "\n".join(wrong)
    assert not [text for text in negatives if labels(text)], "\n".join(wrong)


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        (
            "Please remember that I prefer email over phone calls.",
            "I prefer email over phone calls.",
        ),
        ("From now on, answer in bullet points.", "Answer in bullet points."),
    ],
)
def test_rules_keep_the_users_words_without_lead_ins(text: str, stored: str) -> None:
    found = extract_memories(text)
    assert [m.text for m in [*found.facts, *found.procedures]] == [stored]


# -- the graph offline, end to end --------------------------------------------------------------


def test_the_offline_memory_agent_supersedes_applies_and_forgets_across_threads() -> None:
    store = hash_store()
    graph = build_memory_agent_graph(tools=order_tools(), checkpointer=InMemorySaver(), store=store)
    demo = {"model": "demo", "user_id": "dana"}

    first = ask(graph, "I live in Berlin. Where is my order A-1001?", "d1", **demo)
    assert [(r["text"], r["change"]) for r in first["remembered"]] == [
        ("I live in Berlin.", "added")
    ]
    moved = ask(graph, "I moved to Lisbon.", "d2", **demo)
    [record] = moved["remembered"]
    assert record["change"] == "superseded" and record["previous_text"] == "I live in Berlin."

    asked = ask(graph, "Do you remember if I live in Lisbon or Berlin?", "d3", **demo)
    assert [m["text"] for m in asked["recalled_memories"]] == ["I moved to Lisbon."]
    assert asked["remembered"] == []  # a question is not a fact

    ask(graph, "From now on, answer in bullet points.", "d4", **demo)
    styled = ask(graph, "Where is my order A-1002?", "d5", **demo)
    assert [p["text"] for p in styled["recalled_procedures"]] == ["Answer in bullet points."]

    gone = ask(graph, "Please forget that I live in Lisbon.", "d6", **demo)
    assert gone["recalled_memories"] == []  # without the rules' look-ahead: "I moved to Lisbon."
    assert "Lisbon" not in gone["messages"][-1].text
    assert sorted(r["text"] for r in gone["forgotten"]) == [
        "I live in Berlin.",
        "I moved to Lisbon.",
    ]
    assert [v["text"] for v in history(store, "dana")] == ["Answer in bullet points."]

    wiped = ask(graph, "Forget everything about me.", "d7", **demo)
    assert wiped["recalled_procedures"] == []
    assert [r["text"] for r in wiped["forgotten"]] == ["Answer in bullet points."]
    assert history(store, "dana") == []
