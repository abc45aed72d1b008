/* The settings page's script. Every call carries the page token in the Authorization header
   (no cookies: the page lives in a third-party iframe). Names are user data: they are only ever
   put into the page with textContent, never as HTML. */
(function () {
  "use strict";

  var base = meta("namecase-base");
  /* Only a portal administrator's page may change anything; the server enforces it, the page
     just does not offer what would be refused. */
  var readOnly = meta("namecase-admin") !== "yes";
  var T = JSON.parse(document.getElementById("namecase-text").textContent);
  var lang = document.documentElement.lang || "en";
  var form = document.getElementById("settings");
  var saving = Promise.resolve();
  var lastSaved = readForm();
  var nextBeforeId = null;
  var polling = null;
  var settlePolls = 0; /* after the scan ends, follow the fixes a little longer */

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.content : "";
  }

  function token() { return meta("namecase-token"); }

  function send(method, path, body) {
    return fetch(base + "/app/api/" + path, {
      method: method,
      credentials: "omit",
      cache: "no-store",
      headers: {
        "Authorization": "Bearer " + token(),
        "Accept": "application/json",
        "Content-Type": "application/json"
      },
      body: body === undefined ? undefined : JSON.stringify(body)
    });
  }

  /* A page open longer than its token lives renews it with the user's Bitrix24 token, when the
     BX24 library is there; otherwise the user is asked to reopen the app. */
  function renewToken() {
    return new Promise(function (resolve) {
      var BX24 = window.BX24;
      if (!BX24 || !BX24.refreshAuth) { resolve(false); return; }
      BX24.refreshAuth(function (auth) {
        if (!auth || !auth.access_token) { resolve(false); return; }
        send("POST", "token", { auth_id: auth.access_token }).then(function (response) {
          return response.ok ? response.json() : null;
        }).then(function (renewed) {
          if (renewed) {
            document.querySelector('meta[name="namecase-token"]').content = renewed.token;
          }
          resolve(Boolean(renewed));
        }).catch(function () { resolve(false); });
      });
    });
  }

  function api(method, path, body) {
    return send(method, path, body).then(function (response) {
      if (response.status !== 401) { return response; }
      return renewToken().then(function (renewed) {
        return renewed ? send(method, path, body) : response;
      });
    }).then(function (response) {
      if (response.status === 401) {
        showBanner(T.expired);
        throw new Error("page token expired");
      }
      return response.json().then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function showBanner(text) {
    var banner = document.getElementById("banner");
    banner.textContent = text;
    banner.hidden = false;
    fit();
  }

  function setStatus(id, text, kind) {
    var element = document.getElementById(id);
    element.textContent = text;
    element.className = "status" + (kind ? " " + kind : "");
  }

  /* --- the BX24 library: optional (the page works the same when it cannot load) ----------- */

  function withBX24(callback) {
    if (window.BX24) { callback(window.BX24); return; }
    var script = document.getElementById("bx24");
    if (script) {
      script.addEventListener("load", function () { if (window.BX24) { callback(window.BX24); } });
    }
  }

  function fit() {
    if (window.BX24 && window.BX24.fitWindow) { window.BX24.fitWindow(); }
  }

  withBX24(function (BX24) {
    BX24.init(function () {
      document.documentElement.classList.add("in-bitrix24");
      fit();
    });
  });

  /* --- settings: saved on every change, one save at a time, in order ----------------------- */

  function checked(name) { return form.elements[name].checked; }

  function values(name) {
    return Array.prototype.filter.call(
      form.querySelectorAll('input[name="' + name + '"]'), function (box) { return box.checked; }
    ).map(function (box) { return box.value; });
  }

  function readForm() {
    return {
      enabled: checked("enabled"),
      entities: values("entities"),
      fields: values("fields"),
      dry_run: checked("dry_run"),
      particles: checked("particles"),
      keep_latin_mixed_case: checked("keep_latin_mixed_case"),
      fix_lookalikes: checked("fix_lookalikes"),
      history_for_everyone: checked("history_for_everyone")
    };
  }

  function applyForm(settings) {
    ["enabled", "dry_run", "particles", "keep_latin_mixed_case", "fix_lookalikes",
     "history_for_everyone"].forEach(function (name) {
      form.elements[name].checked = settings[name];
    });
    ["entities", "fields"].forEach(function (name) {
      form.querySelectorAll('input[name="' + name + '"]').forEach(function (box) {
        box.checked = settings[name].indexOf(box.value) >= 0;
      });
    });
  }

  function save() {
    var wanted = readForm();
    if (!wanted.entities.length || !wanted.fields.length) {
      setStatus("save-status", wanted.entities.length ? T.need_one_field : T.need_one_entity,
                "error");
      applyForm(lastSaved);
      return Promise.resolve();
    }
    setStatus("save-status", T.saving, "");
    return api("PUT", "settings", wanted).then(function (result) {
      if (result.ok) {
        lastSaved = result.data;
        setStatus("save-status", T.saved, "ok");
      } else {
        applyForm(lastSaved);
        setStatus("save-status", refusal(result) || T.save_failed, "error");
      }
    }).catch(function () { applyForm(lastSaved); });
  }

  /* A 403 explains itself (e.g. only an administrator may change settings). */
  function refusal(result) {
    return result.status === 403 && result.data && typeof result.data.detail === "string"
      ? result.data.detail : "";
  }

  form.addEventListener("change", function () {
    if (readOnly) { applyForm(lastSaved); return; }
    saving = saving.then(save);
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); });

  /* --- history and undo -------------------------------------------------------------------- */

  var rows = document.getElementById("history-rows");
  var historyVisible = document.getElementById("history-card").dataset.visible === "yes";
  var undoSelected = document.getElementById("undo-selected");
  var selectAll = document.getElementById("select-all");

  function cell(row, content, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    if (content instanceof Node) { td.appendChild(content); } else { td.textContent = content; }
    row.appendChild(td);
    return td;
  }

  function span(text, className) {
    var element = document.createElement("span");
    element.textContent = text;
    if (className) { element.className = className; }
    return element;
  }

  /* The record's card in Bitrix24: BX24.openPath opens it in the portal's slider, over this
     page (api-reference/bx24-js-sdk/additional-functions/bx24-open-path.md); without the library
     the link opens the card in the whole window. */
  function recordLink(change) {
    var label = T[change.entity_type] + " #" + change.entity_id;
    var path = "/crm/" + change.entity_type + "/details/" + change.entity_id + "/";
    var portal = meta("namecase-portal");
    if (!/^(contact|lead)$/.test(change.entity_type) || !/^https?:\/\//.test(portal)) {
      return span(label);
    }
    var link = document.createElement("a");
    link.className = "record";
    link.textContent = label;
    link.href = portal.replace(/\/$/, "") + path;
    link.target = "_top";
    link.title = T.open_record;
    link.dataset.path = path;
    link.addEventListener("click", function (event) {
      if (window.BX24 && window.BX24.openPath) {
        event.preventDefault();
        window.BX24.openPath(path, function () {});
      }
    });
    return link;
  }

  function changeRow(change) {
    var row = document.createElement("tr");
    row.dataset.id = String(change.id);
    row.className = change.undone_at ? "undone" : (change.dry_run ? "trial" : "");
    var box = document.createElement("input");
    box.type = "checkbox";
    box.className = "pick";
    box.value = String(change.id);
    box.disabled = readOnly || !change.can_undo;
    box.setAttribute("aria-label", T.undo + " " + change.after);
    cell(row, box);
    cell(row, new Date(change.created_at).toLocaleString(lang), "when");
    cell(row, recordLink(change));
    cell(row, T["field_" + change.field] || change.field);
    var diff = document.createElement("span");
    diff.appendChild(span(change.before || "", "before"));
    diff.appendChild(span(" → ", "arrow"));
    diff.appendChild(span(change.after || "", "after"));
    cell(row, diff, "change");
    cell(row, change.reasons.map(function (r) { return r.text; }).join(" "), "why");
    var action;
    if (change.can_undo && !readOnly) {
      action = document.createElement("button");
      action.type = "button";
      action.className = "undo";
      action.textContent = T.undo;
      action.addEventListener("click", function () { undo([change.id]); });
    } else {
      action = span(change.undone_at ? T.undone : (change.dry_run ? T.trial : ""), "muted");
    }
    cell(row, action);
    return row;
  }

  function loadHistory(more) {
    if (!historyVisible) { return Promise.resolve(); }  /* administrators only, see the page */
    var query = "changes?limit=20" + (more && nextBeforeId ? "&before_id=" + nextBeforeId : "");
    return api("GET", query).then(function (result) {
      if (!result.ok) { return; }
      if (!more) { rows.textContent = ""; }
      result.data.changes.forEach(function (change) { rows.appendChild(changeRow(change)); });
      nextBeforeId = result.data.next_before_id;
      document.getElementById("history-more").hidden = !nextBeforeId;
      document.getElementById("history-empty").hidden = rows.children.length > 0;
      document.getElementById("history").hidden = rows.children.length === 0;
      document.getElementById("history-toolbar").hidden = rows.children.length === 0;
      selectAll.checked = false;
      refreshSelection();
      fit();
    }).catch(function () {});
  }

  function picked() {
    return Array.prototype.filter.call(rows.querySelectorAll("input.pick"), function (box) {
      return box.checked && !box.disabled;
    }).map(function (box) { return Number(box.value); });
  }

  function refreshSelection() {
    undoSelected.disabled = picked().length === 0;
  }

  function undo(ids) {
    undoSelected.disabled = true;
    setStatus("undo-status", "…", "");
    return api("POST", "undo", { ids: ids.slice(0, 50) }).then(function (result) {
      if (!result.ok) {
        setStatus("undo-status", refusal(result) || T.undo_failed, "error");
        return;
      }
      var skipped = result.data.outcomes.length - result.data.undone;
      var text = T.undo_done.replace("{n}", result.data.undone);
      if (skipped) { text += " " + T.undo_skipped.replace("{n}", skipped); }
      setStatus("undo-status", text, result.data.undone ? "ok" : "error");
      return loadHistory(false);
    }).catch(function () { setStatus("undo-status", T.error, "error"); });
  }

  rows.addEventListener("change", refreshSelection);
  selectAll.addEventListener("change", function () {
    rows.querySelectorAll("input.pick").forEach(function (box) {
      if (!box.disabled) { box.checked = selectAll.checked; }
    });
    refreshSelection();
  });
  undoSelected.addEventListener("click", function () { undo(picked()); });
  document.getElementById("history-more").addEventListener("click", function () {
    loadHistory(true);
  });

  /* --- fix existing records: start, then poll the progress while it runs ------------------- */

  var startButton = document.getElementById("backfill-start");

  function showProgress(progress) {
    document.getElementById("backfill-bar").value = progress.percent;
    document.getElementById("backfill-percent").textContent = progress.percent + "%";
    var text = document.getElementById("backfill-text");
    text.dataset.state = progress.state;
    if (progress.state === "idle") {
      text.textContent = T.backfill_idle;
    } else {
      var scanned = progress.scanned + (progress.total !== null ? " " + T.of + " " + progress.total : "");
      text.textContent = (progress.state === "running" ? T.backfill_running : T.backfill_done) +
        " " + T.scanned + ": " + scanned + " · " + T.queued + ": " + progress.queued +
        " · " + T.fixed + ": " + progress.fixed + " · " + T.pending + ": " + progress.pending;
    }
    startButton.disabled = readOnly || progress.state === "running";
  }

  function poll() {
    api("GET", "backfill").then(function (result) {
      if (!result.ok) { return; }
      showProgress(result.data);
      var settling = result.data.pending > 0 && settlePolls++ < 60;
      if (result.data.state === "running" || settling) {
        polling = window.setTimeout(poll, 1000);
      } else {
        polling = null;
        loadHistory(false);
        loadState();
      }
    }).catch(function () { polling = null; });
  }

  function startPolling() {
    settlePolls = 0;
    if (polling === null) { polling = window.setTimeout(poll, 500); }
  }

  startButton.addEventListener("click", function () {
    startButton.disabled = true;
    api("POST", "backfill").then(function (result) {
      if (result.ok) {
        showProgress(result.data);
        startPolling();
      } else {
        document.getElementById("backfill-text").textContent =
          (result.data && result.data.detail) || T.error;
        startButton.disabled = readOnly;
      }
    }).catch(function () { startButton.disabled = readOnly; });
  });

  /* --- start ------------------------------------------------------------------------------- */

  function showSummary(summary) {
    document.getElementById("corrected-7d").textContent = summary.corrected_7d;
    document.getElementById("corrected-30d").textContent = summary.corrected_30d;
    document.getElementById("checked").textContent = summary.checked;
    var trial = document.getElementById("trial-30d");
    trial.textContent = T.trial_30d.replace("{n}", summary.trial_30d);
    trial.hidden = !summary.trial_30d;
  }

  function loadState() {
    return api("GET", "state").then(function (result) {
      if (!result.ok) { return null; }
      showSummary(result.data.summary);
      return result.data;
    }).catch(function () { return null; });
  }

  loadState().then(function (state) {
    if (!state) { return; }
    showProgress(state.backfill);
    if (state.backfill.state === "running") { startPolling(); }
  });
  loadHistory(false);
})();
