// The kiosk's service worker: its pages and script come from the network when there is one (and are kept),
// from the kept copy when there is none, so a kiosk reloaded offline still takes signatures. Signatures
// themselves (POST) always go to the network: the page keeps them until intake has accepted each.
const KEPT = "undersigned-kiosk";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", event => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", event => {
  const request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith("/kiosk/")) return;
  event.respondWith(
    fetch(request).then(response => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(KEPT).then(cache => cache.put(request, copy));
      }
      return response;
    }).catch(() => caches.match(request, { ignoreVary: true }).then(kept => kept || Response.error())));
});
