import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Postgres

/// Secure defaults on every answer: `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`
/// everywhere (unless the route chose `same-origin`); on HTML a Content-Security-Policy (unless the route set its own), `X-Frame-Options: DENY`.
/// CORS only for the configured origins (`UNDERSIGNED_CORS_ORIGINS`): their preflights are answered, and
/// their requests get `Access-Control-Allow-Origin`; any other origin gets no CORS header (the browser
/// then refuses to hand the answer to its page).
public struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// No scripts, no external anything; inline styles only.
    public static var defaultContentSecurityPolicy: String {
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    let allowedOrigins: Set<String>
    let methods: String

    public init(allowedOrigins: [String], methods: String = "GET, POST, OPTIONS") {
        self.allowedOrigins = Set(allowedOrigins.map { $0.lowercased() })
        self.methods = methods
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin].flatMap { allowedOrigins.contains($0.lowercased()) ? $0 : nil }
        if request.method == .options, let origin, request.headers[.accessControlRequestMethod] != nil {
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: origin, .vary: "Origin", .accessControlAllowMethods: methods,
                .accessControlAllowHeaders: "content-type, authorization", .accessControlMaxAge: "600",
            ])
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch let error as PostgresError where error.isRetryable {
            // The database is away or too busy (the pool's queue is full, or the wait passed its deadline):
            // a moment's wait may help, which a 500 would not say.
            response = try Problem(.serviceUnavailable, title: "Busy", detail: "the database cannot answer now; try again shortly", retryAfter: 2)
                .response(from: request, context: context)
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        // A page may ask for less (the signing page sends its origin to itself, so its form can be checked).
        if response.headers[.referrerPolicy] == nil { response.headers[.referrerPolicy] = "no-referrer" }
        if response.headers[.contentType]?.hasPrefix("text/html") == true {
            if response.headers[.contentSecurityPolicy] == nil { response.headers[.contentSecurityPolicy] = Self.defaultContentSecurityPolicy }
            response.headers[.xFrameOptions] = "DENY"
        }
        if let origin {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.vary] = "Origin"
        }
        return response
    }

    /// A CSP for a page whose one inline script is `script` (allowed by its hash) and which talks to its own origin.
    public static func contentSecurityPolicy(inlineScript script: String) -> String {
        let hash = Data(SHA256.hash(data: Array(script.utf8))).base64EncodedString()
        return "default-src 'none'; script-src 'sha256-\(hash)'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    public static let referrerPolicy = Self("Referrer-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
}
