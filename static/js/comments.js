// The comments on a video page: read, polled and written through the
// comments API.
//
// Reads carry no credentials: the CDN route for this API forwards no
// cookies, which is what lets the edge answer conditional requests. The list
// is polled with If-None-Match (RFC 9110 13.1.2), so an unchanged list costs
// a 304 with no body. Writes authenticate with a bearer token from /api/me/,
// and edits and deletes send If-Match (RFC 9110 13.1.1): a 412 means someone
// changed the comment first (15.5.13), and nothing is overwritten.
"use strict";

(function () {
  const section = document.getElementById("comments");
  const slug = HitRate.slug;
  if (!section || !slug) return;

  const list = section.querySelector(".comment-list");
  const status = section.querySelector(".comments-status");
  const count = section.querySelector(".comments-count");
  const empty = section.querySelector(".comments-empty");
  const form = section.querySelector(".comment-form");
  const pages = section.querySelector(".comment-pages");
  const itemTemplate = document.getElementById("comment-template");
  const editorTemplate = document.getElementById("comment-editor-template");
  // The page sets the poll interval, so it can change without a new script.
  const pollMs = (Number(section.dataset.pollSeconds) || 15) * 1000;

  let page = 1;
  let shown = null; // the last list received: {page, pages, count, comments}
  let etag = null; // its validator, sent back in If-None-Match
  let latest = 0; // number of the newest load; older answers are dropped
  let viewer = null; // {username, is_staff} once /api/me/ answers
  let editing = false; // an open editor pauses polling so it is not wiped

  // Reading ---------------------------------------------------------------

  async function load() {
    // Re-rendering would wipe an open editor; closing it loads again.
    if (editing) return;
    const ticket = ++latest;
    const headers = { Accept: "application/json" };
    if (etag) headers["If-None-Match"] = etag;
    let response;
    try {
      // no-store: the script keeps the validator itself, so the browser's
      // cache must neither answer nor hide the 304 it is waiting for.
      response = await fetch(
        `/api/comments/?video=${encodeURIComponent(slug)}&page=${page}`,
        { headers, credentials: "omit", cache: "no-store" },
      );
    } catch (problem) {
      if (ticket === latest) say("Offline? Trying again soon.");
      return;
    }
    if (ticket !== latest) return;

    if (response.status === 304) {
      say(`Up to date (304) at ${clock()}`);
      return;
    }
    if (!response.ok) {
      say(await HitRate.errorMessage(response));
      // A page that no longer exists (comments were deleted): go to the first.
      if ((response.status === 400 || response.status === 404) && page > 1) {
        page = 1;
        etag = null;
        load();
      }
      return;
    }
    etag = response.headers.get("ETag");
    shown = await response.json();
    render();
    say(`Updated (${response.status}) at ${clock()}`);
  }

  function render() {
    if (!shown) return;
    count.textContent = shown.count ? `(${shown.count})` : "";
    list.replaceChildren(...shown.comments.map(item));
    empty.hidden = shown.count > 0;
    pages.hidden = shown.pages <= 1;
    pages.querySelector(".comments-page").textContent =
      `Page ${shown.page} of ${shown.pages}`;
    pages.querySelector(".comments-newer").disabled = shown.page <= 1;
    pages.querySelector(".comments-older").disabled = shown.page >= shown.pages;
  }

  function item(comment) {
    const node = itemTemplate.content.firstElementChild.cloneNode(true);
    node.dataset.id = comment.id;
    node.querySelector(".comment-author").textContent = comment.author;
    const time = node.querySelector(".comment-time");
    time.dateTime = comment.created_at;
    time.textContent = new Date(comment.created_at).toLocaleString();
    node.querySelector(".comment-edited").hidden = !comment.edited;
    // textContent, never innerHTML: a body is whatever someone typed, and a
    // <script> in it must show as text.
    node.querySelector(".comment-body").textContent = comment.body;

    const mine = Boolean(viewer) && viewer.username === comment.author;
    const edit = node.querySelector(".comment-edit");
    const remove = node.querySelector(".comment-delete");
    edit.hidden = !mine;
    remove.hidden = !(mine || (viewer && viewer.is_staff));
    edit.addEventListener("click", () => startEditing(node, comment));
    remove.addEventListener("click", () => confirmAndDelete(comment));
    return node;
  }

  function say(text) {
    status.textContent = text;
  }

  function clock() {
    return new Date().toLocaleTimeString();
  }

  // Writing ---------------------------------------------------------------

  // A bearer-authenticated request; on a 401 (the token expired or the
  // password changed) it fetches a new token once and tries again.
  async function authorized(method, url, { body, ifMatch } = {}) {
    for (const renew of [false, true]) {
      if (renew) await HitRate.me(true);
      const headers = {
        Accept: "application/json",
        Authorization: `Bearer ${await HitRate.bearerToken()}`,
      };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (ifMatch) headers["If-Match"] = ifMatch;
      const response = await fetch(url, {
        method,
        headers,
        credentials: "omit",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (response.status !== 401 || renew) return response;
    }
  }

  // The comment as it is now, with its ETag for If-Match. The list carries
  // no per-comment validators, so every edit or delete starts here.
  async function current(comment) {
    const response = await fetch(comment.url, {
      headers: { Accept: "application/json" },
      credentials: "omit",
      cache: "no-store",
    });
    if (!response.ok) throw new Error(await HitRate.errorMessage(response));
    // A CDN that compresses the body marks the ETag weak (W/), and If-Match
    // compares strongly, so it would always fail. The tag names the
    // comment's version, whatever the encoding: send it back strong.
    const etag = (response.headers.get("ETag") || "").replace(/^W\//, "");
    return { comment: await response.json(), etag };
  }

  async function post(event) {
    event.preventDefault();
    const textarea = form.querySelector("textarea");
    const error = form.querySelector(".form-error");
    const button = form.querySelector("button[type=submit]");
    const body = textarea.value.trim();
    error.textContent = "";
    if (!body) {
      error.textContent = "Write something first.";
      return;
    }

    button.disabled = true;
    try {
      const response = await authorized("POST", "/api/comments/", {
        body: { video: slug, body },
      });
      if (response.status !== 201) {
        error.textContent = await HitRate.errorMessage(response);
        return;
      }
      textarea.value = "";
      showLength();
      page = 1; // the newest comment is on the first page
      await load();
    } catch (problem) {
      error.textContent = "Could not reach the server. Please try again.";
    } finally {
      button.disabled = false;
    }
  }

  async function startEditing(node, comment) {
    if (editing) return; // one editor at a time
    let fresh;
    try {
      fresh = await current(comment);
    } catch (problem) {
      say(problem.message);
      return;
    }
    editing = true;
    const editor = editorTemplate.content.firstElementChild.cloneNode(true);
    const textarea = editor.querySelector("textarea");
    const error = editor.querySelector(".form-error");
    // Start from the comment as it is now, which may be newer than the list.
    textarea.value = fresh.comment.body;
    const body = node.querySelector(".comment-body");
    const actions = node.querySelector(".comment-actions");
    body.hidden = actions.hidden = true;
    node.append(editor);
    textarea.focus();

    function close() {
      editor.remove();
      body.hidden = actions.hidden = false;
      editing = false;
    }

    editor.querySelector(".comment-cancel").addEventListener("click", close);
    editor.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      const text = textarea.value.trim();
      if (!text) {
        error.textContent = "A comment cannot be empty; delete it instead.";
        return;
      }
      let response;
      try {
        response = await authorized("PUT", comment.url, {
          body: { body: text },
          ifMatch: fresh.etag,
        });
      } catch (problem) {
        error.textContent = "Could not reach the server. Please try again.";
        return;
      }
      if (response.status === 412) {
        close();
        await load();
        say("Someone changed this comment while you were editing: here it is now.");
        return;
      }
      if (!response.ok) {
        error.textContent = await HitRate.errorMessage(response);
        return;
      }
      close();
      await load();
    });
  }

  async function confirmAndDelete(comment) {
    if (!window.confirm("Delete this comment?")) return;
    let problem = "";
    try {
      const fresh = await current(comment);
      // Delete only what the viewer saw: if it changed since the list was
      // loaded, show the new text instead and let them decide again.
      if (fresh.comment.updated_at !== comment.updated_at) {
        problem = "This comment changed since you loaded it: here it is now.";
      } else {
        const response = await authorized("DELETE", comment.url, {
          ifMatch: fresh.etag,
        });
        if (response.status === 412) problem = "Someone changed this comment first.";
        else if (!response.ok) problem = await HitRate.errorMessage(response);
      }
    } catch (failure) {
      problem = failure.message;
    }
    await load();
    if (problem) say(problem);
  }

  function showLength() {
    const { value, maxLength } = form.querySelector("textarea");
    form.querySelector(".comment-length").textContent = `${value.length} / ${maxLength}`;
  }

  // Wiring ----------------------------------------------------------------

  section.querySelector(".comments-refresh").addEventListener("click", () => load());
  pages.querySelector(".comments-newer").addEventListener("click", () => turn(-1));
  pages.querySelector(".comments-older").addEventListener("click", () => turn(1));
  form.addEventListener("submit", post);
  form.querySelector("textarea").addEventListener("input", showLength);

  function turn(step) {
    page += step;
    etag = null; // a validator belongs to one URL, and this is another page
    load();
  }

  // Poll only while someone can see the page; catch up when they return.
  setInterval(() => {
    if (!document.hidden) load();
  }, pollMs);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) load();
  });

  HitRate.me()
    .then((data) => {
      viewer = data.user;
      if (viewer) form.hidden = false;
      else section.querySelector(".comment-signin").hidden = false;
      // Now the viewer's own comments can show their Edit and Delete buttons.
      if (!editing) render();
    })
    .catch(() => {});

  load();

  // For the browser tests and the curious (try it in the console).
  HitRate.refreshComments = load;
})();
