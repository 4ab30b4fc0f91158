"""Blank out the comments and docstrings of the layer's Python sources, keeping every line where it was.

    python layers/slim_sources.py TREE PACKAGE...     (TREE: the layer's python/ folder)

Run by `build.py` on the installed tree, before the byte code is compiled from the same files. In the lean layer
the sources are what is left after the byte code: the interpreter runs the byte code, and reads a source only
for a traceback's lines (or compiles it when the byte code is for another Python). A blanked comment or
docstring is an empty line, so every statement keeps its line number: tracebacks still show the right code
line, ``inspect.getsource`` still works, and the unchecked-hash byte code is compiled from exactly the shipped
text. What a reader of ``/opt/python`` loses is the prose: the comments and docstrings (``__doc__`` is already
left out of the byte code). The wheel, the sdist and the repository keep everything.

A docstring that is its body's only statement becomes ``...`` (the body must not be empty); one that shares a
line with code is left as it is, and so are encoding declarations and ``#!`` lines. Each file is checked: its
slimmed text must parse to the same tree (docstrings aside) with every statement on the same line, else the
file is shipped unchanged. Prints one JSON object: files slimmed, files kept as they were, bytes before and
after.
"""

import ast
import io
import json
import os
import re
import sys
import tokenize

CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]")
BODIES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def docstring(node):
    """The docstring expression of a module, class or function body, or None."""
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def slim(source):
    """``source`` with comments and docstrings blanked out, each remaining line where it was."""
    lines = io.StringIO(source, newline="").readlines()  # split where the parser counts lines (not at \f)
    tree = ast.parse(source)
    blank = set()  # line indexes (0-based) emptied
    placeholder = {}  # line index -> indentation, for a docstring that was its body's only statement
    for node in ast.walk(tree):
        if not isinstance(node, BODIES):
            continue
        doc = docstring(node)
        if doc is None:
            continue
        start, end = doc.lineno - 1, doc.end_lineno - 1
        before = lines[start].encode("utf-8")[: doc.col_offset].decode("utf-8")
        after = lines[end].encode("utf-8")[doc.end_col_offset :].decode("utf-8").strip()
        if before.strip() or (after and not after.startswith("#")):
            continue  # shares a line with code
        blank.update(range(start, end + 1))
        if len(node.body) == 1:
            placeholder[start] = before
    comment_at = {}
    for token in tokenize.generate_tokens(io.StringIO(source, newline="").readline):
        if token.type == tokenize.COMMENT:
            row = token.start[0] - 1
            if row < 2 and (CODING.match(lines[row]) or lines[row].startswith("#!")):
                continue
            comment_at[row] = token.start[1]
    out = []
    for index, line in enumerate(lines):
        newline = line[len(line.rstrip("\r\n")) :]
        if index in placeholder:
            out.append(placeholder[index] + "..." + newline)
        elif index in blank:
            out.append(newline)
        elif index in comment_at:
            out.append(line[: comment_at[index]].rstrip() + newline)
        else:
            out.append(line)
    return "".join(out)


def shape(source):
    """What must not change: the tree without docstrings, and the line of every statement."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, BODIES):
            if docstring(node) is not None:
                node.body = node.body[1:]
            only = node.body[0] if len(node.body) == 1 else None
            if not node.body or (
                isinstance(only, ast.Expr) and isinstance(only.value, ast.Constant) and only.value.value is Ellipsis
            ):
                node.body = [ast.Pass()]
    statements = (n for n in ast.walk(tree) if isinstance(n, ast.stmt) and not isinstance(n, ast.Pass))
    lines = [(type(n).__name__, n.lineno) for n in statements]
    return ast.dump(tree, include_attributes=False), lines


def main():
    tree, packages = sys.argv[1], sys.argv[2:]
    report = {"slimmed": 0, "unchanged": [], "bytes_before": 0, "bytes_after": 0}
    for package in packages:
        for folder, _dirs, files in os.walk(os.path.join(tree, package)):
            for name in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(folder, name)
                with open(path, "rb") as handle:
                    raw = handle.read()
                try:
                    source = raw.decode("utf-8")
                    slimmed = slim(source)
                    same = shape(slimmed) == shape(source)
                except (SyntaxError, UnicodeDecodeError, ValueError, tokenize.TokenError):
                    same = False
                if not same:
                    report["unchanged"].append(os.path.relpath(path, tree))
                    continue
                data = slimmed.encode("utf-8")
                with open(path, "wb") as handle:
                    handle.write(data)
                report["slimmed"] += 1
                report["bytes_before"] += len(raw)
                report["bytes_after"] += len(data)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
