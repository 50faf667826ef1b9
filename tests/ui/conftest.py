# QtWebEngine must be imported before the QApplication exists (pytest-qt makes it lazily).
import PySide6.QtWebEngineWidgets  # noqa: F401
import pytest


@pytest.fixture(scope="session")
def qapp(qapp_args, qapp_cls, pytestconfig):  # noqa: ANN001
    """pytest-qt's application, with the console's Chinese Qt translations loaded as
    ui.app loads them, so tests see the menus a call-taker sees."""
    from PySide6.QtWidgets import QApplication

    from ui.app import install_translations

    app = QApplication.instance() or qapp_cls(qapp_args)
    install_translations(app)
    yield app
    # let every window and web page be deleted while Qt is still up (QtWebEngine
    # crashes at exit when a page outlives its profile)
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent
    for _ in range(3):
        gc.collect()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()


@pytest.fixture(autouse=True)
def _settle_background_jobs(request):  # noqa: ANN001
    """Background jobs (routes, warm-up) finish before a test's widgets are destroyed."""
    yield
    if "qtbot" in request.fixturenames:
        from PySide6.QtCore import QThreadPool
        QThreadPool.globalInstance().waitForDone(120000)
