import Foundation
import HTTPTypes
import Hummingbird
import Models
import Pages
import ServiceSupport
import Store

/// The page a person signs on:
/// - `GET /s/{code}` (the short link a QR code carries) and `GET /p/{slug}`: the petition's text and the
///   form, in the signer's language (`?lang=`, else `Accept-Language`), with `?source=` (or
///   `utm_source`/`utm_campaign`) carried into the signature. Rendered from memory (the petition is cached
///   by `PetitionDirectory`, the page by its inputs), gzip-compressed once, with an `ETag`, a public
///   `Cache-Control` with `stale-while-revalidate`, no cookie, and a CSP that allows its own inline script
///   and style only.
/// - `POST /p/{slug}` (the form without JavaScript): the thank-you page, or the form again with each
///   field's error next to it (422), always HTML.
/// A closed or unknown petition gets a page that says so (410, 404).
struct SigningPageRoutes {
    let directory: PetitionDirectory
    let signing: SignatureRoutes
    let abuse: AbuseGuard
    let publicURL: String
    /// Rendered pages by everything they depend on.
    let rendered = RenderedPages()

    func add<Context: RemoteAddressRequestContext>(to router: Router<Context>) {
        router.get("/s/:code") { request, context in
            let code = context.parameters.get("code") ?? ""
            return try await page(try await directory.entry(code: code), request: request)
        }
        router.get("/p/:slug") { request, context in
            try await page(try await directory.entry(slug: context.parameters.get("slug") ?? ""), request: request)
        }
        router.post("/p/:slug") { request, context in
            try await post(request, context: context)
        }
        router.middlewares.add(MethodNotAllowedMiddleware(["/s/:code": [.get], "/p/:slug": [.get, .post]]))
    }

    // MARK: - The page

    private func page(_ entry: PetitionEntry?, request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let catalogue = Catalogues.shared.negotiate(requested: query["lang"].map(String.init), acceptLanguage: request.headers[.acceptLanguage])
        let view = SigningPage(catalogue: catalogue, publicURL: publicURL)
        if let refused = notice(entry, view: view, cache: "public, max-age=30") { return refused }
        guard let entry else { return html(.notFound, view.notice(closed: nil), cache: "public, max-age=30") }
        let source = Self.source(query)
        let region = LanguageRange.region(from: request.headers[.acceptLanguage])
        let petition = entry.page(language: catalogue.language)
        let key = [entry.petition.slug, String(petition.text.id), petition.code, String(petition.requiresVerification), String(petition.rehearsal), catalogue.language, source, region ?? ""]
            .joined(separator: "|")
        let page = rendered.page(key) { RenderedPage(html: view.form(petition, source: source, region: region)) }
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .eTag: page.etag, .vary: "Accept-Language, Accept-Encoding",
            // A CDN may serve it for a minute, and a stale copy for ten while it fetches the next.
            .cacheControl: "public, max-age=60, stale-while-revalidate=600",
            .contentSecurityPolicy: page.contentSecurityPolicy, .referrerPolicy: "same-origin",
        ]
        if request.headers[.ifNoneMatch] == page.etag {
            return Response(status: .notModified, headers: headers)
        }
        var body = page.html
        if RenderedPage.acceptsGzip(request.headers[.acceptEncoding]) {
            body = page.gzip
            headers[.contentEncoding] = "gzip"
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// The source a page's link names: `?source=` when it is one a signer may give, else
    /// `utm:<utm_source>[:<utm_campaign>]`, else `web`. A link's garbage is ignored, not refused.
    static func source(_ query: Parameters) -> String {
        if let given = query["source"], let source = try? SignatureRequest.publicSource(String(given)) { return source }
        if let utm = query["utm_source"] {
            let campaign = query["utm_campaign"].map { ":" + $0 } ?? ""
            if let source = try? SignatureRequest.publicSource(String(("utm:" + utm + campaign).prefix(Signature.maximumSourceLength))) {
                return source
            }
        }
        return "web"
    }

    // MARK: - The form, without JavaScript

    private func post(_ request: Request, context: some RemoteAddressRequestContext) async throws -> Response {
        var request = request
        let slug = context.parameters.get("slug") ?? ""
        let query = request.uri.queryParameters
        let acceptLanguage = request.headers[.acceptLanguage]
        var catalogue = Catalogues.shared.negotiate(requested: query["lang"].map(String.init), acceptLanguage: acceptLanguage)
        guard Self.sameOrigin(request) else {
            let view = SigningPage(catalogue: catalogue, publicURL: publicURL)
            return html(.forbidden, view.notice(refused: true), cache: "no-store")
        }
        let found = try await directory.entry(slug: slug)
        if let refused = notice(found, view: SigningPage(catalogue: catalogue, publicURL: publicURL), cache: "no-store") { return refused }
        guard let entry = found else { return html(.notFound, SigningPage(catalogue: catalogue, publicURL: publicURL).notice(closed: nil), cache: "no-store") }
        let client = abuse.client(peer: context.remoteAddress, forwardedFor: request.headers[.xForwardedFor])
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: SignatureRoutes.maximumBody)
        } catch {
            // Still a page (no form of ours comes near 16 KiB).
            let view = SigningPage(catalogue: catalogue, publicURL: publicURL)
            return html(.contentTooLarge, view.notice(refused: true), cache: "no-store")
        }
        let fields = SignatureRequest(form: Array(buffer: body))
        if let language = fields.language { catalogue = Catalogues.shared.negotiate(requested: language, acceptLanguage: acceptLanguage) }
        let view = SigningPage(catalogue: catalogue, publicURL: publicURL)
        let petition = entry.page(language: catalogue.language, version: fields.textVersion.flatMap { Int64($0) })
        let typed = SigningPage.Entry(
            name: fields.name ?? "", email: fields.email ?? "", country: fields.country ?? "", postalCode: fields.postalCode ?? "",
            contactOptIn: fields.contactOptIn)
        let source = (try? SignatureRequest.publicSource(fields.source)) ?? "web"
        func form(_ status: HTTPResponse.Status, errors: [String: String] = [:], notice: String? = nil, retryAfter: Int? = nil) -> Response {
            // What the signer typed is in it: never cached anywhere.
            var response = html(status, view.form(petition, source: source, region: nil, entry: typed, errors: errors, notice: notice), cache: "no-store")
            if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
            return response
        }
        let errors = Self.fieldErrors(fields)
        if !errors.isEmpty { return form(.unprocessableContent, errors: errors) }
        do {
            try abuse.admit(client: client, petition: entry.petition.slug)
            let signature = try fields.signature(petition: entry.petition.signingSlug, versions: entry.texts)
            try abuse.admit(email: signature.email)
            try await signing.take(signature, client: client)
            return html(.ok, view.thanks(petition, reference: signature.submissionID.uuidString.lowercased()), cache: "no-store")
        } catch let problem as ValidationProblem {
            let key = Self.errorKey(problem.field, empty: false)
            return key == "error_refused"
                ? form(.unprocessableContent, notice: key) : form(.unprocessableContent, errors: [problem.field: key])
        } catch let problem as Problem {
            switch problem.statusCode {
            case 429: return form(.tooManyRequests, notice: "error_rate_limited", retryAfter: problem.retryAfter)
            case 503: return form(.serviceUnavailable, notice: "error_unavailable", retryAfter: problem.retryAfter)
            default: return form(problem.status, notice: "error_refused")
            }
        }
    }

    /// Every field's problem at once (field → catalogue key), checked as `Signature.validated` checks them.
    static func fieldErrors(_ fields: SignatureRequest) -> [String: String] {
        var errors: [String: String] = [:]
        func check(_ field: String, _ value: String?, _ validate: (String) throws -> Void) {
            guard let value, !value.trimmingWhitespace().isEmpty else {
                if field != "postal_code" { errors[field] = errorKey(field, empty: true) }
                return
            }
            do { try validate(value) } catch { errors[field] = errorKey(field, empty: false) }
        }
        check("name", fields.name) { _ = try Signature.validateName($0) }
        check("email", fields.email) { _ = try CanonicalEmail($0) }
        check("country", fields.country) { _ = try Country($0) }
        check("postal_code", fields.postalCode) { _ = try Signature.validatePostalCode($0) }
        return errors
    }

    static func errorKey(_ field: String, empty: Bool) -> String {
        switch field {
        case "name", "email", "country", "postal_code": "error_\(field)_\(empty ? "required" : "invalid")"
        default: "error_refused"
        }
    }

    /// A browser names the page a form was sent from in `Origin` (our pages ask for it with
    /// `Referrer-Policy: same-origin`; `null` is what a page hiding its origin sends); a form on another site
    /// must not sign for its visitors. No `Origin` at all (an old browser, a script) is let through: it
    /// proves nothing either way, and the same request can be made without a browser.
    static func sameOrigin(_ request: Request, allowing allowed: Set<String> = []) -> Bool {
        guard let origin = request.headers[.origin]?.lowercased() else { return true }
        if allowed.contains(origin) { return true }
        guard let host = request.head.authority else { return false }
        return origin.hasSuffix("://" + host.lowercased())
    }

    /// The page instead of the form when the petition takes no signature now: unknown (404), not open yet
    /// (403, saying when), paused (503 with `Retry-After`, never cached: it must go when signing resumes),
    /// closed (410). Nil when it takes signatures.
    private func notice(_ entry: PetitionEntry?, view: SigningPage, cache: String) -> Response? {
        guard let entry else { return html(.notFound, view.notice(closed: nil), cache: cache) }
        let petition = entry.page(language: view.catalogue.language)
        switch entry.petition.signingPhase() {
        case .open: return nil
        case .closed: return html(.gone, view.notice(closed: petition), cache: cache)
        case .scheduled:
            return html(.forbidden, view.notice(opensAt: entry.petition.opensAt ?? Date(), petition: petition), cache: "public, max-age=5")
        case .paused:
            var response = html(.serviceUnavailable, view.notice(paused: petition), cache: "no-store")
            response.headers[.retryAfter] = "30"
            return response
        }
    }

    private func html(_ status: HTTPResponse.Status, _ text: String, cache: String) -> Response {
        Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: cache, .referrerPolicy: "same-origin",
                .contentSecurityPolicy: RenderedPage.policy(for: text),
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension PetitionEntry {
    /// What the page shows a reader of `language`: the version `version` when it is one of this petition's
    /// (a form re-rendered shows what was signed), else the current text for that language.
    func page(language: String, version: Int64? = nil) -> SigningPage.Petition {
        let text = version.flatMap { id in texts.versions.first { $0.id == id } } ?? self.text(for: language)
            ?? PetitionText(id: 0, language: petition.language, title: petition.title, body: petition.body, consent: PetitionText.defaultConsent)
        // A rehearsal's signatures are never confirmed by mail (they are a test, and count nowhere real).
        return SigningPage.Petition(
            slug: petition.slug, code: petition.code, text: text, requiresVerification: petition.requiresVerification && petition.rehearsal == nil,
            rehearsal: petition.rehearsal != nil)
    }
}
