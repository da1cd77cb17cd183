// Shared by every page: who is signed in, and how to talk to the APIs.
//
// The home and video pages are cached at the edge and are the same for
// everyone, so the HTML cannot say who is looking. Everything personal is
// asked for here, after the page has loaded, from /api/me/ (private,
// no-store), and every other script waits on that one request.
"use strict";

window.HitRate = (function () {
  const page = document.querySelector("[data-video]");
  const slug = page ? page.dataset.video : null;

  let mePromise = null;
  let tokenExpiresAt = 0;

  function cookie(name) {
    for (const pair of document.cookie.split(";")) {
      const [key, ...rest] = pair.trim().split("=");
      if (key === name) return decodeURIComponent(rest.join("="));
    }
    return "";
  }

  // Who is signed in, and on a video page the viewer's favorite and resume
  // position for it. Asked once and shared; `refresh` asks again (for a new
  // comment-writing token). The answer also sets the csrftoken cookie.
  function me(refresh = false) {
    if (mePromise && !refresh) return mePromise;
    const url = slug ? `/api/me/?video=${encodeURIComponent(slug)}` : "/api/me/";
    mePromise = fetch(url, { headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) throw new Error(`/api/me/ answered ${response.status}`);
        return response.json();
      })
      .then((data) => {
        if (data.token) tokenExpiresAt = Date.now() + data.token_expires_in * 1000;
        return data;
      });
    mePromise.catch(() => {
      mePromise = null; // let the next caller try again
    });
    return mePromise;
  }

  // The bearer token for comment writes, renewed a minute before it expires
  // so that a page left open for hours can still post.
  async function bearerToken() {
    let data = await me();
    if (data.user && Date.now() > tokenExpiresAt - 60 * 1000) data = await me(true);
    return data.token || "";
  }

  // A JSON write authenticated by the session cookie. Django's CSRF check
  // wants the cookie's token echoed in a header a third-party page cannot set.
  function sendWithCookies(method, url, body, { keepalive = false } = {}) {
    const headers = { Accept: "application/json", "X-CSRFToken": cookie("csrftoken") };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      keepalive,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  // The message of an API error ({"error": "..."}), or a general one.
  async function errorMessage(response) {
    try {
      const data = await response.json();
      if (data.error) return data.error;
    } catch (problem) {
      // Not JSON (a proxy's error page, say): fall through.
    }
    return `Something went wrong (${response.status}). Please try again.`;
  }

  // Seconds as a player shows them: 4:05, or 1:02:03 past an hour.
  function formatTime(seconds) {
    const total = Math.max(0, Math.round(seconds));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const ss = String(total % 60).padStart(2, "0");
    if (!hours) return `${minutes}:${ss}`;
    return `${hours}:${String(minutes).padStart(2, "0")}:${ss}`;
  }

  return { slug, cookie, me, bearerToken, sendWithCookies, errorMessage, formatTime };
})();
