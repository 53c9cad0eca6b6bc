// The mail links' pages: POST the link's token (and the new password) to the JSON API.
(function () {
  "use strict";
  var form = document.getElementById("link-form");
  var result = document.getElementById("result");
  var token = new URLSearchParams(window.location.search).get("token") || "";

  function explain(data, status) {
    var error = (data && data.error) || {};
    var fields = (error.details && error.details.json) || {};
    var why = Object.keys(fields).map(function (k) { return fields[k].join(" "); }).join(" ");
    return (error.message || "Request failed (" + status + ").") + (why ? " " + why : "");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { token: token };
    if (form.dataset.kind === "reset") {
      body.new_password = form.elements.new_password.value;
    }
    fetch(form.dataset.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (resp) {
      if (resp.ok) {
        form.hidden = true;
        result.textContent = form.dataset.kind === "reset"
          ? "Your password is changed. Sign in with the new one."
          : "Your email address is confirmed. Thank you.";
        return;
      }
      return resp.json().catch(function () { return null; }).then(function (data) {
        result.textContent = explain(data, resp.status);
      });
    }).catch(function () {
      result.textContent = "Alpine could not be reached; try again.";
    });
  });
})();
