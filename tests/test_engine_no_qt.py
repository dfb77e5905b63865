"""The runtime proof that the engine imports no Qt (``test_architecture`` checks the import
statements; this catches a Qt that arrives indirectly, through a library or a lazy hop).

A fresh interpreter imports every module of ``agent_assist`` outside ``agent_assist.ui``
(the CLI included: ``cli.gui_cmd`` reaches the UI only inside ``run_gui``) and the
libraries the engine imports lazily (speech, embeddings, indexes, LLM, documents), then
lists the PySide6/shiboken6 modules loaded. As a check on the check, importing ``ui.qt``
afterwards must load PySide6.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

PROBE = r"""
import importlib, json, pkgutil, sys
import agent_assist

def qt():
    return sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6"))

SKIP = {"agent_assist.ui", "agent_assist.__main__"}  # __main__ would run the CLI
imported = []
for top in pkgutil.iter_modules(agent_assist.__path__, "agent_assist."):
    if top.name in SKIP:
        continue
    module = importlib.import_module(top.name)
    imported.append(top.name)
    if top.ispkg:  # walk_packages imports each package it enters: never the ui package
        def failed(name):
            raise ImportError(f"cannot import {name}")
        for info in pkgutil.walk_packages(module.__path__, top.name + ".", onerror=failed):
            importlib.import_module(info.name)
            imported.append(info.name)
# What the engine imports lazily, inside functions (models, indexes, documents, devices).
LAZY = ["faster_whisper", "onnxruntime", "faiss", "llama_cpp", "sentence_transformers", "transformers",
        "torch", "pypdf", "docx", "openpyxl", "charset_normalizer", "sounddevice", "threadpoolctl", "tqdm"]
missing = {}
for name in LAZY:
    try:
        importlib.import_module(name)
    except (ImportError, OSError) as exc:  # e.g. no PortAudio: not this test's business
        missing[name] = repr(exc)
before = qt()
importlib.import_module("agent_assist.ui.qt")
print(json.dumps({"imported": imported, "missing": missing, "qt": before, "qt_after_ui": qt()}))
"""


def test_no_engine_module_imports_qt() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    imported: list[str] = found["imported"]
    assert not [m for m in imported if m.startswith("agent_assist.ui")]
    for expected in (
        "agent_assist.domain",
        "agent_assist.session.engine",
        "agent_assist.pipeline",
        "agent_assist.store",
        "agent_assist.config",
        "agent_assist.cli.main",
        "agent_assist.cli.gui_cmd",
    ):
        assert expected in imported, f"{expected} was not imported"
    assert len(imported) > 60
    assert not {"faster_whisper", "onnxruntime", "faiss"} & set(found["missing"]), found["missing"]
    assert found["qt"] == [], f"the engine loaded Qt: {found['qt']}"
    assert "PySide6.QtCore" in found["qt_after_ui"]  # the probe would see Qt if it were there
