"""Embeddings from a spec string: ``chroma-default``, ``hash``, ``wordllama`` or ``openai:<model>``.

- ``chroma-default`` (the default): Chroma's default model, all-MiniLM-L6-v2 run with
  onnxruntime (384 dimensions). Chroma downloads it on first use into
  ``~/.cache/chroma/onnx_models``. When it cannot be loaded (not cached and the download host
  unreachable, ``HF_HUB_OFFLINE=1``, a broken file), the factory falls back to ``hash`` and
  prints one line on stderr saying so. The failure is fast: a probe with a short timeout
  decides before Chroma's downloader is ever called.
- ``hash`` (or ``hash:<dims>``, 512 by default): `HashEmbeddings`, deterministic feature
  hashing, offline, no model at all. See its docstring for what it can and cannot match.
- ``wordllama`` (or ``wordllama:<dims>``, 64, 128 or 256; 256 by default): `WordLlamaEmbeddings`,
  an offline semantic embedding whose weights ship inside the ``wordllama`` wheel (optional
  extra ``wordllama``; no torch, no download). It matches some synonyms and paraphrases that
  ``hash`` cannot; see its docstring for provenance and limits.
- ``openai:<model>``: langchain-openai's `OpenAIEmbeddings`; honours ``OPENAI_BASE_URL``
  (vLLM, Ollama, LiteLLM, anything OpenAI-compatible).

An empty spec means ``MEMORY_EMBEDDINGS`` or, unset, ``chroma-default``.

Vectors from different embeddings are not comparable, so every embedding has an `identity`
(`embedding_identity`); the Chroma store keeps one vector collection per identity.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from langchain_core.embeddings import Embeddings

__all__ = [
    "DEFAULT_EMBEDDINGS_SPEC",
    "EMBEDDINGS_ENV",
    "ChromaDefaultEmbeddings",
    "HashEmbeddings",
    "WordLlamaEmbeddings",
    "create_embeddings",
    "embedding_identity",
    "load_chroma_default",
    "resolve_embeddings_spec",
]

DEFAULT_EMBEDDINGS_SPEC = "chroma-default"
EMBEDDINGS_ENV = "MEMORY_EMBEDDINGS"
PROBE_TIMEOUT_S = 3.0
"""How long the download host may take to answer before we give up and fall back."""

_STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have he her his "
    "how i if in into is it its me my no not of on or our she so that the their them then there "
    "these they this those to us was we were what when where which who why will with would you "
    "your am any about also just".split()
)
_WORD = re.compile(r"[^\W_]+")


class HashEmbeddings(Embeddings):
    """Deterministic offline embeddings by feature hashing (no model, no network).

    Each text becomes a bag of features: its words (lower-cased, common English stopwords
    dropped unless the text has nothing else) and the character trigrams of each word,
    padded with boundary marks (``<kettle>`` gives ``<ke``, ``ket`` ... ``le>``). Word
    counts are damped (``1 + log tf``), trigrams weigh ``trigram_weight`` each, every feature
    is hashed (BLAKE2b) to two of ``dims`` signed buckets, and the vector is L2-normalised, so
    the cosine of two vectors measures their weighted lexical overlap.

    What it matches: texts that share words (*"I prefer email"* and *"contact me by email"*),
    and inflections or typos that share most letters (*refund* / *refunds* / *refunded*,
    *kettle* / *kettles*), in any language written with word characters.

    What it cannot match: synonyms (*email* / *mail*, *cheap* / *inexpensive*), paraphrases
    with no word in common, meaning or negation (*"likes tea"* and *"hates tea"* look alike),
    and word order. Scores are lower and noisier than a neural model's: texts sharing one
    content word score about 0.2 to 0.5; unrelated texts about 0.02, but hash collisions (two
    different words landing in the same bucket) lift about 1 pair in 100 above 0.14 and a few
    in 10,000 above 0.2 (measured on random 2 to 6 word texts at 512 dimensions). Set
    relevance thresholds for this embedding, and expect the occasional unrelated hit.

    Example:
        >>> embed = HashEmbeddings()
        >>> a, b, c = embed.embed_documents(["I drink green tea", "green tea please", "ship it"])
        >>> sum(x * y for x, y in zip(a, b)) > 0.3 > abs(sum(x * y for x, y in zip(a, c)))
        True
    """

    def __init__(self, dims: int = 512, *, trigram_weight: float = 0.3) -> None:
        """Create the embedding.

        Args:
            dims: vector size; more dimensions mean fewer collisions.
            trigram_weight: weight of each character trigram relative to a whole word.
        """
        if dims < 8:
            raise ValueError(f"dims must be at least 8, got {dims}")
        self.dims = dims
        self.trigram_weight = trigram_weight

    @property
    def identity(self) -> str:
        """Names the vector space: vectors of different identities are not comparable."""
        return f"hash-v2-{self.dims}"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage."""
        return [self._embed(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed a query (the same function as for documents)."""
        return self._embed(text)

    def features(self, text: str) -> dict[str, float]:
        """The weighted features of a text (for inspection and tests)."""
        every = _WORD.findall(text.lower())
        words = [w for w in every if w not in _STOPWORDS] or every  # all stopwords: keep them
        weights: dict[str, float] = {}
        for word, count in Counter(words).items():
            damped = 1.0 + math.log(count)
            weights[f"w:{word}"] = weights.get(f"w:{word}", 0.0) + damped
            padded = f"<{word}>"
            for i in range(len(padded) - 2):
                gram = f"g:{padded[i : i + 3]}"
                weights[gram] = weights.get(gram, 0.0) + self.trigram_weight * damped
        return weights

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dims
        features = self.features(text) or {"<empty>": 1.0}
        for feature, weight in features.items():
            for index, sign in _buckets(feature, self.dims):
                vector[index] += sign * weight
        norm = math.sqrt(sum(x * x for x in vector))
        if norm == 0.0:  # every feature cancelled out: rare, keep a valid unit vector
            vector[_buckets("<empty>", self.dims)[0][0]] = norm = 1.0
        return [x / norm for x in vector]


@functools.lru_cache(maxsize=1 << 18)
def _buckets(feature: str, dims: int) -> tuple[tuple[int, float], ...]:
    """Two signed buckets per feature: a collision in one of them costs half as much."""
    digest = hashlib.blake2b(feature.encode(), digest_size=16).digest()
    buckets = []
    for half in (digest[:8], digest[8:]):
        number = int.from_bytes(half, "big")
        buckets.append((number % dims, _HALF if number >> 63 else -_HALF))
    return tuple(buckets)


_HALF = 1.0 / math.sqrt(2.0)


class ChromaDefaultEmbeddings(Embeddings):
    """Chroma's default embedding function (all-MiniLM-L6-v2 on onnxruntime) as LangChain's.

    Build it with `load_chroma_default`, which checks that the model loads.
    """

    def __init__(self, function: Any) -> None:
        """Wrap a loaded ``ONNXMiniLM_L6_V2`` instance."""
        self._function = function

    @property
    def identity(self) -> str:
        """Names the vector space."""
        return "chroma-default-all-MiniLM-L6-v2"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage."""
        if not texts:
            return []
        return [[float(x) for x in vector] for vector in self._function(list(texts))]

    def embed_query(self, text: str) -> list[float]:
        """Embed a query."""
        return self.embed_documents([text])[0]


WORDLLAMA_DIMS = (64, 128, 256)
"""Dimensions the bundled WordLlama model can give (Matryoshka truncations of 256)."""


class WordLlamaEmbeddings(Embeddings):
    """WordLlama's bundled ``l2_supercat`` model as LangChain embeddings, fully offline.

    Provenance: the PyPI package ``wordllama`` by Lee Miller (github.com/dleemiller/WordLlama),
    MIT licence, ships the 256-dimension weights (``wordllama/weights/l2_supercat_256.safetensors``,
    16 MB) and its tokenizer in the wheel. The model is a static token-embedding table: token
    embedding codebooks taken from Llama 2 family models (it uses Llama 2's tokenizer),
    projected and trained contrastively on sentence pairs; a text's vector is the average of
    its tokens' vectors. No torch, no network: the
    package's own files are loaded with downloads disabled (its default loader looks for the
    tokenizer in the wrong folder and would fetch it from the Hugging Face hub).

    What it matches beyond shared words: related words and some paraphrases (*declined card* /
    *failed payment*). What it cannot: word order, negation and meaning that depends on context
    (a bag of tokens), and rare domain terms it splits into meaningless pieces.

    Example:
        >>> embed = WordLlamaEmbeddings()  # doctest: +SKIP
        >>> len(embed.embed_query("how many calls per minute?"))  # doctest: +SKIP
        256
    """

    def __init__(self, dims: int = 256) -> None:
        """Load the bundled model.

        Args:
            dims: 64, 128 or 256 (the first ``dims`` components of the 256-dimension model).

        Raises:
            ValueError: for another size.
            ImportError: when the ``wordllama`` package is not installed.
        """
        if dims not in WORDLLAMA_DIMS:
            raise ValueError(f"wordllama dims must be one of {WORDLLAMA_DIMS}, got {dims}")
        try:
            import wordllama
        except ImportError as exc:
            raise ImportError(
                "The 'wordllama' embedding needs the wordllama package: "
                "pip install 'langgraph-agent-patterns[wordllama]'"
            ) from exc
        package = Path(wordllama.__file__).parent
        self.dims = dims
        self._model = wordllama.WordLlama.load(
            "l2_supercat",
            dim=256,
            trunc_dim=None if dims == 256 else dims,
            cache_dir=package,  # the wheel's own weights/ and tokenizers/ folders
            disable_download=True,
        )

    @property
    def identity(self) -> str:
        """Names the vector space."""
        return f"wordllama-l2_supercat-{self.dims}"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage (unit vectors)."""
        if not texts:
            return []
        vectors = self._model.embed(list(texts), norm=True)
        return [[float(x) for x in vector] for vector in vectors]

    def embed_query(self, text: str) -> list[float]:
        """Embed a query (the same function as for documents)."""
        return self.embed_documents([text])[0]


def _onnx_model_cached(function: Any) -> bool:
    folder = Path(function.DOWNLOAD_PATH) / function.EXTRACTED_FOLDER_NAME
    return (folder / "model.onnx").is_file() and (folder / "tokenizer.json").is_file()


def _reachable(url: str, timeout: float) -> str | None:
    """None when `url` answers within `timeout`, else why not."""
    import httpx

    try:
        response = httpx.head(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        return f"{urlsplit(url).netloc} unreachable ({type(exc).__name__})"
    if response.status_code >= 400:
        return f"{urlsplit(url).netloc} answered HTTP {response.status_code}"
    return None


def load_chroma_default(probe_timeout: float = PROBE_TIMEOUT_S) -> tuple[Embeddings | None, str]:
    """Load Chroma's default model, downloading it only if the host answers quickly.

    Returns:
        ``(embeddings, "")`` when the model loads, else ``(None, reason)``.
    """
    try:
        from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2
    except ImportError as exc:  # chromadb without its ONNX dependencies
        return None, f"its ONNX embedding function is unavailable ({exc})"
    try:
        function = ONNXMiniLM_L6_V2()
    except ValueError as exc:  # onnxruntime or tokenizers missing
        return None, str(exc)
    if not _onnx_model_cached(function):
        where = f"not cached in {function.DOWNLOAD_PATH}"
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
            return None, f"{where} and HF_HUB_OFFLINE is set"
        problem = _reachable(function.MODEL_DOWNLOAD_URL, probe_timeout)
        if problem:
            return None, f"{where} and {problem}"
    try:
        embeddings = ChromaDefaultEmbeddings(function)
        embeddings.embed_query("probe")  # downloads if needed, then builds the ONNX session
    except Exception as exc:  # noqa: BLE001 - any failure to load means: fall back
        return None, f"{type(exc).__name__}: {exc}"
    return embeddings, ""


def resolve_embeddings_spec(spec: str | None = None) -> str:
    """The spec that will be used: the argument, ``MEMORY_EMBEDDINGS`` or ``chroma-default``.

    Raises:
        ValueError: for a spec that names no known embedding.
    """
    chosen = (spec or os.environ.get(EMBEDDINGS_ENV) or DEFAULT_EMBEDDINGS_SPEC).strip()
    kind, _, argument = chosen.partition(":")
    if chosen == "chroma-default":
        return chosen
    if kind == "hash" and (not argument or argument.isdigit()):
        return chosen
    if kind == "openai" and argument:
        return chosen
    if chosen == "wordllama" or (kind == "wordllama" and argument in map(str, WORDLLAMA_DIMS)):
        return chosen
    raise ValueError(
        f"Unknown embeddings spec {chosen!r}: use 'chroma-default', 'hash' (or 'hash:<dims>'), "
        "'wordllama' (or 'wordllama:64', ':128', ':256') "
        "or 'openai:<model>' (for example 'openai:text-embedding-3-small')."
    )


@functools.cache
def _notice(message: str) -> None:
    print(f"[agent-patterns] {message}", file=sys.stderr)


@functools.cache
def _create(spec: str) -> Embeddings:
    if spec == "chroma-default":
        embeddings, reason = load_chroma_default()
        if embeddings is not None:
            return embeddings
        _notice(
            f"memory embeddings: Chroma's default model could not be loaded ({reason}); using "
            "the offline 'hash' embedding (matches shared words only, no synonyms)."
        )
        return HashEmbeddings()
    kind, _, argument = spec.partition(":")
    if kind == "hash":
        return HashEmbeddings(int(argument)) if argument else HashEmbeddings()
    if kind == "wordllama":
        return WordLlamaEmbeddings(int(argument)) if argument else WordLlamaEmbeddings()
    from langchain_openai import OpenAIEmbeddings

    options: dict[str, Any] = {"model": argument}
    base_url = os.environ.get("OPENAI_BASE_URL")
    if base_url:
        # Other servers take plain strings; token-id inputs would also need tiktoken's files.
        options.update(base_url=base_url, check_embedding_ctx_length=False)
    return OpenAIEmbeddings(**options)


def create_embeddings(spec: str | None = None) -> Embeddings:
    """Embeddings for a spec (see the module docs); one instance per spec per process.

    Args:
        spec: ``"chroma-default"``, ``"hash"``, ``"hash:<dims>"``, ``"wordllama"``,
            ``"wordllama:<dims>"``, ``"openai:<model>"`` or empty for ``MEMORY_EMBEDDINGS`` /
            ``chroma-default``.

    Returns:
        A LangChain `Embeddings`. ``chroma-default`` returns `HashEmbeddings` (with a notice
        on stderr) when the model cannot be loaded.
    """
    return _create(resolve_embeddings_spec(spec))


def embedding_identity(embeddings: Embeddings) -> str:
    """A name for the vector space of `embeddings` (same name, comparable vectors)."""
    identity = getattr(embeddings, "identity", None)
    if isinstance(identity, str) and identity:
        return identity
    model = getattr(embeddings, "model", None) or getattr(embeddings, "model_name", None)
    name = type(embeddings).__name__
    return f"{name}-{model}" if model else name
