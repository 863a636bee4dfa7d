// The account page's script: sign in, device sessions, password, sign out.
// Every request goes through authmesh.js with the cookie transport; the
// page never sees a token.
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }

  var SESSIONS = "{ me { email } sessions { id current deviceType deviceName ipAddress createdAt lastUsedAt } }";

  function show(signedIn) {
    $("loading").hidden = true;
    $("signin").hidden = signedIn;
    $("account").hidden = !signedIn;
  }

  function signedOut() {
    show(false);
    $("sessions").tBodies[0].replaceChildren();
  }

  authmesh.onRefreshFailed = signedOut;

  // call runs a GraphQL operation; it resolves to the data, or to null
  // when the session is gone (the page then shows the sign-in form), and
  // rejects with the error message to show.
  function call(query, variables) {
    return authmesh.graphql(query, variables).then(function (body) {
      if (body.status === 401) {
        signedOut();
        return null;
      }
      if (body.errors && body.errors.length) throw new Error(body.errors[0].message);
      if (body.status !== 200) throw new Error(body.error || "request failed (" + body.status + ")");
      return body.data;
    });
  }

  function when(iso) {
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function render(data) {
    $("who").textContent = data.me.email;
    var body = $("sessions").tBodies[0];
    var rows = data.sessions.map(function (s) {
      var tr = document.createElement("tr");
      tr.dataset.sessionId = s.id;
      var device = cell(tr, s.deviceType || "unknown");
      if (s.current) {
        tr.className = "current";
        tr.dataset.current = "true";
        var mark = document.createElement("strong");
        mark.textContent = " (this device)";
        device.appendChild(mark);
      }
      cell(tr, s.deviceName || "unknown");
      cell(tr, s.ipAddress);
      cell(tr, when(s.createdAt));
      cell(tr, when(s.lastUsedAt));
      var btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = "Sign out";
      btn.addEventListener("click", function () { signOutSession(s); });
      cell(tr, "").appendChild(btn);
      return tr;
    });
    body.replaceChildren.apply(body, rows);
    show(true);
  }

  function load() {
    return call(SESSIONS).then(function (data) {
      if (data) render(data);
    }, function (err) {
      show(true);
      $("sessions-error").textContent = err.message;
    });
  }

  function signOutSession(s) {
    if (s.current) return signOut();
    $("sessions-error").textContent = "";
    return call("mutation($id: ID!) { revokeSession(id: $id) }", { id: s.id }).then(function (data) {
      if (data) {
        $("sessions-status").textContent = "Signed out one device.";
        return load();
      }
    }, function (err) { $("sessions-error").textContent = err.message; });
  }

  function signOutOthers() {
    $("sessions-error").textContent = "";
    var others = Array.prototype.filter.call($("sessions").tBodies[0].rows, function (tr) {
      return tr.dataset.current !== "true";
    }).map(function (tr) { return tr.dataset.sessionId; });
    var chain = Promise.resolve(true);
    others.forEach(function (id) {
      chain = chain.then(function (ok) {
        return ok && call("mutation($id: ID!) { revokeSession(id: $id) }", { id: id });
      });
    });
    return chain.then(function (ok) {
      if (ok) {
        $("sessions-status").textContent = "Signed out all other devices.";
        return load();
      }
    }, function (err) { $("sessions-error").textContent = err.message; });
  }

  function signOut() {
    return authmesh.logout().then(signedOut, function () {
      $("sessions-error").textContent = "Could not reach the server to sign out; try again.";
    });
  }

  $("signin-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    $("signin-error").textContent = "";
    var email = $("email").value.trim(), password = $("password").value;
    if (!email || !password) {
      $("signin-error").textContent = "Enter your email and password.";
      return;
    }
    call("mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { userId } }", { e: email, p: password })
      .then(function (data) {
        if (data) {
          $("password").value = "";
          return load();
        }
      }, function (err) { $("signin-error").textContent = err.message; });
  });

  $("password-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    $("password-error").textContent = "";
    $("password-status").textContent = "";
    call("mutation($o: String!, $n: String!) { changePassword(input: {oldPassword: $o, newPassword: $n}) }",
      { o: $("current-password").value, n: $("new-password").value })
      .then(function (data) {
        if (data) {
          $("current-password").value = $("new-password").value = "";
          $("password-status").textContent = "Password changed. Your other devices were signed out.";
          return load();
        }
      }, function (err) { $("password-error").textContent = err.message; });
  });

  $("signout").addEventListener("click", signOut);
  $("signout-others").addEventListener("click", signOutOthers);
  load();
})();
