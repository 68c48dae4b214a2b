"""« Campagne 2025-2026 »: the year's figures, a chart of the September days drawn on
the server (SVG, readable without JavaScript), the CSV exports and the reminder dates."""
from datetime import date, datetime

import pygal
from flask import Response, flash, redirect, render_template, request, url_for
from pygal.style import Style

from web import client, pages
from web.client import ApiFailure
from web.formatting import FRANCE, campaign_year, recent_years
from web.security import staff_required
from web.staff import bp

CHART_STYLE = Style(background="white", plot_background="white", foreground="#1f2937", foreground_strong="#111827",
                    foreground_subtle="#6b7280", colors=("#1d4ed8", "#15803d", "#93c5fd", "#86efac"),
                    font_family="Arial, Helvetica, sans-serif")


@bp.get("/campagne")
@staff_required
def campaign_current():
    return redirect(url_for("staff.campaign", year=request.args.get("annee") or campaign_year()))


@bp.get("/campagne/<year>")
@staff_required
def campaign(year):
    pages.checked(year=year)
    stats = client.get_or_none(f"/api/adhesion/stats/{year}")
    schedule = client.get(f"/api/adhesion/reminders/{year}/schedule")["items"] if stats else []
    return render_template("staff/campaign.html", year=year, years=recent_years(campaign_year()), stats=stats,
                           schedule=schedule, today=datetime.now(FRANCE).date().isoformat())


def chart_svg(stats: dict) -> bytes:
    """Submissions and validations per day (lines), and their running totals (right axis)."""
    days = stats["daily"]
    daily_top = max([1] + [max(day["submitted"], day["validated"]) for day in days])
    total_top = max([1] + [day["submitted_total"] for day in days])
    chart = pygal.Line(
        truncate_label=-1, y_labels=_whole_steps(daily_top), range=(0, daily_top),
        secondary_range=(0, total_top),
        style=CHART_STYLE, width=900, height=420, x_label_rotation=0, show_minor_x_labels=False,
        x_labels_major_every=max(5, len(days) // 12), legend_at_bottom=True, legend_at_bottom_columns=2, dots_size=2,
        js=[], disable_xml_declaration=False, explicit_size=False, include_x_axis=True,
        title=f"Campagne {stats['year']} : adhésions saisies et validées par jour",
    )
    chart.x_labels = [date.fromisoformat(day["date"]).strftime("%d/%m") for day in days]
    chart.add("Saisies du jour", [day["submitted"] for day in days])
    chart.add("Validées du jour", [day["validated"] for day in days])
    chart.add("Saisies (cumul)", [day["submitted_total"] for day in days], secondary=True, fill=False)
    chart.add("Validées (cumul)", [day["validated_total"] for day in days], secondary=True, fill=False)
    return chart.render()


def _whole_steps(top: int, count: int = 6) -> list[int]:
    """Whole numbers on the axis: people and adhesions are not counted in tenths."""
    step = max(1, -(-top // count))
    return list(range(0, top + step, step))


@bp.get("/campagne/<year>/graphique.svg")
@staff_required
def campaign_chart(year):
    pages.checked(year=year)
    response = Response(chart_svg(client.get(f"/api/adhesion/stats/{year}")), mimetype="image/svg+xml")
    # the SVG carries its own <style>; it runs no script (pygal's JavaScript is left out)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/campagne/<year>/<kind>.csv")
@staff_required
def campaign_export(year, kind):
    pages.checked(year=year)
    paths = {"adhesions": "/api/adhesion/adhesions/export.csv", "declaration": "/api/adhesion/adhesions/declaration.csv"}
    if kind not in paths:
        return redirect(url_for("staff.campaign", year=year))
    answer = client.get(paths[kind], params={"year": year}, raw=True)
    return Response(answer.content, mimetype="text/csv", headers={
        "Content-Disposition": answer.headers.get("Content-Disposition", f'attachment; filename="{kind}.csv"')})


@bp.post("/campagne/<year>/rappels")
@staff_required
def reminder_dates(year):
    pages.checked(year=year)
    dates = [value for value in request.form.getlist("date") if value.strip()][:20]
    try:
        client.put(f"/api/adhesion/reminders/{year}/schedule", json={"dates": dates})
    except ApiFailure as failure:
        if failure.status not in (400, 404, 422):
            raise
        flash(failure.message if failure.status == 422 else "Dates de relance invalides : " + failure.message, "error")
    else:
        flash("Dates de relance enregistrées : chaque relance part une seule fois, le jour dit.", "success")
    return redirect(url_for("staff.campaign", year=year) + "#relances")
