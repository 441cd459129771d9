"""The cyclic garbage collector, paused while a bulk job builds millions of short tuples; large
graphs freed piece by piece.

Rating and the monthly run allocate millions of small objects (CDR and cost-record tuples,
BIL-10 source references) that never form reference cycles: reference counting frees them.
The cyclic collector still walks the young ones every 700 allocations and, as the heap grows,
the old ones too, a sizeable share of such a job's time. ``collector_paused`` stops it for the
job and restarts it afterwards (once the last of several overlapping jobs of the process ends);
what little cyclic garbage the job made is collected then.

The pause is process-wide: only entry points that run a bulk job in a process of their own
(the ``nuage billing`` commands, the benchmarks) apply it, or a process whose entry point tuned
its collector (``nuage serve``'s SIP runtime, while it builds a whole snapshot), never the use
cases themselves (a job the API starts would stop the collector for the whole server, SIP
included).

``release_gradually`` frees a large graph of objects (a replaced snapshot) from a worker thread
without holding the GIL for the whole of it."""

from __future__ import annotations

import gc
import sys
from contextlib import AbstractContextManager

from nuage.shared.process_wide import ProcessWide


def _restart(was_enabled: bool) -> None:
    if was_enabled:
        gc.enable()


_PAUSE = ProcessWide(gc.isenabled, _restart)


def collector_paused() -> AbstractContextManager[None]:
    """Pause the cyclic garbage collector for the ``with`` block (reentrant, thread-safe)."""
    return _PAUSE.held(gc.disable)


#: values that hold no other object: freeing one is a single step, never a cascade
_LEAVES = (str, bytes, int, float, bool, type(None))
_slot_names: dict[type, tuple[str, ...]] = {}


def _slots(kind: type) -> tuple[str, ...]:
    names = _slot_names.get(kind)
    if names is None:
        found: list[str] = []
        for klass in kind.__mro__:
            declared = klass.__dict__.get("__slots__", ())
            found.extend((declared,) if isinstance(declared, str) else declared)
        names = _slot_names[kind] = tuple(name for name in found if name not in ("__dict__", "__weakref__"))
    return names


def release_gradually(box: list[object]) -> int:
    """Free what ``box`` holds one object at a time, emptying it; how many objects were taken apart.

    Dropping the last reference to a large graph (a snapshot of 50,000 accounts: millions of
    objects) frees it in one C cascade that holds the GIL throughout, a stall of the event loop of
    the same length, whichever thread drops it. Here, run in a worker thread, each object is taken
    apart only when this walk holds its only reference: its parts are kept on a stack first, so
    that freeing the object itself frees nothing else, and the parts are visited in turn. The walk
    is Python code, so the interpreter hands the GIL to the event loop between objects as usual.
    An object still referenced elsewhere (shared with a newer snapshot, say) is left alone, and so
    is everything it holds; no container is ever modified."""
    stack = list(box)
    box.clear()
    taken = 0
    getrefcount = sys.getrefcount
    while stack:
        item = stack.pop()
        # the only references: ``item`` and getrefcount's argument
        if isinstance(item, _LEAVES) or getrefcount(item) > 2:
            continue
        taken += 1
        if isinstance(item, dict):
            stack.extend(item.values())
            stack.extend(item.keys())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        else:
            attributes = getattr(item, "__dict__", None)
            if isinstance(attributes, dict):
                stack.extend(attributes.values())
            del attributes  # no local may keep a reference the next item's count would see
            stack.extend([getattr(item, name, None) for name in _slots(type(item))])
        del item
    return taken
