// Client register: search while typing (R2) and picking a person to link (C12).
// Every page works without this file.
(function () {
  "use strict";
  var personInput = document.getElementById("person-search");
  var personBox = document.getElementById("person-results");
  var personId = document.getElementById("person-id");
  if (personInput && personBox && personId) {
    var personTimer = null;
    personInput.addEventListener("input", function () {
      clearTimeout(personTimer);
      personId.value = "";
      personTimer = setTimeout(function () {
        var q = personInput.value.trim();
        if (q.length < 2) { personBox.hidden = true; return; }
        fetch(personInput.dataset.searchUrl + "?q=" + encodeURIComponent(q), {
          headers: { "Accept": "application/json" }, credentials: "same-origin"
        }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
          if (!data) { return; }
          personBox.textContent = "";
          data.results.forEach(function (row) {
            var a = document.createElement("a");
            a.href = "#";
            a.textContent = row.name + (row.title ? " · " + row.title : "") +
              (row.email ? " · " + row.email : "");
            a.addEventListener("click", function (event) {
              event.preventDefault();
              personId.value = String(row.id);
              personInput.value = row.name;
              personBox.hidden = true;
            });
            personBox.appendChild(a);
          });
          personBox.hidden = data.results.length === 0;
        });
      }, 150);
    });
  }
  var input = document.getElementById("client-search");
  var box = document.getElementById("search-results");
  if (!input || !box) { return; }
  var timer = null, latest = 0, selected = -1;

  function render(data) {
    box.textContent = "";
    selected = -1;
    data.results.forEach(function (row) {
      var a = document.createElement("a");
      a.href = row.url;
      a.setAttribute("role", "option");
      a.textContent = row.name;
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = [row.registry_code, row.phone, row.email].filter(Boolean).join(" · ");
      a.appendChild(meta);
      box.appendChild(a);
    });
    if (data.create_url) {
      var create = document.createElement("a");
      create.href = data.create_url;
      create.className = "create";
      create.textContent = (box.dataset.createLabel || "+ New client") + ": " + data.query;
      box.appendChild(create);
    }
    box.hidden = box.children.length === 0;
  }

  function search() {
    var q = input.value.trim();
    if (q.length < 2) { box.hidden = true; return; }
    var ticket = ++latest;
    fetch(input.dataset.searchUrl + "?q=" + encodeURIComponent(q), {
      headers: { "Accept": "application/json" }, credentials: "same-origin"
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (data && ticket === latest) { render(data); }
    });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
  input.addEventListener("keydown", function (event) {
    var links = box.querySelectorAll("a");
    if (box.hidden || !links.length) { return; }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      selected = (selected + (event.key === "ArrowDown" ? 1 : -1) + links.length) % links.length;
      links.forEach(function (a, i) { a.classList.toggle("selected", i === selected); });
    } else if (event.key === "Enter" && selected >= 0) {
      event.preventDefault();
      window.location = links[selected].href;
    } else if (event.key === "Escape") {
      box.hidden = true;
    }
  });
})();
