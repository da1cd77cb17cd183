// "Watch next": the recommendations API's list for this video. The answer is
// the same for everyone and cached at the edge for an hour, so it is asked
// for without cookies: nothing personal could be in it anyway.
"use strict";

(function () {
  const list = document.getElementById("watch-next");
  const template = document.getElementById("watch-next-template");
  const slug = HitRate.slug;
  if (!list || !template || !slug) return;

  const empty = list.parentElement.querySelector(".watch-next-empty");

  function card(video) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.querySelector("a").href = video.url;
    const image = node.querySelector("img");
    if (video.thumbnail) image.src = video.thumbnail;
    else image.replaceWith(document.createElement("span"));
    node.querySelector(".next-title").textContent = video.title;
    const duration = node.querySelector(".next-duration");
    if (video.duration !== null) duration.textContent = HitRate.formatTime(video.duration);
    return node;
  }

  fetch(`/api/recommendations/?video=${encodeURIComponent(slug)}`, {
    credentials: "omit",
    headers: { Accept: "application/json" },
  })
    .then((response) => {
      if (!response.ok) throw new Error(`recommendations answered ${response.status}`);
      return response.json();
    })
    .then((data) => {
      list.replaceChildren(...data.recommendations.map(card));
      empty.hidden = data.recommendations.length > 0;
    })
    .catch(() => {
      empty.hidden = false;
    });
})();
