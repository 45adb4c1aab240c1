"""The last entry of a fallback chain: a fixed answer, no model at all.

A fallback chain (`nodes.model_chain`) may end with ``"template"`` or
``"template:<text>"``: when every model before it failed, the user gets that text (or
`DEFAULT_TEMPLATE_ANSWER`) instead of an error. It answers a request for structured output
with the same text, which the caller treats as an invalid answer (its clean ending).

Example:
    >>> model = template_model("template:The assistant is busy; try again in a minute.")
    >>> model.invoke("hi").content
    'The assistant is busy; try again in a minute.'
    >>> is_template_spec("template"), is_template_spec("openai:gpt-4o")
    (True, False)
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from models.base import OfflineChatModel

__all__ = ["DEFAULT_TEMPLATE_ANSWER", "TemplateChatModel", "is_template_spec", "template_model"]

DEFAULT_TEMPLATE_ANSWER = (
    "I cannot answer right now: the language models I rely on are unavailable. Nothing was "
    "done. Please try again in a few minutes."
)


class TemplateChatModel(OfflineChatModel):
    """A chat model that always answers with `text` (never calls a tool)."""

    text: str = DEFAULT_TEMPLATE_ANSWER

    @property
    def _llm_type(self) -> str:
        return "template"

    def _reply(
        self,
        messages: list[BaseMessage],
        tools: list[dict[str, Any]],
        forced_tool: str | None,
        **kwargs: Any,
    ) -> AIMessage:
        return AIMessage(content=self.text, name="fallback")


def is_template_spec(spec: str) -> bool:
    """Whether a model spec names the template answer (``template`` or ``template:<text>``)."""
    return spec == "template" or spec.startswith("template:")


def template_model(spec: str) -> TemplateChatModel:
    """The template model a ``template[:<text>]`` spec names."""
    if not is_template_spec(spec):
        raise ValueError(f"not a template spec: {spec!r}")
    text = spec.partition(":")[2].strip()
    return TemplateChatModel(text=text or DEFAULT_TEMPLATE_ANSWER)
