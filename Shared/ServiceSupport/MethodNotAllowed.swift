import HTTPTypes
import Hummingbird

/// Answers a request for a known path with a method the path does not take with `405 Method Not
/// Allowed` and an `Allow` header (the router alone answers 404, which says the resource does not
/// exist). Any method, including ones the router has never heard of (`QUERY`, `PROPFIND`).
public struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    private let routes: [(segments: [Substring], allow: String)]

    /// `routes`: path patterns as the router takes them (`/v1/petitions/:slug`) and their methods.
    /// `HEAD` goes with `GET` (routers are made with `.autoGenerateHeadEndpoints`).
    public init(_ routes: KeyValuePairs<String, [HTTPRequest.Method]>) {
        self.routes = routes.map { path, methods in
            var methods = methods
            if methods.contains(.get) && !methods.contains(.head) { methods.append(.head) }
            return (path.split(separator: "/"), methods.map(\.rawValue).joined(separator: ", "))
        }
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let allow = allowed(path: request.uri.path) else { throw error }
            throw Problem(.methodNotAllowed, title: "Method not allowed", detail: "this resource takes \(allow)", allow: allow)
        }
    }

    func allowed(path: String) -> String? {
        let segments = path.split(separator: "/")
        return routes.first { route in
            route.segments.count == segments.count
                && zip(route.segments, segments).allSatisfy { pattern, segment in pattern.hasPrefix(":") || pattern == segment }
        }?.allow
    }
}
