"""The book as a CSV file that French Excel opens as it is: ``;`` between columns, decimal
comma, dates as 31/08/2026, UTF-8 with a byte order mark (without it Excel reads cp1252).

The layout is the classic *cahier en colonnes*: one line per entry, expense and income
columns per account (bank, cash), then one column per account of the chart used."""
import csv
import io
from decimal import Decimal

BOM = "\ufeff"
ACCOUNT_LABELS = {"bank": "Banque", "cash": "Caisse"}
METHOD_LABELS = {
    "cheque": "chèque", "transfer": "virement", "direct_debit": "prélèvement", "card": "carte bancaire",
    "cash": "espèces", "collect": "collecte", "mairie": "mairie", "sou_des_ecoles": "sou des écoles", "other": "autre",
}


def amount(value: Decimal | None) -> str:
    """``1200.00`` → ``1200,00`` (no thousands separator: Excel reads it as a number)."""
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def book_csv(book: dict) -> bytes:
    """The book as :func:`service.read_book` answers it → the bytes of the CSV file."""
    codes = sorted({a["category"] for e in book["entries"] for a in e["allocations"]})
    labels = {a["category"]: a["label"] for e in book["entries"] for a in e["allocations"]}
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Date", "Pièce", "Libellé", "Moyen", "N° de chèque", "P.J.",
                     "Banque dépense", "Banque recette", "Caisse dépense", "Caisse recette",
                     *[f"{code} {labels[code]}".strip() for code in codes]])
    opening = book["opening"]
    start = book["exercise"]["start"]
    writer.writerow([f"{start:%d/%m/%Y}", "", "Report à nouveau", "", "", "",
                     "", amount(opening["bank"]), "", amount(opening["cash"]), *[""] * len(codes)])
    for entry in book["entries"]:
        columns = {(entry["account"], entry["direction"]): amount(entry["amount"])}
        allocated = {}
        for allocation in entry["allocations"]:
            allocated[allocation["category"]] = allocated.get(allocation["category"], Decimal(0)) + allocation["amount"]
        writer.writerow([
            f"{entry['date']:%d/%m/%Y}", entry["piece"], entry["label"], METHOD_LABELS.get(entry["method"], entry["method"]),
            entry["cheque_number"], entry["voucher"],
            columns.get(("bank", "expense"), ""), columns.get(("bank", "income"), ""),
            columns.get(("cash", "expense"), ""), columns.get(("cash", "income"), ""),
            *[amount(allocated.get(code)) for code in codes],
        ])
    balance = book["balance"]
    writer.writerow(["", "", "Solde", "", "", "", "", amount(balance["bank"]), "", amount(balance["cash"]),
                     *[""] * len(codes)])
    return (BOM + out.getvalue()).encode("utf-8")


def filename(number: str, year: str) -> str:
    return f"cahier-de-comptes-{number}-{year}.csv"
