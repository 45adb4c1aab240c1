"""Run generated Python code against tests in a separate, limited process. Never in-process.

`run_in_sandbox(code, tests)` writes ``solution.py`` (the code), ``test_solution.py`` (the
tests, which ``from solution import ...``) and a small bootstrap into a fresh temporary
directory, and runs the bootstrap with this interpreter in isolated mode
(``python -I -S -B``: no site-packages, no ``PYTHON*`` variables, no bytecode
written). The
bootstrap, before it imports any of the code:

1. sets resource limits on its own process (CPU seconds, address space, file size, open files,
   and no new processes through ``RLIMIT_NPROC``);
2. installs an audit hook (`sys.addaudithook`) that refuses, with `PermissionError`:
   opening files outside the sandbox directory (the standard library stays readable, read
   only), listing, creating, renaming, removing or re-permissioning paths outside it,
   starting processes (``os.system``, ``subprocess.Popen``, ``os.exec*``, ``os.fork``,
   ``os.posix_spawn``), network connections (``socket.connect``/``bind``), and loading
   native libraries through ``ctypes``;
3. imports ``test_solution``, runs each ``test_*`` function and prints a JSON report on a line
   with a per-run marker.

The parent kills the whole process group when the time limit passes (``timed_out``) and
returns a `SandboxResult`. The limits are applied by the child itself rather than in a
``preexec_fn``: graph nodes run in worker threads, and ``preexec_fn`` is not safe with threads.

What this does **not** guarantee (audit hooks are not a security boundary): native code
already loaded, or anything reached without an audited event, can bypass the hook; a hostile
program can forge the report line; ``RLIMIT_NPROC`` is ignored for root; memory limits are
address-space limits. It is a guard against the mistakes of generated code (loops, stray file
access, runaway output), not a jail for hostile code: for that, run it in a container or a VM
(gVisor, Firecracker, nsjail) with no network and a read-only root.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_MEMORY_MB", "SandboxResult", "run_in_sandbox"]

DEFAULT_MEMORY_MB = 512
"""Address-space limit of the sandboxed process, in MiB."""

_TAIL_CHARS = 2000
_REPORT_CHARS = 256 * 1024
_SOLUTION = "solution.py"
_TESTS = "test_solution.py"
_BOOTSTRAP = "_sandbox_bootstrap.py"

# The bootstrap runs inside the sandbox process. Everything it needs is imported before the
# hook is installed; the hook then judges every audited event of the code under test.
_BOOTSTRAP_SOURCE = r"""
import importlib, json, os, resource, sys, sysconfig, traceback

MARKER, ROOT = sys.argv[1], os.path.realpath(sys.argv[2])
CPU_S, MEMORY_BYTES, FSIZE_BYTES = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])


def _limit(name, value):
    kind = getattr(resource, name, None)
    if kind is None:
        return
    try:
        soft, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass


_limit("RLIMIT_CPU", CPU_S)
_limit("RLIMIT_AS", MEMORY_BYTES)
_limit("RLIMIT_FSIZE", FSIZE_BYTES)
_limit("RLIMIT_NOFILE", 64)
_limit("RLIMIT_NPROC", 0)
_limit("RLIMIT_CORE", 0)

_PATHS = sysconfig.get_paths()
_READ_ONLY = tuple({os.path.realpath(_PATHS[k]) for k in ("stdlib", "platstdlib") if _PATHS.get(k)})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_BLOCKED = frozenset({
    "os.system", "subprocess.Popen", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
    "os.forkpty", "os.kill", "os.killpg", "socket.connect", "socket.bind", "socket.sendto",
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.call_function", "os.startfile",
    "pty.spawn", "sys.setprofile", "sys.settrace", "os.chroot",
})
_PATH_EVENTS = frozenset({
    "os.listdir", "os.scandir", "os.mkdir", "os.rmdir", "os.remove", "os.rename", "os.chmod",
    "os.chown", "os.link", "os.symlink", "os.truncate", "os.utime", "shutil.rmtree",
    "shutil.copyfile", "shutil.move", "glob.glob", "os.chdir",
})


def _inside(path, roots):
    return any(path == root or path.startswith(root + os.sep) for root in roots)


def _resolve(path):
    if isinstance(path, int):
        return None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    return os.path.realpath(os.fspath(path))


def _hook(event, args):
    if event in _BLOCKED:
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "open":
        path = _resolve(args[0])
        if path is None or _inside(path, (ROOT,)):
            return
        mode, flags = args[1] or "", args[2] or 0
        writes = any(c in mode for c in "wax+") or bool(flags & _WRITE_FLAGS)
        if not writes and _inside(path, _READ_ONLY):
            return
        raise PermissionError(f"sandbox: access outside the sandbox directory: {path}")
    if event in _PATH_EVENTS:
        paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
        for raw in paths:
            path = _resolve(raw)
            if path is not None and not _inside(path, (ROOT,)):
                raise PermissionError(f"sandbox: access outside the sandbox directory: {path}")


os.chdir(ROOT)
sys.path[:] = [ROOT] + [p for p in sys.path if p and _inside(os.path.realpath(p), _READ_ONLY)]
sys.addaudithook(_hook)

report = {"tests": 0, "failures": [], "error": None}
try:
    module = importlib.import_module("test_solution")
except BaseException as exc:  # the solution or the tests do not even import
    report["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
else:
    for name in sorted(vars(module)):
        test = getattr(module, name)
        if not (name.startswith("test") and callable(test)):
            continue
        report["tests"] += 1
        try:
            test()
        except BaseException as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            frames = traceback.extract_tb(exc.__traceback__)
            where = next((f"{os.path.basename(f.filename)}:{f.lineno}: {f.line}"
                          for f in reversed(frames) if f.filename.startswith(ROOT)
                          and f.filename != __file__), "")
            report["failures"].append({"test": name, "error": detail, "where": where})
sys.stdout.flush()
print(MARKER + json.dumps(report), flush=True)
"""


@dataclass
class SandboxResult:
    """What one sandboxed test run found.

    Attributes:
        passed: every test ran and passed (and at least one test ran).
        tests: how many ``test_*`` functions ran.
        failures: ``{"test", "error", "where"}`` per failing test; a solution or test module
            that does not import is one failure named ``"<import>"``.
        timed_out: the time limit (wall clock or CPU) was reached and the process was killed.
        returncode: the process's exit status (negative: killed by that signal).
        stdout: the tail of what the code printed (the report line removed).
        stderr: the tail of its error output.
        duration_s: how long the process ran.
    """

    passed: bool
    tests: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    timed_out: bool = False
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-safe dict (for graph state)."""
        return asdict(self)

    def summary(self) -> str:
        """A short, human- and model-readable account of the run."""
        if self.timed_out:
            return "Timed out: the code was killed at the time limit (an endless loop?)."
        if self.passed:
            return f"All {self.tests} tests passed."
        if not self.failures:
            head = f"The test process ended (status {self.returncode}) without a test report."
            return f"{head}\n{self.stderr[-500:]}".strip()
        lines = [f"{len(self.failures)} of {max(self.tests, len(self.failures))} tests failed:"]
        for failure in self.failures:
            where = f" (at {failure['where']})" if failure.get("where") else ""
            lines.append(f"- {failure['test']}: {failure['error']}{where}")
        return "\n".join(lines)


def run_in_sandbox(
    code: str,
    tests: str,
    *,
    time_limit_s: float = 5.0,
    memory_mb: int = DEFAULT_MEMORY_MB,
    max_file_mb: int = 10,
    files: dict[str, str] | None = None,
) -> SandboxResult:
    """Run `tests` against `code` in a fresh temporary directory, in a separate process.

    Args:
        code: the source of ``solution.py``.
        tests: the source of ``test_solution.py``: ``test_*`` functions using ``assert``,
            importing what they test from ``solution``.
        time_limit_s: wall-clock limit; the CPU limit is this rounded up plus one second.
        memory_mb: address-space limit of the process.
        max_file_mb: largest file the code may write.
        files: extra files to place in the directory (name to text), e.g. fixtures.

    Returns:
        The structured result; the temporary directory is removed.
    """
    if time_limit_s <= 0:
        raise ValueError(f"time_limit_s must be positive, got {time_limit_s}")
    marker = f"@@SANDBOX-REPORT-{secrets.token_hex(8)}@@"
    with tempfile.TemporaryDirectory(prefix="sandbox-") as tmp:
        root = Path(tmp).resolve()
        (root / _SOLUTION).write_text(code)
        (root / _TESTS).write_text(tests)
        for name, text in (files or {}).items():
            target = (root / name).resolve()
            if not target.is_relative_to(root) or target.name in (_BOOTSTRAP, _TESTS, _SOLUTION):
                raise ValueError(f"invalid sandbox file name: {name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        (root / _BOOTSTRAP).write_text(_BOOTSTRAP_SOURCE)
        argv = [
            sys.executable,
            "-I",
            "-S",
            "-B",
            str(root / _BOOTSTRAP),
            marker,
            str(root),
            str(math.ceil(time_limit_s) + 1),
            str(memory_mb * 1024 * 1024),
            str(max_file_mb * 1024 * 1024),
        ]
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(root), "TMPDIR": str(root)}
        # Output goes to files outside the directory, not pipes: RLIMIT_FSIZE bounds them, so
        # a program printing in a loop cannot fill this process's memory.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.monotonic()
            process = subprocess.Popen(
                argv,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            timed_out = False
            try:
                process.wait(timeout=time_limit_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(process)
                process.wait()
            duration = time.monotonic() - start
            stdout, stderr = _tail(out, _REPORT_CHARS), _tail(err, _TAIL_CHARS)
    returncode = process.returncode
    timed_out = timed_out or returncode == -signal.SIGXCPU  # out of CPU seconds
    return _result(stdout, stderr, marker, returncode, timed_out, duration)


def _tail(file: Any, limit: int) -> str:
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - limit))
    return bytes(file.read()).decode("utf-8", errors="replace")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _result(
    stdout: str, stderr: str, marker: str, returncode: int, timed_out: bool, duration: float
) -> SandboxResult:
    report: dict[str, Any] | None = None
    kept: list[str] = []
    for line in stdout.splitlines():
        if line.startswith(marker):
            try:
                report = json.loads(line[len(marker) :])
            except json.JSONDecodeError:
                report = None
        else:
            kept.append(line)
    out_tail = "\n".join(kept)[-_TAIL_CHARS:]
    err_tail = stderr[-_TAIL_CHARS:]
    if timed_out or report is None:
        return SandboxResult(
            passed=False,
            timed_out=timed_out,
            returncode=returncode,
            stdout=out_tail,
            stderr=err_tail,
            duration_s=duration,
        )
    failures = [
        {"test": str(f.get("test")), "error": str(f.get("error")), "where": str(f.get("where"))}
        for f in report.get("failures", [])
    ]
    if report.get("error"):
        failures.append({"test": "<import>", "error": str(report["error"]), "where": ""})
    tests = int(report.get("tests", 0))
    return SandboxResult(
        passed=returncode == 0 and tests > 0 and not failures,
        tests=tests,
        failures=failures,
        timed_out=False,
        returncode=returncode,
        stdout=out_tail,
        stderr=err_tail,
        duration_s=duration,
    )
