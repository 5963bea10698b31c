#!/usr/bin/env python3
"""Import cycles between the source files of each crate (part of `make lint` and scripts/test.sh).

    scripts/import-cycles.py                check crates/*/src of this repository
    scripts/import-cycles.py --root DIR     check DIR/crates/*/src instead (allow-list: --allow)
    scripts/import-cycles.py --self-test    check the checker on tiny fake crates in a temp dir

Why: a cycle between files means neither can be read, tested or moved without the other; the
module tree hides it because Rust resolves any `crate::` path from anywhere. This makes the file
graph visible and keeps it acyclic.

The graph, for each crate root (src/lib.rs, src/main.rs, src/bin/*.rs) and the files its `mod`
declarations reach: an edge A -> B means file A names an item defined in file B, through
  - a `use crate::…`, `use super::…`, `use self::…` or `use sibling::…` (after `mod sibling;`),
    at the top of a module or inside a function;
  - a path in code: `crate::x::Item`, `super::Item`, `sibling::Item`, `alias::Item` where `alias`
    is a module brought in by a `use`;
  - a name brought in by a glob (`use super::*`) and used in A.
Not edges: a `mod x;` declaration alone; a `use` of a module itself (`use crate::store;` is only
an alias, its `store::X` paths are the edges); a re-export (`pub use a::X` or `pub(crate) use`)
whose name the file does not use itself. Names are resolved through re-exports (lib.rs,
mod.rs, glob re-exports) to the file that defines them, so `crate::Result` re-exported by lib.rs
from error.rs is an edge to error.rs. Paths into other crates are not followed.

Known limits (this is a token scanner, not rustc): `#[path]` attributes and macros resolved by
textual scope are not followed; a name that is both a module and an item resolves to the module
when more segments follow, else to the item; `#[cfg]` is ignored (test code counts).

Every strongly connected component of more than one file is a cycle: its files and the edges
inside it, with the names behind each edge, are printed. Exit status 1 if there is one that the
allow-list (scripts/import-cycles.allow: one known cycle per line, the cycle's sorted file paths
separated by spaces, `#` comments) does not list, or if the allow-list lists a cycle that no
longer exists (so the list can only shrink); else 0. Standard library only.
"""

import argparse
import os
import sys
import tempfile
from collections import defaultdict

KEYWORD_ITEMS = {"fn", "struct", "enum", "union", "trait", "type", "const", "static"}
PATH_ROOTS = {"crate", "self", "super"}


# ---- tokens ---------------------------------------------------------------------------------


def tokenize(src):
    """Identifiers, `::` and single punctuation characters, without comments and literals.

    Literals become the token "<lit>" so that a path never runs through one.
    """
    toks = []
    i, n = 0, len(src)

    def is_ident_start(ch):
        return ch.isalpha() or ch == "_" or ord(ch) > 127

    def is_ident_char(ch):
        return ch.isalnum() or ch == "_" or ord(ch) > 127

    def skip_quoted(j):
        # j is just after the opening quote of a normal (escaped) string
        while j < n and src[j] != '"':
            j += 2 if src[j] == "\\" else 1
        return j + 1

    def skip_raw(j):
        # j is at the `#`s or quote after an `r` prefix
        hashes = 0
        while j < n and src[j] == "#":
            hashes += 1
            j += 1
        if j >= n or src[j] != '"':
            return None
        end = src.find('"' + "#" * hashes, j + 1)
        return n if end < 0 else end + 1 + hashes

    while i < n:
        c = src[i]
        if c.isspace():
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == '"':
            i = skip_quoted(i + 1)
            toks.append("<lit>")
        elif c == "'":
            if src.startswith("\\", i + 1):  # '\n', '\'', '\u{..}'
                j = i + 3
                while j < n and src[j] != "'":
                    j += 1
                i = j + 1
                toks.append("<lit>")
            elif i + 2 < n and src[i + 2] == "'":  # 'x'
                i += 3
                toks.append("<lit>")
            else:  # a lifetime or label: 'a, 'static
                j = i + 1
                while j < n and is_ident_char(src[j]):
                    j += 1
                i = j
                toks.append("<lifetime>")
        elif is_ident_start(c):
            # literal prefixes: r"…", r#"…"#, b"…", br"…", b'x', c"…", cr"…"; raw identifiers r#x
            j = i
            while j < n and is_ident_char(src[j]):
                j += 1
            word = src[i:j]
            if word in ("r", "br", "cr") and j < n and src[j] in '"#':
                end = skip_raw(j)
                if end is not None:
                    i = end
                    toks.append("<lit>")
                    continue
                if word == "r" and src[j] == "#":  # raw identifier r#type
                    k = j + 1
                    while k < n and is_ident_char(src[k]):
                        k += 1
                    toks.append(src[j + 1 : k])
                    i = k
                    continue
            if word in ("b", "c") and j < n and src[j] == '"':
                i = skip_quoted(j + 1)
                toks.append("<lit>")
                continue
            if word == "b" and j < n and src[j] == "'":
                k = j + 1
                k += 2 if src.startswith("\\", k) else 1
                while k < n and src[k] != "'":
                    k += 1
                i = k + 1
                toks.append("<lit>")
                continue
            toks.append(word)
            i = j
        elif c.isdigit():
            j = i + 1
            while j < n and (is_ident_char(src[j]) or (src[j] == "." and j + 1 < n and src[j + 1].isdigit())):
                j += 1
            i = j
            toks.append("<lit>")
        elif src.startswith("::", i):
            toks.append("::")
            i += 2
        else:
            toks.append(c)
            i += 1
    return toks


def is_ident(tok):
    return tok[:1].isalpha() or tok[:1] == "_" or (tok and ord(tok[0]) > 127)


def matching(toks, i, open_, close):
    """Index of the token closing the bracket opened at toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j] == open_:
            depth += 1
        elif toks[j] == close:
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def parse_use_tree(toks, i, prefix, out):
    """Parse one use tree at toks[i]; append (segments, alias) pairs, alias "*" for a glob."""
    segs = list(prefix)
    if toks[i] == "::":
        segs.append("::")  # a path from the extern prelude: never ours
        i += 1
    while i < len(toks):
        t = toks[i]
        if t == "{":
            i += 1
            while i < len(toks) and toks[i] != "}":
                i = parse_use_tree(toks, i, segs, out)
                if toks[i] == ",":
                    i += 1
            return i + 1
        if t == "*":
            out.append((segs, "*"))
            return i + 1
        segs = segs + [t]
        i += 1
        if i < len(toks) and toks[i] == "::":
            i += 1
            continue
        if segs[-1] == "self" and len(segs) > 1:  # `use a::{self}` is `use a`
            segs = segs[:-1]
        alias = segs[-1]
        if i + 1 < len(toks) and toks[i] == "as":
            alias = toks[i + 1]
            i += 2
        out.append((segs, alias))
        return i
    return i


# ---- modules --------------------------------------------------------------------------------


class Use:
    def __init__(self, segs, alias, public, module_level):
        self.segs = segs
        self.alias = alias  # "*" for a glob
        self.public = public
        self.module_level = module_level


class Module:
    def __init__(self, path, file, directory):
        self.path = path  # tuple of names from the crate root
        self.file = file
        self.dir = directory  # where `mod x;` inside it looks for x.rs / x/mod.rs
        self.items = set()  # names defined here (any namespace but modules)
        self.children = {}  # name -> module path
        self.uses = []  # module-level and function-local `use`s


class Crate:
    """The modules of one crate root and, per file, its code tokens."""

    def __init__(self, root_file):
        self.modules = {}
        self.files = {}  # file -> tokens
        self.owner = {}  # file -> list: module path of each token
        self.skip = {}  # file -> set of token indexes that are not code (use trees, pub(in …))
        self._load((), root_file, os.path.dirname(root_file))

    def _load(self, path, file, directory):
        with open(file, encoding="utf-8") as f:
            toks = tokenize(f.read())
        self.files[file] = toks
        self.owner[file] = [path] * len(toks)
        self.skip[file] = set()
        self._parse(path, file, directory, toks, 0, len(toks))

    def _parse(self, path, file, directory, toks, lo, hi):
        module = self.modules.setdefault(path, Module(path, file, directory))
        skip, owner = self.skip[file], self.owner[file]
        depth, i = 0, lo
        public = False
        while i < hi:
            t = toks[i]
            if t == "#" and i + 1 < hi and toks[i + 1] in ("[", "!"):
                j = i + 1 if toks[i + 1] == "[" else i + 2
                i = matching(toks, j, "[", "]") + 1
                continue
            if t == "pub":
                public = True
                if i + 1 < hi and toks[i + 1] == "(":
                    end = matching(toks, i + 1, "(", ")")
                    skip.update(range(i, end + 1))
                    i = end + 1
                    continue
                i += 1
                continue
            if t == "use" and (i + 1 < hi and toks[i + 1] != "<lit>"):
                end = i + 1
                while end < hi and toks[end] != ";":
                    end += 1
                found = []
                parse_use_tree(toks[: end + 1], i + 1, [], found)
                for segs, alias in found:
                    module.uses.append(Use(segs, alias, public, depth == 0))
                skip.update(range(i, end + 1))
                i, public = end + 1, False
                continue
            if depth == 0 and t == "mod" and i + 2 < hi and is_ident(toks[i + 1]):
                name = toks[i + 1]
                child = path + (name,)
                module.children[name] = child
                if toks[i + 2] == ";":
                    skip.update(range(i, i + 3))
                    for candidate in (
                        os.path.join(directory, name + ".rs"),
                        os.path.join(directory, name, "mod.rs"),
                    ):
                        if os.path.isfile(candidate):
                            self._load(child, candidate, os.path.join(directory, name))
                            break
                    i, public = i + 3, False
                    continue
                if toks[i + 2] == "{":
                    end = matching(toks, i + 2, "{", "}")
                    for k in range(i + 3, end):
                        owner[k] = child
                    self._parse(child, file, os.path.join(directory, name), toks, i + 3, end)
                    i, public = end + 1, False
                    continue
            if depth == 0 and t in KEYWORD_ITEMS and i + 1 < hi and is_ident(toks[i + 1]):
                name = toks[i + 1]
                if t == "static" and name == "mut" and i + 2 < hi:
                    name = toks[i + 2]
                generic = t == "const" and i > lo and toks[i - 1] in ("<", ",")
                if not generic and name not in ("fn", "_"):
                    module.items.add(name)
            if depth == 0 and t == "macro_rules" and i + 3 < hi and toks[i + 1] == "!":
                module.items.add(toks[i + 2])
                # Items at the top of a transcriber (`=> { pub enum Kind { … } }`): the macro is
                # expanded in this module, so they are defined here.
                end = matching(toks, i + 3, toks[i + 3], {"{": "}", "(": ")", "[": "]"}.get(toks[i + 3], "}"))
                nesting = 0
                for k in range(i + 3, end):
                    if toks[k] in ("{", "(", "["):
                        nesting += 1
                    elif toks[k] in ("}", ")", "]"):
                        nesting -= 1
                    elif nesting == 2 and toks[k] in KEYWORD_ITEMS and is_ident(toks[k + 1]):
                        module.items.add(toks[k + 1])
            if t == "{":
                depth += 1
            elif t == "}":
                depth -= 1
            if t in (";", "{", "}"):
                public = False
            i += 1

    # -- name resolution ------------------------------------------------------------------

    def lookup(self, mod, name, want_module, seen):
        """What `name` means inside module `mod`: ("mod", path), ("item", (file, name)) or None."""
        key = (mod, name, want_module)
        if key in seen:
            return None
        seen = seen | {key}
        m = self.modules.get(mod)
        if m is None:
            return None
        if want_module and name in m.children:
            return ("mod", m.children[name])
        if name in m.items:
            return ("item", (m.file, name))
        if name in m.children:
            return ("mod", m.children[name])
        for use in m.uses:
            if use.module_level and use.alias == name:
                found = self.resolve(mod, use.segs, seen)
                if found:
                    return found
        for use in m.uses:
            if use.module_level and use.alias == "*":
                source = self.resolve(mod, use.segs, seen)
                if source and source[0] == "mod":
                    found = self.lookup(source[1], name, want_module, seen)
                    if found:
                        return found
        return None

    def resolve(self, mod, segs, seen=frozenset(), local_uses=()):
        """Resolve a path written in module `mod`. Stops at the first item (an enum's variant,
        a type's associated function): the item names the file. None for other crates."""
        if not segs or segs[0] == "::":
            return None
        k, cur = 0, None
        if segs[0] == "crate":
            cur, k = (), 1
        elif segs[0] in ("self", "super"):
            cur = mod
            while k < len(segs) and segs[k] in ("self", "super"):
                if segs[k] == "super":
                    if not cur:
                        return None
                    cur = cur[:-1]
                k += 1
        else:
            want_module = len(segs) > 1
            found = self.lookup(mod, segs[0], want_module, seen)
            if found is None:
                for use in local_uses:
                    if use.alias == segs[0]:
                        found = self.resolve(mod, use.segs, seen)
                        if found:
                            break
            if found is None or found[0] == "item":
                return found
            cur, k = found[1], 1
        for j in range(k, len(segs)):
            found = self.lookup(cur, segs[j], j < len(segs) - 1, seen)
            if found is None or found[0] == "item":
                return found
            cur = found[1]
        return ("mod", cur)

    # -- edges ----------------------------------------------------------------------------

    def edges(self):
        """{(file, file): set of names}: every place a file names an item of another file."""
        out = defaultdict(set)
        for file, toks in self.files.items():
            owner, skip = self.owner[file], self.skip[file]

            def add(found):
                if found and found[0] == "item" and found[1][0] != file:
                    out[(file, found[1][0])].add(found[1][1])

            # identifiers used in code, per module (not after `.`: fields and methods)
            used = defaultdict(set)
            for k, t in enumerate(toks):
                if k not in skip and is_ident(t) and (k == 0 or toks[k - 1] != "."):
                    used[owner[k]].add(t)
            for path, m in self.modules.items():
                if m.file != file:
                    continue
                local = [u for u in m.uses if not u.module_level and u.alias != "*"]
                for use in m.uses:
                    if use.alias == "*":
                        source = self.resolve(path, use.segs)
                        if source and source[0] == "item":  # `use Enum::*`
                            add(source)
                        elif source:
                            for name in used[path]:
                                add(self.lookup(source[1], name, False, frozenset()))
                        continue
                    # a re-export is an alias for other modules, an edge only if used here too
                    if use.public and use.module_level and use.alias not in used[path]:
                        continue
                    found = self.resolve(path, use.segs)
                    if found and found[0] == "mod" and self.modules[found[1]].file != file:
                        # A module written inline in another file is part of that file: what
                        # is named through it (maybe only in a macro) is defined there.
                        inline = self.modules[found[1]]
                        if inline.path and self.modules[inline.path[:-1]].file == inline.file:
                            found = ("item", (inline.file, inline.path[-1]))
                    add(found)
            # paths in code: `crate::a::B`, `super::B`, `module::B`, `alias::B`
            k = 0
            while k < len(toks):
                t = toks[k]
                starts = (
                    k not in skip
                    and is_ident(t)
                    and k + 1 < len(toks)
                    and toks[k + 1] == "::"
                    and (k == 0 or toks[k - 1] not in ("::", "."))
                )
                if not starts:
                    k += 1
                    continue
                segs = [t]
                j = k + 1
                while j + 1 < len(toks) and toks[j] == "::" and is_ident(toks[j + 1]):
                    segs.append(toks[j + 1])
                    j += 2
                path = owner[k]
                local = [u for u in self.modules[path].uses if not u.module_level and u.alias != "*"]
                add(self.resolve(path, segs, local_uses=local))
                k = j
        return out


# ---- cycles ---------------------------------------------------------------------------------


def strongly_connected(nodes, edges):
    """Tarjan's algorithm, iteratively; components of more than one node."""
    succ = defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            nexts = sorted(succ[node])
            if pos < len(nexts):
                work.append((node, pos + 1))
                nxt = nexts[pos]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return sorted(out)


def crate_roots(root):
    crates_dir = os.path.join(root, "crates")
    for name in sorted(os.listdir(crates_dir)) if os.path.isdir(crates_dir) else []:
        src = os.path.join(crates_dir, name, "src")
        for main in ("lib.rs", "main.rs"):
            if os.path.isfile(os.path.join(src, main)):
                yield os.path.join(src, main)
        bins = os.path.join(src, "bin")
        if os.path.isdir(bins):
            for entry in sorted(os.listdir(bins)):
                if entry.endswith(".rs"):
                    yield os.path.join(bins, entry)
                elif os.path.isfile(os.path.join(bins, entry, "main.rs")):
                    yield os.path.join(bins, entry, "main.rs")


def read_allow(path):
    """Known cycles: {frozenset of files: line number}."""
    allowed = {}
    if path and os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.split("#", 1)[0].split()
                if line:
                    allowed[frozenset(line)] = number
    return allowed


def check(root, allow_path, out):
    """Print the report to `out`; return the exit status."""
    root = os.path.abspath(root)
    files, edges = set(), defaultdict(set)
    for root_file in crate_roots(root):
        crate = Crate(root_file)
        files.update(crate.files)
        for pair, names in crate.edges().items():
            edges[pair] |= names

    def rel(p):
        return os.path.relpath(p, root)

    allowed = read_allow(allow_path)
    allow_name = rel(allow_path) if allow_path else "the allow-list"
    new, seen = 0, set()
    for component in strongly_connected(files, edges):
        key = frozenset(rel(f) for f in component)
        seen.add(key)
        known = key in allowed
        new += not known
        label = "known import cycle (%s line %d)" % (allow_name, allowed[key]) if known else "import cycle"
        print("%s, %d files:" % (label, len(component)), file=out)
        for f in component:
            print("  " + rel(f), file=out)
        members = set(component)
        for (a, b), names in sorted(edges.items()):
            if a in members and b in members:
                print("    %s -> %s: %s" % (rel(a), rel(b), ", ".join(sorted(names))), file=out)
    stale = sorted((number, sorted(key)) for key, number in allowed.items() if key not in seen)
    for number, key in stale:
        print("stale: %s line %d lists a cycle that no longer exists, remove it: %s" % (allow_name, number, " ".join(key)), file=out)
    known = len(seen) - new
    if new or stale:
        print(
            "%d new import cycle(s), %d stale allow-list line(s) (%d files)" % (new, len(stale), len(files)),
            file=out,
        )
        return 1
    if known:
        print("no new import cycles (%d files; %d known, listed in %s)" % (len(files), known, allow_name), file=out)
    else:
        print("no import cycles (%d files)" % len(files), file=out)
    return 0


# ---- self-test ------------------------------------------------------------------------------


def self_test():
    """Run the checker on fake crates whose answer is known; exit status 1 on any mismatch."""
    import io

    failures = []

    def case(name, files, allow, want_status, want_lines):
        with tempfile.TemporaryDirectory() as tmp:
            for rel_path, text in files.items():
                full = os.path.join(tmp, rel_path)
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "w", encoding="utf-8") as f:
                    f.write(text)
            allow_path = os.path.join(tmp, "cycles.allow")
            with open(allow_path, "w", encoding="utf-8") as f:
                f.write(allow)
            buf = io.StringIO()
            status = check(tmp, allow_path, buf)
            report = buf.getvalue()
            missing = [line for line in want_lines if line not in report.splitlines()]
            if status != want_status or missing:
                failures.append(name)
                print("self-test %s: FAILED (status %d, want %d; missing %r)\n%s" % (name, status, want_status, missing, report))
            else:
                print("self-test %s: ok" % name)

    lib = "mod a;\nmod b;\nmod error;\npub use error::Result;\n"
    error = "pub type Result<T> = std::result::Result<T, String>;\n"
    # a and b import each other: one cycle, status 1
    case(
        "two files importing each other",
        {
            "crates/demo/src/lib.rs": lib,
            "crates/demo/src/error.rs": error,
            "crates/demo/src/a.rs": "use crate::b::B;\npub struct A(pub B);\n",
            "crates/demo/src/b.rs": "use super::a::A;\npub struct B;\npub fn f(_: A) {}\n",
        },
        "",
        1,
        [
            "import cycle, 2 files:",
            "  crates/demo/src/a.rs",
            "  crates/demo/src/b.rs",
            "    crates/demo/src/a.rs -> crates/demo/src/b.rs: B",
            "    crates/demo/src/b.rs -> crates/demo/src/a.rs: A",
            "1 new import cycle(s), 0 stale allow-list line(s) (4 files)",
        ],
    )
    # the same through a code path and a sibling module path (`mod c;` then `c::C`)
    case(
        "cycle through code paths",
        {
            "crates/demo/src/lib.rs": "mod a;\n",
            "crates/demo/src/a.rs": "mod c;\npub struct A;\npub fn f() -> c::C { c::C }\n",
            "crates/demo/src/a/c.rs": "pub struct C;\npub fn g() -> crate::a::A { super::A }\n",
        },
        "",
        1,
        [
            "    crates/demo/src/a.rs -> crates/demo/src/a/c.rs: C",
            "    crates/demo/src/a/c.rs -> crates/demo/src/a.rs: A",
        ],
    )
    # One direction only; lib.rs re-exports Result from error.rs, which both use, and calls b:
    # lib.rs is not what a and b depend on, so there is no cycle through it. `mod` alone is not
    # an edge, nor is a `use` of a module.
    case(
        "no cycle",
        {
            "crates/demo/src/lib.rs": lib + "pub fn run() -> Result<()> { b::run() }\n",
            "crates/demo/src/error.rs": error,
            "crates/demo/src/a.rs": "pub struct A;\npub fn f() -> crate::Result<A> { Ok(A) }\n",
            "crates/demo/src/b.rs": "use crate::a;\nuse super::Result;\npub fn run() -> Result<()> { a::f().map(|_| ()) }\n",
        },
        "",
        0,
        ["no import cycles (4 files)"],
    )
    # A re-export its own file uses is an edge; so is a `use` of a module written inline in
    # another file (what is named through it, here in a macro, is defined there); an item
    # defined by a macro expanded in a module is defined in that module's file.
    case(
        "re-export used here, inline module, macro-defined item",
        {
            "crates/demo/src/lib.rs": "mod blocks;\nmod spec;\nmod wrap;\n",
            "crates/demo/src/wrap/mod.rs": "mod inner;\npub use inner::Inner;\npub struct Wrap(pub Inner);\n",
            "crates/demo/src/wrap/inner.rs": "pub struct Inner;\npub fn unwrap(w: super::Wrap) -> Inner { w.0 }\n",
            "crates/demo/src/blocks/mod.rs": (
                "mod loaders;\nuse loaders::csv;\n"
                "macro_rules! kinds {\n    ($($m:ident),*) => {\n        pub enum Kind { A }\n"
                "        pub fn run() { $($m::run();)* }\n    };\n}\nkinds!(csv);\n"
            ),
            "crates/demo/src/blocks/loaders.rs": "pub mod csv {\n    pub fn run() { let _ = crate::spec::parse(); }\n}\n",
            "crates/demo/src/spec.rs": "pub fn parse() -> crate::blocks::Kind { crate::blocks::Kind::A }\n",
        },
        "",
        1,
        [
            "    crates/demo/src/wrap/mod.rs -> crates/demo/src/wrap/inner.rs: Inner",
            "    crates/demo/src/wrap/inner.rs -> crates/demo/src/wrap/mod.rs: Wrap",
            "    crates/demo/src/blocks/mod.rs -> crates/demo/src/blocks/loaders.rs: csv",
            "    crates/demo/src/blocks/loaders.rs -> crates/demo/src/spec.rs: parse",
            "    crates/demo/src/spec.rs -> crates/demo/src/blocks/mod.rs: Kind",
            "2 new import cycle(s), 0 stale allow-list line(s) (6 files)",
        ],
    )
    cycle = {
        "crates/demo/src/lib.rs": "mod a;\nmod b;\n",
        "crates/demo/src/a.rs": "pub fn a() { super::b::b() }\n",
        "crates/demo/src/b.rs": "pub fn b() { crate::a::a() }\n",
    }
    # an allow-listed cycle is reported as known and does not fail
    case(
        "allow-listed cycle",
        cycle,
        "# known\ncrates/demo/src/b.rs crates/demo/src/a.rs\n",
        0,
        [
            "known import cycle (cycles.allow line 2), 2 files:",
            "no new import cycles (3 files; 1 known, listed in cycles.allow)",
        ],
    )
    # an allow-list line whose cycle is gone fails, so the list only shrinks
    case(
        "stale allow-list line",
        {"crates/demo/src/lib.rs": "mod a;\n", "crates/demo/src/a.rs": "pub fn a() {}\n"},
        "crates/demo/src/a.rs crates/demo/src/b.rs\n",
        1,
        [
            "stale: cycles.allow line 1 lists a cycle that no longer exists, remove it: crates/demo/src/a.rs crates/demo/src/b.rs",
        ],
    )
    if failures:
        print("self-test failed: %s" % ", ".join(failures))
        return 1
    print("self-test passed")
    return 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=os.path.dirname(here), help="repository root (default: this one)")
    parser.add_argument("--allow", help="allow-list (default: scripts/import-cycles.allow of this repository)")
    parser.add_argument("--self-test", action="store_true", help="check the checker on fake crates")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    allow = args.allow or os.path.join(here, "import-cycles.allow")
    return check(args.root, allow, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
