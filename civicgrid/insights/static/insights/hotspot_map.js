// The clusters of the hotspot page on a map: one circle per cluster (its centre and radius),
// with its category and size. Leaflet is served locally (vendor/leaflet); base tiles only when
// CIVICGRID_MAP_TILE_URL is set, otherwise the circles on a plain background. The table above
// carries the same figures.
(function () {
  function draw() {
    var node = document.getElementById("cluster-map");
    var source = document.getElementById("cluster-data");
    if (!node || !source || !window.L) return;
    var clusters = JSON.parse(source.textContent);
    if (!clusters.length) return;
    var map = L.map(node, { attributionControl: !!node.dataset.tileUrl });
    if (node.dataset.tileUrl) {
      L.tileLayer(node.dataset.tileUrl, { maxZoom: 19, attribution: node.dataset.tileAttribution || "" }).addTo(map);
    }
    var layers = clusters.map(function (c) {
      return L.circle([c.lat, c.lon], {
        radius: Math.max(c.radius_m, 30),
        color: "#b42318",
        fillColor: "#f04438",
        fillOpacity: 0.35,
        weight: 1.5,
      }).bindTooltip(c.category + " · " + c.size + (c.address ? " · " + c.address : ""));
    });
    // A circle's bounds need a map with a view: fit the centres first, then draw.
    var centres = L.latLngBounds(clusters.map(function (c) { return [c.lat, c.lon]; }));
    map.fitBounds(centres.pad(0.3), { maxZoom: 16 });
    L.featureGroup(layers).addTo(map);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
