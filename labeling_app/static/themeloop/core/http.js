// Requests from the page scripts to the app: the session cookie and Django's CSRF header on every call, JSON
// in and out. The one place that reads the CSRF cookie (tests/core/test_static_scripts.py keeps it so).
// core/base.html loads it before any page script, as window.ThemeLoop.http.
(function () {
  "use strict";

  // Django's CSRF cookie ("" when there is none: the server then refuses the write, as it should).
  function csrfToken() {
    return (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  }

  // fetch() with the session cookie and the CSRF header; options.headers add to (or replace) that header.
  function request(url, options) {
    options = Object.assign({}, options || {});
    options.headers = Object.assign({"X-CSRFToken": csrfToken()}, options.headers || {});
    options.credentials = "same-origin";
    return fetch(url, options);
  }

  // POST `body` as JSON; resolves to the fetch Response (pass it to json() for the answer's body).
  function postJSON(url, body, headers) {
    return request(url, {method: "POST", headers: Object.assign({"Content-Type": "application/json"}, headers || {}),
                         body: JSON.stringify(body)});
  }

  // The answer's JSON body; an error answer rejects with the API's message ({"message": ..., "details": ...}).
  function json(response) {
    return response.json().then(function (body) {
      if (!response.ok) throw new Error(body.message || ("HTTP " + response.status));
      return body;
    });
  }

  // htmx swaps only 2xx answers into the page: an htmx form whose target is marked data-show-errors shows its
  // 4xx answer too (the partial saying what is wrong with the input) instead of nothing at all.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    const target = event.detail.target;
    if (status >= 400 && status < 500 && target && target.closest("[data-show-errors]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  window.ThemeLoop = window.ThemeLoop || {};
  window.ThemeLoop.http = {csrfToken: csrfToken, request: request, postJSON: postJSON, json: json};
})();
