"""The output of `sam build` imports the way the deployed Lambda imports it.

In Lambda a function's folder is on sys.path and each layer's python/ is at
/opt/python. Here each built function is imported in a fresh interpreter with
exactly those folders, so a package in the wrong place fails this test.
The layer's wheels are built for arm64; the one native extension among them
(pydantic_core) cannot load on an x86_64 host, so the venv's site-packages is
placed before the layer for third-party code, and the test asserts that our own
packages come from the build output, never from the source tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from cashier_local import template

BUILD_DIR = template.REPO_ROOT / ".aws-sam" / "build"
LAYER_DIR = BUILD_DIR / "CashierCoreLayer" / "python"

pytestmark = pytest.mark.build

PROBE = """
import importlib, json, pkgutil, sys
app = importlib.import_module("app")
import cashier_core
for module in pkgutil.walk_packages(cashier_core.__path__, "cashier_core."):
    importlib.import_module(module.name)
print(json.dumps({
    "app": app.__file__,
    "handler": callable(getattr(app, "lambda_handler", None)),
    "cashier_core": cashier_core.__file__,
    "loaded": sorted(name for name in sys.modules if name.startswith("cashier_core")),
}))
"""


@pytest.fixture(scope="module")
def built() -> Path:
    if not (BUILD_DIR / "template.yaml").exists():
        pytest.fail("run `make build` first: there is no .aws-sam/build")
    return BUILD_DIR


@pytest.mark.parametrize("function_id", sorted(template.functions()))
def test_each_built_function_imports_from_the_build_output(built: Path, function_id: str) -> None:
    function_dir = built / function_id
    assert (function_dir / "app.py").is_file()
    site_packages = sysconfig.get_paths()["purelib"]
    result = subprocess.run(  # noqa: S603 - our own interpreter on our own probe
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path[:0] = {[str(function_dir), site_packages, str(LAYER_DIR)]!r}\n"
            + PROBE,
        ],
        capture_output=True,
        text=True,
        cwd=built,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["handler"] is True
    assert Path(report["app"]).is_relative_to(function_dir)
    assert Path(report["cashier_core"]).is_relative_to(LAYER_DIR)
    assert "cashier_core.storage.transactions" in report["loaded"]


def test_the_layer_carries_its_pinned_requirements(built: Path) -> None:
    requirements = (template.REPO_ROOT / "layers/cashier_core/requirements.txt").read_text()
    for line in requirements.splitlines():
        if not line or line.startswith("#"):
            continue
        name, version = line.split("==")
        dist = name.replace("-", "_").lower()
        assert any(
            path.name.lower() == f"{dist}-{version}.dist-info" for path in LAYER_DIR.iterdir()
        ), f"{name}=={version} is not in the built layer"
