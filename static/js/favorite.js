// The favorite toggle on a video page. Its state is personal, so it comes
// from /api/me/?video=<slug>; changes go to /api/me/favorites/ with the
// session cookie and the CSRF header.
"use strict";

(function () {
  const box = document.getElementById("favorite");
  const slug = HitRate.slug;
  if (!box || !slug) return;

  const button = box.querySelector(".favorite-toggle");
  const error = box.querySelector(".favorite-error");

  function show(favorite) {
    button.setAttribute("aria-pressed", String(favorite));
    button.textContent = favorite ? "★ Favorited" : "☆ Favorite";
  }

  async function toggle() {
    const wanted = button.getAttribute("aria-pressed") !== "true";
    button.disabled = true;
    error.textContent = "";
    try {
      const response = wanted
        ? await HitRate.sendWithCookies("POST", "/api/me/favorites/", { video: slug })
        : await HitRate.sendWithCookies("DELETE", `/api/me/favorites/${slug}/`);
      if (response.ok) show(wanted);
      else error.textContent = await HitRate.errorMessage(response);
    } catch (problem) {
      error.textContent = "Could not reach the server. Please try again.";
    } finally {
      button.disabled = false;
    }
  }

  HitRate.me()
    .then((data) => {
      if (!data.user) {
        box.querySelector(".favorite-signin").hidden = false;
        return;
      }
      show(Boolean(data.video && data.video.favorite));
      button.hidden = false;
      button.addEventListener("click", toggle);
    })
    .catch(() => {});
})();
