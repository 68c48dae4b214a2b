/* The adhesion form, live: row totals and amounts follow what is typed, and « + Ajouter une
   ligne » adds a row in place. The server stays the judge: it recomputes on every save, and
   without this script the buttons post the form as before. Money is computed in whole
   numbers (BigInt), each line rounded half-up to the cent, as the API does. */
(function () {
  "use strict";
  var form = document.getElementById("adhesion-form");
  if (!form || !window.BigInt) { return; }
  var rates = form.dataset.rates ? JSON.parse(form.dataset.rates) : null;
  var SCALE = 5; // rates have at most five decimals

  function scaled(text, places) { // "2.26" -> 226000n (places = 5); null when unreadable
    var match = /^(\d+)(?:[.,](\d*))?$/.exec(String(text).replace(/[\s\u00a0\u202f€]/g, ""));
    if (!match || (match[2] || "").length > places) { return null; }
    return BigInt(match[1] + (match[2] || "").padEnd(places, "0"));
  }
  function cents(value, places) { // half-up from `places` decimals to cents
    var divisor = 10n ** BigInt(places - 2);
    return (value + divisor / 2n) / divisor;
  }
  function groups(digits) { return digits.replace(/\B(?=(\d{3})+(?!\d))/g, " "); }
  function eur(c) { // 43975n -> "439,75 €"
    var text = c.toString().padStart(3, "0");
    return groups(text.slice(0, -2)) + "," + text.slice(-2) + " €";
  }
  function fee(text) { // "2.26000" -> "2,26 €", "0.5" -> "0,50 €"
    var parts = String(text).split(".");
    var fraction = (parts[1] || "").replace(/0+$/, "");
    return parts[0] + "," + fraction.padEnd(2, "0") + " €";
  }
  function count(input) { // a whole number 0..5000, else null (the server will say why)
    var text = input.value.replace(/[\s\u00a0]/g, "");
    if (!/^\d{1,4}$/.test(text) || Number(text) > 5000) { return null; }
    return Number(text);
  }
  function setText(id, text) { var node = document.getElementById(id); if (node) { node.textContent = text; } }
  function cell(key, selector) { var row = document.getElementById("ligne-" + key); return row && row.querySelector(selector); }

  function recompute() {
    var teachers = 0, students = 0, readable = true;
    form.querySelectorAll(".class-row").forEach(function (row) {
      var inputs = row.querySelectorAll(".c-count input");
      var t = inputs[0].value.trim() === "" ? 0 : count(inputs[0]);
      var s = inputs[1].value.trim() === "" ? 0 : count(inputs[1]);
      var total = row.querySelector(".total-value");
      if (t === null || s === null) { readable = false; if (total) { total.textContent = ""; } return; }
      teachers += t; students += s;
      if (total) { total.textContent = (inputs[0].value.trim() || inputs[1].value.trim()) ? String(t + s) : ""; }
    });
    setText("foot-label", readable ? "Total saisi :" : "Total saisi (un nombre est à corriger) :");
    setText("foot-teachers", String(teachers));
    setText("foot-students", String(students));
    setText("foot-cooperators", String(teachers + students));
    if (!rates) { return; }
    var insured = form.querySelector("#insurance-oui") && form.querySelector("#insurance-oui").checked;
    var r = {};
    ["fee_per_student", "fee_per_adult", "fee_per_cooperative", "insurance_per_cooperator", "goods_threshold",
     "goods_rate", "instruments_threshold", "instruments_rate"].forEach(function (k) { r[k] = scaled(rates[k], SCALE); });
    var coop = BigInt(teachers + students);
    var membership = cents(BigInt(students) * r.fee_per_student + BigInt(teachers) * r.fee_per_adult + r.fee_per_cooperative, SCALE);
    var insurance = insured ? cents(coop * r.insurance_per_cooperator, SCALE) : 0n;
    function premium(kind) {
      var input = form.querySelector("#" + kind + "_value");
      var value = input && input.value.trim() ? scaled(input.value, 2) : 0n;
      if (value === null) { return { ok: false, value: 0n, amount: 0n }; }
      var over = value * 1000n - r[kind + "_threshold"]; // both at five decimals
      return { ok: true, value: value, amount: insured && over > 0n ? cents(over * r[kind + "_rate"], 2 * SCALE) : 0n };
    }
    var goods = premium("goods"), instruments = premium("instruments");
    var detail;
    if (rates.fee_per_student === rates.fee_per_adult || r.fee_per_student === r.fee_per_adult) {
      detail = "des coopérateurs (" + (teachers + students) + " x " + fee(rates.fee_per_student) + ")";
    } else {
      detail = "des coopérateurs (" + students + " élèves x " + fee(rates.fee_per_student) + " + " + teachers +
        " adultes x " + fee(rates.fee_per_adult) + ")";
    }
    if (r.fee_per_cooperative > 0n) { detail += " + " + fee(rates.fee_per_cooperative) + " par coopérative"; }
    cell("membership", ".detail").textContent = detail + " :";
    cell("membership", ".num").textContent = eur(membership);
    cell("insurance", ".detail").textContent = insured ?
      "oui — des coopérateurs (" + (teachers + students) + " x " + fee(rates.insurance_per_cooperator) + ") :" : "non :";
    cell("insurance", ".num").textContent = eur(insurance);
    if (goods.ok) {
      cell("goods", ".detail").textContent = "des biens, propriété de la Coopérative Scolaire (valeur déclarée : " + eur(goods.value) + ") :";
    }
    cell("goods", ".num").textContent = eur(goods.amount);
    if (instruments.ok) {
      cell("instruments", ".detail").textContent = "des instruments de musique (valeur déclarée : " + eur(instruments.value) + ") :";
    }
    cell("instruments", ".num").textContent = eur(instruments.amount);
    cell("total", ".num").textContent = eur(membership + insurance + goods.amount + instruments.amount);
    setText("montant-etat", "Montant calculé d'après votre saisie : cliquez sur « Valider et calculer » pour l'enregistrer.");
  }

  function addRow(event) {
    var rows = form.querySelectorAll(".class-row");
    var last = rows[rows.length - 1];
    if (!last) { return; }
    event.preventDefault();
    var index = rows.length;
    var copy = last.cloneNode(true);
    copy.classList.remove("new-row");
    copy.querySelectorAll("[id], [name], [for], [aria-describedby]").forEach(function (node) {
      ["id", "name", "for", "aria-describedby"].forEach(function (attribute) {
        var value = node.getAttribute(attribute);
        if (value) { node.setAttribute(attribute, value.replace(/classes-\d+-/g, "classes-" + index + "-")); }
      });
    });
    copy.querySelectorAll("input").forEach(function (input) {
      input.value = ""; input.removeAttribute("aria-invalid"); input.removeAttribute("autofocus");
    });
    copy.querySelectorAll(".field-error").forEach(function (node) { node.remove(); });
    copy.querySelectorAll(".has-error").forEach(function (node) { node.classList.remove("has-error"); });
    copy.querySelectorAll("[aria-describedby]").forEach(function (node) {
      if (!document.getElementById(node.getAttribute("aria-describedby"))) { node.removeAttribute("aria-describedby"); }
    });
    var actions = copy.querySelector(".c-actions"); if (actions) { actions.textContent = ""; }
    var total = copy.querySelector(".total-value"); if (total) { total.textContent = ""; }
    copy.querySelector("legend").textContent = "Classe " + (index + 1);
    last.parentNode.insertBefore(copy, document.getElementById("class-foot"));
    form.querySelector("input[name=row_count]").value = String(index + 1);
    copy.querySelector("input").focus();
    setText("montant-etat", "Ligne " + (index + 1) + " ajoutée.");
  }

  form.addEventListener("input", recompute);
  form.addEventListener("change", recompute);
  var add = document.getElementById("add-row");
  if (add) { add.addEventListener("click", addRow); }
  form.dataset.live = "on";
})();
