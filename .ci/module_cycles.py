#!/usr/bin/env python3
"""Finds modules that import each other in a loop, in one or more crates.

usage: python3 .ci/module_cycles.py CRATE_SRC_DIR...   (e.g. emulator/src src)

Each `.rs` file is one node (inline modules such as `mod tests { .. }` count as their file). A
file depends on another when its code names an item of the other: `use crate::a::B`,
`super::B`, `crate::a::f()` in an expression, or a path through a child module it declares
(`views::f()`). Re-exports are followed to the module that defines the name (`crate::AppVersion`
is `config` when the root says `pub use config::AppVersion`). Declaring a child (`mod x;`) is not
a dependency, nor is a doc comment. Prints each crate's module count, edge count and every
circle; exits 1 when a circle is found.
"""

import os
import re
import sys

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip(text):
    """Blanks comments, string and char literals (keeps line structure)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        out.append("\n")
                    i += 1
        elif re.match(r'r#*"', text[i:i + 8]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = len(re.match(r'r(#*)"', text[i:]).group(1))
            end = text.find('"' + "#" * hashes, i + 2 + hashes)
            end = n if end < 0 else end + 1 + hashes
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c == '"' or (c == "b" and text.startswith('b"', i)):
            i += 2 if c == "b" else 1
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                elif text[i] == "\n":
                    out.append("\n")
                i += 1
            out.append('""')
            i += 1
        elif c == "'" and re.match(r"'(\\.[^']*|[^\\'])'", text[i:i + 12]):
            m = re.match(r"'(\\.[^']*|[^\\'])'", text[i:])
            out.append("' '")
            i += m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def file_module(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["lib"], ["main"]):
        return ()
    return tuple(rel)


def expand_use(tree):
    """`a::{b, c::{d, self}}` → ['a::b', 'a::c::d', 'a::c']."""
    tree = re.sub(r"\s+", "", tree)
    depth, start = 0, None
    for i, c in enumerate(tree):
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}":
            depth -= 1
    if start is None:
        return [re.sub(r"\bas\w+$", "", tree)] if tree else []
    prefix, inner = tree[:start], tree[start + 1:tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for c in inner:
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += c == "{"
        depth -= c == "}"
        cur += c
    parts.append(cur)
    result = []
    for part in filter(None, parts):
        for sub in expand_use(part):
            result.append(prefix[:-2] if sub == "self" else prefix + sub)
    return result


class Crate:
    def __init__(self, src):
        self.src = src
        self.files = {}
        for root, _, names in os.walk(src):
            for name in names:
                if name.endswith(".rs") and not (root == src and name == "main.rs" and os.path.exists(os.path.join(src, "lib.rs"))):
                    path = os.path.join(root, name)
                    self.files[file_module(src, path)] = strip(open(path, encoding="utf-8").read())
        self.modules = set(self.files)
        self.reexports = {m: {} for m in self.modules}  # module -> name -> absolute path
        for module, text in self.files.items():
            for vis_use in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
                for path in expand_use(vis_use.group(1)):
                    segs = path.split("::")
                    name = segs[-1].split("as")[-1] if "as" in segs[-1] else segs[-1]
                    self.reexports[module][name] = self.absolute(module, segs)

    def absolute(self, module, segs, aliases=None):
        """A path as written in `module` → absolute segments (without `crate`)."""
        segs = [s for s in segs if s]
        if not segs:
            return ()
        if aliases and segs[0] in aliases:
            return aliases[segs[0]] + tuple(segs[1:])
        if segs[0] == "crate":
            return tuple(segs[1:])
        if segs[0] in ("self", "Self"):
            return tuple(module) + tuple(segs[1:])
        if segs[0] == "super":
            base = list(module)
            while segs and segs[0] == "super":
                base = base[:-1]
                segs = segs[1:]
            return tuple(base) + tuple(segs)
        if tuple(module) + (segs[0],) in self.modules:
            return tuple(module) + tuple(segs)
        return None  # an external crate, a local name or a type

    def resolve(self, path, seen=()):
        """Absolute path → the module defining its item (following re-exports)."""
        for k in range(len(path), -1, -1):
            prefix = path[:k]
            if prefix in self.modules:
                rest = path[k:]
                if rest and rest[0] in self.reexports[prefix] and (prefix, rest[0]) not in seen:
                    target = self.reexports[prefix][rest[0]]
                    if target is not None:
                        return self.resolve(target + rest[1:], seen + ((prefix, rest[0]),))
                return prefix
        return None

    def edges(self):
        graph = {m: set() for m in self.modules}
        for module, text in self.files.items():
            # Modules brought in by name (`use crate::state::{self, Shared}`, then `state::f()`).
            aliases = {}
            for use in re.finditer(r"\buse\s+([^;]+);", text):
                for path in expand_use(use.group(1)):
                    segs = path.split("::")
                    absolute = self.absolute(module, segs)
                    if absolute is not None and absolute in self.modules:
                        aliases[segs[-1]] = absolute
            # Inline modules shift `super`/`self`: track them by brace depth.
            stack, depth = [], 0
            tokens = re.finditer(r"\bmod\s+(" + IDENT + r")\s*\{|\{|\}|\buse\s+([^;]+);|((?:" + IDENT + r"::)+" + IDENT + r")", text)
            for t in tokens:
                inner = tuple(module) + tuple(name for name, _ in stack)
                if t.group(1):
                    depth += 1
                    stack.append((t.group(1), depth))
                    continue
                if t.group(0) == "{":
                    depth += 1
                    continue
                if t.group(0) == "}":
                    if stack and stack[-1][1] == depth:
                        stack.pop()
                    depth -= 1
                    continue
                paths = expand_use(t.group(2)) if t.group(2) else [t.group(3)]
                for path in paths:
                    segs = path.split("::")
                    if segs[-1] == "*":
                        segs = segs[:-1]
                    absolute = self.absolute(inner, segs, aliases)
                    if absolute is None:
                        continue
                    # Paths inside inline modules resolve to the file that holds them.
                    target = self.resolve(absolute)
                    while target is not None and target not in self.modules:
                        target = target[:-1]
                    if target is not None and target != module:
                        graph[module].add(target)
        return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def name(module):
    return "crate" if not module else "::".join(module)


def main():
    found = False
    sys.setrecursionlimit(10000)
    for src in sys.argv[1:] or ["src"]:
        graph = Crate(src).edges()
        loops = cycles(graph)
        print(f"{src}: {len(graph)} modules, {sum(map(len, graph.values()))} imports between them, "
              f"{len(loops)} circle(s)")
        for comp in loops:
            found = True
            members = set(comp)
            print("  circle: " + ", ".join(name(m) for m in comp))
            for m in comp:
                for w in sorted(graph[m] & members):
                    print(f"    {name(m)} -> {name(w)}")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
