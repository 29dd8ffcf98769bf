"""The output of `sam build` imports the way the deployed Lambda imports it.

In Lambda a function's folder is on sys.path and each of its layers' python/
folders is at /opt/python. Here each built function is imported in a fresh,
isolated interpreter (-I -S: no site-packages, no .pth files) with exactly the
layers the template gives it, and its environment from the template, so a
package in the wrong place or a missing layer fails this test.

The layers' wheels are built for arm64; the one native extension among them
(pydantic_core) cannot load on an x86_64 host, so the venv's site-packages is
placed before the layers for third-party code, and the test asserts that our
own packages come from the build output, never from the source tree.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from cashier_local import template

BUILD_DIR = template.REPO_ROOT / ".aws-sam" / "build"
OWN_PACKAGES = {"CashierCoreLayer": "cashier_core", "ProvidersLayer": "cashier_providers"}

pytestmark = pytest.mark.build

PROBE = """
import importlib, json, pkgutil, sys
app = importlib.import_module("app")
report = {"app": app.__file__, "handler": callable(getattr(app, "lambda_handler", None))}
for package in PACKAGES:
    try:
        module = importlib.import_module(package)
    except ModuleNotFoundError:
        report[package] = None
        continue
    for sub in pkgutil.walk_packages(module.__path__, package + "."):
        importlib.import_module(sub.name)
    report[package] = module.__file__
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def built() -> Path:
    if not (BUILD_DIR / "template.yaml").exists():
        pytest.fail("run `make build` first: there is no .aws-sam/build")
    return BUILD_DIR


def layer_dir(layer_id: str) -> Path:
    return BUILD_DIR / layer_id / "python"


@pytest.mark.parametrize("function_id", sorted(template.functions()))
def test_each_built_function_imports_from_the_build_output(built: Path, function_id: str) -> None:
    spec = template.functions()[function_id]
    function_dir = built / function_id
    assert (function_dir / "app.py").is_file()
    layers = [str(layer_dir(layer)) for layer in spec.layers]
    path = [str(function_dir), sysconfig.get_paths()["purelib"], *layers]
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        **template.placeholder_environment(function_id),
    }
    code = f"import sys; sys.path[:0] = {path!r}; PACKAGES = {sorted(OWN_PACKAGES.values())!r}\n"
    result = subprocess.run(  # noqa: S603 - our own interpreter on our own probe
        [sys.executable, "-I", "-S", "-c", code + PROBE],
        capture_output=True,
        text=True,
        cwd=built,
        env=environment,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["handler"] is True
    assert Path(report["app"]).is_relative_to(function_dir)
    for layer_id, package in OWN_PACKAGES.items():
        if layer_id in spec.layers:
            assert Path(report[package]).is_relative_to(layer_dir(layer_id))
        else:
            assert report[package] is None, f"{package} leaked into {function_id}"


@pytest.mark.parametrize(
    ("layer_id", "requirements"),
    [
        ("CashierCoreLayer", "layers/cashier_core/requirements.txt"),
        ("ProvidersLayer", "providers/requirements.txt"),
    ],
)
def test_each_layer_carries_its_pinned_requirements(
    built: Path, layer_id: str, requirements: str
) -> None:
    installed = {path.name.lower() for path in layer_dir(layer_id).iterdir()}
    for line in (template.REPO_ROOT / requirements).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, version = line.split("==")
        assert f"{name.replace('-', '_').lower()}-{version}.dist-info" in installed, name


# PEP 552: flags 0b01 = hash-based and not checked against the source.
UNCHECKED_HASH_FLAGS = 0b01


@pytest.mark.parametrize("layer_id", sorted(OWN_PACKAGES))
def test_each_layer_ships_unchecked_bytecode_for_every_module(built: Path, layer_id: str) -> None:
    """/opt is read-only in Lambda: a module without bytecode is compiled from
    source on every cold start, and a timestamp pyc is thrown away when the
    zip loses its source's mtime."""
    sources = sorted(layer_dir(layer_id).rglob("*.py"))
    assert sources
    for source in sources:
        compiled = Path(importlib.util.cache_from_source(str(source)))
        assert compiled.is_file(), f"no bytecode for {source.relative_to(built)}"
        header = compiled.read_bytes()[:8]
        assert header[:4] == importlib.util.MAGIC_NUMBER, compiled
        assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH_FLAGS, compiled
