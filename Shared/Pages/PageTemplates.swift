import Foundation
import Mustache

/// The pages' Mustache templates, one file per page or partial under `Templates/` (`sign.mustache` is
/// `sign`), read once. Values are HTML-escaped by `{{name}}`; nothing is ever put in with `{{{…}}}` but
/// markup we made ourselves (the QR code's SVG).
public struct PageTemplates: Sendable {
    public static let shared: PageTemplates = {
        do {
            return try PageTemplates(directory: Resources.url("Templates"))
        } catch {
            fatalError("the page templates shipped with the program cannot be read: \(error)")
        }
    }()

    let library: MustacheLibrary

    public init(directory: URL) throws {
        var templates: [String: MustacheTemplate] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".mustache") {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            templates[String(file.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
        }
        library = MustacheLibrary(templates: templates)
    }

    /// The page `name` rendered with `context` (a dictionary of strings, booleans, arrays and dictionaries).
    public func render(_ name: String, _ context: [String: Any]) -> String {
        guard let html = library.render(context, withTemplate: name) else {
            preconditionFailure("no template \(name).mustache")
        }
        return html
    }
}
