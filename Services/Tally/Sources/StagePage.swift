import Models
import Foundation

/// The page for the big screen at a stage call: self-contained (no CDN, no fonts to fetch), it follows
/// the live stream, animates the count upward, shows the signing rate, the top countries and the next
/// milestone, celebrates a milestone, reconnects by itself and falls back to polling.
enum StagePage {
    static func html(slug: String, title: String) -> String {
        template
            .replacingOccurrences(of: "{{SLUG}}", with: escape(slug))
            .replacingOccurrences(of: "{{TITLE}}", with: escape(title))
    }

    static func escape(_ text: String) -> String { text.htmlEscaped }

    /// The text of the page's one inline script (its hash goes into the Content-Security-Policy).
    static func script(in html: String) -> String {
        guard let start = html.range(of: "<script>"), let end = html.range(of: "</script>", range: start.upperBound..<html.endIndex) else { return "" }
        return String(html[start.upperBound..<end.lowerBound])
    }

    static let template = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{TITLE}} · live</title>
    <style>
      :root { --bg: #0b1020; --fg: #f4f6fb; --dim: #8a93b2; --accent: #36d399; --bar: #2a3358; }
      * { box-sizing: border-box; }
      body { margin: 0; min-height: 100vh; background: radial-gradient(ellipse at top, #17214a, var(--bg) 60%);
             color: var(--fg); font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
             display: flex; flex-direction: column; align-items: center; padding: 4vh 5vw; }
      h1 { font-size: clamp(1.5rem, 4vw, 3.5rem); margin: 0 0 2vh; text-align: center; font-weight: 700; }
      #count { font-size: clamp(4rem, 18vw, 16rem); font-weight: 800; font-variant-numeric: tabular-nums;
               letter-spacing: -0.02em; line-height: 1; text-shadow: 0 0 40px rgba(54, 211, 153, .35); }
      #label { color: var(--dim); font-size: clamp(1rem, 2.5vw, 2rem); margin-bottom: 4vh; }
      #rate { color: var(--accent); font-weight: 700; }
      .panel { width: min(1100px, 100%); display: grid; grid-template-columns: 1fr 1fr; gap: 4vw; }
      @media (max-width: 800px) { .panel { grid-template-columns: 1fr; } }
      h2 { font-size: clamp(1rem, 2vw, 1.6rem); color: var(--dim); font-weight: 600; margin: 0 0 1.5vh; }
      .country { display: grid; grid-template-columns: 5.5em 1fr 6em; align-items: center; gap: .8em;
                 font-size: clamp(.9rem, 1.8vw, 1.4rem); margin: .5em 0; }
      .track { background: var(--bar); border-radius: 999px; height: .9em; overflow: hidden; }
      .fill { background: var(--accent); height: 100%; border-radius: 999px; transition: width .6s ease; }
      .num { text-align: right; font-variant-numeric: tabular-nums; }
      #milestone .track { height: 1.6em; }
      #milestone-text { margin-top: .8em; font-size: clamp(1rem, 2vw, 1.5rem); }
      #banner { position: fixed; inset: 0; display: none; align-items: center; justify-content: center;
                background: rgba(11, 16, 32, .85); font-size: clamp(2rem, 8vw, 7rem); font-weight: 800;
                text-align: center; color: var(--accent); animation: pop .6s ease; }
      @keyframes pop { from { transform: scale(.7); opacity: 0; } to { transform: scale(1); opacity: 1; } }
      #status { position: fixed; right: 1.2em; bottom: 1em; color: var(--dim); font-size: .9rem; }
      #status::before { content: "●"; margin-right: .4em; color: var(--dot, #f87272); }
    </style>
    </head>
    <body>
    <h1>{{TITLE}}</h1>
    <div id="count">0</div>
    <div id="label">signatures · <span id="rate">0</span> in the last minute</div>
    <div class="panel">
      <section><h2>Top countries</h2><div id="countries"></div></section>
      <section id="milestone"><h2>Next milestone</h2>
        <div class="track"><div class="fill" id="milestone-fill" style="width:0%"></div></div>
        <div id="milestone-text"></div></section>
    </div>
    <div id="banner"></div>
    <div id="status">connecting</div>
    <script>
    (() => {
      const slug = "{{SLUG}}";
      // ?mode=poll: for networks whose proxies break streams (and for tests that need the page to settle).
      const pollOnly = new URLSearchParams(location.search).get("mode") === "poll";
      const format = new Intl.NumberFormat();
      let shown = 0, target = 0, reached = null, failures = 0, polling = null, source = null;

      const flag = code => code.length === 2
        ? String.fromCodePoint(...[...code.toUpperCase()].map(c => 0x1F1E6 + c.charCodeAt(0) - 65)) : "";

      function animate() {
        if (shown !== target) {
          const step = Math.max(1, Math.ceil(Math.abs(target - shown) / 12));
          shown = shown < target ? Math.min(target, shown + step) : target;
          document.getElementById("count").textContent = format.format(shown);
        }
        requestAnimationFrame(animate);
      }

      function celebrate(threshold) {
        const banner = document.getElementById("banner");
        banner.textContent = "🎉 " + format.format(threshold) + " signatures!";
        banner.style.display = "flex";
        setTimeout(() => { banner.style.display = "none"; }, 8000);
      }

      function render(view) {
        target = view.total;
        document.getElementById("rate").textContent = format.format(view.rate_per_minute || 0);
        const countries = Object.entries(view.by_country || {}).sort((a, b) => b[1] - a[1]).slice(0, 8);
        const top = countries.length ? countries[0][1] : 1;
        document.getElementById("countries").innerHTML = countries.map(([code, n]) =>
          `<div class="country"><span>${flag(code)} ${code}</span><div class="track"><div class="fill" style="width:${(100 * n / top).toFixed(1)}%"></div></div><span class="num">${format.format(n)}</span></div>`
        ).join("");
        const next = view.next_milestone;
        const previous = (view.milestones_reached || []).filter(m => m <= view.total).pop() || 0;
        document.getElementById("milestone-fill").style.width = next ? (100 * (view.total - previous) / (next - previous)).toFixed(1) + "%" : "100%";
        document.getElementById("milestone-text").textContent = next
          ? format.format(next - view.total) + " to go to " + format.format(next) : "every milestone reached";
        const now = view.milestones_reached || [];
        if (reached !== null && now.length > reached.length) celebrate(now[now.length - 1]);
        reached = now;
      }

      function status(text, ok) {
        const element = document.getElementById("status");
        element.textContent = text;
        element.style.setProperty("--dot", ok ? "#36d399" : "#f87272");
      }

      function poll() {
        if (polling) return;
        status("polling", true);
        const tick = () => fetch(`/v1/petitions/${slug}/count`, { cache: "no-store" })
          .then(r => r.ok ? r.json() : Promise.reject(r.status)).then(render).catch(() => status("offline, retrying", false));
        tick();
        polling = setInterval(tick, 2000);
        if (!pollOnly) setTimeout(() => { clearInterval(polling); polling = null; connect(); }, 60000);  // try live again later
      }

      function connect() {
        if (!window.EventSource || pollOnly) return poll();
        source = new EventSource(`/v1/petitions/${slug}/live`);
        source.addEventListener("count", event => { failures = 0; status("live", true); render(JSON.parse(event.data)); });
        source.onopen = () => status("live", true);
        source.onerror = () => {
          status("reconnecting", false);
          if (++failures >= 3) { source.close(); failures = 0; poll(); }
        };
      }

      // Start at the current count (no count-up from zero when the screen is switched on).
      fetch(`/v1/petitions/${slug}/count`).then(r => r.json()).then(view => {
        shown = view.total;
        document.getElementById("count").textContent = format.format(shown);
        render(view);
      }).catch(() => {});
      requestAnimationFrame(animate);
      connect();
    })();
    </script>
    </body>
    </html>
    """#
}
