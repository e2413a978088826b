"""onnxruntime hygiene, pinned model files and the CTC decoding shared by the ONNX engines.

Citizens' personal data flows through this service, so the runtime must not phone home,
must not write anything outside the service's own data directory and must stay on one thread.

What was found in the onnxruntime wheels (cp311 manylinux x86_64, inspected and run here)
----------------------------------------------------------------------------------------
* **1.29.0** adds a POSIX telemetry class (``PosixTelemetry``, ``ORT_DISABLE_TELEMETRY``,
  ``XDG_CACHE_HOME``/``$HOME/.cache``) to the Linux build.
* **1.30.0, 1.31.1 and 1.32.0** (1.32.0 is what a plain ``pip install onnxruntime`` gives)
  link Microsoft's 1DS C++ SDK (``telemetry_1ds.cc``, ``OneDsTelemetry``) with a bundled SQLite
  and the collector address ``https://mobile.events.data.microsoft.com/OneCollector/1.0``.
  On ``import onnxruntime`` + first ``InferenceSession`` 1.32.0 (run with a scratch ``$HOME``):

  - creates ``$XDG_CACHE_HOME`` or ``$HOME/.cache`` + ``Microsoft/DeveloperTools/.onnxruntime/``
    holding ``deviceid`` (a persistent UUID) and ``onnxruntime.db`` (SQLite offline queue)
    with a queued ``ProcessInfo`` event: OS name/version (``debian 12 (bookworm)``), the
    interpreter path from ``/proc/self/cmdline``, network type, a machine hash, SDK version;
    the library also reads CI/container evidence (``GITHUB_ACTIONS``, ``GITLAB_CI``,
    ``KUBERNETES_SERVICE_HOST``, ``ECS_CONTAINER_METADATA_URI``, ...);
  - within seconds, resolves ``mobile.events.data.microsoft.com`` (DNS queries seen with
    strace) to upload the queue. This is native code: patching Python's ``socket`` does not
    see it.
  - ``onnxruntime.disable_telemetry_events()`` called after import but before the first
    session does NOT prevent the device id, the database or the queued event.
  - ``ORT_DISABLE_TELEMETRY=1`` set in the environment **before** ``import onnxruntime``
    prevents all of it (no files, no DNS during a 25 s run). Setting it after the import is
    too late (the files are still written).
  - ``XDG_CACHE_HOME`` set before the import moves the directory there.
* **1.28.0** and older: the Linux wheel has no telemetry implementation (only the no-op base
  class, no collector address, no cache path, no SQLite). A session run under strace made
  no network call and wrote nothing under ``$HOME``.

What this module does
---------------------
* We pin ``onnxruntime==1.28.0`` (:data:`PINNED_ORT_VERSION`).
* Defence in depth, for whatever version is installed: before onnxruntime is imported (it is
  imported lazily, only here), ``ORT_DISABLE_TELEMETRY=1`` is set and, when a data
  directory is given, ``XDG_CACHE_HOME`` is pointed at ``<data_dir>/cache`` so no cache path
  resolves to ``$HOME/.cache``. After the import ``disable_telemetry_events()`` is called
  where it exists. If some other code imported a telemetry-capable onnxruntime (>= 1.29)
  before us without ``ORT_DISABLE_TELEMETRY=1`` we refuse with :class:`EngineError`.
* Sessions: CPU provider only, ``intra_op_num_threads=1``, ``inter_op_num_threads=1``,
  sequential execution, no optimized-model file written, built from the model *bytes* that
  were hash-checked (no time-of-check/time-of-use gap).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ocr_service.engines.base import Reading
from ocr_service.errors import EngineError

log = logging.getLogger(__name__)

PINNED_ORT_VERSION = "1.28.0"
# First onnxruntime release whose Linux wheel carries a telemetry implementation.
_FIRST_TELEMETRY_VERSION = (1, 29)

_lock = threading.Lock()
_ort: Any = None
_ort_imported_by_us = False


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def prepare_environment(data_dir: str | os.PathLike[str] | None = None) -> None:
    """Set the environment onnxruntime reads at import time. Safe to call more than once."""
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    if data_dir is not None:
        cache = Path(data_dir) / "cache"
        cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ["XDG_CACHE_HOME"] = str(cache)


def import_onnxruntime(data_dir: str | os.PathLike[str] | None = None) -> Any:
    """Import onnxruntime with telemetry disabled; return the module."""
    global _ort, _ort_imported_by_us
    with _lock:
        if _ort is not None:
            return _ort
        already = "onnxruntime" in sys.modules
        env_was_set = os.environ.get("ORT_DISABLE_TELEMETRY") == "1"
        prepare_environment(data_dir)
        try:
            import onnxruntime as ort  # noqa: PLC0415 (lazy on purpose: env first)
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EngineError(f"onnxruntime is not installed (pin onnxruntime=={PINNED_ORT_VERSION})") from exc
        version = getattr(ort, "__version__", "0")
        if already and not env_was_set and _version_tuple(version)[:2] >= _FIRST_TELEMETRY_VERSION:
            raise EngineError(
                f"onnxruntime {version} was imported before telemetry could be disabled; "
                "set ORT_DISABLE_TELEMETRY=1 before anything imports onnxruntime "
                f"(or install the pinned onnxruntime=={PINNED_ORT_VERSION})")
        if version != PINNED_ORT_VERSION:
            log.warning("onnxruntime %s is installed; %s is the checked version", version, PINNED_ORT_VERSION)
        disable = getattr(ort, "disable_telemetry_events", None)
        if disable is not None:
            disable()
        try:
            ort.set_default_logger_severity(3)  # errors only: no model/path chatter in logs
        except Exception:  # pragma: no cover
            pass
        _ort = ort
        _ort_imported_by_us = not already
        return ort


def session_options(ort: Any) -> Any:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    # Field crops vary in width on every call: an arena sized for the widest one stays allocated.
    so.enable_cpu_mem_arena = False
    # Some builds read this to decide whether to spin worker threads: keep them off.
    try:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    except Exception:  # pragma: no cover
        pass
    return so


def create_session(model: str | os.PathLike[str] | bytes, data_dir: str | os.PathLike[str] | None = None) -> Any:
    """One single-threaded CPU InferenceSession, telemetry disabled before it exists.

    ``model`` is a path or the model's bytes (prefer bytes that were hash-checked).
    """
    ort = import_onnxruntime(data_dir)
    source = model if isinstance(model, (bytes, bytearray)) else str(model)
    try:
        return ort.InferenceSession(source, sess_options=session_options(ort),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise EngineError(f"cannot load ONNX model: {exc}") from exc


# --- pinned files from installed distributions ------------------------------------------------


@dataclass(frozen=True)
class PinnedFile:
    """A file shipped inside an installed wheel, pinned by distribution version and sha256."""

    distribution: str
    version: str
    relpath: str  # path inside site-packages, as in the wheel's RECORD
    sha256: str


def distribution_path(pin: PinnedFile) -> Path:
    """Locate a pinned file in its installed distribution, checking the version (not the hash)."""
    try:
        installed = importlib.metadata.version(pin.distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise EngineError(f"{pin.distribution}=={pin.version} is not installed "
                          f"(pip install --no-deps {pin.distribution}=={pin.version})") from exc
    if installed != pin.version:
        raise EngineError(f"{pin.distribution} {installed} is installed; exactly {pin.version} is required "
                          f"(its model file is pinned by sha256)")
    dist = importlib.metadata.distribution(pin.distribution)
    path = Path(str(dist.locate_file(pin.relpath)))
    if not path.is_file():
        raise EngineError(f"{pin.relpath} is missing from the installed {pin.distribution} {installed}")
    return path


def read_pinned(pin: PinnedFile, override: str | os.PathLike[str] | None = None) -> bytes:
    """Return the bytes of a pinned file after checking its sha256.

    ``override`` reads the file from an explicit path instead of the installed distribution
    (the version check is skipped then; the hash check never is).
    """
    path = Path(override) if override is not None else distribution_path(pin)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EngineError(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != pin.sha256:
        raise EngineError(f"{path.name} from {pin.distribution} has sha256 {digest}, "
                          f"expected the pinned {pin.sha256}: refusing to load it")
    return data


# --- CTC ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CtcResult:
    text: str
    char_probs: tuple[float, ...]
    candidates: tuple[tuple[str, float], ...]


def ctc_greedy(probs: np.ndarray, chars: list[str], *, blank: int = 0,
               allowed: Iterable[int] | None = None) -> CtcResult:
    """Greedy CTC decode of a (T, C) probability matrix.

    Per emitted character the probability is the max over the frames of its run (the
    character's best evidence). ``allowed`` restricts the decode to those class indices plus
    the blank (a digits-only field cannot read letters); probabilities are not renormalised,
    so mass the model put on excluded classes lowers the confidence.
    A second candidate replaces the least confident character with its runner-up at the
    frame where it peaked (deleting it if the runner-up is the blank).
    """
    if probs.ndim != 2 or probs.shape[0] == 0:
        return CtcResult("", (), ())
    p = probs
    if allowed is not None:
        keep = np.zeros(p.shape[1], dtype=bool)
        keep[list(allowed)] = True
        keep[blank] = True
        p = np.where(keep[None, :], p, 0.0)
    best = p.argmax(axis=1)
    best_p = p[np.arange(p.shape[0]), best]

    out_idx: list[int] = []
    out_p: list[float] = []
    out_frame: list[int] = []
    prev = -1
    for t, (k, q) in enumerate(zip(best.tolist(), best_p.tolist())):
        if k != blank:
            if k != prev:
                out_idx.append(k)
                out_p.append(q)
                out_frame.append(t)
            elif q > out_p[-1]:
                out_p[-1] = q
                out_frame[-1] = t
        prev = k
    text_chars = [chars[k] if 0 <= k < len(chars) else "" for k in out_idx]
    # Expand to one probability per output code point (a vocabulary entry may be >1 char).
    char_probs: list[float] = []
    for ch, q in zip(text_chars, out_p):
        char_probs.extend([float(q)] * len(ch))
    text = "".join(text_chars)
    candidates: tuple[tuple[str, float], ...] = ()
    if out_idx:
        conf = min(out_p)
        candidates = ((text, float(conf)),)
        j = int(np.argmin(out_p))
        row = p[out_frame[j]].copy()
        row[out_idx[j]] = -1.0
        alt = int(row.argmax())
        alt_p = float(row[alt])
        if alt_p > 0.0:
            alt_chars = list(text_chars)
            alt_chars[j] = "" if alt == blank else chars[alt]
            alt_text = "".join(alt_chars)
            if alt_text != text:
                candidates = candidates + ((alt_text, alt_p),)
    return CtcResult(text, tuple(char_probs), candidates)


LENGTH_BUCKETS = (4, 8, 12, 16, 24, 32, 48)  # targets are scored in groups of similar length (less padding)


def ctc_log_likelihoods(log_probs: np.ndarray, targets: list[list[int]], *, blank: int = 0) -> np.ndarray:
    """log P(target | frames) under CTC for each of ``targets`` (class-index lists, no blanks), from a
    (T, C) matrix of per-frame log-probabilities: the forward algorithm, summed over every alignment,
    targets of similar length at once. -inf for an empty target or one the frames cannot hold."""
    out = np.full(len(targets), -np.inf)
    if log_probs.ndim != 2 or log_probs.shape[0] == 0:
        return out
    lengths = np.array([len(t) for t in targets], dtype=np.int64)
    # a target needs a frame per label and one more per repeated label; longer ones are impossible
    fits = np.array([0 < len(t) and len(t) + sum(a == b for a, b in zip(t, t[1:])) <= log_probs.shape[0]
                     for t in targets], dtype=bool)
    lower = 0
    for upper in (*LENGTH_BUCKETS, max(lengths, default=0)):
        ids = np.flatnonzero(fits & (lengths > lower) & (lengths <= upper))
        lower = max(lower, upper)
        if ids.size:
            out[ids] = _ctc_forward(log_probs, [targets[i] for i in ids], blank)
    return out


def _ctc_forward(log_probs: np.ndarray, targets: list[list[int]], blank: int) -> np.ndarray:
    """The forward pass in the linear domain, rescaled every frame (each row by its largest state,
    the scale's log kept): sums and products instead of log-sum-exps, several times faster."""
    n = len(targets)
    width = 2 * max(len(t) for t in targets) + 1
    ext = np.full((n, width), blank, dtype=np.int64)
    valid = np.zeros((n, width), dtype=bool)
    ends = np.zeros(n, dtype=np.int64)
    for i, t in enumerate(targets):
        ext[i, 1:2 * len(t):2] = t
        valid[i, :2 * len(t) + 1] = True
        ends[i] = 2 * len(t)
    # a step may skip the blank between two different labels
    skip = np.zeros((n, width), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    emit = np.exp(log_probs)[:, ext] * valid  # (T, n, width): each frame's probability of each state's label
    alpha = np.zeros((n, width))
    alpha[:, :2] = emit[0, :, :2]
    log_scale = np.zeros(n)
    with np.errstate(divide="ignore"):
        for t in range(1, log_probs.shape[0]):
            step = alpha.copy()
            step[:, 1:] += alpha[:, :-1]
            step[:, 2:] += alpha[:, :-2] * skip[:, 2:]
            step *= emit[t]
            top = step.max(axis=1)
            scale = np.where(top > 0, top, 1.0)
            alpha = step / scale[:, None]
            log_scale += np.log(scale)
            log_scale[top <= 0] = -np.inf
        rows = np.arange(n)
        return np.log(alpha[rows, ends] + alpha[rows, ends - 1]) + log_scale


def collapse_spaces(text: str, probs: tuple[float, ...]) -> tuple[str, tuple[float, ...]]:
    """``" ".join(text.split())`` keeping the per-character probabilities aligned."""
    out_chars: list[str] = []
    out_probs: list[float] = []
    for ch, q in zip(text, probs):
        if ch.isspace():
            if not out_chars or out_chars[-1] == " ":
                continue
            out_chars.append(" ")
        else:
            out_chars.append(ch)
        out_probs.append(q)
    while out_chars and out_chars[-1] == " ":
        out_chars.pop()
        out_probs.pop()
    return "".join(out_chars), tuple(out_probs)


def to_reading(engine: str, text: str, char_probs: tuple[float, ...],
               candidates: tuple[tuple[str, float], ...]) -> Reading:
    """A Reading whose confidence is the weakest character's probability; empty text -> 0."""
    if not text or not char_probs:
        return Reading.empty(engine)
    conf = float(min(char_probs))
    cands = tuple((t, float(q)) for t, q in candidates if t)
    if cands and cands[0][0] != text:
        cands = ((text, conf),) + tuple(c for c in cands if c[0] != text)
    return Reading(text, conf, engine, tuple(float(q) for q in char_probs), cands)
