"""Every notebook under notebooks/ runs top to bottom, offline, in this virtualenv's kernel.

Each ``notebooks/*.ipynb`` is one test case (new notebooks are picked up automatically). The
notebook is executed from an in-memory copy with nbclient, so outputs are never written back
into the repository. The kernel inherits this process's environment, made offline here: no
tracing, strict msgpack, no OpenAI key (the notebooks fall back to the offline demo model).
The notebooks assert their own key facts, so a behaviour regression fails the cell, and the
test reports which cell failed and its traceback.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager, KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets import default

pytestmark = pytest.mark.slow

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
KERNEL_NAME = "python3"
CELL_TIMEOUT_S = 600
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # IPython colours its tracebacks

# Prepended to the in-memory copy: report which interpreter the kernel really runs.
_PROBE_MARKER = "KERNEL-PREFIX="
_PROBE_SOURCE = f"import sys\nprint({_PROBE_MARKER!r} + sys.prefix)"


class _ThisInterpreterSpecs(KernelSpecManager):
    """Resolve every kernel name to ipykernel on the interpreter running the tests."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        from ipykernel.kernelspec import RESOURCES

        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python 3 ({sys.prefix})",
            language="python",
            resource_dir=RESOURCES,
        )


class _ThisInterpreterKernelManager(AsyncKernelManager):
    """Kernel manager whose kernel specs all point at `sys.executable`."""

    @default("kernel_spec_manager")
    def _default_spec_manager(self) -> KernelSpecManager:
        return _ThisInterpreterSpecs()


def _client_options() -> dict[str, object]:
    """Use the ``python3`` spec as is if it starts this interpreter, else our own manager.

    jupyter_client replaces a bare ``python`` in a spec's argv with `sys.executable`; a spec
    installed elsewhere (user or system kernels) may name another interpreter, whose
    site-packages would not hold this project.
    """
    command = KernelManager(kernel_name=KERNEL_NAME).format_kernel_cmd()
    if command and command[0] == sys.executable:
        return {}
    return {"kernel_manager_class": _ThisInterpreterKernelManager}


def _failed_cell(nb: nbformat.NotebookNode) -> tuple[int, nbformat.NotebookNode] | None:
    """The first code cell with an error output, numbered as in the original notebook."""
    for index, cell in enumerate(nb.cells[1:]):
        if cell.cell_type == "code" and any(o.output_type == "error" for o in cell.outputs):
            return index, cell
    return None


@pytest.fixture
def offline_kernel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the kernel inherits: no network services, no real model."""
    monkeypatch.setenv("LANGSMITH_TRACING", "false")
    monkeypatch.setenv("LANGGRAPH_STRICT_MSGPACK", "true")
    for name in (
        "OPENAI_API_KEY",
        "AGENT_PATTERNS_MODEL",
        "AGENT_PATTERNS_EFFECTS_LOG",
        "LANGSMITH_TRACING_V2",
        "LANGCHAIN_TRACING_V2",
        "LANGCHAIN_TRACING",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_executes(notebook: Path, offline_kernel_env: None) -> None:
    original = notebook.read_bytes()
    nb = nbformat.reads(original.decode("utf-8"), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(_PROBE_SOURCE))
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
        **_client_options(),
    )

    started = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        failed = _failed_cell(nb)
        where = f"cell {failed[0]} (0-based, markdown included)" if failed else "a cell"
        pytest.fail(f"{notebook.name}: {where} failed:\n{_ANSI.sub('', str(exc))}", pytrace=False)
    elapsed = time.perf_counter() - started

    probe = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    assert probe.strip() == _PROBE_MARKER + sys.prefix, (
        f"{notebook.name} ran in a kernel outside this virtualenv: {probe.strip()!r}, "
        f"expected {sys.prefix!r}"
    )
    assert notebook.read_bytes() == original, f"{notebook.name} was modified by the test"
    print(f"{notebook.name}: executed in {elapsed:.1f}s")
