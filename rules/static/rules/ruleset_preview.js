// Rule set change page: preview the impact of the rules as edited, before saving.
"use strict";

(function () {
  function proposedRules() {
    const rules = [];
    document.querySelectorAll("tr.form-row[id^='items-']").forEach(function (row) {
      const field = function (name) { return row.querySelector("[name$='-" + name + "']"); };
      const deleted = field("DELETE");
      const rule = field("rule");
      if (!rule || !rule.value.trim() || (deleted && deleted.checked)) {
        return;
      }
      const item = { name: rule.value.trim() };
      const params = field("params").value.trim();
      item.params = params ? JSON.parse(params) : {};
      if (field("alias").value.trim()) {
        item.as = field("alias").value.trim();
      }
      if (field("severity").value) {
        item.severity = field("severity").value;
      }
      rules.push({ position: Number(field("position").value || 0), item: item });
    });
    rules.sort(function (a, b) { return a.position - b.position; });
    return rules.map(function (entry) { return entry.item; });
  }

  function show(box, lines, isError) {
    box.replaceChildren();
    lines.forEach(function (text) {
      const line = document.createElement("p");
      line.textContent = text;
      if (isError) {
        line.className = "errornote";
      }
      box.appendChild(line);
    });
  }

  // POST the proposed rules to one of the set's endpoints; show the answer in *box*.
  function ask(url, rules, box, lines) {
    show(box, ["Computing…"], false);
    // The staff session must prove that the request is the page's own.
    const csrfToken = document.querySelector("input[name=csrfmiddlewaretoken]").value;
    fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrfToken,
      },
      body: JSON.stringify({ rules: rules, sample_size: 10 }),
    })
      .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
      .then(function ([ok, body]) {
        if (!ok) {
          show(box, [body.error + ": " + JSON.stringify(body.detail)], true);
          return;
        }
        show(box, lines(body), false);
      })
      .catch(function (error) { show(box, ["Failed: " + error.message], true); });
  }

  function preview() {
    const fieldset = document.getElementById("ruleset-preview");
    const orders = document.getElementById("ruleset-preview-result");
    const decisions = document.getElementById("ruleset-backtest-result");
    let rules;
    try {
      rules = proposedRules();
    } catch (error) {
      show(orders, ["Parameters must be valid JSON: " + error.message], true);
      return;
    }
    ask(fieldset.dataset.url, rules, orders, function (body) {
      return [
        "Stored orders: " + body.total + " (evaluated in the " + body.evaluated_in + ")",
        "Passing now: " + body.passing_now + " — passing after: " + body.passing_after,
        "Would newly fail: " + body.newly_failing + " " + JSON.stringify(body.sample_newly_failing),
        "Would newly pass: " + body.newly_passing + " " + JSON.stringify(body.sample_newly_passing),
      ];
    });
    ask(fieldset.dataset.backtestUrl, rules, decisions, function (body) {
      return [
        "Recorded decisions of the last 7 days: " + body.decisions + " (evaluated in the " + body.evaluated_in + ")",
        "Passed then: " + body.passed_then + " — would pass: " + body.passed_after,
        "Pass → fail: " + body.pass_to_fail + " " + JSON.stringify(body.sample_pass_to_fail),
        "Fail → pass: " + body.fail_to_pass + " " + JSON.stringify(body.sample_fail_to_pass),
      ];
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const button = document.getElementById("ruleset-preview-button");
    if (button) {
      button.addEventListener("click", preview);
    }
  });
})();
