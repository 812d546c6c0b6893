/* The grid map: vector grids from a GeoJSON URL, optional base tiles, click to locate.
 *
 * The container carries its configuration in data attributes:
 *   data-geojson-url   FeatureCollection of grids (may be absent: a map for locating only)
 *   data-locate-url    HTML panel for ?lat=&lon= (loaded into data-panel by htmx)
 *   data-panel         CSS selector of the panel
 *   data-tile-url      optional tile URL template; empty means vectors on a plain background
 *   data-bounds       "min_lat,min_lon,max_lat,max_lon" to show when there are no grids
 *   data-center        "lat,lon" to start from otherwise
 */
(function () {
  "use strict";

  var STATUS_STYLE = {
    weight: 1.5,
    color: "#0b3d91",
    fillColor: "#5b8bd6",
    fillOpacity: 0.18,
  };

  function init(el) {
    var map = L.map(el, { zoomControl: true, attributionControl: !!el.dataset.tileUrl });
    var center = (el.dataset.center || "30.6,104.0").split(",").map(Number);
    map.setView(center, 13);
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, {
        maxZoom: 19,
        attribution: el.dataset.tileAttribution || "",
      }).addTo(map);
    }
    var marker = null;
    var selected = null;
    var grids = L.geoJSON(null, {
      style: function () { return STATUS_STYLE; },
      onEachFeature: function (feature, layer) {
        var p = feature.properties || {};
        layer.bindTooltip((p.name || "") + (p.code ? " · " + p.code : ""), { sticky: true });
      },
    }).addTo(map);

    if (el.dataset.geojsonUrl) {
      fetch(el.dataset.geojsonUrl, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (r) { return r.ok ? r.json() : { type: "FeatureCollection", features: [] }; })
        .then(function (data) {
          grids.addData(data);
          var bounds = grids.getBounds();
          if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12] });
          el.dataset.ready = "1";
          el.dispatchEvent(new CustomEvent("map:ready"));
        });
    } else {
      if (el.dataset.bounds) {
        var b = el.dataset.bounds.split(",").map(Number);
        map.fitBounds([[b[0], b[1]], [b[2], b[3]]]);
      }
      el.dataset.ready = "1";
    }

    function highlight(gridId) {
      if (selected) grids.resetStyle(selected);
      selected = null;
      grids.eachLayer(function (layer) {
        if (layer.feature && layer.feature.properties && layer.feature.properties.id === gridId) {
          selected = layer;
          layer.setStyle({ weight: 3, color: "#c8102e", fillOpacity: 0.3 });
        }
      });
    }

    map.on("click", function (event) {
      var lat = event.latlng.lat.toFixed(6);
      var lon = event.latlng.lng.toFixed(6);
      if (marker) marker.setLatLng(event.latlng);
      else marker = L.circleMarker(event.latlng, { radius: 6, color: "#c8102e", fillOpacity: 0.9 }).addTo(map);
      var url = new URL(el.dataset.locateUrl, window.location.href);
      url.searchParams.set("lat", lat);
      url.searchParams.set("lon", lon);
      if (el.dataset.layer) url.searchParams.set("layer", el.dataset.layer);
      var panel = document.querySelector(el.dataset.panel);
      htmx.ajax("GET", url.pathname + url.search, { target: panel, swap: "innerHTML" });
    });

    // The panel names the grid it found; outline that grid on the map.
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var found = event.detail.target.querySelector("[data-grid-id]");
      highlight(found ? Number(found.dataset.gridId) : null);
    });

    el.civicgridMap = map;
    window.civicgridMap = map;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-grid-map]").forEach(init);
  });
})();
