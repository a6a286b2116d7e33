// Client register, related organisations (C12): pick the other client by searching.
// The plain select (and the client number field) work without this file.
(function () {
  "use strict";
  var input = document.getElementById("relation-search");
  var box = document.getElementById("relation-results");
  var select = document.getElementById("f-other_id");
  if (!input || !box || !select) { return; }
  var exclude = input.dataset.exclude;
  var timer = null, latest = 0;
  input.hidden = false;

  function choose(row) {
    var value = String(row.id);
    var option = Array.prototype.find.call(select.options, function (o) { return o.value === value; });
    if (!option) {
      option = document.createElement("option");
      option.value = value;
      option.textContent = row.name;
      select.appendChild(option);
    }
    select.value = value;
    input.value = row.name;
    box.hidden = true;
  }

  function render(results) {
    box.textContent = "";
    results.forEach(function (row) {
      if (String(row.id) === exclude) { return; }
      var a = document.createElement("a");
      a.href = "#";
      a.textContent = row.name;
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = [row.registry_code, row.phone, row.email].filter(Boolean).join(" · ");
      a.appendChild(meta);
      a.addEventListener("click", function (event) { event.preventDefault(); choose(row); });
      box.appendChild(a);
    });
    box.hidden = box.children.length === 0;
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value.trim();
      if (q.length < 2) { box.hidden = true; return; }
      var ticket = ++latest;
      fetch(input.dataset.searchUrl + "?q=" + encodeURIComponent(q), {
        headers: { "Accept": "application/json" }, credentials: "same-origin"
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (data && ticket === latest) { render(data.results); }
      });
    }, 150);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      var first = box.querySelector("a");
      if (first && !box.hidden) { first.click(); }
    }
  });
})();
