"""Finding 4 of issue 11: code the sandbox runs must never reach the host.

The reflexion graph runs two kinds of untrusted code: the task's tests (client-supplied JSON,
when the operator allows it) and the model's solution (which a prompt can steer). Every attack
here runs both ways through the graph, with `ScriptedChatModel` as the model, and is judged by
its effect on the host (a file created, a connection received, a file's content returned),
never by what the sandbox reports.

The audit hook inside the sandbox is defence in depth, not the boundary: its tables are globals
of ``__main__``, so every attack first switches it off the way hostile code would. What must
stop the attack is the isolation around the process.
"""

from __future__ import annotations

import ast
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

import graphs.reflexion
import tools.sandbox
import tools.seccomp
from graphs.reflexion import build_reflexion_graph
from models import ScriptedChatModel

ALLOW_ENV = "AGENT_PATTERNS_ALLOW_CLIENT_CODE"

# Switches the audit hook off: its deny lists and path check are globals of __main__.
DISABLE_HOOK = (
    "import __main__\n"
    "__main__._BLOCKED = frozenset()\n"
    "__main__._PATH_EVENTS = frozenset()\n"
    "__main__._inside = lambda path, roots: True\n"
)

# Calls the C function behind subprocess directly: no audit event, a shell on the host.
FORK_EXEC = """
    import _posixsubprocess, os
    errpipe_read, errpipe_write = os.pipe()
    argv = [b"/bin/sh", b"-c", b"id > OUTSIDE"]
    pid = _posixsubprocess.fork_exec(
        argv, [b"/bin/sh", b"/usr/bin/sh"], True, (errpipe_write,), None, None,
        -1, -1, -1, -1, -1, -1, errpipe_read, errpipe_write,
        False, False, -1, None, None, -1, -1, None, False,
    )
    os.close(errpipe_write)
    return os.waitpid(pid, 0)
"""

ATTACKS = {
    "fork_exec_escape": FORK_EXEC,
    "read_etc_passwd": """
    with open("/etc/passwd") as f:
        return f.read()
""",
    "write_outside": """
    import os
    os.makedirs(os.path.dirname("OUTSIDE"), exist_ok=True)
    with open("OUTSIDE", "w") as f:
        f.write("written from the sandbox")
    return "written"
""",
    "socket_to_localhost": """
    import socket
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as s:
        s.sendall(b"from the sandbox")
    return "connected"
""",
    "os_system": """
    import os
    return os.system("id > OUTSIDE")
""",
    "ctypes_libc_system": """
    import ctypes
    return ctypes.CDLL(None).system(b"id > OUTSIDE")
""",
}

FINISHED = "ATTACK FINISHED"

# System calls a Python test run never needs, each a frequent source of kernel exploits.
SURFACE = ("keyctl", "bpf", "io_uring_setup", "perf_event_open", "userfaultfd", "unshare")


def attack_module(body: str, outside: Path, port: int) -> str:
    """A module that runs the attack on import and always ends by raising its outcome."""
    body = body.replace("OUTSIDE", str(outside)).replace("PORT", str(port))
    return (
        f"{DISABLE_HOOK}\n\ndef _attack():{body}\n\n"
        "try:\n"
        "    _outcome = repr(_attack())\n"
        "except BaseException as _exc:\n"
        "    _outcome = f'{type(_exc).__name__}: {_exc}'\n"
        f"raise AssertionError('{FINISHED}: ' + _outcome)\n"
    )


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP server on the host's localhost; connections queue until accepted."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    yield server
    server.close()


def connections(server: socket.socket) -> list[str]:
    """What the connections that reached `server` sent (accepting each queued one)."""
    received: list[str] = []
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return received
        with conn:
            conn.settimeout(5)
            received.append(conn.recv(100).decode(errors="replace"))


def run_as_task(module: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The attack as the task's tests: a client JSON task, on a server that allows them."""
    monkeypatch.setenv(ALLOW_ENV, "1")
    task = {"task": "Write anything.", "tests": module + "\n\ndef test_it():\n    pass\n"}
    model = ScriptedChatModel(replies=["```python\nx = 1\n```", "No lesson."])
    graph = build_reflexion_graph(model, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    return graph.invoke(
        {"messages": [("user", json.dumps(task))]}, config, context={"max_attempts": 1}
    )


def run_as_model_code(module: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The attack as the model's solution to a shipped scenario (no client code at all)."""
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    model = ScriptedChatModel(replies=[f"```python\n{module}```", "No lesson."])
    graph = build_reflexion_graph(model, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    return graph.invoke(
        {"messages": [("user", "Do the slugify task.")]}, config, context={"max_attempts": 1}
    )


ROUTES = {"task": run_as_task, "model": run_as_model_code}


def attack(
    name: str, route: str, tmp_path: Path, listener: socket.socket, mp: pytest.MonkeyPatch
) -> tuple[str, Path]:
    """Run attack `name` by `route`; the run's whole visible result as text, and the target."""
    outside = tmp_path / f"{name}.txt"
    port = listener.getsockname()[1]
    result = ROUTES[route](attack_module(ATTACKS[name], outside, port), mp)
    text = json.dumps(
        {
            "evaluations": result["evaluations"],
            "messages": [m.text for m in result["messages"]],
        }
    )
    assert FINISHED in text, f"the attack did not run to its end: {text[:2000]}"
    return text, outside


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_finding_4_fork_exec_escape_runs_no_host_shell(
    route: str, tmp_path: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, outside = attack("fork_exec_escape", route, tmp_path, listener, monkeypatch)
    assert not outside.exists(), f"a shell ran on the host: {outside.read_text()}"


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_finding_4_reading_etc_passwd_returns_nothing_of_the_host(
    route: str, tmp_path: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, _ = attack("read_etc_passwd", route, tmp_path, listener, monkeypatch)
    host_lines = [line for line in Path("/etc/passwd").read_text().splitlines() if line]
    leaked = [line for line in host_lines if line in text]
    assert not leaked, f"host /etc/passwd lines came back: {leaked}"


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_finding_4_writing_outside_the_work_directory_fails(
    route: str, tmp_path: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, outside = attack("write_outside", route, tmp_path, listener, monkeypatch)
    assert not outside.exists(), "the sandbox wrote a file on the host"


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_finding_4_socket_to_a_localhost_server_never_connects(
    route: str, tmp_path: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    attack("socket_to_localhost", route, tmp_path, listener, monkeypatch)
    assert connections(listener) == []


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_finding_4_os_system_runs_no_host_shell(
    route: str, tmp_path: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, outside = attack("os_system", route, tmp_path, listener, monkeypatch)
    assert not outside.exists(), f"a shell ran on the host: {outside.read_text()}"


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_finding_4_ctypes_runs_no_host_shell(
    route: str, tmp_path: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, outside = attack("ctypes_libc_system", route, tmp_path, listener, monkeypatch)
    assert not outside.exists(), f"a shell ran on the host: {outside.read_text()}"


# -- no isolation, no run ----------------------------------------------------------------------


WRITES_OUTSIDE = "with open({path!r}, 'w') as f:\n    f.write('ran unisolated')\n"
CALL_TESTS = "import solution\n\n\ndef test_it():\n    pass\n"


def test_finding_4_sandbox_refuses_to_run_without_bwrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tools.sandbox, "_find_bwrap", lambda: None)
    outside = tmp_path / "unisolated.txt"

    with pytest.raises(tools.sandbox.SandboxUnavailableError, match="bubblewrap"):
        tools.sandbox.run_in_sandbox(WRITES_OUTSIDE.format(path=str(outside)), CALL_TESTS)
    assert not outside.exists()


def test_finding_4_sandbox_refuses_when_bwrap_cannot_isolate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bwrap that cannot set up namespaces (e.g. user namespaces disabled): nothing runs."""
    fake = tmp_path / "bwrap"
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(tools.sandbox, "_find_bwrap", lambda: str(fake))
    monkeypatch.setattr(tools.sandbox, "_drops_privileges", lambda: False)

    with pytest.raises(tools.sandbox.SandboxUnavailableError, match="could not set up"):
        tools.sandbox.run_in_sandbox("x = 1\n", CALL_TESTS)


def test_finding_4_graph_reports_a_missing_sandbox_as_not_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tools.sandbox, "_find_bwrap", lambda: None)
    model = ScriptedChatModel(replies=["```python\ndef slugify(text):\n    return text\n```"])
    graph = build_reflexion_graph(model)

    result = graph.invoke({"messages": [("user", "slugify")]})

    assert result["succeeded"] is False
    [evaluation] = result["evaluations"]
    assert evaluation["passed"] is False and "bubblewrap" in evaluation["error"]
    assert len(model.calls) == 1  # no reflection on a run that never happened
    text = result["messages"][-1].text
    assert text.startswith("Did not succeed: the code was not run.") and "bwrap" in text


# -- client code only when the operator opts in ------------------------------------------------

MARKER_TESTS = "def test_client_code_ran():\n    assert False, 'CLIENT TESTS RAN'\n"
CLIENT_TASK = json.dumps({"task": "Write anything.", "tests": MARKER_TESTS})


def test_finding_4_served_graph_refuses_client_tasks_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)

    result = graphs.reflexion.graph.invoke(
        {"messages": [("user", CLIENT_TASK)]}, context={"model": "demo", "max_attempts": 1}
    )

    assert result["task"] is None and result["evaluations"] == []
    text = result["messages"][-1].text
    assert "Client-supplied tasks are turned off" in text and ALLOW_ENV in text
    assert "slugify" in text


def test_finding_4_served_graph_accepts_client_tasks_when_the_operator_opts_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ALLOW_ENV, "1")

    result = graphs.reflexion.graph.invoke(
        {"messages": [("user", CLIENT_TASK)]}, context={"model": "demo", "max_attempts": 1}
    )

    assert result["task"]["tests"] == MARKER_TESTS
    [evaluation] = result["evaluations"]
    assert "CLIENT TESTS RAN" in evaluation["summary"]  # ran, in the sandbox


def test_finding_4_a_task_forged_through_state_is_not_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Writing a client task into state (as the state API can) and resuming runs nothing."""
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    graph = build_reflexion_graph(ScriptedChatModel(replies=[]), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    graph.invoke({"messages": [("user", "hello")]}, config)
    forged = {"task": "Write anything.", "tests": MARKER_TESTS, "tests_description": ""}
    graph.update_state(
        config, {"task": forged, "attempts": [{"trial": 1, "code": "x = 1\n"}]}, as_node="attempt"
    )
    assert graph.get_state(config).next == ("evaluate",)

    result = graph.invoke(None, config)

    [evaluation] = result["evaluations"]
    assert "CLIENT TESTS RAN" not in json.dumps(evaluation)
    assert "Client-supplied tasks are turned off" in evaluation["error"]
    assert result["messages"][-1].text.startswith("Did not succeed: the code was not run.")


# -- less kernel to attack ---------------------------------------------------------------------


@pytest.mark.skipif(tools.seccomp.deny_filter() is None, reason="seccomp filter is x86-64 only")
def test_finding_4_system_calls_that_only_widen_the_kernel_surface_fail() -> None:
    """Even with the audit hook off: keyrings, BPF, io_uring, perf, netlink fail (seccomp)."""
    probe = (
        DISABLE_HOOK
        + "import ctypes, errno, socket\n"
        + "libc = ctypes.CDLL(None, use_errno=True)\n\n\n"
        + "def outcome(nr):\n"
        + "    ret = libc.syscall(nr, 0, 0, 0, 0, 0)\n"
        + "    return errno.errorcode.get(ctypes.get_errno(), 'ok') if ret == -1 else 'ok'\n\n\n"
        + "def netlink():\n"
        + "    try:\n"
        + "        socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close()\n"
        + "    except OSError as exc:\n"
        + "        return errno.errorcode[exc.errno]\n"
        + "    return 'ok'\n"
    )
    calls = {name: tools.seccomp.DENIED_SYSCALLS[name] for name in SURFACE}
    tests = (
        "from solution import netlink, outcome\n\n\n"
        f"def test_surface():\n    got = {{n: outcome(nr) for n, nr in {calls!r}.items()}}\n"
        "    got['netlink'] = netlink()\n"
        "    assert False, repr(got)\n"
    )
    result = tools.sandbox.run_in_sandbox(probe, tests)

    [failure] = result.failures
    got = ast.literal_eval(failure["error"].removeprefix("AssertionError: "))
    assert got == {**dict.fromkeys(SURFACE, "EPERM"), "netlink": "EAFNOSUPPORT"}
