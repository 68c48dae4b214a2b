"""The year's rates of the department (GET/PUT /api/adhesion/rates/<year>)."""
from flask import flash, redirect, render_template, request, url_for

from web import client, forms, pages
from web.client import ApiFailure
from web.formatting import campaign_year, rate_input, recent_years
from web.security import staff_required
from web.staff import bp

RATE_FIELDS = (
    ("fee_per_student", "Adhésion par élève (€)"),
    ("fee_per_adult", "Adhésion par enseignant ou adulte (€)"),
    ("fee_per_cooperative", "Adhésion forfaitaire par coopérative (€)"),
    ("insurance_per_cooperator", "Assurance par coopérateur (€)"),
    ("goods_threshold", "Biens : valeur non taxée (€)"),
    ("goods_rate", "Biens : taux de la prime (ex. 0,00688)"),
    ("instruments_threshold", "Instruments de musique : valeur non taxée (€)"),
    ("instruments_rate", "Instruments de musique : taux de la prime (ex. 0,00688)"),
)
DATE_FIELDS = (("renewal_opens", "Ouverture du renouvellement"), ("renewal_closes", "Clôture du renouvellement"))
RATE_GROUPS = (
    ("Adhésion", ("fee_per_student", "fee_per_adult", "fee_per_cooperative")),
    ("Assurance", ("insurance_per_cooperator",)),
    ("Biens de la coopérative", ("goods_threshold", "goods_rate")),
    ("Instruments de musique", ("instruments_threshold", "instruments_rate")),
    ("Période de renouvellement", ("renewal_opens", "renewal_closes")),
)


@bp.get("/tarifs")
@staff_required
def rates_current():
    return redirect(url_for("staff.rates", year=request.args.get("annee") or campaign_year()))


@bp.route("/tarifs/<year>", methods=["GET", "POST"])
@staff_required
def rates(year):
    pages.checked(year=year)
    if request.method == "GET":
        current = client.get_or_none(f"/api/adhesion/rates/{year}/proposal") or {}
        copied_from = current.get("carried_from")
        values = {name: rate_input(current.get(name)) for name, _ in RATE_FIELDS}
        values.update({name: current.get(name, "") for name, _ in DATE_FIELDS})
        return render_rates(year, values, {}, missing=not current or copied_from is not None, copied_from=copied_from)
    values = {name: request.form.get(name, "").strip() for name, _ in RATE_FIELDS + DATE_FIELDS}
    payload = {name: forms.money_value(values[name]) if values[name] else "" for name, _ in RATE_FIELDS}
    payload.update({name: values[name] or None for name, _ in DATE_FIELDS})
    try:
        client.put(f"/api/adhesion/rates/{year}", json=payload)
    except ApiFailure as failure:
        if failure.status not in (400, 422):
            raise
        errors = forms.simple_errors(failure.fields) or {"_form": [failure.message]}
        return render_rates(year, values, errors, problem=failure.message), 422
    flash(f"Les tarifs {year.replace('-', ' - ')} sont enregistrés.", "success")
    return redirect(url_for("staff.rates", year=year))


def render_rates(year, values, errors, **extra):
    return render_template("staff/rates.html", year=year, years=recent_years(campaign_year()), values=values,
                           errors=errors, groups=RATE_GROUPS, labels=dict(RATE_FIELDS + DATE_FIELDS), **extra)
