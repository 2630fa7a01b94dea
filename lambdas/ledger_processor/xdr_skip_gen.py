"""Generate ``xdr_skip.py``: fast "skip over this XDR value" functions.

XDR carries no length prefixes for structs or unions, so a selective decoder still has to walk every
value it does not want in order to find the next one. Hand-writing walkers for the ~400 Stellar XDR
types would be error-prone, so this generator derives them from the code stellar-sdk itself generated
from the ``.x`` files: every ``stellar_sdk.xdr`` class has an ``unpack`` classmethod in one of a handful
of regular shapes (struct: fields in order; union: discriminant then ``if type == X`` arms; arrays;
optionals; opaque/string). We parse those methods with ``ast`` and emit straight-line Python that only
advances an offset, folding every fixed-size run (hashes, account ids, int64s, fixed unions) into one
constant addition. Any unpack shape the generator does not recognise is an error, never a guess.

Run ``python -m lambdas.ledger_processor.xdr_skip_gen`` after upgrading stellar-sdk; a test checks the
committed module is what this generator produces for the installed sdk.
"""

# ruff: noqa: PLR0911, PLR0912, PLR0915 - one dispatch over the handful of generated-code shapes
from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import stellar_sdk
import stellar_sdk.xdr as sdk_xdr

# The value roots the hand-written readers need to skip or read into; everything reachable is emitted.
ROOTS = ("LedgerCloseMeta", "LedgerCloseMetaBatch")

_FIXED_PRIMITIVES = {
    "Integer": 4,
    "UnsignedInteger": 4,
    "Boolean": 4,
    "Float": 4,
    "Hyper": 8,
    "UnsignedHyper": 8,
    "Double": 8,
}


@dataclass
class Node:
    """One piece of an XDR value: fixed bytes, a named type, var opaque, array, optional or union."""

    kind: str  # "fixed" | "ref" | "varopaque" | "array" | "optional" | "seq" | "union" | "count"
    size: int = 0
    name: str = ""
    items: list[Node] = field(default_factory=list)
    arms: list[tuple[int, Node]] = field(default_factory=list)


def _pad(n: int) -> int:
    return (n + 3) & ~3


def _const(module: Any, node: ast.expr) -> Any:
    """Evaluate a constant argument (a literal or a module-level constant such as SCSYMBOL_LIMIT)."""
    return eval(compile(ast.Expression(node), "<xdr>", "eval"), vars(module))  # noqa: S307 - sdk source only


def _unpack_call(module: Any, expr: ast.expr) -> Node | None:
    """Translate ``T.unpack(unpacker, ...)`` / ``unpacker.unpack_X()`` into a Node (None if not one)."""
    if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)):
        return None
    func = expr.func
    if isinstance(func.value, ast.Name) and func.value.id == "unpacker":
        prim = {"unpack_int": 4, "unpack_uint": 4, "unpack_bool": 4, "unpack_float": 4}
        prim |= {"unpack_hyper": 8, "unpack_uhyper": 8, "unpack_double": 8}
        if func.attr in prim:
            return Node("fixed", size=prim[func.attr])
        raise ValueError(f"unsupported primitive {func.attr}")
    if func.attr != "unpack" or not isinstance(func.value, ast.Name):
        return None
    tname = func.value.id
    if tname in _FIXED_PRIMITIVES:
        return Node("fixed", size=_FIXED_PRIMITIVES[tname])
    if tname == "Opaque":
        size, fixed = (_const(module, a) for a in expr.args[1:3])
        return Node("fixed", size=_pad(size)) if fixed else Node("varopaque")
    if tname == "String":
        return Node("varopaque")
    return Node("ref", name=tname)


def _translate(module: Any, body: list[ast.stmt]) -> Node:
    """Translate the statements of one ``unpack`` body into a sequence Node."""
    seq: list[Node] = []
    i = 0
    while i < len(body):
        st = body[i]
        i += 1
        if isinstance(st, ast.ImportFrom | ast.Return | ast.Raise):
            continue
        if isinstance(st, ast.If) and isinstance(st.test, ast.Compare):
            left = st.test.left
            if isinstance(left, ast.Name) and left.id in ("depth_limit", "_remaining"):
                continue
        if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name):
            target = st.targets[0].id
            value = st.value
            if target == "_remaining":
                continue
            if isinstance(value, ast.List) and not value.elts:
                continue  # `x = []` before an array loop
            if isinstance(value, ast.IfExp):  # `x = T.unpack(...) if unpacker.unpack_uint() else None`
                inner = _unpack_call(module, value.body)
                assert inner is not None, ast.dump(value)
                seq.append(Node("optional", items=[inner]))
                continue
            if target == "length" and isinstance(value, ast.Constant):
                seq.append(Node("count", size=int(str(value.value))))  # fixed-length array `T x[N]`
                continue
            if target == "length" and isinstance(value, ast.Call):
                seq.append(Node("fixed", size=4))  # counted by the following loop
                continue
            node = _unpack_call(module, value)
            if node is None:
                raise ValueError(f"unsupported assignment in {module.__name__}: {ast.dump(st)}")
            # a discriminant followed by `if <target> == ...` chains makes a union
            if i < len(body) and _is_arm(body[i], target):
                arms: list[tuple[int, Node]] = []
                while i < len(body) and _is_arm(body[i], target):
                    arm = body[i]
                    assert isinstance(arm, ast.If)
                    for value_expr in _arm_values(arm.test):
                        arms.append((int(_const(module, value_expr)), _translate(module, arm.body)))
                    i += 1
                seq.append(Node("union", arms=arms))
                continue
            seq.append(node)
            continue
        if isinstance(st, ast.For):
            # `for _ in range(length): x.append(T.unpack(...))`; the count was emitted as 4 bytes
            call = st.body[0]
            assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call), ast.dump(st)
            elem = _unpack_call(module, call.value.args[0])
            assert elem is not None, ast.dump(st)
            if seq and seq[-1].kind == "count":
                seq[-1] = Node("seq", items=[elem] * seq[-1].size)
                continue
            assert seq and seq[-1].kind == "fixed" and seq[-1].size == 4
            seq[-1] = Node("array", items=[elem])
            continue
        if isinstance(st, ast.Expr):
            continue
        raise ValueError(f"unsupported statement in {module.__name__}: {ast.dump(st)}")
    return Node("seq", items=seq)


def _is_arm(st: ast.stmt, disc: str) -> bool:
    if not (isinstance(st, ast.If) and not st.orelse):
        return False
    t = st.test
    if isinstance(t, ast.BoolOp) and isinstance(t.op, ast.Or):
        return all(_is_arm(ast.If(test=v, body=[], orelse=[]), disc) for v in t.values)
    if not (isinstance(t, ast.Compare) and isinstance(t.ops[0], ast.Eq)):
        return False
    left = t.left.value if isinstance(t.left, ast.Attribute) else t.left  # `v.uint32 == 0` for typedefs
    return isinstance(left, ast.Name) and left.id == disc


def _arm_values(test: ast.expr) -> list[ast.expr]:
    if isinstance(test, ast.BoolOp):
        return [v for part in test.values for v in _arm_values(part)]
    assert isinstance(test, ast.Compare)
    return [test.comparators[0]]


def load_types() -> dict[str, Node]:
    """Every stellar_sdk.xdr class with an ``unpack``, as a Node tree."""
    types: dict[str, Node] = {}
    for name in sorted(n for n in dir(sdk_xdr) if not n.startswith("_")):
        cls = getattr(sdk_xdr, name)
        if not inspect.isclass(cls) or not hasattr(cls, "unpack") or name in _FIXED_PRIMITIVES:
            continue
        if name in ("Opaque", "String"):
            continue
        module = sys.modules[cls.__module__]
        src = textwrap.dedent(inspect.getsource(cls.unpack))
        fn = ast.parse(src).body[0]
        assert isinstance(fn, ast.FunctionDef)
        types[name] = _translate(module, fn.body)
    return types


class Emitter:
    def __init__(self, types: dict[str, Node]) -> None:
        self.types = types
        self.sizes: dict[str, int | None] = {}
        self.lines: list[str] = []
        self.tables: list[str] = []
        self.counter = 0

    def size_of(self, node: Node, stack: tuple[str, ...] = ()) -> int | None:
        """Byte size if the node is fixed-size whatever its content, else None."""
        if node.kind == "fixed":
            return node.size
        if node.kind == "ref":
            return self.type_size(node.name, stack)
        if node.kind == "seq":
            total = 0
            for item in node.items:
                s = self.size_of(item, stack)
                if s is None:
                    return None
                total += s
            return total
        if node.kind == "union":
            arm_sizes = {self.size_of(arm, stack) for _, arm in node.arms}
            if len(arm_sizes) == 1 and None not in arm_sizes:
                return 4 + next(iter(arm_sizes))  # type: ignore[operator]
            return None
        return None

    def type_size(self, name: str, stack: tuple[str, ...] = ()) -> int | None:
        if name in self.sizes:
            return self.sizes[name]
        if name in stack:
            return None  # recursive types (SCVal, ClaimPredicate) are variable-size
        s = self.size_of(self.types[name], (*stack, name))
        if not stack or s is not None:
            self.sizes[name] = s
        return s

    def reachable(self, roots: tuple[str, ...]) -> list[str]:
        seen: list[str] = []
        todo = list(roots)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.append(name)
            todo.extend(self._refs(self.types[name]))
        return sorted(seen)

    def _refs(self, node: Node) -> list[str]:
        out = [node.name] if node.kind == "ref" else []
        for item in node.items:
            out.extend(self._refs(item))
        for _, arm in node.arms:
            out.extend(self._refs(arm))
        return out

    def var(self) -> str:
        self.counter += 1
        return f"n{self.counter}"

    def emit_seq(self, node: Node, indent: str, pending: int) -> int:
        """Emit code for node; returns the constant still to be added to ``o``."""
        items = node.items if node.kind == "seq" else [node]
        for item in items:
            pending = self.emit_item(item, indent, pending)
        return pending

    def _adv(self, pending: int) -> str:
        return f"o + {pending}" if pending else "o"

    def emit_item(self, item: Node, indent: str, pending: int) -> int:
        w = self.lines.append
        size = self.size_of(item)
        if size is not None:
            return pending + size
        if item.kind == "ref":
            target = self.types[item.name]
            if len(target.items) == 1 and target.items[0].kind in ("varopaque", "array"):
                return self.emit_item(target.items[0], indent, pending)  # inline typedef'd opaque/array
            w(f"{indent}o = skip_{item.name}(b, {self._adv(pending)})")
            return 0
        if item.kind == "seq":
            return self.emit_seq(item, indent, pending)
        if item.kind == "varopaque":
            n = self.var()
            w(f"{indent}{n} = _U32(b, {self._adv(pending)})[0]")
            w(f"{indent}o += {pending + 4} + (({n} + 3) & -4)")
            return 0
        if item.kind == "array":
            elem = item.items[0]
            elem_size = self.size_of(elem)
            n = self.var()
            w(f"{indent}{n} = _U32(b, {self._adv(pending)})[0]")
            if elem_size is not None:
                w(f"{indent}o += {pending + 4} + {n} * {elem_size}")
                return 0
            w(f"{indent}o += {pending + 4}")
            w(f"{indent}for _ in range({n}):")
            rest = self.emit_seq(elem, indent + "    ", 0)
            if rest:
                w(f"{indent}    o += {rest}")
            return 0
        if item.kind == "optional":
            n = self.var()
            w(f"{indent}{n} = _U32(b, {self._adv(pending)})[0]")
            w(f"{indent}o += {pending + 4}")
            w(f"{indent}if {n}:")
            rest = self.emit_seq(item.items[0], indent + "    ", 0)
            if rest:
                w(f"{indent}    o += {rest}")
            elif self.lines[-1].endswith(":"):
                w(f"{indent}    pass")
            return 0
        if item.kind == "union":
            n = self.var()
            w(f"{indent}{n} = _I32(b, {self._adv(pending)})[0]")
            w(f"{indent}o += {pending + 4}")
            arms = item.arms
            fixed_arms = {v: sz for v, a in arms if (sz := self.size_of(a)) is not None}
            first = "if"
            if len(fixed_arms) >= 3:
                # many fixed-size arms (SCVal scalars, result codes): one dict lookup, not a long if-chain
                table = f"_ARMS_{len(self.tables)}"
                one_line = f"{table}: dict[int, int] = {fixed_arms!r}"
                if len(one_line) > 110:  # the layout ruff format gives, so the output stays format-clean
                    rows = "".join(f"    {k}: {v},\n" for k, v in fixed_arms.items())
                    one_line = f"{table}: dict[int, int] = {{\n{rows}}}"
                self.tables.append(one_line)
                s = self.var()
                w(f"{indent}{s} = {table}.get({n})")
                w(f"{indent}if {s} is not None:")
                w(f"{indent}    o += {s}")
                arms = [(v, a) for v, a in arms if v not in fixed_arms]
                first = "elif"
            for k, (value, arm) in enumerate(arms):
                w(f"{indent}{first if k == 0 else 'elif'} {n} == {value}:")
                mark = len(self.lines)
                rest = self.emit_seq(arm, indent + "    ", 0)
                if rest:
                    w(f"{indent}    o += {rest}")
                elif len(self.lines) == mark:
                    w(f"{indent}    pass")
            w(f"{indent}else:")
            w(f'{indent}    raise ValueError(f"invalid union discriminant {{{n}}} at {{o - 4}}")')
            return 0
        raise AssertionError(item.kind)

    def emit_type(self, name: str) -> None:
        self.counter = 0
        self.lines.append("")
        self.lines.append("")
        self.lines.append(f"def skip_{name}(b: bytes, o: int) -> int:")
        rest = self.emit_seq(self.types[name], "    ", 0)
        self.lines.append(f"    return o + {rest}" if rest else "    return o")


def generate() -> str:
    types = load_types()
    em = Emitter(types)
    names = em.reachable(ROOTS)
    fixed = {n: em.type_size(n) for n in names}
    head = [
        f'"""Skip functions for Stellar XDR, generated from stellar-sdk {stellar_sdk.__version__} by xdr_skip_gen.py.',
        "",
        "DO NOT EDIT: regenerate with `python -m lambdas.ledger_processor.xdr_skip_gen`.",
        "Each ``skip_T(b, o)`` returns the offset just past the XDR value of type T starting at ``o``.",
        '"""',
        "",
        "# ruff: noqa: PLR0912, SIM114",
        "import struct",
        "",
        '_U32 = struct.Struct(">I").unpack_from',
        '_I32 = struct.Struct(">i").unpack_from',
        "",
        "# Byte sizes of the types whose encoding never varies (no skip function is needed for them).",
        "FIXED_SIZES: dict[str, int] = {",
    ]
    head += [f'    "{n}": {s},' for n, s in fixed.items() if s is not None]
    head.append("}")
    em.lines = head
    for name in names:
        if fixed[name] is None:
            em.emit_type(name)
    # module-level tables may follow the functions: they are looked up at call time
    tables = ["", "", "# Unions with many fixed-size arms: discriminant -> arm size.", *em.tables]
    return "\n".join(em.lines + tables) + "\n"


TARGET = Path(__file__).with_name("xdr_skip.py")


def main() -> None:
    TARGET.write_text(generate())
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
