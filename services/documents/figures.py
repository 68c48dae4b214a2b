"""What the documents service adds to ``/metrics`` (docs/metrics.md): the PDFs it draws,
counted by the process that draws them."""
# through shared.metrics, so the process's multiprocess files are set up before it counts
from shared import metrics

RENDERED = metrics.Counter("retkoop_documents_rendered", "PDF documents drawn, by kind", ["kind"])
