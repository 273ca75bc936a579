/* foerdercall: progressive enhancement only. Every page works without this file.
 *  - autosave of a draft form (form[data-autosave]): after ~20 s without typing and when the page is hidden
 *    or left, the same form is posted in the background to its own (draft-save) URL;
 *  - live character counts for textareas with a maxlength;
 *  - a confirmation dialog for buttons with data-confirm (destructive steps).
 * Texts come from the page (data-t-* on <body>), so they are translated with the rest of the UI. */
(function () {
  "use strict";
  var body = document.body;
  var lang = document.documentElement.lang || "de";
  function t(key, fallback) { return (body && body.getAttribute("data-t-" + key)) || fallback; }
  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }
  function number(n) { return n.toLocaleString(lang === "de" ? "de-DE" : "en-GB"); }

  /* --- confirmation for destructive buttons --------------------------------------------------------- */
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var text = button && button.getAttribute("data-confirm");
    if (text && !window.confirm(text)) { event.preventDefault(); event.stopImmediatePropagation(); }
  }, true);

  /* --- character counts ------------------------------------------------------------------------------ */
  Array.prototype.forEach.call(document.querySelectorAll("textarea[maxlength]"), function (area) {
    var max = parseInt(area.getAttribute("maxlength"), 10);
    if (!max || !area.id) { return; }
    var shown = document.createElement("p");
    shown.className = "charcount";
    shown.id = area.id + "-count";
    shown.setAttribute("aria-hidden", "true");  // the visible count; the live region below speaks
    var spoken = document.createElement("p");
    spoken.className = "sr-only";
    spoken.setAttribute("aria-live", "polite");
    area.insertAdjacentElement("afterend", spoken);
    area.insertAdjacentElement("afterend", shown);
    var timer = null;
    function update(announce) {
      var left = max - area.value.length;
      var text = fmt(t("chars", "Noch {left} von {max} Zeichen"), {left: number(left), max: number(max)});
      shown.textContent = text;
      shown.classList.toggle("low", left < max / 10);
      if (announce) {
        clearTimeout(timer);
        timer = setTimeout(function () { spoken.textContent = text; }, 1200);
      }
    }
    area.addEventListener("input", function () { update(true); });
    update(false);
  });

  /* --- autosave of a draft --------------------------------------------------------------------------- */
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.FormData) { return; }
  var idleMs = Number(window.FOERDERCALL_AUTOSAVE_MS) || Number(form.getAttribute("data-autosave")) || 20000;
  var status = document.getElementById(form.getAttribute("data-autosave-status") || "autosave-status");
  var url = form.getAttribute("action") || window.location.href;
  var dirty = false, saving = false, leaving = false, timer = null;

  function bare(address) { var u = new URL(address, window.location.href); return u.origin + u.pathname; }
  function payload() {
    var data = new FormData(form);
    data.delete("file");  // a file is uploaded only when the person presses a button
    data.set("action", "save");
    return data;
  }
  function say(text, isError) {
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("error", !!isError);
  }
  function savedNow() {
    var time = new Date().toLocaleTimeString(lang === "de" ? "de-DE" : "en-GB",
                                             {hour: "2-digit", minute: "2-digit", timeZone: "Europe/Berlin"});
    say(fmt(t("saved", "Entwurf gespeichert um {time}"), {time: time}), false);
  }
  function save() {
    clearTimeout(timer);
    if (!dirty || saving || leaving) { return; }
    saving = true;
    dirty = false;
    fetch(url, {method: "POST", body: payload(), credentials: "same-origin"}).then(function (response) {
      // saved: the server answers with the draft form again (a redirect elsewhere: no longer a draft)
      if (response.ok && bare(response.url) === bare(url)) { savedNow(); return; }
      dirty = true;
      say(t("save-failed", "Nicht gespeichert."), true);
    }).catch(function () {
      dirty = true;
      say(t("save-failed", "Nicht gespeichert."), true);
    }).then(function () {
      saving = false;
      if (dirty && !leaving) { timer = setTimeout(save, idleMs); }  // typed on meanwhile, or a retry
    });
  }
  function saveNow() {  // the page is hidden or left: a request that outlives the page
    if (!dirty || leaving) { return; }
    dirty = false;
    var data = payload();
    if (!(navigator.sendBeacon && navigator.sendBeacon(url, data))) {
      fetch(url, {method: "POST", body: data, credentials: "same-origin", keepalive: true});
    }
  }
  function edited() {
    dirty = true;
    clearTimeout(timer);
    timer = setTimeout(save, idleMs);
  }
  form.addEventListener("input", edited);
  form.addEventListener("change", edited);
  form.addEventListener("submit", function () { leaving = true; clearTimeout(timer); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { saveNow(); }
  });
  window.addEventListener("pagehide", saveNow);
}());

// A bulk job's page (templates/jobs/show.html): without JS it reloads itself (a <noscript> meta refresh);
// with JS the progress and the status text follow the job's JSON status, and the finished page (results,
// download) is loaded once at the end.
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status]");
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector("progress");
  var count = box.querySelector(".job-count");
  if (!bar || !count || !box.querySelector(".hint")) { return; }  // finished: nothing to follow
  var url = box.getAttribute("data-job-status");
  var template = box.getAttribute("data-t-progress") || "{done} / {total}";
  function poll() {
    fetch(url, {credentials: "same-origin", cache: "no-store"}).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (job) {
      bar.max = Math.max(job.total, 1);
      bar.value = job.done;
      bar.textContent = job.done + " / " + job.total;
      count.textContent = template.replace("{done}", job.done).replace("{total}", job.total);
      if (job.finished) { window.location.reload(); return; }
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
}());

// Row lists (templates/macros.html row_list, forms/rows.py): without JS each row button posts the form and the
// server shows it again with the change; with JS add, remove and move happen in place, the rows are numbered
// anew (their field names too, so the order posted is the order shown) and a total follows the typing.
(function () {
  "use strict";
  function each(root, selector, fn) { Array.prototype.forEach.call(root.querySelectorAll(selector), fn); }
  Array.prototype.forEach.call(document.querySelectorAll("fieldset[data-rows]"), function (box) {
    var prefix = box.getAttribute("data-rows");
    var list = box.querySelector(".row-items");
    var totalBox = box.querySelector("[data-rows-total]");
    var rowTitle = box.getAttribute("data-t-row") || "{n}";
    var named = new RegExp("^" + prefix + "-\\d+-");
    function rows() { return Array.prototype.slice.call(list.querySelectorAll(":scope > [data-row]")); }
    function field(row, name) { return row.querySelector("[name$='-" + name + "']"); }
    function freshKey() {
      var taken = {};
      rows().forEach(function (row) { var k = field(row, "key"); if (k) { taken[k.value] = 1; } });
      var key;
      do { key = "k" + ("0000000" + Math.floor(Math.random() * 0xffffffff).toString(16)).slice(-8); } while (taken[key]);
      return key;
    }
    function total() {
      if (!totalBox) { return; }
      var name = totalBox.getAttribute("data-rows-total"), sum = 0;
      rows().forEach(function (row) {
        var input = field(row, name);
        if (input && /^\s*[0-9]{1,6}\s*$/.test(input.value)) { sum += parseInt(input.value, 10); }
      });
      totalBox.textContent = (totalBox.getAttribute("data-t-total") || "{sum}").replace("{sum}", sum);
    }
    function renumber() {
      var all = rows();
      all.forEach(function (row, i) {
        each(row, "[name], [id], [for], [aria-describedby]", function (el) {
          ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
            var v = el.getAttribute(attr);
            if (v) {
              var renamed = v.split(" ").map(function (part) {
                return named.test(part) ? part.replace(named, prefix + "-" + i + "-") : part;
              }).join(" ");
              if (renamed !== v) { el.setAttribute(attr, renamed); }
            }
          });
        });
        var title = rowTitle.replace("{n}", i + 1);
        var legend = row.querySelector("[data-row-title]");
        if (legend) { legend.textContent = title; }
        each(row, "[data-row-name]", function (span) { span.textContent = " (" + title + ")"; });
        each(row, "button[data-row-action]", function (b) {
          var action = b.getAttribute("data-row-action");
          b.value = prefix + ":" + action + "-" + i;
          b.disabled = (action === "up" && i === 0) || (action === "down" && i === all.length - 1) ||
            (action === "remove" && all.length === 1);
        });
      });
      total();
    }
    box.addEventListener("input", function () { total(); });
    box.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-row-action]");
      if (!button || button.disabled || button.closest("fieldset[data-rows]") !== box) { return; }
      var action = button.getAttribute("data-row-action");
      var row = button.closest("[data-row]");
      if (action === "add") {
        var model = rows()[0];
        if (!model) { return; }  // no row to take the fields from: the server adds it
        event.preventDefault();
        var fresh = model.cloneNode(true);
        each(fresh, "input, textarea", function (el) {
          if (el.type === "checkbox") { el.checked = false; } else { el.value = ""; }
          el.setAttribute("aria-invalid", "false");
        });
        each(fresh, "select", function (el) { el.selectedIndex = 0; });
        each(fresh, "[data-row-note]", function (el) { el.remove(); });
        each(fresh, ".error, .charcount, [aria-live]", function (el) { el.remove(); });
        each(fresh, ".has-error", function (el) { el.classList.remove("has-error"); });
        each(fresh, "[aria-describedby$='-err']", function (el) { el.removeAttribute("aria-describedby"); });
        var key = field(fresh, "key");
        if (key) { key.value = freshKey(); }
        list.appendChild(fresh);
        renumber();
        var first = fresh.querySelector("input:not([type=hidden]), textarea, select");
        if (first) { first.focus(); }
        return;
      }
      if (!row) { return; }
      event.preventDefault();
      if (action === "remove") {
        var next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        renumber();
        var target = next ? next.querySelector("input:not([type=hidden]), textarea") : box.querySelector("button[data-row-action=add]");
        if (target) { target.focus(); }
      } else if (action === "up" && row.previousElementSibling) {
        list.insertBefore(row, row.previousElementSibling);
        renumber();
        (button.disabled ? row.querySelector("button[data-row-action=down]") : button).focus();
      } else if (action === "down" && row.nextElementSibling) {
        list.insertBefore(row.nextElementSibling, row);
        renumber();
        (button.disabled ? row.querySelector("button[data-row-action=up]") : button).focus();
      }
    });
  });
}());

// The question builder (templates/calls/questions.html): the preview follows the rows as they are typed. Without
// JS the "Vorschau aktualisieren" button does the same through the server.
(function () {
  "use strict";
  var form = document.querySelector("form[data-preview-url]");
  var target = document.getElementById("preview");
  if (!form || !target || !window.fetch) { return; }
  var timer = null, asked = 0;
  function refresh() {
    var mine = ++asked;
    fetch(form.getAttribute("data-preview-url"), { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) { if (text !== null && mine === asked) { target.innerHTML = text; } })
      .catch(function () { /* the button still works */ });
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 600); }
  function showParts() {  // only the parts of a row that apply to its kind
    Array.prototype.forEach.call(form.querySelectorAll("[data-row]"), function (row) {
      var kind = row.querySelector("select[name$='-kind']");
      if (!kind) { return; }
      Array.prototype.forEach.call(row.querySelectorAll("[data-kinds]"), function (part) {
        part.hidden = part.getAttribute("data-kinds").split(" ").indexOf(kind.value) < 0 &&
          !part.querySelector(".has-error");  // what the server refused stays in sight
      });
    });
  }
  showParts();
  form.addEventListener("input", later);
  form.addEventListener("change", function () { showParts(); later(); });
  form.addEventListener("click", function (event) {
    if (event.target.closest("button[data-row-action]")) { showParts(); later(); }
  });
  target.addEventListener("submit", function (event) { event.preventDefault(); });
}());
