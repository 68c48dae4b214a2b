"""Drawing a PDF from HTML with xhtml2pdf, prepared once per process: DejaVu Sans
registered (names beyond Latin-1), xhtml2pdf's style sheets parsed once, every file and
network read refused. The documents, the cheque slips and the engagement du mandataire
are drawn here.

Imported where a PDF is drawn, not with a service: xhtml2pdf and the fonts cost ~0.45 s
of a process's start.
"""
import calendar
import io
import os
import threading
from datetime import date
from pathlib import Path

from reportlab import rl_config
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from xhtml2pdf import default as pisa_default
from xhtml2pdf import document as pisa_document
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy
from xhtml2pdf.context import pisaContext

# Names are typed by schools across Europe (Łukasz, Ayşe, Ελένη): Helvetica covers only
# Latin-1 and prints a box for the rest. DejaVu Sans (Debian's fonts-dejavu-core, free
# licence) covers Latin, Greek and Cyrillic; it is embedded, subset, in every PDF.
FONT_DIRS = [os.environ.get("DEJAVU_FONT_DIR", ""), "/usr/share/fonts/truetype/dejavu"]
FONT = "DejaVuSans"
_FACES = {
    (0, 0): ("DejaVuSans", "DejaVuSans.ttf"),
    (1, 0): ("DejaVuSans-Bold", "DejaVuSans-Bold.ttf"),
    (0, 1): ("DejaVuSans-Oblique", "DejaVuSans-Oblique.ttf"),
    (1, 1): ("DejaVuSans-BoldOblique", "DejaVuSans-BoldOblique.ttf"),
}


def _register_fonts() -> None:
    for folder in filter(None, FONT_DIRS):
        if (Path(folder) / "DejaVuSans.ttf").exists():
            break
    else:
        raise RuntimeError("DejaVu Sans not found: install Debian's fonts-dejavu-core (make run / make test do)")
    for (bold, italic), (name, filename) in _FACES.items():
        path = Path(folder) / filename
        if not path.exists():  # fonts-dejavu-core ships the four; another copy may have two
            path = Path(folder) / _FACES[(bold, 0)][1]
        pdfmetrics.registerFont(TTFont(name, str(path)))
        addMapping(FONT, bold, italic, name)
    for alias in ("dejavusans", "dejavu sans", "dejavu_sans"):
        pisa_default.DEFAULT_FONT[alias] = FONT


_register_fonts()


class _Context(pisaContext):
    """xhtml2pdf's context, but a style sheet without @-rules parsed once per process
    instead of once per PDF: xhtml2pdf's own default sheet and the documents' rules,
    4 to 7 ms of the ~50 of a validation's two PDFs (docs/scale.md). Only @-rules act on the context as
    they are parsed (@page and @frame build the page templates the layout then fills
    in, @font-face and @import read files); other rules are only read afterwards, and
    merging sheets copies a rule before changing it. So the documents' @page has a
    <style> of its own, parsed each time."""

    _sheets: dict[tuple[str, str], object] = {}
    MAX_SHEETS = 32  # the templates' sheets are fixed; a sheet made per document would not repeat

    def _parseCSSSource(self, text, sourceName):
        if "@" in text:
            return super()._parseCSSSource(text, sourceName)
        key = (text, str(sourceName))
        sheet = self._sheets.get(key)
        if sheet is None:
            sheet = super()._parseCSSSource(text, sourceName)
            if len(self._sheets) < self.MAX_SHEETS:
                self._sheets[key] = sheet
        return sheet


# pisa.CreatePDF takes no context: it builds one from this name, under its render lock.
# Any other caller in the process would get it too, and be safe: a sheet parses the
# same whatever the document around it.
pisa_document.pisaContext = _Context

# The markup only ever embeds a data: URI; refuse every file and network read.
POLICY = ResourceAccessPolicy.server(None, allow_remote=False, max_render_seconds=30)

_INVARIANT = threading.Lock()


def draw(html: str, what: str, day: date | None = None) -> bytes:
    """The PDF of ``html``; ``what`` names it in an error. With ``day`` the drawing is
    invariant: the same HTML gives the same bytes (ReportLab fixes the file's ID and
    dates) and the metadata's dates are that day (SOURCE_DATE_EPOCH, which ReportLab
    reads); both settings are process-wide, so they are set for this drawing only."""
    out = io.BytesIO()
    if day is None:
        status = pisa.CreatePDF(html, dest=out, encoding="utf-8", resource_policy=POLICY)
    else:
        with _INVARIANT:
            before = rl_config.invariant, os.environ.get("SOURCE_DATE_EPOCH")
            rl_config.invariant = 1
            os.environ["SOURCE_DATE_EPOCH"] = str(calendar.timegm(day.timetuple()))
            try:
                status = pisa.CreatePDF(html, dest=out, encoding="utf-8", resource_policy=POLICY)
            finally:
                rl_config.invariant = before[0]
                if before[1] is None:
                    os.environ.pop("SOURCE_DATE_EPOCH", None)
                else:
                    os.environ["SOURCE_DATE_EPOCH"] = before[1]
    if status.err:
        raise RuntimeError(f"xhtml2pdf could not draw {what}: {status.err} error(s)")
    return out.getvalue()
