"""Embedding specs: the offline hash embedding, the chroma-default fallback, openai: specs."""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator

import pytest

from memory import embeddings as embeddings_module
from memory.embeddings import (
    HashEmbeddings,
    create_embeddings,
    embedding_identity,
    load_chroma_default,
    resolve_embeddings_spec,
)


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture(autouse=True)
def _fresh_factory_cache() -> Iterator[None]:
    embeddings_module._create.cache_clear()
    embeddings_module._notice.cache_clear()
    yield
    embeddings_module._create.cache_clear()
    embeddings_module._notice.cache_clear()


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/onnx.tar.gz"


# -- the hash embedding ----------------------------------------------------------------------


def test_hash_embedding_is_deterministic_normalised_and_sized() -> None:
    embed = HashEmbeddings(dims=256)
    first = embed.embed_documents(["Prefers email over phone calls", ""])
    again = HashEmbeddings(dims=256).embed_documents(["Prefers email over phone calls", ""])
    assert first == again
    for vector in first:
        assert len(vector) == 256
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-9)
    assert embed.embed_query("Prefers email over phone calls") == first[0]
    assert embed.identity == "hash-v2-256" == embedding_identity(embed)


def test_hash_embedding_matches_shared_words_and_inflections() -> None:
    embed = HashEmbeddings()
    query = embed.embed_query("my kettle arrived broken")
    related = embed.embed_query("the kettles were broken on arrival")
    unrelated = embed.embed_query("prefers email over phone calls")
    assert cosine(query, related) > 0.3
    assert abs(cosine(query, unrelated)) < 0.1
    # the same word in another form still shares most of its character trigrams
    assert cosine(embed.embed_query("refund"), embed.embed_query("refunded")) > 0.2


def test_hash_embedding_limits_are_real() -> None:
    """What the docstring promises it cannot do: synonyms, paraphrase, negation."""
    embed = HashEmbeddings()
    assert abs(cosine(embed.embed_query("cheap"), embed.embed_query("inexpensive"))) < 0.1
    assert (
        abs(cosine(embed.embed_query("I am vegetarian"), embed.embed_query("I eat no meat"))) < 0.1
    )
    negated = cosine(embed.embed_query("likes green tea"), embed.embed_query("hates green tea"))
    assert negated > 0.5  # opposite meanings, same words: looks similar


def test_stopwords_do_not_create_similarity() -> None:
    embed = HashEmbeddings()
    content = embed.embed_query("my kettle arrived broken")
    assert abs(cosine(content, embed.embed_query("my kettle is the one that arrived"))) > 0.5
    assert abs(cosine(embed.embed_query("what is it"), content)) < 0.1
    # a text of stopwords only keeps them, rather than collapsing onto one shared vector
    assert "w:what" in embed.features("what is it")
    assert cosine(embed.embed_query("what is it"), embed.embed_query("who are they")) < 0.1


def test_hash_dims_are_validated() -> None:
    with pytest.raises(ValueError, match="dims"):
        HashEmbeddings(dims=2)


# -- specs -----------------------------------------------------------------------------------


def test_spec_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEMORY_EMBEDDINGS", raising=False)
    assert resolve_embeddings_spec() == "chroma-default"
    monkeypatch.setenv("MEMORY_EMBEDDINGS", "hash:64")
    assert resolve_embeddings_spec() == "hash:64"
    assert resolve_embeddings_spec("openai:text-embedding-3-small") == (
        "openai:text-embedding-3-small"
    )
    for bad in ("openai", "hash:abc", "minilm", "openai:"):
        with pytest.raises(ValueError, match="Unknown embeddings spec"):
            resolve_embeddings_spec(bad)


def test_hash_spec_and_caching() -> None:
    embed = create_embeddings("hash:64")
    assert isinstance(embed, HashEmbeddings) and embed.dims == 64
    assert create_embeddings("hash:64") is embed
    default_hash = create_embeddings("hash")
    assert isinstance(default_hash, HashEmbeddings) and default_hash.dims == 512


def test_openai_spec_honours_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_openai import OpenAIEmbeddings

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    embed = create_embeddings("openai:nomic-embed-text")
    assert isinstance(embed, OpenAIEmbeddings)
    assert embed.model == "nomic-embed-text"
    assert embed.openai_api_base == "http://127.0.0.1:9/v1"
    assert embed.check_embedding_ctx_length is False  # plain strings for non-OpenAI servers
    assert embedding_identity(embed) == "OpenAIEmbeddings-nomic-embed-text"


# -- chroma-default and its offline fallback -------------------------------------------------


@pytest.fixture
def uncached_model(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chroma's model is not cached and its download host refuses connections."""
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    monkeypatch.setattr(ONNXMiniLM_L6_V2, "DOWNLOAD_PATH", tmp_path / "onnx_models")
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "MODEL_DOWNLOAD_URL", closed_port_url())
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def test_chroma_default_falls_back_to_hash_with_one_notice(
    uncached_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    embed = create_embeddings("chroma-default")
    again = create_embeddings("chroma-default")

    assert isinstance(embed, HashEmbeddings) and again is embed
    notice = capsys.readouterr().err.strip().splitlines()
    assert len(notice) == 1, notice
    assert "Chroma's default model could not be loaded" in notice[0]
    assert "unreachable" in notice[0] and "'hash'" in notice[0]
    assert embedding_identity(embed) == "hash-v2-512"


def test_chroma_default_does_not_download_when_told_offline(
    uncached_model: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embed, reason = load_chroma_default()
    assert embed is None
    assert "HF_HUB_OFFLINE" in reason


def test_default_spec_is_chroma_default(
    uncached_model: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MEMORY_EMBEDDINGS", raising=False)
    assert isinstance(create_embeddings(), HashEmbeddings)
    assert "memory embeddings" in capsys.readouterr().err
