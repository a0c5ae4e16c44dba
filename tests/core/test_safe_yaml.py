"""The hardened YAML reader: each rule rejects what plain ``yaml.safe_load`` accepts (or crashes on)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import yaml

from oncotwin.core.errors import CaseError
from oncotwin.core.safe_yaml import DEFAULT_LIMITS, YamlLimits, key_lines, parse_yaml, read_limited, read_yaml

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "cases").glob("*.yaml"))


def write(tmp_path: Path, text: str | bytes, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def rejected(text: str, limits: YamlLimits = DEFAULT_LIMITS) -> CaseError:
    """The error for ``text``, after checking that it is one line naming the file."""
    with pytest.raises(CaseError) as err:
        parse_yaml(text, "c.yaml", limits)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("c.yaml")
    return err.value


def old_key_lines(text: str) -> dict[tuple, int]:
    """Key lines as case/load.py built them before: a second, separate ``yaml.compose``."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    return key_lines(node) if node is not None else {}


# --- valid input: identical to yaml.safe_load ----------------------------------------------------------

@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_yaml_loads_as_safe_load_does(path):
    data, lines = read_yaml(path)
    text = path.read_text(encoding="utf-8")
    assert data == yaml.safe_load(text)
    assert lines == old_key_lines(text)
    assert lines  # every shipped file is a non-empty mapping


def test_small_aliases_merge_keys_and_line_ends_load_as_safe_load_does(tmp_path):
    text = ("defaults: &d {rate: '0.1 1/day', dose: 3}\n"
            "a: {<<: *d, dose: 4}\n"
            "b: [*d, *d]\r\n"
            "when: 2020-01-02\r"
            "n: 0x1F\n"
            "text: |\r\n  two\r\n  lines\r\n")
    path = write(tmp_path, text.encode())
    data, lines = read_yaml(path)
    assert data == yaml.safe_load(path.read_text())  # text mode: universal newlines
    assert lines == old_key_lines(path.read_text())
    assert lines[("a", "dose")] == 2 and lines[("b", 1, "rate")] == 1


def test_empty_document_is_none_without_lines(tmp_path):
    assert read_yaml(write(tmp_path, "# nothing\n")) == (None, {})


# --- reading the file ------------------------------------------------------------------------------------

def test_missing_file_says_it_does_not_exist(tmp_path):
    with pytest.raises(CaseError, match="the regimen file does not exist"):
        read_yaml(tmp_path / "nowhere.yaml", kind="regimen file")


@pytest.mark.timeout(20)
def test_dev_zero_is_not_a_regular_file():
    with pytest.raises(CaseError, match="not a regular file") as err:
        read_yaml("/dev/zero")
    assert "does not exist" not in str(err.value)


@pytest.mark.timeout(20)
def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "case.fifo"
    os.mkfifo(fifo)
    with pytest.raises(CaseError, match="not a regular file"):
        read_yaml(fifo)


def test_folder_is_not_a_regular_file(tmp_path):
    with pytest.raises(CaseError, match=r"not a regular file \(a folder\)"):
        read_yaml(tmp_path)


def test_file_over_the_size_limit_is_refused(tmp_path):
    with pytest.raises(CaseError, match="larger than the limit of 1000000 bytes"):
        read_yaml(write(tmp_path, b"a: 1\n" + b"#" * 999_996))
    path = write(tmp_path, "a: 1\n# a comment of more than 20 bytes\n", name="small.yaml")
    assert yaml.safe_load(path.read_text()) == {"a": 1}
    with pytest.raises(CaseError, match="larger than the limit of 20 bytes"):
        read_yaml(path, limits=YamlLimits(max_bytes=20))
    assert read_yaml(path, limits=YamlLimits(max_bytes=100))[0] == {"a": 1}


def test_read_stops_after_the_limit_when_the_size_is_not_known_in_advance():
    status = Path("/proc/self/status")
    if not status.is_file() or status.stat().st_size != 0:
        pytest.skip("needs a Linux /proc file that reports size 0")
    with pytest.raises(CaseError, match="more than 100 bytes"):
        read_limited(status, max_bytes=100)
    assert len(read_limited(status, max_bytes=1_000_000)) > 100


def test_latin1_byte_is_an_error_naming_line_and_offset(tmp_path):
    path = write(tmp_path, "name: x\nauthor: Jos\xe9\n".encode("latin-1"))
    assert "\ufffd" in yaml.safe_load(path.read_text(errors="replace"))["author"]
    with pytest.raises(CaseError, match=r"not UTF-8 text \(byte offset 19\)") as err:
        read_yaml(path)
    assert err.value.line == 2


def test_control_character_names_its_line():
    assert rejected("a: 1\nb: \x00\n").line == 2


def test_malformed_yaml_keeps_its_message_and_line():
    err = rejected("name: x\ngeometry: [a\nfoo: 1\n")
    assert err.key == "<yaml>" and err.line == 3 and "malformed YAML" in err.allowed


# --- duplicate keys --------------------------------------------------------------------------------------

def test_duplicate_key_names_the_key_and_both_lines():
    text = "geometry:\n  host_radius: '9 mm'\n  tumour_radius: '3 mm'\n  host_radius: '12 mm'\n"
    assert yaml.safe_load(text)["geometry"]["host_radius"] == "12 mm"  # plain pyyaml: the last one wins
    err = rejected(text)
    assert err.key == "geometry.host_radius" and err.line == 4 and "also on line 2" in str(err)


def test_duplicate_keys_compare_as_values():
    assert rejected("{1: a, 0x1: b}").key == "0x1"
    assert rejected("a: [{x: 1}, {x: 2, x: 3}]").key == "a.1.x"
    assert rejected("a: &m {x: 1}\nb: {<<: *m, <<: *m}\n").key == "b.<<"


def test_merge_keys_may_be_overridden():
    data, _ = parse_yaml("a: &m {x: 1, y: 2}\nb: {<<: *m, x: 3}\n", "c.yaml")
    assert data["b"] == {"x": 3, "y": 2}


# --- aliases ---------------------------------------------------------------------------------------------

def test_alias_uses_beyond_the_budget():
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    assert len(yaml.safe_load(text)["b"]) == 101
    assert "more than 100 aliases" in str(rejected(text))
    assert len(parse_yaml(text.replace("*a]", "2]"), "c.yaml")[0]["b"]) == 101


@pytest.mark.timeout(20)
def test_billion_laughs_is_refused_before_it_expands():
    levels = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    err = rejected("\n".join(levels) + "\n")  # 72 alias uses: within the alias budget
    assert "aliases expand to more than 10000 nodes" in str(err) and err.line == 5


def test_alias_inside_its_own_collection():
    assert yaml.safe_load("a: &a [1, *a]")["a"][1][1][1][0] == 1  # a recursive list
    assert "refers to the collection it is in" in str(rejected("a: &a [1, *a]"))


# --- nesting and integers ------------------------------------------------------------------------------

@pytest.mark.timeout(20)
def test_deep_flow_nesting_is_one_line_not_a_recursion_error():
    with pytest.raises(RecursionError):
        yaml.safe_load("a: " + "[" * 600 + "]" * 600)
    text = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert "nested deeper than 50 levels" in str(rejected(text))


def test_nesting_limit_counts_collections():
    limits = YamlLimits(max_depth=5)
    assert parse_yaml("a: [[[[1]]]]", "c.yaml", limits)[0] == {"a": [[[[1]]]]}  # 5 collections
    assert rejected("a: [[[[[1]]]]]", limits).line == 1
    block = "a:\n b:\n  c:\n   d:\n    e:\n     f: 1\n"
    assert rejected(block, limits).line == 6  # the sixth mapping, the value of 'e', starts there


def test_nesting_through_aliases_counts():
    limits = YamlLimits(max_depth=6)
    text = "a: &a [[[1]]]\nb: [[*a]]\n"  # the document, 2 and 3 lists: 6 collections around the 1
    assert parse_yaml(text, "c.yaml", limits)[0]["b"] == [[[[[1]]]]]
    assert "counting aliases" in str(rejected("a: &a [[[1]]]\nb: {c: [[*a]]}\n", limits))


def test_huge_integer_literal():
    with pytest.raises(ValueError):
        yaml.safe_load("n: " + "9" * 5000)  # Python's int-string conversion limit
    assert "more than 30 digits" in str(rejected("n: " + "9" * 5000))
    assert "more than 30 digits" in str(rejected("n: -1_" + "0" * 30))
    assert parse_yaml("n: " + "9" * 30, "c.yaml")[0] == {"n": int("9" * 30)}
    assert parse_yaml("n: '" + "9" * 50 + "'", "c.yaml")[0] == {"n": "9" * 50}  # a string


@pytest.mark.parametrize("text", ["a: !!int abc", "a: !!bool maybe", "a: !!float x", "a: !!timestamp 2020-13-45"])
def test_explicit_tag_that_cannot_be_built(text):
    with pytest.raises((ValueError, KeyError, AttributeError)):
        yaml.safe_load(text)
    assert "cannot be read as !!" in str(rejected(text))


def test_code_tags_stay_refused():
    assert "malformed YAML" in str(rejected("a: !!python/object/apply:os.system [ls]"))


def test_errors_survive_the_broadcast_to_other_ranks():
    err = rejected("a: 1\na: 2\n")
    assert str(pickle.loads(pickle.dumps(err))) == str(err)
