"""Chat models: the offline demo model, the scripted test model, the spec factory, stand-ins."""

from models.factory import create_chat_model, resolve_model_spec
from models.heuristic import HeuristicDemoModel
from models.offline import offline_stand_in, register_offline
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
    "offline_stand_in",
    "register_offline",
    "resolve_model_spec",
    "tool_calls_reply",
]
