"""Start the console: QApplication, Chinese Qt translations, theme, bootstrap, main
window, and the background warm-up (gazetteer, road graph, routing kernels)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import weakref

from dispatch.settings import Settings


def install_translations(qt_app) -> list:  # noqa: ANN001 (QCoreApplication)
    """Load Qt's own zh_CN translations (context menus, dialogs) into `qt_app`; returns
    the installed translators (the caller keeps them alive with the application)."""
    from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator

    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    from ui.timeline.chart_menus import ChartTranslator

    kept = []
    for name in ("qtbase_zh_CN", "qtwebengine_zh_CN"):
        tr = QTranslator(qt_app)
        if tr.load(name, path):
            qt_app.installTranslator(tr)
            kept.append(tr)
    charts = ChartTranslator(qt_app)  # pyqtgraph's menus (View All, Export...)
    qt_app.installTranslator(charts)
    kept.append(charts)
    return kept


WARM_STEPS = {"kernels": "路径计算", "gazetteer": "地名库", "roads": "路网"}
_COMPILE = "from dispatch.geo.warmup import compile_kernels; compile_kernels()"


def start_kernel_compile() -> subprocess.Popen | None:
    """Compile the routing kernels in a child process from the very start: it shares no
    interpreter lock with the window being built, and leaves the machine code in numba's
    disk cache, from which the console then loads it. None if it cannot be started."""
    try:
        return subprocess.Popen([sys.executable, "-c", _COMPILE], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def skip_pyside_source_scan() -> None:
    """PySide6 reads the whole source of every module imported after it (to find `from
    __feature__ import …`, which this program never uses): ~0.12 s of the start's CPU for
    SQLAlchemy, numpy and the console's own modules. Modules outside `ui` are marked as
    not using PySide without reading them; `ui` modules are still scanned. A no-op when
    PySide's internals are not as expected."""
    feature = sys.modules.get("shibokensupport.feature")
    scan = getattr(feature, "_mod_uses_pyside", None)
    if scan is None or getattr(scan, "skips_non_ui", False):
        return

    def uses_pyside(module) -> bool:  # noqa: ANN001
        name = getattr(module, "__name__", "") or ""
        return (name == "ui" or name.startswith(("ui.", "__main__"))) and scan(module)
    uses_pyside.skips_non_ui = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = uses_pyside  # type: ignore[union-attr]


# Qt-free modules the window needs, imported by preload_core: the store and the services
# (SQLAlchemy), and the map's road tiles and basemap (numpy)
PRELOADED = ("dispatch.bootstrap", "dispatch.geo.road_tiles", "dispatch.geo.road_lines", "dispatch.geo.basemap",
             "dispatch.geo.grids")


def preload_core() -> threading.Thread:
    """Import PRELOADED (SQLAlchemy, numpy: the largest imports of the start) on a
    thread while the GUI thread loads Qt, creates the application and starts the map's
    page (wait_turning_events): Qt's loading and the web engine's work are mostly
    outside the interpreter, so on a second core the two overlap. The GUI thread's own
    import of them then finds them loaded. A failure here is left to that import to
    report."""
    def run() -> None:
        import importlib

        for name in PRELOADED:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: S112 (raised again, and shown, by the GUI thread's own import)
                continue

    thread = threading.Thread(target=run, name="preload-core", daemon=True)
    thread.start()
    return thread


def wait_turning_events(thread: threading.Thread) -> None:
    """Wait for `thread` (the preload) on the GUI thread without blocking its event loop:
    the web engine's browser side runs on that loop, so the map's page loads meanwhile
    instead of after the window is built."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()  # a loop object: see startup_bench's note on QApplication.processEvents
    while thread.is_alive():
        loop.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        thread.join(0.005)


def open_map_early(settings: Settings):  # noqa: ANN201 (ui.map.map_pane.MapPane)
    """The map pane, made before the database is opened, loading the page the last start
    wrote (none on a first start): MainWindow gives it its basemap."""
    from ui.map.map_pane import MapPane

    return MapPane(None, settings.cache_dir, tile_url=settings.tile_url)


def warm_up(app, on_step, on_error, compiler: subprocess.Popen | None = None) -> None:  # noqa: ANN001
    """Compile the routing kernels (after `compiler`, the child started at launch, when
    given), load the gazetteer, and load the road graph (with the reverse geocoder that
    names positions), each on a worker thread, so the first search and the first
    recommendation are instant. `on_step(key, seconds)` reports each step (key in
    WARM_STEPS) on the GUI thread as it is done; `on_error(key, exc)` a failure."""
    import time

    from dispatch.geo.warmup import compile_kernels
    from ui.workers import run_in_background

    def kernels() -> None:
        if compiler is not None:
            compiler.wait()
        compile_kernels()  # from the disk cache once the child has compiled them

    def timed(fn):  # noqa: ANN001, ANN202
        def run() -> float:
            t = time.perf_counter()
            fn()
            return time.perf_counter() - t
        return run

    jobs = {"kernels": kernels,
            "gazetteer": lambda: app.geocoder,
            "roads": lambda: (app.roads, getattr(app, "reverse", None))}
    for key, fn in jobs.items():
        run_in_background(timed(fn), lambda s, k=key: on_step(k, s), lambda e, k=key: on_error(k, e))


def launch(settings: Settings, compiler: subprocess.Popen | None = None, app=None, map_pane=None):  # noqa: ANN001, ANN201
    """Show the main window at 1920x1080 on `app` (bootstrapped here when not given)
    and start its warm-up; the QApplication must exist. `map_pane`: open_map_early's.
    DispatchError when the database cannot be opened."""
    from dispatch.bootstrap import bootstrap
    from ui.main_window import MainWindow

    app = app or bootstrap(settings)
    window = MainWindow(app, map_pane=map_pane)
    window.resize(1920, 1080)
    window.show()
    once_map_drawn(window, lambda: window.warm_up(compiler))
    return window


def once_signalled(signal, action, owner, latest_ms: int, already: bool = False) -> None:  # noqa: ANN001
    """Run `action` once: when `signal` (a bound Qt signal) is first emitted, at once when
    `already`, or after `latest_ms` at the latest (`owner`, a QObject, keeps the timer)."""
    from PySide6.QtCore import QTimer

    done = []

    def run(*_args: object) -> None:
        if not done:
            done.append(True)
            action()

    if already:
        QTimer.singleShot(0, run)
        return
    signal.connect(run)
    QTimer.singleShot(latest_ms, owner, run)


def once_map_drawn(window, action, latest_ms: int = 1500) -> None:  # noqa: ANN001 (MainWindow)
    """Run `action` once, when the window's map is first drawn, or after `latest_ms` at
    the latest. The warm-up's threads (kernels, gazetteer, road graph) compete with the
    window's first paint and the map page for the machine's cores: measured on 2 cores,
    the map was drawn 2.1-2.4 s after the window with them running, 0.84-0.90 s with them
    held back; the first recommendation is ready that much later (the call-taker is still
    typing the place)."""
    once_signalled(window.map.ready, action, window, latest_ms, window.map.is_ready)


def log_in_at_start(app) -> bool:  # noqa: ANN001 (dispatch.bootstrap.App)
    """The login dialog, on a database with accounts (on the demo: pre-filled with
    demo-calltaker, one Enter). False when the operator quits instead. A database
    without any account opens as before, as settings.operator (see services.accounts)."""
    if app.accounts_mode() == "none":
        return True
    from ui.login_dialog import LoginDialog
    return LoginDialog(app).exec() == LoginDialog.DialogCode.Accepted


def guard_seat(window, app) -> None:  # noqa: ANN001 (MainWindow, App)
    """Lock after settings.idle_lock_s without input, and at once on Ctrl+L (注销/锁定).
    Another account logging in at the lock is 交接班: the outgoing operator's open
    incidents pass to it (services.accounts.take_over), said in the status bar. The
    window title names whoever logged in last."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence, QShortcut

    from dispatch.domain.errors import DispatchError
    from ui.login_dialog import IdleLock, describe

    state = {"actor": app.actor}
    window_ref = weakref.ref(window)  # the lock lives in the window: no cycle back to it

    def titled(actor) -> None:  # noqa: ANN001
        window = window_ref()
        if window is None:
            return
        mode = "【培训演练 · 数据库副本，不影响实战】 " if app.settings.training else ""
        window.setWindowTitle(f"{mode}110 接处警调度台 — {app.settings.seat} · {describe(actor)}")

    def logged_in(actor) -> None:  # noqa: ANN001
        outgoing, state["actor"] = state["actor"].operator, actor
        titled(actor)
        window = window_ref()
        if outgoing == actor.operator or window is None:
            return
        try:
            changes = app.services.take_over(outgoing)
        except DispatchError as exc:
            window.statusBar().showMessage(f"交接班未进行：{exc}", 15000)
            return
        window.statusBar().showMessage(
            f"交接班：{outgoing} 的 {len(changes.incidents)} 起未结警情已交给 {actor.operator}", 15000)
        if changes.incidents and hasattr(window, "reload"):
            window.reload()

    window.idle_lock = IdleLock(app, window, app.settings.idle_lock_s, on_login=logged_in)
    lock = QShortcut(QKeySequence("Ctrl+L"), window)
    lock.setContext(Qt.ShortcutContext.ApplicationShortcut)  # (from any window: a dialog, replay)
    lock.activated.connect(window.idle_lock.lock_now)
    titled(app.actor)


def bootstrap_or_ask(settings: Settings, ask=None, clock=None):  # noqa: ANN001, ANN201 (App | None)
    """bootstrap(settings); while the database cannot be reached (server down, file
    locked), `ask(title, text)` says so and offers 重试 / 退出: True tries again, False
    gives up and returns None. `ask` defaults to the dialog of ask_retry. Any other
    refusal (a bad URL or directory) is raised: retrying would not change it."""
    from dispatch.bootstrap import bootstrap
    from dispatch.commands.support import database_place
    from dispatch.domain.errors import StoreUnavailable

    ask = ask or ask_retry
    attempt = 0
    while True:
        attempt += 1
        try:
            return bootstrap(settings, clock=clock)
        except StoreUnavailable as exc:
            text = (f"{exc}\n\n数据库：{database_place(settings.database_url)}"
                    + (f"\n（已尝试 {attempt} 次）" if attempt > 1 else "")
                    + "\n\n重试：服务器恢复后再次连接；退出：关闭调度台。")
            if not ask("无法连接数据库", text):
                return None


def ask_retry(title: str, text: str) -> bool:
    """The start-up's "无法连接数据库" dialog: 重试 (Enter) or 退出 (Esc). True: retry."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Critical, title, text)
    box.setObjectName("db_unreachable")
    retry = box.addButton("重试", QMessageBox.ButtonRole.AcceptRole)
    leave = box.addButton("退出", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(retry)
    box.setEscapeButton(leave)
    box.exec()
    return box.clickedButton() is retry


def make_qt_app():  # noqa: ANN201 (QApplication)
    """The QApplication (web engine loaded first, as it must be), Chinese, themed."""
    if os.geteuid() == 0 if hasattr(os, "geteuid") else False:
        flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
        if "--no-sandbox" not in flags:  # Chromium refuses to run sandboxed as root
            os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = (flags + " --no-sandbox").strip()
    import PySide6.QtWebEngineWidgets  # noqa: F401  (must precede the QApplication)
    skip_pyside_source_scan()
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme

    qt_app = QApplication.instance() or QApplication(sys.argv)
    qt_app.setApplicationName("110 接处警调度台")
    install_translations(qt_app)
    apply_theme(qt_app)
    return qt_app


def open_console(settings: Settings, compiler: subprocess.Popen | None, preload: threading.Thread,
                 guard: bool = True):  # noqa: ANN201 (MainWindow | int)
    """The shown main window, or the exit code when there is none (the database refused,
    退出 at its dialog or at the login). The map's page starts loading first, and the
    event loop turns while `preload` (preload_core) imports the store and services.
    `guard` False leaves out the login and the idle lock (bench startup: the start
    without a person typing)."""
    from PySide6.QtWidgets import QMessageBox

    early_map = open_map_early(settings)
    wait_turning_events(preload)
    from dispatch.domain.errors import DispatchError

    try:
        app = bootstrap_or_ask(settings)
    except DispatchError as exc:  # a mistake in the settings (bad URL, directory): retrying cannot help
        QMessageBox.critical(None, "无法启动", str(exc))
        return 2
    if app is None:  # 退出 at "无法连接数据库"
        return 2
    if guard and not log_in_at_start(app):
        return 0
    try:
        window = launch(app.settings, compiler, app=app, map_pane=early_map)
    except DispatchError as exc:
        QMessageBox.critical(None, "无法启动", str(exc))
        return 2
    if guard and app.accounts_mode() != "none":
        guard_seat(window, app)
    return window


def run_gui(settings: Settings) -> int:
    compiler = start_kernel_compile()
    preload = preload_core()
    qt_app = make_qt_app()
    window = open_console(settings, compiler, preload)
    if isinstance(window, int):
        return window
    from PySide6.QtCore import Qt

    from ui.checkpoint_keeper import CheckpointKeeper

    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.showMaximized()
    close_on_terminate(window)
    keeper = CheckpointKeeper(window.app.settings)  # (not the window's child: stopped after it is gone)
    try:
        return qt_app.exec()
    finally:
        keeper.stop()


def close_on_terminate(window) -> None:  # noqa: ANN001 (QWidget)
    """SIGTERM (a shutdown, a service manager, `kill`) closes the window as its close
    button does (the intake's draft kept or cleared, the follower stopped), not as a crash.
    Python handles a signal only when it runs: a timer lets it run 4 times a second."""
    import signal

    from PySide6.QtCore import QTimer

    signal.signal(signal.SIGTERM, lambda *_: QTimer.singleShot(0, window.close))
    window._signal_timer = timer = QTimer(window)  # kept with the window
    timer.timeout.connect(lambda: None)
    timer.start(250)
