// Chunked, resumable upload of a sealed bid package (the API of docs/submission.md).
// The whole-file SHA-256 is declared first; each chunk carries its own SHA-256; after a dropped
// connection the page asks the server which ranges are missing and sends only those.
// WebCrypto hashes only a whole buffer, so the whole file is hashed incrementally with hash-wasm
// (vendor/, MIT) one slice at a time: memory stays at one slice however large the package; chunks
// (at most 4 MiB) are hashed by WebCrypto.
(function () {
  "use strict";
  const form = document.getElementById("bid-upload");
  if (!form) { return; }
  const bar = document.getElementById("bid-progress");
  const status = document.getElementById("bid-status");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const CHUNK = 4 * 1024 * 1024;
  const HASH_SLICE = 1024 * 1024;

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer)).map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  async function sha256(blob) { return hex(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer())); }
  async function sha256File(file, progress) {
    const hasher = await hashwasm.createSHA256();
    hasher.init();
    for (let off = 0; off < file.size; off += HASH_SLICE) {
      hasher.update(new Uint8Array(await file.slice(off, off + HASH_SLICE).arrayBuffer()));
      progress(Math.min(off + HASH_SLICE, file.size));
    }
    return hasher.digest("hex");
  }
  async function api(method, url, body, headers) {
    const resp = await fetch(url, {method: method, body: body, credentials: "same-origin",
      headers: Object.assign({"X-CSRFToken": csrf, "Accept": "application/json"}, headers || {})});
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {  // the reason and the rule it enforces, as the API gives them
      throw new Error((data.error || resp.status) + ": " + (data.detail || "") + (data.rule ? " (" + data.rule + ")" : ""));
    }
    return data;
  }
  async function withRetry(fn) {
    for (let attempt = 0; ; attempt++) {
      try { return await fn(); } catch (err) {
        if (attempt >= 5 || /^[a-z_]+:/.test(err.message)) { throw err; }  // a refusal: do not retry
        await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
      }
    }
  }
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const file = form.querySelector('input[type="file"]').files[0];
    const lot = form.querySelector('input[name="lot_id"]').value;
    if (!file || !lot) { return; }
    try {
      const digest = await sha256File(file, (done) => {
        status.textContent = form.dataset.hashing + " " + Math.floor(100 * done / file.size) + " %";
      });
      const json = {"Content-Type": "application/json"};
      let up = await withRetry(() => api("POST", "/api/bidding/lots/" + lot + "/uploads",
        JSON.stringify({size: file.size, sha256: digest}), json));
      if (up.state !== "already_submitted") {
        const max = Math.min(CHUNK, up.chunk_max);
        for (const gap of up.missing) {
          for (let off = gap.offset; off < gap.offset + gap.length; off += max) {
            const part = file.slice(off, Math.min(off + max, gap.offset + gap.length));
            const h = await sha256(part);
            await withRetry(() => api("PUT", "/api/bidding/uploads/" + up.id + "/chunks?offset=" + off, part,
              {"Content-Type": "application/octet-stream", "X-Chunk-SHA256": h}));
            bar.value = Math.round(100 * (off + part.size) / file.size);
          }
        }
        up = await withRetry(() => api("POST", "/api/bidding/uploads/" + up.id + "/finish"));
      }
      bar.value = 100;
      status.textContent = form.dataset.done + " " + JSON.stringify(up.receipt, null, 2);
      setTimeout(() => window.location.reload(), 1500);
    } catch (err) {
      status.textContent = form.dataset.failed + " " + err.message;
    }
  });
})();
