// Resume where the viewer stopped, and remember where they are.
//
// The position is personal, so it comes from /api/me/?video=<slug> and is
// saved to /api/me/history/ (an idempotent upsert): every 10 seconds while
// playing, on pause, and when the page goes away.
"use strict";

(function () {
  const video = document.getElementById("player");
  const note = document.getElementById("resume-note");
  const slug = HitRate.slug;
  if (!video || !slug) return;

  const SAVE_EVERY_MS = 10 * 1000;
  let lastSaved = null;
  let timer = null;

  function resume(position) {
    if (!position) return;
    const seek = () => {
      // The viewer already started on their own, or had all but finished:
      // leave the player where it is.
      if (video.currentTime > 0 || video.duration - position < 1) return;
      video.currentTime = position;
      note.textContent = `Resumed at ${HitRate.formatTime(position)}`;
      note.hidden = false;
    };
    // Seeking before the metadata is known does nothing (HTML's media
    // element needs the duration), so wait for it unless it is already here.
    if (video.readyState >= HTMLMediaElement.HAVE_METADATA) seek();
    else video.addEventListener("loadedmetadata", seek, { once: true });
  }

  function save({ keepalive = false } = {}) {
    if (!video.played.length) return; // nothing watched, nothing to remember
    // Tenths of a second, rounded down so as never to pass the end.
    const position = Math.floor(video.currentTime * 10) / 10;
    if (position === lastSaved) return;
    lastSaved = position;
    const body = { video: slug, position };
    HitRate.sendWithCookies("POST", "/api/me/history/", body, { keepalive }).catch(() => {
      lastSaved = null; // try again next time
    });
  }

  function track() {
    video.addEventListener("play", () => {
      clearInterval(timer);
      timer = setInterval(save, SAVE_EVERY_MS);
    });
    video.addEventListener("pause", () => {
      clearInterval(timer);
      save();
    });
    // pagehide, not unload: it also fires when the page enters the
    // back/forward cache. keepalive lets the request outlive the page.
    window.addEventListener("pagehide", () => save({ keepalive: true }));
  }

  HitRate.me()
    .then((data) => {
      if (!data.user) return;
      resume(data.video && data.video.position);
      track();
    })
    .catch(() => {});
})();
