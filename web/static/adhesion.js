/* The adhesion form, live: row totals follow what is typed, the amounts are asked of the
   adhesion service (through the page's own address, which holds the session) a moment after
   the typing stops, and « + Ajouter une ligne » adds a row in place. Nothing is priced here:
   the figures shown are the service's. The server stays the judge: it recomputes on every
   save, and without this script the buttons post the form as before. */
(function () {
  "use strict";
  var form = document.getElementById("adhesion-form");
  if (!form || !window.fetch || !window.URLSearchParams || !window.FormData) { return; }
  var quoteUrl = form.dataset.quote;
  var DELAY = 250; // ms of quiet typing before the amounts are asked for
  var PRICED = ".c-count input, input[name=insurance], #goods_value, #instruments_value";
  var amounts = document.querySelector("table.amounts");
  var timer = null, asked = 0, pending = null;

  function count(input) { // a whole number 0..5000, else null (the server will say why)
    var text = input.value.replace(/[\s\u00a0]/g, "");
    if (!/^\d{1,4}$/.test(text) || Number(text) > 5000) { return null; }
    return Number(text);
  }
  function setText(id, text) { var node = document.getElementById(id); if (node) { node.textContent = text; } }
  function busy(on) { // the figures on screen are not yet those of what is typed
    if (!amounts) { return; }
    if (on) { amounts.setAttribute("aria-busy", "true"); } else { amounts.removeAttribute("aria-busy"); }
  }

  function rowTotals() { // simple sums of the counts as typed; the amounts come from the service
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
  }

  function show(answer) {
    answer.lines.forEach(function (line) {
      var row = document.getElementById("ligne-" + line.key);
      if (!row) { return; }
      row.querySelector(".detail").textContent = line.detail;
      row.querySelector(".num").textContent = line.amount;
    });
    setText("montant-etat", "Montant calculé d'après votre saisie : cliquez sur « Valider et calculer » pour l'enregistrer.");
  }

  function unpriced() {
    setText("montant-etat", "Le montant n'a pas pu être recalculé : cliquez sur « Valider et calculer ».");
  }

  function askAmounts() {
    var mine = ++asked; // only the answer to the latest figures is shown
    if (pending && pending.abort) { pending.abort(); }
    pending = window.AbortController ? new AbortController() : null;
    fetch(quoteUrl, {
      method: "POST", credentials: "same-origin", redirect: "error", signal: pending ? pending.signal : undefined,
      headers: { "Accept": "application/json" }, body: new URLSearchParams(new FormData(form))
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!response.ok || !json) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (answer) {
      if (mine === asked) { show(answer); busy(false); }
    }).catch(function (error) {
      if (mine === asked && error.name !== "AbortError") { unpriced(); busy(false); }
    });
  }

  function changed(event) {
    if (!event.target.matches || !event.target.matches(PRICED)) { return; }
    rowTotals();
    if (!quoteUrl) { return; }
    busy(true);
    clearTimeout(timer);
    timer = setTimeout(askAmounts, DELAY);
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

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  var add = document.getElementById("add-row");
  if (add) { add.addEventListener("click", addRow); }
  form.dataset.live = "on";
})();
