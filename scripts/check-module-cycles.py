#!/usr/bin/env python3
"""Fails when modules of one crate depend on each other in a cycle (docs/architecture.md, "Crates").

A module is a file under src/ (lib.rs and main.rs, the crate roots, are left out: every module is declared
there). An edge M -> N is a `crate::n...` or `super::n...` path in M's code (not its comments, nor its
`#[cfg(test)]` part), resolved
to the longest module path that exists. Child-to-parent paths (`super::Item` in `a/b.rs` naming `a.rs`) are
the usual way down a module tree and are not edges.
Usage: scripts/check-module-cycles.py <crate dir>...
"""
import os
import re
import sys


def modules(src):
    found = {}
    for root, _, files in os.walk(src):
        for name in files:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                module = tuple(os.path.relpath(path, src)[:-3].split(os.sep))
                if module not in (("lib",), ("main",)):
                    found[module] = path
    return found


def resolve(names, known):
    for end in range(len(names), 0, -1):
        if tuple(names[:end]) in known:
            return tuple(names[:end])
    return None


def reexports(src, known):
    """`pub use module::{A, B}` in the crate root: `crate::A` is module's."""
    found = {}
    for root in ("lib.rs", "main.rs"):
        path = os.path.join(src, root)
        if not os.path.exists(path):
            continue
        for module, items in re.findall(r"pub use ([a-z_][a-z0-9_]*)::\{?([^;}]*)\}?;", open(path).read()):
            if (module,) in known:
                for item in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:,|$)", items.replace("\n", " ") + ","):
                    found[item] = (module,)
    return found


def edges(src):
    known = modules(src)
    items = reexports(src, known)
    graph = {}
    for module, path in known.items():
        text = open(path, encoding="utf-8").read().split("#[cfg(test)]")[0]
        text = re.sub(r"//[^\n]*", "", text)  # doc links are not dependencies
        targets = set()
        for chain in re.findall(r"\bcrate((?:::[a-z_][a-z0-9_]*)+)", text):
            target = resolve(chain.split("::")[1:], known)
            if target:
                targets.add(target)
        for item in re.findall(r"\bcrate::([A-Z][A-Za-z0-9_]*)", text):
            if item in items:
                targets.add(items[item])
        for group in re.findall(r"\buse crate::\{([^}]*)\}", text):
            for item in re.findall(r"\b([A-Z][A-Za-z0-9_]*)\b", group):
                if item in items:
                    targets.add(items[item])
        for chain in re.findall(r"\bsuper((?:::[a-z_][a-z0-9_]*)+)", text):
            target = resolve(list(module[:-2]) + chain.split("::")[1:], known)
            if target:
                targets.add(target)
        # A module's own descendants and ancestors are not dependencies between modules.
        graph[module] = {t for t in targets if t[: len(module)] != module and module[: len(t)] != t}
    return graph


def cycles(graph):
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def main():
    failed = False
    for crate in sys.argv[1:]:
        for cycle in cycles(edges(os.path.join(crate, "src"))):
            failed = True
            print(f"{crate}: module cycle " + " -> ".join("::".join(m) for m in cycle), file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
