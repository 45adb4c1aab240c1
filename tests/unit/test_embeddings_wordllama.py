"""The optional ``wordllama`` embedding: spec, offline loading from the wheel, what it matches.

The tests that load the model are skipped when the ``wordllama`` package is not installed
(it is the optional extra ``wordllama``).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest

from memory.embeddings import (
    HashEmbeddings,
    WordLlamaEmbeddings,
    embedding_identity,
    resolve_embeddings_spec,
)


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_spec_accepts_wordllama_and_its_sizes() -> None:
    for spec in ("wordllama", "wordllama:64", "wordllama:128", "wordllama:256"):
        assert resolve_embeddings_spec(spec) == spec
    for bad in ("wordllama:", "wordllama:100", "wordllama:l3"):
        with pytest.raises(ValueError, match="Unknown embeddings spec"):
            resolve_embeddings_spec(bad)


def test_unknown_size_is_refused_before_loading() -> None:
    with pytest.raises(ValueError, match="64, 128, 256"):
        WordLlamaEmbeddings(100)


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wordllama", None)  # import wordllama now fails
    with pytest.raises(ImportError, match=r"langgraph-agent-patterns\[wordllama\]"):
        WordLlamaEmbeddings()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network and an empty home: only the wheel's own files can be loaded."""
    pytest.importorskip("wordllama")
    import requests
    from tokenizers import Tokenizer

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the wordllama embedding tried to download something")

    monkeypatch.setattr(requests, "get", refuse)
    monkeypatch.setattr(requests.Session, "request", refuse)
    monkeypatch.setattr(Tokenizer, "from_pretrained", refuse)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.usefixtures("offline")
def test_loads_the_bundled_model_offline() -> None:
    embed = WordLlamaEmbeddings()
    vectors = embed.embed_documents(["the API rate limit", "meals up to 60 euros per day"])
    assert [len(v) for v in vectors] == [256, 256]
    assert all(math.isclose(_cosine(v, v), 1.0, rel_tol=1e-4) for v in vectors)
    assert embed.embed_documents([]) == []
    assert embedding_identity(embed) == "wordllama-l2_supercat-256"
    small = WordLlamaEmbeddings(64)
    assert len(small.embed_query("rate limit")) == 64
    assert embedding_identity(small) == "wordllama-l2_supercat-64"


@pytest.mark.usefixtures("offline")
def test_matches_a_paraphrase_that_hash_vectors_miss() -> None:
    texts = ["my card was declined", "the payment failed", "meals up to 60 euros per day"]
    card, payment, meals = WordLlamaEmbeddings().embed_documents(texts)
    assert _cosine(card, payment) > 0.2 > _cosine(card, meals) + 0.1
    h_card, h_payment, _ = HashEmbeddings().embed_documents(texts)
    assert _cosine(h_card, h_payment) < 0.1  # no shared word: hash vectors see nothing
