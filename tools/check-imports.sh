#!/usr/bin/env bash
# Checks that the Rust files under the given folders (default: src/tcl)
# import each other one way only: no file uses another that uses it back,
# directly or through others. An import is a `use` path or any path in the
# code that starts with crate::, super::, self:: or a child module's name;
# it points at the file of the longest module the path names. Files that
# only declare their child modules (`mod x;`) do not import them by that.
#   tools/check-imports.sh            # src/tcl
#   tools/check-imports.sh src        # the whole crate
#   tools/check-imports.sh -v src/tcl # also print every file's imports
# Exit status: 0 without a cycle, 1 with one (each cycle is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import os, re, sys

args = sys.argv[1:]
verbose = "-v" in args
dirs = [a.rstrip("/") for a in args if a != "-v"] or ["src/tcl"]

def module_of(path):
    """src/tcl/ffi/obj.rs -> ('tcl','ffi','obj'); src/lib.rs -> ()."""
    rel = os.path.relpath(path, "src")[:-3].split(os.sep)
    if rel[-1] in ("lib", "mod", "main"):
        rel = rel[:-1]
    return tuple(rel)

files = {}
for root, _, names in os.walk("src"):
    for n in names:
        if n.endswith(".rs"):
            p = os.path.join(root, n)
            files[module_of(p)] = p

def strip(src):
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    src = re.sub(r'"(\\.|[^"\\])*"', '""', src)
    src = re.sub(r"//[^\n]*", "", src)
    # Inline test modules are not part of the structure.
    m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", src)
    while m:
        depth, k = 1, m.end()
        while depth and k < len(src):
            depth += (src[k] == "{") - (src[k] == "}")
            k += 1
        src = src[:m.start()] + src[k:]
        m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", src)
    return src

def expand(tree):
    """Paths of a use tree: a::{b, c::{d, e}} -> a::b, a::c::d, a::c::e."""
    tree = re.sub(r"\s+", "", tree)
    depth, i = 0, None
    for k, ch in enumerate(tree):
        if ch == "{" and depth == 0:
            i = k
        depth += (ch == "{") - (ch == "}")
    if i is None:
        return [re.sub(r"\bas\w+$", "", tree)]
    prefix, inner = tree[:i], tree[i + 1:-1]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur); cur = ""; continue
        depth += (ch == "{") - (ch == "}")
        cur += ch
    parts.append(cur)
    out = []
    for p in filter(None, parts):
        for q in expand(p):
            out.append(prefix + q if q != "self" else prefix.rstrip(":"))
    return out

def resolve(mod, path, children):
    segs = [s for s in path.split("::") if s]
    if not segs:
        return None
    if segs[0] in ("crate", "$crate"):
        base, segs = (), segs[1:]
    elif segs[0] in ("super", "self"):
        base = mod
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    elif segs[0] in children:
        base = mod
    else:
        return None
    full = base + tuple(segs)
    for n in range(len(full), -1, -1):
        if full[:n] in files:
            return full[:n]
    return None

graph = {}
for mod, path in files.items():
    src = strip(open(path).read())
    children = set(re.findall(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", src, re.M))
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", src):
        paths += expand(m.group(1))
    body = re.sub(r"\buse\s+[^;]+;", "", src)
    paths += re.findall(r"(?<![\w:])((?:\$?crate|super|self|\w+)(?:::\w+)+)", body)
    deps = set()
    for p in paths:
        target = resolve(mod, p, children)
        if target is not None and target != mod:
            deps.add(target)
    graph[mod] = deps

def inside(mod):
    return any(os.path.commonpath([files[mod], d]) == d for d in dirs)

# Tarjan's strongly connected components, on the files under `dirs`.
nodes = [m for m in graph if inside(m)]
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in graph[v]:
        if not inside(w):
            continue
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        sccs.append(comp)
for v in sorted(nodes):
    if v not in index:
        visit(v)

name = lambda m: files[m]
if verbose:
    for m in sorted(nodes, key=name):
        print(name(m), "->", " ".join(sorted(name(d) for d in graph[m] if inside(d))))
cycles = [c for c in sccs if len(c) > 1]
for c in cycles:
    print("cycle:", " <-> ".join(sorted(name(m) for m in c)))
    for m in sorted(c, key=name):
        print("   ", name(m), "->", " ".join(sorted(name(d) for d in graph[m] if d in c)))
print(f"{len(nodes)} files under {' '.join(dirs)}: "
      + ("no import cycle" if not cycles else f"{len(cycles)} import cycle(s)"))
sys.exit(1 if cycles else 0)
PY
