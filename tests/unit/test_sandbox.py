"""The sandbox: passing and failing tests, time limit, file access, who the code runs as."""

from __future__ import annotations

import pytest

from tools.sandbox import run_in_sandbox

DOUBLE_TESTS = "from solution import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
CALL_TESTS = "from solution import run\n\n\ndef test_run():\n    run()\n"


def test_passing_code() -> None:
    result = run_in_sandbox("def double(x):\n    return 2 * x\n", DOUBLE_TESTS)

    assert result.passed and result.tests == 1 and result.failures == []
    assert not result.timed_out and result.returncode == 0
    assert result.summary() == "All 1 tests passed."


def test_failing_assertion_is_reported() -> None:
    result = run_in_sandbox("def double(x):\n    return x + 3\n", DOUBLE_TESTS)

    assert not result.passed and result.tests == 1
    [failure] = result.failures
    assert failure["test"] == "test_double"
    assert failure["error"] == "AssertionError"
    assert "assert double(2) == 4" in failure["where"]
    assert "test_double: AssertionError" in result.summary()


def test_code_that_does_not_import_is_a_failure() -> None:
    result = run_in_sandbox("def double(x) return x\n", DOUBLE_TESTS)

    assert not result.passed
    assert result.failures[0]["test"] == "<import>"
    assert "SyntaxError" in result.failures[0]["error"]


def test_printed_output_is_kept_apart_from_the_report() -> None:
    result = run_in_sandbox("def double(x):\n    print('hi', x)\n    return 2 * x\n", DOUBLE_TESTS)

    assert result.passed
    assert result.stdout == "hi 2"


def test_infinite_loop_is_killed_at_the_time_limit() -> None:
    result = run_in_sandbox(
        "def run():\n    while True:\n        pass\n", CALL_TESTS, time_limit_s=1
    )

    assert result.timed_out and not result.passed
    assert result.returncode is not None and result.returncode < 0
    assert "Timed out" in result.summary()


def test_reading_etc_passwd_is_blocked() -> None:
    code = "def run():\n    return open('/etc/passwd').read()\n"
    result = run_in_sandbox(code, CALL_TESTS)

    assert not result.passed
    assert "PermissionError" in result.failures[0]["error"]
    assert "/etc/passwd" in result.failures[0]["error"]


def test_reading_the_parent_directory_is_blocked() -> None:
    code = "def run():\n    return open('../secret').read()\n"
    result = run_in_sandbox(code, CALL_TESTS)

    assert not result.passed
    assert "outside the sandbox directory" in result.failures[0]["error"]


def test_listing_outside_and_starting_processes_are_blocked() -> None:
    code = (
        "import os, subprocess\n\n\n"
        "def listing():\n    return os.listdir('/')\n\n\n"
        "def shell():\n    return os.system('true')\n\n\n"
        "def spawn():\n    return subprocess.run(['true'])\n"
    )
    tests = (
        "from solution import listing, shell, spawn\n\n\n"
        "def test_listing():\n    listing()\n\n\n"
        "def test_shell():\n    shell()\n\n\n"
        "def test_spawn():\n    spawn()\n"
    )
    result = run_in_sandbox(code, tests)

    assert result.tests == 3
    assert {f["test"] for f in result.failures} == {"test_listing", "test_shell", "test_spawn"}
    assert all("PermissionError" in f["error"] for f in result.failures)


def test_writing_inside_the_directory_is_allowed() -> None:
    code = (
        "import os\n\n\n"
        "def run():\n"
        "    os.mkdir('data')\n"
        "    with open('data/out.txt', 'w') as f:\n"
        "        f.write('kept')\n"
        "    with open('data/out.txt') as f:\n"
        "        assert f.read() == 'kept'\n"
        "    assert os.listdir('data') == ['out.txt']\n"
    )
    result = run_in_sandbox(code, CALL_TESTS)

    assert result.passed, result.summary()


def test_standard_library_imports_work() -> None:
    code = "import json, re, unicodedata, collections\n\n\ndef run():\n    return json.dumps([1])\n"
    assert run_in_sandbox(code, CALL_TESTS).passed


def test_runaway_output_is_bounded() -> None:
    code = "def run():\n    while True:\n        print('x' * 1000)\n"
    result = run_in_sandbox(code, CALL_TESTS, max_file_mb=1)

    assert not result.passed
    assert len(result.stdout) <= 2000
    assert "without a test report" in result.summary()


def test_extra_files_are_placed_in_the_directory() -> None:
    code = "def run():\n    with open('data/in.txt') as f:\n        assert f.read() == 'fixture'\n"
    result = run_in_sandbox(code, CALL_TESTS, files={"data/in.txt": "fixture"})

    assert result.passed, result.summary()


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/x", "a/../../b", "solution.py", ""])
def test_extra_file_names_must_stay_inside(name: str) -> None:
    with pytest.raises(ValueError, match="invalid sandbox file name"):
        run_in_sandbox("x = 1\n", CALL_TESTS, files={name: "x"})


def test_the_code_runs_as_an_unprivileged_user_in_an_empty_root() -> None:
    code = (
        "import os\n\n\n"
        "def run():\n"
        "    assert os.getuid() == 65534 and os.getgid() == 65534, os.getuid()\n"
        "    assert not os.path.exists('/etc') and not os.path.exists('/proc')\n"
    )
    result = run_in_sandbox(code, CALL_TESTS)

    assert result.passed, result.summary()
