// authmesh.js: cookie sessions for a web app, served by the authmesh auth
// service. No dependencies, no build step. Load it from the auth service:
//
//   <script src="https://auth.example.com/authmesh.js"></script>
//
// authmesh.fetch(input, init) is fetch for the app's own origin and the
// auth service: it sends the cookies and the header X-Authmesh-Transport:
// cookie (the CSRF proof), and on a 401 with a Bearer challenge it
// refreshes the session once through the refresh cookie and retries.
// Concurrent 401s share one refresh; tabs take turns through a Web Lock and
// a tab whose refresh another tab already did just retries, so one tab's
// refresh never logs out another. When refreshing fails it calls
// authmesh.onRefreshFailed(response), e.g. to send the user to sign in.
// Tokens stay in HttpOnly cookies: this script never sees one.
(function () {
  "use strict";
  var HEADER = "X-Authmesh-Transport";
  var STAMP = "authmesh:refreshed-at";
  var script = document.currentScript;
  var authURL = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var nativeFetch = window.fetch.bind(window);
  var inflight = null;

  function origins() {
    return [location.origin, authURL].concat(authmesh.origins || []);
  }

  function ours(url) {
    try {
      return origins().indexOf(new URL(url, location.href).origin) >= 0;
    } catch (e) {
      return false;
    }
  }

  // cookieInit returns init for a request of the cookie transport.
  function cookieInit(input, init) {
    var out = {};
    var k;
    for (k in init || {}) out[k] = init[k];
    var h = new Headers(input instanceof Request ? input.headers : undefined);
    if (init && init.headers) {
      new Headers(init.headers).forEach(function (v, name) { h.set(name, v); });
    }
    h.set(HEADER, "cookie");
    out.headers = h;
    out.credentials = "include";
    return out;
  }

  function challenged(res) {
    return res.status === 401 && /^Bearer\b/i.test(res.headers.get("WWW-Authenticate") || "");
  }

  function lastRefresh() {
    try {
      return Number(localStorage.getItem(STAMP)) || 0;
    } catch (e) {
      return 0;
    }
  }

  function stamp() {
    try {
      localStorage.setItem(STAMP, String(Date.now()));
    } catch (e) { /* storage disabled: the Web Lock still serializes */ }
  }

  function locked(fn) {
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request("authmesh-refresh", fn);
    }
    return Promise.resolve().then(fn);
  }

  // refresh renews the cookies once for every caller waiting on it. A
  // request sent before another tab's refresh completed needs no refresh
  // of its own: retrying it sends the new cookie.
  function refresh(sentAt) {
    if (!inflight) {
      inflight = locked(function () {
        if (sentAt && lastRefresh() >= sentAt) return true;
        return nativeFetch(authURL + "/auth/refresh", {
          method: "POST", credentials: "include", headers: { "X-Authmesh-Transport": "cookie" }
        }).then(function (res) {
          if (res.ok) stamp();
          return res.ok;
        });
      }).catch(function () {
        return false;
      }).then(function (ok) {
        inflight = null;
        return ok;
      });
    }
    return inflight;
  }

  function failed(res) {
    if (typeof authmesh.onRefreshFailed === "function") authmesh.onRefreshFailed(res);
    return res;
  }

  function wrappedFetch(input, init) {
    var url = input instanceof Request ? input.url : String(input);
    if (!ours(url)) return nativeFetch(input, init);
    var again = input instanceof Request ? input.clone() : input;
    var sentAt = Date.now();
    return nativeFetch(input, cookieInit(input, init)).then(function (res) {
      if (!challenged(res)) return res;
      return refresh(sentAt).then(function (ok) {
        if (!ok) return failed(res);
        return nativeFetch(again, cookieInit(again, init)).then(function (res2) {
          return challenged(res2) ? failed(res2) : res2;
        });
      });
    });
  }

  var authmesh = {
    // authURL is the auth service's origin, where this script came from.
    authURL: authURL,
    // origins lists further origins to send the cookies to (the page's
    // own and the auth service's always are).
    origins: [],
    // onRefreshFailed(response) is called when the session cannot be
    // renewed: signed out, revoked, expired.
    onRefreshFailed: null,
    fetch: wrappedFetch,
    // refresh renews the cookies now; it resolves to true on success.
    refresh: function () { return refresh(0); },
    // install replaces window.fetch with authmesh.fetch.
    install: function () { window.fetch = wrappedFetch; },
    // graphql posts a GraphQL operation to the auth service and resolves
    // to its JSON answer (with the HTTP status as .status).
    graphql: function (query, variables) {
      return wrappedFetch(authURL + "/graphql", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ query: query, variables: variables || {} })
      }).then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          body.status = res.status;
          return body;
        });
      });
    },
    // login signs in with the cookie transport; it resolves to the
    // GraphQL answer (errors[0].message says why it failed).
    login: function (email, password) {
      return authmesh.graphql(
        "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { userId email sessionId expiresAt } }",
        { e: email, p: password });
    },
    // logout ends this browser's session and clears its cookies.
    logout: function () {
      return nativeFetch(authURL + "/auth/logout", {
        method: "POST", credentials: "include", headers: { "X-Authmesh-Transport": "cookie" }
      });
    }
  };
  window.authmesh = authmesh;
})();
