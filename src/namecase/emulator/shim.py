"""A minimal BX24 JS library served at ``{base}/api/v1/`` (instead of ``//api.bitrix24.com``).

Enough for the app's installer and main pages to run in a browser test: ``BX24.init``,
``installFinish`` (tells the emulator the install is finished, protocol §1), ``getAuth``,
``getDomain``, ``isAdmin``, ``callMethod``, ``fitWindow``, ``resizeWindow`` and ``openPath``
(the portal page shows the opened path in its "slider", ``#bx24-slider``). The portal is
found from the frame's ``DOMAIN`` query parameter (the frame URL always carries it), or from a
``data-domain`` attribute on the script tag; the shim calls the emulator on that portal's host.
"""

from __future__ import annotations

BX24_SHIM = r"""(function () {
  "use strict";
  var script = document.currentScript;
  var source = script ? new URL(script.src, window.location.href) : null;
  var query = new URLSearchParams(window.location.search);
  var domain = (script && script.dataset && script.dataset.domain) || query.get("DOMAIN") || "";
  /* The portal is its own host on the emulator's port, and the app page's CSP allows the
     portal's origin: talk to the emulator there. */
  var base = !source ? "" : !domain ? source.origin :
    source.protocol + "//" + domain + (source.port ? ":" + source.port : "");
  var auth = null;

  function control(path, options) {
    var sep = path.indexOf("?") < 0 ? "?" : "&";
    return fetch(base + "/_emulator/" + path + sep + "domain=" + encodeURIComponent(domain),
                 options || {}).then(function (r) { return r.json(); });
  }

  function loadAuth() {
    return control("frame-auth").then(function (a) { auth = a; return a; });
  }

  window.BX24 = {
    init: function (callback) {
      loadAuth().then(function () { if (callback) { callback(); } });
    },
    installFinish: function () {
      return control("install/finish", { method: "POST" });
    },
    getAuth: function () {
      if (!auth) { return false; }
      return { access_token: auth.access_token, refresh_token: auth.refresh_token,
               expires_in: auth.expires_in, domain: auth.domain, member_id: auth.member_id };
    },
    refreshAuth: function (callback) {
      loadAuth().then(function () { if (callback) { callback(window.BX24.getAuth()); } });
    },
    getDomain: function () { return domain; },
    isAdmin: function () { return true; },
    fitWindow: function (callback) { if (callback) { callback(); } },
    resizeWindow: function (width, height, callback) { if (callback) { callback(); } },
    /* The paths the documented method accepts (bx24-js-sdk/additional-functions/
       bx24-open-path.md); the portal page around the frame opens them in its slider. */
    openPath: function (path, callback) {
      var allowed = new RegExp("^/(crm/(deal|lead|contact|company|type)|marketplace|" +
                               "company/personal/user/[0-9]+|workgroups/group/[0-9]+)/");
      if (typeof path !== "string" || !allowed.test(path)) {
        if (callback) { callback({ result: "error", errorCode: "PATH_NOT_AVAILABLE" }); }
        return;
      }
      window.parent.postMessage({ bx24: "openPath", path: path }, "*");
    },
    callMethod: function (method, params, callback) {
      var body = Object.assign({}, params || {}, { auth: auth ? auth.access_token : "" });
      return fetch(auth.client_endpoint + method, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
      }).then(function (r) { return r.json(); }).then(function (answer) {
        var result = {
          answer: answer,
          data: function () { return answer.result; },
          error: function () {
            return answer.error ? answer.error + ": " + answer.error_description : undefined;
          }
        };
        if (callback) { callback(result); }
        return result;
      });
    }
  };
})();
"""
