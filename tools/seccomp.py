"""A seccomp filter for the sandbox: system calls untrusted code has no use for fail.

`deny_filter()` returns a classic BPF program (the raw ``struct sock_filter`` array bubblewrap
reads with ``--seccomp FD``) that answers ``EPERM`` to system calls that only widen the
kernel's attack surface for a Python test run: tracing other processes, kernel keyrings, BPF,
perf events, userfaultfd, io_uring, namespaces and mounts, modules, kexec, reboot, swap and
clock setting, file-handle opening; sockets of any family but Unix, IPv4 and IPv6 (no netlink,
packet or other raw families: ``EAFNOSUPPORT``); and every x32 system call. A program for
another architecture is killed outright, so the filter cannot be side-stepped by switching ABI.

Only x86-64 is described (`SUPPORTED_MACHINES`); elsewhere `deny_filter()` returns None and the
sandbox runs with its other layers only. Docker's and Flatpak's default filters deny the same
families of calls; this one is shorter because everything else is denied by the sandbox's
namespaces, dropped capabilities and ``RLIMIT_NPROC`` already.
"""

from __future__ import annotations

import errno
import platform
import socket
import struct

__all__ = ["DENIED_SYSCALLS", "SUPPORTED_MACHINES", "deny_filter"]

# seccomp and classic BPF constants (linux/seccomp.h, linux/filter.h, linux/audit.h)
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_OFFSET_NR, _OFFSET_ARCH, _OFFSET_ARG0 = 0, 4, 16  # struct seccomp_data (little endian)
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_SOCKET_X86_64 = 41

DENIED_SYSCALLS: dict[str, int] = {
    "ptrace": 101,
    "syslog": 103,
    "uselib": 134,
    "personality": 135,
    "ustat": 136,
    "sysfs": 139,
    "vhangup": 153,
    "modify_ldt": 154,
    "pivot_root": 155,
    "_sysctl": 156,
    "adjtimex": 159,
    "chroot": 161,
    "acct": 163,
    "settimeofday": 164,
    "mount": 165,
    "umount2": 166,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "iopl": 172,
    "ioperm": 173,
    "create_module": 174,
    "init_module": 175,
    "delete_module": 176,
    "get_kernel_syms": 177,
    "query_module": 178,
    "quotactl": 179,
    "nfsservctl": 180,
    "lookup_dcookie": 212,
    "clock_settime": 227,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "unshare": 272,
    "perf_event_open": 298,
    "fanotify_init": 300,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "clock_adjtime": 305,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kcmp": 312,
    "finit_module": 313,
    "kexec_file_load": 320,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
}
"""x86-64 system calls the filter answers with ``EPERM`` (name to number)."""

SUPPORTED_MACHINES = frozenset({"x86_64", "amd64"})
"""`platform.machine()` values the filter is written for."""

_SOCKET_FAMILIES = (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6)


def deny_filter(machine: str | None = None) -> bytes | None:
    """The filter as raw ``struct sock_filter`` entries, or None on an unsupported machine.

    Args:
        machine: the architecture; None is this machine's (`platform.machine()`).

    Example:
        >>> program = deny_filter("x86_64")
        >>> len(program) % 8, deny_filter("riscv64")
        (0, None)
    """
    if (machine or platform.machine()).lower() not in SUPPORTED_MACHINES:
        return None
    # Each entry: (code, jump-if-true label, jump-if-false label, k); None falls through.
    program: list[tuple[int, str | None, str | None, int] | str] = [
        (_LD_W_ABS, None, None, _OFFSET_ARCH),
        (_JEQ_K, None, "kill", _AUDIT_ARCH_X86_64),
        (_LD_W_ABS, None, None, _OFFSET_NR),
        (_JGE_K, "eperm", None, _X32_SYSCALL_BIT),
        *[(_JEQ_K, "eperm", None, nr) for nr in sorted(DENIED_SYSCALLS.values())],
        (_JEQ_K, None, "allow", _SOCKET_X86_64),
        (_LD_W_ABS, None, None, _OFFSET_ARG0),
        *[(_JEQ_K, "allow", None, int(family)) for family in _SOCKET_FAMILIES],
        (_RET_K, None, None, _RET_ERRNO | errno.EAFNOSUPPORT),
        "allow",
        (_RET_K, None, None, _RET_ALLOW),
        "eperm",
        (_RET_K, None, None, _RET_ERRNO | errno.EPERM),
        "kill",
        (_RET_K, None, None, _RET_KILL_PROCESS),
    ]
    return _assemble(program)


def _assemble(program: list[tuple[int, str | None, str | None, int] | str]) -> bytes:
    """Resolve labels (strings placed before an instruction) into relative jumps."""
    labels: dict[str, int] = {}
    instructions: list[tuple[int, str | None, str | None, int]] = []
    for entry in program:
        if isinstance(entry, str):
            labels[entry] = len(instructions)
        else:
            instructions.append(entry)

    def offset(label: str | None, position: int) -> int:
        if label is None:
            return 0
        jump = labels[label] - position - 1
        if not 0 <= jump <= 255:
            raise ValueError(f"seccomp jump to {label!r} out of range: {jump}")
        return jump

    return b"".join(
        struct.pack("<HBBI", code, offset(jt, i), offset(jf, i), k)
        for i, (code, jt, jf, k) in enumerate(instructions)
    )
