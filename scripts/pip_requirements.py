"""Print the pinned requirements of pyproject.toml, one a line, for `pip install -r -`.

The project is not installed as a package; its dependencies are. `--dev` adds the test tools.
"""
import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
lines = list(project["dependencies"])
if "--dev" in sys.argv:
    lines += project["optional-dependencies"]["dev"]
print("\n".join(lines))
