"""Limits on what one letter may cost: value sizes, loop lengths, output size, render time.

Jinja's sandbox stops templates reaching Python internals but not exhausting the machine:
`{{ 'x'.ljust(300000000) }}` took two minutes and 21 GB for eight letters. Here every way a
template can make a big value is checked *before* the value is made (widths, repeat counts,
`range`, replace/join estimates), each letter's output is counted as it streams, and a
watchdog interrupts a letter that runs too long (nested loops). Each refusal names the limit.
"""

from __future__ import annotations

import ctypes
import functools
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from jinja2 import Template
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

MAX_VALUE_CHARS = 100_000  # one value: a name, a computed string, a list
MAX_WIDTH = 10_000  # ljust/center/zfill/format widths, repeat counts
MAX_RANGE = 10_000  # items in range()
MAX_LETTER_CHARS = 5_000_000  # one rendered letter (Word XML)
MAX_RENDER_SECONDS = 5.0  # one letter
MAX_POWER_BITS = 4_096


class TemplateLimit(SecurityError):
    """A template went past one of the limits above; the message names it."""

    lineno: int | None = None


class RenderTimeout(Exception):
    """Raised inside a rendering thread by the watchdog (see `deadline`)."""


def _too_big(what: str, size: int, limit: int) -> TemplateLimit:
    return TemplateLimit(f"{what} ({size:,}) is over the limit of {limit:,} for one letter")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict) else 0


def _check_value(value: Any, what: str = "a value") -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_POWER_BITS:
        raise _too_big(f"{what} is a number with too many bits", value.bit_length(), MAX_POWER_BITS)
    if _size(value) > MAX_VALUE_CHARS:
        raise _too_big(f"{what} is too long", _size(value), MAX_VALUE_CHARS)
    return value


def _check_widths(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_WIDTH:
            raise _too_big("a width in the template", abs(arg), MAX_WIDTH)


def _check_sizes(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for arg in (*args, *kwargs.values()):
        _check_value(arg, "a value passed to a function")


_FORMAT_NUMBER = re.compile(r"\d+")
_NESTED_WIDTH = re.compile(r"\{[^{}]*:[^{}]*\{")
_STAR_WIDTH = re.compile(r"%[-+ #0]*\*|%[-+ #0]*\d*\.\*")


def _check_format(fmt: str) -> None:
    """Widths written in a format string (`{:300000000}`, `%300000000s`, `{:{}}`, `%*s`)."""
    for m in _FORMAT_NUMBER.finditer(fmt):
        width = int(m.group()) if len(m.group()) <= 9 else 10**9
        if width > MAX_WIDTH and _in_spec(fmt, m.start()):
            raise _too_big("a width in a format string", width, MAX_WIDTH)
    if _NESTED_WIDTH.search(fmt) or _STAR_WIDTH.search(fmt):
        raise TemplateLimit("a width taken from a value is not allowed in a format string")


def _in_spec(fmt: str, at: int) -> bool:
    """Whether position `at` is inside a `{...}` field or a `%...` conversion."""
    open_brace, close_brace = fmt.rfind("{", 0, at), fmt.rfind("}", 0, at)
    percent = fmt.rfind("%", 0, at)
    return open_brace > close_brace or (
        percent >= 0 and fmt[percent + 1 : at].strip("-+ #0.") == ""
    )


WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
WIDTH_FILTERS = frozenset({"center", "indent", "wordwrap"})


def _estimate(name: str, target: Any, args: tuple[Any, ...]) -> None:
    """replace/join can multiply sizes: refuse before building the result."""
    if name == "replace" and len(args) >= 2 and isinstance(target, str):
        old, new = str(args[0]), str(args[1])
        grow = (target.count(old) if old else len(target) + 1) * max(len(new) - len(old), 0)
        if len(target) + grow > MAX_VALUE_CHARS:
            raise _too_big("the replaced text would be", len(target) + grow, MAX_VALUE_CHARS)
    if name == "join" and args and isinstance(args[0], list | tuple):
        items = args[0]
        total = sum(_size(i) or 8 for i in items) + _size(target) * len(items)
        if total > MAX_VALUE_CHARS:
            raise _too_big("the joined text would be", total, MAX_VALUE_CHARS)


def _guarded(func: Callable[..., Any], name: str, target: str) -> Callable[..., Any]:
    """A method of a string, with its widths and result size checked."""

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        if name in WIDTH_METHODS:
            _check_widths(args, kwargs)
        _check_sizes(args, kwargs)
        _estimate(name, target, args)
        return _check_value(func(*args, **kwargs), f"the result of {name}")

    return call


def _guarded_filter(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A filter with its widths, estimates and result size checked."""
    value_at = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        extra = args[value_at + 1 :]
        if name in WIDTH_FILTERS:
            _check_widths(extra, kwargs)
        if len(args) > value_at:
            value = args[value_at]
            if name == "join":
                _estimate("join", extra[0] if extra else "", (value,))
            elif name == "replace":
                _estimate("replace", str(value), extra)
            elif name == "format":
                _check_format(str(value))
        return _check_value(func(*args, **kwargs), f"the result of |{name}")

    return call


def safe_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise _too_big("range() has too many items", len(rng), MAX_RANGE)
    return rng


class LimitedNamespace(Namespace):
    """`namespace()` whose values stay small (`{% set ns.x = ns.x ~ ns.x %}` in a loop)."""

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, _check_value(value, f"namespace value {name}"))


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus size limits on every operation that can grow a value."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = safe_range
        self.globals["namespace"] = LimitedNamespace
        self.filters = {k: _guarded_filter(f, k) for k, f in self.filters.items()}
        self.filters.pop("safe", None)  # values are always escaped: see template_rules

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if _size(seq) and isinstance(count, int) and count > 0:
                    total = _size(seq) * count
                    if total > MAX_VALUE_CHARS:
                        raise _too_big("a repeated value would be", total, MAX_VALUE_CHARS)
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                bits = max(abs(left).bit_length(), 1) * right
                if bits > MAX_POWER_BITS:
                    raise _too_big("a power would need bits", bits, MAX_POWER_BITS)
        elif operator == "%" and isinstance(left, str):
            _check_format(left)
        result = super().call_binop(context, operator, left, right)
        return _check_value(result, f"the result of {operator}")

    def getattr(self, obj: Any, attribute: str) -> Any:
        value = super().getattr(obj, attribute)
        if isinstance(obj, str):  # only a string's methods need guarding (most reads are not)
            return self._guard(obj, attribute, value)
        return value

    def getitem(self, obj: Any, argument: Any) -> Any:
        value = super().getitem(obj, argument)
        return self._guard(obj, str(argument), value)

    def _guard(self, obj: Any, name: str, value: Any) -> Any:
        if isinstance(obj, str) and callable(value):
            if name in ("format", "format_map"):
                _check_format(obj)
            return _guarded(value, name, obj)
        return value

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_sizes(args, kwargs)
        return _check_value(super().call(__context, __obj, *args, **kwargs), "a result")


# -- per-letter output size and time ----------------------------------------------------


_WATCHDOG_LINGER = 1.0  # seconds


class _Watchdog:
    """One daemon thread that interrupts renders past their deadline.

    A render registers (thread id, deadline); when the deadline passes the watchdog raises
    RenderTimeout inside that thread (CPython's async exception), which stops a pure-Python
    loop at its next step. Values are bounded separately, so no single step runs long.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict[int, float] = {}
        self._fired: set[int] = set()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        idle_since: float | None = None
        while True:
            time.sleep(0.05)
            now = time.monotonic()
            with self._lock:
                if self._due:
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                elif now - idle_since > _WATCHDOG_LINGER:
                    # idle for a while: stop; the next render starts a new watchdog (letters
                    # render one after another, so one watchdog serves a whole batch)
                    self._thread = None
                    return
                for tid, due in list(self._due.items()):
                    if now >= due and tid not in self._fired:
                        self._fired.add(tid)
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(
                            ctypes.c_ulong(tid), ctypes.py_object(RenderTimeout)
                        )

    def start(self, tid: int, seconds: float) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="letter-watchdog")
                self._thread.daemon = True
                self._thread.start()
            self._due[tid] = time.monotonic() + seconds
            self._fired.discard(tid)

    def stop(self, tid: int) -> None:
        with self._lock:
            self._due.pop(tid, None)
            if tid in self._fired:
                self._fired.discard(tid)
                # clear an exception set but not yet raised: it must not hit other code
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), None)


_WATCHDOG = _Watchdog()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    tid = threading.get_ident()
    _WATCHDOG.start(tid, seconds)
    try:
        yield
    finally:
        _WATCHDOG.stop(tid)


def render_limited(
    template: Template,
    context: Mapping[str, Any],
    *,
    max_chars: int | None = None,
    seconds: float | None = None,
) -> str:
    """Render one letter, refusing one that grows past `max_chars` or runs past `seconds`.

    Raises TemplateLimit (a jinja2 TemplateError) whose `lineno` is the template line it was
    on, so callers report it like any other template error.
    """
    max_chars = max_chars or MAX_LETTER_CHARS
    seconds = seconds or MAX_RENDER_SECONDS
    parts: list[str] = []
    size = 0
    ctx = template.new_context(dict(context))
    try:
        with deadline(seconds):
            try:  # Template.generate without its extra generator layer (~40 chunks a letter)
                for chunk in template.root_render_func(ctx):
                    size += len(chunk)
                    if size > max_chars:
                        raise _too_big("the filled-in letter has characters", size, max_chars)
                    parts.append(chunk)
            except Exception:
                template.environment.handle_exception()  # template line numbers, as generate
    except RenderTimeout as exc:
        limit = TemplateLimit(
            f"filling in one letter took longer than {seconds:g} seconds "
            "(a loop that runs too long?)"
        )
        limit.lineno = _template_line(exc)
        raise limit from None
    except TemplateLimit as exc:
        if exc.lineno is None:
            exc.lineno = _template_line(exc)
        raise

    return "".join(parts)


def _template_line(exc: BaseException) -> int | None:
    import traceback

    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>":
            line = frame.lineno
    return line
