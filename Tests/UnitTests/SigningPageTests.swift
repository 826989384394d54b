import Foundation
import Hummingbird
import HummingbirdCore
import Models
import Pages
import ServiceSupport
import Testing

@testable import Intake

@Suite("Message catalogues")
struct CatalogueTests {
    @Test("every language has every key of the English catalogue, with the same placeholders")
    func catalogueCompleteness() throws {
        let english = Catalogues.shared["en"]
        let placeholder = /\{[a-z]+\}/
        for language in Catalogues.supported {
            let catalogue = Catalogues.shared[language]
            #expect(catalogue.language == language, "no catalogue for \(language)")
            #expect(Set(catalogue.strings.keys) == Set(english.strings.keys), "\(language) lacks or adds keys")
            for (key, text) in english.strings {
                let wanted = Set(text.matches(of: placeholder).map { String($0.output) })
                let found = Set(catalogue[key].matches(of: placeholder).map { String($0.output) })
                #expect(wanted == found, "\(language).\(key) has placeholders \(found), English \(wanted)")
            }
        }
        #expect(Catalogues.shared["ar"].direction == "rtl")
        #expect(Catalogues.shared["fr"].direction == "ltr")
    }

    @Test("the language is ?lang=, else the most preferred of Accept-Language there is a catalogue for, else English")
    func negotiation() {
        let all = Catalogues.shared
        #expect(all.negotiate(requested: "ar", acceptLanguage: "fr-FR").language == "ar")
        #expect(all.negotiate(requested: "xx", acceptLanguage: "de-AT,de;q=0.9").language == "de")
        #expect(all.negotiate(requested: nil, acceptLanguage: "nl;q=0.9, pt-BR;q=0.8, en;q=0.7").language == "pt")
        #expect(all.negotiate(requested: nil, acceptLanguage: "es;q=0.2, fr;q=0.8").language == "fr")
        #expect(all.negotiate(requested: nil, acceptLanguage: "fr;q=0, ja").language == "en")
        #expect(all.negotiate(requested: nil, acceptLanguage: nil).language == "en")
        #expect(all.negotiate(requested: nil, acceptLanguage: String(repeating: "fr,", count: 5_000)).language == "en", "an oversized header is ignored")
    }

    @Test("the country is preselected from the first language range that names an assigned one")
    func region() {
        #expect(LanguageRange.region(from: "fr-CH;q=0.9, de-DE;q=0.8") == "CH")
        #expect(LanguageRange.region(from: "ar, fr-FR;q=0.5") == "FR")
        #expect(LanguageRange.region(from: "en-ZZ, en") == nil)
        #expect(LanguageRange.region(from: "es-419") == nil)
        #expect(LanguageRange.region(from: nil) == nil)
    }
}

@Suite("The signing page")
struct SigningPageTests {
    static let petition = SigningPage.Petition(
        slug: "digital-peace-now", code: "dpn26",
        text: PetitionText(
            id: 7, language: "en", title: "Digital Peace Now",
            body: String(repeating: "Governments must protect civilians online, in peace time and in war. ", count: 25),
            consent: PetitionText.defaultConsent),
        requiresVerification: false)

    @Test("in every language the whole page, script and style inline, is at most 14 KB compressed (one round trip)")
    func pageWeight() {
        for language in Catalogues.supported {
            let page = RenderedPage(html: SigningPage(catalogue: Catalogues.shared[language], publicURL: "https://sign.example")
                .form(Self.petition, source: "screen:main", region: "FR"))
            print("signing page \(language): \(page.html.readableBytes) bytes, \(page.gzip.readableBytes) gzip")
            #expect(page.gzip.readableBytes <= 14 * 1024, "\(language): \(page.gzip.readableBytes) bytes compressed")
            #expect(page.gzip.readableBytes < page.html.readableBytes / 2, "the page is served compressed")
        }
    }

    @Test("the page carries the form, the petition's text, the language switcher and a CSP allowing only its own inline code")
    func pageContent() {
        let html = SigningPage(catalogue: Catalogues.shared["ar"], publicURL: "https://sign.example")
            .form(Self.petition, source: "screen:main", region: "FR")
        #expect(html.contains(#"<html lang="ar" dir="rtl">"#))
        #expect(html.contains(#"<article lang="en" dir="ltr">"#), "the petition's own language is marked")
        #expect(html.contains(#"<option value="FR" selected>"#))
        #expect(html.contains(#"name="text_version" value="7""#))
        #expect(html.contains(#"name="source" value="screen:main""#))
        #expect(html.contains(#"<label for="email">"#) && html.contains(#"aria-describedby="email-hint email-error""#))
        #expect(html.contains(#"hreflang="fr""#) && html.contains(#"aria-current="true">العربية"#))
        #expect(!html.contains("http://") && !html.contains("<link") && !html.contains(" src="), "nothing is fetched from elsewhere")
        let policy = RenderedPage(html: html).contentSecurityPolicy
        #expect(policy.contains("script-src 'sha256-") && policy.contains("style-src 'sha256-"))
        #expect(!policy.contains("unsafe-inline") && policy.contains("default-src 'none'") && policy.contains("form-action 'self'"))
    }

    @Test("a refused form shows each field's error next to it, tied to the field, and keeps what was typed")
    func refusedForm() {
        let fields = SignatureRequest(form: Array("name=&email=jane%40nowhere&country=ZZ&postal_code=%3Cb%3E&lang=fr".utf8))
        let errors = SigningPageRoutes.fieldErrors(fields)
        #expect(errors == [
            "name": "error_name_required", "email": "error_email_invalid", "country": "error_country_invalid",
            "postal_code": "error_postal_code_invalid",
        ])
        let catalogue = Catalogues.shared["fr"]
        let html = SigningPage(catalogue: catalogue, publicURL: "https://sign.example").form(
            Self.petition, source: "web", region: nil, entry: .init(name: "", email: "jane@nowhere", country: "ZZ", postalCode: "<b>"),
            errors: errors)
        #expect(html.contains(#"aria-invalid="true""#))
        #expect(html.contains(#"<p id="email-error" class="error""#) && html.contains(">\(catalogue["error_email_invalid"].htmlEscapedForTest)</p>"))
        #expect(html.contains(#"value="jane@nowhere""#))
        #expect(html.contains("value=\"&lt;b&gt;\""), "typed text is escaped")
        #expect(html.contains(#"role="alert""#) && html.contains(##"<a href="#email">"##), "an error summary links to each field")
    }

    @Test("a page's source comes from ?source=, else utm_source and utm_campaign; a partner's or a malformed one is ignored")
    func sources() throws {
        func source(_ query: String) -> String {
            SigningPageRoutes.source(URI("/p/x?" + query).queryParameters)
        }
        #expect(source("source=screen:main") == "screen:main")
        #expect(source("source=%20Screen:Main%20") == "screen:main")
        #expect(source("utm_source=newsletter&utm_campaign=dec") == "utm:newsletter:dec")
        #expect(source("source=partner:acme") == "web")
        #expect(source("source=%20partner:acme") == "web")
        #expect(source("source=jane@example.org") == "web")
        #expect(source("") == "web")
        #expect(throws: ValidationProblem.self) { try SignatureRequest.publicSource(" partner:acme") }
    }

    @Test("a queued signature may say whether a rehearsal was on (true, false or absent); anything else names the field")
    func rehearsalFlag() throws {
        func flag(_ value: String) throws -> Bool? {
            try SignatureRequest(json: Array(#"{"name":"J","email":"j@example.org","country":"FR"\#(value)}"#.utf8)).rehearsal
        }
        #expect(try flag(#","rehearsal":true"#) == true)
        #expect(try flag(#","rehearsal":false"#) == false)
        #expect(try flag("") == nil)
        #expect(try flag(#","rehearsal":null"#) == nil)
        #expect(throws: ValidationProblem(field: "rehearsal", reason: "must be true or false")) { try flag(#","rehearsal":"yes""#) }
        #expect(RefusalTally.reason(Problem(.conflict, title: "A rehearsal is on", field: "rehearsal")) == "rehearsal_mismatch")
    }

    @Test("a client's submission id is stored under an id made from it and the signature: a retry is the same, anything else is not")
    func clientSubmissionIDs() throws {
        let client = UUID()
        func stored(email: String, petition: String = "p", id: UUID = client) throws -> UUID {
            let request = try SignatureRequest(json: Array("""
                {"submission_id":"\(id)","name":"Jane","email":"\(email)","country":"FR"}
                """.utf8))
            return try request.signature(petition: petition).submissionID
        }
        #expect(try stored(email: "jane@example.org") == (try stored(email: "jane@example.org")))
        #expect(try stored(email: "jane@example.org") != client, "the client's id is not stored as it is")
        #expect(try stored(email: "jane@example.org") != (try stored(email: "joe@example.org")))
        #expect(try stored(email: "jane@example.org") != (try stored(email: "jane@example.org", petition: "q")))
        #expect(throws: ValidationProblem.self) {
            try SignatureRequest(json: Array(#"{"submission_id":"nope","name":"J","email":"j@example.org","country":"FR"}"#.utf8))
                .signature(petition: "p")
        }
    }
}

extension String {
    /// As Mustache escapes a value.
    var htmlEscapedForTest: String {
        replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }
}
