"""Reading a YAML input file (station, limits, route plan, span) with its size bounded.

``yaml.safe_load`` alone lets a file of a few lines cost gigabytes (an alias bomb: anchors
referring to anchors, harmless to load, exponential to walk, print or dump), recurse without
bound (deep nesting, or an anchor that contains itself) or raise exceptions that are not
``YAMLError`` (``ValueError`` for a timestamp like ``2001-02-30`` or an integer of 5000
digits). Here the file's size is checked before it is read, the node graph is walked with
aliases expanded before any Python object is built, and every failure is one exception of the
caller's error type whose one-line message names the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from instruments.input_files import read_input_file

MAX_FILE_BYTES = 4 * 1024 * 1024
"""Largest input file read (bytes): the biggest shipped file (the route plan) is ~3 kB."""
MAX_NODES = 200_000
"""Most YAML values (scalars, lists, mappings; every use of an alias counted again)."""
MAX_DEPTH = 64
"""Deepest nesting of lists and mappings (the shipped files nest 4 deep)."""


def _check_graph(root: yaml.Node) -> str:
    """An empty string if the node graph is within the bounds, else what is wrong."""
    stack = [(root, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            return f"too large: more than {MAX_NODES} values (aliases expanded)"
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels (or an alias refers to itself)"
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
    return ""


def load_yaml_file(path: Path, error: type[Exception]) -> Any:
    """The data of the YAML file ``path`` (one document; None if empty).

    Raises ``error`` (e.g. ``ConfigError``) with a one-line message naming ``path`` when the
    file cannot be read, is larger than :data:`MAX_FILE_BYTES`, is not UTF-8 text, is not
    valid YAML, or exceeds :data:`MAX_NODES` / :data:`MAX_DEPTH`.
    """
    path = Path(path)
    data = read_input_file(path, MAX_FILE_BYTES, error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        loader = yaml.SafeLoader(text)  # checks for non-printable characters at once
    except yaml.YAMLError:
        raise error(f"{path}: not valid YAML (control characters)") from None
    try:
        node = loader.get_single_node()
        problem = _check_graph(node) if node is not None else ""
        data = loader.construct_document(node) if node is not None and not problem else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise error(f"{path}:{where}: not valid YAML") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply") from None
    except (ValueError, OverflowError, TypeError):  # constructors: bad dates, 5000-digit ints
        raise error(f"{path}: a value cannot be read (bad date, number or tag)") from None
    finally:
        loader.dispose()
    if problem:
        raise error(f"{path}: {problem}")
    return data
