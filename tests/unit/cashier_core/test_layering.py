"""The domain does not import the HTTP layer: handlers parse and shape, the
domain takes and returns plain values."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from cashier_local import template

PACKAGE = template.REPO_ROOT / "layers" / "cashier_core" / "cashier_core"
# The HTTP layer: the resolver setup and the request/response bodies.
HTTP_MODULES = frozenset(
    {"cashier_core.api", "cashier_core.schemas", "cashier_core.backoffice_schemas"}
)
HTTP_PREFIXES = ("aws_lambda_powertools.event_handler",)


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(
        ".__init__"
    )


def domain_modules() -> dict[str, Path]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: path for name, path in modules.items() if name not in HTTP_MODULES}


def imported_names(path: Path) -> set[str]:
    """Every module an import statement anywhere in the file names (also inside
    functions and TYPE_CHECKING blocks), with `from x import y` as x and x.y."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def is_http(name: str) -> bool:
    return name in HTTP_MODULES or any(
        name == prefix or name.startswith(f"{prefix}.") for prefix in HTTP_PREFIXES
    )


def test_the_walk_sees_the_domain_and_recognises_an_http_import() -> None:
    modules = domain_modules()
    assert {"cashier_core.deposits", "cashier_core.withdrawals", "cashier_core.settings"} <= set(
        modules
    )
    assert not HTTP_MODULES & set(modules)
    assert any(is_http(name) for name in imported_names(PACKAGE / "api.py"))
    assert is_http("aws_lambda_powertools.event_handler.openapi.params.Path")
    assert not is_http("aws_lambda_powertools.utilities.idempotency")


def test_no_domain_module_imports_the_http_layer() -> None:
    offenders = {
        name: sorted(n for n in imported_names(path) if is_http(n))
        for name, path in sorted(domain_modules().items())
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_importing_the_whole_domain_loads_no_http_module() -> None:
    """The same, as the interpreter sees it: nothing the domain pulls in,
    directly or not, loads the resolver or our HTTP modules."""
    script = (
        "import importlib, json, sys\n"
        f"for name in {sorted(domain_modules())!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)
    assert [name for name in loaded if is_http(name)] == []
