"""ASI05 unexpected code execution: read the code an agent wants to run and refuse what is dangerous.

``code_exec`` actions and calls of shell-like or Python-like tools are parsed, never run:
Python with :mod:`ast` (imports and their aliases are followed, so ``import subprocess as sp;
sp.run`` and ``from os import system as s`` are seen), shell with :mod:`shlex` after splitting
on ``;``, ``&&``, ``||``, ``|``, ``&``, newlines and extracting ``$( )``, backticks and process
substitution ``<( )``, which are analysed recursively (as are ``bash -c`` / ``python -c``).

What is found is reported by category; the policy allows categories by name:

===================  ==========================================================================
``process``          subprocess, os.system / os.exec* / os.spawn* / os.fork, pty, multiprocessing
``eval``             eval, exec, compile, __import__, importlib, runpy, marshal/pickle loads,
                     shell ``eval``, inline ``perl -e`` / ``ruby -e`` / ``node -e``
``network``          socket, urllib, requests, http, httpx, ... ; curl, wget, nc, ssh, ...
``fs_write``         writes, deletes, renames outside ``allow_write_paths`` (or to unknown paths)
``destructive``      ``rm -rf``, mkfs, dd to devices, shred, fork bombs, shutdown, shutil.rmtree
``permissions``      chmod 777 / a+rwx / o+w / setuid
``pipe_to_shell``    ``curl … | sh``, ``wget -O- | bash``, ``bash <(curl …)``, anything piped into
                     a shell or interpreter
``encoded``          base64 / hex decoded content that is executed
``reverse_shell``    /dev/tcp, ``nc -e``, ``socat exec:``, ``bash -i >& …``
``obfuscation``      getattr(__builtins__, …), dunder walking (__subclasses__, __globals__),
                     command names built from variables, ``$'\\x..'`` quoting, IFS tricks
``privilege``        sudo, su, doas
``unparseable``      code that cannot be parsed (refused: fail closed)
===================  ==========================================================================
"""

from __future__ import annotations

import ast
import posixpath
import re
import shlex
from typing import Any, Callable, Iterable, Optional

from ..hookspecs import hookimpl
from ..models import Action, Decision
from ._common import Section, glob_matcher

__all__ = ["CodeExecPlugin", "analyse_python", "analyse_shell", "CATEGORIES", "Findings"]

CATEGORIES = ("process", "eval", "network", "fs_write", "destructive", "permissions", "pipe_to_shell",
              "encoded", "reverse_shell", "obfuscation", "privilege", "unparseable")
_MAX_CODE = 200_000
_MAX_DEPTH = 6


class Findings:
    """Categories found, each with the first few pieces of evidence."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}

    def add(self, category: str, evidence: str) -> None:
        ev = self.items.setdefault(category, [])
        if len(ev) < 3 and evidence not in ev:
            ev.append(evidence[:120])

    def __contains__(self, category: str) -> bool:
        return category in self.items

    def categories(self) -> list[str]:
        return list(self.items)


class WritePaths:
    """Where code may write: globs over normalised absolute paths (``*`` crosses directories).
    Relative paths are inside the agent's working directory (``./`` in patterns); ``..`` is
    resolved before matching, and paths built from variables or ``~`` are never allowed."""

    _ROOT = "/__workdir__"

    def __init__(self, patterns: Iterable[str]) -> None:
        norm = [self._norm(p) for p in patterns]
        self._match = glob_matcher([n for n in norm if n])
        self._always = frozenset(("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"))

    def _norm(self, path: str) -> Optional[str]:
        if not path or "$" in path or path.startswith("~") or "`" in path:
            return None
        if not path.startswith("/"):
            path = posixpath.join(self._ROOT, path)
        out = posixpath.normpath(path)
        if path.endswith("/*") and not out.endswith("*"):
            out += "/*"
        return out

    def allowed(self, path: str) -> bool:
        n = self._norm(path)
        if n is None:
            return False
        return n in self._always or self._match(n)


# -------------------------------------------------------------------------------------------
# Python
# -------------------------------------------------------------------------------------------

_PY_PROCESS = ("subprocess", "pty", "multiprocessing", "pexpect", "sh", "plumbum", "commands", "popen2",
               "os.system", "os.popen", "os.exec", "os.spawn", "os.fork", "os.forkpty", "os.posix_spawn",
               "os.startfile", "os.kill", "os.killpg", "asyncio.create_subprocess", "posix.system")
_PY_NETWORK = ("socket", "urllib", "urllib2", "urllib3", "requests", "http", "httpx", "aiohttp", "ftplib",
               "smtplib", "telnetlib", "paramiko", "websocket", "websockets", "ssl", "xmlrpc", "poplib",
               "imaplib", "nntplib", "asyncio.open_connection", "pycurl", "scapy")
_PY_EVAL = ("eval", "exec", "compile", "__import__", "execfile", "importlib", "imp", "runpy", "code",
            "marshal.loads", "pickle.loads", "pickle.load", "dill", "ctypes", "cffi", "builtins.eval",
            "builtins.exec", "builtins.compile", "builtins.__import__", "types.FunctionType", "types.CodeType")
_PY_DECODE = ("base64", "codecs.decode", "binascii", "zlib.decompress", "bytes.fromhex", "bz2", "lzma")
_PY_DESTRUCTIVE = ("shutil.rmtree",)
_PY_WRITE_FUNCS = {"os.remove": 0, "os.unlink": 0, "os.rmdir": 0, "os.removedirs": 0, "os.rename": 1,
                   "os.replace": 1, "os.makedirs": 0, "os.mkdir": 0, "os.symlink": 1, "os.link": 1,
                   "os.truncate": 0, "shutil.copy": 1, "shutil.copy2": 1, "shutil.copyfile": 1,
                   "shutil.copytree": 1, "shutil.move": 1, "shutil.rmtree": 0, "os.chmod": 0, "os.chown": 0}
_PATH_METHODS = ("write_text", "write_bytes", "unlink", "rmdir", "touch", "mkdir", "rename", "replace",
                 "symlink_to", "hardlink_to", "chmod")
_DANGER_ATTRS = frozenset("""__builtins__ __globals__ __subclasses__ __bases__ __base__ __mro__ __code__
    __import__ __getattribute__ __loader__ __spec__ __closure__ f_globals f_locals f_back f_builtins gi_frame
    cr_frame co_code func_globals __reduce__ __reduce_ex__""".split())


def _prefixed(qual: str, table: tuple[str, ...]) -> bool:
    for t in table:
        if qual == t or qual.startswith(t + ".") or (t.endswith(("exec", "spawn", "posix_spawn", "create_subprocess"))
                                                       and qual.startswith(t)):
            return True
    return False


def _const_str(node: Any) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


_TABLES = (_PY_PROCESS, _PY_NETWORK, _PY_EVAL, _PY_DESTRUCTIVE)
_EVAL_BUILTINS = frozenset(("eval", "exec", "compile", "__import__", "execfile"))


def _bound_names(tree: ast.AST) -> set[str]:
    """Names the code binds itself (assignments, loop and ``with`` targets, parameters, defs):
    ``code = "x"; code.lower()`` is a local string, not the ``code`` module."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
    return out


class _PyVisitor(ast.NodeVisitor):
    def __init__(self, f: Findings, paths: WritePaths, depth: int, bound: Optional[set[str]] = None) -> None:
        self.f = f
        self.paths = paths
        self.depth = depth
        self.names: dict[str, str] = {}
        self.bound: set[str] = bound or set()
        self.star: list[str] = []
        self.dup2 = False

    # names ---------------------------------------------------------------------------------
    def qual(self, node: Any) -> Optional[str]:
        if isinstance(node, ast.Name):
            n = node.id
            if n in self.names:
                return self.names[n]
            if n in self.bound:
                return None  # a local variable of the code, not a module
            for mod in self.star:  # from os import *; system(...)
                cand = f"{mod}.{n}"
                if any(_prefixed(cand, t) for t in _TABLES):
                    return cand
            return n
        if isinstance(node, ast.Attribute):
            base = self.qual(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            fq = self.qual(node.func)
            if fq in ("__import__", "importlib.import_module", "builtins.__import__") and node.args:
                return _const_str(node.args[0])
            if fq in ("getattr", "builtins.getattr") and len(node.args) >= 2:
                attr = _const_str(node.args[1])
                base = self.qual(node.args[0])
                if attr and base:
                    return f"{base}.{attr}"
            return None
        if isinstance(node, ast.Subscript):
            # sys.modules['os'], os.__dict__['system'], vars(os)['system'], globals()['os']
            key = _const_str(node.slice)
            if key is None:
                return None
            v = node.value
            if isinstance(v, ast.Call):
                fq = self.qual(v.func)
                if fq in ("vars", "builtins.vars") and v.args:
                    base = self.qual(v.args[0])
                    return f"{base}.{key}" if base else None
                if fq in ("globals", "locals", "builtins.globals", "builtins.locals"):
                    return self.names.get(key, key)
                return None
            base = self.qual(v)
            if base is None:
                return None
            if base == "sys.modules":
                return key
            if base in ("__builtins__", "builtins.__dict__", "__builtins__.__dict__"):
                return f"builtins.{key}"
            if base.endswith(".__dict__"):
                return f"{base[:-9]}.{key}"
            return None
        return None

    def classify(self, qual: str, where: str) -> None:
        if _prefixed(qual, _PY_PROCESS):
            self.f.add("process", f"{where} {qual}")
        if _prefixed(qual, _PY_NETWORK):
            self.f.add("network", f"{where} {qual}")
        if _prefixed(qual, _PY_EVAL):
            self.f.add("eval", f"{where} {qual}")
        if _prefixed(qual, _PY_DESTRUCTIVE):
            self.f.add("destructive", f"{where} {qual}")

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.asname:
                self.names[a.asname] = a.name
            else:
                self.names[a.name.split(".")[0]] = a.name.split(".")[0]
            self.classify(a.name, "import")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        mod = node.module or ""
        for a in node.names:
            full = f"{mod}.{a.name}" if mod else a.name
            if a.name == "*":
                self.classify(mod, "from-import *")
                self.star.append(mod)
                continue
            self.names[a.asname or a.name] = full
            self.classify(full, "import")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in _DANGER_ATTRS:
            self.f.add("obfuscation", f"name {node.id}")
        elif node.id in _EVAL_BUILTINS and node.id not in self.bound and node.id not in self.names:
            self.f.add("eval", f"reference {node.id}")  # f = eval; [exec][0](...)

    def _is_callee(self, node: Any) -> bool:
        parent = getattr(node, "_parent", None)
        return isinstance(parent, ast.Call) and parent.func is node

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in _DANGER_ATTRS:
            self.f.add("obfuscation", f"attribute .{node.attr}")
        if not self._is_callee(node) and not isinstance(getattr(node, "_parent", None), ast.Attribute):
            q = self.qual(node)
            if q is not None:
                self.classify(q, "reference")  # run = os.system; {'go': os.popen}
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        q = self.qual(node)
        if q is not None:
            self.classify(q, "reference")
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for t in node.targets:
            self.visit(t)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            q = self.qual(node.value) if isinstance(node.value, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)) else None
            if q is not None:
                self.names[node.targets[0].id] = q  # an alias: run = os.system; m = importlib.import_module('os')

    def visit_Call(self, node: ast.Call) -> None:
        q = self.qual(node.func)
        if q is not None:
            self.classify(q, "call")
            self._call_checks(q, node)
        elif isinstance(node.func, ast.Attribute) and node.func.attr in _PATH_METHODS:
            self._path_method(node)
        self.generic_visit(node)

    def _call_checks(self, q: str, node: ast.Call) -> None:
        short = q.rsplit(".", 1)[-1]
        if q == "os.dup2":
            self.dup2 = True
        if q in ("getattr", "setattr", "delattr", "builtins.getattr"):
            if len(node.args) >= 2 and _const_str(node.args[1]) is None:
                self.f.add("obfuscation", f"{q} with a computed attribute name")
            elif len(node.args) >= 2:
                attr = _const_str(node.args[1]) or ""
                if attr in _DANGER_ATTRS or attr in ("system", "popen", "eval", "exec", "__import__"):
                    self.f.add("obfuscation", f"{q}(…, {attr!r})")
        if q in ("globals", "vars", "locals") and isinstance(getattr(node, "_parent", None), ast.Subscript):
            self.f.add("obfuscation", f"{q}()[…]")
        if q in ("eval", "exec", "compile", "builtins.eval", "builtins.exec") and node.args:
            inner = node.args[0]
            src = _const_str(inner)
            if src is not None and self.depth < _MAX_DEPTH:
                _analyse_python_into(src, self.f, self.paths, self.depth + 1)
            for sub in ast.walk(inner):
                sq = self.qual(sub.func) if isinstance(sub, ast.Call) else None
                if sq and (_prefixed(sq, _PY_DECODE) or sq.endswith(("b64decode", "fromhex", "decompress", "unhexlify"))):
                    self.f.add("encoded", f"{q}({sq}(…))")
                elif isinstance(sub, ast.Attribute) and sub.attr in ("decode",):
                    self.f.add("encoded", f"{q}(….decode())")
        if q in ("open", "io.open", "builtins.open", "codecs.open", "os.open", "os.fdopen"):
            self._open(q, node)
        elif q in _PY_WRITE_FUNCS:
            self._write_path(q, node, _PY_WRITE_FUNCS[q])
            if q == "os.chmod":
                self._chmod_mode(node)
        elif short in _PATH_METHODS and ("Path" in q or "pathlib" in q):
            self._path_method(node)

    def _open(self, q: str, node: ast.Call) -> None:
        mode: Optional[str] = "r"
        if len(node.args) >= 2:
            mode = _const_str(node.args[1])
            if mode is None and not isinstance(node.args[1], ast.Constant):
                mode = None
        for kw in node.keywords:
            if kw.arg in ("mode", "flags"):
                mode = _const_str(kw.value)
        if q == "os.open":
            mode = None if len(node.args) >= 2 else "r"  # flags are ints: assume writing
        if mode is not None and not any(c in mode for c in "wax+"):
            return
        self._check_path_arg(node.args[0] if node.args else None, f"{q}(…, {mode!r})")

    def _check_path_arg(self, arg: Any, what: str) -> None:
        path = None
        if arg is not None:
            path = _const_str(arg)
            if path is None and isinstance(arg, ast.Call) and self.qual(arg.func) in ("Path", "pathlib.Path", "PurePath") and arg.args:
                path = _const_str(arg.args[0])
        if path is None:
            self.f.add("fs_write", f"{what} to a path computed at run time")
        elif not self.paths.allowed(path):
            self.f.add("fs_write", f"{what} to {path!r}")

    def _write_path(self, q: str, node: ast.Call, idx: int) -> None:
        arg = node.args[idx] if len(node.args) > idx else None
        self._check_path_arg(arg, q)

    def _chmod_mode(self, node: ast.Call) -> None:
        if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, int):
            mode = node.args[1].value
            if mode & 0o002 or mode & 0o4000 or mode & 0o2000:
                self.f.add("permissions", f"os.chmod(…, {oct(mode)})")

    def _path_method(self, node: ast.Call) -> None:
        func = node.func
        assert isinstance(func, ast.Attribute)
        base = func.value
        arg = None
        if isinstance(base, ast.Call) and self.qual(base.func) in ("Path", "pathlib.Path", "PurePath", "pathlib.PurePath"):
            arg = base.args[0] if base.args else None
        self._check_path_arg(arg, f"Path.{func.attr}()")


def _attach_parents(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            child._parent = node  # type: ignore[attr-defined]


def _analyse_python_into(code: str, f: Findings, paths: WritePaths, depth: int = 0) -> None:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        f.add("unparseable", f"Python: {type(exc).__name__}: {getattr(exc, 'msg', exc)}")
        return
    _attach_parents(tree)
    v = _PyVisitor(f, paths, depth, _bound_names(tree))
    v.visit(tree)
    if "network" in f and ("process" in f or v.dup2):
        if any("socket" in e for e in f.items["network"]):
            f.add("reverse_shell", "socket connected to a process or duplicated file descriptors")


def analyse_python(code: str, write_paths: Iterable[str] = ("/tmp/*", "./*")) -> Findings:
    """Dangerous constructs in Python source (nothing is executed)."""
    f = Findings()
    _analyse_python_into(code, f, WritePaths(write_paths))
    return f


# -------------------------------------------------------------------------------------------
# Shell
# -------------------------------------------------------------------------------------------

_SHELLS = frozenset("sh bash zsh dash ksh mksh ash fish csh tcsh busybox rbash".split())
_INTERPRETERS = frozenset("python python2 python3 perl ruby node nodejs php lua tclsh irb pwsh powershell osascript".split())
_NETWORK_CMDS = frozenset("curl wget nc ncat netcat socat telnet ssh scp sftp ftp tftp rsync nmap aria2c lynx "
                          "links w3m httpie http https xh openssl".split())
_WRAPPERS = frozenset("env nohup time nice ionice command builtin stdbuf unbuffer setsid exec chroot".split())
_PRIVILEGE = frozenset("sudo su doas pkexec runuser".split())
_DESTRUCTIVE_CMDS = frozenset("mkfs shred wipefs shutdown reboot halt poweroff init telinit fdisk parted".split())
_WRITE_CMDS = frozenset("tee cp mv install ln touch mkdir rmdir truncate rsync".split())
_FORK_BOMB = re.compile(r"(\w+|:)\s*\(\s*\)\s*\{[^}]*\1\s*\|\s*\1\s*&")
_SUBST_START = re.compile(r"\$\(|<\(|>\(|`")


def _extract_substitutions(s: str) -> tuple[str, list[str], bool]:
    """Replace ``$( )``, ``<( )``, ``>( )`` and backticks (outside single quotes) with a marker;
    return the outer text, the inner commands, and whether parsing was balanced."""
    out: list[str] = []
    inner: list[str] = []
    i, n = 0, len(s)
    in_single = False
    while i < n:
        c = s[i]
        if c == "\\" and not in_single and i + 1 < n:
            out.append(s[i:i + 2])
            i += 2
            continue
        if c == "'" and not in_single:
            # a single-quoted string: copied as is (no substitution inside)
            end = s.find("'", i + 1)
            if end < 0:
                return s, inner, False
            out.append(s[i:end + 1])
            i = end + 1
            continue
        if c == "`":
            end = s.find("`", i + 1)
            if end < 0:
                return s, inner, False
            inner.append(s[i + 1:end])
            out.append(" __LICTOR_SUBST__ ")
            i = end + 1
            continue
        if c in "$<>" and i + 1 < n and s[i + 1] == "(" and not (c == "$" and i + 2 < n and s[i + 2] == "("):
            depth, j = 1, i + 2
            while j < n and depth:
                if s[j] == "(":
                    depth += 1
                elif s[j] == ")":
                    depth -= 1
                j += 1
            if depth:
                return s, inner, False
            inner.append(s[i + 2:j - 1])
            out.append(" __LICTOR_PROCSUB__ " if c in "<>" else " __LICTOR_SUBST__ ")
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out), inner, True


def _tokens(s: str) -> list[str]:
    lex = shlex.shlex(s, posix=True, punctuation_chars=";&|<>()\n")
    lex.whitespace = " \t\r"
    lex.whitespace_split = True
    lex.commenters = "#"
    return list(lex)


_SEPARATORS = frozenset((";", "&&", "||", "&", "\n", ";;", "(", ")", "{", "}", "|&&"))
_PIPES = frozenset(("|", "|&"))
_REDIRECTS = frozenset((">", ">>", ">|", "&>", "&>>", ">&", "<", "<<", "<<<", "<>", "<&"))


def _split(tokens: list[str]) -> list[list[list[str]]]:
    """Tokens -> list of pipelines -> list of commands -> words (redirections kept as words)."""
    pipelines: list[list[list[str]]] = []
    cur: list[list[str]] = [[]]
    for t in tokens:
        if t in _SEPARATORS or (set(t) <= set(";&()\n") and t not in _REDIRECTS and "&>" not in t):
            if any(cur):
                pipelines.append([c for c in cur if c])
            cur = [[]]
        elif t in _PIPES:
            cur.append([])
        else:
            cur[-1].append(t)
    if any(cur):
        pipelines.append([c for c in cur if c])
    return pipelines


def _rm_flags(words: list[str]) -> tuple[bool, bool]:
    r = f = False
    for w in words:
        if w == "--":
            break
        if w.startswith("--"):
            r = r or w in ("--recursive",)
            f = f or w in ("--force", "--no-preserve-root")
        elif w.startswith("-"):
            r = r or "r" in w or "R" in w
            f = f or "f" in w
    return r, f


def _wide_target(t: str) -> bool:
    """A path whose removal wipes a root: /, ~, the working directory, a top-level directory."""
    if not t or t.startswith(("~", "$")) or "`" in t or "__LICTOR_SUBST__" in t:
        return True
    p = posixpath.normpath(posixpath.join(WritePaths._ROOT, t))
    while p.endswith(("/*", "/.*")) or p == "*":
        p = p.rsplit("/", 1)[0] or "/"
    return p.count("/") <= 1 or p.startswith("/__workdir__/..")


_CHMOD_BAD = re.compile(r"^(?:0?[0-7]?[0-7]{2}[2367]|[0-7]*[4-7][0-7]{3}|.*[ao]?\+[rwx]*s.*|a\+rwx|.*o\+[rx]*w.*|\+rwx|ugo\+rwx)$")


_KEYWORDS = frozenset("if then else elif while until do ! time".split())
_BLOCK_ENDS = frozenset("fi done esac".split())
_HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]+)'|\"([^\"\n]+)\"|\\?([A-Za-z_][A-Za-z0-9_]*))")
_HEREDOC_MARK = "__LICTOR_HEREDOC_"


def _extract_heredocs(code: str) -> tuple[str, list[tuple[str, bool]]]:
    """Take here-document bodies out of the script: ``cmd <<EOF`` becomes ``cmd <<< MARKER``
    (a here-string naming the body). Returns the script and ``(body, expanded)`` per marker
    (``expanded``: unquoted delimiter, so ``$( )`` in the body runs)."""
    if "<<" not in code:
        return code, []
    lines = code.split("\n")
    out: list[str] = []
    bodies: list[tuple[str, bool]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        pending: list[tuple[str, bool, bool]] = []

        def mark(m: "re.Match[str]") -> str:
            if m.start() > 0 and line[m.start() - 1] == "<":
                return m.group(0)  # <<< here-string
            delim = m.group(2) or m.group(3) or m.group(4)
            pending.append((delim, m.group(1) == "-", m.group(4) is not None and not m.group(0).startswith("<<\\")))
            return f"<<< {_HEREDOC_MARK}{len(bodies) + len(pending) - 1}__"

        line = _HEREDOC.sub(mark, line) if "<<" in line else line
        out.append(line)
        for delim, strip_tabs, expanded in pending:
            body: list[str] = []
            while i < len(lines):
                ln = lines[i]
                i += 1
                if (ln.lstrip("\t") if strip_tabs else ln).rstrip() == delim:
                    break
                body.append(ln)
            bodies.append(("\n".join(body), expanded))
    return "\n".join(out), bodies


class _Shell:
    def __init__(self, f: Findings, paths: WritePaths, depth: int) -> None:
        self.f, self.paths, self.depth = f, paths, depth
        self.heredocs: list[tuple[str, bool]] = []
        self.stdin: Optional[str] = None  # text fed to the current command (here-doc / here-string)
        self.downloaded: set[str] = set()  # basenames of files fetched by curl / wget

    def analyse(self, code: str) -> None:
        if self.depth > _MAX_DEPTH:
            self.f.add("obfuscation", "commands nested too deeply")
            return
        code, self.heredocs = _extract_heredocs(code)
        for body, expanded in self.heredocs:
            if expanded and ("$(" in body or "`" in body):
                _, inner_cmds, _ = _extract_substitutions(body)
                for sub in inner_cmds:
                    _Shell(self.f, self.paths, self.depth + 1).analyse(sub)
        if _FORK_BOMB.search(code):
            self.f.add("destructive", "fork bomb")
        if "/dev/tcp/" in code or "/dev/udp/" in code:
            self.f.add("reverse_shell", "/dev/tcp or /dev/udp socket")
        if "$'" in code or "${IFS" in code or "$IFS" in code:
            self.f.add("obfuscation", "$'…' quoting or IFS tricks")
        outer, inner, ok = _extract_substitutions(code)
        if not ok:
            self.f.add("unparseable", "unbalanced quotes or substitution")
            return
        for sub in inner:
            _Shell(self.f, self.paths, self.depth + 1).analyse(sub)
        try:
            tokens = _tokens(outer)
        except ValueError as exc:
            self.f.add("unparseable", f"shell: {exc}")
            return
        all_pipes = _split(tokens)
        decodes_anywhere = False
        runs_code_anywhere = False
        for pipeline in all_pipes:
            names = []
            for idx, words in enumerate(pipeline):
                self.stdin = None
                name, rest = self._command(words)
                names.append(name)
                self._check(name, rest, idx, pipeline, names)
                if name in ("base64", "base32", "xxd", "openssl", "uudecode") and any(
                        w in ("-d", "--decode", "-D", "-r", "-decode") for w in rest):
                    decodes_anywhere = True
                if name in _SHELLS or name in _INTERPRETERS or name in ("eval", "source", "."):
                    runs_code_anywhere = True
            self._pipes(pipeline, names)
        if decodes_anywhere and runs_code_anywhere:
            self.f.add("encoded", "decoded content run by a shell or interpreter")

    def _command(self, words: list[str]) -> tuple[str, list[str]]:
        i = 0
        # redirections and assignments before the command word
        while i < len(words):
            w = words[i]
            if w in _REDIRECTS:
                self._redirect(w, words[i + 1] if i + 1 < len(words) else "")
                i += 2
                continue
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w):
                if w.startswith("IFS="):
                    self.f.add("obfuscation", "IFS assignment")
                i += 1
                continue
            break
        while i < len(words) and words[i] in _KEYWORDS:
            i += 1  # if / then / do / ! ...: the command follows
        if i >= len(words) or words[i] in _BLOCK_ENDS or words[i] in ("for", "select", "case", "in", "function"):
            return "", []
        raw = words[i]
        rest_words = words[i + 1:]
        # strip redirections out of the arguments, checking their targets
        rest: list[str] = []
        j = 0
        while j < len(rest_words):
            w = rest_words[j]
            if w in _REDIRECTS:
                self._redirect(w, rest_words[j + 1] if j + 1 < len(rest_words) else "")
                j += 2
                continue
            rest.append(w)
            j += 1
        if "__LICTOR_SUBST__" in raw or "$" in raw or any(c in raw for c in "*?[") or "\\" in raw:
            self.f.add("obfuscation", f"command name computed at run time ({raw[:40]!r})")
            return raw, rest
        if "/" in raw and posixpath.basename(raw) in self.downloaded:
            self.f.add("pipe_to_shell", f"runs {raw}, a file it downloaded")
        name = posixpath.basename(raw)
        name = re.sub(r"(?<=[a-z])[0-9.]+$", "", name) if name.startswith(("python", "perl", "ruby", "php", "lua")) else name
        if name in _PRIVILEGE:
            self.f.add("privilege", name)
            if name == "su":
                for k, w in enumerate(rest):
                    if w in ("-c", "--command") and k + 1 < len(rest):
                        _Shell(self.f, self.paths, self.depth + 1).analyse(rest[k + 1])
                return name, rest
            opts_with_value = {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"}
            k = 0
            while k < len(rest) and rest[k].startswith("-"):
                k += 2 if rest[k] in opts_with_value else 1
            return self._command(rest[k:]) if k < len(rest) else (name, [])
        if name in _WRAPPERS:
            k = 0
            while k < len(rest) and (rest[k].startswith("-") or "=" in rest[k] or (name in ("nice", "ionice") and rest[k].isdigit())):
                k += 1
            if name == "chroot" and k < len(rest):
                k += 1
            return self._command(rest[k:]) if k < len(rest) else (name, [])
        if name in ("timeout",):
            k = 0
            while k < len(rest) and rest[k].startswith("-"):
                k += 1
            return self._command(rest[k + 1:]) if k + 1 < len(rest) else (name, [])
        if name == "xargs":
            k = 0
            while k < len(rest) and rest[k].startswith("-"):
                k += 2 if rest[k] in ("-I", "-n", "-P", "-L", "-d", "-E", "-s") else 1
            if k < len(rest):
                sub_name, sub_rest = self._command(rest[k:])
                self._check(sub_name, sub_rest, 0, [rest[k:]], [sub_name])
            return name, []
        return name, rest

    def _redirect(self, op: str, target: str) -> None:
        if op == "<<<":
            if target.startswith(_HEREDOC_MARK):
                try:
                    self.stdin = self.heredocs[int(target[len(_HEREDOC_MARK):].rstrip("_"))][0]
                except (ValueError, IndexError):
                    self.stdin = None
            else:
                self.stdin = target
            return
        if op in ("<", "<<", "<&"):
            return
        if op in (">&", "<>") and (target.isdigit() or target == "-"):
            return
        if target in ("", "__LICTOR_PROCSUB__"):
            return
        if target.startswith("/dev/") and target not in ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"):
            if target.startswith(("/dev/sd", "/dev/nvme", "/dev/hd", "/dev/vd", "/dev/xvd", "/dev/mem", "/dev/disk")):
                self.f.add("destructive", f"write to device {target}")
                return
        if not self.paths.allowed(target):
            self.f.add("fs_write", f"redirect {op} {target}")

    def _check(self, name: str, rest: list[str], idx: int, pipeline: list[list[str]], names: list[str]) -> None:
        f = self.f
        if not name:
            return
        if name in _SHELLS or name in _INTERPRETERS:
            inline = None
            for k, w in enumerate(rest):
                if w in ("-c", "-e", "-E", "--command", "-Command", "-r") or (w.startswith("-") and not w.startswith("--") and w[-1:] in "ce" and name in _SHELLS | {"perl", "ruby"}):
                    if k + 1 < len(rest):
                        inline = rest[k + 1]
                    break
            if inline is not None:
                if "__LICTOR_SUBST__" in inline or "$(" in inline or "`" in inline:
                    f.add("pipe_to_shell", f"{name} runs the output of a command substitution")
                if name in _SHELLS:
                    _Shell(f, self.paths, self.depth + 1).analyse(inline)
                elif name.startswith("python"):
                    _analyse_python_into(inline, f, self.paths, self.depth + 1)
                else:
                    f.add("eval", f"inline {name} code")
                    if re.search(r"socket|IO::Socket|TCPSocket|net\.connect|fsockopen", inline):
                        f.add("reverse_shell", f"socket in inline {name} code")
            elif "__LICTOR_PROCSUB__" in rest:
                f.add("pipe_to_shell", f"{name} <(…) runs the output of a command")
            elif self.stdin is not None and not any(not w.startswith("-") for w in rest if w != "-"):
                # a here-document or here-string is the program: read it
                if name in _SHELLS:
                    _Shell(f, self.paths, self.depth + 1).analyse(self.stdin)
                elif name.startswith("python"):
                    _analyse_python_into(self.stdin, f, self.paths, self.depth + 1)
                else:
                    f.add("eval", f"{name} code from a here-document")
            if any(posixpath.basename(w) in self.downloaded for w in rest if not w.startswith("-")):
                f.add("pipe_to_shell", f"{name} runs a file it downloaded")
            if name in _SHELLS and "-i" in rest and any("/dev/tcp" in w for w in rest):
                f.add("reverse_shell", f"{name} -i over /dev/tcp")
        elif name == "eval":
            f.add("eval", "shell eval")
            if any("__LICTOR_SUBST__" in w for w in rest):
                f.add("pipe_to_shell", "eval runs the output of a command substitution")
        elif name in ("source", "."):
            if "__LICTOR_PROCSUB__" in rest:
                f.add("pipe_to_shell", f"{name} <(…)")
        if name in _NETWORK_CMDS and name not in ("openssl",):
            f.add("network", name)
        if name in ("curl", "wget"):
            self._downloads(name, rest)
        if name in ("source", ".") and rest and posixpath.basename(rest[0]) in self.downloaded:
            f.add("pipe_to_shell", f"{name} runs a file it downloaded")
        if name in ("nc", "ncat", "netcat") and any(w in ("-e", "-c", "--exec", "--sh-exec", "--lua-exec") or (w.startswith("-") and not w.startswith("--") and ("e" in w or "c" in w)) for w in rest):
            f.add("reverse_shell", f"{name} -e / -c")
        if name == "socat" and any(re.match(r"(?i)^(exec|system):", w) or ",exec:" in w.lower() for w in rest):
            f.add("reverse_shell", "socat exec:")
        if name == "mkfifo" and any(n in ("nc", "ncat", "netcat", "telnet") for n in names):
            f.add("reverse_shell", "mkfifo with a network pipe")
        if name == "rm":
            r, force = _rm_flags(rest)
            targets = [w for w in rest if not w.startswith("-")]
            outside = [t for t in targets if not self.paths.allowed(t)]
            # rm -rf of a directory inside allow_write_paths is ordinary cleanup; of anything
            # outside them, of a root, home, the working directory or a top-level directory it is not
            if "--no-preserve-root" in rest or (r and force and (bool(outside) or not targets)) or (
                    r and any(_wide_target(t) for t in targets)):
                f.add("destructive", f"rm {' '.join(rest)[:60]}")
            for t in outside:
                f.add("fs_write", f"rm {t}")
        if name.startswith("mkfs") or name in _DESTRUCTIVE_CMDS:
            f.add("destructive", name)
        if name == "dd":
            for w in rest:
                if w.startswith("of="):
                    target = w[3:]
                    if target.startswith("/dev/") and target not in ("/dev/null", "/dev/stdout"):
                        f.add("destructive", f"dd {w}")
                    elif not self.paths.allowed(target):
                        f.add("fs_write", f"dd {w}")
        if name == "find" and ("-delete" in rest or any(w in ("-exec", "-execdir") for w in rest)):
            roots = [w for w in rest if not w.startswith(("-", "(", "!"))][:1] or ["."]
            if "-delete" in rest:
                if not self.paths.allowed(roots[0].rstrip("/") + "/x"):
                    f.add("destructive", f"find {roots[0]} -delete")
            for k, w in enumerate(rest):
                if w in ("-exec", "-execdir", "-ok", "-okdir") and k + 1 < len(rest):
                    sub = []
                    for t in rest[k + 1:]:
                        if t in (";", "\\;", "+"):
                            break
                        # each file found stands in for {}: a file under the search root
                        sub.append(t.replace("{}", roots[0].rstrip("/") + "/{}"))
                    if sub:
                        sub_name, sub_rest = self._command(sub)
                        self._check(sub_name, sub_rest, 0, [sub], [sub_name])
        if name in ("kill", "killall", "pkill") and ("-1" in rest or "1" in rest and name == "kill"):
            f.add("destructive", f"{name} {' '.join(rest)[:40]}")
        if name in ("chmod",):
            args = [w for w in rest if not w.startswith("-") or re.match(r"^-[rwxXst]+$", w)]
            if args and _CHMOD_BAD.match(args[0]):
                f.add("permissions", f"chmod {args[0]}")
            for t in args[1:]:
                if not self.paths.allowed(t):
                    f.add("fs_write", f"chmod {t}")
        if name in ("chown", "chgrp"):
            args = [w for w in rest if not w.startswith("-")]
            for t in args[1:]:
                if not self.paths.allowed(t):
                    f.add("fs_write", f"{name} {t}")
        if name in _WRITE_CMDS:
            args = [w for w in rest if not w.startswith("-")]
            if name in ("cp", "mv", "install", "ln", "rsync"):
                targets = args[-1:] if len(args) >= 2 else []
            else:
                targets = args
            for t in targets:
                if name == "rsync" and ":" in t:
                    continue
                if not self.paths.allowed(t):
                    f.add("fs_write", f"{name} {t}")
        if name == "sed" and any(w == "-i" or w.startswith("-i") or w == "--in-place" for w in rest):
            files = [w for w in rest if not w.startswith("-")][1:]
            for t in files:
                if not self.paths.allowed(t):
                    f.add("fs_write", f"sed -i {t}")
        if name == "crontab" or (name == "systemctl" and any(w in ("enable", "start", "stop", "disable", "mask") for w in rest)):
            f.add("privilege", f"{name} {' '.join(rest)[:40]}")

    def _downloads(self, name: str, rest: list[str]) -> None:
        """Remember where curl / wget save what they fetch (a later command that runs it is
        download-and-run, the two-step form of ``curl | sh``)."""
        urls = [w for w in rest if "://" in w]
        k = 0
        saved: list[str] = []
        while k < len(rest):
            w = rest[k]
            nxt = rest[k + 1] if k + 1 < len(rest) else ""
            if w in ("-o", "--output", "--output-document") or (name == "wget" and w == "-O"):
                saved.append(nxt)
                k += 2
                continue
            if w.startswith(("--output=", "--output-document=")):
                saved.append(w.split("=", 1)[1])
            elif w.startswith("-") and not w.startswith("--") and len(w) > 2:
                if w[-1] == "o" or (name == "wget" and w[-1] == "O"):
                    saved.append(nxt)
                    k += 2
                    continue
                if name == "wget" and "O" in w[1:-1]:
                    saved.append(w[w.index("O", 1) + 1:])
            k += 1
        if name == "curl" and any(w in ("-O", "--remote-name") or (w.startswith("-") and not w.startswith("--") and "O" in w)
                                  for w in rest):
            saved.extend(urls)
        if name == "wget" and not saved:
            saved.extend(urls)
        for p in saved:
            base = posixpath.basename(p.split("?", 1)[0].rstrip("/"))
            if base and base not in ("-", "/dev/null", "null", "stdout"):
                self.downloaded.add(base)

    def _pipes(self, pipeline: list[list[str]], names: list[str]) -> None:
        if len(pipeline) < 2:
            return
        for idx in range(1, len(names)):
            name = names[idx]
            rest = pipeline[idx][1:]
            if name in _SHELLS or (name in _INTERPRETERS and not any(
                    w in ("-c", "-e", "-m") or (not w.startswith("-") and "." in w) for w in rest)):
                feeders = ", ".join(n for n in names[:idx] if n)
                self.f.add("pipe_to_shell", f"{feeders} | {name}")
                if any(n in ("base64", "base32", "xxd", "openssl", "rev", "tr", "printf", "gunzip", "zcat", "uudecode")
                       for n in names[:idx]):
                    self.f.add("encoded", f"decoded text piped into {name}")
            if name in ("sh", "bash") and any(n in ("nc", "ncat", "netcat", "telnet") for n in names):
                self.f.add("reverse_shell", f"network connection piped into {name}")


def analyse_shell(code: str, write_paths: Iterable[str] = ("/tmp/*", "./*")) -> Findings:
    """Dangerous constructs in a shell command line or script (nothing is executed)."""
    f = Findings()
    _Shell(f, WritePaths(write_paths), 0).analyse(code)
    return f


_INERT = (ast.Module, ast.Expr, ast.Name, ast.Attribute, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp,
          ast.Load, ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.Constant)


def _looks_like_shell_word_list(tree: ast.Module) -> bool:
    """``reboot``, ``ls -la`` or ``sudo -i`` parse as Python expressions that do nothing; code
    made only of names, numbers and operators is read as shell."""
    return all(isinstance(n, _INERT) and not (isinstance(n, ast.Constant) and isinstance(n.value, str))
               for n in ast.walk(tree))


# -------------------------------------------------------------------------------------------
# The plugin
# -------------------------------------------------------------------------------------------

class CodeExecPlugin:
    """Refuses code with dangerous constructs (ASI05). Registered as ``code_exec``; inactive
    without a ``protections.code_exec`` section."""

    name = "code_exec"
    risks = ("ASI05",)

    def __init__(self) -> None:
        self.active = False
        self._kinds: frozenset[str] = frozenset()
        self._shell_tools: Callable[[str], bool] = lambda n: False
        self._python_tools: Callable[[str], bool] = lambda n: False
        self._code_args: tuple[str, ...] = ()
        self._allow: frozenset[str] = frozenset()
        self._paths = WritePaths(())
        self._effect = "deny"
        self._deny_cmds: frozenset[str] = frozenset()
        self._tool_kind: dict[str, Optional[str]] = {}

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not self.active:
            return
        self._kinds = sec.kinds("on", ("code_exec",))
        self._shell_tools = glob_matcher(sec.strings("shell_tools", (
            "shell", "bash", "sh", "terminal", "run_command", "execute_command", "run_shell_command", "exec_command",
            "*shell*", "*terminal*", "*bash*")))
        self._python_tools = glob_matcher(sec.strings("python_tools", (
            "python", "python_repl", "run_python", "execute_python", "exec_python", "*python*", "run_code",
            "execute_code", "code_interpreter")))
        self._code_args = tuple(sec.strings("code_args", ("code", "command", "cmd", "script", "source", "commands",
                                                          "query", "input", "tool_input", "__arg1")))
        allow = sec.strings("allow", ())
        bad = [a for a in allow if a not in CATEGORIES]
        if bad:
            sec.error("allow", f"{', '.join(map(repr, bad))} not categories ({', '.join(CATEGORIES)})")
        self._allow = frozenset(allow)
        self._paths = WritePaths(sec.strings("allow_write_paths", ("/tmp/*", "./*")))
        self._deny_cmds = frozenset(sec.strings("deny_commands", ()))
        self._effect = sec.effect()
        sec.done(("on", "shell_tools", "python_tools", "code_args", "allow", "allow_write_paths",
                  "deny_commands", "effect"))
        sec.raise_problems()
        self._tool_kind = {}

    def _language_of_tool(self, name: str) -> Optional[str]:
        kind = self._tool_kind.get(name, "?")
        if kind == "?":
            kind = "shell" if self._shell_tools(name) else "python" if self._python_tools(name) else None
            if len(self._tool_kind) > 4096:
                self._tool_kind.clear()
            self._tool_kind[name] = kind
        return kind

    def _code_of(self, action: Action) -> Optional[str]:
        if action.kind in ("code_exec", "message", "model_call", "memory_write") and action.content:
            return action.content
        args = action.args
        for k in self._code_args:
            v = args.get(k)
            if isinstance(v, str):
                return v
            if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
                return " ".join(shlex.quote(x) for x in v) if k in ("command", "cmd", "argv") else "\n".join(v)
        strs = [v for v in args.values() if isinstance(v, str)]
        return strs[0] if len(strs) == 1 else None

    def analyse(self, action: Action) -> Optional[Findings]:
        """What the code of ``action`` would do (None when it carries no code this protection reads)."""
        lang: Optional[str] = None
        if action.kind in self._kinds:
            md = action.metadata or {}
            lang = md.get("language") or action.args.get("language") or action.args.get("lang")
            lang = str(lang).lower() if lang else "auto"
        elif action.kind == "tool_call":
            lang = self._language_of_tool(action.name)
            if lang is None:
                return None
        else:
            return None
        code = self._code_of(action)
        if code is None:
            f = Findings()
            if action.kind in self._kinds or action.args:
                f.add("unparseable", "no code found in the action (content or code arguments)")
            return f
        if len(code) > _MAX_CODE:
            f = Findings()
            f.add("unparseable", f"code is {len(code)} characters, more than {_MAX_CODE}")
            return f
        if lang in ("python", "py", "python3", "ipython"):
            return analyse_python_cfg(code, self._paths)
        if lang in ("shell", "sh", "bash", "zsh", "console", "terminal"):
            return self._shell(code)
        if lang == "auto":
            try:
                tree = ast.parse(code)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return self._shell(code)
            if _looks_like_shell_word_list(tree):
                return self._shell(code)
            return analyse_python_cfg(code, self._paths)
        f = Findings()
        f.add("unparseable", f"language {lang!r} is not one this protection reads (python, shell)")
        return f

    def _shell(self, code: str) -> Findings:
        f = Findings()
        _Shell(f, self._paths, 0).analyse(code)
        if self._deny_cmds:
            try:
                words = set(_tokens(code.replace("$(", " ").replace("`", " ")))
            except ValueError:
                words = set()
            hit = sorted(w for w in words if posixpath.basename(w) in self._deny_cmds)
            if hit:
                f.add("process", f"command {hit[0]!r} is in deny_commands")
        return f

    def applies_to(self, kind: str, name: str) -> bool:
        """The Governor calls this plugin only for actions of kinds (and names) it judges."""
        return kind in self._kinds or (kind == "tool_call" and self._language_of_tool(name) is not None)

    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active:
            return None
        kind = action.kind
        if kind not in self._kinds and (kind != "tool_call" or self._language_of_tool(action.name) is None):
            return None
        findings = self.analyse(action)
        if findings is None:
            return None
        bad = [c for c in findings.categories() if c not in self._allow]
        if not bad:
            return None
        details = "; ".join(f"{c}: {', '.join(findings.items[c])}" for c in bad)
        why = f"code_exec: refused ({details})"
        return Decision.vote(self._effect, why, rule_id="code_exec", risks=self.risks,
                             evidence=tuple(f"{c}: {e}" for c in bad for e in findings.items[c]))


def analyse_python_cfg(code: str, paths: WritePaths) -> Findings:
    f = Findings()
    _analyse_python_into(code, f, paths)
    return f
