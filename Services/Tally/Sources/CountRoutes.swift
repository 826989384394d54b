import Foundation
import HTTPTypes
import Hummingbird
import Models
import Pages
import Postgres
import ServiceLifecycle
import ServiceSupport
import Store

/// The count API and the live views:
/// - `GET /v1/petitions/{slug}/count`: total, by country, signing rate, milestones; `ETag` and a short
///   `Cache-Control`, so a CDN or thousands of screens can poll it cheaply (`If-None-Match` → 304), the view
///   shared for 250 ms (`CountViewCache`).
/// - `GET /v1/petitions`: open and closed petitions with their totals.
/// - `GET /v1/petitions/{slug}/live`: Server-Sent Events, at most four a second, a heartbeat every 15 s,
///   `Last-Event-ID` resume (the id is the total).
/// - `GET /live/{slug}`: the stage page for a big screen.
/// - `GET /v1/petitions/{slug}/deliveries` (admin token): the petition's deliveries to its targets.
struct CountRoutes {
    let pool: PostgresPool
    let live: LiveCounts
    let admin: AdminToken
    /// `/count` views, shared for a quarter of a second (a 304 is answered from it).
    let views: CountViewCache
    /// Open live streams, capped per address and in all.
    let streams: AddressLimiter
    /// Where signers reach intake: the QR code on the stage page links there.
    let publicURL: String
    /// Run-time switches (`country-breakdown` off: counts without `by_country`).
    var switches = Switchboard()
    /// History answers, kept for 30 s.
    let histories = AnswerCache()

    /// The view as shown now: without its countries while the breakdown is switched off.
    func shown(_ view: CountView) -> CountView {
        guard !switches.isOn(.countryBreakdown) else { return view }
        var view = view
        view.byCountry = [:]
        return view
    }

    func add<Context: RemoteAddressRequestContext>(to router: Router<Context>) {
        router.get("/v1/petitions/:slug/count") { request, context in
            let view = shown(try await countView(slug: context.parameters.get("slug") ?? ""))
            // A CDN may keep answering the last count for a minute while tally cannot (and tally does itself,
            // from its last good view, saying how old it is in `stale_seconds` and `Age`).
            var headers: HTTPFields = [.cacheControl: "public, max-age=1, stale-if-error=60", .eTag: view.etag]
            if let stale = view.staleSeconds { headers[.age] = String(stale) }
            if request.headers[.ifNoneMatch] == view.etag {
                return Response(status: .notModified, headers: headers)
            }
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: view.jsonBytes)))
        }
        router.get("/v1/petitions") { _, _ in
            let (petitions, totals) = try await pool.withConnection { connection in
                (try Petitions.list(on: connection), try Counts.totals(on: connection))
            }
            let list: [[String: Any]] = petitions.map { petition in
                ["slug": petition.slug, "title": petition.title,
                 "status": petition.phase().rawValue, "total": totals[petition.id] ?? 0]
            }
            let data = try JSONSerialization.data(withJSONObject: ["petitions": list], options: [.sortedKeys])
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=1"],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/v1/petitions/:slug/live") { request, context in
            let peer = context.remoteAddress?.ipAddress.flatMap(IPAddress.init)
            guard streams.hasRoom(for: peer) else {
                throw Problem(.tooManyRequests, title: "Too many live streams", detail: "this address has as many live streams open as it may; poll /count instead", retryAfter: 60)
            }
            let petition = try await petition(slug: context.parameters.get("slug") ?? "")
            let lastEventID = request.headers[HTTPField.Name("Last-Event-ID")!].flatMap { Int64($0) }
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no"],
                body: ResponseBody { writer in
                    // Counted while the body is written, so a stream is released however it ends.
                    guard streams.acquire(peer) else {
                        try await writer.write(ByteBuffer(string: "retry: 60000\n: too many live streams from this address\n\n"))
                        try await writer.finish(nil)
                        return
                    }
                    defer { streams.release(peer) }
                    try await stream(petition, resumingAfter: lastEventID, to: &writer)
                })
        }
        router.get("/live/:slug") { request, context in
            let slug = context.parameters.get("slug") ?? ""
            let query = request.uri.queryParameters
            let loaded = try await pool.withConnection { connection -> (Petition, PetitionTextSet, CountView)? in
                guard let petition = try Petitions.find(slug: slug, on: connection), petition.rehearsalOf == nil else { return nil }
                return (petition, try PetitionTexts.all(petitionID: petition.id, on: connection), try CountView.load(petition, on: connection))
            }
            guard let (petition, texts, view) = loaded else { throw Problem.noSuchPetition(slug) }
            let catalogue = Catalogues.shared.negotiate(requested: query["lang"].map(String.init), acceptLanguage: request.headers[.acceptLanguage])
            let text = texts.current(catalogue.language) ?? texts.current(petition.language)
                ?? PetitionText(id: 0, language: petition.language, title: petition.title, body: petition.body, consent: "")
            // ?screen=NAME: the QR code's link records which screen brought the signer in.
            let screen = query["screen"].flatMap { try? Signature.validateSource("screen:" + $0) } ?? "screen"
            let signingURL = petition.isTakingSignatures() ? SigningPage.shortURL(base: publicURL, code: petition.code, source: screen) : nil
            let html = StagePage(catalogue: catalogue).html(
                slug: petition.slug, text: text, total: view.total, ratePerMinute: view.ratePerMinute, signingURL: signingURL)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .cacheControl: "no-cache", .vary: "Accept-Language",
                    .contentSecurityPolicy: RenderedPage.policy(for: html),
                ],
                body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        router.get("/v1/petitions/:slug/history") { request, context in
            try await history(slug: context.parameters.get("slug") ?? "", query: request.uri.queryParameters)
        }
        router.get("/v1/petitions/:slug/deliveries") { request, context in
            try admin.check(request)
            let slug = context.parameters.get("slug") ?? ""
            let deliveries = try await pool.withConnection { connection -> [DeliveryRecord]? in
                guard try Petitions.find(slug: slug, on: connection) != nil else { return nil }
                return try Deliveries.list(petition: slug, on: connection)
            }
            guard let deliveries else { throw Problem.noSuchPetition(slug) }
            var body = Data("{\"petition\":".utf8) + (try JSONEncoder().encode(slug)) + Data(",\"deliveries\":".utf8)
            body += try DeliveryRecord.json(deliveries) + Data("}".utf8)
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.middlewares.add(MethodNotAllowedMiddleware([
            "/v1/petitions/:slug/count": [.get], "/v1/petitions": [.get], "/v1/petitions/:slug/live": [.get], "/live/:slug": [.get],
            "/v1/petitions/:slug/deliveries": [.get], "/v1/petitions/:slug/history": [.get],
        ]))
    }

    private func stream(_ petition: Petition, resumingAfter lastEventID: Int64?, to writer: inout any ResponseBodyWriter) async throws {
        try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
        var lastSent = lastEventID
        var lastPhase: (Petition.Phase, Bool)?
        let events = live.subscribe(petition)
        // The server's graceful shutdown ends the stream, so that open screens do not hold it up.
        for await event in events.cancelOnGracefulShutdown() {
            switch event {
            case .count(let counted):
                let view = shown(counted)
                // The id is the total: a client resuming with the total it has gets nothing until it changes,
                // or until the petition is paused, resumed or closed, or a rehearsal starts or ends (screens say so at once).
                let changed = view.total != lastSent || (lastPhase != nil && (view.phase, view.rehearsal) != lastPhase!)
                lastPhase = (view.phase, view.rehearsal)
                if !changed { continue }
                lastSent = view.total
                try await writer.write(ByteBuffer(string: "id: \(view.total)\nevent: count\ndata: \(String(decoding: view.jsonBytes, as: UTF8.self))\n\n"))
            case .heartbeat:
                try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
            }
        }
        try await writer.finish(nil)
    }

    /// `GET /v1/petitions/{slug}/history?from=&to=`: signatures counted per minute, for plotting; the last
    /// day unless `from`/`to` (RFC 3339) say otherwise, a week at most at once. A rehearsal's counts are never
    /// in it.
    private func history(slug: String, query: Parameters) async throws -> Response {
        func time(_ name: Substring) throws -> Date? {
            guard let text = query[name] else { return nil }
            guard let date = Timestamp.parse(String(text)) else {
                throw Problem(.badRequest, title: "Invalid time", detail: "\(name) must be an RFC 3339 time", field: String(name))
            }
            return date
        }
        // Whole minutes (what is kept), so that the same question asked within a minute is one answer.
        func minute(_ date: Date) -> Date { Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60) }
        let to = minute(try time("to") ?? Date().addingTimeInterval(60))
        let from = minute(try time("from") ?? to.addingTimeInterval(-86_400))
        guard from < to, to.timeIntervalSince(from) <= CallHistory.maximumSpan else {
            throw Problem(.badRequest, title: "Invalid span", detail: "from must be before to, and at most 7 days before it", field: "from")
        }
        // An unknown name is answered from the count views' memory (no query per made-up name), and an answer
        // is kept for 30 s: a chart polled by many costs one query per petition and span each time.
        guard try await views.exists(slug: slug) else { throw Problem.noSuchPetition(slug) }
        let key = "\(slug)|\(Int(from.timeIntervalSince1970))|\(Int(to.timeIntervalSince1970))"
        let body = try await histories.page(key) {
            let minutes = try await pool.withConnection { connection -> [(minute: Date, count: Int64)]? in
                guard let petition = try Petitions.find(slug: slug, on: connection), petition.rehearsalOf == nil else { return nil }
                return try CallHistory.countedPerMinute(petitionID: petition.id, from: from, to: to, on: connection)
            }
            guard let minutes else { throw Problem.noSuchPetition(slug) }
            var body = "{\"petition\":\"\(slug)\",\"from\":\"\(Timestamp.format(from))\",\"to\":\"\(Timestamp.format(to))\",\"minutes\":["
            body += minutes.map { "[\"\(Timestamp.format($0.minute))\",\($0.count)]" }.joined(separator: ",")
            return body + "]}"
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=30"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    private func petition(slug: String) async throws -> Petition {
        guard let petition = try await pool.withConnection({ connection in try Petitions.find(slug: slug, on: connection) }),
              petition.rehearsalOf == nil else {
            throw Problem.noSuchPetition(slug)
        }
        return petition
    }

    private func countView(slug: String) async throws -> CountView {
        guard let view = try await views.view(slug: slug) else { throw Problem.noSuchPetition(slug) }
        return view
    }
}
