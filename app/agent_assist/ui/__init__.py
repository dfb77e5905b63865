"""The agent's sidebar and the desktop app: the only package that imports Qt (PySide6).

How the pieces fit (thin edge over a pure engine):

- ``qt`` is the one Qt import seam (``qt_charts`` for charts only).
- ``bridge.EngineBridge`` is the one subscriber of the engine's ``EventBus``;
  it re-emits every domain event on the GUI thread as ``received(object)``,
  coalescing bursts and draining within a time budget.
- Views (``panels``, ``history``, ``supervisor``, ``settings``) never call the
  engine and never block: they *receive* domain events through
  ``on_event(event)`` (called by the window's dispatcher on the GUI thread)
  and *ask* for things by emitting Qt signals, which the window connects to
  the engine's non-blocking commands (work that can take time runs on a
  worker thread and comes back as an event or a queued signal).
- List data lives in ``QAbstractListModel`` subclasses (``models``), each fed
  by ``apply(event)``, so views stay small and the models are tested with
  ``QAbstractItemModelTester``.
- Colours and spacing come from ``theme`` (palette roles + one style sheet keyed
  on object names and dynamic properties); views do not hard-code colours.

Thread rules: everything in this package runs on the GUI thread, except
``EngineBridge.publish`` (any thread) and the ``QThread``/executor workers that
views start for slow jobs (pack install, evaluation, history queries).
"""
