"""The adhesion form: posted fields → the API's JSON, and the API's field errors → the
inputs they belong to."""
import re

INTEGER = re.compile(r"^[+-]?[0-9]{1,9}\Z")
ROW_FIELDS = ("name", "teachers", "teacher_count", "student_count")
PAYMENT_KEYS = ("transfer", "cheque", "other", "direct_debit")


def blank_row() -> dict:
    return {"name": "", "teachers": "", "teacher_count": "", "student_count": ""}


def rows_of(adhesion: dict) -> list[dict]:
    """The saved classes as the form shows them (strings)."""
    return [{key: str(row.get(key, "")) for key in ROW_FIELDS} for row in adhesion.get("classes", [])]


def posted_rows(form) -> list[dict]:
    try:
        count = min(int(form.get("row_count", "0")), 200)
    except ValueError:
        count = 0
    return [{key: form.get(f"classes-{i}-{key}", "").strip() for key in ROW_FIELDS} for i in range(count)]


def is_blank(row: dict) -> bool:
    return not row["name"] and not row["teachers"] and row["teacher_count"] in ("", "0") and \
        row["student_count"] in ("", "0")


def count_value(text: str):
    """``"165"`` → 165; anything else goes as typed, for the API to name the error (an empty
    count never becomes 0: ``count_errors`` stops it first)."""
    text = text.replace(" ", "").replace("\u00a0", "")
    return int(text) if INTEGER.fullmatch(text) else text


COUNT_EMPTY = "Indiquez un nombre (0 s'il n'y en a pas)."
COUNT_INVALID = "Nombre entier attendu, en chiffres seulement (ex. 24)."


def count_errors(rows: list[dict]) -> dict[str, list[str]]:
    """Counts left empty or unreadable in the rows that will be sent: the teacher sees the
    error beside the field and nothing is saved (a browser number field would have sent
    « 28e » as empty, and empty used to be saved as 0)."""
    errors: dict[str, list[str]] = {}
    for index, row in enumerate(rows):
        if is_blank(row):
            continue
        for key in ("teacher_count", "student_count"):
            text = row[key].replace(" ", "").replace("\u00a0", "")
            if text == "":
                errors[f"classes-{index}-{key}"] = [COUNT_EMPTY]
            elif not INTEGER.fullmatch(text):
                errors[f"classes-{index}-{key}"] = [COUNT_INVALID]
    return errors


def money_value(text: str) -> str:
    """``"1 500,50 €"`` → ``"1500.50"``; empty → ``"0.00"``."""
    cleaned = (text or "").replace("€", "").replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    return cleaned.replace(",", ".") or "0.00"


def yes(form, name: str) -> bool:
    return form.get(name) == "oui"


def adhesion_payload(form, rows: list[dict]) -> tuple[dict, list[int]]:
    """The PUT body, and for each of its classes the index of the form row it came from
    (blank rows are left out)."""
    classes, origin = [], []
    for index, row in enumerate(rows):
        if is_blank(row):
            continue
        classes.append({
            "name": row["name"],
            "teachers": row["teachers"],
            "teacher_count": count_value(row["teacher_count"]),
            "student_count": count_value(row["student_count"]),
        })
        origin.append(index)
    payload = {
        "classes": classes,
        "insurance": yes(form, "insurance"),
        "goods_value": money_value(form.get("goods_value", "")),
        "instruments_value": money_value(form.get("instruments_value", "")),
        "payment": {key: yes(form, f"pay_{key}") for key in PAYMENT_KEYS},
    }
    return payload, origin


def posted_state(form, rows: list[dict]) -> dict:
    """What the user typed, to show again beside the errors."""
    return {
        "insurance": yes(form, "insurance"),
        "goods_value": form.get("goods_value", ""),
        "instruments_value": form.get("instruments_value", ""),
        "payment": {key: yes(form, f"pay_{key}") for key in PAYMENT_KEYS},
        "rows": rows,
    }


def flatten(fields, prefix: str = "") -> dict[str, list[str]]:
    """``{"classes": {"0": {"student_count": ["…"]}}}`` → ``{"classes.0.student_count": ["…"]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(fields, dict):
        for key, value in fields.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(fields, list):
        if all(isinstance(item, str) for item in fields):
            flat[prefix or "_form"] = list(fields)
        else:
            for item in fields:
                for key, value in flatten(item, prefix).items():
                    flat.setdefault(key, []).extend(value)
    elif fields is not None:
        flat[prefix or "_form"] = [str(fields)]
    return flat


def adhesion_errors(fields: dict, origin: list[int]) -> dict[str, list[str]]:
    """The API's errors keyed by the form's input names (``classes-2-student_count``)."""
    errors: dict[str, list[str]] = {}
    for path, messages in flatten(fields).items():
        parts = path.split(".")
        if parts[0] == "classes" and len(parts) >= 3 and parts[1].isdigit():
            api_index = int(parts[1])
            row = origin[api_index] if api_index < len(origin) else api_index
            key = f"classes-{row}-{parts[2]}" if parts[2] in ROW_FIELDS else "classes"
        elif parts[0] == "payment" and len(parts) > 1 and parts[1] in PAYMENT_KEYS:
            key = f"pay_{parts[1]}"
        elif parts[0] in ("classes", "insurance", "goods_value", "instruments_value", "payment"):
            key = parts[0]
        else:
            key = "_form"
        errors.setdefault(key, []).extend(messages)
    return errors


def simple_errors(fields: dict) -> dict[str, list[str]]:
    """Errors of a flat form (cooperative, payment, rates): one key per input."""
    errors: dict[str, list[str]] = {}
    for path, messages in flatten(fields).items():
        errors.setdefault(path.split(".")[0], []).extend(messages)
    return errors


ROW_LABELS = {"name": "Nom de la classe", "teachers": "Enseignant(e)s", "teacher_count": "Nombre d'enseignants",
              "student_count": "Nombre d'élèves"}
FIELD_LABELS = {
    "classes": ("Les classes", "classes-titre"),
    "insurance": ("Assurance", "insurance-oui"),
    "goods_value": ("Valeur déclarée des biens", "goods_value"),
    "instruments_value": ("Valeur déclarée des instruments de musique", "instruments_value"),
    "payment": ("Le paiement", "paiement-titre"),
    "pay_transfer": ("Paiement par la collecte et/ou par virement", "pay_transfer-oui"),
    "pay_cheque": ("Paiement par chèque", "pay_cheque-oui"),
    "pay_other": ("Paiement par un autre moyen", "pay_other-oui"),
    "pay_direct_debit": ("Paiement par prélèvement", "pay_direct_debit-oui"),
}


def error_summary(errors: dict, rows: list[dict]) -> list[dict]:
    """One line per error, in page order, each a link to its field (for the list at the top)."""
    lines = []
    for key, messages in errors.items():
        match = re.fullmatch(r"classes-(\d+)-(\w+)", key)
        if match:
            index, name = int(match.group(1)), match.group(2)
            row_name = rows[index]["name"] if index < len(rows) and rows[index]["name"] else ""
            label = f"Classe {index + 1}{f' ({row_name})' if row_name else ''} — {ROW_LABELS.get(name, name)}"
            lines.append({"href": f"#{key}", "text": f"{label} : {' '.join(messages)}", "order": (1, index)})
        elif key in FIELD_LABELS:
            label, anchor = FIELD_LABELS[key]
            order = list(FIELD_LABELS).index(key)
            lines.append({"href": f"#{anchor}", "text": f"{label} : {' '.join(messages)}",
                          "order": (0 if key == "classes" else 2, order)})
    return sorted(lines, key=lambda line: line["order"])
