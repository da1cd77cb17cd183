// The admin's video picker: sends a file from the browser straight to S3 in
// presigned parts, then puts the finished upload's signed reference in the
// hidden input, which is all the form posts.
//
// The app opens the multipart upload, signs a PUT URL for each part and
// checks the assembled object (videos/upload_views.py). The bytes never pass
// through it: API Gateway stops request bodies at 10 MB.
"use strict";

(function () {
  // Parts in flight at once: enough to fill an uplink, few enough that a
  // failing connection does not strand many half-sent parts.
  const PARALLEL_PARTS = 3;
  // Parts signed per call. A URL works for an hour, which covers this many
  // 8 MiB parts at three at a time on all but the slowest lines.
  const SIGN_BATCH = 30;
  // A part is sent, then retried this many times, waiting the delay, then
  // twice it, then four times it.
  const RETRIES = 3;
  // The widget's data-retry-delay-ms replaces it (the browser tests wait a
  // few milliseconds instead).
  const RETRY_DELAY_MS = 1000;
  // MB as Django's filesizeformat counts them, like the server's messages.
  const MB = 1024 * 1024;
  // Some systems know no type for a video file; the server refuses "".
  const TYPES_BY_EXTENSION = { ".mp4": "video/mp4", ".webm": "video/webm" };

  // A failure explained in words meant for the staff member, shown as is;
  // status is the site's HTTP status when it was the site that refused.
  class UploadProblem extends Error {
    constructor(message, status = 0) {
      super(message);
      this.status = status;
    }
  }

  class Cancelled extends Error {}

  function setUp(root) {
    const form = root.closest("form");
    const reference = root.querySelector("input[type=hidden]");
    const picker = root.querySelector(".direct-upload-file");
    const progress = root.querySelector(".direct-upload-progress");
    const bar = progress.querySelector("progress");
    const status = root.querySelector(".direct-upload-status");
    const error = root.querySelector(".direct-upload-error");
    const resumeButton = root.querySelector(".direct-upload-resume");
    const cancelButton = root.querySelector(".direct-upload-cancel");
    const uploadsUrl = root.dataset.uploadsUrl;

    // The upload in hand: {id, file, partSize, partCount, sent, requests,
    // cancelled}; sent maps a part number to the bytes of it S3 has taken.
    let upload = null;
    // idle, starting, running, paused, completing or done; see show().
    let phase = "idle";
    // While true the form must not be saved: it has no finished upload yet.
    let holding = false;

    // Talking to the site -------------------------------------------------

    async function callSite(method, path, body) {
      const headers = {
        Accept: "application/json",
        "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value,
      };
      const options = { method, headers, credentials: "same-origin" };
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(body);
      }
      let response;
      try {
        response = await fetch(uploadsUrl + path, options);
      } catch (problem) {
        throw new UploadProblem("Could not reach the site; check the connection.");
      }
      const data = await response.json().catch(() => null);
      if (!response.ok || data === null) {
        // A signed-out session gets the login page, not JSON.
        const message =
          (data && data.error) ||
          `The site answered ${response.status} without JSON; ` +
            "reload the page and sign in again if it asks.";
        throw new UploadProblem(message, response.status);
      }
      return { status: response.status, data };
    }

    function uploadPath(current, suffix) {
      return `${current.id}/${suffix}`;
    }

    // Sending the parts ---------------------------------------------------

    function partNumbers(current) {
      return Array.from({ length: current.partCount }, (_, i) => i + 1);
    }

    function partBytes(current, number) {
      const start = (number - 1) * current.partSize;
      return current.file.slice(start, start + current.partSize);
    }

    // Signs parts in batches, ahead of the workers that need them.
    function makeSigner(current, numbers) {
      const urls = new Map(); // part number -> Promise of its URL
      return function urlOf(number) {
        if (!urls.has(number)) {
          const from = numbers.indexOf(number);
          const batch = numbers
            .slice(from, from + SIGN_BATCH)
            .filter((n) => !urls.has(n));
          const signed = signParts(current, batch);
          for (const n of batch) {
            urls.set(n, signed.then((signedUrls) => signedUrls[n]));
          }
        }
        return urls.get(number);
      };
    }

    async function signParts(current, numbers) {
      const path = uploadPath(current, "parts/");
      const answer = await callSite("POST", path, { parts: numbers });
      return answer.data.urls;
    }

    // PUTs one part. XMLHttpRequest, not fetch, for upload progress. No
    // Content-Type: the signature does not cover it, and the blob has none.
    function putPart(current, number, url) {
      return new Promise((resolve, reject) => {
        const bytes = partBytes(current, number);
        const request = new XMLHttpRequest();
        let failure = null;
        current.requests.add(request);
        request.upload.onprogress = (event) => {
          current.sent.set(number, event.loaded);
          drawProgress(current);
        };
        request.onerror = () => {
          failure = new UploadProblem(
            "The connection to S3 failed: offline, or the bucket's CORS " +
              "rules do not allow this site.",
          );
        };
        request.onabort = () => {
          failure = new Cancelled();
        };
        // Settled here, the last event, so that nothing of this request
        // runs after the caller has moved on.
        request.onloadend = () => {
          current.requests.delete(request);
          const ok = !failure && request.status >= 200 && request.status < 300;
          current.sent.set(number, ok ? bytes.size : 0);
          drawProgress(current);
          if (ok) resolve();
          else reject(failure || new UploadProblem(describeS3Refusal(request)));
        };
        request.open("PUT", url);
        request.send(bytes);
      });
    }

    // S3 explains a refusal in an XML body: <Error><Code>…<Message>….
    function describeS3Refusal(request) {
      const xml = new DOMParser().parseFromString(request.responseText, "text/xml");
      const code = xml.querySelector("Error > Code");
      const message = xml.querySelector("Error > Message");
      if (!code) return `S3 answered ${request.status}.`;
      const detail = message ? `: ${asSentence(message.textContent)}` : ".";
      return `S3 answered ${request.status} (${code.textContent})${detail}`;
    }

    function retryDelay(retry) {
      const delay = Number(root.dataset.retryDelayMs) || RETRY_DELAY_MS;
      return delay * 2 ** (retry - 1);
    }

    function wait(ms) {
      return new Promise((resolve) => setTimeout(resolve, ms));
    }

    async function sendPart(current, number, urlOf) {
      let url = await urlOf(number);
      for (let retry = 1; ; retry++) {
        try {
          return await putPart(current, number, url);
        } catch (problem) {
          if (current.cancelled || problem instanceof Cancelled) {
            throw new Cancelled();
          }
          if (retry > RETRIES) {
            throw new UploadProblem(
              `Part ${number} of ${current.partCount} failed after ${retry} ` +
                `tries. ${problem.message}`,
            );
          }
        }
        await wait(retryDelay(retry));
        if (current.cancelled) throw new Cancelled();
        // A fresh URL, in case the last one expired while the line was down.
        url = (await signParts(current, [number]))[number];
      }
    }

    // Sends the parts, PARALLEL_PARTS at a time. After a failure no new part
    // starts, and the ones in flight are let finish: they count on resume.
    async function sendParts(current, numbers) {
      const queue = numbers.slice();
      const urlOf = makeSigner(current, numbers);
      let failure = null;

      async function work() {
        while (queue.length && !failure && !current.cancelled) {
          const number = queue.shift();
          try {
            await sendPart(current, number, urlOf);
          } catch (problem) {
            failure = failure || problem;
          }
        }
      }

      const workers = Math.min(PARALLEL_PARTS, queue.length);
      await Promise.all(Array.from({ length: workers }, work));
      if (current.cancelled) throw new Cancelled();
      if (failure) throw failure;
    }

    // The steps of an upload ------------------------------------------------

    async function begin(file) {
      clearError();
      reference.value = "";
      show("starting");
      say("Starting…");
      let answer;
      try {
        answer = await callSite("POST", "", {
          filename: file.name,
          size: file.size,
          content_type: file.type || typeFromExtension(file.name),
        });
      } catch (problem) {
        return giveUp(problem);
      }
      upload = {
        id: answer.data.id,
        file,
        partSize: answer.data.part_size,
        partCount: answer.data.part_count,
        sent: new Map(),
        requests: new Set(),
        cancelled: false,
      };
      await sendAndComplete(upload, partNumbers(upload));
    }

    async function sendAndComplete(current, numbers) {
      show("running");
      drawProgress(current);
      try {
        await sendParts(current, numbers);
      } catch (problem) {
        if (!(problem instanceof Cancelled)) pause(problem);
        return;
      }
      await complete(current);
    }

    async function complete(current) {
      show("completing");
      say("Processing…");
      let answer;
      try {
        answer = await callSite("POST", uploadPath(current, "complete/"));
      } catch (problem) {
        // A refusal (not a video, wrong size) has deleted the upload.
        if (problem.status === 400) return giveUp(problem);
        return pause(problem);
      }
      finished(answer.data);
    }

    function finished(data) {
      reference.value = data.reference;
      bar.value = bar.max;
      show("done");
      if (data.state === "ready") {
        say(`Ready: stored as ${data.stored_as}`);
      } else {
        say("Processing… the video becomes ready by itself; it can be saved now.");
      }
    }

    // Asks S3, through the site, which parts it holds and sends the rest.
    async function resume() {
      const current = upload;
      clearError();
      show("running");
      say("Checking which parts S3 holds…");
      let data;
      try {
        data = (await callSite("GET", uploadPath(current, ""))).data;
      } catch (problem) {
        if (!current.cancelled) pause(problem);
        return;
      }
      // Cancel may have been pressed while the site answered.
      if (current.cancelled) return;
      if (data.reference) return finished(data);
      if (data.state !== "uploading") {
        const why = data.failure || `This upload is ${data.state}.`;
        return pause(new UploadProblem(why));
      }
      const received = new Set(data.received);
      current.sent = new Map(
        data.received.map((n) => [n, partBytes(current, n).size]),
      );
      const missing = partNumbers(current).filter((n) => !received.has(n));
      if (missing.length) {
        await sendAndComplete(current, missing);
      } else {
        await complete(current);
      }
    }

    async function cancel() {
      const current = upload;
      current.cancelled = true;
      for (const request of current.requests) request.abort();
      cancelButton.disabled = true;
      resumeButton.disabled = true;
      say("Cancelling…");
      try {
        await callSite("POST", uploadPath(current, "abort/"));
      } catch (problem) {
        current.cancelled = false;
        return pause(problem);
      } finally {
        cancelButton.disabled = false;
        resumeButton.disabled = false;
      }
      reset();
      say("Upload cancelled.");
    }

    // What the staff member sees --------------------------------------------

    // Every phase but idle and done holds the form: there is no finished
    // upload to save. Cancel needs an upload to abort, and completing has
    // gone too far to abort.
    function show(next) {
      phase = next;
      const busy = phase !== "idle" && phase !== "done";
      picker.disabled = busy;
      progress.hidden = phase === "idle";
      resumeButton.hidden = phase !== "paused";
      cancelButton.hidden = phase !== "running" && phase !== "paused";
      holdForm(busy);
    }

    function holdForm(hold) {
      holding = hold;
      for (const button of form.querySelectorAll("[type=submit]")) {
        button.disabled = hold;
      }
    }

    function pause(problem) {
      show("paused");
      say("Paused.");
      showError(problem.message);
    }

    // Nothing of the upload is left on the server: start again from a file.
    function giveUp(problem) {
      reset();
      say("");
      showError(problem.message);
    }

    function reset() {
      upload = null;
      reference.value = "";
      picker.value = "";
      bar.value = 0;
      clearError();
      show("idle");
    }

    function drawProgress(current) {
      if (current !== upload || current.cancelled) return;
      let sent = 0;
      for (const bytes of current.sent.values()) sent += bytes;
      const size = current.file.size;
      bar.max = size;
      bar.value = sent;
      if (phase !== "running") return;
      const percent = Math.floor((100 * sent) / size);
      say(`${megabytes(sent)} of ${megabytes(size)} MB, ${percent} %`);
    }

    function say(text) {
      status.textContent = text;
    }

    function showError(message) {
      error.textContent = message;
      error.hidden = false;
    }

    function clearError() {
      error.textContent = "";
      error.hidden = true;
    }

    picker.addEventListener("change", () => {
      if (picker.files.length) begin(picker.files[0]);
    });
    resumeButton.addEventListener("click", resume);
    cancelButton.addEventListener("click", cancel);
    form.addEventListener("submit", (event) => {
      if (!holding) return;
      event.preventDefault();
      showError("Wait for the upload to finish, or cancel it, before saving.");
    });
    window.addEventListener("beforeunload", (event) => {
      if (holding) event.preventDefault();
    });
    // A form shown again after an error keeps the upload it was sent with.
    if (reference.value) say("Uploaded; save to keep it.");
  }

  function typeFromExtension(name) {
    const dot = name.lastIndexOf(".");
    const extension = dot === -1 ? "" : name.slice(dot).toLowerCase();
    return TYPES_BY_EXTENSION[extension] || "";
  }

  function asSentence(text) {
    const trimmed = text.trim();
    return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
  }

  function megabytes(bytes) {
    return (bytes / MB).toFixed(1);
  }

  function setUpAll() {
    document.querySelectorAll(".direct-upload").forEach(setUp);
  }

  // The admin puts form media in the head, before the widget is parsed.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();
