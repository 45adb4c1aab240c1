"""Chat models: the offline demo model, the scripted test model and the spec factory."""

from models.demo import HeuristicDemoModel
from models.factory import create_chat_model, resolve_model_spec
from models.scripted import (
    ScriptedCall,
    ScriptedChatModel,
    ScriptExhaustedError,
    tool_calls_reply,
)

__all__ = [
    "HeuristicDemoModel",
    "ScriptExhaustedError",
    "ScriptedCall",
    "ScriptedChatModel",
    "create_chat_model",
    "resolve_model_spec",
    "tool_calls_reply",
]
