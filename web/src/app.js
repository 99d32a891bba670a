// Gridline's own browser code: progressive enhancement of server-rendered pages.
// Everything here is optional: every page works without it. No inline scripts (the Content-Security-Policy
// forbids them), no strings of our own (they come from the page, in the reader's language).
(function () {
  "use strict";

  // A tooltip's or popup's content as text: Leaflet takes a string as HTML, and names on the map are data people
  // typed, so every label goes in as an element whose text is set, never parsed.
  function textElement(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // htmx requests carry the CSRF token of the session, like forms do.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // Language and other selects that submit themselves.
  function wireAutosubmit(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    document.documentElement.classList.add("js");
  }

  // Forms survive a reload on a weak network: their fields are kept in localStorage until sent.
  function wireDrafts(root) {
    root.querySelectorAll("form[data-draft]").forEach(function (form) {
      var key = "gridline-draft:" + form.getAttribute("data-draft");
      var skip = (form.getAttribute("data-draft-skip") || "").split(",");
      function fields() {
        return Array.prototype.filter.call(form.elements, function (el) {
          // Hidden fields are the page's own (tokens, versions), except those marked as part of the entry (a drawn area).
          var kept = el.type !== "hidden" || el.hasAttribute("data-draft-keep");
          return el.name && el.name !== "csrf_token" && el.name !== "version" && el.type !== "password" && kept && skip.indexOf(el.name) < 0;
        });
      }
      var saved = null;
      try { saved = JSON.parse(window.localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
      if (saved && !form.querySelector(".error")) {
        var restored = false;
        fields().forEach(function (el) {
          if (!(el.name in saved)) { return; }
          if (el.type === "checkbox" || el.type === "radio") {
            var on = saved[el.name].indexOf(el.value) >= 0;
            if (el.checked !== on) { el.checked = on; restored = true; }
          } else if (el.value !== saved[el.name][0]) {
            el.value = saved[el.name][0];
            restored = true;
          }
        });
        if (restored) {
          var note = document.createElement("p");
          note.className = "notice draft-note";
          note.setAttribute("role", "status");
          note.textContent = document.body.getAttribute("data-draft-restored");
          form.insertBefore(note, form.firstChild);
        }
      }
      function save() {
        var data = {};
        fields().forEach(function (el) {
          if (el.type === "checkbox" || el.type === "radio") {
            data[el.name] = data[el.name] || [];
            if (el.checked) { data[el.name].push(el.value); }
          } else {
            data[el.name] = [el.value];
          }
        });
        try { window.localStorage.setItem(key, JSON.stringify(data)); } catch (e) { /* storage full or disabled */ }
      }
      form.addEventListener("input", save);
      form.addEventListener("change", save);
      form.addEventListener("submit", function () {
        try { window.localStorage.removeItem(key); } catch (e) { /* ignore */ }
      });
    });
  }

  // A clear message when the network is gone, and when it is back.
  function wireOffline() {
    var banner = document.querySelector(".offline-banner");
    if (!banner) { return; }
    function show(offline) {
      banner.textContent = offline ? document.body.getAttribute("data-offline") : document.body.getAttribute("data-online");
      banner.hidden = false;
      banner.classList.toggle("is-offline", offline);
      if (!offline) { window.setTimeout(function () { banner.hidden = true; }, 4000); }
    }
    window.addEventListener("offline", function () { show(true); });
    window.addEventListener("online", function () { show(false); });
    if (navigator.onLine === false) { show(true); }
  }

  // Console tabs: mark the selected one; list rows open in the detail panel.
  function wireConsole() {
    var tabs = document.querySelectorAll("[data-tab]");
    tabs.forEach(function (tab) {
      tab.addEventListener("click", function () {
        tabs.forEach(function (other) { other.setAttribute("aria-selected", other === tab ? "true" : "false"); });
        var panel = document.getElementById("tab-panel");
        if (panel) { panel.setAttribute("aria-labelledby", tab.id); }
      });
    });
    var panel = document.getElementById("tab-panel");
    var detail = document.getElementById("detail");
    if (panel && detail && window.htmx) {
      panel.addEventListener("click", function (event) {
        var link = event.target.closest("a.detail-link");
        if (!link || event.ctrlKey || event.metaKey) { return; }
        event.preventDefault();
        window.htmx.ajax("GET", link.getAttribute("href"), { target: "#detail", select: ".detail", swap: "innerHTML" });
      });
    }
  }

  // The live ticker: Server-Sent Events of every change the reader may see.
  function wireTicker() {
    var list = document.getElementById("ticker");
    if (!list || !window.EventSource) { return; }
    var labels = {};
    try { labels = JSON.parse(list.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
    var lang = list.getAttribute("data-lang") || "zh-CN";
    var zone = list.getAttribute("data-timezone") || "Asia/Shanghai";
    var empty = document.createElement("li");
    empty.className = "empty";
    empty.textContent = list.getAttribute("data-empty");
    list.appendChild(empty);
    var source = new EventSource(list.getAttribute("data-events-url"));
    function add(event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (empty.parentNode) { empty.parentNode.removeChild(empty); }
      var item = document.createElement("li");
      item.setAttribute("data-kind", data.kind);
      var time = document.createElement("time");
      time.setAttribute("datetime", data.at);
      time.textContent = new Date(data.at).toLocaleTimeString(lang, { timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit" });
      var text = document.createElement("span");
      text.textContent = (labels[data.kind] || data.kind) + (data.payload && data.payload.code ? " · " + data.payload.code : "") + " #" + (data.subject_id || "");
      item.appendChild(time);
      item.appendChild(text);
      list.insertBefore(item, list.firstChild);
      while (list.children.length > 50) { list.removeChild(list.lastChild); }
    }
    Object.keys(labels).forEach(function (kind) { source.addEventListener(kind, add); });
    source.onmessage = add;
    source.onerror = function () { list.setAttribute("aria-busy", "true"); };
    source.onopen = function () { list.removeAttribute("aria-busy"); };
  }

  // The map: Gridline's own vector data, no tiles (nothing is fetched from outside).
  function wireMap() {
    var el = document.getElementById("map");
    if (!el || !window.L) { return; }
    var started = performance.now();
    var stats = { firstRenderMs: null, lastLoadMs: null, features: 0, loads: 0, byLayer: {} };
    window.gridlineMapStats = stats;
    var map = window.L.map(el, { preferCanvas: true, zoomSnap: 0.5, worldCopyJump: false, minZoom: 3, maxZoom: 19 });
    el.gridlineMap = map;
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution(el.getAttribute("data-attribution"));
    window.L.control.scale({ imperial: false }).addTo(map);
    var bbox = (el.getAttribute("data-bbox") || "").split(",").filter(function (v) { return v !== ""; }).map(Number);
    var placed = bbox.length === 4 && bbox.every(isFinite);
    if (placed) {
      map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]], { padding: [8, 8] });
    } else {
      map.setView([31.23, 121.47], 9);
    }
    var visible = (el.getAttribute("data-visible") || "").split(",");
    var template = el.getAttribute("data-features-url");
    var overlays = {};
    var loaders = [];

    function popup(properties) {
      var box = document.createElement("div");
      var title = document.createElement("strong");
      title.textContent = properties.name || properties.code || properties.id || "";
      box.appendChild(title);
      if (properties.level_label || properties.mode_label || properties.status) {
        var line = document.createElement("div");
        line.textContent = [properties.level_label, properties.mode_label, properties.status].filter(Boolean).join(" · ");
        box.appendChild(line);
      }
      // A stored layer's own fields (a shelter's capacity, a depot's stock), as they are in the data.
      var skip = ["name", "code", "id", "url", "level_label", "mode_label", "status", "mode", "level", "centroid", "cluster", "count", "kind_zh", "kind_en", "state"];
      var rows = [];
      Object.keys(properties).forEach(function (key) {
        var value = properties[key];
        if (skip.indexOf(key) >= 0 || value === null || value === undefined || value === "") { return; }
        if (key === "kind" && (properties.kind_zh || properties.kind_en)) {
          value = document.documentElement.lang === "zh-CN" ? properties.kind_zh : properties.kind_en;
        }
        if (typeof value === "object" && !Array.isArray(value)) {
          Object.keys(value).forEach(function (inner) { rows.push([inner, value[inner]]); });
        } else {
          rows.push([key, Array.isArray(value) ? value.join(", ") : value]);
        }
      });
      if (rows.length) {
        var list = document.createElement("dl");
        list.className = "popup-fields";
        rows.slice(0, 14).forEach(function (row) {
          var term = document.createElement("dt");
          term.textContent = row[0].replace(/_/g, " ");
          var detail = document.createElement("dd");
          detail.textContent = String(row[1]);
          list.appendChild(term);
          list.appendChild(detail);
        });
        box.appendChild(list);
      }
      if (properties.url) {
        var link = document.createElement("a");
        link.href = properties.url;
        link.textContent = el.getAttribute("data-label-open");
        box.appendChild(document.createElement("br"));
        box.appendChild(link);
      }
      return box;
    }

    function clusterMarker(feature, latlng) {
      var count = feature.properties.count;
      var radius = Math.min(28, 8 + Math.log(count + 1) * 3);
      var marker = window.L.circleMarker(latlng, { radius: radius, color: "#0b5cad", weight: 1, fillColor: "#2f80d1", fillOpacity: 0.55 });
      marker.bindTooltip(textElement(el.getAttribute("data-label-count").replace("{count}", String(count))));
      return marker;
    }

    // Each point layer its own colour (stable for a layer name), so that depots, shelters and facilities differ.
    var POINT_COLORS = [["#004d61", "#00acc1"], ["#7f0000", "#e53935"], ["#263238", "#78909c"], ["#4a148c", "#8e24aa"], ["#8a4b00", "#f28c28"], ["#1b5e20", "#43a047"]];
    function pointColor(layer) {
      var sum = 0;
      for (var i = 0; i < layer.name.length; i += 1) { sum = (sum * 31 + layer.name.charCodeAt(i)) % 9973; }
      return POINT_COLORS[sum % POINT_COLORS.length];
    }

    function makeOverlay(layer) {
      var group = window.L.layerGroup();
      var controller = null;
      function load() {
        if (!map.hasLayer(group)) { return; }
        if (controller) { controller.abort(); }
        controller = new AbortController();
        var b = map.getBounds();
        var url = template.replace("{name}", encodeURIComponent(layer.name)) + "?bbox=" +
          [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return Math.max(-180, Math.min(180, v)).toFixed(6); }).join(",") +
          "&zoom=" + Math.round(map.getZoom());
        // The stored layers as they were at a time, when one is chosen below the map.
        var asOf = document.getElementById("map-as-of");
        if (asOf && asOf.value && !layer.built_in) {
          var when = new Date(asOf.value);
          if (!isNaN(when.getTime())) { url += "&as_of=" + encodeURIComponent(when.toISOString()); }
        }
        var began = performance.now();
        fetch(url, { credentials: "same-origin", signal: controller.signal })
          .then(function (response) { return response.ok ? response.json() : { features: [] }; })
          .then(function (collection) {
            group.clearLayers();
            var features = collection.features || [];
            var clusters = features.filter(function (f) { return f.properties && f.properties.cluster; });
            var plain = features.filter(function (f) { return !(f.properties && f.properties.cluster); });
            if (clusters.length) {
              group.addLayer(window.L.geoJSON({ type: "FeatureCollection", features: clusters }, { pointToLayer: clusterMarker }));
            }
            if (plain.length) {
              var points = layer.geometry_kind === "point";
              var shapes = window.L.geoJSON({ type: "FeatureCollection", features: plain }, {
                style: function (f) {
                  if (layer.stale) { return { color: "#9e9e9e", weight: 1, opacity: 0.6, fillColor: "#e0e0e0", fillOpacity: 0.3, dashArray: "3 3" }; }
                  // Leaflet styles the circles of point features too: keep the layer's colour.
                  if (f.geometry && f.geometry.type === "Point") {
                    var hue = pointColor(layer);
                    // Sensors by state: red in alarm, grey when silent.
                    if (f.properties && f.properties.state === "alarm") { hue = ["#7f0000", "#e53935"]; }
                    if (f.properties && f.properties.state === "stale") { hue = ["#424242", "#bdbdbd"]; }
                    return { color: hue[0], weight: 1, fillColor: hue[1], fillOpacity: 0.85 };
                  }
                  if (/water/.test(layer.name)) { return { color: "#2b7bb9", weight: 1.5, fillColor: "#9cc9ea", fillOpacity: 0.6 }; }
                  if (/road/.test(layer.name)) { return { color: "#707a85", weight: 1.2, opacity: 0.9 }; }
                  if (/building/.test(layer.name)) { return { color: "#8d6e63", weight: 0.6, fillColor: "#bcaaa4", fillOpacity: 0.5 }; }
                  var mode = f.properties && f.properties.mode;
                  var color = mode === "emergency" ? "#b3261e" : mode === "heightened" ? "#b86e00" : "#2d5f8a";
                  return { color: color, weight: 1.5, fillOpacity: 0.06 };
                },
                pointToLayer: function (f, latlng) {
                  var hue = layer.stale ? ["#757575", "#e0e0e0"] : pointColor(layer);
                  return window.L.circleMarker(latlng, { radius: 5, color: hue[0], weight: 1, fillColor: hue[1], fillOpacity: 0.85 });
                },
                onEachFeature: function (f, l) { l.bindPopup(function () { return popup(f.properties || {}); }); }
              });
              if (points && window.L.markerClusterGroup && plain.length > 200) {
                var cluster = window.L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false });
                cluster.addLayer(shapes);
                group.addLayer(cluster);
              } else {
                group.addLayer(shapes);
              }
            }
            stats.features = features.length;
            stats.byLayer[layer.name] = features.length;
            stats.loads += 1;
            stats.lastLoadMs = Math.round(performance.now() - began);
            if (stats.firstRenderMs === null) { stats.firstRenderMs = Math.round(performance.now() - started); }
            el.setAttribute("data-loaded", String(stats.loads));
            // Shapes a page draws over the data (a warning area, a drawing) stay on top of what was just loaded.
            el.dispatchEvent(new CustomEvent("gridline:layerload"));
          })
          .catch(function (error) {
            // Aborted by a newer view, or offline: keep what is drawn. Anything else is a bug worth seeing.
            if (error && error.name !== "AbortError" && navigator.onLine !== false) { console.warn("map layer", layer.name, error); }
          });
      }
      group.on("add", load);
      loaders.push(load);
      return group;
    }

    fetch(el.getAttribute("data-layers-url"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (layers) {
        // With no area of its own to show (no boundaries yet), the map shows where the stored layers are.
        var extents = layers.map(function (layer) { return layer.extent; }).filter(Boolean);
        if (!placed && !el.gridlinePlaced && extents.length) {
          var union = extents.reduce(function (a, b) { return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])]; });
          map.fitBounds([[union[1], union[0]], [union[3], union[2]]]);
        }
        // The base map (areas and lines) first, then the boundaries, then points, so that nothing hides what is
        // drawn on it.
        var rank = function (layer) { return layer.geometry_kind === "point" ? 2 : layer.built_in ? 1 : 0; };
        layers.slice().sort(function (a, b) { return rank(a) - rank(b); }).forEach(function (layer) {
          var overlay = makeOverlay(layer);
          // Data older than its owner's update interval is named so, and drawn greyed.
          overlays[layer.stale ? layer.title + " (" + (el.getAttribute("data-label-stale") || "stale") + ")" : layer.title] = overlay;
          if (visible.indexOf(layer.name) >= 0 || layer.shown_by_default) { overlay.addTo(map); }
        });
        window.L.control.layers(null, overlays, { collapsed: window.innerWidth < 700 || layers.length > 5 }).addTo(map);
      });
    map.on("moveend", function () { loaders.forEach(function (load) { load(); }); });
    var asOfInput = document.getElementById("map-as-of");
    if (asOfInput) { asOfInput.addEventListener("change", function () { loaders.forEach(function (load) { load(); }); }); }
  }

  // ---------------------------------------------------------------------------------------------- warning areas

  // The outline of a warning level on the map, and its fill.
  var LEVEL_COLORS = { red: ["#c62828", "#e53935"], orange: ["#d66a00", "#f28c28"], yellow: ["#b58900", "#ffd60a"], blue: ["#1565c0", "#1e88e5"] };

  function merged(a, b) {
    var out = {};
    [a, b].forEach(function (o) { Object.keys(o || {}).forEach(function (k) { out[k] = o[k]; }); });
    return out;
  }

  // A warning area as one Leaflet layer (not yet on a map): a GeoJSON Polygon or MultiPolygon, a circle
  // {"type": "Circle", "center": [lon, lat], "radius_m": r}, or a GeometryCollection of these.
  function areaLayer(geometry, style) {
    var L = window.L;
    var group = L.featureGroup();
    function add(part, depth) {
      if (!part || typeof part !== "object" || depth > 3) { return; }
      if (part.type === "GeometryCollection") {
        (part.geometries || []).forEach(function (g) { add(g, depth + 1); });
      } else if (part.type === "Circle") {
        var c = part.center;
        if (Array.isArray(c) && c.length === 2 && isFinite(c[0]) && isFinite(c[1]) && Number(part.radius_m) > 0) {
          group.addLayer(L.circle([Number(c[1]), Number(c[0])], merged(style, { radius: Number(part.radius_m) })));
        }
      } else if (/^(Multi)?Polygon$|^Feature(Collection)?$/.test(part.type)) {
        try {
          group.addLayer(L.geoJSON(part, { interactive: style.interactive !== false, style: function () { return style; } }));
        } catch (e) { /* not a drawable geometry: nothing to show */ }
      }
    }
    add(geometry, 0);
    return group;
  }

  function cornersOf(geometry) {
    if (!geometry) { return 0; }
    if (geometry.type === "Polygon") { return Math.max(0, ((geometry.coordinates || [])[0] || []).length - 1); }
    if (geometry.type === "MultiPolygon") {
      return (geometry.coordinates || []).reduce(function (n, p) { return n + Math.max(0, ((p || [])[0] || []).length - 1); }, 0);
    }
    return 0;
  }

  // The authoring form: the area is drawn on the map. Each click adds a corner; clicking the first corner again,
  // a double click, or the draw button pressed again closes the ring into a GeoJSON Polygon in #area_geojson.
  // With a keyboard: the arrow keys move the map, Enter adds its centre as a corner, Backspace takes the last one
  // back, Escape cancels. A circle typed into the circle fields is shown as it is typed.
  function wireAreaDrawing() {
    var input = document.getElementById("area_geojson");
    var el = document.getElementById("map");
    var drawButton = document.querySelector('[data-draw="polygon"]');
    if (!input || !el || !el.gridlineMap || !drawButton) { return; }
    var L = window.L;
    var map = el.gridlineMap;
    var clearButton = document.querySelector('[data-draw="clear"]');
    var status = document.getElementById("draw-status");
    var holder = drawButton.closest("[data-draw-hint]") || drawButton;
    var ink = "#0b4f8a";
    var vertices = [];
    var drawing = false;
    var sketch = L.featureGroup().addTo(map);
    var shape = null;
    var circle = null;

    function label(name, count) {
      return (holder.getAttribute("data-draw-" + name) || "").replace("{count}", String(count));
    }
    function say(text) {
      if (status) { status.textContent = text || ""; }
    }
    function round(value) {
      return Math.round(value * 1e6) / 1e6;
    }
    function fit() {
      var bounds = L.latLngBounds([]);
      if (shape) { bounds.extend(shape.getBounds()); }
      if (circle) { bounds.extend(circle.getBounds()); }
      if (bounds.isValid()) {
        el.gridlinePlaced = true;
        map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 });
      }
    }
    function showShape(geometry) {
      if (shape) { map.removeLayer(shape); shape = null; }
      if (!geometry) { return; }
      shape = areaLayer(geometry, { color: ink, weight: 3, fillColor: "#2f80d1", fillOpacity: 0.18, interactive: false });
      if (shape.getLayers().length) {
        shape.addTo(map);
      } else {
        shape = null;
      }
    }
    function redrawSketch() {
      sketch.clearLayers();
      if (!vertices.length) { return; }
      sketch.addLayer(L.polyline(vertices, { color: ink, weight: 2, dashArray: "6 4", interactive: false }));
      vertices.forEach(function (latlng, index) {
        sketch.addLayer(L.circleMarker(latlng, {
          radius: index === 0 ? 8 : 5, color: ink, weight: 2, fillColor: index === 0 ? "#ffbf47" : "#ffffff", fillOpacity: 1, interactive: false,
        }));
      });
    }
    function setDrawing(on) {
      drawing = on;
      drawButton.setAttribute("aria-pressed", on ? "true" : "false");
      el.classList.toggle("is-drawing", on);
      if (on) {
        map.doubleClickZoom.disable();
      } else {
        map.doubleClickZoom.enable();
        vertices = [];
        redrawSketch();
      }
    }
    function begin() {
      setDrawing(true);
      map.closePopup();
      say(label("hint"));
      var box = el.getBoundingClientRect();
      if (box.top < 0 || box.bottom > window.innerHeight) { el.scrollIntoView({ block: "nearest" }); }
    }
    function finish() {
      var ring = [];
      vertices.forEach(function (latlng) {
        var p = latlng.wrap();
        var point = [round(p.lng), round(p.lat)];
        var last = ring[ring.length - 1];
        if (!last || last[0] !== point[0] || last[1] !== point[1]) { ring.push(point); }
      });
      var first = ring[0];
      if (ring.length > 1 && first[0] === ring[ring.length - 1][0] && first[1] === ring[ring.length - 1][1]) { ring.pop(); }
      if (ring.length < 3) {
        say(label("need-three"));
        return;
      }
      ring.push([ring[0][0], ring[0][1]]);
      var geometry = { type: "Polygon", coordinates: [ring] };
      input.value = JSON.stringify(geometry);
      setDrawing(false);
      showShape(geometry);
      say(label("done", ring.length - 1));
      // The form's draft (wireDrafts) keeps the drawing through a reload.
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    function addVertex(latlng, tolerance) {
      var point = map.latLngToContainerPoint(latlng);
      if (vertices.length >= 3 && map.latLngToContainerPoint(vertices[0]).distanceTo(point) <= tolerance) {
        finish();
        return;
      }
      if (vertices.length && map.latLngToContainerPoint(vertices[vertices.length - 1]).distanceTo(point) < 3) { return; }
      vertices.push(latlng);
      redrawSketch();
      say(label("corners", vertices.length));
    }
    function onMap(event) {
      return !(event.target.closest && event.target.closest(".leaflet-control-container, .leaflet-popup"));
    }

    // While drawing, clicks on the map are corners: they are taken before the map's own handling, so that the
    // data layers open no popups (which would also pan the map between two corners).
    el.addEventListener("click", function (event) {
      if (!drawing || !onMap(event)) { return; }
      event.stopPropagation();
      if (map.dragging && map.dragging.moved()) { return; }
      var coarse = event.pointerType === "touch" || (window.matchMedia && window.matchMedia("(pointer: coarse)").matches);
      addVertex(map.mouseEventToLatLng(event), coarse ? 24 : 12);
    }, true);
    el.addEventListener("dblclick", function (event) {
      if (!drawing || !onMap(event)) { return; }
      event.stopPropagation();
      event.preventDefault();
      finish();
    }, true);
    el.addEventListener("keydown", function (event) {
      if (!drawing || event.target !== el) { return; }
      if (event.key === "Enter") {
        event.preventDefault();
        addVertex(map.getCenter(), 0);
      } else if (event.key === "Backspace" && vertices.length) {
        event.preventDefault();
        vertices.pop();
        redrawSketch();
        say(label("corners", vertices.length));
      }
    });
    document.addEventListener("keydown", function (event) {
      if (drawing && (event.key === "Escape" || event.key === "Esc")) {
        setDrawing(false);
        say(label("cancelled"));
      }
    });
    drawButton.setAttribute("aria-pressed", "false");
    drawButton.addEventListener("click", function () {
      if (!drawing) {
        begin();
      } else if (vertices.length >= 3) {
        finish();
      } else {
        setDrawing(false);
        say(label("cancelled"));
      }
    });
    if (clearButton) {
      clearButton.addEventListener("click", function () {
        setDrawing(false);
        input.value = "";
        showShape(null);
        say(label("cleared"));
        input.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }

    // A circle, shown while its fields are typed in; the map moves to it once a field is left.
    var fields = ["circle_lon", "circle_lat", "circle_radius_m"].map(function (id) { return document.getElementById(id); });
    function numberIn(field) {
      var text = field ? field.value.trim() : "";
      return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
    }
    function showCircle() {
      var lon = numberIn(fields[0]);
      var lat = numberIn(fields[1]);
      var radius = numberIn(fields[2]);
      if (!(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90 && radius > 0 && isFinite(radius))) {
        if (circle) { map.removeLayer(circle); circle = null; }
        return false;
      }
      if (circle) {
        circle.setLatLng([lat, lon]);
        circle.setRadius(radius);
      } else {
        circle = L.circle([lat, lon], { radius: radius, color: "#8a5200", weight: 2, dashArray: "6 4", fillColor: "#ffbf47", fillOpacity: 0.18, interactive: false }).addTo(map);
      }
      return true;
    }
    fields.forEach(function (field) {
      if (!field) { return; }
      field.addEventListener("input", showCircle);
      field.addEventListener("change", function () { if (showCircle()) { fit(); } });
    });

    // What the form already holds (sent back after a validation error, or restored from the draft by
    // wireDrafts, which runs first) is drawn at once.
    var text = input.value.trim();
    if (text) {
      var geometry = null;
      try { geometry = JSON.parse(text); } catch (e) { geometry = null; }
      showShape(geometry);
      say(shape ? label("done", cornersOf(geometry)) : label("unreadable"));
    }
    showCircle();
    fit();

    // Data layers reload as the map moves; the drawing stays on top of them.
    el.addEventListener("gridline:layerload", function () {
      [shape, circle, sketch].forEach(function (layer) { if (layer) { layer.bringToFront(); } });
    });
  }

  // A warning's page: its area outlined in the colour of its level, and, once sent, who was reached in each grid
  // as a choropleth (red: few reached, green: all), redrawn whenever the reach panel refreshes itself.
  function wireWarningMap() {
    var el = document.getElementById("map");
    var source = document.getElementById("warning-area");
    if (!el || !el.gridlineMap || !source) { return; }
    var L = window.L;
    var map = el.gridlineMap;
    var level = source.getAttribute("data-level");
    if (!level) {
      var badge = document.querySelector("h1 .badge[class*='level-']");
      var match = badge && /\blevel-(\w+)/.exec(badge.className);
      level = match ? match[1] : "";
    }
    var colors = LEVEL_COLORS[level] || ["#0b4f8a", "#2f80d1"];
    var area = null;
    try { area = JSON.parse(source.textContent); } catch (e) { area = null; }
    var outline = areaLayer(area, { color: colors[0], weight: 3, fillColor: colors[1], fillOpacity: 0.12, interactive: false });
    if (outline.getLayers().length) {
      outline.addTo(map);
      var bounds = outline.getBounds();
      if (bounds.isValid()) {
        el.gridlinePlaced = true;
        map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 });
      }
      el.setAttribute("data-area-drawn", "true");
    }

    var lang = document.documentElement.getAttribute("lang") || "zh-CN";
    var percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 });
    var reach = null;
    var reachText = null;
    var legend = null;
    var draws = 0;
    function shareOf(properties) {
      var share = Number(properties && properties.share);
      return isFinite(share) ? Math.max(0, Math.min(1, share)) : 0;
    }
    function shareColor(share) {
      return "hsl(" + Math.round(share * 120) + ", 75%, 40%)";
    }
    function figures(properties, labels) {
      var box = document.createElement("div");
      box.className = "map-reach";
      var title = document.createElement("strong");
      title.textContent = properties.name || "";
      box.appendChild(title);
      var list = document.createElement("dl");
      list.className = "map-figures";
      [["share", percent.format(shareOf(properties))], ["targeted", properties.targeted], ["delivered", properties.delivered],
        ["acknowledged", properties.acknowledged], ["door-knocked", properties.door_knocked], ["unreached", properties.unreached]]
        .forEach(function (row) {
          var term = document.createElement("dt");
          term.textContent = labels.getAttribute("data-label-" + row[0]) || "";
          var value = document.createElement("dd");
          value.textContent = row[1] === undefined || row[1] === null ? "—" : String(row[1]);
          list.appendChild(term);
          list.appendChild(value);
        });
      box.appendChild(list);
      return box;
    }
    function addLegend(labels) {
      if (legend) { return; }
      legend = L.control({ position: "bottomright" });
      legend.onAdd = function () {
        var box = L.DomUtil.create("div", "reach-legend leaflet-control");
        var title = document.createElement("div");
        title.textContent = labels.getAttribute("data-label-share") || "";
        var bar = document.createElement("div");
        bar.className = "reach-legend-bar";
        var ends = document.createElement("div");
        ends.className = "reach-legend-ends";
        [0, 1].forEach(function (value) {
          var end = document.createElement("span");
          end.textContent = percent.format(value);
          ends.appendChild(end);
        });
        box.appendChild(title);
        box.appendChild(bar);
        box.appendChild(ends);
        return box;
      };
      legend.addTo(map);
    }
    function drawReach() {
      // An attribute of an element inside the reach panel (htmx drops script elements from what it swaps in).
      var grids = document.getElementById("reach-geojson");
      var text = grids ? grids.getAttribute("data-geojson") : null;
      if (text === reachText) { return; }
      reachText = text;
      if (reach) { map.removeLayer(reach); reach = null; }
      if (!grids) { return; }
      var data = null;
      try { data = JSON.parse(text); } catch (e) { data = null; }
      if (!data) { return; }
      reach = L.geoJSON(data, {
        style: function (feature) {
          return { color: "#37474f", weight: 1, fillColor: shareColor(shareOf(feature.properties)), fillOpacity: 0.55 };
        },
        onEachFeature: function (feature, layer) {
          var properties = feature.properties || {};
          // Names are data people typed: always text, never HTML (Leaflet reads a string as HTML).
          layer.bindTooltip(textElement((properties.name || "") + " · " + percent.format(shareOf(properties))), { sticky: true });
          layer.bindPopup(function () { return figures(properties, grids); });
        },
      }).addTo(map);
      outline.bringToFront();
      addLegend(grids);
      draws += 1;
      el.setAttribute("data-reach-grids", String(reach.getLayers().length));
      el.setAttribute("data-reach-draws", String(draws));
    }
    drawReach();
    // The reach panel swaps itself in every few seconds (htmx); its GeoJSON comes with it.
    document.addEventListener("htmx:afterSwap", drawReach);
    el.addEventListener("gridline:layerload", function () {
      if (reach) { reach.bringToFront(); }
      outline.bringToFront();
    });
  }

  // A sensor's chart: the mean of each bucket as a line, its lowest and highest as a band, and the thresholds of
  // the rules that watch it. Times are shown in the jurisdiction's time zone, whatever the browser's.
  function wireSensorChart() {
    var el = document.getElementById("sensor-chart");
    if (!el || typeof window.echarts === "undefined") { return; }
    var zone = el.getAttribute("data-timezone") || "Asia/Shanghai";
    var lang = el.getAttribute("data-lang") || "zh-CN";
    var unit = el.getAttribute("data-unit") || "";
    var stamp = new Intl.DateTimeFormat(lang, { timeZone: zone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
    var thresholds = [];
    try { thresholds = JSON.parse(el.getAttribute("data-thresholds") || "[]"); } catch (e) { thresholds = []; }
    fetch(el.getAttribute("data-series-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { points: [] }; })
      .then(function (series) {
        var points = series.points || [];
        el.setAttribute("data-points", String(points.length));
        if (points.length === 0) {
          el.textContent = el.getAttribute("data-label-empty");
          return;
        }
        var time = function (p) { return Date.parse(p[0]); };
        var chart = window.echarts.init(el, null, { renderer: "canvas" });
        chart.setOption({
          animation: false,
          grid: { left: 56, right: 16, top: 28, bottom: 40 },
          legend: { top: 0 },
          // Rendered on the canvas: no HTML, so the page's Content-Security-Policy holds.
          tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: function (v) { return (v === null || v === undefined) ? "" : Number(v).toFixed(2) + " " + unit; } },
          xAxis: { type: "time", axisLabel: { formatter: function (v) { return stamp.format(new Date(v)); }, hideOverlap: true } },
          yAxis: { type: "value", name: unit, scale: true },
          series: [
            { name: el.getAttribute("data-label-low"), type: "line", showSymbol: false, lineStyle: { width: 1, type: "dashed" }, data: points.map(function (p) { return [time(p), p[1]]; }) },
            { name: el.getAttribute("data-label-mean"), type: "line", showSymbol: false, lineStyle: { width: 2 }, data: points.map(function (p) { return [time(p), p[2]]; }),
              markLine: { symbol: "none", label: { formatter: "{b}: {c}" }, lineStyle: { color: "#c62828" },
                data: thresholds.map(function (t) { return { name: t.rule, yAxis: t.value }; }) } },
            { name: el.getAttribute("data-label-high"), type: "line", showSymbol: false, lineStyle: { width: 1, type: "dashed" }, data: points.map(function (p) { return [time(p), p[3]]; }) }
          ]
        });
        window.addEventListener("resize", function () { chart.resize(); });
        el.setAttribute("data-chart-ready", "true");
      });
  }

  function start() {
    wireAutosubmit(document);
    wireDrafts(document);
    wireOffline();
    wireConsole();
    wireTicker();
    wireMap();
    wireAreaDrawing();
    wireWarningMap();
    wireSensorChart();
  }

  document.addEventListener("htmx:afterSwap", function (event) { wireDrafts(event.target); wireAutosubmit(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
