// The kiosk's service worker: its pages and script come from the network when there is one (and are kept),
// from the kept copy when there is none or it does not answer within 4 s (festival Wi-Fi without internet), so
// a kiosk reloaded offline still takes signatures. Signatures themselves (POST) always go to the network: the
// page keeps them until intake has accepted each.
const KEPT = "undersigned-kiosk";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", event => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", event => {
  const request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith("/kiosk/")) return;
  const kept = () => caches.match(request, { ignoreVary: true })
    // A page in another language than the one kept is better than no page at the gate.
    .then(hit => hit || (request.mode === "navigate" ? caches.match(request, { ignoreVary: true, ignoreSearch: true }) : undefined))
    .then(hit => hit || Response.error());
  // An error from the server (intake restarting behind a proxy) is answered from the kept copy too, if any.
  const network = fetch(request, { signal: AbortSignal.timeout(4000) }).then(response => {
    if (!response.ok) return kept().then(hit => hit.type === "error" ? response : hit);
    const copy = response.clone();
    event.waitUntil(caches.open(KEPT).then(cache => cache.put(request, copy)));
    return response;
  });
  event.respondWith(network.catch(kept));
});
