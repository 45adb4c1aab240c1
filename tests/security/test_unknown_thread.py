"""Finding 14 (server side): resuming a thread that does not exist is a clear error.

A resume names a thread waiting for a decision. On an unknown id the server must say so
(404, "not found") instead of starting an empty run, also when the client asks LangGraph to
create the thread if it is missing; no thread may appear afterwards.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.devserver import DevServer
from tests.security._server import random_id, status

pytestmark = [pytest.mark.server, pytest.mark.postgres]

ACCEPT: Any = {"resume": [{"type": "accept"}]}


async def test_f14_resuming_an_unknown_thread_is_a_clear_404(dev_server: DevServer) -> None:
    thread_id = random_id()
    async with dev_server.client("rita") as rita, dev_server.client("root") as admin:
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await rita.runs.wait(thread_id, "react", command=ACCEPT)
        missing = await status(admin.threads.get(thread_id))
    assert refused.value.response.status_code == 404
    assert "not found" in refused.value.response.text.lower()
    assert missing == 404, "the resume created the thread"


async def test_f14_a_resume_may_not_create_the_thread(dev_server: DevServer) -> None:
    thread_id = random_id()
    async with dev_server.client("rita") as rita, dev_server.client("root") as admin:
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await rita.runs.wait(thread_id, "react", command=ACCEPT, if_not_exists="create")
        missing = await status(admin.threads.get(thread_id))
    assert refused.value.response.status_code == 422
    assert "existing thread" in refused.value.response.text
    assert missing == 404, "the resume created the thread"
    assert dev_server.refunds() == []
