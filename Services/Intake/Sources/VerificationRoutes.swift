import AMQP
import Foundation
import Hummingbird
import Logging
import Messaging
import Models
import Postgres
import ServiceSupport
import Store

/// Signer verification (petitions that require it):
/// - `GET /v1/verify/{token}`: a page with one button. Nothing changes on GET, so a mail scanner that
///   opens every link in a message confirms nothing.
/// - `POST /v1/verify/{token}` (the button): the signature is counted (its `SignaturesAccepted` event is
///   published with a confirm, then the signature is marked confirmed; tally counts an id once, so a
///   repeat changes nothing), and the link is used up. An expired link answers 410, a forged one 404.
struct VerificationRoutes {
    let pool: PostgresPool
    let publisher: AMQPPublisher
    let names: TopologyNames
    let tokens: VerificationToken?

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/v1/verify/:token") { _, context in
            let token = context.parameters.get("token") ?? ""
            let signature = try await check(token)
            if signature.verified { return page(.ok, "Already confirmed", "Your signature for \u{201C}\(signature.petitionTitle)\u{201D} is confirmed and counted.") }
            return page(.ok, "Confirm your signature", "You signed \u{201C}\(signature.petitionTitle)\u{201D}. Press the button to confirm it.", button: token)
        }
        router.post("/v1/verify/:token") { _, context in
            let signature = try await check(context.parameters.get("token") ?? "")
            if !signature.verified {
                let message = SignaturesAccepted(events: [signature.event]).message(names, from: .intake)
                do {
                    try await publisher.publish(message)
                } catch {
                    throw Problem(.serviceUnavailable, title: "Try again shortly", detail: "the confirmation cannot be recorded right now", retryAfter: 2)
                }
                try await pool.withConnection { connection in try Verifications.confirm(signatureID: signature.event.signatureID, on: connection) }
            }
            return page(.ok, "Thank you", "Your signature for \u{201C}\(signature.petitionTitle)\u{201D} is confirmed and counted.")
        }
        router.middlewares.add(MethodNotAllowedMiddleware(["/v1/verify/:token": [.get, .post]]))
    }

    private func check(_ token: String) async throws -> VerifiableSignature {
        guard let tokens else {
            throw Problem(.serviceUnavailable, title: "Confirmation is not available", detail: "UNDERSIGNED_VERIFICATION_SECRET is not set", retryAfter: 60)
        }
        guard let (id, expiresAt) = tokens.read(token) else {
            throw Problem(.notFound, title: "Unknown link", detail: "this confirmation link is not valid; copy it whole from the e-mail")
        }
        let signature = try await pool.withConnection { connection in try Verifications.signature(id: id, on: connection) }
        guard let signature, signature.verified || expiresAt > Date() else {
            throw Problem(.gone, title: "Link expired", detail: "this confirmation link has run out and the signature was not counted: please sign again")
        }
        return signature
    }

    private func page(_ status: HTTPResponse.Status, _ title: String, _ text: String, button token: String? = nil) -> Response {
        let form = token.map { #"<form method="post" action="/v1/verify/\#($0.htmlEscaped)"><button type="submit" style="font-size:1.2rem;padding:.6rem 1.4rem">Confirm my signature</button></form>"# } ?? ""
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <meta name="robots" content="noindex"><title>\(title.htmlEscaped)</title></head>
            <body style="font-family:system-ui;max-width:32rem;margin:4rem auto"><h1>\(title.htmlEscaped)</h1><p>\(text.htmlEscaped)</p>\(form)</body></html>
            """
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
