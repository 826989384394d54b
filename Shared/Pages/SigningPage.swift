import Foundation
import Models

/// The page a person signs on, and the pages around it (thank-you, closed, unknown), rendered from the
/// templates in the signer's language. Everything here is pure: intake caches what it renders.
public struct SigningPage: Sendable {
    /// What the page is about: the petition and the text version shown.
    public struct Petition: Sendable {
        public var slug: String
        public var code: String
        public var text: PetitionText
        public var requiresVerification: Bool
        /// A rehearsal is on: the page says that what is signed now is a test.
        public var rehearsal: Bool

        public init(slug: String, code: String, text: PetitionText, requiresVerification: Bool, rehearsal: Bool = false) {
            self.slug = slug
            self.code = code
            self.text = text
            self.requiresVerification = requiresVerification
            self.rehearsal = rehearsal
        }
    }

    /// What the signer typed, given back with the errors when the form is refused.
    public struct Entry: Sendable {
        public var name = "", email = "", country = "", postalCode = "", contactOptIn = false

        public init(name: String = "", email: String = "", country: String = "", postalCode: String = "", contactOptIn: Bool = false) {
            self.name = name
            self.email = email
            self.country = country
            self.postalCode = postalCode
            self.contactOptIn = contactOptIn
        }
    }

    public let catalogue: Catalogue
    /// Where signers reach intake, e.g. `https://sign.example.org` (the share link is made from it).
    public let publicURL: String
    public let templates: PageTemplates

    public init(catalogue: Catalogue, publicURL: String, templates: PageTemplates = .shared) {
        self.catalogue = catalogue
        self.publicURL = publicURL
        self.templates = templates
    }

    /// The form. `source` goes with the signature; `region` preselects the country; `errors` (field →
    /// catalogue key) and `entry` re-render a refused form; `notice` is a message under the button.
    public func form(
        _ petition: Petition, source: String, region: String?, entry: Entry? = nil, errors: [String: String] = [:], notice: String? = nil
    ) -> String {
        templates.render("sign", formContext(petition, source: source, region: region, entry: entry, errors: errors, notice: notice))
    }

    /// The kiosk's page (`/kiosk/SLUG`): the same form, kept on the device by its service worker, taking
    /// signatures with or without a network (its script queues them and sends them in order).
    public func kiosk(_ petition: Petition) -> String {
        var context = formContext(petition, source: "web", region: nil, entry: nil, errors: [:], notice: nil)
        context["slug"] = petition.slug
        context["languages"] = Catalogues.supported.map { code in
            ["code": code, "name": Catalogues.shared[code]["lang_name"], "href": "?lang=\(code)", "current": code == catalogue.language]
        }
        return templates.render("kiosk", context)
    }

    private func formContext(
        _ petition: Petition, source: String, region: String?, entry: Entry?, errors: [String: String], notice: String?
    ) -> [String: Any] {
        let text = petition.text
        let selected = entry?.country ?? region ?? ""
        var context = common(petition)
        context["consent"] = text.consent
        context["paragraphs"] = text.body.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        context["version"] = String(text.id)
        context["source"] = source
        context["action"] = "/p/\(petition.slug)?lang=\(catalogue.language)" + (source == "web" ? "" : "&source=\(source)")
        context["api"] = "/v1/petitions/\(petition.slug)/signatures"
        context["countries"] = CountryNames.sorted(in: catalogue.language).map { entry -> [String: Any] in
            ["code": entry.code, "name": entry.name, "selected": entry.code == selected]
        }
        context["languages"] = languages(query: source == "web" ? "" : "&source=\(source)")
        if let entry {
            context["values"] = [
                "name": entry.name, "email": entry.email, "postal_code": entry.postalCode, "contact_opt_in": entry.contactOptIn,
            ] as [String: Any]
        }
        let order = ["name", "email", "country", "postal_code"]
        let messages = errors.mapValues { catalogue[$0] }
        context["errors"] = messages
        context["hasErrors"] = !errors.isEmpty
        context["errorList"] = order.compactMap { field in messages[field].map { ["field": field, "message": $0] } }
        context["notice"] = notice.map { catalogue[$0] } ?? ""
        return context
    }

    /// A file shipped beside the templates (the kiosk's script and service worker), read once.
    public static func asset(_ name: String) -> String? {
        try? String(contentsOf: Resources.url("Templates").appendingPathComponent(name), encoding: .utf8)
    }

    /// The page a form post answers with once the signature is in the broker.
    public func thanks(_ petition: Petition, reference: String) -> String {
        var context = common(petition)
        context["reference"] = reference
        return templates.render("thanks", context)
    }

    /// A page saying the petition is closed (`petition` given) or does not exist.
    public func notice(closed petition: Petition?) -> String {
        notice(heading: petition == nil ? "unknown_title" : "closed_title", text: catalogue[petition == nil ? "unknown_text" : "closed_text"], petition: petition)
    }

    /// A page saying that a signature cannot be taken (a form sent from another site).
    public func notice(refused: Bool) -> String {
        notice(heading: "error_refused", text: catalogue["unknown_text"], petition: nil)
    }

    /// A page saying that ops have paused signing for a moment.
    public func notice(paused petition: Petition) -> String {
        notice(heading: "paused_title", text: catalogue["paused_text"], petition: petition)
    }

    /// A page saying when signing opens.
    public func notice(opensAt: Date, petition: Petition) -> String {
        notice(heading: "scheduled_title", text: catalogue.text("scheduled_text", ["time": Self.time(opensAt, language: catalogue.language)]), petition: petition)
    }

    /// A moment as the reader's language writes it, in UTC (the page does not know the reader's zone).
    public static func time(_ date: Date, language: String) -> String {
        var style = Date.FormatStyle(date: .long, time: .shortened, locale: Locale(identifier: language), timeZone: TimeZone(identifier: "UTC")!)
        style.calendar = Calendar(identifier: .gregorian)
        return date.formatted(style) + " UTC"
    }

    /// A notice page: the catalogue's `heading`, and `text` (already in the reader's language).
    private func notice(heading: String, text: String, petition: Petition?) -> String {
        var context: [String: Any] = base()
        context["heading"] = catalogue[heading]
        context["text"] = text
        context["languages"] = languages(query: "")
        if let petition {
            context["petitionTitle"] = petition.text.title
            context["textLang"] = petition.text.language
            context["textDir"] = Self.direction(of: petition.text.language)
        }
        return templates.render("notice", context)
    }

    /// The short link to the page, for sharing and for the QR code: `base/s/CODE`.
    public static func shortURL(base: String, code: String, source: String? = nil) -> String {
        var url = base.hasSuffix("/") ? String(base.dropLast()) : base
        url += "/s/\(code)"
        if let source { url += "?source=\(source)" }
        return url
    }

    static func direction(of language: String) -> String {
        ["ar", "he", "fa", "ur", "ps", "yi", "dv", "ckb"].contains(language) ? "rtl" : "ltr"
    }

    private func base() -> [String: Any] {
        ["lang": catalogue.language, "dir": catalogue.direction, "t": catalogue.strings]
    }

    private func common(_ petition: Petition) -> [String: Any] {
        var context = base()
        let text = petition.text
        context["title"] = text.title
        context["textLang"] = text.language
        context["textDir"] = Self.direction(of: text.language)
        context["thanksText"] = catalogue.text("thanks_text", ["title": text.title])
        context["verification"] = petition.requiresVerification
        context["rehearsal"] = petition.rehearsal
        context["shareURL"] = Self.shortURL(base: publicURL, code: petition.code)
        return context
    }

    private func languages(query: String) -> [[String: Any]] {
        Catalogues.supported.map { code in
            ["code": code, "name": Catalogues.shared[code]["lang_name"], "href": "?lang=\(code)\(query)", "current": code == catalogue.language]
        }
    }
}
