import Foundation
import HTTPTypes
import Hummingbird
import Pages
import ServiceSupport
import Store

/// The kiosk, for devices at a venue (`undersigned kiosk add NAME` prints the link that sets one up):
/// - `GET /kiosk/{slug}`: the signing form as a page that keeps working offline, in the language asked for
///   (`?lang=`, else `Accept-Language`);
/// - `GET /kiosk/kiosk.js`, `/kiosk/sw.js` (its service worker, scope `/kiosk/`), `/kiosk/icon.svg` and
///   `/kiosk/{slug}/manifest.webmanifest` (installable).
/// The page holds no secret: the kiosk's token stays on the device and goes with each signature
/// (`Authorization: Kiosk TOKEN`).
struct KioskRoutes {
    let directory: PetitionDirectory
    let publicURL: String
    let rendered = RenderedPages(limit: 256)

    static let script = SigningPage.asset("kiosk.js") ?? ""
    static let worker = SigningPage.asset("kiosk-sw.js") ?? ""
    static let icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96"><rect width="96" height="96" rx="18" fill="#0b5cad"/>\
        <path d="M24 52l14 14 34-36" fill="none" stroke="#fff" stroke-width="10" stroke-linecap="round" stroke-linejoin="round"/></svg>
        """

    func add<Context: RemoteAddressRequestContext>(to router: Router<Context>) {
        router.get("/kiosk/kiosk.js") { _, _ in asset(Self.script, type: "text/javascript; charset=utf-8") }
        router.get("/kiosk/sw.js") { _, _ in asset(Self.worker, type: "text/javascript; charset=utf-8") }
        router.get("/kiosk/icon.svg") { _, _ in asset(Self.icon, type: "image/svg+xml") }
        router.get("/kiosk/:slug/manifest.webmanifest") { _, context in
            let slug = context.parameters.get("slug") ?? ""
            guard let entry = try await directory.entry(slug: slug) else { throw Problem.noSuchPetition(slug) }
            let manifest: [String: Any] = [
                "name": entry.petition.title, "short_name": "Kiosk", "start_url": "/kiosk/\(entry.petition.slug)", "scope": "/kiosk/",
                "display": "standalone", "background_color": "#ffffff", "theme_color": "#0b5cad",
                "icons": [["src": "/kiosk/icon.svg", "sizes": "any", "type": "image/svg+xml"]],
            ]
            return asset(String(decoding: try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]), as: UTF8.self),
                         type: "application/manifest+json")
        }
        router.get("/kiosk/:slug") { request, context in
            try await page(slug: context.parameters.get("slug") ?? "", request: request)
        }
        router.middlewares.add(MethodNotAllowedMiddleware([
            "/kiosk/kiosk.js": [.get], "/kiosk/sw.js": [.get], "/kiosk/icon.svg": [.get], "/kiosk/:slug/manifest.webmanifest": [.get],
            "/kiosk/:slug": [.get],
        ]))
    }

    private func page(slug: String, request: Request) async throws -> Response {
        guard let entry = try await directory.entry(slug: slug) else { throw Problem.noSuchPetition(slug) }
        let catalogue = Catalogues.shared.negotiate(
            requested: request.uri.queryParameters["lang"].map(String.init), acceptLanguage: request.headers[.acceptLanguage])
        let petition = entry.page(language: catalogue.language)
        // The kiosk takes signatures whatever the petition's phase: it keeps them until intake accepts them
        // (a kiosk set up before the opening sends its first ones at the opening).
        let key = [entry.petition.slug, String(petition.text.id), String(petition.rehearsal), catalogue.language].joined(separator: "|")
        let page = rendered.page(key) { RenderedPage(html: SigningPage(catalogue: catalogue, publicURL: publicURL).kiosk(petition)) }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .eTag: page.etag, .vary: "Accept-Language",
                // Fresh whenever there is a network (the service worker keeps the last copy for when there is none).
                .cacheControl: "no-cache", .referrerPolicy: "same-origin",
                .contentSecurityPolicy: page.contentSecurityPolicy.replacingOccurrences(of: "script-src 'none'", with: "script-src 'self'")
                    + "; worker-src 'self'; manifest-src 'self'",
            ],
            body: .init(byteBuffer: page.html))
    }

    private func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
