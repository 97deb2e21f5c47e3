"""The docs' promises: every public name has a docstring to render, and the README's commands are CI's."""

import ast
import importlib
import inspect
import os
import re
import shlex
import types

import pytest
from conftest import REPO

NAMESPACES = ("tfgan_kit", "tfgan_kit.callbacks", "tfgan_kit.metrics", "tfgan_kit.losses",
              "tfgan_kit.regularizers", "tfgan_kit.nets", "tfgan_kit.data", "tfgan_kit.distribute")


def attribute_docstring(module: types.ModuleType, name: str):
    """The string literal right after `name = ...` at the top level of the module or package
    that defines it (how mkdocstrings documents a constant), or None."""
    folder = os.path.dirname(module.__file__)
    sources = ([os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.endswith(".py")]
               if module.__file__.endswith("__init__.py") else [module.__file__])
    for path in sources:
        with open(path) as f:
            body = ast.parse(f.read()).body
        for statement, following in zip(body, body[1:]):
            targets = getattr(statement, "targets", [getattr(statement, "target", None)])
            if (isinstance(statement, (ast.Assign, ast.AnnAssign))
                    and any(isinstance(t, ast.Name) and t.id == name for t in targets)
                    and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                return following.value.value
    return None


def docstring(module: types.ModuleType, name: str):
    """The docstring the API reference shows for `module.name`: its own, never a base class's."""
    obj = getattr(module, name)
    if isinstance(obj, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)):
        return obj.__doc__
    return attribute_docstring(module, name)


def public_names():
    for namespace in NAMESPACES:
        module = importlib.import_module(namespace)
        for name in module.__all__:
            yield namespace, name


@pytest.mark.parametrize("namespace,name", list(public_names()))
def test_every_public_name_has_a_docstring_with_a_summary_line(namespace, name):
    module = importlib.import_module(namespace)
    doc = docstring(module, name)
    summary = inspect.cleandoc(doc or "").split("\n")[0].strip()
    assert summary, (f"{namespace}.{name} has no docstring summary line: the API reference "
                     f"(docs/api/) would render it empty. Write one line saying what it is.")


def readme_commands():
    """The two commands of the README's first code block: install-and-train, and the tests."""
    with open(os.path.join(REPO, "README.md")) as f:
        block = re.search(r"```bash\n(.*?)```", f.read(), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]
    assert len(commands) == 2, f"README's first code block should hold two commands, found {commands}"
    return commands


def ci_commands():
    """What .ci/run runs, one command a line, comments and blank lines dropped."""
    with open(os.path.join(REPO, ".ci", "run")) as f:
        return [line.split(" #")[0].strip() for line in f
                if line.strip() and not line.lstrip().startswith("#")]


def test_the_readme_commands_are_the_ones_ci_runs():
    install_and_train, test_command = readme_commands()
    ci = ci_commands()
    install = install_and_train.split("&&")[0].strip()  # CI installs the same package, plus the docs extra
    assert shlex.split(install)[:2] == ["pip", "install"] and shlex.split(install)[2].startswith(".[dev")
    pip_installs = [c for c in ci if re.match(r"(python -m )?pip install", c) and "--upgrade pip" not in c]
    assert pip_installs and all(shlex.split(c)[-1].startswith(".[dev") for c in pip_installs), pip_installs
    assert "mkdocs build --strict" in ci, ".ci/run must build the docs with --strict"
    assert ci[-1] == test_command, f"CI's last command {ci[-1]!r} is not the README's {test_command!r}"
    assert ci.index("mkdocs build --strict") < ci.index(test_command), "the docs build runs before the tests"
    assert install_and_train.split("&&")[1].strip() == "python examples/train_dcgan.py"
    assert os.path.exists(os.path.join(REPO, "examples", "train_dcgan.py"))
