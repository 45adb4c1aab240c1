"""Run untrusted Python code against tests in an isolated sandbox. Never in-process.

All code this module runs is untrusted: a client's test code as much as a model's solution (a
prompt can steer what a model writes). `run_in_sandbox(code, tests)` runs it inside
bubblewrap (``bwrap``, Debian package ``bubblewrap``), an isolation boundary built on Linux
namespaces:

- **Unprivileged.** The process runs as uid/gid 65534 inside a new user namespace with every
  capability dropped and no way to create further user namespaces. When this process is root,
  bwrap itself is started as uid/gid 65534, so the sandboxed code is not root outside the
  namespace either (an unprivileged user namespace; the machine must allow those).
- **Its own namespaces** for network (loopback only: no route to the host or the internet, not
  even to the host's ``localhost``), processes (it sees and signals only its own), IPC, UTS and
  cgroups; ``--new-session`` (no terminal injection); killed when this process dies.
- **Fewer system calls.** On x86-64 a seccomp filter (`tools.seccomp`) answers ``EPERM`` to
  calls a test run has no use for and that widen the kernel's attack surface (keyrings, BPF,
  io_uring, perf events, userfaultfd, ptrace, namespaces, mounts, modules ...) and refuses
  sockets other than Unix, IPv4 and IPv6.
- **A filesystem of its own.** An empty, read-only root with read-only binds of ``/usr``,
  ``/lib*`` and the interpreter's prefix; a fresh, size-limited tmpfs ``/tmp``; the work
  directory ``/sandbox``, a size-limited tmpfs that bwrap fills with ``solution.py``,
  ``test_solution.py``, any extra files and a small bootstrap. No ``/etc`` (so no
  ``/etc/passwd``), no ``/proc``, no ``/home``, nothing of the host writable at all.
- **A clean interpreter.** The base interpreter (never the virtualenv), as
  ``python -I -S -B`` (no site-packages, no ``PYTHON*`` variables, no bytecode written), with
  ``--clearenv`` and a four-variable environment. When this process is root the interpreter
  must be one uid 65534 can reach (a pyenv under ``/root`` is not), so ``/usr/bin/python3`` is
  used; ``AGENT_PATTERNS_SANDBOX_PYTHON`` names another.

Inside, before it imports any of the code, the bootstrap (defence in depth, not the boundary):

1. sets resource limits on its own process (CPU seconds, address space, file size, open files,
   and no new processes through ``RLIMIT_NPROC``, which holds because the process is not root
   outside its namespace);
2. installs an audit hook (`sys.addaudithook`) that refuses, with `PermissionError`:
   opening files outside the sandbox directory (the standard library stays readable, read
   only), listing, creating, renaming, removing or re-permissioning paths outside it,
   starting processes, network connections and loading native libraries through ``ctypes``;
   it gives clear errors for honest mistakes, and hostile code can switch it off (its tables
   are module globals): what contains that code is the isolation above;
3. imports ``test_solution``, runs each ``test_*`` function and prints a JSON report on a line
   with a per-run marker.

The parent kills the process group when the time limit passes (``timed_out``; bwrap's
``--die-with-parent`` then takes the whole sandbox down) and returns a `SandboxResult`.

Where the isolation cannot be had (no ``bwrap`` on ``PATH``, no interpreter the sandbox user can
run, or bwrap unable to set up its namespaces, e.g. unprivileged user namespaces disabled) the
sandbox refuses to run and raises `SandboxUnavailableError`; it never falls back to running the
code unisolated.

What remains (residual risk): the code still runs on the host's kernel, so a kernel bug
reachable from an unprivileged process in its own namespaces (through the system calls the
filter still allows; off x86-64 there is no filter) could break out. ``/usr`` is readable
(installed software, not secrets); the code can use its CPU, memory and tmpfs allowances, and
forge its own report (a "passed" is only as trustworthy as the tests). For code from the
internet at large, run the whole server inside a VM or gVisor as well.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from tools.seccomp import deny_filter

__all__ = [
    "DEFAULT_MEMORY_MB",
    "PYTHON_ENV",
    "SANDBOX_UID",
    "SandboxResult",
    "SandboxUnavailableError",
    "run_in_sandbox",
]

DEFAULT_MEMORY_MB = 512
"""Address-space limit of the sandboxed process, in MiB."""

SANDBOX_UID = 65534
"""The unprivileged uid and gid the code runs as (``nobody``/``nogroup`` on Debian)."""

PYTHON_ENV = "AGENT_PATTERNS_SANDBOX_PYTHON"
"""Environment variable naming the interpreter the sandbox runs (default: see module docs)."""

INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install -y bubblewrap)"

_WORKDIR = "/sandbox"
_TAIL_CHARS = 2000
_REPORT_CHARS = 256 * 1024
_SOLUTION = "solution.py"
_TESTS = "test_solution.py"
_BOOTSTRAP = "_sandbox_bootstrap.py"
_PROBE_TIMEOUT_S = 30.0
_MIB = 1024 * 1024


class SandboxUnavailableError(RuntimeError):
    """The isolated sandbox cannot be set up here, so the code was not run at all."""


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
    """Run `tests` against `code` in the isolated sandbox (see the module docs).

    Args:
        code: the source of ``solution.py``.
        tests: the source of ``test_solution.py``: ``test_*`` functions using ``assert``,
            importing what they test from ``solution``.
        time_limit_s: wall-clock limit; the CPU limit is this rounded up plus one second.
        memory_mb: address-space limit of the process.
        max_file_mb: largest file the code may write; ``/sandbox`` and ``/tmp`` each hold four
            times this (plus the files given).
        files: extra files to place in the directory (relative name to text), e.g. fixtures.

    Returns:
        The structured result; nothing of the run is left behind.

    Raises:
        ValueError: a bad time limit or file name.
        SandboxUnavailableError: the isolation cannot be set up here (bubblewrap missing, no
            interpreter the sandbox user can run, user namespaces refused); nothing ran.
    """
    if time_limit_s <= 0:
        raise ValueError(f"time_limit_s must be positive, got {time_limit_s}")
    staged = _staged_files(code, tests, files or {})
    bwrap = _find_bwrap()
    if bwrap is None:
        raise SandboxUnavailableError(
            "bubblewrap (bwrap) is not installed, and the sandbox never runs code unisolated, "
            f"so the code was not run: {INSTALL_HINT}"
        )
    drop = _drops_privileges()
    python = _interpreter(drop)
    marker = f"@@SANDBOX-REPORT-{secrets.token_hex(8)}@@"
    tmpfs_bytes = 4 * max_file_mb * _MIB + sum(len(text.encode()) for text in staged.values())
    bootstrap_args = [
        f"{_WORKDIR}/{_BOOTSTRAP}",
        marker,
        _WORKDIR,
        str(math.ceil(time_limit_s) + 1),
        str(memory_mb * _MIB),
        str(max_file_mb * _MIB),
    ]
    with _file_descriptors(staged, deny_filter()) as (fds, file_args):
        argv = [*_bwrap_argv(bwrap, python, file_args, tmpfs_bytes), *bootstrap_args]
        returncode, timed_out, duration, stdout, stderr = _execute(argv, fds, drop, time_limit_s)
    timed_out = timed_out or returncode == -signal.SIGXCPU  # out of CPU seconds
    report, printed = _parse_report(stdout, marker)
    if report is None and not timed_out:
        problem = _setup_problem(bwrap, python, drop)
        if problem is not None:
            raise SandboxUnavailableError(
                f"bubblewrap could not set up the sandbox, so the code was not run: {problem}"
            )
    return _result(report, printed, stderr, returncode, timed_out, duration)


# -- what runs where -------------------------------------------------------------------------


def _find_bwrap() -> str | None:
    """The bubblewrap binary on ``PATH``, or None when it is not installed."""
    return shutil.which("bwrap")


def _drops_privileges() -> bool:
    """Whether bwrap itself must be started as `SANDBOX_UID` (this process is root)."""
    return os.geteuid() == 0


def _reachable_by_anyone(path: Path) -> bool:
    """Whether a user with no rights of its own can execute `path`."""
    try:
        return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))
    except OSError:
        return False


def _interpreter(drop: bool) -> Path:
    """The base interpreter the sandbox runs (never a virtualenv's; see `PYTHON_ENV`)."""
    configured = os.environ.get(PYTHON_ENV)
    base = getattr(sys, "_base_executable", None) or sys.executable
    candidates = [configured] if configured else [base, "/usr/bin/python3"]
    for candidate in candidates:
        path = Path(candidate).resolve()
        runnable = _reachable_by_anyone(path) if drop else os.access(path, os.X_OK)
        if path.is_file() and runnable:
            return path
    who = f"uid {SANDBOX_UID}" if drop else "this user"
    raise SandboxUnavailableError(
        f"no Python interpreter {who} can run among {candidates}, so the code was not run: "
        f"install python3 or set {PYTHON_ENV}"
    )


def _system_binds(python: Path) -> list[str]:
    """Read-only binds of what the interpreter needs: /usr, /lib*, the interpreter's prefix."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("lib", "lib32", "lib64", "libx32"):
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    prefix = python.parent.parent
    usr = Path("/usr")
    if prefix != usr and usr not in prefix.parents and prefix != Path("/"):
        args += ["--ro-bind", str(prefix), str(prefix)]
    return args


def _bwrap_argv(bwrap: str, python: Path, file_args: list[str], tmpfs_bytes: int) -> list[str]:
    """The bwrap command line up to and including the interpreter and its flags."""
    env = {"PATH": "/usr/bin", "LANG": "C.UTF-8", "HOME": _WORKDIR, "TMPDIR": "/tmp"}
    return [
        bwrap,
        *("--unshare-all", "--unshare-user", "--disable-userns"),
        *("--die-with-parent", "--new-session", "--cap-drop", "ALL"),
        *("--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox"),
        "--clearenv",
        *[arg for name, value in env.items() for arg in ("--setenv", name, value)],
        *_system_binds(python),
        *("--dev", "/dev"),
        *("--size", str(tmpfs_bytes), "--tmpfs", "/tmp"),
        *("--size", str(tmpfs_bytes), "--tmpfs", _WORKDIR),
        *file_args,
        *("--remount-ro", "/dev", "--remount-ro", "/", "--chdir", _WORKDIR, "--"),
        *(str(python), "-I", "-S", "-B"),
    ]


def _popen_options(drop: bool) -> dict[str, Any]:
    """How bwrap is started: minimal environment, own session, as `SANDBOX_UID` for root."""
    options: dict[str, Any] = {
        "cwd": "/",
        "env": {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        "stdin": subprocess.DEVNULL,
        "start_new_session": True,
    }
    if drop:
        options.update(user=SANDBOX_UID, group=SANDBOX_UID, extra_groups=[])
    return options


def _setup_problem(bwrap: str, python: Path, drop: bool) -> str | None:
    """Why bwrap cannot start the interpreter here (its error), or None when it can."""
    try:
        with _file_descriptors({}, deny_filter()) as (fds, file_args):
            argv = [*_bwrap_argv(bwrap, python, file_args, _MIB), "-c", "pass"]
            done = subprocess.run(
                argv,
                capture_output=True,
                timeout=_PROBE_TIMEOUT_S,
                pass_fds=fds,
                **_popen_options(drop),
            )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if done.returncode == 0:
        return None
    error = done.stderr.decode(errors="replace").strip()[-_TAIL_CHARS:]
    return error or f"exit status {done.returncode}"


# -- files in, process, report out -----------------------------------------------------------


def _staged_files(code: str, tests: str, files: dict[str, str]) -> dict[str, str]:
    """Relative path to text of everything placed in the work directory (names checked)."""
    staged: dict[str, str] = {}
    for name, text in files.items():
        path = PurePosixPath(name)
        if (
            path.is_absolute()
            or not path.parts
            or any(part in ("", ".", "..") for part in path.parts)
            or path.name in (_BOOTSTRAP, _TESTS, _SOLUTION)
        ):
            raise ValueError(f"invalid sandbox file name: {name!r}")
        staged[str(path)] = text
    staged.update({_SOLUTION: code, _TESTS: tests, _BOOTSTRAP: _BOOTSTRAP_SOURCE})
    return staged


@contextmanager
def _file_descriptors(
    staged: dict[str, str], seccomp: bytes | None
) -> Iterator[tuple[list[int], list[str]]]:
    """Anonymous files holding `staged` (and the seccomp filter), and bwrap's arguments for them.

    bwrap copies each file into the work directory's tmpfs (``--file FD DEST``), so no host
    directory is ever bound into the sandbox, and loads the filter (``--seccomp FD``) just
    before it starts the interpreter.
    """
    fds: list[int] = []
    args: list[str] = []
    made: set[PurePosixPath] = set()
    with ExitStack() as stack:
        if seccomp is not None:
            program: IO[bytes] = stack.enter_context(tempfile.TemporaryFile())
            program.write(seccomp)
            program.seek(0)
            fds.append(program.fileno())
            args += ["--seccomp", str(program.fileno())]
        for name, text in staged.items():
            relative = PurePosixPath(name)
            for parent in reversed(relative.parents[:-1]):
                if parent not in made:
                    made.add(parent)
                    args += ["--dir", f"{_WORKDIR}/{parent}"]
            handle: IO[bytes] = stack.enter_context(tempfile.TemporaryFile())
            handle.write(text.encode())
            handle.seek(0)
            fds.append(handle.fileno())
            args += ["--file", str(handle.fileno()), f"{_WORKDIR}/{relative}"]
        yield fds, args


def _execute(
    argv: list[str], fds: list[int], drop: bool, time_limit_s: float
) -> tuple[int, bool, float, str, str]:
    """Run `argv`, killing its process group at the time limit.

    Returns:
        The exit status, whether it timed out, how long it ran, and the tails of its output.
    """
    # Output goes to files, not pipes: RLIMIT_FSIZE bounds them, so a program printing in a
    # loop cannot fill this process's memory.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        try:
            process = subprocess.Popen(
                argv, stdout=out, stderr=err, pass_fds=fds, **_popen_options(drop)
            )
        except OSError as exc:
            raise SandboxUnavailableError(
                f"could not start bubblewrap, so the code was not run: {exc}"
            ) from exc
        timed_out = False
        try:
            process.wait(timeout=time_limit_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process)
            process.wait()
        duration = time.monotonic() - start
        stdout, stderr = _tail(out, _REPORT_CHARS), _tail(err, _TAIL_CHARS)
    return process.returncode, timed_out, duration, stdout, stderr


def _tail(file: Any, limit: int) -> str:
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - limit))
    return bytes(file.read()).decode("utf-8", errors="replace")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _parse_report(stdout: str, marker: str) -> tuple[dict[str, Any] | None, str]:
    """The JSON report after `marker` (None when absent or broken), and the other output."""
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
    return report, "\n".join(kept)[-_TAIL_CHARS:]


def _result(
    report: dict[str, Any] | None,
    stdout: str,
    stderr: str,
    returncode: int,
    timed_out: bool,
    duration: float,
) -> SandboxResult:
    err_tail = stderr[-_TAIL_CHARS:]
    if timed_out or report is None:
        return SandboxResult(
            passed=False,
            timed_out=timed_out,
            returncode=returncode,
            stdout=stdout,
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
        stdout=stdout,
        stderr=err_tail,
        duration_s=duration,
    )
