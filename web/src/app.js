// Gridline's own browser code: progressive enhancement of server-rendered pages.
// Everything here is optional: every page works without it. No inline scripts (the Content-Security-Policy
// forbids them), no strings of our own (they come from the page, in the reader's language).
(function () {
  "use strict";

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
          return el.name && el.name !== "csrf_token" && el.name !== "version" && el.type !== "password" && el.type !== "hidden" && skip.indexOf(el.name) < 0;
        });
      }
      var saved = null;
      try { saved = JSON.parse(window.localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
      if (saved && !form.querySelector(".error")) {
        var restored = false;
        fields().forEach(function (el) {
          if (!(el.name in saved)) { return; }
          if (el.type === "checkbox") {
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
          if (el.type === "checkbox") {
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
    var stats = { firstRenderMs: null, lastLoadMs: null, features: 0, loads: 0 };
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
      marker.bindTooltip(el.getAttribute("data-label-count").replace("{count}", String(count)));
      return marker;
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
                  if (/water/.test(layer.name)) { return { color: "#2b7bb9", weight: 1.5, fillColor: "#9cc9ea", fillOpacity: 0.6 }; }
                  if (/road/.test(layer.name)) { return { color: "#707a85", weight: 1.2, opacity: 0.9 }; }
                  if (/building/.test(layer.name)) { return { color: "#8d6e63", weight: 0.6, fillColor: "#bcaaa4", fillOpacity: 0.5 }; }
                  var mode = f.properties && f.properties.mode;
                  var color = mode === "emergency" ? "#b3261e" : mode === "heightened" ? "#b86e00" : "#2d5f8a";
                  return { color: color, weight: 1.5, fillOpacity: 0.06 };
                },
                pointToLayer: function (f, latlng) {
                  return window.L.circleMarker(latlng, { radius: 5, color: "#1b5e20", weight: 1, fillColor: "#43a047", fillOpacity: 0.8 });
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
            stats.loads += 1;
            stats.lastLoadMs = Math.round(performance.now() - began);
            if (stats.firstRenderMs === null) { stats.firstRenderMs = Math.round(performance.now() - started); }
            el.setAttribute("data-loaded", String(stats.loads));
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
        if (!placed && extents.length) {
          var union = extents.reduce(function (a, b) { return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])]; });
          map.fitBounds([[union[1], union[0]], [union[3], union[2]]]);
        }
        layers.forEach(function (layer) {
          var overlay = makeOverlay(layer);
          overlays[layer.title] = overlay;
          if (visible.indexOf(layer.name) >= 0) { overlay.addTo(map); }
        });
        window.L.control.layers(null, overlays, { collapsed: window.innerWidth < 700 }).addTo(map);
      });
    map.on("moveend", function () { loaders.forEach(function (load) { load(); }); });
  }

  function start() {
    wireAutosubmit(document);
    wireDrafts(document);
    wireOffline();
    wireConsole();
    wireTicker();
    wireMap();
  }

  document.addEventListener("htmx:afterSwap", function (event) { wireDrafts(event.target); wireAutosubmit(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
