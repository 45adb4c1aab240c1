"""The examples in the server modules' docstrings hold.

``server/`` is not in pytest's doctest paths: importing `server.auth` or `server.app`
without credentials stops (on purpose, as the server must), so the modules whose examples
need no credentials are checked here.
"""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from server import credentials, tokens


@pytest.mark.parametrize("module", [tokens, credentials], ids=lambda m: m.__name__)
def test_f01_server_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, raise_on_error=False, verbose=False)
    assert result.attempted > 0 and result.failed == 0, result
