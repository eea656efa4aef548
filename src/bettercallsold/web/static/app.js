/* BetterCallSold merchant UI: htmx settings, the flow builder's drag and drop, small helpers. */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    // 422 answers carry the form re-rendered with its errors: swap them like a 200.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "[45]..", swap: false, error: true },
    ];
    htmx.onLoad(initBuilder);
    initBuilder(document.body);
  });

  var lastField = null;
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-template-target], .step input, .step textarea")) {
      lastField = event.target;
    }
  });

  document.addEventListener("click", function (event) {
    var remove = event.target.closest("[data-remove-step]");
    if (remove) {
      var step = remove.closest(".step");
      if (step) step.remove();
      return;
    }
    var chip = event.target.closest("[data-insert]");
    if (chip) insertAtCursor(lastField, chip.getAttribute("data-insert"));
  });

  // Enter in a builder field must not save the flow (nor pick a status for it).
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches && event.target.matches("#builder-form input")) {
      event.preventDefault();
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "sample-picker") {
      var samples = JSON.parse(document.getElementById("samples-data").textContent);
      var sample = samples[event.target.value] || {};
      document.getElementById("test-payload").value = JSON.stringify(sample, null, 2);
    }
    if (event.target.id === "trigger-event") {
      var label = document.getElementById("trigger-label");
      if (label) label.textContent = event.target.value;
    }
  });

  function insertAtCursor(field, text) {
    if (!field || !document.body.contains(field)) return;
    var start = field.selectionStart == null ? field.value.length : field.selectionStart;
    var end = field.selectionEnd == null ? field.value.length : field.selectionEnd;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.setSelectionRange(start + text.length, start + text.length);
  }

  function nextStepId(kind) {
    var used = 0;
    document.querySelectorAll("#flow-steps .step[data-step-id]").forEach(function (step) {
      var match = new RegExp("^" + kind + "_(\\d+)$").exec(step.getAttribute("data-step-id"));
      if (match) used = Math.max(used, parseInt(match[1], 10));
    });
    return kind + "_" + (used + 1);
  }

  var sortableOptions = { forceFallback: true, fallbackTolerance: 3, animation: 150 };

  function initBuilder(root) {
    if (typeof Sortable === "undefined") return;
    root.querySelectorAll(".palette-list").forEach(function (list) {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
      Sortable.create(list, Object.assign({}, sortableOptions, {
        group: { name: "flow", pull: "clone", put: false },
        sort: false,
      }));
    });
    var steps = root.id === "flow-steps" ? root : root.querySelector("#flow-steps");
    if (!steps || steps.dataset.sortable) return;
    steps.dataset.sortable = "1";
    Sortable.create(steps, Object.assign({}, sortableOptions, {
      group: { name: "flow", pull: false, put: true },
      handle: ".step-handle, .palette-item",
      draggable: ".step, .palette-item",
      onAdd: function (event) { addStep(event.item); },
    }));
  }

  function addStep(item) {
    // A palette item was dropped: replace it by the step's form, rendered by the server
    // from the catalogue (the item keeps its place while the form loads).
    var kind = item.getAttribute("data-kind");
    var uid = "n" + Date.now().toString(36) + Math.floor(Math.random() * 1e6).toString(36);
    item.classList.add("step", "loading");
    item.setAttribute("data-step-id", nextStepId(kind));
    var params = new URLSearchParams({
      kind: kind,
      action_type: item.getAttribute("data-action-type") || "",
      step_id: item.getAttribute("data-step-id"),
      uid: uid,
    });
    htmx.ajax("GET", "/builder/step?" + params.toString(), { target: item, swap: "outerHTML" });
  }
})();
