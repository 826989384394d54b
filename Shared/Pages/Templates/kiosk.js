// The kiosk: takes signatures with or without a network. Each is kept on the device (IndexedDB) with a
// submission id made here, shown as "N waiting to send", and sent in order, with back-off, until intake
// accepts it; an accepted one is deleted from the device at once. After each signer the form is blank again
// (no navigation, so no history entry; autofill off). The kiosk's token comes once, in the link's fragment
// (`#kiosk=TOKEN`, never sent to a server), and stays in this device's storage.
(() => {
  "use strict";
  const form = document.getElementById("kiosk-form");
  if (!form || !window.indexedDB || !window.fetch || !window.crypto) return;
  const data = form.dataset, element = id => document.getElementById(id);
  const fields = ["name", "email", "country", "postal_code"];
  const valid = {
    name: v => v.length <= 200 && !/[\u0000-\u001f\u007f-\u009f]/.test(v),
    email: v => /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(v) && v.length <= 254,
    country: v => /^[A-Z]{2}$/.test(v),
    postal_code: v => /^[A-Za-z0-9 -]{0,16}$/.test(v),
  };
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, name) => values[name]);

  const given = location.hash.match(/kiosk=([A-Za-z0-9_-]{8,128})/);
  if (given) {
    localStorage.setItem("undersigned-kiosk", given[1]);
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = () => localStorage.getItem("undersigned-kiosk");
  element("setup").hidden = !!token();

  // The page and its script are kept for offline reloads (the service worker answers from them).
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/kiosk/sw.js", { scope: "/kiosk/" }).catch(() => {});
  if (window.caches) caches.open("undersigned-kiosk").then(cache => cache.addAll([location.pathname + location.search, "/kiosk/kiosk.js"])).catch(() => {});

  // The queue: one object store, in the order signers signed.
  const database = new Promise((resolve, reject) => {
    const opening = indexedDB.open("undersigned-kiosk", 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
  const queue = (mode, work) => database.then(db => new Promise((resolve, reject) => {
    const transaction = db.transaction("queue", mode), request = work(transaction.objectStore("queue"));
    transaction.oncomplete = () => resolve(request.result);
    transaction.onerror = transaction.onabort = () => reject(transaction.error || request.error);
  }));

  const uuid = () => {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const h = [...b].map(x => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  // Whether a rehearsal is on, as last heard (the page, then the petition every 15 s while there is a
  // network): each signature carries it, and intake refuses one that no longer matches (409) rather than
  // count a soundcheck's signature as real, or a real one in the rehearsal.
  let rehearsing = data.rehearsal === "on";
  const petitionURL = data.api.replace(/\/signatures$/, "");
  async function hearRehearsal() {
    try {
      const response = await fetch(petitionURL, { cache: "no-store", signal: AbortSignal.timeout(10000) });
      if (response.ok) rehearsing = (await response.json()).rehearsal === true;
    } catch (offline) { return; }
    element("rehearsal").hidden = !rehearsing;
  }

  let refused = false, rejected = 0, shownText = "";
  const number = new Intl.NumberFormat(document.documentElement.lang);
  async function show() {
    const waiting = await queue("readonly", store => store.count());
    const line = waiting ? fill(data.waiting, { count: number.format(waiting) }) : data.allSent;
    const text = (refused ? `${data.refused} ` : navigator.onLine || !waiting ? "" : `${data.offline}. `) + line
      + (rejected ? ` (${rejected} ✕)` : "");
    // Written only when it changed (it is not a live region: 200 sends are not 200 announcements).
    if (text !== shownText) element("queue").textContent = shownText = text;
    document.body.dataset.waiting = String(waiting);
  }

  // Sending: the oldest first; 202 deletes it; a network failure, a timeout, 5xx, 429, 403 (not open yet) or
  // 410 (closed: ops may extend) waits and tries again; 401 (kiosk revoked) is said on the page and tried
  // every 30 s; a signature the server will never take (400, 404, 413, 415, 422, or 403 for a blocked e-mail
  // domain) is dropped and counted on the page (the form checked it, so this is rare). 409: the rehearsal
  // changed since it was taken: a rehearsal's signature is dropped (it was a test), a real one waits for the
  // rehearsal to end. One loop at a time; a signature added while it runs is sent by it.
  let sending = false, again = false, backoff = 1, wake = null;
  const rest = after => new Promise(resolve => {
    const seconds = Math.min(30, Math.max(1, parseInt(after, 10) || backoff * (0.75 + Math.random() / 2)));
    backoff = Math.min(30, backoff * 2);
    const timer = setTimeout(resolve, seconds * 1000);
    wake = () => { clearTimeout(timer); resolve(); };
  });
  window.addEventListener("online", () => { backoff = 1; if (wake) wake(); send(); show(); });
  window.addEventListener("offline", show);

  async function send() {
    if (sending) { again = true; return; }
    sending = true;
    try {
      do {
        again = false;
        for (;;) {
          const first = await queue("readonly", store => store.getAll(null, 1));
          await show();
          if (!first.length || !token()) break;
          const item = first[0];
          let response = null;
          try {
            response = await fetch(data.api, {
              method: "POST", cache: "no-store", body: item.body, signal: AbortSignal.timeout(20000),
              headers: { "content-type": "application/json", accept: "application/json", authorization: `Kiosk ${token()}` },
            });
          } catch (offline) {
            await rest(null);
            continue;
          }
          const problem = response.status === 202 ? {} : await response.json().catch(() => ({}));
          if (response.status === 202) {
            await queue("readwrite", store => store.delete(item.seq));
            backoff = 1; refused = false;
          } else if ([400, 404, 413, 415, 422].includes(response.status) || (response.status === 403 && problem.field === "email")) {
            await queue("readwrite", store => store.delete(item.seq));
            rejected += 1;
          } else if (response.status === 409 && problem.field === "rehearsal") {
            await hearRehearsal();
            if (JSON.parse(item.body).rehearsal) await queue("readwrite", store => store.delete(item.seq));
            else await rest(30);
          } else if (response.status === 401) {
            refused = true;
            await show();
            await rest(30);
          } else {
            await rest(response.headers.get("retry-after"));
          }
        }
      } while (again);
    } finally {
      sending = false;
      wake = null;
    }
  }

  function check(name) {
    const input = form.elements[name], value = input.value.trim(), messages = element(name + "-error").dataset;
    const message = !value ? (messages.required || "") : valid[name](value) ? "" : messages.invalid;
    element(name + "-error").textContent = message;
    if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    return !message;
  }

  const status = element("status");
  let thanked = null, busy = false;
  const clearThanks = () => { clearTimeout(thanked); status.textContent = ""; };
  for (const name of fields) {
    const input = form.elements[name];
    input.addEventListener("input", () => { clearThanks(); if (input.hasAttribute("aria-invalid")) check(name); });
    input.addEventListener("blur", () => { if (input.value.trim() || input.hasAttribute("aria-invalid")) check(name); });
  }

  form.addEventListener("submit", async event => {
    event.preventDefault();
    if (busy) return;
    const bad = fields.filter(name => !check(name));
    if (bad.length) { form.elements[bad[0]].focus(); return; }
    busy = true;
    form.querySelector("button").disabled = true;
    const value = name => form.elements[name].value.trim();
    const body = JSON.stringify({
      submission_id: uuid(), name: value("name"), email: value("email"), country: value("country"),
      postal_code: value("postal_code") || null, contact_opt_in: form.elements.contact_opt_in.checked,
      language: data.lang, text_version: parseInt(data.version, 10) || null, rehearsal: rehearsing,
    });
    try {
      await queue("readwrite", store => store.add({ body }));
    } catch (failure) {
      // Not kept (the device's storage is full or blocked): the signer is told, and what they typed stays.
      status.textContent = data.unsaved;
      busy = false;
      form.querySelector("button").disabled = false;
      return;
    }
    // The next signer sees nothing of this one: the form blank, the thanks gone after a few seconds.
    form.reset();
    for (const name of fields) { element(name + "-error").textContent = ""; form.elements[name].removeAttribute("aria-invalid"); }
    clearThanks();
    status.textContent = data.thanks;
    thanked = setTimeout(clearThanks, 6000);
    busy = false;
    form.querySelector("button").disabled = false;
    element("sign-heading").focus();
    show();
    send();
  });

  show();
  send();
  // A kiosk left alone still sends what it holds (a dropped Wi-Fi may come back without an "online" event).
  setInterval(() => { hearRehearsal(); send(); }, 15000);
})();
