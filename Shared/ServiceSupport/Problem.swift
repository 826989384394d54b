import Foundation
import Hummingbird
import Models

/// An HTTP error answered as `application/problem+json` (RFC 9457), naming the field when there is one:
///
///     {"type":"about:blank","title":"Invalid signature","status":422,"field":"email","detail":"email: must be …"}
public struct Problem: HTTPResponseError, Codable, Sendable, Equatable {
    public var title: String
    public var statusCode: Int
    public var detail: String?
    public var field: String?
    /// Seconds, sent as `Retry-After` (503 and 429).
    public var retryAfter: Int?
    /// Extra fields, e.g. `submission_id` or the rows of a batch that were not taken.
    public var extra: [String: String]
    /// The methods the resource takes, sent as `Allow` (405).
    public var allow: String?

    public init(
        _ status: HTTPResponse.Status, title: String, detail: String? = nil, field: String? = nil, retryAfter: Int? = nil,
        extra: [String: String] = [:], allow: String? = nil
    ) {
        self.title = title
        self.statusCode = status.code
        self.detail = detail
        self.field = field
        self.retryAfter = retryAfter
        self.extra = extra
        self.allow = allow
    }

    public static func invalid(_ problem: ValidationProblem, title: String = "Invalid signature") -> Problem {
        Problem(.unprocessableContent, title: title, detail: problem.description, field: problem.field)
    }

    /// 404 for a slug that names no petition (the slug is echoed cut to 64 characters; it is not personal data).
    public static func noSuchPetition(_ slug: String) -> Problem {
        Problem(.notFound, title: "No such petition", detail: "there is no petition \(slug.prefix(64))", field: "slug")
    }

    public var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var object: [String: any Sendable] = ["type": "about:blank", "title": title, "status": statusCode]
        if let detail { object["detail"] = detail }
        if let field { object["field"] = field }
        for (key, value) in extra { object[key] = value }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if let allow { headers[.allow] = allow }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    enum CodingKeys: String, CodingKey {
        case title, detail, field
        case statusCode = "status"
        case retryAfter = "retry_after"
        case extra, allow
    }
}
