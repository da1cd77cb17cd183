// The cache lab's inspector: load one resource of each kind, then again,
// and show who answered each request.
//
// Requests use fetch() with the default cache mode, so the browser's own
// HTTP cache takes part as it would for a page. Who answered is read from
// the Resource Timing API (a copy from the browser's cache transfers zero
// bytes) and from the edge's X-Cache header; the origin's Server-Timing
// header gives its total and database time. The page and what it loads
// share an origin, so every header and timing is readable without
// Access-Control-Expose-Headers or Timing-Allow-Origin.
"use strict";

(function () {
  const inspector = document.getElementById("inspector");
  if (!inspector) return;

  const resources = JSON.parse(document.getElementById("lab-resources").textContent);
  const rows = inspector.querySelector("#lab-requests tbody");
  const rowTemplate = document.getElementById("lab-row");
  const status = document.getElementById("lab-status");
  const buttons = {
    load: document.getElementById("lab-load"),
    again: document.getElementById("lab-again"),
    reload: document.getElementById("lab-reload"),
    clear: document.getElementById("lab-clear"),
  };
  const NONE = "—";

  let visits = 0;
  let running = false;

  // The buffer holds 250 entries by default and drops new ones once full.
  performance.setResourceTimingBufferSize(2000);

  // One visit: each resource in turn, so the rows and timings stay apart.
  // "reload" skips the browser's cache (and tells caches so in the request),
  // yet a CDN edge answers from its copy all the same: it is what a newcomer
  // would get.
  async function visit(mode) {
    if (running) return;
    running = true;
    setButtons();
    visits += 1;
    const label = mode === "reload" ? `${visits}, no browser cache` : String(visits);
    const seen = [];
    for (const resource of resources) {
      const result = await inspect(resource, mode);
      seen.push(result);
      rows.append(row(label, resource, result));
    }
    running = false;
    setButtons();
    summarize(label, seen);
  }

  async function inspect(resource, mode) {
    const url = new URL(resource.url, location.href).href;
    const before = performance.getEntriesByName(url, "resource").length;
    const headers = resource.range ? { Range: resource.range } : {};
    const started = performance.now();
    let response;
    try {
      response = await fetch(url, { headers, cache: mode });
      // The timing entry is complete only once the body has been read.
      await response.arrayBuffer();
    } catch (problem) {
      return { error: String(problem), elapsed: performance.now() - started };
    }
    const elapsed = performance.now() - started;
    const entry = await timingEntry(url, before);
    return { response, entry, elapsed, who: whoAnswered(response, entry) };
  }

  // The entry is added to the timeline in a task after the body ends.
  async function timingEntry(url, before) {
    for (let tries = 0; tries < 50; tries += 1) {
      const entries = performance.getEntriesByName(url, "resource");
      if (entries.length > before) return entries[entries.length - 1];
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return null;
  }

  function whoAnswered(response, entry) {
    // Resource Timing: a response from the browser's cache crossed no
    // network, so it transferred nothing though it has a body.
    if (entry && entry.transferSize === 0 && entry.decodedBodySize > 0) {
      return "browser cache";
    }
    const edge = response.headers.get("X-Cache") || "";
    if (edge.startsWith("Hit from")) return "edge hit";
    if (edge.startsWith("RefreshHit from")) return "edge (stale/revalidated)";
    if (edge.startsWith("Error from")) return "edge (error)";
    if (response.status === 304) return "origin (304)";
    // The browser revalidated its own copy: fetch() shows the stored 200,
    // but the Fetch standard reports a "validated" copy as 300 bytes
    // transferred, a fixed size standing for the 304's headers.
    if (entry && entry.deliveryType === "cache" && entry.transferSize > 0) {
      return "origin (304)";
    }
    return "origin";
  }

  function row(label, resource, result) {
    const node = rowTemplate.content.firstElementChild.cloneNode(true);
    const cell = (name, text) => {
      node.querySelector(`.lab-${name}`).textContent = text;
    };
    node.dataset.kind = resource.label;
    cell("visit", label);
    const named = resource.label === resource.policy;
    cell("kind", named ? resource.label : `${resource.label} (${resource.policy})`);
    cell("url", shorten(resource.url) + (resource.range ? ` (${resource.range})` : ""));
    node.querySelector(".lab-url").title = resource.url;

    if (result.error) {
      node.dataset.who = "failed";
      cell("who", `failed: ${result.error}`);
      cell("duration", milliseconds(result.elapsed));
      return node;
    }
    const { response, entry } = result;
    const header = (name) => response.headers.get(name) || NONE;
    const timing = serverTiming(response.headers.get("Server-Timing"));
    node.dataset.who = result.who;
    cell("http-status", String(response.status));
    cell("who", result.who);
    cell("x-cache", response.headers.get("X-Cache") || "no edge");
    cell("age", header("Age"));
    cell("etag", header("ETag"));
    cell("cache-control", header("Cache-Control"));
    // As the origin wrote them: already in milliseconds.
    cell("total", timing.total ? `${timing.total.dur} ms` : NONE);
    const db = timing.db ? [`${timing.db.dur} ms`, timing.db.desc] : [NONE];
    cell("db", db.filter(Boolean).join(", "));
    cell("size", entry ? bytes(entry.transferSize) : NONE);
    cell("duration", milliseconds(entry ? entry.duration : result.elapsed));
    return node;
  }

  // Server-Timing as the origin writes it (caching/timing.py): metrics
  // separated by commas, parameters by semicolons, no commas inside.
  function serverTiming(value) {
    const metrics = {};
    for (const part of (value || "").split(",")) {
      const [name, ...parameters] = part.trim().split(";");
      if (!name) continue;
      const metric = {};
      for (const parameter of parameters) {
        const [key, raw = ""] = parameter.trim().split("=");
        metric[key.toLowerCase()] = raw.replace(/^"|"$/g, "");
      }
      metrics[name] = metric;
    }
    return metrics;
  }

  function summarize(label, seen) {
    const count = (who) => seen.filter((result) => result.who === who).length;
    const throughEdge = seen.some(
      (result) => result.response && result.response.headers.has("X-Cache"),
    );
    let text =
      `Visit ${label}: ${seen.length} requests, ` +
      `${count("browser cache")} from the browser cache, ` +
      `${count("edge hit")} edge hits.`;
    if (!throughEdge) text += " No edge in front: nothing sent X-Cache.";
    status.textContent = text;
  }

  // Content-hashed names are long: keep their start and their end.
  function shorten(url) {
    return url.length > 48 ? `${url.slice(0, 30)}…${url.slice(-12)}` : url;
  }

  function milliseconds(value) {
    const number = Number(value);
    return Number.isFinite(number) ? `${number.toFixed(1)} ms` : NONE;
  }

  function bytes(value) {
    if (value === 0) return "0 B";
    if (value < 1024) return `${value} B`;
    return `${(value / 1024).toFixed(1)} kB`;
  }

  function setButtons() {
    buttons.load.disabled = running;
    buttons.again.disabled = running || visits === 0;
    buttons.reload.disabled = running || visits === 0;
    buttons.clear.disabled = running;
  }

  buttons.load.addEventListener("click", () => {
    clear();
    visit("default");
  });
  buttons.again.addEventListener("click", () => visit("default"));
  buttons.reload.addEventListener("click", () => visit("reload"));
  buttons.clear.addEventListener("click", clear);

  function clear() {
    rows.replaceChildren();
    visits = 0;
    status.textContent = "";
    performance.clearResourceTimings();
    setButtons();
  }
})();
