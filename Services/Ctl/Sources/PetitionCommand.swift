import ArgumentParser
import Foundation
import Models
import Pages
import Store

struct PetitionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "petition", abstract: "Create, list, open and close petitions; name who they are delivered to.",
        subcommands: [
            Create.self, List.self, Translate.self, Texts.self, Open.self, Close.self, Pause.self, Resume.self, Extend.self, Rehearse.self,
            SetMilestones.self, Verification.self, AddTarget.self, Targets.self, RemoveTarget.self,
        ])

    struct Verification: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Require (on) or stop requiring (off) that signers confirm by e-mail before their signature counts.")
        @Argument var slug: String
        @Argument(help: "on or off.") var state: String

        func run() throws {
            guard state == "on" || state == "off" else { throw ValidationError("say on or off") }
            guard try Petitions.setVerification(state == "on", slug: slug, on: Environment().connect()) else { throw ValidationError("no petition \(slug)") }
            print("petition \(slug): signer verification \(state)")
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a petition, or update its title, text and milestones.")

        @Argument(help: "Slug: lower-case letters, digits and dashes, e.g. digital-peace-now.") var slug: String
        @Option(help: "Title shown to signers.") var title: String
        @Option(help: "The petition's text.") var body: String = ""
        @Option(help: "Comma-separated thresholds, e.g. 1000,10000,100000.") var milestones: String?
        @Option(help: "Closing time, RFC 3339 (e.g. 2027-01-31T23:59:59Z).") var closesAt: String?
        @Option(help: "Opening time, RFC 3339: before it the page says when signing opens and signatures are refused.") var opensAt: String?
        @Flag(help: "Count a signature only once its signer confirmed it by the link e-mailed to them.") var requireVerification = false
        @Option(help: "The language the title and text are written in (en, fr, ...).") var lang = "en"
        @Option(help: "The exact wording of the contact opt-in; default: the catalogue's for --lang.") var consent: String?
        @Option(help: "The short code of the signing page's link (/s/CODE); default: random for a new petition.") var code: String?

        func validate() throws {
            do { _ = try PetitionSlug.validate(slug) } catch { throw ValidationError("slug \(error.reason)") }
            if slug.hasPrefix(Rehearsals.prefix) { throw ValidationError("slugs starting with \(Rehearsals.prefix) are rehearsals' own") }
            do { _ = try PetitionLanguage.validate(lang) } catch { throw ValidationError("--lang \(error.reason)") }
            if let code { do { _ = try PetitionCode.validate(code) } catch { throw ValidationError("--code \(error.reason)") } }
            try PetitionCommand.checkTimes(opensAt: opensAt, closesAt: closesAt)
            if let milestones, milestones.split(separator: ",").contains(where: { Int64($0) == nil || Int64($0)! <= 0 }) {
                throw ValidationError("--milestones must be positive whole numbers separated by commas")
            }
        }

        func run() throws {
            let connection = try Environment().connect()
            let thresholds = milestones.map { $0.split(separator: ",").compactMap { Int64($0) } } ?? Petitions.defaultMilestones
            // One transaction: a petition made to require verification never takes a signature without it.
            let petition = try connection.transaction { connection in
                let petition = try Petitions.upsert(
                    slug: slug, title: title, body: body, milestones: thresholds, closesAt: closesAt.flatMap(Timestamp.parse),
                    opensAt: opensAt.flatMap(Timestamp.parse), language: lang, consent: consent ?? Translate.defaultConsent(lang), code: code, on: connection)
                if requireVerification { try Petitions.setVerification(true, slug: slug, on: connection) }
                return petition
            }
            print("petition \(petition.slug) (\(petition.phase().rawValue)): \(petition.title)"
                + (requireVerification ? "; signatures count once confirmed by e-mail" : "") + "; signing page /s/\(petition.code)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List petitions with their counts.")

        func run() throws {
            let connection = try Environment().connect()
            let totals = try Counts.totals(on: connection)
            for petition in try Petitions.list(on: connection) {
                let state = petition.phase().rawValue
                print("\(petition.slug)\t\(state)\t\(totals[petition.id] ?? 0)\t/s/\(petition.code)\t\(petition.title)")
            }
        }
    }

    struct Translate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a petition's title, text and consent wording in another language (a new version if it changed).",
            discussion: "Signers reading that language see it from the next page refresh; each signature records the version it was shown.")
        @Argument var slug: String
        @Option(help: "Language code: en, fr, de, es, pt, ar, ...") var lang: String
        @Option(help: "Title in that language.") var title: String
        @Option(help: "The text in that language (blank lines separate paragraphs).") var text: String = ""
        @Option(help: "The exact wording of the contact opt-in; default: the catalogue's for --lang.") var consent: String?

        static func defaultConsent(_ language: String) -> String {
            Catalogues.shared.all[language]?["consent_default"] ?? PetitionText.defaultConsent
        }

        func validate() throws {
            do { _ = try PetitionLanguage.validate(lang) } catch { throw ValidationError("--lang \(error.reason)") }
        }

        func run() throws {
            let connection = try Environment().connect()
            guard let petition = try Petitions.find(slug: slug, on: connection) else { throw ValidationError("no petition \(slug)") }
            let id = try PetitionTexts.add(
                PetitionText(id: 0, language: lang, title: title, body: text, consent: consent ?? Self.defaultConsent(lang)),
                to: petition.id, on: connection)
            print("petition \(slug) in \(lang): text version \(id)")
        }
    }

    struct Texts: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every version of a petition's texts, with how many signed each.")
        @Argument var slug: String

        func run() throws {
            let connection = try Environment().connect()
            guard let petition = try Petitions.find(slug: slug, on: connection) else { throw ValidationError("no petition \(slug)") }
            let counts = Dictionary(
                try PetitionTexts.counts(petitionID: petition.id, after: 0, through: .max, countries: nil, on: connection)
                    .map { ($0.text?.id ?? 0, $0.count) }, uniquingKeysWith: +)
            print("version\tlanguage\tsigned\ttitle")
            for text in try PetitionTexts.all(petitionID: petition.id, on: connection).versions {
                print("\(text.id)\t\(text.language)\t\(counts[text.id] ?? 0)\t\(text.title)")
            }
            if let unversioned = counts[0] { print("-\t-\t\(unversioned)\t(no version recorded)") }
        }
    }

    struct SetMilestones: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-milestones", abstract: "Replace a petition's milestone thresholds (each is announced once when crossed).")
        @Argument var slug: String
        @Argument(help: "Comma-separated thresholds, e.g. 1000,10000,100000.") var milestones: String

        func run() throws {
            let thresholds = milestones.split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
            guard !thresholds.isEmpty, thresholds.allSatisfy({ $0 > 0 }) else { throw ValidationError("milestones must be positive whole numbers separated by commas") }
            guard try Petitions.setMilestones(thresholds, slug: slug, on: Environment().connect()) else { throw ValidationError("no petition \(slug)") }
            print("petition \(slug) milestones: \(thresholds.sorted().map(String.init).joined(separator: ", "))")
        }
    }

    struct Open: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open a petition for signatures.")
        @Argument var slug: String

        func run() throws {
            guard try Petitions.setStatus(.open, slug: slug, on: Environment().connect()) else { throw ValidationError("no petition \(slug)") }
            print("petition \(slug) is open")
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hold a petition for a moment: within seconds every intake answers 503 with Retry-After, pages and screens say so.")
        @Argument var slug: String

        func run() throws { try PetitionCommand.setPaused(true, slug: slug) }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take signatures again after a pause.")
        @Argument var slug: String

        func run() throws { try PetitionCommand.setPaused(false, slug: slug) }
    }

    struct Rehearse: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rehearse a petition's call: on, its signatures take the whole path to a count of their own; off; reset wipes that count.",
            discussion: """
                While on (every intake within 5 s), the signing page, the kiosks and the API take the petition's signatures                 whatever its window (not while paused) and give them to its rehearsal: stored, deduplicated and counted apart,                 shown on the screens as REHEARSAL, never added to the real count, never delivered, never sent by a partner.                 Signing in rehearsal does not stop anyone signing for real. Reset once the queues are empty.
                """)
        @Argument var slug: String
        @Argument(help: "on, off or reset.") var action: String

        func validate() throws {
            guard ["on", "off", "reset"].contains(action) else { throw ValidationError("say on, off or reset") }
        }

        func run() throws {
            let connection = try Environment().connect()
            switch action {
            case "reset":
                guard let held = try Rehearsals.reset(slug: slug, on: connection) else { throw ValidationError("no petition \(slug)") }
                print("rehearsal of \(slug) reset: \(held.signatures) signatures and a count of \(held.counted) wiped")
            default:
                guard let petition = try Rehearsals.set(action == "on", slug: slug, on: connection) else { throw ValidationError("no petition \(slug)") }
                let counted = try Rehearsals.held(slug: slug, on: connection)?.counted ?? 0
                print(petition.rehearsal != nil
                    ? "rehearsal of \(slug) is on (every intake within 5 s): signatures count apart (\(counted) so far), screens say REHEARSAL"
                    : "rehearsal of \(slug) is off (every intake within 5 s): signatures count for real; the rehearsal holds \(counted) (`rehearse \(slug) reset` wipes it)")
            }
        }
    }

    /// `--opens-at` and `--closes-at`, when given, are RFC 3339 times.
    static func checkTimes(opensAt: String?, closesAt: String?) throws {
        for (option, value) in [("--opens-at", opensAt), ("--closes-at", closesAt)] {
            if let value, Timestamp.parse(value) == nil { throw ValidationError("\(option) must be an RFC 3339 time") }
        }
    }

    static func setPaused(_ paused: Bool, slug: String) throws {
        guard try Petitions.setPaused(paused, slug: slug, on: Environment().connect()) else { throw ValidationError("no petition \(slug)") }
        print(paused ? "petition \(slug) is paused (every intake within 5 s); `undersigned petition resume \(slug)` takes signatures again"
            : "petition \(slug) is resumed (every intake within 5 s)")
    }

    struct Extend: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a petition's closing time (or its opening time).")
        @Argument var slug: String
        @Option(help: "The new closing time, RFC 3339.") var closesAt: String?
        @Option(help: "The new opening time, RFC 3339.") var opensAt: String?

        func validate() throws {
            guard closesAt != nil || opensAt != nil else { throw ValidationError("give --closes-at, --opens-at or both") }
            try PetitionCommand.checkTimes(opensAt: opensAt, closesAt: closesAt)
        }

        func run() throws {
            let connection = try Environment().connect()
            guard try Petitions.setWindow(
                slug: slug, opensAt: opensAt.flatMap(Timestamp.parse), closesAt: closesAt.flatMap(Timestamp.parse), on: connection),
                let petition = try Petitions.find(slug: slug, on: connection)
            else { throw ValidationError("no petition \(slug)") }
            print("petition \(slug) (\(petition.phase().rawValue)): opens \(petition.opensAt.map(Timestamp.format) ?? "at once"), "
                + "closes \(petition.closesAt.map(Timestamp.format) ?? "when closed by hand")")
        }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a petition: intake answers 410 from now on.")
        @Argument var slug: String

        func run() throws {
            guard try Petitions.setStatus(.closed, slug: slug, on: Environment().connect()) else { throw ValidationError("no petition \(slug)") }
            print("petition \(slug) is closed")
        }
    }
}
