"""Read a YAML input file (case, regimen, observation file) with limits on what hostile input can cost.

:func:`read_yaml` reads at most a size limit of bytes from a regular file, decodes them strictly as UTF-8
and composes the YAML node graph once, with pyyaml's pure-Python safe loader extended to reject

- a key written twice in one mapping (plain pyyaml keeps the last one silently),
- more alias uses (``*name``) than a small budget, aliases that expand to more nodes than a budget (the
  "billion laughs" bomb) and an alias to the collection it is in,
- nesting deeper than a limit (checked while composing, before Python's recursion limit is near),
- integers with more digits than a limit (Python refuses to convert more than 4300 digits anyway).

It returns the data (what ``yaml.safe_load`` gives) and the 1-based line of every key path, both from the
same composed node. Every rejection is one :class:`~oncotwin.core.errors.CaseError` naming the file and,
where known, the line.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from oncotwin.core.errors import CaseError

_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_MERGE_KEY = object()  # the identity of '<<' keys, which the constructor cannot build on their own


@dataclass(frozen=True)
class YamlLimits:
    """What one YAML input file may cost.

    Attributes:
        max_bytes: size of the file.
        max_depth: nested collections (mappings and sequences), counting those reached through aliases.
        max_aliases: alias uses (``*name``) in the file.
        max_alias_nodes: nodes that alias uses add to the document when expanded.
        max_int_digits: characters of an integer literal, sign and underscores not counted.
    """

    max_bytes: int = 1_000_000
    max_depth: int = 50
    max_aliases: int = 100
    max_alias_nodes: int = 10_000
    max_int_digits: int = 30


DEFAULT_LIMITS = YamlLimits()


def read_yaml(path: str | Path, kind: str = "case file",
              limits: YamlLimits = DEFAULT_LIMITS) -> tuple[Any, dict[tuple, int]]:
    """Data and key line numbers of a YAML file, within ``limits``.

    Args:
        path: the file.
        kind: what the file is ("case file", "regimen file", ...), for the messages.
        limits: the limits to apply.

    Returns:
        The data as ``yaml.safe_load`` gives it (``None`` for an empty document) and the 1-based line of
        every key path (a tuple of keys as written and list indices), as :func:`key_lines` maps them.

    Raises:
        CaseError: the file is missing, not a regular file, unreadable, too large, not UTF-8, malformed
            YAML or beyond a limit.
    """
    shown = str(path)
    data = read_limited(path, kind, limits.max_bytes)
    return parse_yaml(decode_utf8(data, shown, kind), shown, limits)


def read_limited(path: str | Path, kind: str = "case file", max_bytes: int = DEFAULT_LIMITS.max_bytes) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (reads at most ``max_bytes + 1`` bytes).

    Raises:
        CaseError: the path does not exist, is not a regular file (a folder, ``/dev/zero``, a FIFO, ...),
            cannot be read or holds more than ``max_bytes`` bytes.
    """
    shown = str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before it can be refused
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError):
        raise CaseError(shown, "<file>", shown, f"the {kind} does not exist") from None
    except OSError as exc:
        raise CaseError(shown, "<file>", shown, f"the {kind} cannot be read ({exc.strerror})") from None
    too_large = f"the {kind} is larger than the limit of {max_bytes} bytes"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            what = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, FIFO or socket"
            raise CaseError(shown, "<file>", shown, f"the {kind} is not a regular file ({what})")
        if info.st_size > max_bytes:
            raise CaseError(shown, "<file>", f"{info.st_size} bytes", too_large)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise CaseError(shown, "<file>", shown, f"the {kind} cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # the file grew, or its size is not known in advance
        raise CaseError(shown, "<file>", f"more than {max_bytes} bytes", too_large)
    return data


def decode_utf8(data: bytes, shown: str, kind: str = "case file") -> str:
    """``data`` decoded strictly as UTF-8, line ends translated as text-mode reading does.

    Raises:
        CaseError: naming the line and byte offset of the first byte that is not UTF-8.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CaseError(shown, "<file>", data[exc.start:exc.start + 1],
                        f"the {kind} is not UTF-8 text (byte offset {exc.start}); save it as UTF-8",
                        line=line) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_yaml(text: str, shown: str, limits: YamlLimits = DEFAULT_LIMITS) -> tuple[Any, dict[tuple, int]]:
    """Data and key line numbers of a YAML document (see :func:`read_yaml`).

    Args:
        text: the document.
        shown: the file name for the messages.
        limits: the limits to apply (``max_bytes`` is not checked here).

    Raises:
        CaseError: malformed YAML or beyond a limit.
    """
    loader = None
    try:
        loader = _LimitedLoader(text, shown, limits)
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines = key_lines(node)  # before construction, which rewrites merge keys ('<<') in the graph
        return loader.construct_document(node), lines
    except yaml.YAMLError as exc:
        raise _malformed(exc, text, shown) from None
    except RecursionError:  # not expected within the depth limit; never a traceback
        raise CaseError(shown, "<yaml>", "<document>", "the YAML is nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def key_lines(node: Node, prefix: tuple = ()) -> dict[tuple, int]:
    """Map every key path of a composed YAML document to its 1-based line number.

    A path is the tuple of mapping keys (as written) and sequence indices leading to a value; paths
    through aliases are included.
    """
    lines: dict[tuple, int] = {}
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            path = prefix + (key_node.value,)
            lines[path] = key_node.start_mark.line + 1
            lines.update(key_lines(value_node, path))
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            path = prefix + (i,)
            lines[path] = item.start_mark.line + 1
            lines.update(key_lines(item, path))
    return lines


def _malformed(exc: yaml.YAMLError, text: str, shown: str) -> CaseError:
    """The one-line error for a pyyaml error, with the line and its text where known."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        line = mark.line + 1
    elif isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
    else:
        line = None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return CaseError(shown, "<yaml>", _source_line(text, line), f"malformed YAML: {problem}", line=line)


def _source_line(text: str, line: int | None) -> str:
    source = text.splitlines()
    return source[line - 1].strip() if line and line <= len(source) else "<end of file>"


class _LimitedLoader(yaml.SafeLoader):
    """pyyaml's safe loader that applies :class:`YamlLimits` while it composes and constructs."""

    def __init__(self, text: str, shown: str, limits: YamlLimits):
        self._text, self._shown, self._limits = text, shown, limits
        self._depth = 0  # collections open around the node being composed
        self._aliases = 0
        self._alias_nodes = 0
        self._path: list[object] = []  # key path of the node being composed
        self._sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, expanded depth)
        super().__init__(text)

    def _fail(self, line: int | None, key: str, message: str) -> CaseError:
        return CaseError(self._shown, key, _source_line(self._text, line), message, line=line)

    def compose_node(self, parent, index):
        if self.check_event(AliasEvent):
            return self._compose_alias(parent, index)
        label = index.value if isinstance(index, ScalarNode) else index
        if label is not None:
            self._path.append(label)
        try:
            return super().compose_node(parent, index)
        finally:
            if label is not None:
                self._path.pop()

    def _compose_alias(self, parent, index) -> Node:
        line = self.peek_event().start_mark.line + 1
        self._aliases += 1
        if self._aliases > self._limits.max_aliases:
            raise self._fail(line, "<yaml>", f"more than {self._limits.max_aliases} aliases (*name) in one file")
        node = super().compose_node(parent, index)
        if id(node) not in self._sizes:
            raise self._fail(line, "<yaml>", "an alias refers to the collection it is in")
        size, depth = self._sizes[id(node)]
        self._alias_nodes += size
        if self._alias_nodes > self._limits.max_alias_nodes:
            raise self._fail(line, "<yaml>", f"aliases expand to more than {self._limits.max_alias_nodes} "
                             "nodes (an alias bomb?)")
        if self._depth + depth > self._limits.max_depth:
            raise self._fail(line, "<yaml>", f"nested deeper than {self._limits.max_depth} levels "
                             "(counting aliases)")
        return node

    def compose_scalar_node(self, anchor):
        node = super().compose_scalar_node(anchor)
        if node.tag == _INT_TAG:
            digits = len(node.value.lstrip("+-").replace("_", ""))
            if digits > self._limits.max_int_digits:
                raise self._fail(node.start_mark.line + 1, "<yaml>",
                                 f"an integer has more than {self._limits.max_int_digits} digits")
        self._sizes[id(node)] = (1, 0)
        return node

    def compose_sequence_node(self, anchor):
        node = self._compose_collection(super().compose_sequence_node, anchor)
        self._measure(node, node.value)
        return node

    def compose_mapping_node(self, anchor):
        node = self._compose_collection(super().compose_mapping_node, anchor)
        self._check_duplicates(node)
        self._measure(node, [part for pair in node.value for part in pair])
        return node

    def _compose_collection(self, compose, anchor) -> Node:
        if self._depth >= self._limits.max_depth:
            line = self.peek_event().start_mark.line + 1
            raise self._fail(line, "<yaml>", f"nested deeper than {self._limits.max_depth} levels")
        self._depth += 1
        try:
            return compose(anchor)
        finally:
            self._depth -= 1

    def _measure(self, node: Node, children: list[Node]) -> None:
        sizes = [self._sizes[id(child)] for child in children]
        self._sizes[id(node)] = (1 + sum(s for s, _ in sizes), 1 + max((d for _, d in sizes), default=0))

    def _check_duplicates(self, node: MappingNode) -> None:
        """Reject a key written twice in one mapping (keys compare as the values they construct to)."""
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self._key_identity(key_node)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # unhashable: the constructor reports it
                continue
            if first is not None:
                shown = ".".join(str(part) for part in (*self._path, key_node.value))
                raise CaseError(self._shown, shown, _source_line(self._text, line),
                                f"duplicate key: also on line {first}; a key may appear once in a mapping",
                                line=line)
            seen[key] = line

    def _key_identity(self, key_node: Node) -> object:
        if not isinstance(key_node, ScalarNode):
            return []  # a collection key is unhashable once built: the constructor reports it
        if key_node.tag == _MERGE_TAG:
            return _MERGE_KEY
        if key_node.tag == _VALUE_TAG:  # the constructor turns '=' into the string '='
            return "="
        return self.construct_object(key_node)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            # pyyaml lets these escape for explicitly tagged nonsense such as '!!int abc' or '!!bool maybe'
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise self._fail(node.start_mark.line + 1, "<yaml>", f"the value cannot be read as {tag}") from None
