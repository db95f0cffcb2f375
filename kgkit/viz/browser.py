"""Open saved views in headless Chromium and check that the graph was drawn (tests and benchmarks).

Uses Debian's ``chromium`` (``make chromium`` installs it; never a downloaded browser build) driven
by ``playwright`` (``pip install 'kgkit[notebooks]'``). A view counts as drawn when its canvas holds
pixels of the node colours; :func:`time_to_draw` measures how long a page takes to get there.

>>> with headless_chromium() as browser:                                  # doctest: +SKIP
...     check = check_page(browser, "curie.html", screenshot="shots/curie.png")
>>> check.canvases, check.node_pixels                                     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgkit.errors import DependencyMissingError, KgkitError

__all__ = ["BrowserMissingError", "PageCheck", "chromium_path", "headless_chromium", "check_page", "time_to_draw",
           "count_colour_pixels"]

LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
# How many pixels of the canvases must be painted (alpha > 0) before a view counts as drawn.
_JS_PAINTED = """(min) => {
  const frames = [document, ...Array.from(document.querySelectorAll('iframe')).map(f => f.contentDocument).filter(Boolean)];
  let painted = 0;
  for (const doc of frames) for (const c of doc.querySelectorAll('canvas')) {
    const ctx = c.getContext('2d'); if (!ctx || !c.width || !c.height) continue;
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 16) if (d[i] > 0) painted++;
  }
  return painted >= min ? painted : false;
}"""


class BrowserMissingError(KgkitError):
    """No Chromium to open the pages with."""


def chromium_path() -> str:
    """The Chromium binary: ``$KGKIT_CHROMIUM``, else ``/usr/bin/chromium`` (Debian's package).

    Raises:
        BrowserMissingError: neither exists (the message says how to install it).
    """
    for candidate in (os.environ.get("KGKIT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    raise BrowserMissingError("no Chromium found; install Debian's package with `make chromium` "
                              "(apt-get install -y chromium) or set KGKIT_CHROMIUM to a Chromium binary")


@contextlib.contextmanager
def headless_chromium() -> Iterator[Any]:
    """A playwright ``Browser`` on the system Chromium, closed afterwards."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        raise DependencyMissingError("playwright", "checking views in a browser", extra="notebooks") from err
    exe = chromium_path()
    with sync_playwright() as pw:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageCheck:
    """What a page showed: canvases found, pixels of node colours on them, requests that left the machine."""

    path: Path
    canvases: int = 0
    node_pixels: int = 0
    frame_pixels: list[int] = field(default_factory=list)  # node pixels of each frame that has canvases
    remote_requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    screenshot: Path | None = None


def count_colour_pixels(png: bytes, colours: Iterable[str], tolerance: int = 24) -> int:
    """Pixels of a PNG within ``tolerance`` (per channel) of any of ``colours`` (``#rrggbb``)."""
    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    hit = np.zeros(img.shape[:2], dtype=bool)
    for c in colours:
        rgb = np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
        hit |= (np.abs(img - rgb) <= tolerance).all(axis=2)
    return int(hit.sum())


def check_page(browser: Any, path: str | Path, *, colours: Iterable[str], screenshot: str | Path | None = None,
               timeout_s: float = 30.0, settle_s: float = 1.5, viewport: tuple[int, int] = (1280, 900)) -> PageCheck:
    """Open ``path``, wait until its graph canvases are painted, and count pixels of ``colours`` on them.

    Every ``<canvas>`` of the page and of its iframes (a notebook puts each view in one) is looked at;
    a full-page screenshot goes to ``screenshot``.
    """
    path = Path(path).resolve()
    result = PageCheck(path)
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    try:
        page.route("**/*", lambda route: _local_only(route, result.remote_requests))
        page.on("pageerror", lambda e: result.errors.append(str(e)))
        page.goto(path.as_uri(), wait_until="load", timeout=timeout_s * 1000)
        if page.query_selector("canvas, iframe.kgkit-graph"):  # a page with graph views: wait until drawn
            page.wait_for_function(_JS_PAINTED, arg=200, timeout=timeout_s * 1000, polling=100)
            page.wait_for_timeout(settle_s * 1000)  # let the force layout spread the nodes out
        colours = list(colours)
        for frame in page.frames:
            pixels, canvases = 0, 0
            for canvas in frame.query_selector_all("canvas"):
                box = canvas.bounding_box()
                if not box or box["width"] < 10 or box["height"] < 10:
                    continue
                canvases += 1
                canvas.scroll_into_view_if_needed()
                page.wait_for_timeout(200)  # a frame scrolled into view paints on its next animation frame
                pixels += count_colour_pixels(canvas.screenshot(), colours)
            if canvases:
                result.canvases += canvases
                result.frame_pixels.append(pixels)
                result.node_pixels += pixels
        if screenshot is not None:
            result.screenshot = Path(screenshot)
            result.screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(result.screenshot), full_page=True)
    finally:
        page.close()
    return result


def _local_only(route: Any, remote: list[str]) -> None:
    """Let local resources load; record and abort anything that would leave the machine."""
    url = route.request.url
    if url.startswith(LOCAL_SCHEMES):
        route.continue_()
    else:
        remote.append(url)
        route.abort()


def time_to_draw(browser: Any, path: str | Path, *, min_painted: int = 2000, timeout_s: float = 60.0,
                 viewport: tuple[int, int] = (1280, 900)) -> float:
    """Seconds from the start of navigation to ``path`` until its canvases hold ``min_painted``
    painted pixels (sampled every 4th pixel), measured by the page's own clock."""
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    try:
        page.goto(Path(path).resolve().as_uri(), wait_until="commit", timeout=timeout_s * 1000)
        page.wait_for_function(_JS_PAINTED, arg=min_painted, timeout=timeout_s * 1000, polling="raf")
        ms: float = page.evaluate("performance.now()")
    finally:
        page.close()
    return ms / 1000.0
