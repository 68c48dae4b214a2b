"""The book as a CSV file that French Excel opens as it is (shared/csv_export.py: ``;``
between columns, decimal comma, UTF-8 with a byte order mark, labels formula-safe);
dates as 31/08/2026.

The layout is the classic *cahier en colonnes*: one line per entry, expense and income
columns per account (bank, cash), then one column per account of the chart used."""
from decimal import Decimal

from shared.csv_export import csv_bytes
from shared.money import CENT

ACCOUNT_LABELS = {"bank": "Banque", "cash": "Caisse"}
METHOD_LABELS = {
    "cheque": "chèque", "transfer": "virement", "direct_debit": "prélèvement", "card": "carte bancaire",
    "cash": "espèces", "collect": "collecte", "mairie": "mairie", "sou_des_ecoles": "sou des écoles", "other": "autre",
}


def amount(value: Decimal | None) -> Decimal | None:
    """An amount to the cent: the writer puts it as ``1200,00`` (no thousands separator:
    Excel reads it as a number), a number and never a formula-safe text."""
    return None if value is None else Decimal(value).quantize(CENT)


def book_csv(book: dict) -> bytes:
    """The book as :func:`service.read_book` answers it → the bytes of the CSV file; the
    texts a school typed (labels, pieces, cheque numbers) are written formula-safe."""
    codes = sorted({a["category"] for e in book["entries"] for a in e["allocations"]})
    labels = {a["category"]: a["label"] for e in book["entries"] for a in e["allocations"]}
    header = ["Date", "Pièce", "Libellé", "Moyen", "N° de chèque", "P.J.",
              "Banque dépense", "Banque recette", "Caisse dépense", "Caisse recette",
              *[f"{code} {labels[code]}".strip() for code in codes]]
    opening = book["opening"]
    rows = [[book["exercise"]["start"], "", "Report à nouveau", "", "", "",
             None, amount(opening["bank"]), None, amount(opening["cash"]), *[None] * len(codes)]]
    for entry in book["entries"]:
        columns = {(entry["account"], entry["direction"]): amount(entry["amount"])}
        allocated = {}
        for allocation in entry["allocations"]:
            allocated[allocation["category"]] = allocated.get(allocation["category"], Decimal(0)) + allocation["amount"]
        rows.append([
            entry["date"], entry["piece"], entry["label"], METHOD_LABELS.get(entry["method"], entry["method"]),
            entry["cheque_number"], entry["voucher"],
            columns.get(("bank", "expense")), columns.get(("bank", "income")),
            columns.get(("cash", "expense")), columns.get(("cash", "income")),
            *[amount(allocated.get(code)) for code in codes],
        ])
    balance = book["balance"]
    rows.append(["", "", "Solde", "", "", "", None, amount(balance["bank"]), None, amount(balance["cash"]),
                 *[None] * len(codes)])
    return csv_bytes(header, rows)


def filename(number: str, year: str) -> str:
    return f"cahier-de-comptes-{number}-{year}.csv"


def aggregate_csv(aggregate: dict) -> bytes:
    """The comptes agrégés: one row per account with its sum over the received CRFs, then
    the totals, the result, the balances and how many CRFs were added."""
    from services.ledger import yearend

    labels, totals = aggregate["labels"], aggregate["totals"]
    header = ["Compte", "Libellé", "Nature", "Montant"]
    rows = []
    for kind, name in ((yearend.CHARGE, "charge"), (yearend.PRODUIT, "produit")):
        rows += [[code, labels.get(code, ""), name, amount(value)] for code, value in sorted(totals[kind].items())]
    charges = sum(totals[yearend.CHARGE].values(), Decimal(0))
    produits = sum(totals[yearend.PRODUIT].values(), Decimal(0))
    rows += [
        ["", "Total des charges", "", amount(charges)],
        ["", "Total des produits", "", amount(produits)],
        ["", "Résultat (produits − charges)", "", amount(produits - charges)],
        ["", "Report à nouveau banque", "", amount(aggregate["opening"]["bank"])],
        ["", "Report à nouveau caisse", "", amount(aggregate["opening"]["cash"])],
        ["", "Solde au 31 août banque", "", amount(aggregate["closing"]["bank"])],
        ["", "Solde au 31 août caisse", "", amount(aggregate["closing"]["cash"])],
        ["", "Nombre de comptes rendus additionnés", "", aggregate["crfs"]],
    ]
    return csv_bytes(header, rows)
