"""The package's layering, read from the source (ast), not from a running import.

* the library (every module outside ``jepatheory/cli``, ``jepatheory/bench``,
  ``jepatheory/app`` and ``jepatheory/demo.py``) imports nothing from the app layer;
* no module imports another module's private (underscore) name;
* no import cycle among library modules, imports inside functions included.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "jepatheory"
#: the app layer; ``jepatheory.bounds.demo`` is its compatibility shim (re-exports only)
APP = ("jepatheory.cli", "jepatheory.bench", "jepatheory.app", "jepatheory.demo",
       "jepatheory.__main__", "jepatheory.bounds.demo")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_app(name: str) -> bool:
    return any(name == a or name.startswith(a + ".") for a in APP)


def is_type_checking_block(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (or ``if typing.TYPE_CHECKING:``)."""
    if not isinstance(node, ast.If):
        return False
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imports(name: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import in module ``name``,
    at any depth (imports inside functions count)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {id(n) for node in ast.walk(tree) if is_type_checking_block(node)
                   for stmt in node.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue  # ``if TYPE_CHECKING:`` imports never run: annotations only
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, [a.name for a in node.names], node.lineno))
    return out


def internal(target: str, names: list[str]) -> list[str]:
    """The jepatheory modules an import statement loads (``from .x import y`` may name a
    submodule y)."""
    if not (target == "jepatheory" or target.startswith("jepatheory.")):
        return []
    found = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
    return found or [target]


def test_the_scan_sees_every_module():
    assert "jepatheory.spectrum" in MODULES or "jepatheory.spectrum.__init__" in MODULES
    assert len(MODULES) > 60
    assert any(is_app(m) for m in MODULES)


def test_library_never_imports_the_app_layer():
    bad = [f"{m}:{line} imports {t}" for m in MODULES if not is_app(m)
           for t, names, line in imports(m) for mod in internal(t, names) if is_app(mod)]
    assert bad == []


def test_no_module_imports_a_private_name_of_another_module():
    bad = [f"{m}:{line} imports {t}.{n}" for m in MODULES for t, names, line in imports(m)
           if internal(t, names) for n in names
           if n.startswith("_") and not n.startswith("__") and f"{t}.{n}" not in MODULES]
    assert bad == []


def test_no_import_cycle_among_library_modules():
    graph = {m: sorted({mod for t, names, _ in imports(m) for mod in internal(t, names)
                        if mod in MODULES and not is_app(mod) and mod != m})
             for m in MODULES if not is_app(m)}
    # a package's __init__ re-exporting its submodules is not a cycle through the package:
    # the submodule importing a sibling ``from .x`` loads the package first, by design
    for m in graph:
        graph[m] = [d for d in graph[m] if not m.startswith(d + ".")]
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for dep in graph[node]:
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert cycles == []
