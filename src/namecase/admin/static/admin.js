/* The operator's page: signs in with the admin token (kept in sessionStorage, sent as a bearer
   header, never a cookie), renders /admin/status and replays dead items. Everything from the
   database is put on the page with textContent. */
(function () {
  "use strict";
  var KEY = "namecase-admin-token";
  var signin = document.getElementById("signin");
  var main = document.getElementById("status");
  var timer = null;

  function token() { return window.sessionStorage.getItem(KEY) || ""; }

  function call(method, path) {
    return fetch(path, {
      method: method,
      credentials: "omit",
      cache: "no-store",
      headers: { "Authorization": "Bearer " + token(), "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 401) {
        window.sessionStorage.removeItem(KEY);
        showSignin("The token was not accepted.");
        throw new Error("unauthorized");
      }
      return response.json();
    });
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function when(value) {
    return value ? new Date(value).toLocaleString() : "—";
  }

  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (content) {
      var td = document.createElement("td");
      if (content instanceof Node) { td.appendChild(content); } else { td.textContent = content; }
      tr.appendChild(td);
    });
    return tr;
  }

  function tile(label, value) {
    var node = el("div", label, "tile");
    node.insertBefore(el("b", value), node.firstChild);
    return node;
  }

  function portalCell(portal) {
    var box = document.createElement("div");
    box.appendChild(el("div", portal.domain));
    box.appendChild(el("code", portal.member_id, "muted"));
    return box;
  }

  function stateCell(portal) {
    var box = document.createElement("div");
    box.appendChild(el("span", portal.state, "state state-" + portal.state));
    box.appendChild(el("span", portal.state_explained, "muted explained"));
    return box;
  }

  /* The last 24 hours as inline SVG: two bars per hour, queued records and corrections. */
  var SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attributes, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) { node.textContent = String(text); }
    return node;
  }

  function hourLabel(value) {
    var date = new Date(value);
    return String(date.getHours()).padStart(2, "0") + ":00";
  }

  function drawActivity(activity) {
    var width = 960, height = 220, left = 36, bottom = 22, top = 8;
    var plot = height - bottom - top;
    var peak = Math.max(1, Math.max.apply(null, activity.queued.concat(activity.corrections)));
    var step = (width - left) / activity.hours.length;
    var chart = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img",
                             "aria-label": "queued records and corrections per hour" });
    [0, 0.5, 1].forEach(function (fraction) {
      var y = top + plot * (1 - fraction);
      chart.appendChild(svg("line", { x1: left, x2: width, y1: y, y2: y, "class": "grid" }));
      chart.appendChild(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", "class": "axis" },
                            Math.round(peak * fraction)));
    });
    activity.hours.forEach(function (hour, i) {
      var x = left + i * step;
      [["queued", activity.queued[i], 0], ["corrections", activity.corrections[i], 1]]
        .forEach(function (series) {
          var h = plot * series[1] / peak;
          var bar = svg("rect", { x: x + 2 + series[2] * (step - 4) / 2, y: top + plot - h,
                                  width: (step - 4) / 2, height: h, "class": "bar-" + series[0],
                                  "data-hour": hour, "data-value": series[1] });
          bar.appendChild(svg("title", {}, hourLabel(hour) + " " + series[0] + ": " + series[1]));
          chart.appendChild(bar);
        });
      if (i % 3 === 0) {
        chart.appendChild(svg("text", { x: x + step / 2, y: height - 6, "text-anchor": "middle",
                                        "class": "axis" }, hourLabel(hour)));
      }
    });
    var box = document.getElementById("activity-chart");
    box.textContent = "";
    box.appendChild(chart);
    var sum = function (values) { return values.reduce(function (a, b) { return a + b; }, 0); };
    document.getElementById("activity-totals").textContent =
      sum(activity.queued) + " queued, " + sum(activity.corrections) + " corrected";
  }

  function deadCell(portal) {
    var box = el("span", portal.dead, portal.dead ? "state dead-count" : "");
    if (portal.dead) {
      var button = el("button", "Replay");
      button.type = "button";
      button.className = "replay";
      button.dataset.member = portal.member_id;
      button.addEventListener("click", function () { replay(portal.member_id); });
      var wrap = document.createElement("span");
      wrap.appendChild(box);
      wrap.appendChild(document.createTextNode(" "));
      wrap.appendChild(button);
      return wrap;
    }
    return box;
  }

  function detailsCell(portal) {
    var details = document.createElement("details");
    details.appendChild(el("summary", "show"));
    details.appendChild(el("div", "Events: " + portal.event_mode_explained, "muted"));
    var queue = portal.queue;
    details.appendChild(el("div", queue
      ? "Lease: " + (queue.lease_owner || "none") + (queue.lease_until ? " until " + when(queue.lease_until) : "") +
        " · due " + when(queue.due_at) + " · failures " + queue.failures
      : "Not queued", "muted"));
    if (queue && portal.event_mode === "offline") {
      details.appendChild(el("div", "Offline queue: collected next " +
        (queue.offline_due_at ? when(queue.offline_due_at) : "at the next visit") +
        (queue.offline_process_id ? " · reservation " + queue.offline_process_id + " not confirmed yet" : ""),
        "muted"));
    }
    portal.backfills.forEach(function (b) {
      details.appendChild(el("div", "Backfill " + b.entity_type + ": " + b.state + ", " + b.scanned +
        (b.total !== null ? "/" + b.total : "") + " scanned, " + b.queued + " queued", "muted"));
    });
    var calls = el("ul");
    portal.recent_calls.forEach(function (c) {
      calls.appendChild(el("li", when(c.at) + " " + c.method + " → " + (c.http_status || "no answer") +
        (c.error_code ? " " + c.error_code : "") + " (" + c.duration_ms + " ms)"));
    });
    details.appendChild(calls);
    return details;
  }

  function render(status) {
    document.getElementById("generated").textContent = "as of " + when(status.generated_at);
    var totals = document.getElementById("totals");
    totals.textContent = "";
    var t = status.totals;
    totals.appendChild(tile("portals", t.portals));
    Object.keys(t.portals_by_state).forEach(function (state) {
      totals.appendChild(tile(state, t.portals_by_state[state]));
    });
    totals.appendChild(tile("pending", t.pending));
    totals.appendChild(tile("dead", t.dead));
    totals.appendChild(tile("REST calls, 1h", t.rest_calls_last_hour));
    totals.appendChild(tile("503s, 1h", t.rest_503_last_hour));
    totals.appendChild(tile("workers alive", t.workers_alive));
    totals.appendChild(tile("leases held", t.leases_held));
    drawActivity(status.activity);

    var portals = document.querySelector("#portals tbody");
    portals.textContent = "";
    status.portals.forEach(function (p) {
      var tr = row([
        portalCell(p), stateCell(p), el("span", p.event_mode, "mode"), when(p.token_expires_at),
        p.enabled ? p.entities.join(", ") + (p.dry_run ? " (trial)" : "") : "off",
        String(p.pending), deadCell(p), when(p.last_event_at),
        p.rest_calls_last_hour + " (" + p.rest_503_last_hour + ")",
        el("span", p.last_error || "", "error"), detailsCell(p)
      ]);
      tr.dataset.member = p.member_id;
      portals.appendChild(tr);
    });

    var workers = document.querySelector("#workers tbody");
    workers.textContent = "";
    status.workers.forEach(function (w) {
      workers.appendChild(row([
        w.id, when(w.heartbeat_at), w.alive ? "yes" : "NO", String(w.items_done),
        w.leases.join(", ") || "—"
      ]));
    });
    signin.hidden = true;
    main.hidden = false;
  }

  function load() {
    return call("GET", "admin/status").then(render).catch(function () {});
  }

  function replay(memberId) {
    if (!token()) { showSignin("Sign in to replay."); return; }
    call("POST", "admin/portals/" + encodeURIComponent(memberId) + "/replay").then(function (r) {
      document.getElementById("message").textContent = "Replayed " + r.revived + " item(s) of " + r.member_id + ".";
      return load();
    }).catch(function () {});
  }

  function showSignin(message) {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
    main.hidden = true;
    signin.hidden = false;
    document.getElementById("signin-error").textContent = message || "";
  }

  function start() {
    load();
    if (timer === null) { timer = window.setInterval(load, 10000); }
  }

  signin.addEventListener("submit", function (event) {
    event.preventDefault();
    window.sessionStorage.setItem(KEY, document.getElementById("token").value);
    start();
  });
  document.getElementById("refresh").addEventListener("click", load);
  document.getElementById("signout").addEventListener("click", function () {
    window.sessionStorage.removeItem(KEY);
    showSignin("");
  });

  var initial = JSON.parse(document.getElementById("initial").textContent);
  if (initial) { render(initial); }
  else if (token()) { start(); }
  else { showSignin(""); }
})();
