import Foundation
import Models

/// The page for the big screen at a stage call: self-contained (no CDN, no fonts to fetch), it follows
/// the live stream, counts up to each new total (at once when the viewer asked for reduced motion), shows
/// the signing rate, the top countries and the next milestone, celebrates a milestone, reconnects by
/// itself and falls back to polling. Beside the count, a QR code and the short link of the signing page
/// show the crowd the way in.
public struct StagePage: Sendable {
    public let catalogue: Catalogue
    public let templates: PageTemplates

    public init(catalogue: Catalogue, templates: PageTemplates = .shared) {
        self.catalogue = catalogue
        self.templates = templates
    }

    /// `signingURL` is what the QR code carries (the short link with `source=screen:NAME`).
    public func html(slug: String, text: PetitionText, total: Int64, ratePerMinute: Int64, signingURL: String?) -> String {
        var context: [String: Any] = [
            "lang": catalogue.language, "dir": catalogue.direction, "t": catalogue.strings, "slug": slug,
            "title": text.title, "textLang": text.language, "textDir": SigningPage.direction(of: text.language),
            "total": String(total), "rateText": catalogue.text("stage_last_minute", ["count": String(ratePerMinute)]),
        ]
        if let signingURL, let code = try? QRCode(text: signingURL, correction: .quartile) {
            context["qr"] = [
                "svg": code.svg(label: catalogue["stage_scan"] + ": " + signingURL),
                // Shown without the scheme and the source: shorter to read out and to type.
                "display": String(signingURL.split(separator: "?", maxSplits: 1).first ?? "")
                    .replacingOccurrences(of: "https://", with: "").replacingOccurrences(of: "http://", with: ""),
            ]
        }
        return templates.render("stage", context)
    }
}
