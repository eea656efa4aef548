/* BetterCallSold merchant UI: htmx settings, the flow builder (drag and drop, nested steps,
   keyboard), the variable picker, and a few page helpers. */
(function () {
  "use strict";

  var dirty = false;
  var saving = false;

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
    var zone = document.querySelector("[data-default-zone]");
    if (zone && !zone.value) {
      try { zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { zone.value = "UTC"; }
    }
  });

  // ---- Unsaved changes -------------------------------------------------------------------
  function markDirty() { if (document.getElementById("builder-form")) dirty = true; }
  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest("#builder-form")) markDirty();
  });
  document.addEventListener("submit", function (event) {
    if (event.target.id === "builder-form") { syncTree(); saving = true; }
    if (event.target.id === "test-form") syncTree();
  }, true);
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.id === "builder-form") {
      saving = false;
      var redirect = event.detail.xhr && event.detail.xhr.getResponseHeader("HX-Redirect");
      if (redirect) { dirty = false; saving = true; }
    }
  });
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "test-form") syncTree();
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty && !saving) { event.preventDefault(); event.returnValue = ""; }
  });

  // ---- Clicks ----------------------------------------------------------------------------
  var lastField = null;
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-template-target], [data-path-target], .step input, .step textarea")) {
      lastField = target;
      refreshPicker(target);
      preview(target);
    }
  });

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("#nav-toggle, #palette-toggle");
    if (toggle) {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      document.getElementById(toggle.getAttribute("aria-controls")).classList.toggle("open", open);
      return;
    }
    var remove = event.target.closest("[data-remove-step]");
    if (remove) { removeStep(remove.closest(".step")); return; }
    var move = event.target.closest("[data-move]");
    if (move) { moveStep(move.closest(".step"), move.getAttribute("data-move"), move); return; }
    var chip = event.target.closest("[data-insert]");
    if (chip) { insertChip(chip); return; }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    // Enter in a builder field must not save the flow (nor pick a status for it).
    if (event.key === "Enter" && target.matches && target.matches("#builder-form input")) {
      event.preventDefault();
      return;
    }
    if ((event.key === "Enter" || event.key === " ") && target.classList && target.classList.contains("palette-item")) {
      event.preventDefault();
      addFromPalette(target);
      return;
    }
    if (target.classList && target.classList.contains("step-handle")) {
      if (event.key === "ArrowUp" || event.key === "ArrowDown") {
        event.preventDefault();
        moveStep(target.closest(".step"), event.key === "ArrowUp" ? "up" : "down", target);
      } else if (event.key === "Delete" || event.key === "Backspace") {
        event.preventDefault();
        removeStep(target.closest(".step"));
      }
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "sample-picker") {
      var samples = JSON.parse(document.getElementById("samples-data").textContent);
      document.getElementById("test-payload").value = JSON.stringify(samples[target.value] || {}, null, 2);
    }
    if (target.id === "trigger-event") {
      var label = document.getElementById("trigger-label");
      if (label) label.textContent = target.value;
      var schedule = document.getElementById("schedule-fields");
      if (schedule) schedule.hidden = target.value !== "schedule";
    }
    if (target.matches && target.matches("[data-wait-mode]")) {
      var step = target.closest(".step");
      var until = target.value === "until";
      step.querySelectorAll(".wait-duration").forEach(function (el) { el.hidden = until; });
      step.querySelectorAll(".wait-until").forEach(function (el) { el.hidden = !until; });
    }
    if (target.closest && target.closest("#builder-form")) markDirty();
  });

  // ---- Steps: add, move, remove, nesting -------------------------------------------------
  function announce(text) {
    var live = document.getElementById("builder-live");
    if (!live) {
      live = document.createElement("div");
      live.id = "builder-live";
      live.className = "sr-only";
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = text;
  }

  function removeStep(step) {
    if (!step) return;
    var next = step.nextElementSibling || step.previousElementSibling;
    var id = step.getAttribute("data-step-id");
    step.remove();
    syncTree();
    markDirty();
    announce("Removed step " + id);
    var focus = next && next.querySelector(".step-handle");
    (focus || document.querySelector(".palette-item")).focus();
  }

  function moveStep(step, direction, focusAfter) {
    if (!step) return;
    var sibling = direction === "up" ? step.previousElementSibling : step.nextElementSibling;
    while (sibling && !sibling.classList.contains("step")) {
      sibling = direction === "up" ? sibling.previousElementSibling : sibling.nextElementSibling;
    }
    if (!sibling) return;
    if (direction === "up") sibling.before(step); else sibling.after(step);
    syncTree();
    markDirty();
    if (focusAfter) focusAfter.focus();
    announce("Moved step " + step.getAttribute("data-step-id") + " " + direction);
  }

  function syncTree() {
    document.querySelectorAll("#flow-steps .step").forEach(function (step) {
      var list = step.parentElement;
      var field = step.querySelector(":scope > [data-parent-field]");
      if (!field) return;
      field.value = list && list.classList.contains("nested")
        ? list.getAttribute("data-parent-uid") + ":" + list.getAttribute("data-branch")
        : "";
    });
  }

  function nextStepId(kind) {
    var prefix = kind === "for_each" ? "loop" : kind;
    var used = 0;
    document.querySelectorAll("#flow-steps .step[data-step-id]").forEach(function (step) {
      var match = new RegExp("^" + prefix + "_(\\d+)$").exec(step.getAttribute("data-step-id"));
      if (match) used = Math.max(used, parseInt(match[1], 10));
    });
    return prefix + "_" + (used + 1);
  }

  function addFromPalette(item) {
    var steps = document.getElementById("flow-steps");
    if (!steps) return;
    var placeholder = item.cloneNode(true);
    placeholder.removeAttribute("tabindex");
    placeholder.removeAttribute("role");
    steps.appendChild(placeholder);
    addStep(placeholder, true);
  }

  function addStep(item, focus) {
    // A palette item was dropped: replace it by the step's form, rendered by the server
    // from the catalogue (the item keeps its place while the form loads).
    var kind = item.getAttribute("data-kind");
    var uid = "n" + Date.now().toString(36) + Math.floor(Math.random() * 1e6).toString(36);
    var stepId = nextStepId(kind);
    item.classList.add("step", "loading");
    item.setAttribute("data-step-id", stepId);
    var trigger = document.getElementById("trigger-event");
    var params = new URLSearchParams({
      kind: kind,
      action_type: item.getAttribute("data-action-type") || "",
      step_id: stepId,
      uid: uid,
      trigger_event: trigger ? trigger.value : "",
    });
    markDirty();
    htmx.ajax("GET", "/builder/step?" + params.toString(), { target: item, swap: "outerHTML" }).then(function () {
      syncTree();
      var added = document.getElementById("step-" + uid);
      if (added && focus) added.querySelector(".step-handle").focus();
      announce("Added step " + stepId);
    });
  }

  var sortableOptions = {
    forceFallback: true, fallbackTolerance: 3, animation: 150,
    // Sortable puts a step at the top of a list whenever the pointer is in the list's left
    // gutter (the flow's line), and at the end when it is right of the steps, wherever the
    // pointer is up or down: a step dropped beside the line mid-flow landed at the top. Only
    // go before a step when the pointer is not below it, or after one when not above it.
    onMove: function (event, original) {
      if (!original || !event.relatedRect) return true;
      var y = original.clientY;
      if (!event.willInsertAfter && y > event.relatedRect.bottom + 1) return false;
      if (event.willInsertAfter && y < event.relatedRect.top - 1) return false;
      return true;
    },
  };

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
    var lists = [];
    if (root.matches && root.matches("#flow-steps, .steps.nested")) lists.push(root);
    root.querySelectorAll("#flow-steps, .steps.nested").forEach(function (list) { lists.push(list); });
    lists.forEach(function (list) {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
      Sortable.create(list, Object.assign({}, sortableOptions, {
        group: { name: "flow", pull: true, put: true },
        handle: ".step-handle, .palette-item",
        draggable: ".step, .palette-item",
        onAdd: function (event) {
          if (event.item.classList.contains("palette-item") && !event.item.classList.contains("step")) {
            addStep(event.item, false);
          } else {
            syncTree();
          }
          markDirty();
        },
        onEnd: function () { syncTree(); markDirty(); },
      }));
    });
    syncTree();
  }

  // ---- Variable picker -------------------------------------------------------------------
  function insertChip(chip) {
    var field = lastField;
    if (!field || !document.body.contains(field)) return;
    if (field.hasAttribute("data-path-target")) {
      // A condition's Field names a field: the path itself, never a {{ template }}.
      var path = chip.getAttribute("data-path");
      if (!path) return;
      field.value = path;
      field.focus();
      markDirty();
      return;
    }
    if (chip.hasAttribute("data-filter")) insertFilter(field, chip.getAttribute("data-insert"));
    else insertAtCursor(field, chip.getAttribute("data-insert"));
    markDirty();
    preview(field);
  }

  function insertFilter(field, filter) {
    // A filter goes inside the placeholder it follows: `{{item.total}}` + money gives
    // `{{item.total | money}}`, never `{{item.total}} | money` (which prints "| money").
    var at = field.selectionStart == null ? field.value.length : field.selectionStart;
    var before = field.value.slice(0, at);
    var open = before.lastIndexOf("{{");
    var inside = open > before.lastIndexOf("}}");
    var close = inside ? field.value.indexOf("}}", at) : before.search(/\}\}\s*$/);
    if (close < 0) { insertAtCursor(field, filter); return; }
    var head = field.value.slice(0, close).replace(/\s+$/, "");
    field.value = head + filter + field.value.slice(close);
    field.focus();
    var end = head.length + filter.length;
    field.setSelectionRange(end, end);
  }

  function insertAtCursor(field, text) {
    var start = field.selectionStart == null ? field.value.length : field.selectionStart;
    var end = field.selectionEnd == null ? field.value.length : field.selectionEnd;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    try { field.setSelectionRange(start + text.length, start + text.length); } catch (e) { /* number inputs */ }
  }

  function chipFor(path, insert) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "chip";
    button.textContent = path;
    button.setAttribute("data-insert", "{{" + insert + "}}");
    button.setAttribute("data-path", insert);
    return button;
  }

  function refreshPicker(field) {
    var outputsBox = document.getElementById("picker-steps");
    if (!outputsBox) return;
    var outputs = JSON.parse(outputsBox.getAttribute("data-outputs") || "{}");
    var own = field.closest(".step");
    var chips = document.getElementById("picker-step-chips");
    chips.textContent = "";
    var all = Array.prototype.slice.call(document.querySelectorAll("#flow-steps .step-action"));
    all.forEach(function (step) {
      if (!own || step === own || !(step.compareDocumentPosition(own) & Node.DOCUMENT_POSITION_FOLLOWING)) return;
      var id = step.getAttribute("data-step-id");
      var typeField = step.querySelector("input[name$='.action_type']");
      (outputs[typeField ? typeField.value : ""] || ["id"]).slice(0, 8).forEach(function (path) {
        chips.appendChild(chipFor(id + "." + path, "steps." + id + "." + path));
      });
    });
    if (!chips.children.length) {
      chips.innerHTML = '<span class="muted small">Add an action above the field to use its result.</span>';
    }
    var loopBox = document.getElementById("picker-loop");
    var loop = own && own.closest(".step-for_each");
    if (own && own.classList.contains("step-for_each")) loop = own.parentElement.closest(".step-for_each");
    loopBox.hidden = !loop;
    if (loop) {
      var loopChips = document.getElementById("picker-loop-chips");
      loopChips.textContent = "";
      var items = loop.querySelector("input[name$='.items']").value;
      var fields = (JSON.parse(loopBox.getAttribute("data-items") || "{}")[items]) || [];
      fields.forEach(function (path) { loopChips.appendChild(chipFor("item." + path, "item." + path)); });
      loopChips.appendChild(chipFor("loop.index", "loop.index"));
    }
  }

  function lookup(data, path) {
    return path.split(".").reduce(function (value, key) {
      if (value == null) return undefined;
      if (Array.isArray(value) && /^\d+$/.test(key)) return value[parseInt(key, 10)];
      return value[key];
    }, data);
  }

  function preview(field) {
    var box = document.getElementById("template-preview");
    if (!box || !field || field.hasAttribute("data-path-target")) return;
    var payload = {};
    try { payload = JSON.parse((document.getElementById("test-payload") || {}).value || "{}"); } catch (e) { payload = {}; }
    if (!document.getElementById("test-payload")) {
      var samples = JSON.parse((document.getElementById("samples-data") || {}).textContent || "{}");
      var trigger = document.getElementById("trigger-event");
      payload = samples[trigger ? trigger.value : ""] || {};
    }
    var firstItem = {};
    var loop = field.closest(".step-for_each");
    if (loop) {
      var list = lookup({ trigger: payload }, loop.querySelector("input[name$='.items']").value);
      if (Array.isArray(list) && list.length) firstItem = list[0];
    }
    var filtered = false;
    var text = field.value.replace(/\{\{\s*([^}|]+?)\s*(\|[^}]*)?\}\}/g, function (all, expr, filters) {
      if (filters) filtered = true;
      expr = expr.trim();
      if (/^now\b/.test(expr)) return "(the time of the run" + (expr === "now" ? "" : ", " + expr.slice(3).trim()) + ")";
      if (expr.indexOf("steps.") === 0) return "(" + expr.slice(6) + " of that step's result)";
      if (expr === "loop.index") return "1";
      var root = expr.indexOf("item.") === 0 ? firstItem : payload;
      var value = lookup(root, expr.replace(/^(trigger|item)\./, ""));
      if (value === undefined) return "⚠ " + expr + " is not in the sample";
      return typeof value === "object" ? JSON.stringify(value) : String(value);
    });
    box.textContent = (text || "(empty)") + (filtered ? "\n(filters are applied when the flow runs)" : "");
  }
  document.addEventListener("input", function (event) {
    if (event.target === lastField) preview(event.target);
  });
})();
