// The header's sign-in area, filled from /api/me/ because the page itself is
// shared by every visitor (see hitrate.js).
"use strict";

(function () {
  const area = document.getElementById("site-account");

  // Mark the section we are in; a video page belongs to "Videos".
  for (const link of document.querySelectorAll(".site-nav a")) {
    const href = link.getAttribute("href");
    const path = window.location.pathname;
    const here =
      href === "/" ? path === "/" || path.startsWith("/videos/") : path.startsWith(href);
    if (here) link.setAttribute("aria-current", "page");
  }

  if (!area) return;

  HitRate.me()
    .then((data) => {
      if (!data.user) {
        area.querySelector(".account-anonymous").hidden = false;
        return;
      }
      const form = area.querySelector(".account-user");
      form.querySelector(".account-name").textContent = data.user.username;
      // Signing out is a cookie-authenticated POST, so it carries the CSRF
      // token; the cached HTML cannot hold it, the csrftoken cookie does.
      const token = document.createElement("input");
      token.type = "hidden";
      token.name = "csrfmiddlewaretoken";
      token.value = HitRate.cookie("csrftoken");
      form.append(token);
      form.hidden = false;
    })
    .catch(() => {
      // Without /api/me/ we cannot tell; offering to sign in is harmless.
      area.querySelector(".account-anonymous").hidden = false;
    });
})();
