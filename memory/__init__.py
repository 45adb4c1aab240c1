"""Long-term memory: a Chroma-backed LangGraph store, embeddings, and episodic lessons.

- `ChromaStore` / `open_store`: LangGraph's `BaseStore` on Chroma (a data directory or a
  Chroma server), with namespaces, filters and semantic search.
- `create_embeddings`: ``chroma-default`` (falls back to the offline ``hash``), ``hash`` or
  ``openai:<model>``.
- `EpisodicMemory`, `record_lesson`, `recall_lessons`: lessons keyed by task, with success or
  failure and provenance, for patterns that learn from attempts (reflexion).
"""

from memory.chroma_store import (
    DEFAULT_COLLECTION,
    DEFAULT_STORE_PATH,
    STORE_URL_ENV,
    ChromaIndexConfig,
    ChromaStore,
    chroma_client,
    matches_filter,
    open_store,
)
from memory.embeddings import (
    DEFAULT_EMBEDDINGS_SPEC,
    EMBEDDINGS_ENV,
    ChromaDefaultEmbeddings,
    HashEmbeddings,
    create_embeddings,
    embedding_identity,
    load_chroma_default,
    resolve_embeddings_spec,
)
from memory.episodic import (
    LESSONS_NAMESPACE,
    EpisodicMemory,
    Lesson,
    recall_lessons,
    record_lesson,
    task_id,
)

__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_EMBEDDINGS_SPEC",
    "DEFAULT_STORE_PATH",
    "EMBEDDINGS_ENV",
    "LESSONS_NAMESPACE",
    "STORE_URL_ENV",
    "ChromaDefaultEmbeddings",
    "ChromaIndexConfig",
    "ChromaStore",
    "EpisodicMemory",
    "HashEmbeddings",
    "Lesson",
    "chroma_client",
    "create_embeddings",
    "embedding_identity",
    "load_chroma_default",
    "matches_filter",
    "open_store",
    "recall_lessons",
    "record_lesson",
    "resolve_embeddings_spec",
    "task_id",
]
