/* Case pages: deadline countdowns, the category and address pickers, the map pin, GPS,
 * "select all" in the console and the print button. Plain JS over htmx and Leaflet. */
(function () {
  "use strict";

  // --- countdowns: "3 h 20 min left" / "overdue by 2 h", refreshed every 30 s -------------
  function span(ms, units) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var d = Math.floor(minutes / 1440);
    var h = Math.floor((minutes % 1440) / 60);
    var m = minutes % 60;
    if (d) return d + " " + units[0] + (h ? " " + h + " " + units[1] : "");
    if (h) return h + " " + units[1] + " " + m + " " + units[2];
    return m + " " + units[2];
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      var units = (el.dataset.units || "d|h|min").split("|");
      var left = due - now;
      var text = left >= 0 ? el.dataset.fmtLeft : el.dataset.fmtOver;
      var target = el.querySelector(".left") || el;
      target.textContent = (text || "%s").replace("%s", span(left, units));
      // The server's status decides near-due; time passing can only make it overdue.
      if (left < 0 && !el.classList.contains("overdue")) {
        el.classList.remove("on_time", "near_due");
        el.classList.add("overdue");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 30000);
  });
  document.addEventListener("htmx:afterSwap", tick);

  // --- pickers: category search and building addresses --------------------------------------
  function formOf(el) {
    return el.closest("form") || document;
  }

  function pickCategory(button) {
    var picker = button.closest("[data-category-picker]");
    var input = picker.querySelector("input[type=hidden]");
    input.value = button.dataset.categoryPick;
    var chosen = picker.querySelector("[data-category-chosen]");
    chosen.querySelector("strong").textContent = button.dataset.label;
    chosen.hidden = false;
    picker.querySelector("#category-results").innerHTML = "";
    var search = picker.querySelector("[data-category-search]");
    search.value = "";
    // Keyboard flow: the next field after the category (the title) gets the focus.
    var next = formOf(picker).querySelector("[name=title], [name=description]");
    if (next) next.focus();
  }

  function pickAddress(button) {
    var form = formOf(button);
    var address = form.querySelector("[name=address]");
    address.value = button.dataset.address;
    document.getElementById("address-results").innerHTML = "";
    if (button.dataset.lat) setPoint(form, button.dataset.lat, button.dataset.lon);
    var next = form.querySelector("[name=reporter_name]");
    if (next) next.focus();
  }

  document.addEventListener("click", function (event) {
    var category = event.target.closest("[data-category-pick]");
    if (category) return pickCategory(category);
    var address = event.target.closest("[data-address-pick]");
    if (address) return pickAddress(address);
    if (event.target.closest("[data-print]")) return window.print();
  });

  // ↓ moves from a search box into its list; Enter in the box picks the first entry instead
  // of submitting the whole form.
  document.addEventListener("keydown", function (event) {
    var box = event.target.closest("[data-category-search], [data-address-input]");
    if (!box) return;
    var list = box.matches("[data-category-search]")
      ? document.getElementById("category-results")
      : document.getElementById("address-results");
    var first = list && list.querySelector("button");
    if (event.key === "ArrowDown" && first) {
      event.preventDefault();
      first.focus();
    } else if (event.key === "Enter" && first && box.matches("[data-category-search]")) {
      event.preventDefault();
      first.click();
    } else if (event.key === "Escape" && list) {
      list.innerHTML = "";
    }
  });
  document.addEventListener("keydown", function (event) {
    var item = event.target.closest(".suggestions button");
    if (!item) return;
    var li = item.parentElement;
    var to = null;
    if (event.key === "ArrowDown") to = li.nextElementSibling;
    if (event.key === "ArrowUp") to = li.previousElementSibling;
    if (to && to.querySelector("button")) {
      event.preventDefault();
      to.querySelector("button").focus();
    }
  });

  // --- the map pin --------------------------------------------------------------------------
  var pins = [];

  function setPoint(form, lat, lon) {
    var latInput = form.querySelector("[data-lat]");
    var lonInput = form.querySelector("[data-lon]");
    if (latInput) latInput.value = Number(lat).toFixed(6);
    if (lonInput) lonInput.value = Number(lon).toFixed(6);
    pins.forEach(function (pin) {
      if (formOf(pin.el) === form) pin.show(Number(lat), Number(lon), true);
    });
  }

  function initPin(el) {
    var map = L.map(el, { zoomControl: true, attributionControl: !!el.dataset.tileUrl });
    map.setView([30.6, 104.0], 13);
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 19, attribution: el.dataset.tileAttribution || "" }).addTo(map);
    }
    var grids = L.geoJSON(null, {
      style: function () { return { weight: 1, color: "#0b3d91", fillColor: "#5b8bd6", fillOpacity: 0.12 }; },
      interactive: false,
    }).addTo(map);
    if (el.dataset.geojsonUrl) {
      fetch(el.dataset.geojsonUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data) grids.addData(data);
          var bounds = grids.getBounds();
          if (bounds.isValid() && !marker) map.fitBounds(bounds, { padding: [8, 8] });
          el.dataset.ready = "1";
        });
    } else {
      if (el.dataset.bounds) {
        var b = el.dataset.bounds.split(",").map(Number);
        map.fitBounds([[b[0], b[1]], [b[2], b[3]]]);
      }
      el.dataset.ready = "1";
    }
    var marker = null;
    var form = formOf(el);
    var pin = {
      el: el,
      show: function (lat, lon, pan) {
        var at = L.latLng(lat, lon);
        if (marker) marker.setLatLng(at);
        else marker = L.circleMarker(at, { radius: 8, color: "#c8102e", fillOpacity: 0.9 }).addTo(map);
        if (pan) map.setView(at, Math.max(map.getZoom(), 15));
        var url = new URL(el.dataset.locateUrl, window.location.href);
        url.searchParams.set("lat", lat.toFixed(6));
        url.searchParams.set("lon", lon.toFixed(6));
        htmx.ajax("GET", url.pathname + url.search, { target: el.dataset.panel, swap: "innerHTML" });
      },
    };
    pins.push(pin);
    map.on("click", function (event) {
      var latInput = form.querySelector("[data-lat]");
      var lonInput = form.querySelector("[data-lon]");
      if (latInput) latInput.value = event.latlng.lat.toFixed(6);
      if (lonInput) lonInput.value = event.latlng.lng.toFixed(6);
      pin.show(event.latlng.lat, event.latlng.lng, false);
    });
    // Typed coordinates move the pin too.
    form.addEventListener("change", function (event) {
      if (!event.target.matches("[data-lat], [data-lon]")) return;
      var lat = parseFloat(form.querySelector("[data-lat]").value);
      var lon = parseFloat(form.querySelector("[data-lon]").value);
      if (!isNaN(lat) && !isNaN(lon)) pin.show(lat, lon, true);
    });
    // A form sent back with errors keeps its point.
    var lat0 = parseFloat((form.querySelector("[data-lat]") || {}).value);
    var lon0 = parseFloat((form.querySelector("[data-lon]") || {}).value);
    if (!isNaN(lat0) && !isNaN(lon0)) pin.show(lat0, lon0, true);
    el.civicgridMap = map;
  }

  // --- GPS on the phone forms ---------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-gps]");
    if (!button) return;
    var form = formOf(button);
    var status = form.querySelector("[data-gps-status]");
    if (!navigator.geolocation) {
      if (status) status.textContent = button.dataset.gpsFailed;
      return;
    }
    if (status) status.textContent = button.dataset.gpsBusy;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        if (status) status.textContent = "";
        setPoint(form, position.coords.latitude, position.coords.longitude);
      },
      function () {
        if (status) status.textContent = button.dataset.gpsFailed;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  });

  // --- console: tick every case at once -----------------------------------------------------
  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-select-all]")) return;
    var table = event.target.closest("table");
    table.querySelectorAll("tbody input[type=checkbox][name=cases]").forEach(function (box) {
      box.checked = event.target.checked;
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (window.L) document.querySelectorAll("[data-pin-map]").forEach(initPin);
  });
})();
