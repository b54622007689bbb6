#!/usr/bin/env python3
"""Check every declaration in the Unity stubs against Unity's C# reference source.

The stubs (one file per Unity module, next to this script) declare what LSD Bridge's Unity
layer uses. This script finds each stub type in the reference-source files its "@ref" line
names, in every Unity version its "@versions" line names (a git branch of
github.com/Unity-Technologies/UnityCsReference), and each member in that type: same kind,
same name, same parameter types, same return or property type, static when the stub is,
public, a setter where the stub has one, the same value for enum members. It prints one line
per member and version and writes VERIFIED.md (the table the package README points at).

    python3 check_stubs.py --reference /path/to/UnityCsReference[.git] [--write-report]

Needs git and a clone of UnityCsReference (any clone with the version branches; no network).
`members()` parses the stubs alone (no reference source needed): the unit tests use it to
check that VERIFIED.md lists exactly the stubs' members.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPORT = HERE / "VERIFIED.md"

_IDENT = r"[A-Za-z_]\w*"


@dataclass
class StubType:
    module: str
    namespace: str
    kind: str  # class | struct | enum
    name: str
    refs: list[str]
    versions: list[str]
    public: bool


@dataclass
class Member:
    owner: StubType
    kind: str  # type ctor method property field event delegate operator enum
    name: str
    params: list[str] = field(default_factory=list)
    type: str = ""  # return / property / field / event type; enum: value text
    static: bool = False
    setter: bool = False
    versions: list[str] = field(default_factory=list)
    line: str = ""

    @property
    def key(self) -> str:
        t = self.owner
        base = f"{t.namespace}.{t.name}"
        if self.kind == "type":
            return f"{base} ({t.kind}{' : ' + self.type if self.type else ''})"
        if self.kind in ("ctor", "method", "operator", "delegate"):
            return f"{base}.{self.name}({', '.join(self.params)})"
        return f"{base}.{self.name}"


# ---- stub parsing ------------------------------------------------------------------------


def _norm_type(t: str) -> str:
    t = re.sub(r"\s+", "", t)
    t = re.sub(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])", "", t)  # drop namespace qualifiers
    return {"Object": "Object", "Int32": "int", "Boolean": "bool", "Single": "float"}.get(t, t)


def _split_top(s: str, sep: str = ",") -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "<([{":
            depth += 1
        elif ch in ">)]}":
            depth -= 1
        if ch == sep and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return out


def _strip_attributes(s: str) -> str:
    out, depth = "", 0
    for ch in s:
        if ch == "[":
            depth += 1
            continue
        if ch == "]" and depth:
            depth -= 1
            continue
        if depth == 0:
            out += ch
    return out


def _params(text: str) -> list[str]:
    result = []
    for p in _split_top(text):
        p = _strip_attributes(p)
        p = p.split("=")[0].strip()
        if not p:
            continue
        words = p.split()
        *type_words, _name = words
        mods = [w for w in type_words if w in ("this", "params", "ref", "out", "in")]
        typ = "".join(w for w in type_words if w not in mods)
        result.append(" ".join(mods + [_norm_type(typ)]))
    return result


_TYPE_DECL = re.compile(
    rf"^\s*(public|internal)?\s*((?:static|sealed|abstract|partial|unsafe)\s+)*(class|struct|enum)\s+({_IDENT})"
)


def _parse_member(line: str, owner: StubType, versions: list[str]) -> Member | None:
    code = line.split("//")[0].strip()
    if code in ("", "{", "}") or code.startswith("#"):
        return None
    if code.startswith("private ") or re.match(rf"^[\w<>]+\s+{_IDENT}\.{_IDENT}\s*\(", code):
        return None  # a private constructor that hides the default one; an explicit interface implementation
    if not code.startswith("public"):
        raise ValueError(f"stub members are public (the package uses no internal Unity API): {code}")
    head = code.split("{")[0].strip().rstrip(";").strip()
    words = head.split("(")[0].split()
    static = "static" in words
    m = re.match(rf"public\s+delegate\s+(.+?)\s+({_IDENT})\s*\((.*)\)$", head)
    if m:
        return Member(
            owner,
            "delegate",
            m.group(2),
            _params(m.group(3)),
            _norm_type(m.group(1)),
            line=line,
            versions=versions,
        )
    m = re.match(
        r"public\s+static\s+(implicit\s+|explicit\s+)?(\S+)?\s*operator\s*([^\s(]+)\s*\((.*)\)$", head
    )
    if m:
        name = "operator " + (m.group(3) if not m.group(1) else m.group(1).strip() + " " + m.group(3))
        return Member(owner, "operator", name, _params(m.group(4)), static=True, line=line, versions=versions)
    m = re.match(rf"public\s+({_IDENT})\s*\((.*)\)$", head)
    if m and m.group(1) == owner.name:
        return Member(owner, "ctor", owner.name, _params(m.group(2)), line=line, versions=versions)
    m = re.match(
        rf"public\s+(?:(?:static|virtual|override|unsafe|extern)\s+)*(.+?)\s+({_IDENT})(<[^>]*>)?"
        rf"\s*\((.*)\)(\s*where .*)?$",
        head,
    )
    if m:
        return Member(
            owner,
            "method",
            m.group(2) + (m.group(3) or ""),
            _params(m.group(4)),
            _norm_type(m.group(1)),
            static=static,
            line=line,
            versions=versions,
        )
    m = re.match(rf"public\s+(?:static\s+)?event\s+(.+?)\s+({_IDENT})$", head)
    if m:
        return Member(
            owner,
            "event",
            m.group(2),
            type=_norm_type(m.group(1)),
            static=static,
            line=line,
            versions=versions,
        )
    m = re.match(rf"public\s+(?:(?:static|virtual|override|extern)\s+)*(.+?)\s+({_IDENT})$", head)
    if m:
        kind = "property" if "{" in code else "field"
        setter = kind == "property" and re.search(r"\bset\b", code) is not None
        return Member(
            owner,
            kind,
            m.group(2),
            type=_norm_type(m.group(1)),
            static=static,
            setter=setter,
            line=line,
            versions=versions,
        )
    raise ValueError(f"stub line not understood: {line.strip()}")


def parse_stub(path: Path) -> list[Member]:
    text = path.read_text()
    module = re.search(r"@module\s+(\S+)", text)
    file_versions = re.search(r"^//\s*@versions\s+(.+)$", text, re.M)
    if not module or not file_versions:
        raise ValueError(f"{path.name}: needs '// @module' and '// @versions' header lines")
    default_versions = file_versions.group(1).split()
    namespace, refs, current, depth, type_depth = "", [], None, 0, -1
    members: list[Member] = []
    for line in text.splitlines():
        stripped = line.strip()
        ns = re.match(r"namespace\s+([\w.]+)", stripped)
        if ns:
            namespace = ns.group(1)
        r = re.match(r"//\s*@ref\s+(.+)$", stripped)
        if r:
            refs = r.group(1).split()
        decl = _TYPE_DECL.match(line)
        own_versions = re.search(r"//\s*@versions\s+(.+)$", line)
        versions = own_versions.group(1).split() if own_versions else default_versions
        if decl and (current is None or depth <= type_depth):
            if not refs:
                raise ValueError(f"{path.name}: type {decl.group(4)} has no '// @ref' line before it")
            current = StubType(
                module.group(1),
                namespace,
                decl.group(3),
                decl.group(4),
                refs,
                versions,
                decl.group(1) == "public",
            )
            bases = line.split(":", 1)[1].split("where")[0] if ":" in line else ""
            members.append(
                Member(
                    current,
                    "type",
                    current.name,
                    versions=versions,
                    line=line,
                    type=", ".join(_norm_type(b) for b in _split_top(bases) if b.strip()),
                )
            )
            refs = []
            type_depth = depth
        elif current is not None and depth == type_depth + 1 and not stripped.startswith("//"):
            if current.kind == "enum":
                e = re.match(rf"({_IDENT})\s*(=\s*([^,]+))?,?$", stripped)
                if e:
                    members.append(
                        Member(
                            current,
                            "enum",
                            e.group(1),
                            type=(e.group(3) or "").strip(),
                            line=line,
                            versions=versions,
                        )
                    )
            else:
                mem = _parse_member(line, current, versions)
                if mem:
                    members.append(mem)
        depth += line.count("{") - line.count("}")
        if current is not None and "}" in line and depth <= type_depth:
            current = None
    return members


def stub_files(folder: Path = HERE) -> list[Path]:
    return sorted(folder.glob("Unity*.cs"))


def members(folder: Path = HERE) -> list[Member]:
    out: list[Member] = []
    for f in stub_files(folder):
        out += parse_stub(f)
    return out


# ---- reference source --------------------------------------------------------------------


def _strip_comments(src: str) -> str:
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r'@"(?:[^"]|"")*"', '""', src)
    src = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', src)
    return re.sub(r"//[^\n]*", "", src)


def _match_brace(src: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(src)):
        if src[i] == "{":
            depth += 1
        elif src[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return len(src)


def _namespace_at(src: str, pos: int) -> str:
    ns = ""
    for m in re.finditer(r"\bnamespace\s+([\w.]+)", src[:pos]):
        ns = m.group(1)
    return ns


def _blank_nested_types(body: str) -> str:
    """Blank the bodies of types nested in `body` so their members do not count as the outer type's."""
    out = body
    for m in re.finditer(rf"\b(class|struct|enum|interface)\s+{_IDENT}[^{{;]*\{{", body):
        start = m.end() - 1
        end = _match_brace(body, start)
        out = out[: start + 1] + " " * (end - start - 1) + out[end:]
    return out


class Reference:
    def __init__(self, git_dir: Path):
        self.git_dir = git_dir
        self._cache: dict[tuple[str, str], str | None] = {}

    def show(self, branch: str, path: str) -> str | None:
        key = (branch, path)
        if key not in self._cache:
            proc = subprocess.run(
                ["git", "--git-dir", str(self.git_dir), "show", f"{branch}:{path}"],
                capture_output=True,
                text=True,
                errors="replace",
            )
            self._cache[key] = _strip_comments(proc.stdout) if proc.returncode == 0 else None
        return self._cache[key]

    def commit(self, branch: str) -> str:
        return subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "rev-parse", branch], capture_output=True, text=True
        ).stdout.strip()

    def public_elsewhere(self, branch: str, t: StubType) -> bool:
        proc = subprocess.run(
            [
                "git",
                "--git-dir",
                str(self.git_dir),
                "grep",
                "-lE",
                rf"public\s+((static|sealed|abstract|partial)\s+)*{t.kind}\s+{t.name}\b",
                branch,
                "--",
                "*.cs",
            ],
            capture_output=True,
            text=True,
        )
        for hit in proc.stdout.split():
            src = self.show(branch, hit.split(":", 1)[1])
            if src and any(
                _namespace_at(src, m.start()) == t.namespace
                for m in re.finditer(
                    rf"public\s+((static|sealed|abstract|partial)\s+)*{t.kind}\s+{t.name}\b", src
                )
            ):
                return True
        return False

    def type_bodies(self, branch: str, t: StubType) -> tuple[list[str], bool, list[str], set[str]]:
        """(bodies of the type's parts in its ref files, any part public, problems, base types)"""
        bodies, public, problems, bases = [], False, [], set()
        for path in t.refs:
            src = self.show(branch, path)
            if src is None:
                continue
            for m in re.finditer(
                rf"((?:\b\w+\s+)*)\b(class|struct|enum|interface)\s+{t.name}\b([^{{;]*)\{{", src
            ):
                if _namespace_at(src, m.start()) != t.namespace:
                    continue
                if m.group(2) != t.kind:
                    problems.append(f"{path} declares it as {m.group(2)}, the stub as {t.kind}")
                    continue
                end = _match_brace(src, m.end() - 1)
                bodies.append(_blank_nested_types(src[m.end() : end]))
                public |= "public" in m.group(1).split()
                tail = re.sub(r"^\s*<[^>]*>", "", m.group(3))
                if ":" in tail:
                    bases |= {
                        _norm_type(b)
                        for b in _split_top(tail.split(":", 1)[1].split(" where ")[0])
                        if b.strip()
                    }
        return bodies, public, problems, bases


def _prefix(body: str, pos: int) -> str:
    start = max(body.rfind(";", 0, pos), body.rfind("{", 0, pos), body.rfind("}", 0, pos)) + 1
    return _strip_attributes(body[start:pos])


def _paren(body: str, open_at: int) -> str:
    depth = 0
    for i in range(open_at, len(body)):
        if body[i] == "(":
            depth += 1
        elif body[i] == ")":
            depth -= 1
            if depth == 0:
                return body[open_at + 1 : i]
    return ""


def _enum_values(body: str) -> dict[str, str]:
    values, last = {}, -1
    for item in _split_top(_strip_attributes(body)):
        item = item.strip()
        if not item:
            continue
        name, _, expr = item.partition("=")
        name = name.strip()
        if not re.fullmatch(_IDENT, name):
            continue
        expr = expr.strip()
        if expr:
            text = expr
            for known, v in sorted(values.items(), key=lambda kv: -len(kv[0])):
                text = re.sub(rf"\b{known}\b", f"({v})", text)
            try:
                last = int(eval(text, {"__builtins__": {}}))  # noqa: S307 - integers and | << only
            except Exception:  # noqa: BLE001 - an expression we cannot evaluate: keep its text
                values[name] = expr
                continue
        else:
            last += 1
        values[name] = str(last)
    return values


def find_member(member: Member, bodies: list[str]) -> str | None:
    """None when `member` is declared in one of `bodies`, else what was found instead."""
    seen: list[str] = []
    for body in bodies:
        if member.kind == "enum":
            values = _enum_values(body)
            if member.name in values:
                want = member.type
                if not want:
                    return None
                got = values[member.name]
                try:
                    if int(eval(want, {"__builtins__": {}})) == int(got):  # noqa: S307
                        return None
                except Exception:  # noqa: BLE001
                    pass
                seen.append(f"value {got}")
            continue
        if member.kind in ("ctor", "method", "delegate"):
            base = member.name.split("<")[0]
            pattern = rf"\b{base}\s*(<[^>(]*>)?\s*\("
        elif member.kind == "operator":
            op = member.name.split()[-1]
            pattern = rf"\boperator\s*{re.escape(op)}\s*\("
        else:
            pattern = rf"\b{member.name}\b\s*(\{{|=>|;|=)"
        for m in re.finditer(pattern, body):
            pre = _prefix(body, m.start())
            words = pre.split()
            if "public" not in words:
                continue
            if member.kind in ("ctor", "method", "operator", "delegate"):
                if member.kind == "ctor" and len(words) != 1 + words.count("extern") + words.count("unsafe"):
                    continue  # "public Foo(" only: otherwise it is a method returning Foo
                if member.kind == "delegate" and "delegate" not in words:
                    continue
                params = _params(_paren(body, body.index("(", m.start())))
                if params != member.params:
                    seen.append("(" + ", ".join(params) + ")")
                    continue
                if member.kind == "method":
                    ret = _norm_type(
                        " ".join(
                            w
                            for w in words
                            if w
                            not in (
                                "public",
                                "static",
                                "extern",
                                "virtual",
                                "override",
                                "unsafe",
                                "new",
                                "sealed",
                            )
                        )
                    )
                    if ret != member.type:
                        seen.append(f"returns {ret}")
                        continue
            else:
                decl_type = _norm_type(
                    " ".join(
                        w
                        for w in words
                        if w
                        not in (
                            "public",
                            "static",
                            "extern",
                            "virtual",
                            "override",
                            "readonly",
                            "new",
                            "event",
                            "const",
                        )
                    )
                )
                if member.kind == "event" and "event" not in words:
                    continue
                if decl_type != member.type:
                    seen.append(f"type {decl_type}")
                    continue
                if member.setter:
                    accessors = (
                        body[m.end() - 1 : _match_brace(body, m.end() - 1)] if m.group(1) == "{" else ""
                    )
                    if not re.search(r"\bset\b", accessors):
                        seen.append("no setter")
                        continue
            if member.static != ("static" in words or "const" in words) and member.kind not in (
                "ctor",
                "delegate",
            ):
                seen.append("static" if "static" in words else "instance")
                continue
            return None
    return "not found" + (" (found: " + "; ".join(sorted(set(seen))) + ")" if seen else "")


def check(
    reference: Reference, folder: Path = HERE
) -> tuple[list[tuple[Member, dict[str, str | None]]], dict[str, str]]:
    results = []
    commits: dict[str, str] = {}
    bodies_cache: dict[tuple[str, str], tuple[list[str], bool, list[str], set[str]]] = {}
    for member in members(folder):
        outcome: dict[str, str | None] = {}
        for v in member.versions:
            commits.setdefault(v, reference.commit(v))
            key = (v, f"{member.owner.namespace}.{member.owner.name}")
            if key not in bodies_cache:
                bodies_cache[key] = reference.type_bodies(v, member.owner)
            bodies, public, problems, bases = bodies_cache[key]
            if problems:
                outcome[v] = "; ".join(problems)
            elif not bodies:
                outcome[v] = f"type not found in {' '.join(member.owner.refs)}"
            elif not public and member.owner.public and not reference.public_elsewhere(v, member.owner):
                outcome[v] = "type not public"
            elif member.kind == "type":
                missing = [b for b in member.type.split(", ") if b and b not in bases]
                outcome[v] = (
                    f"does not derive from {', '.join(missing)} (bases: {', '.join(sorted(bases))})"
                    if missing
                    else None
                )
            else:
                outcome[v] = find_member(member, bodies)
        results.append((member, outcome))
    return results, commits


def write_report(results: list[tuple[Member, dict[str, str | None]]], commits: dict[str, str]) -> str:
    versions = sorted({v for _, o in results for v in o}, key=lambda v: [int(x) for x in v.split(".")])
    lines = [
        "# Unity API used by LSD Bridge, checked against Unity's C# reference source",
        "",
        "Generated by `check_stubs.py --reference <UnityCsReference> --write-report`; do not edit.",
        "Each row is one declaration in the stubs (`UnityStubs/*.cs`),",
        "which CI compiles the package against.",
        "✓: declared in that version with the same kind, parameter types, type, staticness and visibility",
        "(and a setter / enum value where the stub has one).",
        "",
        "Reference commits: " + ", ".join(f"{v} `{commits[v][:12]}`" for v in versions),
        "",
        "| module | declaration | " + " | ".join(versions) + " |",
        "|---|---|" + "---|" * len(versions),
    ]
    for member, outcome in results:
        cells = [
            "✓" if outcome.get(v, "n/a") is None else ("—" if v not in outcome else "✗ " + str(outcome[v]))
            for v in versions
        ]
        lines.append(f"| {member.owner.module} | `{member.key}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--reference", type=Path, required=True, help="UnityCsReference clone (work tree or git dir)"
    )
    ap.add_argument("--write-report", action="store_true", help=f"write {REPORT.name}")
    args = ap.parse_args(argv)
    git_dir = args.reference / ".git" if (args.reference / ".git").exists() else args.reference
    results, commits = check(Reference(git_dir))
    failed = 0
    for member, outcome in results:
        for v, problem in outcome.items():
            if problem is not None:
                failed += 1
                print(f"FAIL {v} {member.key}: {problem}")
    print(f"{len(results)} declarations, {sum(len(o) for _, o in results)} checks, {failed} failed")
    if args.write_report:
        REPORT.write_text(write_report(results, commits))
        print(f"wrote {REPORT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
