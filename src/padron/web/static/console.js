// padron console: a little plain JavaScript, no framework and nothing from outside the server.
// Every page works without it except the enrollment desk, whose live CURP preview and sample
// quality are asked of the server as the registrar types and chooses files.
"use strict";
(function () {
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "Accept": "application/json" }
    }).then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); });
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function desk(form) {
    var out = document.getElementById("outcome");
    var words = out.dataset;
    var preview = document.getElementById("curp-preview");
    var rule = document.getElementById("curp-rule");
    var timer = null;
    function refresh() {
      var data = new URLSearchParams();
      ["given_names", "first_surname", "second_surname", "birth_date", "sex", "birth_state", "nationality"].forEach(
        function (name) { data.append(name, form.elements[name].value); });
      post("/console/enrollment/preview", data).then(function (res) {
        var b = res.body;
        if (b.curp) {
          preview.textContent = b.curp; rule.textContent = ""; rule.className = "muted";
        } else {
          preview.textContent = "—";
          rule.textContent = b.error ? words.rule + ": " + b.error.code + " — " + b.error.message : words.none;
          rule.className = b.error ? "bad" : "muted";
        }
      });
    }
    form.addEventListener("input", function (event) {
      if (event.target.type === "file") { return; }
      clearTimeout(timer); timer = setTimeout(refresh, 250);
    });
    form.addEventListener("change", function (event) {
      var input = event.target;
      if (input.type !== "file") { return; }
      var box = document.getElementById("quality-" + input.name);
      if (!input.files.length) { box.textContent = ""; return; }
      box.textContent = "…";
      var data = new FormData();
      data.append(input.name, input.files[0]);
      post("/console/enrollment/quality", data).then(function (res) {
        var b = res.body;
        box.textContent = "";
        if (b.ok) {
          box.appendChild(el("p", words.quality + ": " + (b.quality === null ? "—" : Number(b.quality).toFixed(1)) + " (" + words.ok + ")", "ok"));
        } else {
          var err = b.error || { code: b.code, message: b.detail };
          box.appendChild(el("p", words.quality + ": " + words.bad + " — " + err.code, "bad"));
          box.appendChild(el("p", err.message));
          var reasons = b.reasons || [];
          if (reasons.length) {
            var ul = el("ul");
            reasons.forEach(function (r) { ul.appendChild(el("li", typeof r === "string" ? r : JSON.stringify(r))); });
            box.appendChild(ul);
          }
        }
        if (b.thumbnail) {
          var img = el("img"); img.src = b.thumbnail;
          img.alt = input.labels && input.labels[0] ? input.labels[0].textContent : input.name;
          box.appendChild(img);
        }
      });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = document.getElementById("enroll-submit");
      button.disabled = true;
      var body = document.getElementById("outcome-body");
      var data = new FormData(form);
      Array.prototype.forEach.call(form.querySelectorAll('input[type="file"]'), function (input) {
        if (!input.files.length) { data.delete(input.name); }  // only the samples chosen
      });
      post("/console/enrollment", data).then(function (res) {
        var b = res.body;
        body.textContent = "";
        if (b.status === "issued") {
          body.appendChild(el("p", words.issued, "success"));
          body.appendChild(el("p", b.curp, "curp"));
        } else if (b.status === "refused") {
          var p = el("p", words.refused + " ", "alert");
          var a = el("a", b.duplicate_of); a.href = "/console/persons/" + encodeURIComponent(b.duplicate_of);
          p.appendChild(a); body.appendChild(p);
        } else if (b.status === "pending") {
          var q = el("p", words.pending + " ", "notice");
          (b.cases || []).forEach(function (c, i) {
            if (i) { q.appendChild(document.createTextNode(", ")); }
            q.appendChild(el("strong", String(c)));
          });
          body.appendChild(q);
        } else {
          body.appendChild(el("p", words.failed + ": " + (b.code || "") + " — " + (b.detail || ""), "alert"));
        }
        out.hidden = false; out.focus();
      }).finally(function () { button.disabled = false; });
    });
  }
  window.padron = { csrf: csrf };
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("enroll");
    if (form) { desk(form); }
  });
})();
