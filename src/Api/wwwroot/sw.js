// The phone pages' service worker: the pages and their scripts (the shell) are kept in a cache, so /worker and /report
// open without a connection. Always the network first (a new version arrives as soon as there is one), the cache when
// there is none. The API is never cached: what is shown offline is the page, and actions wait in the outbox (IndexedDB).
const SHELL = "griddispatch-shell-v1";
const FILES = ["/worker", "/report", "/phone.css", "/common.js", "/outbox.js", "/worker.js", "/report.js", "/lib/signalr.min.js", "/icon.svg",
  "/worker.webmanifest", "/report.webmanifest"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("griddispatch-shell-") && k !== SHELL).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !FILES.includes(url.pathname)) return;
  event.respondWith(fetch(event.request)
    .then((response) => {
      if (response.ok) { const copy = response.clone(); caches.open(SHELL).then((cache) => cache.put(event.request, copy)); }
      return response;
    })
    .catch(() => caches.match(event.request, { ignoreSearch: true })));
});
