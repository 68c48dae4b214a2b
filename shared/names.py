"""How a cooperative is named in a sentence: the one rule every PDF, page and email uses.

Most names already begin with « Coopérative scolaire » (in any case, with or without its
accent, abbreviated « Coop. scolaire »): that prefix is never printed twice (issue 25:
« Coopérative Scolaire Coopérative scolaire École… » on PDFs and emails)."""
import re
import unicodedata

LABEL = "Coopérative Scolaire"
_ALREADY = re.compile(r"(cooperative|coop\.?)\s+scolaire\b")


def _plain(text: str) -> str:
    """Lower case, no accents, one space between words: what the prefix is compared on."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def cooperative_label(name: str) -> str:
    """« Coopérative Scolaire de l'École Jean Moulin » from « de l'École Jean Moulin », and
    a name that already says it as it is."""
    name = " ".join(str(name).split())
    if _ALREADY.match(_plain(name)):
        return name
    return f"{LABEL} {name}" if name else LABEL
